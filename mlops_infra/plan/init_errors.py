"""A resource the last apply made but did not finish initializing (Pulumi's ``initErrors``), in plan terms.

Why: when a provider's create or update made the resource but its wait for it failed, the engine
records the resource with the NEW inputs and the provider's reasons as ``initErrors``
(pulumi/pulumi ``pkg/resource/deploy/step.go``, ``CreateStep``/``UpdateStep.Apply`` on
``resource.StatusPartialFailure``: ``s.new.InitErrors = initErr.Reasons``; the reasons come from the
provider's ``ErrorResourceInitFailed`` detail, ``pkg/resource/plugin/provider_plugin.go``
``parseError``). The inputs then equal the desired ones, so a diff of inputs finds nothing, but the
engine does not leave it there: "If resource was unchanged, but there were initialization errors,
generate an empty update step to attempt to 'continue' awaiting initialization"
(``pkg/resource/deploy/step_generator.go``, ``if hasInitErrors { ... NewUpdateStep(...) }``). Both
targets record them:

- pulumi-kubernetes ``provider/pkg/provider/provider.go`` Create and Update: an await that fails after
  the API server took the object returns ``partialError(...)`` ("... failed to fully initialize or
  become live: %w"), whose reasons are that message and the await's sub-errors (a Deployment that
  never became available, a Job that ended ``[BackoffLimitExceeded]``).
- the Terraform bridge behind pulumi-aws, ``pkg/tfbridge/provider.go`` Create and Update: an apply that
  returns a new state (with an id) and an error ends in ``initializationError(newstate.ID(), ...)``
  with the reason ``creating <urn>: <error>``; terraform-provider-aws
  ``internal/service/sagemaker/endpoint.go`` ``resourceEndpointCreate`` sets the id before it waits
  for ``InService``, so an endpoint that failed to come into service is such a resource.

Contract:
- :data:`CODE` is the plan reason (``plan/model.REASON_CODES``) of a resource planned only because
  of its ``initErrors``: an update (the engine's empty update, which waits again) counted as a change,
  so ``apply`` runs ``pulumi up``.
- :func:`summary` is what a plan shows of the reasons: the first one, without the provider's prefix
  that only names the resource, then the first detail the provider added, URLs and secret shapes
  redacted as other Pulumi text is (``apply/engine._pulumi_says``), whitespace collapsed, cut to
  :data:`MAX_CHARS`. Provider text can quote values: never shown otherwise.
- :func:`replaces_unready`: a Kubernetes Job carrying ``pulumi.com/replaceUnready: "true"``. Its
  provider's Diff replaces a Job that is not ready (provider.go ``Diff``:
  ``if metadata.ReplaceUnready(newInputs)`` ... ``case newInputs.GetKind() == "Job"``: ``if
  !jobChecker.Ready(job)`` adds the replace key ``.metadata.annotations["pulumi.com/replaceUnready"]``),
  and a Job whose wait failed was not ready; the plan shows it replaced, deleting first (provider.go:
  a named object replaced under the same name and namespace is deleted before the replacement).
- :func:`forced` names the resources with ``initErrors`` that apply makes Pulumi replace (``pulumi up --replace
  <urn>``, Automation API ``Stack.up(replace=[...])``, ``pulumi/automation/_stack.py``; pulumi/pulumi
  ``step_generator.go`` ``isTargetedReplace``): a ``replaceUnready`` Job. Its provider replaces it only if the
  live Job is not complete when ``up`` runs (provider.go ``Diff``: ``if !jobChecker.Ready(job)``), which a plan
  cannot know; forced, the plan's "the Job runs again" is what happens. A targeted replace asks no provider
  (``step_generator.go`` ``diff``: ``if sg.isTargetedReplace(urn, old)`` returns a replace without
  ``DeleteBeforeReplace``), so the Job deletes first by its own option (compile/kubernetes/registry.py).
- A SageMaker endpoint (:data:`ENDPOINT`): the engine's empty update does not wait for it. The bridge's Update
  (``pkg/tfbridge/provider.go``) applies an empty diff, and terraform-provider-aws
  ``internal/service/sagemaker/endpoint.go`` ``resourceEndpointUpdate`` calls ``UpdateEndpoint`` and waits only
  ``if d.HasChanges("endpoint_config_name", "deployment_config")``, so the update succeeds at once and the engine
  drops the record; a ``Failed`` endpoint stays failed ("DeleteEndpoint is the only operation that can be
  performed on a failed endpoint", botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``).
  So ``apply`` reads each such endpoint (``DescribeEndpoint``) right before ``pulumi up`` and replaces the
  ``Failed`` ones, deleting first (:mod:`mlops_infra.apply.failed_endpoints`); an endpoint in any other state
  (``Creating``, ``InService``, ``Updating``...) keeps the engine's update. The reason (the init-error reason
  alone is no proof: a wait that timed out leaves it ``Creating`` or ``InService``):

  * without a live reading (:func:`endpoint_status` None): an update whose reason says the update neither waits
    nor retries and that apply checks the endpoint and replaces it, deleting first, if it is ``Failed``
    (:func:`endpoint_reason`);
  * with ``plan --refresh``'s reading ``Failed`` (:func:`failed_endpoint`): a replace that deletes first
    (``planner._delete_first``: apply registers ``deleteBeforeReplace`` for it in that run). Deleting first is
    the only order that works (CreateEndpoint: "The endpoint name must be unique within an Amazon Web Services
    Region in your Amazon Web Services account", botocore ``CreateEndpoint``) and costs nothing: the endpoint
    serves nothing (:data:`FAILED_NOTE` replaces the outage line under it). terraform-provider-aws
    ``resourceEndpointDelete`` waits (``WaitUntilEndpointDeletedWithContext``) before the create starts;
  * with a reading in another state: the update, and the reason says the endpoint is not ``Failed``; one still
    in progress (:data:`IN_PROGRESS`) is left out of apply's ``up`` with its dependents until it is
    ``InService`` or ``Failed``, so its record stays (:mod:`mlops_infra.apply.failed_endpoints`, audit
    closing-36a-1), and the reason says that instead of the update.

  An endpoint ``plan --refresh`` reads ``Failed`` whose state records no ``initErrors`` (an earlier update
  cleared it, or an update failed it: "Endpoint could not be created, updated, or re-scaled", botocore
  ``EndpointStatus``) is the same delete-first replace, reason :data:`FAILED_CODE` (``planner._failed_endpoint``;
  :data:`CODE` keeps meaning "the state records initErrors"), and apply reads it again before it replaces it; offline nothing shows it (the state says nothing).

  The up that failed it registered none of its dependents (``step.go`` ``CreateStep.Apply``: with the init
  error "let the Fail method handle the registration", so the program never gets its outputs); dependents from
  before would be replaced first where the delete forces it (``step_generator.go``
  ``calculateDependentReplacements``).
  Other resources (a Deployment: pulumi-kubernetes Update awaits again) keep the engine's empty update.
- :func:`forced_replaces` is the URNs of a plan's changes that are such forced replaces, but a SageMaker
  endpoint's: what apply passes to ``up(replace=...)``, with the endpoints apply finds ``Failed`` itself (a saved
  refreshed plan's replace is never trusted for them: apply reads the endpoint again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mlops_infra.secrets.scan import redact
from mlops_infra.secrets.urls import redact_url

CODE = "init-error"
FAILED_CODE = "endpoint-failed"
"""The plan reason of a SageMaker endpoint ``plan --refresh`` read ``Failed`` whose state records no
``initErrors`` (see the module contract): the same delete-first replace as :data:`CODE`'s."""
FORCED_CODES = (CODE, FAILED_CODE)
"""Reasons of the replaces apply forces (``pulumi up --replace``): a targeted replace asks no provider."""
MAX_CHARS = 240
REPLACE_UNREADY = "pulumi.com/replaceUnready"
"""pulumi-kubernetes ``provider/pkg/metadata/annotations.go`` ``AnnotationReplaceUnready``, read with
``IsAnnotationTrue`` (``overrides.go`` ``ReplaceUnready``)."""

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
"""pulumi-aws's SageMaker endpoint (terraform-provider-aws ``aws_sagemaker_endpoint``)."""
FAILED = "Failed"
"""``DescribeEndpointOutput.EndpointStatus`` of an endpoint that accepts only DeleteEndpoint (botocore sagemaker
2017-07-24 shape ``EndpointStatus``)."""
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating")
"""``EndpointStatus`` values of an endpoint whose create or update is still running, so neither ``InService`` nor
``Failed`` yet (botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``: "Creating:
CreateEndpoint is executing", "Updating: UpdateEndpoint or UpdateEndpointWeightsAndCapacities is executing",
"SystemUpdating: Endpoint is undergoing maintenance")."""
STATUS_OUTPUT = "endpointStatus"
"""Where a live reading keeps ``EndpointStatus`` (``state/aws_live/sagemaker.map_endpoint``; pulumi-aws has no such
output, so a state never carries it)."""
FAILED_NOTE = ("deleted before the new one is created: it is Failed and serves nothing, so nothing is lost "
               "meanwhile (the name must be free for the create)")
