"""A resource whose last create or update did not finish initializing is planned, not "No changes"
(audit finding k8sapply-2).

Pulumi records such a resource with the NEW inputs and ``initErrors`` (pulumi/pulumi
``pkg/resource/deploy/step.go`` CreateStep/UpdateStep ``Apply``: ``s.new.InitErrors = initErr.Reasons``;
``sdk/go/common/apitype/core.go`` ``ResourceV3.InitErrors``), and its next ``up`` updates it again
("generate an empty update step to attempt to 'continue' awaiting initialization",
``pkg/resource/deploy/step_generator.go``). Both targets write them: pulumi-kubernetes ``provider.go``
Create/Update ``partialError`` (a Deployment that never became available) and the Terraform bridge
``pkg/tfbridge/provider.go`` Create ``initializationError`` with ``creating <urn>: <error>`` (a SageMaker
endpoint that failed to come into service: terraform-provider-aws ``resourceEndpointCreate`` sets the id
before it waits). Before the fix the plan said "No changes" and ``apply`` exited 0 without ``pulumi up``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.plan.model import Action, Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.render import render_json, render_markdown, render_text
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

KUBE_REASONS = [
    'the Kubernetes API server reported that "fraud-dev/mlops-retrain-trigger" failed to fully initialize or '
    "become live: 'mlops-retrain-trigger' timed out waiting to be Ready",
    "[MinimumReplicasUnavailable] Deployment does not have minimum availability.",
    "Minimum number of live Pods was not attained",
]
"""What pulumi-kubernetes writes for an update whose Deployment never became available: provider.go Update's
``partialError`` message, then the await's sub-errors (``await/error.go`` ``timeoutError``:
"'%s' timed out waiting to be Ready"; ``await/deployment_test.go``'s sub-errors)."""
JOB_REASONS = ['resource "{urn}" was successfully created, but the Kubernetes API server reported that it failed to '
               'fully initialize or become live: [BackoffLimitExceeded] Job has reached the specified backoff limit']
"""provider.go Create's ``partialError`` for a Job that ended Failed (``await/checker/job/check.go``
``collectJobConditionErrors``: "[%s] %s" of the Failed condition)."""
AWS_REASON = ("creating {urn}: waiting for SageMaker Endpoint (fraud-detection-staging-scorer) to be in service: "
              "ResourceNotReady: failed waiting for successful resource state")
"""tfbridge Create's reason (``errors.Wrapf(err, "creating %s", urn)``) around terraform-provider-aws's
``waiting for SageMaker Endpoint (%s) to be in service: %s``."""


def _plan(env: str, predicate, reasons: list[str]) -> tuple[Plan, str]:
    graph = compile_file(FRAUD, env)
    checkpoint = applied_state(graph)
    failed: list[str] = []

    def mark(record: dict) -> dict:
        record["initErrors"] = [r.replace("{urn}", record["urn"]) for r in reasons]
        failed.append(record["urn"])
        return record

    checkpoint = edit_resource(checkpoint, predicate, mark)
    [urn] = failed
    prior = parse_state(dumps(checkpoint).encode(), "state.json")
    assert prior.resources[urn].init_errors
    return make_plan(graph, prior), urn


def _is(type_: str, name: str = ""):
    return lambda r: r["type"] == type_ and r["urn"].rsplit("::", 1)[-1].startswith(name)


def _changed(plan: Plan):
    return [c for c in plan.changes if c.action.is_change]


def test_a_deployment_that_never_became_available_is_planned_as_an_update_with_the_reason():
    plan, urn = _plan("dev", _is("kubernetes:apps/v1:Deployment", "mlops-retrain-trigger"), KUBE_REASONS)
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.UPDATE, "init-error")
    assert change.changes == ()  # the engine's empty update: it waits again
    assert change.reason.message == (
        "the last apply did not finish initializing it ('mlops-retrain-trigger' timed out waiting to be Ready; "
        "[MinimumReplicasUnavailable] Deployment does not have minimum availability. (+1 more)): "
        "Pulumi updates it again and waits for it to be ready")
    assert plan.has_changes and plan.counts.change == 1 and plan.counts.total == 1

    text = render_text(plan)
    assert "~ retrain-trigger mlops-retrain-trigger (kubernetes:apps/v1:Deployment)" in text
    assert "the last apply did not finish initializing it ('mlops-retrain-trigger' timed out" in text
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy." in text
    assert "No changes" not in text
    markdown = render_markdown(plan)
    assert "mlops-retrain-trigger" in markdown and "did not finish initializing it" in markdown
    document = json.loads(render_json(plan))
    [entry] = [c for c in document["resourceChanges"] if c["urn"] == urn]
    assert entry["action"] == "update" and entry["reason"]["code"] == "init-error"
    assert document["summary"]["change"] == 1 and document["summary"]["hasChanges"] is True


def test_a_sagemaker_endpoint_that_did_not_come_into_service_is_planned_as_an_update():
    plan, urn = _plan("staging", _is("aws:sagemaker/endpoint:Endpoint"), [AWS_REASON])
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.UPDATE, "init-error")
    assert urn not in change.reason.message  # the bridge's "creating <urn>: " only names the resource
    assert change.reason.message.startswith(
        "the last apply did not finish initializing it (waiting for SageMaker Endpoint (fraud-detection-staging-scorer) "
        "to be in service: ResourceNotReady")
    assert plan.counts.change == 1
    assert "did not finish initializing it" in render_text(plan)


