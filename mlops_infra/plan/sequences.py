"""Changes AWS only accepts in a given order, which one ``pulumi up`` cannot express (finding A3).

AWS, "Update endpoints that use auto scaling"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-update.html): "If you are
updating an endpoint that has automatic scaling applied, complete the following steps: 1. Deregister
the endpoint as a scalable target. 2. ... update the endpoint. 3. Register the endpoint as a
scalable target" -- needed "when ... changing the instance type of a production variant configured
with auto scaling [or] removing a production variant configured with auto scaling"; otherwise
"the update fails". In a Pulumi graph the scalable target depends on the endpoint (Application
Auto Scaling only registers a variant that exists), so the engine updates the endpoint first and
never deregisters: the update would fail.

Contract of :func:`order_autoscaling` (pure): for every endpoint whose ``UpdateEndpoint`` (an
UPDATE of the endpoint resource) moves a variant that has a scalable target in the prior state to
another instance type, or drops that variant, it

- turns the scalable target's and scaling policy's changes into REPLACE with delete-before-replace
  (or keeps a DELETE when autoscaling goes away), reason ``deregister-first``;
- returns a :class:`ChangeSequence`: ``deregister`` (policy, target), ``update`` (the new
  configuration and model, the endpoint), ``register`` (target, policy) when the graph still has
  them. ``mlops-infra apply`` runs the ``deregister`` step as its own targeted ``pulumi up`` whose
  program leaves those resources out (``$MLOPS_INFRA_PHASE_OMIT``, :func:`phase_one_urns`), then the
  whole graph (:mod:`mlops_infra.apply.sequences`).

An endpoint whose config the rollout controller switches (a canary: the endpoint ignores changes to
``endpointConfigName``, ``compile/aws/serving.py``) is not updated by ``pulumi up``: Pulumi creates
the new model and config, and the controller's last step lands the config, deregistering the
variant's scalable target before and registering it again after
(``mlops_infra.rollout.drivers.sagemaker``, ``_finish``). For such an endpoint the sequence has
``runner="rollout"``, the autoscaling changes are left as they are, and :func:`phase_one_urns`
leaves it out. When the desired graph drops the endpoint's autoscaling, the sequence is the update alone:
Pulumi deletes the target and policy in the apply, before the controller's pass, and the controller's finish
makes no Application Auto Scaling call for a graph that declares none (``rollout/drivers/sagemaker.py``
``_finish``; audit autoscale-7: the plan said it would register the target again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.model import Action, ChangeSequence, Reason, ResourceChange, SequenceStep
from mlops_infra.state.model import PriorState

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
MODEL = "aws:sagemaker/model:Model"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-update.html"


@dataclass(frozen=True, slots=True)
class _Side:
    """One endpoint's serving resources on one side (desired or prior), by type."""

    by_type: dict[str, list[Any]]

    def one(self, type_: str) -> Any | None:
        found = self.by_type.get(type_) or []
        return found[0] if len(found) == 1 else None


def _variants(config: Any) -> dict[str, str]:
    """Variant name -> instance type of a config's inputs."""
    variants = (config.inputs.get("productionVariants") if config is not None else None) or []
    return {v.get("variantName"): v.get("instanceType") for v in variants if isinstance(v, dict)}


_SEQUENCED = frozenset({CONFIG, ENDPOINT, TARGET, POLICY, MODEL})


def _sides(graph: DesiredGraph, prior: PriorState, changes: Sequence[ResourceChange]) -> dict[str, tuple[_Side, _Side]]:
    address_of = {c.urn: c.address for c in changes}
    desired: dict[str, dict[str, list[Any]]] = {}
    before: dict[str, dict[str, list[Any]]] = {}
    for res in graph.resources:
        if res.type in _SEQUENCED:
            desired.setdefault(res.address, {}).setdefault(res.type, []).append(res)
    for urn, res in prior.resources.items():
        if res.type in _SEQUENCED and address_of.get(urn):
            before.setdefault(address_of[urn], {}).setdefault(res.type, []).append(res)
    return {a: (_Side(desired.get(a, {})), _Side(sides)) for a, sides in before.items()}


def _moved_variant(after: _Side, before: _Side) -> tuple[str, str, str | None] | None:
    """(variant, old instance, new instance or None when dropped) of the autoscaled variant, or None."""
    target = before.one(TARGET)
    if target is None:
        return None
    variant = str(target.inputs.get("resourceId", "")).rpartition("/variant/")[2]
    old = _variants(before.one(CONFIG)).get(variant)
    if old is None:
        return None
    new_variants = _variants(after.one(CONFIG))
    new = new_variants.get(variant)
    return (variant, old, new) if new != old else None


