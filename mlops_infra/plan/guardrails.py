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
    """The graph's cost per hour at full scale: the plan estimate's monthly ceiling / 730 h, with
    endpoints that wait for their model version priced as if they ran (a cap must hold once they do;
    the plan's own estimate leaves them out until then). Pricing is imported here, when a cost cap is
    set: ``validate`` without one never loads the plan's models or the price list."""
    from mlops_infra.plan.cost import estimate_cost
    from mlops_infra.plan.model import HOURS_PER_MONTH
    from mlops_infra.state.model import PriorState

    estimate = estimate_cost(_running(graph), PriorState.empty())
    lines = sorted((line for line in estimate.lines if line.after_range is not None),
                   key=lambda line: (-line.after_range.max_usd, line.address))
    return CostCeiling(estimate.after.max_usd / HOURS_PER_MONTH,
                       tuple((line.address, line.after_range.max_usd / HOURS_PER_MONTH) for line in lines),
                       tuple(estimate.not_counted))


def _running(graph: DesiredGraph) -> DesiredGraph:
    def running(r: DesiredResource) -> DesiredResource:
        if r.custom or not isinstance(r.inputs, dict) or r.inputs.get("deployed") is not False:
            return r
        return replace(r, inputs={k: v for k, v in r.inputs.items() if k != "deployed"})

    return replace(graph, resources=tuple(running(r) for r in graph.resources))
