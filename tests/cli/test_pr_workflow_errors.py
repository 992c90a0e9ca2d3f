"""The workflow's steps fail with one line and exit 1, no traceback, when a program they run fails or is missing
(``pr_workflow.run``): ``git`` given a ``--base`` the checkout does not have (a shallow clone, a wrong SHA), or no
``mlops-infra`` on PATH for the plan step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"


def _step(cwd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MLOPS_INFRA_DEBUG", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "mlops_infra.cli.pr_workflow", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(QUICKSTART, root / "mlsystem.yaml")
    for command in (["init", "-q", "-b", "main"], ["add", "."],
                    ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def test_a_base_the_checkout_does_not_have_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = _step(_repo(tmp_path), "targets", "--dir", str(tmp_path / "out"), "--base", "no-such-commit")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "`git diff --name-only -z no-such-commit...HEAD` failed (exit 128)" in done.stderr
    assert "Check that --base names a commit this checkout has" in done.stderr


def test_a_plan_step_without_mlops_infra_on_path_says_so(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    out = tmp_path / "out"
    assert _step(root, "targets", "--dir", str(out), "--base", "HEAD").returncode == 0
    (out / "targets.json").write_text('[{"file": "mlsystem.yaml", "env": "dev"}]', encoding="utf-8")
    git = Path(shutil.which("git") or "/usr/bin/git").parent
    done = _step(root, "plan", "--dir", str(out), path=str(git))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "`mlops-infra` is not installed or not on PATH" in done.stderr
