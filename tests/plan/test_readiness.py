"""Readiness of live resources (mlops_infra/plan/readiness.py), judged from the statuses the sources
define: kubernetes apps/v1 ``DeploymentCondition`` (the shapes pulumi-kubernetes' await tests use,
``provider/pkg/await/deployment_test.go``), KServe v0.15 ``Ready`` (``inference_service_status.go``),
batch/v1 ``JobCondition`` (pulumi-kubernetes ``await/checker/internal/states/kubernetes/job/
backoffLimit.json``) and botocore ``DescribeEndpointOutput``. What is in progress is not reported; what
failed is, with the live reason redacted; the plan keeps a no-op (``pulumi up`` leaves it as it is)
except a failed ``replaceUnready`` Job, which its provider replaces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_infra.plan import readiness
from mlops_infra.plan.model import Action, Plan, Reason, ResourceChange
from mlops_infra.plan.readiness import DEPLOYMENT, ENDPOINT, INFERENCE_SERVICE, JOB, marked, not_ready
from mlops_infra.render.human import NO_CHANGES, render_text
from mlops_infra.render.json import render_json
from mlops_infra.render.markdown import render_markdown
from mlops_infra.state.model import LiveState, StateResource

NS = "churn-dev"
AVAILABLE = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."}
UNAVAILABLE = {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
               "message": "Deployment does not have minimum availability."}
PROGRESSED = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
              "message": 'ReplicaSet "scorer-6f9c" has successfully progressed.'}
ROLLING = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
           "message": 'ReplicaSet "scorer-7d2a" is progressing.'}
TIMED_OUT = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "scorer-7d2a" has timed out progressing.'}
QUOTA = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": 'pods "scorer-7d2a-x" is forbidden: exceeded quota: compute, requested: limits.cpu=4'}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::churn::mlops:serving:Endpoint${type_}::{name}"


def kube(type_: str, name: str, status: dict[str, Any] | None, generation: int = 2,
         annotations: dict[str, str] | None = None) -> StateResource:
    meta: dict[str, Any] = {"name": name, "namespace": NS, **({"annotations": annotations} if annotations else {})}
    return StateResource(urn(type_, name), type_, id=f"{NS}/{name}", inputs={"metadata": meta},
                         outputs={"status": status or {}, "generation": generation})


def endpoint(status: str, reason: str | None = None) -> StateResource:
    outputs = {"endpointStatus": status, **({"failureReason": reason} if reason else {})}
    return StateResource(urn(ENDPOINT, "scorer"), ENDPOINT, id="churn-scorer", inputs={"name": "churn-scorer"},
                         outputs=outputs)


def judged(*resources: StateResource) -> dict[str, readiness.NotReady]:
    return not_ready(LiveState({r.urn: r for r in resources}))


def deployment(*conditions: dict[str, Any], observed: int = 2, generation: int = 2) -> StateResource:
    return kube(DEPLOYMENT, "scorer", {"observedGeneration": observed, "conditions": list(conditions)}, generation)


@pytest.mark.parametrize("resource", [
    deployment(AVAILABLE, PROGRESSED),
    deployment(UNAVAILABLE, ROLLING),  # a rollout in progress: its deadline decides
    deployment(TIMED_OUT, observed=1),  # a status of the previous spec: the controller has not caught up
    kube(INFERENCE_SERVICE, "scorer", {"conditions": [{"type": "Ready", "status": "True"}]}),
    kube(INFERENCE_SERVICE, "scorer", {"conditions": [{"type": "Ready", "status": "Unknown"}]}),  # deploying
    kube(INFERENCE_SERVICE, "scorer", {}),  # no status yet
    kube(JOB, "register-churn-1a2b", {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    kube(JOB, "register-churn-1a2b", {"active": 1}),  # still running
    endpoint("InService"), endpoint("Creating"), endpoint("Updating"), endpoint("RollingBack"),
], ids=["deployment-ready", "deployment-rolling", "deployment-stale-status", "isvc-ready", "isvc-deploying",
        "isvc-no-status", "job-complete", "job-running", "endpoint-in-service", "endpoint-creating",
        "endpoint-updating", "endpoint-rolling-back"])
def test_what_is_ready_or_still_in_progress_is_not_reported(resource: StateResource) -> None:
    assert judged(resource) == {}


def test_a_deployment_whose_rollout_passed_its_progress_deadline_is_not_ready() -> None:
    res = deployment(AVAILABLE, TIMED_OUT)
    found = judged(res)[res.urn]
    assert found.state.startswith("its rollout failed: the new ReplicaSet did not become available")
    assert found.why == 'ProgressDeadlineExceeded: ReplicaSet "scorer-7d2a" has timed out progressing.'
    assert f"`kubectl -n {NS} describe deployment scorer`" in found.todo and not found.replaced


def test_a_deployment_that_cannot_create_pods_or_lost_them_is_not_ready() -> None:
    refused = deployment(AVAILABLE, ROLLING, QUOTA)
    assert judged(refused)[refused.urn].why.startswith("FailedCreate: pods ")
    assert "exceeded quota: compute" in judged(refused)[refused.urn].why
    crashed = deployment(UNAVAILABLE, PROGRESSED)  # the rollout finished, then its pods went
    assert judged(crashed)[crashed.urn].why == "MinimumReplicasUnavailable: Deployment does not have minimum availability."


def test_an_inference_service_whose_ready_condition_is_false_is_not_ready_with_its_reason_redacted() -> None:
    message = ('Revision "scorer-predictor-00002" failed with message: Unable to fetch image '
               '"https://user:hunter2secret@registry.example.com/scorer:3": token ghp_0123456789abcdefghijABCDEFGHIJ012345.')
    res = kube(INFERENCE_SERVICE, "scorer", {"conditions": [
        {"type": "PredictorReady", "status": "False", "reason": "RevisionFailed", "message": message},
        {"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": message}]})
    found = judged(res)[res.urn]
    assert found.why.startswith('RevisionFailed: Revision "scorer-predictor-00002" failed with message: ')
    assert "hunter2secret" not in found.why and "ghp_0123456789" not in found.why
    assert "<redacted" in found.why and len(found.why) <= 240
    assert f"`kubectl -n {NS} describe inferenceservice scorer`" in found.todo


def test_a_failed_job_is_not_ready_and_a_replace_unready_one_is_replaced_by_its_provider() -> None:
    failed = {"failed": 2, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                           "message": "Job has reached the specified backoff limit"}]}
    register = kube(JOB, "register-churn-1a2b", failed, annotations={"pulumi.com/replaceUnready": "true"})
    plain = kube(JOB, "other", failed)
    found = judged(register, plain)
    assert found[register.urn].replaced and found[register.urn].why == (
        "BackoffLimitExceeded: Job has reached the specified backoff limit")
    assert not found[plain.urn].replaced
    assert f"`kubectl -n {NS} delete job other`" in found[plain.urn].todo


@pytest.mark.parametrize(("status", "reason", "state"), [
    ("Failed", "The primary container for production variant primary did not pass the ping health check.",
     "the endpoint is Failed"),
    ("OutOfService", None, "the endpoint is OutOfService: not available to take incoming requests"),
    ("UpdateRollbackFailed", None, "the endpoint is UpdateRollbackFailed"),
    ("InService", "Request to service failed. If failure persists after retry, contact customer support.",
     "in service, but its last update failed"),
])
def test_a_sagemaker_endpoint_failed_out_of_service_or_whose_update_failed_is_not_ready(
        status: str, reason: str | None, state: str) -> None:
    res = endpoint(status, reason)
    found = judged(res)[res.urn]
    assert found.state.startswith(state)
    assert found.why == (reason or "")
    if status == "Failed":
        assert "`aws sagemaker delete-endpoint --endpoint-name churn-scorer`" in found.todo
    else:
        assert "`aws sagemaker describe-endpoint --endpoint-name churn-scorer`" in found.todo


def noop(res: StateResource, address: str = "endpoints.scorer") -> ResourceChange:
    return ResourceChange(res.urn, res.type, res.urn.rsplit("::", 1)[-1], Action.NOOP, Reason("no-change", "no changes"),
                          address=address, role="serving")


def plan_of(*changes: ResourceChange) -> Plan:
    return Plan(project="churn", stack="dev", target={"cloud": "kubernetes"}, state_serial="s" * 64,
                graph_digest="d" * 64, changes=tuple(changes), refreshed=True)


def test_a_not_ready_resource_is_a_no_op_the_plan_shows_in_every_format() -> None:
    """Not a change Pulumi makes: the summary and --detailed-exitcode stay "no changes", and every
    format says which resource is not ready, why and what to do."""
    res = deployment(AVAILABLE, TIMED_OUT)
    healthy = kube(INFERENCE_SERVICE, "scorer", {"conditions": [{"type": "Ready", "status": "True"}]})
    changes = marked((noop(res), noop(healthy)), judged(res, healthy))
    assert [(c.action, c.reason.code) for c in changes] == [(Action.NOOP, "not-ready"), (Action.NOOP, "no-change")]
    plan = plan_of(*changes)
    assert not plan.has_changes and plan.counts.total == 0
    text = render_text(plan)
    assert "Not ready: 1 resource read live is not ready; what to do is under each" in text
    assert "  ! endpoints.scorer: scorer (kubernetes:apps/v1:Deployment)" in text
    assert "ProgressDeadlineExceeded: ReplicaSet \"scorer-7d2a\" has timed out progressing." in text
    assert "nothing in this plan changes it" in text
    assert text.rstrip().splitlines()[-1] == "No changes to apply, but 1 resource is not ready (see Not ready above)."
    markdown = render_markdown(plan)
    assert "**No changes to apply, but 1 resource is not ready (see Not ready above).**" in markdown
    assert "| **Not ready** | **1 resource** read live (see Not ready) |" in markdown
    assert "### Not ready\n" in markdown and "**scorer** (`kubernetes:apps/v1:Deployment`): scorer: its rollout" in markdown
    data = json.loads(render_json(plan))
    assert data["summary"]["notReady"] == 1 and data["summary"]["hasChanges"] is False
    assert [c["reason"]["code"] for c in data["resourceChanges"]] == ["not-ready", "no-change"]


def test_a_plan_with_every_resource_ready_renders_as_before() -> None:
    res = deployment(AVAILABLE, PROGRESSED)
    plan = plan_of(*marked((noop(res),), judged(res)))
    text = render_text(plan)
    assert "Not ready" not in text and text.rstrip().splitlines()[-1] == NO_CHANGES
    assert "Not ready" not in render_markdown(plan)
    assert "notReady" not in json.loads(render_json(plan))["summary"]


def test_a_failed_replace_unready_job_is_a_delete_first_replace_and_a_change_keeps_its_reason() -> None:
    failed = {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                              "message": "Job has reached the specified backoff limit"}]}
    job = kube(JOB, "register-churn-1a2b", failed, annotations={"pulumi.com/replaceUnready": "true"})
    res = deployment(AVAILABLE, TIMED_OUT)
    changed = ResourceChange(res.urn, res.type, "scorer", Action.UPDATE,
                             Reason("property-changed", "spec.template can be updated in place"))
    unfinished = ResourceChange(job.urn, job.type, "register-churn-1a2b", Action.REPLACE,
                                Reason("init-error", "the last apply did not finish initializing it"))
    found = judged(job, res)
    replaced, updated = marked((noop(job, "models.churn"), changed), found)
    assert (replaced.action, replaced.reason.code, replaced.delete_before_replace) == (Action.REPLACE, "not-ready", True)
    assert "its provider replaces a pulumi.com/replaceUnready Job that is not complete" in replaced.reason.message
    assert (updated.action, updated.reason.code) == (Action.UPDATE, "property-changed")
    assert updated.reason.message.startswith("spec.template can be updated in place; not ready now: its rollout failed")
    assert marked((unfinished,), found) == (unfinished,)  # initErrors already say it did not become ready
    plan = plan_of(replaced)
    assert plan.has_changes and plan.counts.replace == 1
    assert "  ! models.churn: register-churn-1a2b (kubernetes:batch/v1:Job)  [-/+ planned below]" in render_text(plan)


def test_the_not_ready_mark_is_a_field_that_survives_a_saved_plan_and_no_sentence_sets_it() -> None:
    """The mark is ``ResourceChange.not_ready`` (``"notReady": true`` in JSON, only when set), not a
    phrase of the reason: a message that happens to contain "; not ready now: " (text a provider or a
    user put in a name or an error) marks nothing, and a marked change read back from a saved plan's
    JSON is still marked."""
    res = deployment(AVAILABLE, TIMED_OUT)
    changed = ResourceChange(res.urn, res.type, "scorer", Action.UPDATE,
                             Reason("property-changed", "spec.template can be updated in place"))
    (updated,) = marked((changed,), judged(res))
    assert updated.not_ready and updated.to_json()["notReady"] is True
    assert ResourceChange.from_json(updated.to_json()) == updated
    lookalike = ResourceChange(res.urn, res.type, "scorer", Action.UPDATE,
                               Reason("property-changed", "image 'x; not ready now: y' can be updated in place"))
    assert not lookalike.not_ready and "notReady" not in lookalike.to_json()
    data = json.loads(render_json(plan_of(updated, lookalike)))
    assert data["summary"]["notReady"] == 1
    assert [c.get("notReady") for c in data["resourceChanges"]] == [True, None]
    assert Plan.from_json(data).changes[0].not_ready
