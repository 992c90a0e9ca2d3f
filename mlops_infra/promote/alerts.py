"""The drift alerts of SRC, read for the ``no_drift`` gate: is one firing in the source environment?

Contract:

- :func:`drift_alerts`: the alerts of SRC's effective system whose monitor measures drift or data
  quality (:data:`DRIFT_ALERT_METRICS`: ``feature_drift``, ``prediction_drift``, ``data_quality``),
  sorted by name. Pure.
- :func:`compiled_alarm_names`: each such alert's CloudWatch alarm name, as SRC's compiled graph
  names it (the ``alerts.<name>`` resource of role ``alarm``, its ``name`` input:
  ``compile/aws/alerting.compile_alert``). Pure.
- :func:`read_alarm_states` (the edge): ``DescribeAlarms`` with ``AlarmNames`` (at most 100 per
  call, botocore ``DescribeAlarmsInput.AlarmNames`` max 100; ``NextToken`` followed: the rollout
  gates' reader, :func:`mlops_infra.rollout.gates.cloudwatch.describe_alarm_chunk`), each alarm's
  ``StateValue`` (``OK | ALARM | INSUFFICIENT_DATA``, botocore ``MetricAlarm.StateValue``;
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html). Only
  metric alarms are asked for, which is what the compiler creates ("If you omit this parameter, only
  metric alarms are returned", ``DescribeAlarmsInput.AlarmTypes``). An alarm the answer does not
  hold is reported as missing (``None``).
- :func:`read_prometheus_rules` (the edge, a Kubernetes SRC): the alerting rules Prometheus
  evaluates, ``GET /api/v1/rules?type=alert`` (https://prometheus.io/docs/prometheus/latest/querying/api/#rules:
  ``{"status": "success", "data": {"groups": [{"rules": [{"type": "alerting", "name", "state":
  "inactive"|"pending"|"firing", "labels"}]}]}}``). The compiled PrometheusRule names its rule
  exactly like the alert and labels it with SRC's ``namespace`` (``compile/kubernetes/alerting.py``);
  a rule of another namespace label is not SRC's. The same answer holds each drift alert's monitor's
  ``monitor_silent_<monitor>`` rule (:func:`mlops_infra.compile.monitor_silence.silent_alert`,
  compiled by ``compile/kubernetes/monitoring.silence_rule`` with the same ``namespace`` label):
  when it is firing the monitor has published no value, the drift alert's expression returns no
  series and Prometheus reports the alert ``inactive`` (an alerting rule with no result has no
  active alert), so the alert's verdict is ``unknown`` and the gate fails closed, as a CloudWatch
  alarm with no data (``INSUFFICIENT_DATA``) does on AWS (audit finding xpromote-4). Rules, not ``/api/v1/alerts``
  (as :class:`mlops_infra.rollout.gates.prometheus.PrometheusGates` reads them too, audit k8srbac-7): the alerts endpoint lists
  only pending and firing alerts, so an alert whose rule Prometheus never loaded would read as
  quiet; a rule that is not listed here is *not found* and the gate fails closed. Tested against a
  real Prometheus (tests/support/prometheus.py).
- :class:`AlertState` is one alert's reading; :meth:`AlertState.verdict` says ``firing`` (ALARM,
  firing), ``unknown`` (INSUFFICIENT_DATA, not found, its monitor silent: the gate fails closed) or ``quiet`` (OK,
  inactive, pending: a ``for`` not yet elapsed).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DRIFT_ALERT_METRICS = frozenset({"feature_drift", "prediction_drift", "data_quality"})
"""Monitor metrics whose alerts say the data drifted (the alerts that trigger a retrain)."""
FIRING, UNKNOWN, QUIET = "firing", "unknown", "quiet"


@dataclass(frozen=True)
class AlertState:
    """One drift alert of SRC as read: ``watched`` is what was read (the CloudWatch alarm's name),
    ``state`` its state (``ALARM``, ``OK``, ``INSUFFICIENT_DATA``) or None when it was not found."""

    alert: str
    watched: str
    state: str | None
    reason: str = ""
    source: str = "alarm"
    """What ``watched`` names: ``alarm`` (CloudWatch) or ``Prometheus rule``."""
    silent: bool = False
    """True when the alert's monitor is known to publish nothing (its ``monitor_silent_<monitor>``
    rule is firing): an alert that is not firing then says nothing, and the verdict is unknown."""

    def verdict(self) -> str:
        if self.state in ("ALARM", "firing"):
            return FIRING
        if self.silent:
            return UNKNOWN
        return QUIET if self.state in ("OK", "inactive", "pending") else UNKNOWN

    def line(self) -> str:
        state = self.state or "not found"
        tail = f": {self.reason}" if self.reason else ""
        return f"alert {self.alert} ({self.source} {self.watched}): {state}{tail}"


def drift_alerts(system: Any) -> list[Any]:
    """The alerts of ``system`` watching a drift or data-quality monitor (see the module contract)."""
    metrics = {m.name: m.metric for m in system.monitors}
    return sorted((a for a in system.alerts if metrics.get(a.monitor) in DRIFT_ALERT_METRICS), key=lambda a: a.name)


def compiled_alarm_names(graph: Any, alerts: Iterable[Any]) -> dict[str, str | None]:
    """Alert name -> the CloudWatch alarm name SRC's graph gives it (None: the graph has none)."""
    names = {r.address.removeprefix("alerts."): r.inputs.get("name") for r in graph.resources
             if r.role == "alarm" and r.address.startswith("alerts.")}
    return {a.name: names.get(a.name) for a in alerts}