def order_autoscaling(graph: DesiredGraph, prior: PriorState, changes: Sequence[ResourceChange]
                      ) -> tuple[tuple[ChangeSequence, ...], tuple[ResourceChange, ...]]:
    """(the sequences, ``changes`` with the autoscaling resources replaced first) -- see the contract.
    A prior state with no resources (a first plan) has no endpoint to sequence: ``changes`` as they are."""
    if not prior.resources:
        return (), tuple(changes)
    actions = {c.urn: c for c in changes}
    sequences: list[ChangeSequence] = []
    rewritten: dict[str, ResourceChange] = {}
    for address, (after, before) in sorted(_sides(graph, prior, changes).items()):
        endpoint = before.one(ENDPOINT)
        if endpoint is None:
            continue
        by_controller = _controller_switched(after) and bool(_changes(actions, after, CONFIG))
        change = actions.get(endpoint.urn)
        if not by_controller and (change is None or change.action is not Action.UPDATE):
            continue  # no sequence, whatever the variant does (asked first: the variants are read from state)
        moved = _moved_variant(after, before)
        if moved is None:
            continue
        variant, old, new = moved
        what = (f"variant {variant} moves from {old} to {new}" if new else f"variant {variant} ({old}) is removed")
        if by_controller:
            sequences.append(_by_controller(address, what, before, after, actions))
            continue
        why = (f"{what} while Application Auto Scaling manages it; SageMaker refuses that UpdateEndpoint, so apply "
               f"deregisters the scalable target first, updates the endpoint, then registers it again ({DOC})")
        old_side = [r.urn for r in (before.by_type.get(POLICY, []) + before.by_type.get(TARGET, []))]
        for urn in old_side:
            change = actions.get(urn)
            if change is None:
                continue
            kept = change.action is Action.DELETE
            rewritten[urn] = dataclasses.replace(
                change, action=Action.DELETE if kept else Action.REPLACE, delete_before_replace=not kept,
                reason=Reason("deregister-first", why))
        update = [r.urn for t in (MODEL, CONFIG, ENDPOINT) for r in after.by_type.get(t, [])
                  if actions.get(r.urn) is not None and actions[r.urn].action.is_change]
        steps = [SequenceStep("deregister", tuple(old_side), "DeregisterScalableTarget and its scaling policy"),
                 SequenceStep("update", tuple(update), f"UpdateEndpoint: {what}")]
        again = [r.urn for t in (TARGET, POLICY) for r in after.by_type.get(t, [])]
        if again:
            steps.append(SequenceStep("register", tuple(again), "RegisterScalableTarget and PutScalingPolicy again"))
        sequences.append(ChangeSequence(address, why, tuple(steps)))
    out = tuple(rewritten.get(c.urn, c) for c in changes)
    return tuple(sequences), out


def _controller_switched(after: _Side) -> bool:
    """The desired endpoint leaves its config to the rollout controller (ignores ``endpointConfigName``)."""
    endpoint = after.one(ENDPOINT)
    options = getattr(endpoint, "options", None) if endpoint is not None else None
    return options is not None and "endpointConfigName" in (options.ignore_changes or ())


def _changes(actions: dict[str, ResourceChange], side: _Side, type_: str) -> list[str]:
    return [r.urn for r in side.by_type.get(type_, []) if actions.get(r.urn) is not None and actions[r.urn].action.is_change]


def _by_controller(address: str, what: str, before: _Side, after: _Side,
                   actions: dict[str, ResourceChange]) -> ChangeSequence:
    """The sequence the rollout controller runs when it lands the new config (see the module contract)."""
    why = (f"{what} while Application Auto Scaling manages it; SageMaker refuses that UpdateEndpoint unless the "
           f"scalable target is deregistered first ({DOC}). Pulumi creates the new model and config; the rollout "
           f"controller (mlops-infra rollout) deregisters the target, lands the config and registers it again")
    target = [r.urn for r in before.by_type.get(TARGET, [])]
    models = _changes(actions, after, MODEL)
    when = "the rollout controller"
    if not models:  # same version: nothing to canary; the scheduled runner lands the config at once
        why += ("; the model version does not change, so there is nothing to canary: the rollout runner this "
                "environment runs every minute lands the new config at once, on its first pass after the apply")
        when = "the rollout controller, at its next pass after the apply (same model: at once, no canary)"
    created = models + _changes(actions, after, CONFIG)
    update = SequenceStep("update", tuple(created + [r.urn for r in after.by_type.get(ENDPOINT, [])]),
                          f"{when}: UpdateEndpoint to the new config")
    again = [r.urn for r in after.by_type.get(TARGET, [])]
    if not again:  # autoscale-7: autoscaling removed: Pulumi deletes it in the apply, the controller registers none
        why += ("; autoscaling is removed, so the apply deletes the scalable target and its policy "
                "(DeregisterScalableTarget) before the controller's pass, and the controller lands the config with "
                "the count the config declares and registers nothing")
        return ChangeSequence(address, why, (update,), runner="rollout")
    steps = (SequenceStep("deregister", tuple(target), "the rollout controller: DeregisterScalableTarget"), update,
             SequenceStep("register", tuple(again), "the rollout controller: RegisterScalableTarget, same min and max"))
    return ChangeSequence(address, why, steps, runner="rollout")


PHASE_OMIT_ENV = "MLOPS_INFRA_PHASE_OMIT"
"""Comma-separated URNs the Pulumi program leaves out of the graph (apply's first, targeted phase)."""


def phase_one_urns(sequences: Sequence[ChangeSequence]) -> tuple[str, ...]:
    """The URNs apply removes in its first, targeted ``pulumi up`` (every ``deregister`` step)."""
    return tuple(sorted({u for s in sequences if getattr(s, "runner", "apply") == "apply"
                         for step in s.steps if step.action == "deregister" for u in step.urns}))
