"""docs/plan.md "Using the workflow in another repository" (audit monorepo-7): the two steps it shows, put in
place of plan.yml's, make a workflow actionlint finds nothing in; they install a pinned mlops-infra (not the
checkout: ``pip install .`` installs the other repository's own package), and pass ``targets`` only options
``pr_workflow`` has."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "plan.yml"


def documented_block() -> str:
    text = (REPO / "docs" / "plan.md").read_text(encoding="utf-8")
    section = text.split("**Using the workflow in another repository.**", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def documented_steps() -> list[dict]:
    return yaml.safe_load("steps:\n" + documented_block())["steps"]


def test_the_documented_steps_pin_mlops_infra_and_lint_clean_in_place(tmp_path: Path) -> None:
    shown = {s["name"]: s for s in documented_steps()}
    assert re.fullmatch(r"python -m pip install --quiet 'mlops-infra\[aws\]==[0-9.]+'", shown["Install mlops-infra"]["run"])
    text = WORKFLOW.read_text(encoding="utf-8")
    for chunk in documented_block().strip("\n").split("\n\n"):  # each step, indented as plan.yml's
        head = chunk.splitlines()[0]
        assert head in text, f"{head!r}: the documented step is not one of plan.yml's"
        text = re.sub(re.escape(head) + r"\n(?:.+\n)*", lambda _, step=chunk: step + "\n", text, count=1)
    assert "pip install --quiet .\n" not in text
    variant = tmp_path / "plan.yml"
    variant.write_text(text, encoding="utf-8")
    assert [s.get("name") for s in yaml.safe_load(text)["jobs"]["plan"]["steps"]] == [
        s.get("name") for s in yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["plan"]["steps"]]
    actionlint = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    result = subprocess.run([actionlint, "-no-color", str(variant)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_documented_targets_options_are_pr_workflows() -> None:
    run = next(s for s in documented_steps() if s.get("id") == "targets")["run"]
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", run))
    assert {"--exclude", "--repo-wide", "--dir", "--base"} <= used
    helped = subprocess.run([sys.executable, "-m", "mlops_infra.cli.pr_workflow", "--help"], capture_output=True,
                            text=True, timeout=60, cwd=REPO).stdout
    assert used <= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", helped))
