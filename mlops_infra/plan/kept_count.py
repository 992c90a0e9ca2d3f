"""The instance count a SageMaker variant keeps when its autoscaling is removed (audit autoscale-2).

Contract of :func:`kept_counts` (pure): for each endpoint whose plan deletes its scalable target on
``sagemaker:variant:DesiredInstanceCount`` while the endpoint stays and neither it nor its endpoint config is
created or replaced in this plan, its address and one warning naming the endpoint, the count range the variant
may be at (the prior target's ``minCapacity``..``maxCapacity``), the ``replicas.min`` it will not go back to by
itself, and the command that sets it. The planner adds the warnings to the plan and gives the addresses to the
cost estimate, which prices those endpoints up to the prior max (:func:`mlops_infra.plan.cost.estimate_cost`
``kept``): one rule for both.

Why: deregistering a scalable target deletes its scaling policies and scheduled actions (botocore
application-autoscaling ``DeregisterScalableTarget``) and calls no ``UpdateEndpointWeightsAndCapacities``, so
the variant keeps the ``DesiredInstanceCount`` target tracking last set. Only an ``UpdateEndpoint`` to a new
config re-seeds it from ``InitialInstanceCount`` ("Update endpoints that use auto scaling",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html); a plan that changes the config
does that (Pulumi's update sends no ``RetainAllVariantProperties``; a canary's controller drops the count for a
graph without autoscaling), so it is not warned; nor is an endpoint this plan replaces (a ``rollback_on`` or
strategy change, a Failed endpoint), whose new endpoint starts each variant at ``InitialInstanceCount``
(botocore sagemaker ``ProductionVariant.InitialInstanceCount``: "Number of instances to launch initially";
audit closing-40a-3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.plan.model import Action, ResourceChange
from mlops_infra.state.model import PriorState

TARGET = "aws:appautoscaling/target:Target"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _reseeded(changes: Sequence[ResourceChange]) -> bool:
    """Whether the plan starts the variants again at ``InitialInstanceCount``: the endpoint or its config is
    created or replaced (module contract)."""
    return any(c.type in (ENDPOINT, CONFIG) and c.action in (Action.CREATE, Action.REPLACE) for c in changes)


def kept_counts(changes: Sequence[ResourceChange], prior: PriorState, desired: Mapping[str, Any]) -> dict[str, str]:
    """Address -> warning of each endpoint whose variant keeps an autoscaled count (see the module contract)."""
    by_address: dict[str, list[ResourceChange]] = {}
    for change in changes:
        by_address.setdefault(change.address, []).append(change)
    kept: dict[str, str] = {}
    for change in changes:
        state = prior.resources.get(change.urn)
        if change.type != TARGET or change.action is not Action.DELETE or state is None:
            continue
        inputs = state.inputs
        if inputs.get("scalableDimension") != DIMENSION:
            continue
        others = by_address.get(change.address, [])
        if not any(c.type == ENDPOINT and c.urn in desired for c in others):
            continue  # the endpoint goes too
        if _reseeded(others):
            continue  # a new config or a new endpoint re-seeds the count
        kept[change.address] = _warning(change.address, inputs, _seeded(desired, change.address))
    return kept


def _seeded(desired: Mapping[str, Any], address: str) -> Any:
    """The ``initialInstanceCount`` the desired config of ``address`` declares (``max(1, replicas.min)``)."""
    for res in desired.values():
        if res.type == CONFIG and res.address == address:
            variants = res.inputs.get("productionVariants") or [{}]
            return variants[0].get("initialInstanceCount", "<replicas.min>")
    return "<replicas.min>"


def _warning(address: str, inputs: dict[str, Any], seeded: Any) -> str:
    _, endpoint, _, variant = [*str(inputs.get("resourceId", "")).split("/"), "", "", "", ""][:4]
    low, high = inputs.get("minCapacity"), inputs.get("maxCapacity")
    return (f"{address}: autoscaling is removed, but deregistering the scalable target changes no instance count "
            f"(DeregisterScalableTarget): the variant {variant} of {endpoint} keeps the count Application Auto Scaling "
            f"last set (from {low} to {high}), not replicas.min ({seeded}), until its endpoint config changes (an UpdateEndpoint "
            "re-seeds initialInstanceCount); to set it now: aws sagemaker update-endpoint-weights-and-capacities "
            f"--endpoint-name {endpoint} --desired-weights-and-capacities VariantName={variant},DesiredInstanceCount={seeded}")
