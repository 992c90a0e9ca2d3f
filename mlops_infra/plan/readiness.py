"""Readiness: resources a refreshed plan read live that are not ready, and what to do (``plan --refresh``).

Why: a rollout can fail outside Pulumi (the rollout controller moved an InferenceService to a new
revision, a node pool lost its GPUs, someone ran ``kubectl set image``), and then the state's inputs
still equal the desired ones: a plan of inputs says "No changes" while the system serves nothing new.
The live reads of ``--refresh`` already fetch each object (one ``GET`` per Kubernetes object,
:mod:`mlops_infra.state.kube_live`, which keeps the ``status`` of the kinds judged here in the
reading's ``outputs``; one ``DescribeEndpoint`` per SageMaker endpoint,
:func:`mlops_infra.state.aws_live.sagemaker.map_endpoint`, which keeps ``endpointStatus`` and
``failureReason``), so readiness costs no API call of its own.

Contract of :func:`not_ready` (pure: a :class:`~mlops_infra.state.model.LiveState` in, no I/O):
- ``kubernetes:apps/v1:Deployment``: its ``status.conditions`` (kubernetes ``staging/src/k8s.io/api/
  apps/v1/types.go`` ``DeploymentConditionType``: ``Available`` "the deployment is available, ie. at
  least the minimum available replicas required are up and running for at least minReadySeconds";
  ``Progressing`` "Progress for a deployment is considered when a new replica set is created or adopted,
  and when new pods scale up or old pods scale down"; ``ReplicaFailure`` "is added in a deployment when
  one of its pods fails to be created or deleted"). Not ready when ``Progressing`` is ``False`` (the
  controller gave the rollout up: reason ``ProgressDeadlineExceeded`` once ``spec.progressDeadlineSeconds``
  passed without progress, pulumi-kubernetes ``provider/pkg/await/deployment.go`` reports the same
  condition as ``[ProgressDeadlineExceeded] ReplicaSet ... has timed out progressing.``), when
  ``ReplicaFailure`` is ``True``, or when ``Available`` is ``False`` outside a rollout in progress (a
  rollout is in progress while ``Progressing`` is ``True`` with a reason other than
  ``NewReplicaSetAvailable``: its deadline decides, as pulumi-kubernetes' await does, which is ready only
  at ``Available=True`` and ``Progressing=True``/``NewReplicaSetAvailable``). A status the controller
  has not caught up with (``status.observedGeneration`` below ``metadata.generation``) is in progress.
- ``kubernetes:serving.kserve.io/v1beta1:InferenceService``: the ``Ready`` condition ``False``. KServe
  v0.15 ``pkg/apis/serving/v1beta1/inference_service_status.go``: ``Ready`` is the happy condition of
  the living condition set of ``PredictorReady`` and ``IngressReady`` (``conditionSet``); in Serverless
  mode ``PropagateStatus`` copies the Knative Service's ``Ready`` into ``PredictorReady``
  (``SetCondition`` -> ``MarkFalse``), and knative/pkg ``apis/condition_set.go`` ``MarkFalse`` "sets the
  status of t and the happy condition to False" with t's reason and message (a failed revision:
  knative/serving ``configuration_lifecycle.go`` ``MarkLatestCreatedFailed``: reason
  ``RevisionFailed``, ``Revision "<name>" failed with message: <message>.``). ``Unknown`` (a revision
  still deploying) is in progress. KServe copies ``status.observedGeneration`` from the Knative
  Service or the raw Deployment (``PropagateStatus``, ``PropagateRawStatus``), not the
  InferenceService's own generation, so it is not compared.
- ``kubernetes:batch/v1:Job``: the ``Failed`` condition ``True`` (kubernetes ``batch/v1/types.go``
  ``JobFailed`` "means the job has failed its execution"; reasons such as ``BackoffLimitExceeded``,
  ``DeadlineExceeded``).
- ``aws:sagemaker/endpoint:Endpoint``: ``EndpointStatus`` (botocore sagemaker 2017-07-24
  ``DescribeEndpointOutput.EndpointStatus``) ``Failed`` ("could not be created, updated, or re-scaled
  ... DeleteEndpoint is the only operation that can be performed on a failed endpoint"),
  ``OutOfService`` ("not available to take incoming requests") or ``UpdateRollbackFailed`` ("Both the
  rolling deployment and auto-rollback failed ... in service with a mix of the old and new endpoint
  configurations"); or ``InService`` with a ``FailureReason``: its last update failed and it still
  serves the previous configuration (SageMaker API reference, ``EndpointMetadata.FailureReason``: "If
  the status of the endpoint is Failed, or the status is InService but update operation fails, this
  provides the reason why it failed"). The other statuses (``Creating``, ``Updating``,
  ``SystemUpdating``, ``RollingBack``, ``Deleting``) are in progress.
- In-progress states are not reported: the controller (or SageMaker) is still working, and its own
  deadline turns a stuck rollout into one of the states above. Only resources read live count (one
  missing or unread is drift's or the refresh's business).
- Each :class:`NotReady` carries the live reason: the condition's (or ``FailureReason``'s) text,
  redacted, whitespace collapsed and cut as a Pulumi init error is (:func:`mlops_infra.plan.init_errors.summary`:
  URLs and secret shapes redacted; provider text may quote values), and what to do.

Contract of :func:`marked` (what the plan shows), and why a note, not a planned action: a not-ready
resource is not a change Pulumi makes. Its inputs equal the state's, so ``pulumi up`` diffs nothing and
leaves it as it is (unlike a resource with ``initErrors``, for which the engine plans an update:
:mod:`mlops_infra.plan.init_errors`). So, as drift is its own section and not an action, its change
stays a ``no-op`` (not counted, ``--detailed-exitcode`` unaffected) with the reason :data:`CODE`,
whose message says the live status, the reason and what to do; the renderers list these in a "Not
ready" section. One exception, where Pulumi does act: a ``batch/v1`` Job with
``pulumi.com/replaceUnready: "true"`` (the register Jobs, compile/kubernetes/registry.py) that is not
complete. Its provider's Diff reads the live Job and replaces one that is not ready (pulumi-kubernetes
``provider/pkg/provider/provider.go`` ``Diff``: ``if metadata.ReplaceUnready(newInputs)`` ... ``case
newInputs.GetKind() == "Job"``: ``k.readLiveObject(oldLive)``, ``if !jobChecker.Ready(job)`` adds the
replace key; ``await/checker/job/check.go``: ready is ``Complete=True``), deleting it first (the same
``Diff``: ``deleteBeforeReplace`` when a named object is replaced under the same name and namespace),
so it is a ``replace`` with the reason :data:`CODE`, counted, and the registration runs again. Only a
failed Job is judged: one still running is in progress (its provider would replace it too, but a plan
made while it runs cannot tell whether it completes before ``pulumi up``). A resource that changes
anyway keeps its action and reason, and its message says it is not ready too
(:data:`~mlops_infra.plan.model.NOT_READY_NOW`), so it is counted in ``summary.notReady`` and listed in
the "Not ready" section as well (:func:`~mlops_infra.plan.model.is_not_ready`); one planned because of
its ``initErrors`` (reason ``init-error``) or a SageMaker endpoint read ``Failed`` (reason
``endpoint-failed``: the planner makes it a delete-first replace, :mod:`mlops_infra.plan.init_errors`,
and apply replaces it) already says it did not become ready and is left as it is: so a ``Failed``
endpoint is judged here but never shown as ``not-ready``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mlops_infra.graph import urn_name
from mlops_infra.plan import init_errors
from mlops_infra.plan.model import NOT_READY, NOT_READY_NOW, Action, Reason, ResourceChange
from mlops_infra.state.model import LiveState, StateResource

CODE = NOT_READY
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
JOB = "kubernetes:batch/v1:Job"
ENDPOINT = init_errors.ENDPOINT
JUDGED = frozenset({DEPLOYMENT, INFERENCE_SERVICE, JOB, ENDPOINT})
"""The types whose readiness is judged (:mod:`mlops_infra.state.kube_live` keeps the status of the
Kubernetes ones)."""


@dataclass(frozen=True, slots=True)
class NotReady:
    """One live resource that is not ready: ``state`` in a few words (``the Job failed``), ``why``
    the live reason (redacted), ``todo`` what to do, ``replaced`` when ``pulumi up`` replaces it
    (a ``replaceUnready`` Job that is not complete)."""

    urn: str
    type: str
    state: str
    why: str
    todo: str
    replaced: bool = False

    @property
    def sentence(self) -> str:
        """``<state> (live: <why>)``."""
        return f"{self.state} (live: {self.why})" if self.why else self.state


def not_ready(live: LiveState | None) -> dict[str, NotReady]:
    """URN -> :class:`NotReady` for every resource ``live`` read that is not ready (see the contract)."""
    if live is None:
        return {}
    found: dict[str, NotReady] = {}
    for urn, res in live.resources.items():
        if res.type not in JUDGED:
            continue
        judged = _JUDGES[res.type](res)
        if judged is not None:
            found[urn] = judged
    return found


def marked(changes: Iterable[ResourceChange], found: Mapping[str, NotReady]) -> tuple[ResourceChange, ...]:
    """``changes`` with the not-ready resources of ``found`` said (see the contract): a no-op gets the
    reason :data:`CODE` (a not-complete ``replaceUnready`` Job becomes a delete-first replace), a change
    keeps its action and reason and says it too (one of reason ``init-error`` or ``endpoint-failed`` is left as
    it is)."""
    if not found:
        return tuple(changes)
    out = []
    for change in changes:
        item = found.get(change.urn)
        if item is None or change.reason.code in init_errors.FORCED_CODES:
            out.append(change)
        elif change.action is Action.NOOP and item.replaced:
            out.append(replace(change, action=Action.REPLACE, delete_before_replace=True, not_ready=True, reason=Reason(CODE, (
                f"{change.name}: {item.sentence}; its provider replaces a {init_errors.REPLACE_UNREADY} Job that "
                f"is not complete when `pulumi up` runs, deleting it first, so the Job runs again; {item.todo}"))))
        elif change.action is Action.NOOP:
            out.append(replace(change, not_ready=True, reason=Reason(CODE, (
                f"{change.name}: {item.sentence}; nothing in this plan changes it (its inputs match the last "
                f"apply, so `pulumi up` leaves it as it is): {item.todo}"))))
        else:
            out.append(replace(change, not_ready=True, reason=Reason(
                change.reason.code, f"{change.reason.message}{NOT_READY_NOW}{item.sentence}")))
    return tuple(out)


# -- judges ------------------------------------------------------------------------------------------


def _conditions(status: Any) -> dict[str, dict[str, Any]]:
    """``status.conditions`` by type (the last of a type wins, as a list keyed by type holds one)."""
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return {str(c.get("type")): c for c in conditions or () if isinstance(c, dict) and c.get("type")}


def _said(res: StateResource, condition: Mapping[str, Any]) -> str:
    """``<reason>: <message>`` of a condition, redacted and cut as provider text is."""
    reason, message = str(condition.get("reason") or "").strip(), str(condition.get("message") or "").strip()
    text = f"{reason}: {message}" if reason and message else reason or message
    return init_errors.summary(res.urn, (text,)) if text else ""


def _where(res: StateResource) -> tuple[str, str]:
    """(namespace, name) of a Kubernetes object from its live reading."""
    meta = res.inputs.get("metadata") or {}
    namespace, _, name = str(res.id or "").rpartition("/")
    return str(meta.get("namespace") or namespace or "default"), str(meta.get("name") or name or urn_name(res.urn))


def _deployment(res: StateResource) -> NotReady | None:
    status = res.outputs.get("status")
    observed, generation = (status or {}).get("observedGeneration"), res.outputs.get("generation")
    if isinstance(observed, int) and isinstance(generation, int) and observed < generation:
        return None  # the controller has not seen the current spec yet: in progress
    conditions = _conditions(status)
    progressing, available, failure = (conditions.get(t) for t in ("Progressing", "Available", "ReplicaFailure"))
    namespace, name = _where(res)
    describe = f"`kubectl -n {namespace} describe deployment {name}` and its pods' events show why"
    if progressing is not None and progressing.get("status") == "False":
        state = ("its rollout failed: the new ReplicaSet did not become available within progressDeadlineSeconds"
                 if progressing.get("reason") == "ProgressDeadlineExceeded" else "its rollout stopped progressing")
        return NotReady(res.urn, res.type, state, _said(res, progressing), (
            f"{describe} (an image that cannot be pulled, pods that crash or cannot be scheduled); fix the cause "
            "and apply, or undo the change made outside mlops-infra"))
    if failure is not None and failure.get("status") == "True":
        return NotReady(res.urn, res.type, "a pod could not be created", _said(res, failure), (
            f"{describe} (a ResourceQuota or a policy refusing its pods); fix what refuses them"))
    rolling = (progressing is not None and progressing.get("status") == "True"
               and progressing.get("reason") != "NewReplicaSetAvailable")
    if available is not None and available.get("status") == "False" and not rolling:
        return NotReady(res.urn, res.type, "not available: fewer replicas are available than it needs",
                        _said(res, available), f"{describe} (pods that crash, fail their readiness probe or lost "
                                               "their node)")
    return None


def _inference_service(res: StateResource) -> NotReady | None:
    ready = _conditions(res.outputs.get("status")).get("Ready")
    if ready is None or ready.get("status") != "False":
        return None
    namespace, name = _where(res)
    return NotReady(res.urn, res.type, "not ready: its Ready condition is False", _said(res, ready), (
        f"`kubectl -n {namespace} describe inferenceservice {name}` shows its conditions and the revision "
        "that failed (an image or model that cannot be loaded, no capacity for its GPUs); fix the cause and "
        "apply, or roll back the version"))


def _job(res: StateResource) -> NotReady | None:
    conditions = _conditions(res.outputs.get("status"))
    failed = conditions.get("Failed")
    if failed is None or failed.get("status") != "True":
        return None
    namespace, name = _where(res)
    logs = f"`kubectl -n {namespace} logs job/{name}` shows why"
    if init_errors.replaces_unready(res.type, res.inputs):
        return NotReady(res.urn, res.type, "the Job failed", _said(res, failed), logs, replaced=True)
    return NotReady(res.urn, res.type, "the Job failed", _said(res, failed), (
        f"{logs}; a Job never runs again: delete it (`kubectl -n {namespace} delete job {name}`) and run "
        "`pulumi refresh`, and the next apply creates it again"))


_ENDPOINT_STATES = {
    "OutOfService": ("the endpoint is OutOfService: not available to take incoming requests",
                     "it serves nothing until it is InService again"),
    "UpdateRollbackFailed": ("the endpoint is UpdateRollbackFailed: both its rolling deployment and the rollback failed, and it "
                             "serves a mix of the old and new endpoint configurations",
                             "restore it to InService as SageMaker's Rolling Deployments guide says "
                             "(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-rolling.html)"),
}
"""Statuses that are not ready (besides ``Failed``) -> (the state, what to do after describing it)."""


def _endpoint(res: StateResource) -> NotReady | None:
    status = res.outputs.get("endpointStatus")
    reason = str(res.outputs.get("failureReason") or "").strip()
    why = init_errors.summary(res.urn, (reason,)) if reason else ""
    name = res.inputs.get("name") or res.id or urn_name(res.urn)
    describe = f"`aws sagemaker describe-endpoint --endpoint-name {name}` shows it"
    if status == "Failed":
        return NotReady(res.urn, res.type, "the endpoint is Failed", why, (
            "a Failed endpoint accepts only DeleteEndpoint and serves nothing: delete it (`aws sagemaker "
            f"delete-endpoint --endpoint-name {name}`), run `pulumi refresh`, and apply creates it again"))
    if status in _ENDPOINT_STATES:
        state, todo = _ENDPOINT_STATES[str(status)]
        return NotReady(res.urn, res.type, state, why, f"{describe}; {todo}")
    if status == "InService" and why:
        return NotReady(res.urn, res.type, "in service, but its last update failed and it still runs its "
                                           "previous configuration", why, (
            f"{describe}; fix the cause (an image, a model, capacity for its instances) and apply or roll out "
            "again"))
    return None


_JUDGES = {DEPLOYMENT: _deployment, INFERENCE_SERVICE: _inference_service, JOB: _job, ENDPOINT: _endpoint}
