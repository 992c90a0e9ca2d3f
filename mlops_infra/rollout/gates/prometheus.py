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
traffic"), so a sparse canary failing every request is ``firing`` within about ``for`` plus its gap. Any transport error, non-200 answer or malformed body makes every gate
``unreadable`` with the cause. Requests time out after ``timeout`` seconds. Standard library only, so
the in-cluster CronJob needs nothing beyond the package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from mlops_infra.rollout.model import GateReading, RolloutSpec


class PrometheusGates:
    def __init__(self, url: str, *, namespace: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.namespace, self.timeout = url.rstrip("/"), namespace, timeout

    def _alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=self.timeout) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise ValueError(f"Prometheus answered status {body.get('status')!r}: {body.get('error', '')}")
        return list(body["data"]["alerts"])

    def read(self, spec: RolloutSpec, since: float, now: float) -> list[GateReading]:
        if not spec.gates:
            return []
        try:
            alerts = self._alerts()
        except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
            cause = f"Prometheus at {self.url}: {type(exc).__name__}: {exc}"[:300]
            return [GateReading(name, "unreadable", detail=cause) for name in spec.gates]
        return [self._reading(name, alerts) for name in spec.gates]

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


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
