"""Whether an Alertmanager that routes this system's alerts mutes its ``severity: info`` ones for good
(``plan --refresh`` on Kubernetes; audit k8smon-1). The configuration Secrets are read once, with
the SMTP check's (:mod:`mlops_infra.plan.alertmanager_smtp`: :func:`~mlops_infra.plan.alertmanager_smtp.load_config`
parses them, :func:`~mlops_infra.plan.alertmanager_smtp.config_secret` names them).

Rules (each with its source):

- **kube-prometheus-stack mutes every info alert by default.** Its rule ``InfoInhibitor`` (helm-charts
  cf408a29, chart 88.5.3, ``templates/prometheus/rules-1.14/general.rules.yaml``, on unless
  ``defaultRules.disabled.InfoInhibitor: true``) is ``group by (namespace) (ALERTS{severity="info"} ==
  1) unless on (namespace) group by (namespace) (ALERTS{alertname!="InfoInhibitor",
  alertstate="firing", severity=~"warning|critical"} == 1)`` with no ``for`` and the label
  ``severity: none``: it fires, labelled with the namespace, as soon as an info alert of that
  namespace is pending (``ALERTS`` has no ``alertstate`` filter there), unless a warning or critical
  alert is firing in it. The chart's Alertmanager configuration (``values.yaml``
  ``alertmanager.config.inhibit_rules``) holds ``{source_matchers: [alertname = InfoInhibitor],
  target_matchers: [severity = info], equal: [namespace]}``. So an info alert of ours (labelled
  ``namespace: <env namespace>``, ``compile/kubernetes/alerting.py``) is muted before its own ``for``
  ends and stays muted (reproduced on a real Alertmanager 0.25 and promtool 2.42: the audit's
  /tmp/k8smon-out/am).
- **Inhibition comes before every receiver.** Alertmanager mutes an alert when an inhibit rule's
  target matchers match it, a firing alert matching its source matchers has the same value for each
  ``equal`` label (a label absent on both sides is equal), and not both alerts match both sides
  (prometheus/alertmanager 68fb2d575 ``inhibit/inhibit.go`` ``Mutes``, ``hasEqual``). The AlertmanagerConfig
  routes the operator merges into the configuration are ordinary routes of it (prometheus-operator
  v0.89.0 ``pkg/alertmanager/amcfg.go``), so a muted alert reaches no channel and no retrain trigger.
- **Matchers** (``config/common/inhibitrule.go`` ``InhibitRule``): ``source_match``/``target_match``
  (equality), ``source_match_re``/``target_match_re`` (regular expression), and
  ``source_matchers``/``target_matchers``, each string a list of matchers ``name op value`` with op
  ``=``, ``!=``, ``=~``, ``!~``, a value optionally double-quoted, optional braces, commas between
  (``pkg/labels/parse.go`` ``ParseMatchers``, ``ParseMatcher``); a regular expression is anchored
  (``matcher.go`` ``NewMatcher``: ``^(?:<value>)$``); a missing label has the empty value.

What is judged: each alerting rule of the graph that one of our AlertmanagerConfigs' routes takes
(a channel is told, or a retrain trigger is called), with the labels its rule gives it and its
``alertname`` (its expression's series may add more: a matcher on another label is judged as if the
label were absent), against each inhibit rule whose source an ``InfoInhibitor`` alert as the chart
emits it (``alertname: InfoInhibitor``, ``severity: none``, the namespace) matches. Other inhibit
rules mute an alert only while some other alert fires, by the cluster owner's choice, and are not
judged. The fix named is the one this check can see: the inhibit rule removed (or the alerts' severity
raised). Turning the chart's ``InfoInhibitor`` alerting rule off (``defaultRules.disabled.InfoInhibitor``)
also ends the muting, but the chart writes ``alertmanager.config`` into the Secret whatever that flag
(``templates/alertmanager/secret.yaml``; audit closing-38a-1), and this check reads no PrometheusRule, so
it would keep warning: the message says to remove the rule as well. An Alertmanager built from ``spec.alertmanagerConfiguration`` (its inhibit rules in another
AlertmanagerConfig object) is not read.

Contract: :func:`info_alerts` is pure (the graph's routed alerts); :func:`secrets_to_read` names the
configuration Secrets of the Alertmanagers that select their AlertmanagerConfigs;
:func:`inhibit_warnings` takes what was read and returns one warning per Alertmanager whose
configuration mutes some of them, naming the alerts, the channels and training jobs that never hear
them, and the fix; or one saying the check was not made when its Secret could not be read. No text
of the Secret is quoted: an inhibit rule is named by its index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph
from mlops_infra.name_lists import join_names
from mlops_infra.plan.alertmanager_smtp import CONFIG_KEY, SecretAnswer, config_secret, load_config
from mlops_infra.plan.monitoring_selectors import BY_KIND, Monitored, monitoring_objects, verdict

INHIBITOR = "InfoInhibitor"
"""The name of kube-prometheus-stack's alert that inhibits info alerts."""
INHIBITOR_LABELS = {"alertname": INHIBITOR, "severity": "none"}
"""The labels the chart's InfoInhibitor alert carries besides ``namespace`` (``customRules`` may
change its severity; ``additionalAggregationLabels`` add others)."""