"""The line under a Failed endpoint's delete-first replace, instead of the outage line (``render/common.py``)."""

_KUBE_PREFIX = re.compile(
    r'^(?:resource ".*?" was successfully created, but the Kubernetes API server reported that it'
    r'|the Kubernetes API server reported that ".*?") failed to fully initialize or become live: ')
"""pulumi-kubernetes provider.go: Create's and Update's ``partialError`` messages, up to the await's error."""
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_SPACE = re.compile(r"\s+")


def summary(urn: str, reasons: tuple[str, ...]) -> str:
    """The first reason and its first detail, without the prefix naming the resource, redacted and
    shortened (see the module contract); ``no reason recorded`` for an empty list."""
    if not reasons:
        return "no reason recorded"
    first = _own(urn, reasons[0])
    details = [r for r in reasons[1:] if r.strip() and r.strip() not in first]
    text = f"{first}; {details[0]}" if details else first
    more = len(details) - 1
    text = _SPACE.sub(" ", _URL.sub(lambda m: redact_url(m.group(0)), text)).strip()
    text = redact(text)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS - 3].rstrip() + "..."
    return text + (f" (+{more} more)" if more > 0 else "")


def _own(urn: str, reason: str) -> str:
    """``reason`` without what only names the resource: the bridge's ``creating <urn>: `` or
    ``updating <urn>: `` (tfbridge ``errors.Wrapf(err, "creating %s", urn)``), pulumi-kubernetes'
    "... failed to fully initialize or become live: "."""
    text = reason.strip()
    for verb in ("creating", "updating"):
        text = text.removeprefix(f"{verb} {urn}: ")
    return _KUBE_PREFIX.sub("", text, count=1)


