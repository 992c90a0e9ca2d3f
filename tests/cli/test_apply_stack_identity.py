"""``mlops-infra apply`` runs ``pulumi up`` only on the stack whose state it planned against, and only
while that state is still the one planned (audit applypath-1 and applypath-2).

The real Automation API drives the recording ``pulumi`` stand-in (:mod:`tests.support.pulumi_stand_in`):
each test asserts which Pulumi commands ran, where and on which backend. Pulumi's project is the
``name:`` of the work directory's ``Pulumi.yaml`` (pulumi/pulumi ``sdk/go/common/workspace/paths.go``
``DetectProjectPathFrom``) and ``pulumi up`` deletes what the program does not register
(``pkg/resource/deploy/step_generator.go`` ``GenerateDeletes``): a stack directory of another system,
a state read from another directory than the one ``up`` runs in, or a state that moved since the plan,
each makes ``up`` change what no plan showed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.support import pulumi_stand_in
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
FRAUD = "examples/fraud-detection/mlsystem.yaml"
QUICKSTART = "examples/quickstart/mlsystem.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A copy of this repository's layout: the root ``Pulumi.yaml`` (project fraud-detection), fraud-detection's
    ``stacks/dev`` and the two example systems; no Pulumi login, an empty passphrase, cwd = the copy."""
    return pulumi_stand_in.repo_copy(tmp_path, monkeypatch, (FRAUD, QUICKSTART, "stacks/dev/Pulumi.yaml",
                                                             "stacks/dev/Pulumi.dev.yaml", "stacks/dev/__main__.py",
                                                             "Pulumi.yaml"))


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch) -> pulumi_stand_in.StandIn:
    return pulumi_stand_in.install(tmp_path / "bin", monkeypatch)


def fraud_dev_state() -> dict:
    return applied_state(compile_system(load_system(REPO / FRAUD, "dev").system, "dev"))


