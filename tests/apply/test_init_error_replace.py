"""A resource holding ``initErrors`` that Pulumi's empty update does not fix (audit findings closing-35d-1 and -2).

- closing-35d-1: a SageMaker endpoint whose create ended without coming into service. The engine plans an empty
  update (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``, ``if hasInitErrors``); the Terraform bridge's
  Update (``pkg/tfbridge/provider.go``) applies an empty diff, and terraform-provider-aws
  ``internal/service/sagemaker/endpoint.go`` ``resourceEndpointUpdate`` calls ``UpdateEndpoint`` and waits only
  ``if d.HasChanges("endpoint_config_name", "deployment_config")``: the update succeeds at once and the record is
  dropped while a Failed endpoint stays Failed ("DeleteEndpoint is the only operation that can be performed on a
  failed endpoint", botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``). Before the fix the
  plan said "Pulumi updates it again and waits for it to be ready"; now an offline plan says the update only
  clears the record and that apply checks the endpoint: apply reads it (DescribeEndpoint) and replaces it,
  deleting first for that run only, when it is Failed (bb77b9f, ``mlops_infra/apply/failed_endpoints.py``,
  tested in tests/apply/test_failed_endpoints.py); here the endpoint is not read, so the update is kept.
- closing-35d-2: a register Job with ``pulumi.com/replaceUnready``: its provider replaces it only while the live
  Job is not complete (pulumi-kubernetes ``provider.go`` ``Diff``: ``if !jobChecker.Ready(job)``), so the plan's
  "replaced, the Job runs again" was a guess; apply now forces it (``--replace``).

A forced replace asks no provider (``step_generator.go`` ``diff``: ``if sg.isTargetedReplace(urn, old)`` returns a
replace without ``DeleteBeforeReplace``), so the plan deletes first only by the resource's option. A Deployment keeps
the empty update (pulumi-kubernetes Update awaits it again). The real Automation API (``Stack.up(replace=...)``,
``pulumi/automation/_stack.py``: ``--replace <urn>`` per URN) drives the recording Pulumi stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from mlops_infra.errors import UserError
from mlops_infra.plan import init_errors
from mlops_infra.plan.model import Action
from mlops_infra.render import render_json, render_text
from tests.cli.test_apply_stack_identity import FRAUD, fraud_dev_state, pulumi, repo, write_backend_state
from tests.plan.test_init_errors_plan import AWS_REASON, JOB_REASONS, KUBE_REASONS, _changed, _is, _plan
from tests.support.applied_state import edit_resource
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo"]  # fixtures

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
JOB = "kubernetes:batch/v1:Job"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _replace_args(args: list[str]) -> list[str]:
    """The URNs after each ``--replace`` in one recorded ``pulumi`` call."""
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--replace"]


def _marked(checkpoint: dict, predicate, reasons: list[str]) -> dict:
    def mark(record: dict) -> dict:
        record["initErrors"] = [r.replace("{urn}", record["urn"]) for r in reasons]
        return record

    return edit_resource(checkpoint, predicate, mark)


# -- the plan -------------------------------------------------------------------------------------------------------

def test_a_sagemaker_endpoint_update_does_not_promise_a_wait_and_says_how_to_recreate_it():
    plan, urn = _plan("staging", _is(ENDPOINT), [AWS_REASON])
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.UPDATE, "init-error")
    assert "waits for it to be ready" not in change.reason.message
    assert change.reason.message.endswith(
        "Pulumi's update of an unchanged endpoint neither waits nor retries, it only clears this record; a Failed "
        "endpoint accepts only DeleteEndpoint, so apply reads it first (DescribeEndpoint) and, if it is Failed, "
        "deletes it and creates it again (`pulumi up --replace`, deleting first; by hand: `aws sagemaker delete-endpoint "
        "--endpoint-name fraud-detection-staging-scorer`, then `pulumi refresh`); `plan --refresh` reads it too")
    assert init_errors.forced_replaces(plan.changes) == ()  # no create-first replace under its own name
    assert "neither waits nor retries" in render_text(plan)
    [entry] = [c for c in json.loads(render_json(plan))["resourceChanges"] if c["urn"] == urn]
    assert entry["action"] == "update" and "delete-endpoint" in entry["reason"]["message"]


def test_a_register_job_with_init_errors_is_a_forced_replace_that_runs_it_again():
    plan, urn = _plan("dev", _is(JOB, "register-"), JOB_REASONS)
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.REPLACE, "init-error")
    assert "`pulumi up --replace`" in change.reason.message and "the Job runs again" in change.reason.message
    assert change.delete_before_replace  # same name: deleted first by its option, the provider is not asked
    assert init_errors.forced_replaces(plan.changes) == (urn,)
    [entry] = [c for c in json.loads(render_json(plan))["resourceChanges"] if c["urn"] == urn]
    assert entry["action"] == "replace" and "--replace" in entry["reason"]["message"]


def test_a_deployment_keeps_the_empty_update_and_is_not_forced():
    plan, _ = _plan("dev", _is(DEPLOYMENT, "mlops-retrain-trigger"), KUBE_REASONS)
    [change] = _changed(plan)
    assert change.action is Action.UPDATE and change.reason.message.endswith("waits for it to be ready")
    assert init_errors.forced_replaces(plan.changes) == ()


# -- apply's pulumi up ----------------------------------------------------------------------------------------------

def test_apply_passes_replace_for_a_register_job_with_init_errors(repo: Path, pulumi) -> None:
    checkpoint = _marked(fraud_dev_state(), _is(JOB, "register-"), JOB_REASONS)
    [urn] = [r["urn"] for r in checkpoint["checkpoint"]["latest"]["resources"] if r.get("initErrors")]
    write_backend_state(repo / "stacks/dev", checkpoint)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in result.stdout, result.output
    [up] = pulumi.ran("up")
    assert _replace_args(up["args"]) == [urn]
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr  # up ran, and failed


def test_apply_passes_no_replace_for_a_deployment_with_init_errors(repo: Path, pulumi) -> None:
    checkpoint = _marked(fraud_dev_state(), _is(DEPLOYMENT, "mlops-retrain-trigger"), KUBE_REASONS)
    write_backend_state(repo / "stacks/dev", checkpoint)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy." in result.stdout, result.output
    [up] = pulumi.ran("up")
    assert _replace_args(up["args"]) == []


def test_engine_up_passes_replace_and_keeps_only_targeted_ones_under_target(repo: Path, pulumi) -> None:
    """The register Job's URN, as apply takes it from the plan; a ``--target`` run (the ordered apply's first
    phase) replaces only a URN it targets (an untargeted resource is left as it is: ``step_generator.go``
    ``isTargetedForUpdate``)."""
    plan, urn = _plan("dev", _is(JOB, "register-"), JOB_REASONS)
    forced = init_errors.forced_replaces(plan.changes)
    other = "urn:pulumi:dev::fraud-detection::kubernetes:core/v1:ConfigMap::other"
    for targets, expected in (((), [urn]), ((other,), []), ((other, urn), [urn])):
        with pytest.raises(UserError):  # the stand-in fails every up: only its arguments matter here
            engine.up(repo / "stacks/dev", "dev", replace=forced, targets=targets, passphrase="")
        up = pulumi.ran("up")[-1]
        assert _replace_args(up["args"]) == expected, up["args"]
