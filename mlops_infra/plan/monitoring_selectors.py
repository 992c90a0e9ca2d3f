"""Which Prometheus and Alertmanager of the cluster load this system's monitoring objects: one plan
warning per kind of them that none selects (``plan --refresh`` on Kubernetes; the cluster's
Prometheus and Alertmanager objects and the namespace's labels are read by the CLI,
:mod:`mlops_infra.kube.monitoring_stack`).

prometheus-operator loads a PrometheusRule, ServiceMonitor or PodMonitor only into a Prometheus, and
an AlertmanagerConfig only into an Alertmanager, whose selectors match the object and its namespace
(prometheus-operator ``pkg/prometheus/server/rules.go`` ``selectPrometheusRules``,
``pkg/prometheus/resource_selector.go`` ``selectObjects`` (``SelectServiceMonitors``,
``SelectPodMonitors``), ``pkg/alertmanager/operator.go`` ``selectAlertmanagerConfigs``; read at
commit 6adcebc5076c34f4f55f8f5f7b1e528929373ac7, the same in v0.89.0, 2d28b87c). An object no one
selects is ignored without an error or event: no rule, no alert, no scrape, no notification.

Rules (each with its source):

- **Object selector** (``spec.ruleSelector``, ``spec.serviceMonitorSelector``,
  ``spec.podMonitorSelector`` of a Prometheus; ``spec.alertmanagerConfigSelector`` of an
  Alertmanager) is turned into a ``labels.Selector`` by apimachinery ``pkg/apis/meta/v1/helpers.go``
  ``LabelSelectorAsSelector`` (kubernetes/apimachinery eed236ce): **null selects nothing**
  (``labels.Nothing()``), **empty (no matchLabels and no matchExpressions) selects everything**
  (``labels.Everything()``). The CRD field docs say the same ("An empty label selector matches all
  objects. A null label selector matches no objects.", ``pkg/apis/monitoring/v1/prometheus_types.go``).
  An Alertmanager with a null ``alertmanagerConfigSelector`` (and no ``alertmanagerConfiguration``)
  uses its configuration Secret as it is and reads no AlertmanagerConfig at all (``operator.go``
  ``sync``: "AlertmanagerConfigSelector and AlertmanagerConfiguration not specified"); with only
  ``alertmanagerConfiguration`` set, the null selector still selects nothing.
- **Namespace selector** (``spec.ruleNamespaceSelector``, ``spec.serviceMonitorNamespaceSelector``,
  ``spec.podMonitorNamespaceSelector``; ``spec.alertmanagerConfigNamespaceSelector``): **null selects
  only the Prometheus' (Alertmanager's) own namespace** (``pkg/operator/operator.go``
  ``SelectNamespacesFromCache``: "If the selector is nil, return the object's namespace";
  ``selectAlertmanagerConfigs``: "If 'AlertmanagerConfigNamespaceSelector' is nil, only check own
  namespace"); otherwise ``LabelSelectorAsSelector`` against the namespaces' labels, so empty selects
  every namespace.
- **Requirements** are ANDed; ``matchLabels`` ``k: v`` is ``k`` Equals ``v``. apimachinery
  ``pkg/labels/selector.go`` ``Requirement.Matches``: ``In``/Equals need the label with one of the
  values; ``NotIn`` matches when the label is absent or its value is not listed; ``Exists`` needs the
  label; ``DoesNotExist`` needs it absent. Another operator makes ``LabelSelectorAsSelector`` fail, so
  the operator selects nothing with it (taken here as not matching).
- **Namespace labels**: every namespace carries ``kubernetes.io/metadata.name: <name>``, set by the
  API server (feature ``NamespaceDefaultLabelName``, GA in 1.22, kubernetes.io "Feature Gates
  (removed)"). The namespace's labels are judged as they will be after the apply: the live ones
  (when read) overlaid with the graph's own Namespace object's labels (the apply sets those).
- **A paused owner loads nothing new**: with ``spec.paused: true`` the operator's sync stops before
  selecting anything ("no action taken (the resource is paused)", ``pkg/prometheus/server/operator.go``
  and ``pkg/alertmanager/operator.go`` ``sync``), so objects created meanwhile are not loaded.
- **``overrideHonorLabels`` renames the Pushgateway's labels**: "when true, Prometheus resolves label
  conflicts by renaming the labels in the scraped data to 'exported_' for all targets created from
  ServiceMonitor, PodMonitor and ScrapeConfig objects ... In practice, ``OverrideHonorLabels:true``
  enforces ``honorLabels:false``" (prometheus-operator v0.89.0
  ``pkg/apis/monitoring/v1/prometheus_types.go`` ``OverrideHonorLabels``; ``pkg/prometheus/promcfg.go``
  ``AddHonorLabels`` writes ``honor_labels: false`` whatever the ServiceMonitor says). ServiceMonitor
  ``mlops-pushgateway`` asks for ``honorLabels: true`` because the rules select the pushed ``job``
  (and the rollback notice's ``endpoint``), which the scrape's own target labels would replace
  (Prometheus ``scrape_config`` ``honor_labels``): with the override they become ``exported_job`` and
  ``exported_endpoint`` and the rules over pushed series (:func:`pushed_alerts`) find nothing (the
  audit reproduced it on a real Prometheus 2.42 and Pushgateway: k8smon-2).
- **``keep_firing_for`` needs Prometheus 2.42**: prometheus-operator removes the field from every rule
  it writes for an older Prometheus (v0.89.0 ``pkg/operator/rules.go`` ``sanitizePrometheusRulesSpec``:
  ``minVersionKeepFiringFor := semver.MustParse("2.42.0")``, then ``KeepFiringFor = nil`` and
  ``logger.Warn("ignoring 'keep_firing_for' not supported by Prometheus")``). The operator judges by
  ``spec.version`` alone (``pkg/prometheus/server/rules.go``: ``promVersion =
  operator.StringValOrDefault(...Version, operator.DefaultPrometheusVersion)``; ``prometheus_types.go`` on
  ``image``: "Specifying `spec.version` is still necessary to ensure the Prometheus Operator knows which
  version of Prometheus is being configured"), unset: its default, the latest it knows, never older
  (:func:`configured_release`). When that is 2.42 or later but ``spec.image``'s tag (:func:`image_release`)
  is older, the operator keeps the field and the older Prometheus refuses the rule file: Prometheus v2.41.0
  ``model/rulefmt/rulefmt.go`` ``Parse`` decodes with ``KnownFields(true)`` and its ``RuleNode`` has no
  ``keep_firing_for``; ``rules/manager.go`` ``Update`` then keeps the previous rule set of every file ("error
  loading rules, previous rule set restored"), and a Prometheus starting with it exits
  (``cmd/prometheus/main.go``: "error loading config"). Audits kubevers-1, closing-43a-3.
- **Alerts leave Prometheus only towards Alertmanagers it is given**: ``spec.alerting.alertmanagers``
  or ``spec.additionalAlertManagerConfigs``; with neither, the generated configuration has no
  ``alerting`` section (``pkg/prometheus/promcfg.go`` ``appendAlertingConfig`` returns early), so a
  firing alert notifies no one.

Contract: :func:`monitoring_objects` is pure (the graph's PrometheusRule, ServiceMonitor, PodMonitor
and AlertmanagerConfig objects); :func:`selector_warnings` takes them, the Prometheus and Alertmanager
objects as read (None: not read, no warning about them) and the labels of the namespaces involved,
and returns one warning per kind of object some of which no Prometheus (Alertmanager) selects, naming
the effect, the nearest Prometheus (Alertmanager: the fewest unmet requirements, then namespace/name)
with its selectors, and what to change; one warning when the cluster has no Prometheus
(Alertmanager) at all; one when no Prometheus that loads the PrometheusRules sends alerts
anywhere; and one per Prometheus that selects ServiceMonitor ``mlops-pushgateway`` with
``spec.overrideHonorLabels: true``, naming the alerts that cannot fire (:func:`pushed_alerts`, pure); and one per
Prometheus older than 2.42 that loads a PrometheusRule whose rules set ``keep_firing_for``, naming those
alerts (:attr:`Monitored.keeps_firing`). Not checked: which namespaces the operator itself watches (its ``--namespaces`` flags),
whether the Prometheus that fires the alerts sends them to the Alertmanager that loads the
AlertmanagerConfigs, and the ``alertmanagerConfigMatcherStrategy`` (``OnNamespace`` routes only
alerts whose ``namespace`` label is the AlertmanagerConfig's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.compile.kubernetes.alerting import KEEP_FIRING_SECONDS, ROLLBACK_WINDOW_SECONDS
from mlops_infra.compile.kubernetes.monitoring_selection import (  # the selection itself (re-exported)
    BY_KIND,
    METADATA_NAME,
    SELECTIONS,
    Miss,
    Monitored,
    Selection,
    Verdict,
    matches,
    monitoring_objects,
    namespace_labels,
    unmet,
    verdict,
)
from mlops_infra.compile.kubernetes.monitoring_selection import where as _where
from mlops_infra.graph import DesiredGraph
from mlops_infra.name_lists import join_names

__all__ = [
    "BY_KIND",
    "KEEP_FIRING_SINCE",
    "METADATA_NAME",
    "PUSHED_METRICS",
    "PUSHGATEWAY_MONITOR",
    "RECORDED",
    "SELECTIONS",
    "Miss",
    "Monitored",
    "Selection",
    "Verdict",
    "configured_release",
    "has_alerts",
    "image_release",
    "matches",
    "monitoring_objects",
    "namespace_labels",
    "pushed_alerts",
    "selector_warnings",
    "unmet",
    "verdict",
]

KEEP_FIRING_SINCE = (2, 42, 0)
"""The first Prometheus that knows ``keep_firing_for`` (prometheus-operator v0.89.0 ``pkg/operator/rules.go``
``minVersionKeepFiringFor := semver.MustParse("2.42.0")``)."""


def _release(text: str) -> tuple[int, ...] | None:
    found = re.search(r"(?:^|[:v])(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part or 0) for part in found.groups()) if found else None


def configured_release(prometheus: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The Prometheus release prometheus-operator writes a Prometheus object's rules for: its ``spec.version``;
    None when unset (the operator's own default, ``DefaultPrometheusVersion``: 2.42 or later in every operator
    whose CRD has ``keep_firing_for``). The image is not consulted (module rules)."""
    return _release(str((prometheus.get("spec") or {}).get("version") or ""))


