"""Guardrails: policy rules on one environment's desired graph (docs/guardrails.md).

Pure, like compile and plan: ``model.py`` (results), ``facts.py`` (what the rules read of a graph, and
the graph of an effective spec's components that ``validate`` evaluates), ``rules.py`` (the rules),
``diagnostics.py`` (results at the line to change). The CrossGuard policy pack that runs the same
rules under ``pulumi up`` is :mod:`mlops_infra.program.policy_pack` (it needs the Pulumi SDKs).
"""
