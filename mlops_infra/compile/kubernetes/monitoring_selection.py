"""Which Prometheus or Alertmanager loads one of a graph's monitoring objects: prometheus-operator's
selection, pure, for :mod:`mlops_infra.plan.monitoring_selectors` (the plan warnings) and the Kubernetes
preflight (:mod:`mlops_infra.kube.prometheus_access`: the access of the Prometheus that scrapes them).

The rules, each with its source, are those of :mod:`mlops_infra.plan.monitoring_selectors` ("Object
selector", "Namespace selector", "Requirements", "Namespace labels", "A paused owner loads nothing new"),
which this module implements: :func:`verdict` says whether one owner loads one object and why not,
:func:`unmet`/:func:`matches` evaluate a ``metav1.LabelSelector`` as apimachinery's
``LabelSelectorAsSelector`` does (also the selectors of a NetworkPolicy: same type, same evaluation,
``networking/v1`` ``NetworkPolicySpec.podSelector``/``NetworkPolicyPeer``), :func:`namespace_labels` gives
the labels a namespace carries after the apply. Moved here from the plan module unchanged so that a layer
below plan (``kube``) can use them (``tests/test_layering.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph

METADATA_NAME = "kubernetes.io/metadata.name"
"""The label the API server sets on every namespace, valued with its name."""


@dataclass(frozen=True)
class Selection:
    """How one kind of our objects is selected: by an ``owner`` (Prometheus or Alertmanager) through
    ``spec.<selector>`` and ``spec.<namespace_selector>``; ``effect`` is what happens when none does."""

    kind: str
    owner: str
    selector: str
    namespace_selector: str
    effect: str


SELECTIONS = (
    Selection("PrometheusRule", "Prometheus", "ruleSelector", "ruleNamespaceSelector",
              "their recording rules are never evaluated and the alerts of this system will never fire"),
    Selection("ServiceMonitor", "Prometheus", "serviceMonitorSelector", "serviceMonitorNamespaceSelector",
              "these endpoints are not scraped and the metrics the monitors and alerts read stay absent"),
    Selection("PodMonitor", "Prometheus", "podMonitorSelector", "podMonitorNamespaceSelector",
              "these endpoints are not scraped and the metrics the monitors and alerts read stay absent"),
    Selection("AlertmanagerConfig", "Alertmanager", "alertmanagerConfigSelector",
              "alertmanagerConfigNamespaceSelector",
              "their routes are never loaded and no notification will be sent to these channels"),
)
"""Every kind of monitoring object the compiler emits, in warning order."""
BY_KIND = {s.kind: s for s in SELECTIONS}


@dataclass(frozen=True)
class Monitored:
    """One of our monitoring objects: its ML ``address``, ``kind``, ``name``, ``namespace``, ``labels``."""

    address: str
    kind: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    keeps_firing: tuple[str, ...] = ()
    """A PrometheusRule's alerts whose rules set ``keep_firing_for`` (sorted; the module's rules)."""


def monitoring_objects(graph: DesiredGraph) -> list[Monitored]:
    """The graph's PrometheusRules, ServiceMonitors, PodMonitors and AlertmanagerConfigs (``monitoring.coreos.com``)."""
    out = []
    for r in graph.resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        if obj.get("kind") not in BY_KIND or not str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            continue
        meta = obj.get("metadata") or {}
        kept = sorted({str(rule.get("alert")) for group in ((obj.get("spec") or {}).get("groups") or [])
                       if isinstance(group, dict) for rule in (group.get("rules") or [])
                       if isinstance(rule, dict) and "keep_firing_for" in rule and rule.get("alert")})
        out.append(Monitored(r.address, obj["kind"], str(meta.get("name") or "?"),
                             str(meta.get("namespace") or graph.metadata.get("namespace") or "default"),
                             dict(meta.get("labels") or {}), tuple(kept)))
    return out


def namespace_labels(graph: DesiredGraph, namespace: str, live: Mapping[str, Any] | None) -> dict[str, str]:
    """The labels ``namespace`` will carry after the apply (module rules): ``live`` (the Namespace as
    read, or None), overlaid with the graph's Namespace object of that name, and ``kubernetes.io/metadata.name``."""
    labels = dict(((live or {}).get("metadata") or {}).get("labels") or {})
    for r in graph.resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        if obj.get("kind") == "Namespace" and (obj.get("metadata") or {}).get("name") == namespace:
            labels.update((obj.get("metadata") or {}).get("labels") or {})
    labels[METADATA_NAME] = namespace
    return labels


