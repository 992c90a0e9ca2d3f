"""After ``pulumi up``: delete the SageMaker models and endpoint configs Pulumi only forgot (finding removal-3).

Why: a canary endpoint's model and config are ``retainOnDelete`` (``compile/aws/serving._kept``: the
old ones still serve while the controller rolls a new version out). When the endpoint leaves the spec
the plan deletes them with ``retained`` set (``plan/planner.py``), and the engine's delete of such a
resource only drops it from the state (pulumi/pulumi ``pkg/resource/deploy/step.go``
``DeleteStep.Apply``: "Deleting a "drop on delete" is a no-op"). Nothing else deletes them: the
rollout driver's ``tidy`` only deletes what it tagged on the endpoint, which is gone. Their names are
hashes of the spec's inputs, so adding the same endpoint back plans the very same names, and SageMaker
refuses a name that exists: "Cannot create already existing model" / "Cannot create already existing
endpoint configuration" (ValidationException, as quoted in astronomer/astronomer-providers#1055 and
awslabs/spot-tagging-bot-for-digital-assets#2), so that ``pulumi up`` would fail.

Contract:
- :func:`forgotten_objects` (pure) lists them from a plan and the prior state it was made against:
  every ``retained`` delete of an ``aws:sagemaker/model:Model`` or
  ``aws:sagemaker/endpointConfiguration:EndpointConfiguration`` whose state has ``retainOnDelete`` (not one
  with ``pendingReplacement``, which an earlier delete-before-replace already deleted: the plan marks its
  state-only removal ``retained`` too, nor one read with ``Resource.get``, ``external``, which is not Pulumi's), with its SageMaker name (the state's
  ``name`` output, else its id) and the names of the endpoints of the same ML item in the prior state
  (the ``aws:sagemaker/endpoint:Endpoint`` resources under the same component).
- :func:`delete_forgotten` runs only after a successful ``pulumi up``. It deletes each object no
  endpoint of its item uses: the in-use check is the rollout driver's
  (``rollout/drivers/sagemaker.endpoint_uses``: the config the endpoint runs, by ``DescribeEndpoint``,
  and that config's models; an endpoint SageMaker cannot find uses nothing). Configs go before models;
  the deletes are the driver's (``delete_kept_entry``: ``DeleteEndpointConfig``/``DeleteModel``, one
  already gone counts as deleted). ``DeleteModel`` removes the model entry only, not its artifacts
  (botocore ``DeleteModel``). An object in use is kept and reported; an error is reported with the
  AWS CLI command that deletes it by hand. Nothing the apply did is undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.plan.model import Plan
from mlops_infra.rollout.drivers.sagemaker import delete_kept_entry, endpoint_uses
from mlops_infra.state.model import PriorState

KINDS = {"aws:sagemaker/endpointConfiguration:EndpointConfiguration": "config", "aws:sagemaker/model:Model": "model"}
"""The retained types this module deletes, as the driver names their kind."""
ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
_BY_HAND = {"config": "aws sagemaker delete-endpoint-config --endpoint-config-name {name}",
            "model": "aws sagemaker delete-model --model-name {name}"}


@dataclass(frozen=True)
class ForgottenObject:
    """A SageMaker model or endpoint config the plan drops from the state but leaves in SageMaker."""

    kind: str
    """``config`` or ``model``."""
    name: str
    """Its SageMaker name."""
    endpoints: tuple[str, ...]
    """The endpoints of its ML item in the prior state (the only ones the compiler points at it)."""

    @property
    def by_hand(self) -> str:
        """The AWS CLI command that deletes it."""
        return _BY_HAND[self.kind].format(name=self.name)


@dataclass
class ForgottenReport:
    """What :func:`delete_forgotten` did."""

    deleted: list[ForgottenObject] = field(default_factory=list)
    in_use: list[ForgottenObject] = field(default_factory=list)
    failed: list[tuple[ForgottenObject, str]] = field(default_factory=list)


def forgotten_objects(plan: Plan, prior: PriorState) -> tuple[ForgottenObject, ...]:
    """The retained models and configs ``plan`` deletes (see the module contract), configs first."""
    found = []
    for change in plan.changes:
        kind = KINDS.get(change.type)
        state = prior.resources.get(change.urn)
        if not (change.retained and kind and state is not None and state.retain_on_delete
                and not state.pending_replacement and not state.external):  # gone, or not Pulumi's: dropped
            continue
        name = state.output("name") or state.id
        if name:
            found.append(ForgottenObject(kind, name, _endpoints_beside(prior, state.parent)))
    return tuple(sorted(found, key=lambda o: (o.kind != "config", o.name)))


def _endpoints_beside(prior: PriorState, parent: str | None) -> tuple[str, ...]:
    return tuple(sorted(r.output("name") or r.id or "" for r in prior.resources.values()
                        if r.type == ENDPOINT_TYPE and parent and r.parent == parent))


def delete_forgotten(sagemaker: Any, objects: Iterable[ForgottenObject]) -> ForgottenReport:
    """Delete each of ``objects`` that no endpoint of its item uses (see the module contract)."""
    report = ForgottenReport()
    uses: dict[str, set[tuple[str, str]]] = {}
    for obj in objects:
        try:
            in_use = set()
            for endpoint in obj.endpoints:
                if endpoint not in uses:
                    uses[endpoint] = endpoint_uses(sagemaker, endpoint)
                in_use |= uses[endpoint]
            if (obj.kind, obj.name) in in_use:
                report.in_use.append(obj)
                continue
            delete_kept_entry(sagemaker, obj.kind, obj.name)
        except Exception as exc:  # reported with what to run by hand; the apply itself stands
            report.failed.append((obj, _message(exc)))
            continue
        report.deleted.append(obj)
    return report


def _message(exc: Exception) -> str:
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    return f"{code}: {message}" if code else str(exc) or type(exc).__name__


def describe(report: ForgottenReport) -> list[str]:
    """Lines for people: what was deleted, what is kept because an endpoint uses it."""
    label = {"config": "endpoint config", "model": "model"}
    lines = [f"Deleted the {label[o.kind]} {o.name}, which Pulumi only forgot (retainOnDelete) when its endpoint "
             f"{', '.join(o.endpoints) or '(none)'} was removed." for o in report.deleted]
    lines += [f"Kept the {label[o.kind]} {o.name}: the endpoint {', '.join(o.endpoints)} still uses it."
              for o in report.in_use]
    return lines


def failure_detail(report: ForgottenReport) -> str:
    """The detail of the error for :attr:`ForgottenReport.failed`: each error and the command to run."""
    return "\n".join(f"{o.name}: {error}. Delete it by hand: `{o.by_hand}`" for o, error in report.failed) + (
        "\nThe apply itself succeeded; until they are deleted, adding the same endpoint back fails at "
        "CreateModel/CreateEndpointConfig (SageMaker refuses a name that exists).")


def after_up(plan: Plan, prior: PriorState, region: str | None, say: Any, sagemaker: Any = None) -> UserError | None:
    """What ``mlops-infra apply`` runs after a successful ``pulumi up``: :func:`delete_forgotten` of
    :func:`forgotten_objects`, each line of :func:`describe` passed to ``say``; the error to raise
    once the apply's own steps are done when a delete failed (None otherwise). No call is made when
    the plan forgets nothing; ``sagemaker`` defaults to a boto3 client for ``region``."""
    objects = forgotten_objects(plan, prior)
    if not objects:
        return None
    if sagemaker is None:
        import boto3

        sagemaker = boto3.client("sagemaker", region_name=region)
    report = delete_forgotten(sagemaker, objects)
    for line in describe(report):
        say(line)
    if not report.failed:
        return None
    return UserError(f"the apply succeeded, but {len(report.failed)} SageMaker object(s) Pulumi left behind could "
                     "not be deleted", failure_detail(report))
