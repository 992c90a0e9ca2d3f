"""The one entry point of guardrail evaluation: the policy rules with the plan's prices.

Contract: :func:`evaluate` is :func:`mlops_infra.policy.rules.evaluate_guardrails` given
:func:`cost_ceiling` (pricing lives in this layer, :mod:`mlops_infra.plan.cost`). ``validate`` (on the
graph of an effective spec's components), ``plan``, ``apply``, ``promote`` and the CrossGuard
policy pack all call it, so they give the same answers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.policy.model import CostCeiling, GuardrailResult
from mlops_infra.policy.rules import evaluate_guardrails
from mlops_infra.spec.guardrails import GuardrailSettings


def evaluate(graph: DesiredGraph, settings: GuardrailSettings,
             facts: dict[str, dict[str, Any]] | None = None) -> tuple[GuardrailResult, ...]:
    """Every guardrail rule of the environment on ``graph`` (docs/guardrails.md); ``facts`` as for
    :func:`mlops_infra.policy.rules.evaluate_guardrails`."""
    return evaluate_guardrails(graph, settings, cost_ceiling, facts)


def cost_ceiling(graph: DesiredGraph) -> CostCeiling:
    """The graph's cost per hour at full scale (:func:`mlops_infra.plan.cost.hourly_ceiling`): what
    may run at once, never a monthly average. What runs all month at its monthly ceiling / 730 h, each endpoint
    with what its update runs beside it (``mlops_infra.plan.cost.update_peaks``);
    what runs part of the time while it runs (``at_peak``): AWS training at its clusters' peak (the
    sum of the jobs' nodes x the Training price; never nodes.max), drift jobs at their runs at once;
    a Kubernetes cluster that borrows at max nodes + ``borrowing.maxNodes`` (``unbounded`` when it
    borrows without a limit). Endpoints that wait for their model version are priced as if they ran
    (a cap must hold once they do; the plan's own estimate leaves them out until then).
    ``not_counted`` is the items the catalog has no price for, and ``missing_regions`` the regions
    those prices are missing in: the rule fails closed on them (an unpriced item adds $0, so any cap
    would pass). Pricing is imported here, when a cost cap is set: ``validate`` without one never
    loads the plan's models or the price list."""
    from mlops_infra.plan.cost import hourly_ceiling

    return hourly_ceiling(_running(graph))


def _running(graph: DesiredGraph) -> DesiredGraph:
    def running(r: DesiredResource) -> DesiredResource:
        if r.custom or not isinstance(r.inputs, dict) or r.inputs.get("deployed") is not False:
            return r
        return replace(r, inputs={k: v for k, v in r.inputs.items() if k != "deployed"})

    return replace(graph, resources=tuple(running(r) for r in graph.resources))
