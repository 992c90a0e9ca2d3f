"""What the guardrail rules read of a desired graph: the ML facts of its components.

Contract:
- :func:`component_facts` maps each component's address (``endpoints.scorer``) to its facts
  (``compile/facts.py``: a dict with ``kind``, ``name`` and ``factsVersion``); resources without
  facts are ignored. The same reader serves a compiled graph and the stack the CrossGuard pack sees
  (components register their facts as props and outputs: ``program/components.py``).
- :func:`facts_graph` is the graph ``validate`` evaluates: ``env``'s components only, with the
  facts the compiler gives them (the very functions of ``compile/facts.py``), no cloud resource.
- :func:`replica_ceiling`: the replicas an endpoint runs at full scale: ``maxReplicas``, or
  ``minReplicas`` when its facts say it has no autoscaling (docs/semantics.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlops_infra.graph import DesiredGraph, DesiredResource, make_urn

SECTIONS = {"data_source": "data_sources", "cluster": "clusters", "training_job": "training_jobs", "model": "models",
            "endpoint": "endpoints", "monitor": "monitors", "alert": "alerts", "channel": "channels"}
"""Facts ``kind`` -> spec section."""


def component_facts(resources: Iterable[DesiredResource]) -> dict[str, dict[str, Any]]:
    """``{address: facts}`` of the components among ``resources`` (see the module contract)."""
    out: dict[str, dict[str, Any]] = {}
    for res in resources:
        facts = res.inputs
        if res.custom or not isinstance(facts, dict):
            continue
        kind, name = facts.get("kind"), facts.get("name")
        if kind in SECTIONS and isinstance(name, str) and "factsVersion" in facts:
            out[f"{SECTIONS[kind]}.{name}"] = facts
    return out


def replica_ceiling(facts: dict[str, Any]) -> int:
    """Replicas of an endpoint at full scale (see the module contract)."""
    fixed = "autoscaling" in facts and not facts["autoscaling"]
    return int(facts.get("minReplicas" if fixed else "maxReplicas") or 0)


def facts_graph(system: Any, env: str) -> DesiredGraph:
    """A graph of ``env``'s components only, with the facts the compiler gives them
    (``compile/facts.py``): what the rules read of an effective system without compiling it."""
    from mlops_infra.compile import facts
    from mlops_infra.compile.context import COMPONENT_TYPES

    target = system.environments[env].target
    kind = target.kind
    clusters = {c.name: c for c in system.clusters}
    items: list[tuple[str, Any, dict[str, Any]]] = []
    items += [("data_sources", i, facts.data_source_facts(i)) for i in system.data_sources]
    items += [("clusters", i, facts.cluster_facts(i, kind)) for i in system.clusters]
    items += [("training_jobs", i, facts.training_job_facts(i, clusters[i.cluster], kind))
              for i in system.training_jobs if i.cluster in clusters]
    items += [("models", i, facts.model_facts(i)) for i in system.models]
    items += [("endpoints", i, facts.endpoint_facts(i, kind)) for i in system.endpoints]
    items += [("monitors", i, facts.monitor_facts(i, kind)) for i in system.monitors]
    items += [("alerts", i, facts.alert_facts(i)) for i in system.alerts]
    items += [("channels", i, facts.channel_facts(i)) for i in system.channels]
    project = system.metadata.name
    resources = tuple(sorted((DesiredResource(
        urn=make_urn(env, project, [COMPONENT_TYPES[section]], item.name), type=COMPONENT_TYPES[section],
        name=item.name, custom=False, parent=None, inputs=data, address=f"{section}.{item.name}", role="component")
        for section, item, data in items), key=lambda r: r.urn))
    metadata = {"cloud": kind, **({"region": target.region} if kind == "aws" else {})}
    return DesiredGraph(project, env, resources, metadata=metadata)