# -- label selectors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Miss:
    """One requirement of a selector the labels do not meet: ``requirement`` as written, and the
    ``add`` (``{key: value}``) or ``remove`` (key) that would meet it, when a label change can."""

    requirement: str
    add: tuple[str, str] | None = None
    remove: str | None = None


def unmet(selector: Any, labels: Mapping[str, str]) -> list[Miss] | None:
    """The requirements of a ``metav1.LabelSelector`` (as a dict) that ``labels`` do not meet: None
    when the selector is null (selects nothing), ``[]`` when it matches (module rules)."""
    if selector is None:
        return None
    if not isinstance(selector, Mapping):
        return [Miss(f"a selector that is not an object ({selector!r})")]
    misses = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        if labels.get(key) != str(value):
            misses.append(Miss(f"{key}={value}", add=(str(key), str(value))))
    for expr in selector.get("matchExpressions") or []:
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        present = key in labels
        shown = f"{key} {op} ({', '.join(values)})" if values else f"{key} {op}"
        if op == "In" and not (present and labels[key] in values):
            misses.append(Miss(shown, add=(key, values[0]) if values else None))
        elif op == "NotIn" and present and labels[key] in values:
            misses.append(Miss(shown, remove=key))
        elif op == "Exists" and not present:
            misses.append(Miss(shown, add=(key, "<any value>")))
        elif op == "DoesNotExist" and present:
            misses.append(Miss(shown, remove=key))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            misses.append(Miss(f"{shown} (not a valid operator: the operator selects nothing with it)"))
    return misses


def matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """``LabelSelectorAsSelector(selector).Matches(labels)``: null matches nothing, empty everything."""
    return unmet(selector, labels) == []


# -- one owner against one object ------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether one Prometheus/Alertmanager (``owner``) loads one object, and if not why: ``problems``
    (readable), ``adds``/``removes`` (label changes on our side that would fix them), and which of its
    selectors must change because no label change can (``set_selector``, ``set_namespace_selector``)."""

    owner: Mapping[str, Any]
    problems: tuple[str, ...]
    adds: tuple[tuple[str, str], ...] = ()
    removes: tuple[str, ...] = ()
    set_selector: bool = False
    set_namespace_selector: bool = False
    unpause: bool = False

    @property
    def selects(self) -> bool:
        return not self.problems


def where(owner: Mapping[str, Any]) -> tuple[str, str]:
    meta = owner.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "?")


def verdict(selection: Selection, owner: Mapping[str, Any], obj: Monitored,
            ns_labels: Mapping[str, str]) -> Verdict:
    """Whether ``owner`` (a Prometheus or Alertmanager as read) loads ``obj`` (module rules)."""
    spec = owner.get("spec") or {}
    problems: list[str] = []
    adds: list[tuple[str, str]] = []
    removes: list[str] = []
    set_selector = set_ns_selector = False
    paused = spec.get("paused") is True
    if paused:
        problems.append("spec.paused is true, so the operator takes no action on it and loads no new object")
    misses = unmet(spec.get(selection.selector), obj.labels)
    if misses is None:
        problems.append(f"spec.{selection.selector} is unset, which selects no {selection.kind}")
        set_selector = True
    elif misses:
        problems.append(f"spec.{selection.selector} needs " + ", ".join(m.requirement for m in misses))
        adds += [m.add for m in misses if m.add]
        removes += [m.remove for m in misses if m.remove]
        set_selector = not all(m.add or m.remove for m in misses)
    ns_selector = spec.get(selection.namespace_selector)
    own_namespace, _ = where(owner)
    if ns_selector is None:
        if own_namespace != obj.namespace:
            problems.append(f"spec.{selection.namespace_selector} is unset, which selects only its own namespace "
                            f"{own_namespace}")
            set_ns_selector = True
    else:
        ns_misses = unmet(ns_selector, ns_labels)
        if ns_misses:
            problems.append(f"spec.{selection.namespace_selector} needs namespace {obj.namespace} to match "
                            + ", ".join(m.requirement for m in ns_misses))
            adds += [m.add for m in ns_misses if m.add]
            removes += [m.remove for m in ns_misses if m.remove]
            set_ns_selector = not all(m.add or m.remove for m in ns_misses)
    return Verdict(owner, tuple(problems), tuple(dict.fromkeys(adds)), tuple(dict.fromkeys(removes)),
                   set_selector, set_ns_selector, paused)
