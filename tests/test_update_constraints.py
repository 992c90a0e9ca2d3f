""".ci/update-constraints installs the Pulumi SDKs and pulumi-policy at mlops_infra/sdk_pins.py's versions
(audit pins45-3): before, it installed the newest the extras allow, so a run made for another dependency moved the
providers in constraints.txt and tests/test_stacks_sdk_pins.py failed until the SDK lines were put back by hand.

The script runs here as written, in a copy of the files it reads, with ``python3 -m venv`` answered by a stand-in
virtualenv whose ``pip`` records each call and the constraints it was given (no package index is reached); every other
``python3`` call is the real interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from mlops_infra.sdk_pins import POLICY_PINS, SDK_PINS, policy_pin_lines

REPO = Path(__file__).resolve().parents[1]

FAKE_PIP = '''#!{python}
import json, os, sys
constraint = os.environ.get("PIP_CONSTRAINT") or None
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "constraint": constraint and open(constraint).read()}}) + "\\n")
if sys.argv[1:2] == ["freeze"]:
    print("pip==25.0\\nZeta==1.0\\npulumi==3.272.0\\nalpha==2.0")
'''

FAKE_PYTHON3 = '''#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && ln -s {python} "$3/bin/python" && cp {pip} "$3/bin/pip" && chmod +x "$3/bin/pip"
  exit 0
fi
exec {python} "$@"
'''


def run_update_constraints(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path, list[dict]]:
    repo, bin_dir, log = tmp_path / "repo", tmp_path / "bin", tmp_path / "pip.log"
    for name in (".ci/update-constraints", "pyproject.toml", "mlops_infra/sdk_pins.py"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, repo / name)
    bin_dir.mkdir()
    (tmp_path / "pip").write_text(FAKE_PIP.format(python=sys.executable, log=str(log)), encoding="utf-8")
    (bin_dir / "python3").write_text(FAKE_PYTHON3.format(python=sys.executable, pip=tmp_path / "pip"))
    (bin_dir / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PIP_CONSTRAINT", None)
    result = subprocess.run(["bash", str(repo / ".ci/update-constraints")], env=env, capture_output=True, text=True,
                            timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, repo, calls


def test_every_install_is_constrained_to_the_sdk_pins(tmp_path: Path):
    """Fails before: ``PIP_CONSTRAINT=`` (empty) on both installs, so pip took the newest SDKs the extras allow."""
    result, repo, calls = run_update_constraints(tmp_path)
    assert result.returncode == 0, result.stderr
    installs = [call for call in calls if call["args"][:1] == ["install"]]
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert [call["args"][-1] for call in installs] == [".[test]", *extra["policy"][1:]]  # the extra's own packages
    pins = "".join(f"{line}\n" for line in policy_pin_lines())
    assert all(call["constraint"] == pins for call in installs), installs
    assert {*SDK_PINS, *POLICY_PINS} <= {line.split("==")[0] for line in pins.splitlines()}
    written = (repo / "constraints.txt").read_text().splitlines()
    assert written[1:] == ["alpha==2.0", "pulumi==3.272.0", "Zeta==1.0"]
    assert f"({len(policy_pin_lines())} from mlops_infra/sdk_pins.py)" in result.stdout
