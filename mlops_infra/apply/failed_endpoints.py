"""Right before ``pulumi up``: replace, deleting first, the SageMaker endpoints that failed to be created.

Why: an endpoint whose create did not come into service is in the state with ``initErrors``
(:mod:`mlops_infra.plan.init_errors`). Pulumi's next ``up`` gives it an empty update that neither waits nor
retries (terraform-provider-aws ``internal/service/sagemaker/endpoint.go`` ``resourceEndpointUpdate`` waits only
``if d.HasChanges("endpoint_config_name", "deployment_config")``) and drops the record, while a ``Failed``
endpoint stays failed: "DeleteEndpoint is the only operation that can be performed on a failed endpoint"
(botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``). The init-error reason is no proof that
it failed: a wait that timed out leaves it ``Creating`` (later ``InService``).

Contract:
- :func:`candidates` (pure): each SageMaker endpoint change of the plan (an update, or the replace a refreshed
  plan showed) whose prior state records ``initErrors``, with its SageMaker name (the state's ``name`` output,
  else its id: terraform-provider-aws ``resourceEndpointCreate`` ``d.SetId(name)``).
- :func:`read_failed` reads each with ``DescribeEndpoint`` and returns the URNs whose ``EndpointStatus`` is
  ``Failed`` and a line for each endpoint saying what apply does with it. Only ``Failed`` is replaced:
  ``Creating``, ``InService``, ``Updating`` or any other status keeps Pulumi's update, and an endpoint SageMaker
  cannot find (ValidationException "Could not find endpoint", ``state.aws_live.retry.is_not_found``) is left to
  Pulumi too. An endpoint apply could not read (AccessDenied, throttled past botocore's retries, no answer) is
  never replaced: its line says so, and how to delete a Failed one by hand; the apply goes on.
- :func:`check` is what ``mlops-infra apply`` runs (AWS targets only, after the confirmation): the URNs it passes
  to ``up(replace=...)`` (pulumi/automation ``_stack.py``: ``--replace <urn>`` per URN) and the environment
  (:func:`mlops_infra.program.delete_first.delete_first_env`) that makes the program register exactly those with
  ``deleteBeforeReplace`` for that run. A targeted replace asks no provider and then honours the resource's own
  option (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``: ``diff`` returns a replace for
  ``isTargetedReplace`` without ``DeleteBeforeReplace``; ``continueStepsFromDiff`` takes
  ``goal.DeleteBeforeReplace`` when set); deleting first is needed, the new endpoint keeps the name
  (CreateEndpoint: "The endpoint name must be unique within an Amazon Web Services Region"), and
  terraform-provider-aws ``resourceEndpointDelete`` waits until the endpoint is deleted
  (``WaitUntilEndpointDeletedWithContext``) before the create runs. The client is the apply's AWS session for
  the environment's region (as the post-apply check's), each call bounded (connect 5 s, read 10 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.plan.init_errors import CODE, ENDPOINT, FAILED
from mlops_infra.program.delete_first import delete_first_env
from mlops_infra.state.aws_live.retry import describe_error, is_not_found
from mlops_infra.state.model import PriorState

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Candidate:
    """A SageMaker endpoint change whose prior state records ``initErrors``."""

    urn: str
    name: str
    """Its SageMaker name."""
    address: str
    """The ML item (``endpoints.scorer``), for the lines people read."""


@dataclass
class FailedRead:
    """What :func:`read_failed` found."""

    failed: list[str] = field(default_factory=list)
    """URNs of the endpoints read ``Failed``, in the order given."""
    lines: list[str] = field(default_factory=list)


def candidates(changes: Iterable[Any], prior: PriorState) -> tuple[Candidate, ...]:
    """The endpoints :func:`read_failed` reads (see the module contract), in plan order."""
    found = []
    for change in changes:
        state = prior.resources.get(change.urn)
        if change.type != ENDPOINT or state is None or not state.init_errors:
            continue
        if str(change.action) == "update" or (str(change.action) == "replace" and change.reason.code == CODE):
            name = state.output("name") or state.id
            if name:
                found.append(Candidate(change.urn, str(name), change.address or change.name))
    return tuple(found)


def read_failed(sagemaker: Any, endpoints: Sequence[Candidate]) -> FailedRead:
    """``DescribeEndpoint`` of each endpoint; the ``Failed`` ones (see the module contract)."""
    result = FailedRead()
    for endpoint in endpoints:
        try:
            described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
        except Exception as exc:  # botocore errors: said, never a delete
            result.lines.append(_unread(endpoint, exc))
            continue
        status = described.get("EndpointStatus")
        if status == FAILED:
            why = f" ({described['FailureReason']})" if described.get("FailureReason") else ""
            result.failed.append(endpoint.urn)
            result.lines.append(f"{endpoint.address}: the endpoint {endpoint.name} is Failed{why}: it is deleted and "
                                "created again (`pulumi up --replace`, deleting first)")
        else:
            result.lines.append(f"{endpoint.address}: the endpoint {endpoint.name} is {status}, not Failed: not "
                                "replaced; Pulumi's update clears the init-error record")
    return result


def _unread(endpoint: Candidate, exc: Exception) -> str:
    """The line of an endpoint ``DescribeEndpoint`` did not answer for: not found, or an error (kept as planned)."""
    if is_not_found(exc):
        return f"{endpoint.address}: SageMaker has no endpoint {endpoint.name}; Pulumi's update goes on as planned"
    return (f"{endpoint.address}: could not read the endpoint {endpoint.name} ({describe_error(exc)}): not replaced; "
            "Pulumi's update clears the init-error record. If it is Failed, delete it (`aws sagemaker "
            f"delete-endpoint --endpoint-name {endpoint.name}`), run `pulumi refresh` and apply again")


def check(plan: Any, prior: PriorState, region: str | None, say: Callable[[str], None],
          sagemaker: Any = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """(URNs to ``--replace``, environment for ``up``) of the plan's Failed endpoints (see the module contract);
    no call is made when no endpoint change holds ``initErrors``. ``sagemaker`` defaults to a boto3 client for
    ``region``."""
    endpoints = candidates(plan.changes, prior)
    if not endpoints:
        return (), {}
    if sagemaker is None:
        import boto3
        from botocore.config import Config

        sagemaker = boto3.client("sagemaker", region_name=region, config=Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries={"max_attempts": 3, "mode": "standard"}))
    found = read_failed(sagemaker, endpoints)
    for line in found.lines:
        say(line)
    return tuple(found.failed), delete_first_env(found.failed)
