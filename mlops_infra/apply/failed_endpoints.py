"""Right before ``pulumi up``: replace, deleting first, the SageMaker endpoints that failed to be created, and leave
out of the ``up`` those still being created, so that their state keeps its record until they end.

Why: an endpoint whose create did not come into service is in the state with ``initErrors``
(:mod:`mlops_infra.plan.init_errors`). Pulumi's next ``up`` gives it an empty update that neither waits nor
retries (terraform-provider-aws ``internal/service/sagemaker/endpoint.go`` ``resourceEndpointUpdate`` waits only
``if d.HasChanges("endpoint_config_name", "deployment_config")``) and drops the record, while a ``Failed``
endpoint stays failed: "DeleteEndpoint is the only operation that can be performed on a failed endpoint"
(botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``). The init-error reason is no proof that
it failed: a wait that timed out leaves it ``Creating`` (later ``InService``).

Contract:
- :func:`candidates` (pure): each SageMaker endpoint change of the plan whose prior state records ``initErrors``
  (an update, or the replace a refreshed plan showed), and each the refreshed plan replaces because it read it
  ``Failed`` without that record (reason :data:`~mlops_infra.plan.init_errors.FAILED_CODE`, ``endpoint-failed``:
  a record an earlier update cleared, ``planner._unfinished``), with its SageMaker name (the state's ``name`` output, else its id:
  terraform-provider-aws ``resourceEndpointCreate`` ``d.SetId(name)``) and, given the desired graph, the URNs
  that depend on it (:func:`dependents`).
- :func:`read_failed` reads each with ``DescribeEndpoint`` and returns the URNs whose ``EndpointStatus`` is
  ``Failed`` and a line for each endpoint saying what apply does with it. Only ``Failed`` is replaced.
  An endpoint still in progress (:data:`IN_PROGRESS`: ``Creating`` - CreateEndpoint is executing -, ``Updating``,
  ``SystemUpdating``; botocore sagemaker 2017-07-24 ``DescribeEndpointOutput.EndpointStatus``) has no outcome
  yet: it ends ``InService`` or ``Failed`` (the ``EndpointInService`` waiter, botocore ``waiters-2.json``:
  success ``InService``, failure ``Failed``), and Pulumi's empty update would succeed at once and drop
  ``initErrors`` (audit closing-36a-1), the only record that makes a later plan or apply look at it. So it is
  left out of this ``up`` with its dependents (``excluded``), and its line says so and to apply again once it
  is ``InService`` or ``Failed``. The same for an endpoint apply could not read (AccessDenied, throttled past
  botocore's retries, no answer): never replaced, never updated, its line says so. ``InService`` or any other
  status keeps Pulumi's update (it clears the record: the endpoint serves, or its state is for a person to
  judge), and an endpoint SageMaker cannot find (ValidationException "Could not find endpoint",
  ``state.aws_live.retry.is_not_found``) is left to Pulumi too.
- Leaving out: ``Stack.up(exclude=[urn], exclude_dependents=True)`` (pulumi 3.272.0 ``automation/_stack.py``:
  ``--exclude <urn>`` per URN, ``--exclude-dependents``). An excluded resource keeps its state record as it
  is, ``initErrors`` included: pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``generateSteps``
  (``isTargeted = sg.isIncludedInOperation(new)``, false for an excluded URN and, with ``ExcludeDependents``,
  for each resource depending on one, ``isExcludedFromUpdate``) emits for it, unDiffed, ``new := old.Copy()``
  and ``NewUntargetedSameStep``, and ``pkg/resource/state.go`` ``Copy`` keeps ``InitErrors:
  slices.Clone(s.InitErrors)``. ``--exclude`` cannot be given with ``--target`` (``pkg/cmd/pulumi/operations/
  up.go``: ``cmd.MarkFlagsMutuallyExclusive("target", "exclude")``): in a targeted ``up`` (phase 1 of an
  ordered apply) whatever is not targeted is such a SameStep already, so the caller only keeps the left-out
  URNs out of the targets (:func:`mlops_infra.apply.engine.up`, ``cli/commands/apply.py``).
- :func:`check` is what ``mlops-infra apply`` runs (AWS targets only, after the confirmation): a
  :class:`Decision`, the URNs it passes to ``up(exclude=...)`` and to ``up(replace=...)`` (pulumi/automation ``_stack.py``: ``--replace <urn>`` per URN) and the environment
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
from typing import Any, NamedTuple

from mlops_infra.plan.init_errors import ENDPOINT, FAILED, FORCED_CODES, IN_PROGRESS
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
    dependents: tuple[str, ...] = ()
    """The desired graph's resources that depend on it (:func:`dependents`): left out with it."""


@dataclass
class FailedRead:
    """What :func:`read_failed` found."""

    failed: list[str] = field(default_factory=list)
    """URNs of the endpoints read ``Failed``, in the order given."""
    lines: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    """URNs of the endpoints left out of this ``up`` (still in progress, or not read), in the order given."""


class Decision(NamedTuple):
    """What :func:`check` decided for this ``up``."""

    replace: tuple[str, ...]
    """Endpoints read ``Failed``: ``up(replace=...)``."""
    env: dict[str, str]
    """The environment that registers them deleting first."""
    exclude: tuple[str, ...]
    """Endpoints left out, with their dependents: ``up(exclude=..., exclude_dependents=True)``."""


