"""``validate``'s guardrails: every environment of a valid document, on its components' graph.

Contract: :func:`check_guardrails` evaluates each environment ``validate`` checked on the graph of
its effective system's components (:func:`mlops_infra.policy.facts.facts_graph`) through the one
entry point :func:`mlops_infra.plan.guardrails.evaluate`, and adds the failures as diagnostics
(:mod:`mlops_infra.policy.diagnostics`). A mandatory failure makes the document invalid (exit 1).
The checks of cloud resources (buckets, Services) need the compiled graph: ``plan`` runs them.
"""

from __future__ import annotations

from dataclasses import replace

from mlops_infra.diagnostics import Diagnostic, Diagnostics
from mlops_infra.spec import LoadedSystem


def check_guardrails(loaded: LoadedSystem) -> LoadedSystem:
    """``loaded`` with the guardrail diagnostics of every environment it validated (see the contract)."""
    from mlops_infra.graph import DesiredGraph
    from mlops_infra.plan.guardrails import evaluate
    from mlops_infra.policy.diagnostics import guardrail_diagnostics
    from mlops_infra.policy.facts import RULE_SECTIONS, facts_graph, system_facts, target_metadata
    from mlops_infra.spec.guardrails import guardrail_settings

    if not loaded.ok or loaded.document is None:
        return loaded
    found: list[Diagnostic] = []
    memo: dict = {}  # facts of the items the environments share, computed once (whatever the target: the rules read no target key)
    for env, system in loaded.effective.items():
        settings = guardrail_settings(system, env)
        if settings.level("max_hourly_cost_usd"):  # the cap prices every item: a graph of all components
            results = evaluate(facts_graph(system, env), settings)
        else:
            target = system.environments[env].target
            empty = DesiredGraph(system.metadata.name, env, (), metadata=target_metadata(target))
            results = evaluate(empty, settings, system_facts(system, env, RULE_SECTIONS, memo, any_target=True))
        found += guardrail_diagnostics(results, loaded.document, system, env)
    if not found:
        return loaded
    diagnostics = Diagnostics([*loaded.diagnostics, *found]).sorted()
    blocked = any(d.is_error for d in found)
    return replace(loaded, diagnostics=diagnostics, system=None if blocked else loaded.system)
