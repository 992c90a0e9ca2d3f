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
  channels included), so a large system's validate stays cheap.
- :func:`replica_ceiling`: the replicas an endpoint runs at full scale: ``maxReplicas``, or
  ``minReplicas`` when its facts say it has no autoscaling (``autoscaling`` False; docs/semantics.md).
- :func:`settle_prior`: how the plan reads a prior state's facts that cannot say what the desired
  facts say. An endpoint's facts without ``autoscaling`` were saved before its no-autoscaling value
  was False: the Pulumi Python SDK dropped the None it was then (``pulumi/runtime/rpc.py``
  ``serialize_properties``: "We treat properties that serialize to None as if they don't exist"), or
  before the key existed (4404e76). Absent is then unknown, not "autoscaled" nor "fixed", and reads
  as the desired value: no replica, GPU or cost change comes of it (docs/guardrails.md "Upgrading").
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping
from functools import partial
from operator import itemgetter
from typing import Any

from mlops_infra.graph import DesiredGraph, DesiredResource, make_urn

SECTIONS = {"data_source": "data_sources", "cluster": "clusters", "training_job": "training_jobs", "model": "models",
            "endpoint": "endpoints", "monitor": "monitors", "alert": "alerts", "channel": "channels"}
"""Facts ``kind`` -> spec section."""


RULE_SECTIONS = ("data_sources", "clusters", "training_jobs", "models", "endpoints", "monitors", "alerts")
"""The sections whose facts the rules read (``max_gpus`` reads training jobs; the cost cap prices every
item, channels included)."""
ALL_SECTIONS = ("data_sources", "clusters", "training_jobs", "models", "endpoints", "monitors", "alerts", "channels")