def image_release(prometheus: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The release of a Prometheus object's ``spec.image`` tag (what really runs), None without one."""
    return _release(str((prometheus.get("spec") or {}).get("image") or "").split("@")[0].rpartition("/")[2])


def has_alerts(graph: DesiredGraph) -> bool:
    """Whether some PrometheusRule of the graph holds an alerting rule (a rule with ``alert``)."""
    return any(isinstance(rule, dict) and "alert" in rule
               for r in graph.resources if isinstance(r.inputs, dict) and r.inputs.get("kind") == "PrometheusRule"
               for group in ((r.inputs.get("spec") or {}).get("groups") or []) if isinstance(group, dict)
               for rule in (group.get("rules") or []))


PUSHGATEWAY_MONITOR = "mlops-pushgateway"
"""The ServiceMonitor that scrapes the Pushgateway (``compile/kubernetes/names.py`` ``PUSHGATEWAY``)."""
PUSHED_METRICS = ("mlops_monitor_value", "push_time_seconds", "mlops_monitor_last_success_timestamp_seconds",
                  "mlops_rollout_rolled_back_timestamp_seconds")
"""The series the rules read from the Pushgateway: a drift monitor's value, the Pushgateway's own push
time, a drift job's last success (``compile/kubernetes/monitoring.py`` ``PUSHED``, ``LAST_SUCCESS``) and the
rollout runner's rollback notice (``compile/kubernetes/alerting.py`` ``ROLLED_BACK_METRIC``)."""
RECORDED = "mlops:monitor_value"
"""The recorded monitor value (``compile/kubernetes/monitoring.py`` ``RECORD``): an alert over a drift
monitor's reads the pushed series through it."""


def _reads(expr: str, metric: str) -> bool:
    return re.search(rf"(?<![\w:]){re.escape(metric)}(?![\w:])", expr) is not None


def pushed_alerts(graph: DesiredGraph) -> list[str]:
    """The names of the graph's alerting rules that read pushed series (:data:`PUSHED_METRICS`), directly
    or through the recorded value of a monitor whose recording rule reads them."""
    rules = [rule for r in graph.resources if isinstance(r.inputs, dict) and r.inputs.get("kind") == "PrometheusRule"
             for group in ((r.inputs.get("spec") or {}).get("groups") or []) if isinstance(group, dict)
             for rule in (group.get("rules") or []) if isinstance(rule, dict)]
    pushed_monitors = {str((rule.get("labels") or {}).get("mlops_monitor")) for rule in rules
                       if rule.get("record") == RECORDED and any(_reads(str(rule.get("expr", "")), m) for m in PUSHED_METRICS)}
    names = set()
    for rule in rules:
        expr = str(rule.get("expr", ""))
        if "alert" in rule and (any(_reads(expr, m) for m in PUSHED_METRICS) or (_reads(expr, RECORDED) and any(
                f'mlops_monitor="{m}"' in expr for m in pushed_monitors))):
            names.add(str(rule["alert"]))
    return sorted(names)


def _show(selector: Any) -> str:
    return "null" if selector is None else json.dumps(selector, sort_keys=True, separators=(", ", ": "))


# -- warnings ------------------------------------------------------------------------------

def _names(objects: Sequence[Monitored]) -> str:
    """The objects' names, sorted: the first six, then how many more (:func:`mlops_infra.name_lists.join_names`)."""
    return join_names(sorted({o.name for o in objects}))


def _fix(selection: Selection, best: Verdict, unread: bool) -> str:
    """What to change: labels on our side where a label change meets the selectors, the owner's
    selectors where none can (a null selector, another namespace), or else those selectors."""
    namespace, name = _where(best.owner)
    ref = f"{selection.owner} {namespace}/{name}"
    set_selector = (f"spec.{selection.selector} to {{}} (every {selection.kind}) or to labels these objects carry "
                    "(all carry app.kubernetes.io/managed-by: mlops-infra)")
    set_ns = (f"spec.{selection.namespace_selector} to {{}} (every namespace) or to labels the namespace carries "
              f"({METADATA_NAME})")
    steps = []
    if best.adds:
        steps.append("add " + ", ".join(f"{k}: {v}" for k, v in best.adds) + " to metadata.labels of the spec "
                     "(every object of this system and its namespace carry them)")
    if best.removes:
        steps.append("remove " + ", ".join(best.removes) + " from metadata.labels of the spec")
    if best.unpause:
        steps.append(f"unpause {ref} (spec.paused: false)")
    must = [t for t, needed in ((set_selector, best.set_selector), (set_ns, best.set_namespace_selector)) if needed]
    if must:
        steps.append(f"set {' and '.join(must)} on {ref}")
    text = " and ".join(steps)
    if not must and not best.unpause and best.adds and not best.removes and any(p.startswith(f"spec.{selection.selector}")
                                                          for p in best.problems):
        text += f"; or set {set_selector} on {ref}"
    return text[0].upper() + text[1:] + "." + (_UNREAD if unread else "")


_UNREAD = (" (The namespace's live labels could not be read: it was judged by the labels this system gives it.)")


def _nearest(verdicts: Sequence[Verdict]) -> Verdict:
    return min(verdicts, key=lambda v: (len(v.problems), v.set_selector + v.set_namespace_selector, _where(v.owner)))


def selector_warnings(objects: Sequence[Monitored], prometheuses: Sequence[Mapping[str, Any]] | None,
                      alertmanagers: Sequence[Mapping[str, Any]] | None,
                      ns_labels: Mapping[str, Mapping[str, str]], *, alerts: bool = True,
                      unread_namespaces: Sequence[str] = (), pushed: Sequence[str] = ()) -> list[str]:
    """One warning per problem (module contract). ``prometheuses``/``alertmanagers``: the objects as
    read, None when not read (their kinds are not judged); ``ns_labels``: per namespace of
    ``objects``, its labels (:func:`namespace_labels`); ``alerts``: some PrometheusRule holds an
    alerting rule; ``unread_namespaces``: namespaces whose live labels could not be read; ``pushed``:
    the alerts that read pushed series (:func:`pushed_alerts`)."""
    owners = {"Prometheus": prometheuses, "Alertmanager": alertmanagers}
    warnings: list[str] = []
    absent_told: set[str] = set()
    loaders: list[Mapping[str, Any]] = []
    keeping: dict[int, tuple[Mapping[str, Any], set[str], set[str]]] = {}
    scraping_pushgateway: list[Mapping[str, Any]] = []
    for selection in SELECTIONS:
        ours = [o for o in objects if o.kind == selection.kind]
        candidates = owners[selection.owner]
        if not ours or candidates is None:
            continue
        if not candidates:
            if selection.owner not in absent_told:
                absent_told.add(selection.owner)
                warnings.append(_none_warning(selection.owner, objects))
            continue
        unselected = []
        for obj in sorted(ours, key=lambda o: (o.namespace, o.name)):
            verdicts = [verdict(selection, owner, obj, ns_labels.get(obj.namespace) or {}) for owner in candidates]
            chosen = [v.owner for v in verdicts if v.selects]
            if selection.kind == "PrometheusRule":
                loaders += [c for c in chosen if all(c is not seen for seen in loaders)]
                for c in chosen if obj.keeps_firing else ():
                    entry = keeping.setdefault(id(c), (c, set(), set()))
                    entry[1].update(obj.keeps_firing)
                    entry[2].add(f"{obj.namespace}/{obj.name}")
            if selection.kind == "ServiceMonitor" and obj.name == PUSHGATEWAY_MONITOR:
                scraping_pushgateway += [c for c in chosen if all(c is not seen for seen in scraping_pushgateway)]
            if not chosen:
                unselected.append((obj, _nearest(verdicts)))
        if not unselected:
            continue
        objs = [o for o, _ in unselected]
        first, best = unselected[0]
        namespace, name = _where(best.owner)
        spec = best.owner.get("spec") or {}
        where = ", ".join(sorted({o.namespace for o in objs}))
        warnings.append(
            f"monitoring: no {selection.owner} in the cluster loads this system's {selection.kind}s "
            f"({_names(objs)} in namespace {where}), so {selection.effect}. The nearest, {selection.owner} "
            f"{namespace}/{name} (spec.{selection.selector} {_show(spec.get(selection.selector))}, "
            f"spec.{selection.namespace_selector} {_show(spec.get(selection.namespace_selector))}): "
            + "; ".join(best.problems) + ". " + _fix(selection, best, first.namespace in unread_namespaces))
    if alerts and loaders and not any(_sends_alerts(p) for p in loaders):
        shown = ", ".join("/".join(_where(p)) for p in loaders)
        warnings.append(
            f"monitoring: Prometheus {shown} loads this system's PrometheusRules but sends alerts to no "
            "Alertmanager (neither spec.alerting.alertmanagers nor spec.additionalAlertManagerConfigs is set), so "
            "the alerts of this system fire in Prometheus only and no notification will be sent. Set "
            "spec.alerting.alertmanagers to the Alertmanager's Service (e.g. {namespace: monitoring, name: "
            "alertmanager-operated, port: web}).")
    warnings += [_override_warning(p, pushed) for p in sorted(scraping_pushgateway, key=_where)
                 if (p.get("spec") or {}).get("overrideHonorLabels") is True]
    for prometheus, alerts, rules in sorted(keeping.values(), key=lambda k: _where(k[0])):
        configured, image = configured_release(prometheus), image_release(prometheus)
        if configured and configured < KEEP_FIRING_SINCE:
            warnings.append(_keep_firing_warning(prometheus, configured, sorted(alerts)))
        elif image and image < KEEP_FIRING_SINCE:
            warnings.append(_refused_rules_warning(prometheus, configured, image, sorted(alerts), sorted(rules)))
    return warnings


def _keep_firing_warning(prometheus: Mapping[str, Any], configured: tuple[int, ...], alerts: Sequence[str]) -> str:
    """The warning for a Prometheus whose ``spec.version`` (``configured``) is older than 2.42 loading rules that set
    ``keep_firing_for`` (module rules)."""
    ref = "Prometheus " + "/".join(_where(prometheus))
    shown = join_names(alerts)
    running = "v" + ".".join(map(str, configured))
    return (f"monitoring: {ref} runs Prometheus {running}, older than 2.42, the first that knows keep_firing_for: "
            "prometheus-operator removes the field from the rules it writes for it (pkg/operator/rules.go, 'ignoring "
            f"keep_firing_for not supported by Prometheus', in the operator's log only), so {shown} resolve as soon as "
            "their condition is not met: a Pushgateway restart resolves a drift alert and fires it again (a second "
            "notification, and for a training job's on_alerts a second retraining run), and a rollback notice fires "
            f"for {(ROLLBACK_WINDOW_SECONDS - KEEP_FIRING_SECONDS) // 60} minutes instead of "
            f"{ROLLBACK_WINDOW_SECONDS // 60}. Fix: run Prometheus 2.42 or later on {ref} (spec.version).")


def _refused_rules_warning(prometheus: Mapping[str, Any], configured: tuple[int, ...] | None, image: tuple[int, ...],
                           alerts: Sequence[str], rules: Sequence[str]) -> str:
    """The warning for a Prometheus whose image is older than 2.42 while the operator writes its rules for 2.42 or
    later (``spec.version`` unset or newer): the rule files that set ``keep_firing_for`` are refused (module rules)."""
    ref = "Prometheus " + "/".join(_where(prometheus))
    spec = prometheus.get("spec") or {}
    running = "v" + ".".join(map(str, image))
    written_for = (f"spec.version {spec.get('version')}" if configured
                   else "no spec.version, so the operator's default release, the latest it knows")
    shown, files = join_names(alerts), join_names(rules)
    return (f"monitoring: {ref} runs the image {spec.get('image')} (Prometheus {running}, older than 2.42, the first "
            f"that knows keep_firing_for), but prometheus-operator writes its rules for the release spec.version names "
            f"({written_for}), so it keeps keep_firing_for (on {shown}). Prometheus {running} refuses a rule file with a "
            f"field it does not know, so the rule files of PrometheusRule {files} are refused, and with them the whole "
            "rule reload: Prometheus keeps its previous rule set ('error loading rules, previous rule set restored'), "
            "so these rules are not loaded and no later change of any PrometheusRule takes effect there, and a restart "
            f"fails ('error loading config'). Fix: set spec.version: {running} on {ref} (the operator then drops "
            "keep_firing_for, and those alerts resolve as soon as their condition is not met), or run Prometheus 2.42 "
            "or later (spec.image and spec.version).")


def _override_warning(prometheus: Mapping[str, Any], pushed: Sequence[str]) -> str:
    """The ``overrideHonorLabels`` warning (module rules) for the Prometheus that scrapes the Pushgateway."""
    ref = "Prometheus " + "/".join(_where(prometheus))
    names = sorted(set(pushed))
    shown = join_names(names)
    cannot = (f"so the rules over pushed series find nothing and these alerts cannot work: {shown} (a drift alert "
              "or rollback notice never fires; a silent-monitor alert never sees a success and can only fire on its "
              "CronJob's age)" if names else "so no rule over pushed series can find them")
    return (f"monitoring: {ref} sets spec.overrideHonorLabels: true, which scrapes ServiceMonitor {PUSHGATEWAY_MONITOR} "
            "with honor_labels: false whatever its honorLabels: true says: the Pushgateway's pushed job and endpoint "
            f"labels become exported_job and exported_endpoint, {cannot}. The same renames the namespace label of "
            "kube-state-metrics if it is scraped through a ServiceMonitor, which the runner and training failure "
            f"alerts select. Fix: unset spec.overrideHonorLabels on {ref}, or load this namespace's ServiceMonitors "
            "and PrometheusRules into a Prometheus without it.")


def _sends_alerts(prometheus: Mapping[str, Any]) -> bool:
    spec = prometheus.get("spec") or {}
    return bool((spec.get("alerting") or {}).get("alertmanagers")) or bool(spec.get("additionalAlertManagerConfigs"))


def _none_warning(owner: str, objects: Sequence[Monitored]) -> str:
    kinds = [s.kind + "s" for s in SELECTIONS if s.owner == owner and any(o.kind == s.kind for o in objects)]
    effects = {"Prometheus": "the alerts of this system will never fire and its endpoints are not scraped",
               "Alertmanager": "no notification will be sent to its channels"}
    plural = "prometheuses" if owner == "Prometheus" else "alertmanagers"
    return (f"monitoring: the cluster has no {owner} object (monitoring.coreos.com/v1 {plural}, all namespaces), so "
            f"nothing loads this system's {', '.join(kinds)}: {effects[owner]}. Install one (e.g. "
            "kube-prometheus-stack) whose selectors match them (docs/compile-kubernetes.md section 4).")