def replaces_unready(type_: str, inputs: dict[str, Any]) -> bool:
    """Whether the provider replaces this object while it is not ready: a ``batch/v1`` Job whose
    ``pulumi.com/replaceUnready`` annotation is ``"true"`` (``annotations.go`` ``IsAnnotationTrue``:
    ``value == AnnotationTrue``, exactly that string)."""
    if type_ != "kubernetes:batch/v1:Job":
        return False
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(REPLACE_UNREADY)
    return value == "true"


def forced(type_: str, inputs: dict[str, Any]) -> bool:
    """Whether a resource of this type and inputs holding ``initErrors`` is replaced with ``pulumi up --replace``
    (see the module contract): a Job :func:`replaces_unready`."""
    return replaces_unready(type_, inputs)


def forced_replaces(changes: Iterable[Any]) -> tuple[str, ...]:
    """The URNs of ``changes`` (``plan/model.ResourceChange``) planned as a replace because of ``initErrors``
    (reason :data:`CODE`), in plan order, but SageMaker endpoints (apply reads those itself): the ``--replace``
    list of apply's ``pulumi up``."""
    return tuple(c.urn for c in changes if str(c.action) == "replace" and c.reason.code == CODE
                 and c.type != ENDPOINT)


def endpoint_status(live: Any, urn: str) -> str | None:
    """``EndpointStatus`` of ``urn`` in a live reading (``state.model.LiveState``), None without a reading of it."""
    if live is None:
        return None
    found = live.resources.get(urn)
    status = found.output(STATUS_OUTPUT) if found is not None else None
    return status if isinstance(status, str) and status else None


def failed_endpoint(type_: str, status: str | None) -> bool:
    """Whether a resource with ``initErrors`` is a SageMaker endpoint read ``Failed``: replaced, deleting first."""
    return type_ == ENDPOINT and status == FAILED


def endpoint_reason(name: Any, status: str | None, changed: bool = False) -> str:
    """What the plan says of a SageMaker endpoint with ``initErrors`` after the provider's reason (see the module
    contract), by its live ``status`` (None: not read); ``changed``: its inputs change too (its update is no empty
    one, but UpdateEndpoint fails on a Failed endpoint all the same)."""
    replaced = ("deletes it and creates it again (`pulumi up --replace`, deleting first; by hand: `aws sagemaker "
                f"delete-endpoint --endpoint-name {name}`, then `pulumi refresh`)")
    if status == FAILED:
        return f"it is Failed (DescribeEndpoint), and a Failed endpoint accepts only DeleteEndpoint: apply {replaced}"
    unchanged = "" if changed else ("Pulumi's update of an unchanged endpoint neither waits nor retries, it only "
                                    "clears this record; ")
    if status in IN_PROGRESS:
        return (f"it is {status} (DescribeEndpoint), not Failed: apply leaves it and its dependents out until it is "
                "InService or Failed")
    if status is not None:
        return f"{unchanged}it is {status} (DescribeEndpoint), not Failed, so apply does not replace it"
    return (f"{unchanged}a Failed endpoint accepts only DeleteEndpoint, so apply reads it first (DescribeEndpoint) "
            f"and, if it is Failed, {replaced}; `plan --refresh` reads it too")


def delete_first_note(change: Any) -> str | None:
    """:data:`FAILED_NOTE` for a Failed endpoint's replace (``ResourceChange``: a delete-first replace of an
    :data:`ENDPOINT` with reason :data:`CODE` or :data:`FAILED_CODE`), None for any other change."""
    if str(change.action) == "replace" and change.delete_before_replace and change.reason.code in FORCED_CODES \
            and change.type == ENDPOINT:
        return FAILED_NOTE
    return None