def component_facts(resources: Iterable[Any], by_type: dict[str, list[Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``{address: facts}`` of the components among ``resources`` (desired resources, or a prior
    state's: anything with ``custom`` and ``inputs``; see the module contract). ``by_type``
    (``{type: list}``, desired resources): in the same pass, each resource whose ``type`` is a key is
    appended to that list, in the order of ``resources``."""
    out: dict[str, dict[str, Any]] = {}
    wanted = None if by_type is None else by_type.get
    for res in resources:
        if wanted is not None:
            group = wanted(res.type)
            if group is not None:
                group.append(res)
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


Facts = dict[str, dict[str, Any]]


def settle_prior(before: Facts, after: Facts) -> tuple[Facts, Facts]:
    """``(before, after)``: a prior state's ``{address: facts}`` and the desired graph's, with each
    endpoint's ``autoscaling`` that ``before`` lacks and ``after`` has taken from ``after`` (see the
    module contract). ``before`` is returned as is when nothing is missing, else a copy (the facts
    dicts themselves are never changed)."""
    settled: Facts | None = None
    for address, facts in before.items():
        if "autoscaling" in facts or facts.get("kind") != "endpoint":
            continue
        desired = after.get(address)
        if desired is None or "autoscaling" not in desired:
            continue
        if settled is None:
            settled = dict(before)
        settled[address] = {**facts, "autoscaling": desired["autoscaling"]}
    return (before if settled is None else settled), after


KIND_FREE = frozenset({"data_sources", "models", "alerts", "channels"})
"""Sections whose facts do not depend on the target kind (the same on AWS and Kubernetes)."""


class SystemFacts(Mapping[str, dict[str, Any]]):
    """``{address: facts}`` (what :func:`system_facts` returns), read-only: a view over one dict per
    section, so an environment whose sections are shared with another's costs no merge. It also
    holds ``by_kind``: for each facts ``kind``, the ``(address, facts)`` pairs of its section in
    address order, which is what :class:`~mlops_infra.policy.rules.Subject` would otherwise sort out
    of the whole mapping for every environment (a section list the environments share has its pairs
    made once), and ``derived``: what rules derive from those lists, shared by the environments of
    one ``memo`` (:meth:`~mlops_infra.policy.rules.Subject.derive`)."""

    __slots__ = ("_sections", "by_kind", "derived")

    def __init__(self, derived: dict[Any, Any] | None = None) -> None:
        self._sections: dict[str, dict[str, dict[str, Any]]] = {}
        self.by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.derived: dict[Any, Any] = {} if derived is None else derived

    def _add(self, section: str, facts: dict[str, dict[str, Any]]) -> None:
        self._sections[section] = facts

    def __getitem__(self, address: str) -> dict[str, Any]:
        facts = self._sections.get(address.partition(".")[0])
        if facts is None:
            raise KeyError(address)
        return facts[address]

    def get(self, address: str, default: Any = None) -> Any:
        facts = self._sections.get(address.partition(".")[0])
        return default if facts is None else facts.get(address, default)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address in self._sections.get(address.partition(".")[0], ())

    def __iter__(self) -> Iterator[str]:
        for facts in self._sections.values():
            yield from facts

    def __len__(self) -> int:
        return sum(map(len, self._sections.values()))

    def items(self) -> ItemsView[str, dict[str, Any]]:
        return _SectionItems(self)


class _SectionItems(ItemsView):
    """``SystemFacts.items()``, section by section (no lookup per key)."""

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for facts in self._mapping._sections.values():
            yield from facts.items()


KIND_OF_SECTION = {section: kind for kind, section in SECTIONS.items()}
"""Spec section -> the ``kind`` of its items' facts."""


def system_facts(system: Any, env: str, sections: Iterable[str] = ALL_SECTIONS,
                 memo: dict[tuple, Any] | None = None, *, any_target: bool = False) -> SystemFacts:
    """``{address: facts}`` of ``env``'s items of ``sections``, from the facts functions the compiler
    calls (``compile/facts.py``), with the same pairs by kind (:class:`SystemFacts`). ``memo`` (one
    dict for several environments of one document) reuses what the environments share: effective
    systems share every item no override touched, and every section list no override touched, so a
    shared list's facts (and their pairs in address order) are made once per target kind (once for
    the sections in :data:`KIND_FREE`), a shared item's likewise.

    ``any_target``: facts are made once per item whatever the environment's target kind, so an item
    may carry the facts made for another environment's target: those differ only in the keys of
    :data:`~mlops_infra.compile.facts.TARGET_KEYS` (``instanceType``, ``jobInstanceType``). For
    readers of no such key: the guardrail rules (``validate``; tests/policy keeps the rules off them).
    Pricing reads them: :func:`facts_graph` never shares across targets."""
    from mlops_infra.compile import facts

    kind = system.environments[env].target.kind
    clusters = {c.name: c for c in system.clusters}
    makers = {
        "data_sources": facts.data_source_facts,
        "clusters": partial(facts.cluster_facts, target=kind),
        "training_jobs": lambda i: facts.training_job_facts(i, clusters[i.cluster], kind),
        "models": facts.model_facts,
        "endpoints": partial(facts.endpoint_facts, target=kind),
        "monitors": partial(facts.monitor_facts, target=kind),
        "alerts": facts.alert_facts,
        "channels": facts.channel_facts,
    }
    memo = {} if memo is None else memo
    out = SystemFacts(memo.setdefault(("derived",), {}))
    for section in sections:
        items = getattr(system, section)
        key_kind = None if section in KIND_FREE or any_target else kind
        if section == "training_jobs":  # facts of a job read its cluster too: never shared by list
            made = {}
            for item in items:
                cluster = clusters.get(item.cluster)
                if cluster is None:
                    continue
                key = (section, id(item), id(cluster), key_kind)
                found = memo.get(key)
                if found is None or found[0] is not item or found[1] is not cluster:
                    memo[key] = found = (item, cluster, makers[section](item))
                made[f"{section}.{item.name}"] = found[2]
            shared = (items, made, sorted(made.items(), key=_FIRST))
        else:
            shared = memo.get((section, id(items), key_kind))
            if shared is None or shared[0] is not items:
                made = _section_facts(section, items, key_kind, makers[section], memo)
                shared = (items, made, sorted(made.items(), key=_FIRST))
                memo[(section, id(items), key_kind)] = shared
        out._add(section, shared[1])
        if shared[2]:
            out.by_kind[KIND_OF_SECTION[section]] = shared[2]
    return out


_FIRST = itemgetter(0)


def _section_facts(section: str, items: Any, key_kind: str | None, make: Any,
                   memo: dict[tuple, Any]) -> dict[str, dict[str, Any]]:
    """``{address: make(item)}`` of a section's ``items``, each item's facts (and address) reused
    from ``memo`` (by section, kind and the item's id, checked to still name the same item)."""
    out = {}
    by_id = memo.setdefault((section, key_kind), {})
    get = by_id.get
    prefix = f"{section}."
    for item in items:
        found = get(id(item))
        if found is None or found[0] is not item:
            by_id[id(item)] = found = (item, make(item), prefix + item.name)
        out[found[2]] = found[1]
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