def dependents(graph: Any, urns: Iterable[str]) -> tuple[str, ...]:
    """The URNs of ``graph``'s resources that depend on any of ``urns``, directly or transitively (parent,
    ``dependencies``, provider), in graph order, ``urns`` left out: the set ``--exclude-dependents`` leaves out
    with them (``step_generator.go`` ``isExcludedFromUpdate`` follows the new registration's provider and
    ``GetAllDependencies``: parent, dependencies, property dependencies, deletedWith, replaceWith; the program
    registers a resource's refs as its ``dependencies`` and sets neither of the last two, as
    :mod:`mlops_infra.state.dependents` says of the state)."""
    out = set(urns)
    found: list[str] = []
    grew = True
    while grew:  # the graph is sorted by URN, not by dependency: passes until nothing is added
        grew = False
        for res in graph.resources:
            if res.urn not in out and (res.parent in out or res.provider in out
                                       or any(dep in out for dep in res.dependencies)):
                out.add(res.urn)
                found.append(res.urn)
                grew = True
    order = {res.urn: index for index, res in enumerate(graph.resources)}
    return tuple(sorted(found, key=lambda urn: order.get(urn, len(order))))


def candidates(changes: Iterable[Any], prior: PriorState, graph: Any = None) -> tuple[Candidate, ...]:
    """The endpoints :func:`read_failed` reads (see the module contract), in plan order; with ``graph``, each with
    its :func:`dependents`."""
    found = []
    for change in changes:
        state = prior.resources.get(change.urn)
        if change.type != ENDPOINT or state is None:
            continue
        refreshed_failed = str(change.action) == "replace" and change.reason.code in FORCED_CODES
        if refreshed_failed or (state.init_errors and str(change.action) == "update"):
            name = state.output("name") or state.id
            if name:
                found.append(Candidate(change.urn, str(name), change.address or change.name,
                                       dependents(graph, [change.urn]) if graph is not None else ()))
    return tuple(found)


def read_failed(sagemaker: Any, endpoints: Sequence[Candidate]) -> FailedRead:
    """``DescribeEndpoint`` of each endpoint; the ``Failed`` ones (see the module contract)."""
    result = FailedRead()
    for endpoint in endpoints:
        try:
            described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
        except Exception as exc:  # botocore errors: said, never a delete
            if not is_not_found(exc):
                result.excluded.append(endpoint.urn)
            result.lines.append(_unread(endpoint, exc))
            continue
        status = described.get("EndpointStatus")
        if status == FAILED:
            why = f" ({described['FailureReason']})" if described.get("FailureReason") else ""
            result.failed.append(endpoint.urn)
            result.lines.append(f"{endpoint.address}: the endpoint {endpoint.name} is Failed{why}: it is deleted and "
                                "created again (`pulumi up --replace`, deleting first)")
        elif status in IN_PROGRESS:
            result.excluded.append(endpoint.urn)
            result.lines.append(f"{endpoint.address}: the endpoint {endpoint.name} is still {status}: "
                                f"{_left_out(endpoint)}; apply again when it is InService or Failed")
        else:
            result.lines.append(f"{endpoint.address}: the endpoint {endpoint.name} is {status}, not Failed: not "
                                "replaced; Pulumi's update clears the init-error record")
    return result


def _left_out(endpoint: Candidate) -> str:
    count = len(endpoint.dependents)
    return (f"left out of this apply with its {count} dependent{'' if count == 1 else 's'} (`pulumi up --exclude`), "
            "so the state keeps its record")


def _unread(endpoint: Candidate, exc: Exception) -> str:
    """The line of an endpoint ``DescribeEndpoint`` did not answer for: not found (kept as planned), or an error
    (left out)."""
    if is_not_found(exc):
        return f"{endpoint.address}: SageMaker has no endpoint {endpoint.name}; Pulumi's update goes on as planned"
    return (f"{endpoint.address}: could not read the endpoint {endpoint.name} ({describe_error(exc)}): "
            f"{_left_out(endpoint)}; apply again once it can be read (a Failed one is then replaced; by hand: `aws "
            f"sagemaker delete-endpoint --endpoint-name {endpoint.name}`, `pulumi refresh`)")


def check(plan: Any, prior: PriorState, region: str | None, say: Callable[[str], None],
          sagemaker: Any = None, graph: Any = None) -> Decision:
    """The :class:`Decision` for the plan's endpoints (see the module contract); no call is made when no
    endpoint is a candidate. ``sagemaker`` defaults to a boto3 client for ``region``; ``graph`` (the desired
    graph) counts each left-out endpoint's dependents for its line."""
    endpoints = candidates(plan.changes, prior, graph)
    if not endpoints:
        return Decision((), {}, ())
    if sagemaker is None:
        import boto3
        from botocore.config import Config

        sagemaker = boto3.client("sagemaker", region_name=region, config=Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries={"max_attempts": 3, "mode": "standard"}))
    found = read_failed(sagemaker, endpoints)
    for line in found.lines:
        say(line)
    return Decision(tuple(found.failed), delete_first_env(found.failed), tuple(found.excluded))
