"""Gates from Prometheus: the state of the rollback alerts (``GET /api/v1/alerts``).

Contract: :class:`PrometheusGates` asks Prometheus' HTTP API for its active alerts
(https://prometheus.io/docs/prometheus/latest/querying/api/#alerts: ``{"status": "success", "data":
{"alerts": [{"labels": {"alertname": ...}, "state": "pending"|"firing", "value": "..."}]}}``). A gate
is ``firing`` when an alert of that name (and, when ``namespace`` is given, that ``namespace`` label,
which the compiled PrometheusRules carry) is ``firing``; ``pending`` when one is ``pending`` and none
``firing``; ``ok`` when none is active. Pending is not healthy: Prometheus puts an alert whose
expression holds in ``StatePending`` and makes it firing only once it has held for the rule's ``for``
(prometheus ``rules/alerting.go`` ``AlertingRule.Eval``: ``if a.State == StatePending &&
ts.Sub(a.ActiveAt) >= r.holdDuration { a.State = StateFiring``), and drops it when the expression
stops holding. Read as ``ok``, a canary breaching from its first request was carried past every step
whose bake is at most ``for`` (plus the recording rule's 1m rate window before the expression can hold
at all), and a breach in the last step ended in ``finished``; the reconciler now waits at the end of a
bake while a gate is pending (``rollout/reconcile.py`` rule 8), which lasts at most ``for`` (audit
rolloutrun-1; ``tests/rollout/test_pending_gates.py``). A minute in which the canary revision served no request neither breaks nor
counts against the alert's streak within its hold (``compile/kubernetes/monitoring.py``, "Sparse
traffic"), so a sparse canary failing every request is ``firing`` within about ``for`` plus its gap.

The new revision's own series (audit rolloutrun-3). The compiled alert takes the worst revision
(``compile/kubernetes/monitoring.py`` ``unhealthy_expr``: ``max without (revision_name) (...) > t``) and
carries no ``revision_name``, so an alert firing on the STABLE revision (an incident the new version is
to fix) fired the gate of every new version at its first step, and the notice gave the stable
revision's value as the new version's. Given ``canary`` (``Observed.canary``: the Knative revision
that serves the new version's share, ``drivers/kserve.py``), an active alert is judged on that
revision alone: the rule's expression and ``for`` come from ``GET /api/v1/rules?type=alert``
(https://prometheus.io/docs/prometheus/latest/querying/api/#rules: each alerting rule's ``query``,
``duration`` (``for``, seconds) and ``labels``, each group's ``interval``; prometheus
``web/api/v1/api.go`` ``AlertingRule``, ``RuleGroup``), the rule is matched by name and, when
``namespace`` is given, its ``namespace`` label, and the expression without its outer aggregation
(:data:`PER_REVISION`) is queried (``/api/v1/query``) for the revisions breaching now. The canary
not among them: ``ok``, and the breaching revisions are reported in ``GateReading.stable``. Among
them: ``pending``, or ``firing`` when the alert fires and the canary's condition held at every step
of a subquery over the last ``for`` at the group's evaluation interval (``count_over_time((cond)[for:
interval])``): what ``AlertingRule.Eval`` requires of the alert (held since ``ActiveAt`` for
``holdDuration``), for the canary's series alone. An alert that is not per revision (a pushed drift
score has no ``revision_name``), a rule that cannot be found or split, or no ``canary`` known: the
alert's own state, as before (it can only be stricter). The extra requests are made only while an
alert of the rollout is active.

Pending has a bound. A ``pending`` reading carries ``hold`` = 2 x (the rule's ``for`` + the recording
rule's 1m window, :data:`RECORDING_WINDOW_SECONDS`): a breach that persists fires within ``for`` plus
that window (plus the sparse-traffic hold, which is shorter than ``for``), so an alert still pending at
every pass for twice that long flaps (its condition breaks before each ``for`` elapses, and Prometheus
starts ``for`` again: ``AlertingRule.Eval`` deletes a pending alert absent from the result). The
reconciler rolls back after it (``rollout/reconcile.py`` rule 8). A rule it cannot find (an active
alert has one, unless its ``namespace`` label differs from the rule's): no ``hold``.

Any transport error, non-200 answer or malformed body makes every gate ``unreadable`` with the
cause. Requests time out after ``timeout`` seconds. Standard library only, so the in-cluster CronJob
needs nothing beyond the package.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mlops_infra.rollout.model import GateReading, RolloutSpec

PER_REVISION = re.compile(
    r"^\s*(?:max|min)\s+without\s*\(\s*revision_name\s*\)\s*\((?P<inner>.*)\)"
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<threshold>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$", re.S)
"""The compiled alert expression (``compile/kubernetes/monitoring.py`` ``unhealthy_expr``: the worst
revision's value against the threshold), as written or as Prometheus prints it back in
``/api/v1/rules`` (promql ``AggregateExpr.String``: ``max without (revision_name) (...)``)."""
REVISION = "revision_name"
RECORDING_WINDOW_SECONDS = 60
"""The range of the compiled latency and error-rate recording rules (``compile/kubernetes/monitoring.py``
``WINDOW_SECONDS``): a breach shows in the recorded value within it."""


class PrometheusGates:
    def __init__(self, url: str, *, namespace: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.namespace, self.timeout = url.rstrip("/"), namespace, timeout

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=self.timeout) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise ValueError(f"Prometheus answered status {body.get('status')!r}: {body.get('error', '')}")
        return body["data"]

    def _alerts(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alerts")["alerts"])

    def _rules(self) -> dict[str, tuple[str, float, float]]:
        """Alert name -> (its expression, ``for`` and its group's evaluation interval, in seconds), of the
        alerting rules of :attr:`namespace` (their ``namespace`` label, as the alerts are matched)."""
        found: dict[str, tuple[str, float, float]] = {}
        for group in self._get("/api/v1/rules", {"type": "alert"})["groups"]:
            for rule in group.get("rules") or []:
                labels = rule.get("labels") or {}
                if rule.get("type") == "alerting" and (self.namespace is None
                                                      or labels.get("namespace") in (None, self.namespace)):
                    found[str(rule["name"])] = (str(rule["query"]), float(rule.get("duration") or 0),
                                                float(group.get("interval") or 0))
        return found

    def _vector(self, expr: str) -> dict[str | None, float]:
        """``revision_name`` (None: a series without one) -> value of the instant query ``expr``."""
        out: dict[str | None, float] = {}
        for row in self._get("/api/v1/query", {"query": expr})["result"]:
            out[(row.get("metric") or {}).get(REVISION)] = float(row["value"][1])
        return out

    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]:
        if not spec.gates:
            return []
        try:
            alerts = self._alerts()
            readings = [self._reading(name, alerts) for name in spec.gates]
            if all(r.state == "ok" for r in readings):
                return readings
            rules = self._rules()
            if canary is not None:
                readings = [r if r.state == "ok" else self._judged(r, rules.get(r.name), canary) for r in readings]
            return [_bounded(r, rules.get(r.name)) for r in readings]
        except (OSError, ValueError, KeyError, TypeError, IndexError, urllib.error.URLError) as exc:
            cause = f"Prometheus at {self.url}: {type(exc).__name__}: {exc}"[:300]
            return [GateReading(name, "unreadable", detail=cause) for name in spec.gates]

    def _judged(self, reading: GateReading, rule: tuple[str, float, float] | None, canary: str) -> GateReading:
        """An active alert judged on revision ``canary``'s own series (module contract, "The new
        revision's own series"); ``reading`` as it is when the rule cannot be split per revision."""
        parts = PER_REVISION.match(rule[0]) if rule is not None else None
        if rule is None or parts is None:
            return reading
        condition = f"({parts['inner']}) {parts['op']} {parts['threshold']}"
        breaching = self._vector(condition)
        if None in breaching:  # a value that is not per revision (a pushed score): the alert is the version's
            return reading
        others = ", ".join(f"revision {name} = {value:g}" for name, value in sorted(breaching.items())
                           if name != canary)
        stable = f"{others} (alert {reading.state}; not revision {canary})" if others else ""
        if canary not in breaching:
            return GateReading(reading.name, "ok", None, f"revision {canary} within its threshold", stable)
        value = breaching[canary]
        for_seconds, interval = rule[1], rule[2] or 60.0
        if reading.state == "firing" and self._held(condition, canary, for_seconds, interval):
            return GateReading(reading.name, "firing", value, f"alert firing on revision {canary}", stable)
        return GateReading(reading.name, "pending", value, f"alert pending on revision {canary}", stable)

    def _held(self, condition: str, canary: str, for_seconds: float, interval: float) -> bool:
        """Whether ``condition`` held for revision ``canary`` at every evaluation of the last ``for``
        (a subquery at the rule group's interval; module contract)."""
        if for_seconds <= 0:
            return True
        steps = self._vector(f"count_over_time(({condition})[{round(for_seconds * 1000)}ms:"
                             f"{max(1, round(interval * 1000))}ms])")
        return steps.get(canary, 0) >= math.floor(for_seconds / interval)

    def _reading(self, name: str, alerts: list[dict[str, Any]]) -> GateReading:
        mine = [a for a in alerts if (a.get("labels") or {}).get("alertname") == name
                and (self.namespace is None or (a.get("labels") or {}).get("namespace") in (None, self.namespace))]
        firing = [a for a in mine if a.get("state") == "firing"]
        chosen = firing or mine
        value = _number(chosen[0].get("value")) if chosen else None
        if firing:
            return GateReading(name, "firing", value, "alert firing")
        if mine:
            return GateReading(name, "pending", value, "alert pending")
        return GateReading(name, "ok")


def _bounded(reading: GateReading, rule: tuple[str, float, float] | None) -> GateReading:
    """A pending ``reading`` with its ``hold``: 2 x (the rule's ``for`` + :data:`RECORDING_WINDOW_SECONDS`)
    (module contract, "Pending has a bound")."""
    if reading.state != "pending" or rule is None:
        return reading
    return GateReading(reading.name, reading.state, reading.value, reading.detail, reading.stable,
                       2 * (rule[1] + RECORDING_WINDOW_SECONDS))


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