@dataclass(frozen=True)
class RoutedAlert:
    """One alerting rule of the graph that some of our AlertmanagerConfigs route: its ``name``, the
    ``labels`` its rule gives it (``alertname`` included) and those AlertmanagerConfigs (``configs``)."""

    name: str
    labels: Mapping[str, str]
    configs: tuple[Monitored, ...]


Matcher = tuple[str, str, str]
"""(label, op, value), op one of ``=``, ``!=``, ``=~``, ``!~``."""


def _matches(matcher: Matcher, labels: Mapping[str, str]) -> bool:
    name, op, value = matcher
    have = labels.get(name, "")
    if op in ("=", "!="):
        return (have == value) is (op == "=")
    try:
        found = re.fullmatch(f"(?:{value})", have, flags=re.DOTALL) is not None
    except re.error:
        return False
    return found is (op == "=~")


def _route_takes(route: Any, labels: Mapping[str, str]) -> bool:
    """Whether an AlertmanagerConfig's ``spec.route`` matchers (v1alpha1 ``Matcher``: ``matchType``
    default ``=``) all match ``labels``."""
    if not isinstance(route, Mapping):
        return False
    matchers = route.get("matchers") or []
    return bool(matchers) and all(isinstance(m, Mapping) and _matches(
        (str(m.get("name", "")), str(m.get("matchType") or "="), str(m.get("value", ""))), labels) for m in matchers)


def info_alerts(graph: DesiredGraph) -> list[RoutedAlert]:
    """The graph's alerting rules with ``severity: info`` that a route of its AlertmanagerConfigs takes."""
    routes = {(r.address, str((r.inputs.get("metadata") or {}).get("name") or "?")): (r.inputs.get("spec") or {}).get("route")
              for r in graph.resources if isinstance(r.inputs, dict) and r.inputs.get("kind") == "AlertmanagerConfig"}
    configs = [o for o in monitoring_objects(graph) if o.kind == "AlertmanagerConfig"]
    found: dict[str, RoutedAlert] = {}
    for r in graph.resources:
        if not isinstance(r.inputs, dict) or r.inputs.get("kind") != "PrometheusRule":
            continue
        for group in (r.inputs.get("spec") or {}).get("groups") or []:
            for rule in (group.get("rules") or []) if isinstance(group, Mapping) else []:
                if not isinstance(rule, Mapping) or "alert" not in rule:
                    continue
                labels = {**{str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                          "alertname": str(rule["alert"])}
                if labels.get("severity") != "info":
                    continue
                taking = tuple(c for c in configs if _route_takes(routes.get((c.address, c.name)), labels))
                if taking:
                    found[labels["alertname"]] = RoutedAlert(labels["alertname"], labels, taking)
    return [found[name] for name in sorted(found)]


def _where(owner: Mapping[str, Any]) -> tuple[str, str]:
    meta = owner.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "?")


