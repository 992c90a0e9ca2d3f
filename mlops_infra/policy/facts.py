"""What the guardrail rules read of a desired graph: the ML facts of its components.

Contract:
- :func:`component_facts` maps each component's address (``endpoints.scorer``) to its facts
  (``compile/facts.py``: a dict with ``kind``, ``name`` and ``factsVersion``); resources without
  facts are ignored. The same reader serves a compiled graph and the stack the CrossGuard pack sees
  (components register their facts as props and outputs: ``program/components.py``).
- :func:`system_facts` is what ``validate`` evaluates: ``env``'s items with the facts the compiler
  gives their components (the very functions of ``compile/facts.py``), no cloud resource;
  :func:`facts_graph` is the same as a graph of components (what the cost cap prices). ``sections``
  limits them to the sections the rules read (:data:`RULE_SECTIONS`; the cost cap reads them all,
  training jobs and channels included), so a large system's validate stays cheap.
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


RULE_SECTIONS = ("data_sources", "clusters", "models", "endpoints", "monitors", "alerts")
"""The sections whose facts the rules read (all but the cost cap, which prices every item)."""
ALL_SECTIONS = ("data_sources", "clusters", "training_jobs", "models", "endpoints", "monitors", "alerts", "channels")


def component_facts(resources: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """``{address: facts}`` of the components among ``resources`` (desired resources, or a prior
    state's: anything with ``custom`` and ``inputs``; see the module contract)."""
    out: dict[str, dict[str, Any]] = {}
    for res in resources:
        if res.custom:  # before reading inputs: a state's are decoded on each read
            continue
        facts = res.inputs
        if not isinstance(facts, dict):
            continue
        kind, name = facts.get("kind"), facts.get("name")
        if kind in SECTIONS and isinstance(name, str) and "factsVersion" in facts:
            out[f"{SECTIONS[kind]}.{name}"] = facts
    return out


def replica_ceiling(facts: dict[str, Any]) -> int:
    """Replicas of an endpoint at full scale (see the module contract)."""
    fixed = "autoscaling" in facts and not facts["autoscaling"]
    return int(facts.get("minReplicas" if fixed else "maxReplicas") or 0)


KIND_FREE = frozenset({"data_sources", "models", "alerts", "channels"})
"""Sections whose facts do not depend on the target kind (the same on AWS and Kubernetes)."""


def system_facts(system: Any, env: str, sections: Iterable[str] = ALL_SECTIONS,
                 memo: dict[tuple, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``{address: facts}`` of ``env``'s items of ``sections``, from the facts functions the compiler
    calls (``compile/facts.py``). ``memo`` (one dict for several environments of one document) reuses
    what the environments share: effective systems share every item no override touched, and every
    section list no override touched, so a shared list's facts are made once per target kind (once
    for the sections in :data:`KIND_FREE`), a shared item's likewise."""
    from mlops_infra.compile import facts

    kind = system.environments[env].target.kind
    clusters = {c.name: c for c in system.clusters}
    makers = {
        "data_sources": facts.data_source_facts,
        "clusters": lambda i: facts.cluster_facts(i, kind),
        "training_jobs": lambda i: facts.training_job_facts(i, clusters[i.cluster], kind),
        "models": facts.model_facts,
        "endpoints": lambda i: facts.endpoint_facts(i, kind),
        "monitors": lambda i: facts.monitor_facts(i, kind),
        "alerts": facts.alert_facts,
        "channels": facts.channel_facts,
    }
    memo = {} if memo is None else memo
    out: dict[str, dict[str, Any]] = {}
    for section in sections:
        items = getattr(system, section)
        key_kind = None if section in KIND_FREE else kind
        if section == "training_jobs":  # facts of a job read its cluster too: never shared by list
            for item in items:
                cluster = clusters.get(item.cluster)
                if cluster is None:
                    continue
                key = (section, id(item), id(cluster), kind)
                found = memo.get(key)
                if found is None or found[0] is not item or found[1] is not cluster:
                    memo[key] = found = (item, cluster, makers[section](item))
                out[f"{section}.{item.name}"] = found[2]
            continue
        shared = memo.get((section, id(items), key_kind))
        if shared is None or shared[0] is not items:
            shared = (items, _section_facts(section, items, key_kind, makers[section], memo))
            memo[(section, id(items), key_kind)] = shared
        out.update(shared[1])
    return out


def _section_facts(section: str, items: Any, key_kind: str | None, make: Any,
                   memo: dict[tuple, Any]) -> dict[str, dict[str, Any]]:
    """``{address: make(item)}`` of a section's ``items``, each item's facts reused from ``memo``
    (by section, kind and the item's id, checked to still name the same item)."""
    out = {}
    by_id = memo.setdefault((section, key_kind), {})
    for item in items:
        found = by_id.get(id(item))
        if found is None or found[0] is not item:
            by_id[id(item)] = found = (item, make(item))
        out[f"{section}.{item.name}"] = found[1]
    return out


def facts_graph(system: Any, env: str, sections: Iterable[str] = ALL_SECTIONS) -> DesiredGraph:
    """A graph of ``env``'s components of ``sections`` only, with the facts the compiler gives them
    (:func:`system_facts`): what the rules (and the cost cap's prices) read of an effective system
    without compiling it."""
    from mlops_infra.compile.context import COMPONENT_TYPES

    target = system.environments[env].target
    project = system.metadata.name
    resources = []
    for address, data in system_facts(system, env, sections).items():
        section, name = address.split(".", 1)
        resources.append(DesiredResource(
            urn=make_urn(env, project, [COMPONENT_TYPES[section]], name), type=COMPONENT_TYPES[section], name=name,
            custom=False, parent=None, inputs=data, address=address, role="component"))
    return DesiredGraph(project, env, tuple(sorted(resources, key=_by_urn)), metadata=target_metadata(target))


def target_metadata(target: Any) -> dict[str, Any]:
    """The graph metadata the rules and prices read: the cloud, and an AWS target's region."""
    return {"cloud": target.kind, **({"region": target.region} if target.kind == "aws" else {})}


def _by_urn(resource: DesiredResource) -> str:
    return resource.urn