def test_a_register_job_that_failed_is_replaced_so_it_runs_again():
    """pulumi-kubernetes provider.go Diff: a Job with ``pulumi.com/replaceUnready: "true"`` that is not ready is
    replaced, and a named object replaced under its own name is deleted first."""
    plan, urn = _plan("dev", _is("kubernetes:batch/v1:Job", "register-"), JOB_REASONS)
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.REPLACE, "init-error")
    assert change.delete_before_replace and change.blocked is None
    assert "[BackoffLimitExceeded] Job has reached the specified backoff limit" in change.reason.message
    assert "pulumi.com/replaceUnready" in change.reason.message and "the Job runs again" in change.reason.message
    assert plan.counts.replace == 1 and plan.counts.total == 1
    assert not any("create-first" in w for w in plan.warnings)


def test_a_resource_that_changes_anyway_keeps_its_reason_and_says_it_too():
    graph = compile_file(FRAUD, "dev")
    checkpoint = applied_state(graph)

    def failed_with_one_replica(record: dict) -> dict:
        record["initErrors"] = KUBE_REASONS
        for side in ("inputs", "outputs"):
            record[side]["spec"]["replicas"] = 7
        return record

    checkpoint = edit_resource(checkpoint, _is("kubernetes:apps/v1:Deployment", "mlops-retrain-trigger"),
                               failed_with_one_replica)
    plan = make_plan(graph, parse_state(dumps(checkpoint).encode(), "state.json"))
    [change] = _changed(plan)
    assert change.action is Action.UPDATE and change.reason.code == "property-changed"
    assert [a.path for a in change.changes] == ["spec.replicas"]
    assert change.reason.message.endswith("timed out waiting to be Ready; [MinimumReplicasUnavailable] Deployment "
                                          "does not have minimum availability. (+1 more))")


def test_the_state_without_init_errors_still_plans_no_changes():
    graph = compile_file(FRAUD, "dev")
    plan = make_plan(graph, parse_state(dumps(applied_state(graph)).encode(), "state.json"))
    assert not plan.has_changes


def test_reason_text_is_redacted_and_shortened():
    """Provider text can quote values (a URL with credentials, a key): shown as other Pulumi text is
    (``apply/engine._pulumi_says``: URLs through ``redact_url``, then the secret scanner), and cut."""
    from mlops_infra.plan import init_errors

    key = "AKIA" + "Q3EGRIXH5KZT7WBD"
    reason = (f"creating urn:x: reaching https://user:hunter2pass@mlflow.example.com/api failed with key {key} "
              + "and much more detail " * 30)
    shown = init_errors.summary("urn:x", (reason,))
    assert "hunter2pass" not in shown and key not in shown
    assert shown.startswith("reaching https://user:")  # "creating <urn>: " dropped
    assert len(shown) <= init_errors.MAX_CHARS and shown.endswith("...")
    assert init_errors.summary("urn:x", ()) == "no reason recorded"


def test_a_secret_in_the_reason_never_reaches_the_plan():
    key = "AKIA" + "Q3EGRIXH5KZT7WBD"
    plan, _ = _plan("dev", _is("kubernetes:apps/v1:Deployment", "mlops-retrain-trigger"),
                    [f"the Kubernetes API server reported that \"x\" failed to fully initialize or become live: "
                     f"container env AWS_ACCESS_KEY_ID={key} rejected"])
    for rendered in (render_text(plan), render_markdown(plan), render_json(plan)):
        assert key not in rendered
    assert "<redacted:" in _changed(plan)[0].reason.message


def test_only_a_job_with_the_annotation_exactly_true_replaces_unready():
    """pulumi-kubernetes ``metadata/annotations.go`` ``IsAnnotationTrue``: ``value == "true"``."""
    from mlops_infra.plan import init_errors

    job = "kubernetes:batch/v1:Job"
    assert init_errors.replaces_unready(job, {"metadata": {"annotations": {"pulumi.com/replaceUnready": "true"}}})
    assert not init_errors.replaces_unready(job, {"metadata": {"annotations": {"pulumi.com/replaceUnready": "True"}}})
    assert not init_errors.replaces_unready(job, {"metadata": {}})
    assert not init_errors.replaces_unready("kubernetes:apps/v1:Deployment",
                                            {"metadata": {"annotations": {"pulumi.com/replaceUnready": "true"}}})


def test_a_saved_plan_with_the_reason_reads_back(tmp_path):
    """``plan --out``: the file is validated against the plan schema, whose reason enum has ``init-error``."""
    from mlops_infra.plan.planfile import load_plan, save_plan

    plan, urn = _plan("dev", _is("kubernetes:apps/v1:Deployment", "mlops-retrain-trigger"), KUBE_REASONS)
    save_plan(tmp_path / "plan.json", plan)
    [change] = [c for c in load_plan(tmp_path / "plan.json").plan.changes if c.urn == urn]
    assert change.action is Action.UPDATE and change.reason.code == "init-error"