def read_alarm_states(cloudwatch: Any, names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Alarm name -> (``StateValue``, ``StateReason``) of each alarm found (see the module contract)."""
    from mlops_infra.rollout.gates.cloudwatch import alarm_name_chunks, describe_alarm_chunk

    found: dict[str, tuple[str, str]] = {}
    for chunk in alarm_name_chunks(sorted(set(names))):
        for name, alarm in describe_alarm_chunk(cloudwatch, chunk).items():
            found[name] = (alarm.get("StateValue") or "", alarm.get("StateReason") or "")
    return found


def alert_states(alarms: Mapping[str, str | None], states: Mapping[str, tuple[str, str]]) -> tuple[AlertState, ...]:
    """Each alert's reading from the states read (an alert without a compiled alarm, or whose alarm
    was not found, has state None)."""
    out = []
    for alert, name in sorted(alarms.items()):
        state, reason = states.get(name, (None, "")) if name else (None, "no alarm is compiled for it")
        out.append(AlertState(alert, name or "-", state, reason if state != "OK" else ""))
    return tuple(out)


PROMETHEUS_TIMEOUT = 30
_RULE_ORDER = {"firing": 2, "pending": 1, "inactive": 0}


def read_prometheus_rules(url: str, alerts: Iterable[Any], namespace: str, *,
                          opener: Callable[..., Any] = urllib.request.urlopen) -> tuple[AlertState, ...]:
    """Each alert's rule state in the Prometheus at ``url`` (see the module contract); a transport
    error or an answer that is not ``success`` raises (``OSError``, ``ValueError``, ``KeyError``...)."""
    query = urllib.parse.urlencode({"type": "alert"})
    with opener(f"{url.rstrip('/')}/api/v1/rules?{query}", timeout=PROMETHEUS_TIMEOUT) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise ValueError(f"Prometheus answered status {body.get('status')!r}: {body.get('error', '')}")
    found: dict[str, str] = {}
    for group in body["data"]["groups"]:
        for rule in group.get("rules") or ():
            labels = rule.get("labels") or {}
            if rule.get("type") != "alerting" or labels.get("namespace") not in (None, namespace):
                continue
            name, state = rule.get("name"), str(rule.get("state") or "inactive")
            if _RULE_ORDER.get(state, 0) >= _RULE_ORDER.get(found.get(name, ""), -1):
                found[name] = state
    from mlops_infra.compile.monitor_silence import silent_alert

    out = []
    for a in alerts:
        silence = silent_alert(a.monitor)
        silent = found.get(silence) == "firing"
        reason = (f"monitor {a.monitor} is not measuring: its rule {silence} is firing (it has published no value "
                  "recently, so this alert cannot fire)") if silent else ""
        out.append(AlertState(a.name, f"{a.name} (namespace {namespace})", found.get(a.name), reason,
                              source="Prometheus rule", silent=silent))
    return tuple(out)
