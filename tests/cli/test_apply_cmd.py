"""``mlops-infra apply``: stale saved plans are refused (redteam M12), no Pulumi CLI is one line,
confirmation, the post-apply check (B8) and the rollouts an apply announces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.cli.commands.apply import announced_rollouts, post_apply_checks
from mlops_infra.compile import compile_system
from mlops_infra.plan.planfile import load_plan
from mlops_infra.spec import load_system
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.text_edits import edit

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "model-version-bump-with-canary-rollout"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for name in ("mlsystem.yaml", "prior.json"):
        shutil.copy(SCENARIO / name, tmp_path / name)
    return tmp_path


def saved_plan(work: Path) -> Path:
    result = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "staging", "--state", str(work / "prior.json"),
                     "--out", str(work / "plan.json"))
    assert result.code == 0, result.output
    return work / "plan.json"


def apply(work: Path, *extra: str):
    return run_cli_subprocess("apply", str(work / "mlsystem.yaml"), "--env", "staging", "--state",
                              str(work / "prior.json"), *extra)


def test_a_plan_made_before_the_spec_changed_is_refused(work):
    plan = saved_plan(work)
    spec = work / "mlsystem.yaml"
    spec.write_text(edit(spec.read_text(), "replicas: {min: 2, max: 10}", "replicas: {min: 3, max: 10}"))
    result = apply(work, "--plan", str(plan), "--yes")
    assert result.code == 1 and "Traceback" not in result.output
    assert "stale plan: the desired system changed" in result.stderr and str(plan) in result.stderr


def test_a_plan_made_before_the_state_moved_is_refused(work):
    plan = saved_plan(work)
    state = json.loads((work / "prior.json").read_text())
    resources = state["checkpoint"]["latest"]["resources"]
    resources.pop()  # someone applied (or destroyed) something since the plan was made
    (work / "prior.json").write_text(json.dumps(state))
    result = apply(work, "--plan", str(plan), "--yes")
    assert result.code == 1 and "stale plan: the state moved since the plan was made" in result.stderr


def test_a_fresh_plan_without_the_pulumi_cli_is_one_line_and_exit_1(work):
    plan = saved_plan(work)
    result = apply(work, "--plan", str(plan), "--yes")
    assert result.code == 1
    assert result.stderr.strip().splitlines() == [
        "error: the Pulumi CLI is not installed (no `pulumi` on PATH): install it from "
        "https://www.pulumi.com/docs/install/ to apply; `mlops-infra plan` works without it"]
    assert "Plan:" in result.stdout  # what would have been applied was shown first


def test_without_a_terminal_apply_needs_yes(work, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "staging", "--state", str(work / "prior.json"))
    assert result.code == 1 and "refusing to apply without confirmation" in result.output


def test_the_plan_announces_the_canary_rollout(work):
    graph = compile_system(load_system(work / "mlsystem.yaml", "staging").system, "staging")
    assert announced_rollouts(graph, load_plan(saved_plan(work)).plan) == ["scorer"]


@pytest.mark.moto
def test_post_apply_check_fails_on_a_silent_rollback(work):
    from tests.support.moto_server import client, running_moto_server

    canary = compile_system(load_system(work / "mlsystem.yaml", "staging").system, "staging")
    spec = work / "mlsystem.yaml"
    text = edit(spec.read_text(), "strategy: canary", "strategy: blue_green")
    spec.write_text(edit(text, "steps: [2, 5, 10, 25, 75, 100]", ""))
    graph = compile_system(load_system(spec, "staging").system, "staging")
    from mlops_infra.rollout.connect import endpoint_config_names

    [(endpoint, desired)] = endpoint_config_names(graph).items()
    with running_moto_server() as url:
        sm = client("sagemaker", url)
        sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::111111111111:role/r", PrimaryContainer={"Image": "i"})
        for name in ("old-config", desired):
            sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
                "VariantName": "primary", "ModelName": "m", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="old-config")  # the update rolled back
        [failed] = post_apply_checks(graph, sm)
        assert failed.endpoint == endpoint and "rolled back" in failed.problem
        assert post_apply_checks(canary, sm) == []  # a canary's config is landed by the rollout controller
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=desired)
        assert post_apply_checks(graph, sm) == []


@pytest.mark.moto
def test_a_refreshed_plan_of_a_version_awaiting_approval_is_applied_not_refused(work, monkeypatch):
    """Staging pins v13, which is PendingManualApproval: `plan --refresh --out` decides the endpoint keeps
    serving v12, and apply, reading the registry as that plan did, takes it: it goes on to `pulumi up`
    (absent here: one line, exit 1) instead of refusing it as stale. Before, apply compiled the offline
    graph, so the refreshed plan was stale, and a plain apply refused to run until v13 was approved."""
    from mlops_infra.state.model_registry import group_of
    from tests.support.moto_accounts import account_client, use_account
    from tests.support.moto_server import running_moto_server

    with running_moto_server() as url:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        # staging's own credentials (account 111111111111), seeding and reading alike: the subprocess apply
        # asks STS whose they are before reading the registry (envs-7's check, left43a)
        use_account(url, "111111111111", monkeypatch, region="us-east-1")
        system = load_system(work / "mlsystem.yaml", "staging").system
        sagemaker = account_client("sagemaker", url, "us-east-1")
        group = group_of(system, "staging", "fraud-model")
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        for approval in ["Approved"] * 12 + ["PendingManualApproval"]:
            sagemaker.create_model_package(
                ModelPackageGroupName=group, ModelApprovalStatus=approval,
                InferenceSpecification={"Containers": [{"Image": "a.dkr.ecr.us-east-1.amazonaws.com/m:1"}],
                                        "SupportedContentTypes": ["a"], "SupportedResponseMIMETypes": ["a"]})
        planned = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "staging", "--state", str(work / "prior.json"),
                          "--refresh", "--out", str(work / "plan.json"))
        assert planned.code in (0, 2), planned.output
        assert "scorer: stays on v12" in planned.stdout
        result = apply(work, "--plan", str(work / "plan.json"), "--yes")
        assert "stale plan" not in result.stderr, result.stderr
        assert result.code == 1 and "the Pulumi CLI is not installed" in result.stderr
        assert "scorer: stays on v12" in result.stdout  # the plan shown is the one decided from the registry
