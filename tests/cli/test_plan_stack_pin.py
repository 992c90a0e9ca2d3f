"""``plan`` in a stack directory whose ``requirements.txt`` pins another mlops-infra says so (audit monorepo-3
part 1): ``pulumi up`` there installs the pinned one (pulumi/pulumi ``sdk/python/toolchain/pip.go``
``InstallDependencies``: ``pip install -r requirements.txt`` in the project directory), so a plan made by this
version is not what runs. The stack directory is the one of ``tests/apply/test_queue_drain.py``.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.apply import test_queue_drain
from tests.support.cli import run_cli

work = test_queue_drain.work
RUNNING = version("mlops-infra")


def _pin(work: Path, line: str) -> Path:
    stack = work / "stacks/dev"
    (stack / "requirements.txt").write_text(f"# What Pulumi installs into the stack's virtualenv\n{line}\n")
    return stack


@pytest.mark.parametrize("state", [False, True], ids=["backend", "committed-state"])
def test_a_stack_pinning_another_version_warns_once(work: Path, monkeypatch, state: bool) -> None:
    """The audit's pr5: the pin moved to 0.0.1. Fails before: no word of the version, a plain plan. With
    ``--state`` too (pr_workflow passes a committed ``stacks/<env>/state.json``): the stack directory is the
    one ``pulumi up`` runs in whichever state the plan read."""
    stack = _pin(work, "mlops-infra[pulumi]==0.0.1")
    monkeypatch.chdir(work)
    result = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "dev", "--format", "json",
                     *(["--state", str(work / "prior.json")] if state else []))
    assert result.code == 0, result.output
    warned = [w for w in json.loads(result.stdout)["warnings"] if "installs 0.0.1" in w]
    assert warned == [f"this plan was made by mlops-infra {RUNNING}; `pulumi up` in {stack} installs 0.0.1 "
                      f"({stack / 'requirements.txt'}:2): plan with 0.0.1 (`pip install 'mlops-infra==0.0.1'`), "
                      f"or change the pin to {RUNNING}"]
    assert RUNNING not in json.dumps({k: v for k, v in json.loads(result.stdout).items() if k != "warnings"})


@pytest.mark.parametrize("line", [f"mlops-infra[pulumi]=={RUNNING}", "-e ../..[pulumi]", "mlops-infra[pulumi]",
                                  "./vendor/mlops-infra[pulumi]", "mlops-infra[pulumi]>=0.0.1"])
def test_the_same_version_an_editable_path_or_no_pin_is_no_warning(work: Path, monkeypatch, line: str) -> None:
    _pin(work, line)
    monkeypatch.chdir(work)
    result = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "dev")
    assert result.code == 0, result.output
    assert "this plan was made by mlops-infra" not in result.output
    assert "Plan: 0 to add, 3 to change, 1 to replace, 17 to destroy." in result.stdout  # the stack's state read


@pytest.mark.parametrize(("line", "pinned"), [
    ("mlops-infra[pulumi]==2.3.4", "2.3.4"), ("MLOps_Infra == 2.3.4 ; python_version >= '3.11'", "2.3.4"),
    ("mlops.infra[aws,pulumi]==2.3.4  # pinned by init", "2.3.4"), ("mlops-infra[pulumi]==2.3.*", None),
    ("mlops-infra[pulumi]===2.3.4", None), ("mlops-infra[pulumi] @ https://example.com/x.whl", None),
    ("-e ../..[pulumi]", None), ("other-package==2.3.4", None)])
def test_pinned_version_reads_only_an_exact_pin(tmp_path: Path, line: str, pinned: str | None) -> None:
    # imported in the tests, not at the top: the plan tests also run on a tree without these functions
    from mlops_infra.stacks import pinned_version

    (tmp_path / "requirements.txt").write_text(f"# comment\n\n{line}\n")
    assert pinned_version(tmp_path) == (None if pinned is None else (pinned, tmp_path / "requirements.txt", 3))


def test_equal_releases_are_the_same_version(tmp_path: Path) -> None:
    from mlops_infra.stacks import pinned_version_warning

    (tmp_path / "requirements.txt").write_text("mlops-infra==1.0\n")
    assert pinned_version_warning(tmp_path, running="1.0.0") is None
    assert pinned_version_warning(tmp_path, running="1.0.1").startswith("this plan was made by mlops-infra 1.0.1;")
    assert pinned_version_warning(tmp_path / "missing", running="1.0.1") is None