def _loaders(alerts: Sequence[RoutedAlert], alertmanagers: Sequence[Mapping[str, Any]],
             ns_labels: Mapping[str, Mapping[str, str]]) -> list[tuple[Mapping[str, Any], list[RoutedAlert]]]:
    """Each Alertmanager (by namespace/name) that selects an AlertmanagerConfig routing some of
    ``alerts``, with those alerts; one built from ``spec.alertmanagerConfiguration`` is left out."""
    selection = BY_KIND["AlertmanagerConfig"]
    out = []
    for owner in sorted(alertmanagers, key=_where):
        if isinstance((owner.get("spec") or {}).get("alertmanagerConfiguration"), Mapping):
            continue
        chosen = [a for a in alerts if any(verdict(selection, owner, c, ns_labels.get(c.namespace) or {}).selects
                                           for c in a.configs)]
        if chosen:
            out.append((owner, chosen))
    return out


def secrets_to_read(alerts: Sequence[RoutedAlert], alertmanagers: Sequence[Mapping[str, Any]] | None,
                    ns_labels: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str]]:
    """The configuration Secrets (namespace, name) whose inhibit rules the check needs (module rules)."""
    if not alerts or not alertmanagers:
        return []
    return sorted({config_secret(owner) for owner, _ in _loaders(alerts, alertmanagers, ns_labels)})


# -- inhibit rules -------------------------------------------------------------------------------

_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
"""``pkg/labels/parse.go`` ``re``."""


def _split(text: str) -> list[str]:
    """``ParseMatchers``' tokens: braces trimmed, commas outside double quotes separate."""
    text = text.removeprefix("{").removesuffix("}")
    tokens, token, quoted, escaped = [], "", False, False
    for ch in text:
        if ch == "," and not quoted:
            tokens.append(token)
            token = ""
            continue
        if ch == '"':
            quoted = quoted if escaped else not quoted
            escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token += ch
    if token.strip():
        tokens.append(token.strip())
    return tokens


def _parse(text: str) -> list[Matcher] | None:
    """``ParseMatchers(text)``, None when Alertmanager would refuse it."""
    out = []
    for token in _split(text):
        found = _MATCHER.match(token)
        if not found:
            return None
        name, op, raw = found.groups()
        value = _unquote(raw)
        if value is None:
            return None
        out.append((name, op, value))
    return out


def _unquote(raw: str) -> str | None:
    """``ParseMatcher``'s value: an optional pair of double quotes, ``\\"``, ``\\n``, ``\\\\`` unescaped (another
    backslash stays), an unescaped inner quote refused (None)."""
    quoted = raw.startswith('"')
    raw = raw[1:] if quoted else raw
    value, i = "", 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i < len(raw) - 1:
            nxt = raw[i + 1]
            value += {"n": "\n", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt)
            i += 2
            continue
        if ch == '"':
            if not quoted or i < len(raw) - 1:
                return None
            quoted = False
        else:
            value += ch
        i += 1
    return None if quoted else value


def _side(rule: Mapping[str, Any], side: str) -> list[Matcher] | None:
    """The ``side`` (``source`` or ``target``) matchers of an inhibit rule, None when unreadable."""
    out: list[Matcher] = []
    for key, op in ((f"{side}_match", "="), (f"{side}_match_re", "=~")):
        pairs = rule.get(key) or {}
        if not isinstance(pairs, Mapping):
            return None
        out += [(str(k), op, str(v)) for k, v in pairs.items()]
    lines = rule.get(f"{side}_matchers") or []
    if not isinstance(lines, list):
        return None
    for line in lines:
        parsed = _parse(str(line))
        if parsed is None:
            return None
        out += parsed
    return out


def mutes_for_good(rule: Any, alert: Mapping[str, str]) -> bool:
    """Whether inhibit ``rule`` mutes an alert labelled ``alert`` whenever an InfoInhibitor alert of
    its namespace fires (module rules: target matches it, source matches the InfoInhibitor, the
    ``equal`` labels agree, not a two-sided match)."""
    if not isinstance(rule, Mapping):
        return False
    source, target = _side(rule, "source"), _side(rule, "target")
    if source is None or target is None:
        return False
    inhibitor = {**INHIBITOR_LABELS, "namespace": alert.get("namespace", "")}
    equal = rule.get("equal") or []
    if not isinstance(equal, list):
        return False
    return (all(_matches(m, alert) for m in target) and all(_matches(m, inhibitor) for m in source)
            and all(inhibitor.get(str(n), "") == alert.get(str(n), "") for n in equal)
            and not (all(_matches(m, alert) for m in source) and all(_matches(m, inhibitor) for m in target)))