def write_backend_state(stack_dir: Path, checkpoint: dict) -> Path:
    """The file backend's stack file of fraud-detection/dev under ``stack_dir`` (``pulumi login file://``)."""
    (stack_dir / ".pulumi" / "stacks" / "fraud-detection").mkdir(parents=True, exist_ok=True)
    (stack_dir / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    path = stack_dir / ".pulumi" / "stacks" / "fraud-detection" / "dev.json"
    path.write_text(dumps(checkpoint), encoding="utf-8")
    return path


def export_of(checkpoint: dict) -> str:
    """What ``pulumi stack export`` prints for that checkpoint."""
    return json.dumps({"version": 3, "deployment": checkpoint["checkpoint"]["latest"]})


def without_last_resource(checkpoint: dict) -> dict:
    moved = json.loads(json.dumps(checkpoint))
    moved["checkpoint"]["latest"]["resources"].pop()  # a plan against it adds that resource
    return moved


# -- applypath-1: a stack directory of another system ----------------------------------------------


def test_apply_of_another_system_from_the_repository_root_is_refused(repo: Path, pulumi) -> None:
    """The finding's evidence 1: ``stacks/dev`` is fraud-detection's, so ``apply`` of the quickstart passes it
    over, and the directory it would use (the root, project fraud-detection) is refused before anything."""
    config = (repo / "stacks/dev/Pulumi.dev.yaml").read_bytes()
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    result = run_cli("apply", QUICKSTART, "--env", "dev", "--yes")
    assert result.code == 1 and "Traceback" not in result.output
    assert f"the stack directory {repo} is Pulumi project 'fraud-detection', not this system 'churn-quickstart'" \
        in result.stderr
    assert "Nothing was changed" in result.stderr and "--stack-dir" in result.stderr
    assert pulumi.calls() == []  # no stack select, no config set-all, no up
    assert (repo / "stacks/dev/Pulumi.dev.yaml").read_bytes() == config


def test_without_a_project_at_the_root_the_other_systems_stack_directory_is_still_passed_over(repo, pulumi) -> None:
    (repo / "Pulumi.yaml").unlink()
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    result = run_cli("apply", QUICKSTART, "--env", "dev", "--yes")
    assert result.code == 1 and "Traceback" not in result.output
    assert "is not a Pulumi project" in result.stderr
    assert "Prior state: none found" in result.stdout  # not fraud-detection's 60-odd resources either
    assert pulumi.ran("config") == [] and pulumi.ran("up") == []


def test_a_stack_dir_of_another_project_is_refused(repo: Path, pulumi) -> None:
    result = run_cli("apply", QUICKSTART, "--env", "dev", "--yes", "--stack-dir", "stacks/dev")
    assert result.code == 1 and "Traceback" not in result.output
    assert "the stack directory stacks/dev is Pulumi project 'fraud-detection', not this system " \
           "'churn-quickstart'" in result.stderr
    assert "would delete the resources of fraud-detection that churn-quickstart does not declare" in result.stderr
    assert pulumi.calls() == []


def test_a_stack_dir_naming_another_system_file_is_refused(repo: Path, pulumi) -> None:
    copy = repo / "copy" / "mlsystem.yaml"  # the same system name, another file
    copy.parent.mkdir()
    shutil.copy(repo / FRAUD, copy)
    result = run_cli("apply", str(copy), "--env", "dev", "--yes", "--stack-dir", "stacks/dev")
    assert result.code == 1 and "Traceback" not in result.output
    assert f"the stack directory stacks/dev deploys ../../{FRAUD}, not {copy}" in result.stderr
    assert "set mlops:systemFile in stacks/dev/Pulumi.dev.yaml" in result.stderr
    assert pulumi.calls() == []


def test_a_stack_dir_of_another_environment_is_refused(repo: Path, pulumi) -> None:
    other = repo / "other"
    other.mkdir()
    (other / "Pulumi.yaml").write_text("name: fraud-detection\nruntime: python\nconfig:\n"
                                       "  mlops:environment:\n    value: staging\n", encoding="utf-8")
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes", "--stack-dir", "other")
    assert result.code == 1 and "Traceback" not in result.output
    assert "the stack directory other deploys environment 'staging', not 'dev'" in result.stderr
    assert "the program would compile staging into stack dev" in result.stderr
    assert pulumi.calls() == []


def test_stack_dir_is_where_the_prior_state_is_read(repo: Path, pulumi) -> None:
    """The finding's evidence 2: the plan read ``stacks/<env>`` and ``up`` ran on ``--stack-dir``'s empty stack."""
    other = repo / "elsewhere"
    other.mkdir()
    shutil.copy(repo / "stacks/dev/Pulumi.yaml", other / "Pulumi.yaml")
    (other / "Pulumi.dev.yaml").write_text(f"config:\n  mlops:systemFile: ../{FRAUD}\n  mlops:environment: dev\n",
                                           encoding="utf-8")
    write_backend_state(other, fraud_dev_state())  # applied there; nothing in stacks/dev
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes", "--stack-dir", "elsewhere")
    assert result.code == 0, result.output
    assert "Prior state: elsewhere/.pulumi/stacks/fraud-detection/dev.json" in result.stdout
    assert "Nothing to apply" in result.stdout
    assert pulumi.calls() == []


# -- applypath-1 (--state) and applypath-2: the state must still be the one planned when `up` starts ---


def test_apply_state_of_an_old_export_is_refused_when_the_backend_moved(repo: Path, pulumi) -> None:
    """The finding's evidence 3: ``--state`` made freshness a check against the file, and ``up`` ran on the
    backend. The backend is read again before ``up``: an old export is stale, the current one applies."""
    applied = fraud_dev_state()
    old = without_last_resource(applied)
    (repo / "old.json").write_text(export_of(old), encoding="utf-8")
    planned = run_cli("plan", FRAUD, "--env", "dev", "--state", "old.json", "--out", "plan.json")
    assert planned.code == 0 and "1 to add" in planned.stdout, planned.output
    write_backend_state(repo / "stacks/dev", applied)  # the stack moved on since the export

    result = run_cli("apply", FRAUD, "--env", "dev", "--state", "old.json", "--plan", "plan.json", "--yes")
    assert result.code == 1 and "Traceback" not in result.output
    assert "stale plan: the state moved since the plan was made" in result.stderr
    assert "Nothing was applied" in result.stderr
    assert pulumi.ran("up") == [] and pulumi.ran("config") == []

    write_backend_state(repo / "stacks/dev", old)  # the export is the stack's current state: it applies
    result = run_cli("apply", FRAUD, "--env", "dev", "--state", "old.json", "--plan", "plan.json", "--yes")
    assert "stale plan" not in result.stderr, result.stderr
    [up] = pulumi.ran("up")
    assert up["cwd"] == str(repo / "stacks/dev") and up["project"] == "fraud-detection"
    assert up["env"]["PULUMI_BACKEND_URL"] == f"file://{repo / 'stacks/dev'}"
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr


def test_a_state_that_moves_while_apply_waits_for_confirmation_is_refused(repo: Path, pulumi, monkeypatch) -> None:
    """applypath-2: the state was read once, before the prompt (and the queue drain); another apply landing
    meanwhile was undone by this ``up``. It is read again right before ``up``."""
    from mlops_infra.cli.commands import apply as command

    applied = fraud_dev_state()
    state_file = write_backend_state(repo / "stacks/dev", without_last_resource(applied))

    def another_apply_lands(yes: bool, env: str) -> None:
        state_file.write_text(dumps(applied), encoding="utf-8")

    monkeypatch.setattr(command, "_confirm", another_apply_lands)
    result = run_cli("apply", FRAUD, "--env", "dev")
    assert "Plan: 1 to add" in result.stdout, result.output
    assert result.code == 1 and "Traceback" not in result.output
    assert "stale plan: the state moved since the plan was made" in result.stderr
    assert "fraud-detection/dev in stacks/dev/.pulumi/stacks/fraud-detection/dev.json (backend: the stack " \
           "directory" in result.stderr
    assert pulumi.ran("up") == [] and pulumi.ran("config") == []


def test_a_state_that_stays_put_goes_on_to_pulumi_up(repo: Path, pulumi, monkeypatch) -> None:
    from mlops_infra.cli.commands import apply as command

    write_backend_state(repo / "stacks/dev", without_last_resource(fraud_dev_state()))
    monkeypatch.setattr(command, "_confirm", lambda yes, env: None)
    result = run_cli("apply", FRAUD, "--env", "dev")
    assert "stale plan" not in result.stderr, result.stderr
    [up] = pulumi.ran("up")
    assert up["cwd"] == str(repo / "stacks/dev") and up["env"]["PULUMI_BACKEND_URL"] == f"file://{repo / 'stacks/dev'}"


# -- applypath-5: the committed stack settings file is not rewritten with this machine's path -----------


def test_a_stack_that_names_the_system_file_keeps_its_settings_file(repo: Path, pulumi) -> None:
    """``pulumi config set-all`` saves ``Pulumi.<env>.yaml`` (config.go newConfigSetAllCmd -> SaveProjectStack):
    apply wrote ``mlops:systemFile=<absolute path>`` there on every run, which breaks other checkouts."""
    write_backend_state(repo / "stacks/dev", without_last_resource(fraud_dev_state()))
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert "Plan: 1 to add" in result.stdout, result.output
    assert len(pulumi.ran("up")) == 1 and pulumi.ran("config") == []  # stacks/dev already names it


def test_a_stack_that_names_no_system_file_gets_it_relative_to_the_stack_directory(repo: Path, pulumi) -> None:
    other = repo / "deploy" / "dev"
    other.mkdir(parents=True)
    shutil.copy(repo / "stacks/dev/Pulumi.yaml", other / "Pulumi.yaml")  # project fraud-detection, no config
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes", "--stack-dir", "deploy/dev")
    assert "Plan: " in result.stdout, result.output
    [config] = pulumi.ran("config")
    assert config["args"] == ["config", "set-all", "--stack", "dev", "--plaintext",
                              f"mlops:systemFile=../../{FRAUD}"]
    assert config["cwd"] == str(other) and len(pulumi.ran("up")) == 1


def test_only_the_first_phase_of_an_ordered_apply_is_held_to_the_planned_state(monkeypatch, tmp_path) -> None:
    """Phase 1 of an ordered apply (apply/sequences.py) changes the state, so phase 2 is not compared with it."""
    from mlops_infra.apply import engine
    from mlops_infra.cli.commands import apply as command
    from mlops_infra.state.pulumi_state import load_state

    scenario = REPO / "tests/scenarios/blue-green-instance-change-deregisters-autoscaling-first"
    calls: list[dict] = []
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(engine, "up", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(command, "_verify", lambda out, graph: None)
    monkeypatch.setattr(command, "_start_rollouts", lambda *args: None)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    env = json.loads((scenario / "plan.json").read_text())["stack"]
    result = run_cli("apply", str(scenario / "mlsystem.yaml"), "--env", env, "--state", str(scenario / "prior.json"),
                     "--yes")
    assert result.code == 0, result.output
    assert [c["expected_serial"] for c in calls] == [load_state(scenario / "prior.json").serial, None]
    assert {c["project"] for c in calls} == {load_system(scenario / "mlsystem.yaml").system.metadata.name}