# -- warnings ------------------------------------------------------------------------------------


def _told(alerts: Sequence[RoutedAlert]) -> str:
    """Who never hears them: channels (``channels.<c>``) and retrain triggers (``training_jobs.<j>``)."""
    channels = sorted({c.address.split(".", 1)[1] for a in alerts for c in a.configs if c.address.startswith("channels.")})
    jobs = sorted({c.address.split(".", 1)[1] for a in alerts for c in a.configs
                   if c.address.startswith("training_jobs.")})
    parts = []
    if channels:
        parts.append(f"channel{'s' if len(channels) > 1 else ''} {join_names(channels)} "
                     f"never hear{'' if len(channels) > 1 else 's'} them")
    if jobs:
        parts.append(f"training job{'s' if len(jobs) > 1 else ''} {join_names(jobs)} "
                     f"{'are' if len(jobs) > 1 else 'is'} never started by them")
    return " and ".join(parts)


def inhibit_warnings(alerts: Sequence[RoutedAlert], alertmanagers: Sequence[Mapping[str, Any]] | None,
                     ns_labels: Mapping[str, Mapping[str, str]],
                     secrets: Mapping[tuple[str, str], SecretAnswer]) -> list[str]:
    """One warning per Alertmanager that selects the routes of some of ``alerts`` and whose
    configuration (``secrets``, as read) mutes them for good, or whose Secret could not be read (module contract)."""
    if not alerts or not alertmanagers:
        return []
    warnings = []
    for owner, chosen in _loaders(alerts, alertmanagers, ns_labels):
        namespace, name = _where(owner)
        secret_ns, secret_name = config_secret(owner)
        where = f"key {CONFIG_KEY} of Secret {secret_ns}/{secret_name}"
        names = join_names([a.name for a in chosen])
        answer = secrets.get((secret_ns, secret_name), SecretAnswer(error="not read"))
        config = answer.error or load_config(answer.text)
        if isinstance(config, str):
            needs = (f"; needs RBAC permission to get secrets (apiGroups [\"\"]) in namespace {secret_ns}; check with "
                     f"`kubectl auth can-i get secrets/{secret_name} -n {secret_ns}`" if answer.forbidden else "")
            warnings.append(
                f"notifications: could not check the inhibit rules of Alertmanager {namespace}/{name} ({config}{needs}), "
                f"which routes this system's severity info alerts ({names}). kube-prometheus-stack's stock inhibit rule "
                f"(source alertname = {INHIBITOR}, target severity = info, equal namespace) mutes them for good.")
            continue
        rules = config.get("inhibit_rules") or []
        rules = rules if isinstance(rules, list) else []
        muted = [(a, [i for i, rule in enumerate(rules) if mutes_for_good(rule, a.labels)]) for a in chosen]
        muted = [(a, found) for a, found in muted if found]
        if not muted:
            continue
        indexes = sorted({i for _, found in muted for i in found})
        shown = ", ".join(f"inhibit_rules[{i}]" for i in indexes)
        namespaces = ", ".join(sorted({a.labels.get("namespace", "") for a, _ in muted}))
        warnings.append(
            f"notifications: Alertmanager {namespace}/{name} mutes this system's severity info alerts "
            f"{join_names([a.name for a, _ in muted])}: {shown} of {where} mute{'s' if len(indexes) == 1 else ''} an "
            f"info alert while an {INHIBITOR} alert fires in its namespace ({namespaces}), and kube-prometheus-stack's "
            f"{INHIBITOR} rule fires there as soon as one of these alerts is pending, unless a warning or critical "
            f"alert is firing there too; so {_told([a for a, _ in muted])}. Fix: remove {shown} from the "
            "Alertmanager configuration (kube-prometheus-stack values: alertmanager.config.inhibit_rules), or give "
            f"these alerts severity: warning. (defaultRules.disabled.{INHIBITOR}: true stops the muting too, but "
            f"leaves {shown} in this Secret, where this check reads it: remove it as well.)")
    return warnings
