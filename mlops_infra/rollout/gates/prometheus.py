"""Gates from Prometheus: the state of the rollback alerts' rules (``GET /api/v1/rules?type=alert``).

Contract: :class:`PrometheusGates` asks Prometheus' HTTP API, once per pass, for its alerting rules
(https://prometheus.io/docs/prometheus/latest/querying/api/#rules: ``{"status": "success", "data":
{"groups": [{"interval": ..., "rules": [{"type": "alerting", "name": ..., "query": ..., "duration": ...,
"labels": {...}, "alerts": [{"labels": {...}, "state": "pending"|"firing", "value": "..."}]}]}]}}``).
A gate's rule is the alerting rule named like it whose ``namespace`` label is :attr:`namespace` (the
compiled PrometheusRule ``alert-<name>`` carries it: ``compile/kubernetes/alerting.py``); its alerts
are that rule's active alerts, the very list ``GET /api/v1/alerts`` concatenates over every rule
(prometheus ``web/api/v1/api.go``: ``rules`` fills ``AlertingRule.Alerts`` with
``rulesAlertsToAPIAlerts(rule.ActiveAlerts())``, ``alerts`` appends the same for each
``AlertingRules()`` entry; v2.42.0 lines 1122-1133 and 1314, d15adb9 lines 1549-1562 and 1816; the
``exclude_alerts`` parameter, not sent, would drop them). A gate is ``firing`` when an alert of its
rule is ``firing``; ``pending`` when one is ``pending`` and none ``firing``; ``ok`` when none is active.

A rule Prometheus does not load is not ``ok`` (audit k8srbac-7). Only the alerting rules of the groups
a Prometheus loaded ever have active alerts (same source), so "no alert of that name" cannot tell "not
firing" from "not evaluated here". The URL may well reach a Prometheus that does not load the
rollout's rules: the runner's default, ``prometheus-operated.monitoring``, is the headless governing
Service the Prometheus operator makes for EVERY Prometheus of a namespace (prometheus-operator
``pkg/prometheus/server/statefulset.go`` line 38 ``governingServiceName = "prometheus-operated"``,
``server/operator.go`` lines 1013-1019 with selector ``app.kubernetes.io/name: prometheus``, line 61;
``pkg/prometheus/common.go`` line 503 ``ClusterIP: corev1.ClusterIPNone``; 6adcebc), so with two
Prometheus servers there each pass asks either, and with the rules loaded by a Prometheus elsewhere,
always the wrong one. Read as ``ok``, a canary advanced past a firing rollback alert. So a gate with no
rule (by name and ``namespace`` label) in the answer is ``unreadable``, its detail naming the URL and
the fix: it holds the rollout, then rolls it back after the gate timeout, like any gate that cannot
be read (never advance blind). A rule whose last evaluation failed (``health`` ``err``, its
``lastError``: prometheus ``rules/manager.go`` ``Group.Eval``, v2.42.0 lines 629-633, ``SetHealth(HealthBad)``
when ``rule.Eval`` returns an error, and ``rules/alerting.go`` ``AlertingRule.Eval`` line 325-327
returns before touching its active alerts) shows alerts of its last good evaluation only: ``firing``
if one of them fires (stricter), else ``unreadable`` with the error. A rule not evaluated yet (``health``
``unknown``, prometheus ``rules/rule.go`` ``HealthUnknown``: what a rule has from its load until its
group's first evaluation, in a Prometheus that just started or reloaded) has no alerts whatever its
expression gives: ``unreadable`` too, not ``ok`` (audit closing-44b-2), until it is evaluated.

Pending is not healthy: Prometheus puts an alert whose
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
revision alone: the rule's expression and ``for`` come from the same answer (each alerting rule's
``query``, ``duration`` (``for``, seconds) and ``labels``, each group's ``interval``; prometheus
``web/api/v1/api.go`` ``AlertingRule``, ``RuleGroup``), and the expression without its outer aggregation
(:data:`PER_REVISION`) is queried (``/api/v1/query``) for the revisions breaching now. The canary
not among them: ``ok``, and the breaching revisions are reported in ``GateReading.stable``. Among
them: ``pending``, or ``firing`` when the alert fires and the canary's condition held at every step
of a subquery over the last ``for`` at the group's evaluation interval (``count_over_time((cond)[for:
interval])``): what ``AlertingRule.Eval`` requires of the alert (held since ``ActiveAt`` for
``holdDuration``), for the canary's series alone. An alert that is not per revision (a pushed drift
score has no ``revision_name``), a rule that cannot be found or split, or no ``canary`` known: the
alert's own state, as before (it can only be stricter). The extra queries are made only while an
alert of the rollout is active.

Pending has a bound. A ``pending`` reading carries ``hold`` = 2 x (the rule's ``for`` + the recording
rule's 1m window, :data:`RECORDING_WINDOW_SECONDS`): a breach that persists fires within ``for`` plus
that window (plus the sparse-traffic hold, which is shorter than ``for``), so an alert still pending at
every pass for twice that long flaps (its condition breaks before each ``for`` elapses, and Prometheus
starts ``for`` again: ``AlertingRule.Eval`` deletes a pending alert absent from the result). The
reconciler rolls back after it (``rollout/reconcile.py`` rule 8).

Requests (audit rolloutaws-3, the Kubernetes half). A canary revision that serves no request records
no latency or error-rate sample (``compile/kubernetes/monitoring.py``, "Sparse traffic"), its alerts
never turn active and every gate reads ``ok``. So, given ``canary``, every readable reading carries
``GateReading.requests``: the requests revision ``canary`` served in the step (from ``since`` to
``now``), counted from the queue-proxy counter the monitors read, ``revision_app_request_count``
(:data:`COUNTER`) with ``revision_name`` = ``canary`` (and ``namespace_name`` = :attr:`namespace`), every
``response_code_class`` (a 5xx was served too); the reconciler holds a baked step under the plan's
``minRequestsPerStep`` (``rollout/reconcile.py`` rule 10), as on AWS (``gates/cloudwatch.py``,
"Requests"). The counter, as Knative 1.13 to 1.18 exports it (knative/serving knative-v1.17.0):
``pkg/queue/request_metric.go`` l.50-53 ``app_request_count``, "The number of requests that are routed
to user-container", a ``view.Count()`` (l.143-147) keyed by pod, container, response code and class
(l.142), recorded once per request that is not a probe (l.180-199: ``netheader.IsProbe`` requests are
not counted); exported under the component ``revision`` (``pkg/queue/sharedmain/main.go`` l.441), so
``revision_app_request_count``, with the revision's labels ``namespace_name`` and ``revision_name``
(``pkg/metrics/key.go`` l.41-44) and the pod's ``pod_name`` (``pkg/metrics/tags.go``
``PodRevisionContext`` l.96). What that means for counting:
- One series per pod (and response class): the count sums every series of the revision.
- A series exists only from a pod's first request (an OpenCensus view has a row for a tag set only
  once a sample was recorded with it: go.opencensus.io v0.24.0 ``stats/view/collector.go``
  ``collector.addSample`` makes it, ``collectedRows`` exports only those), so PromQL ``increase`` over the step misses that first sample's requests (it sees one
  sample, or counts from it). The reader therefore fetches each series' raw samples (a range
  selector, ``[<step> + 5m]`` at ``now``) and counts, per series, from its value at the step's start
  (its last sample at or before ``since``, within :data:`LOOKBACK_SECONDS`, Prometheus' default
  lookback: what an instant query at ``since`` shows), absent = 0.
- A pod's counter restarts at 0 when its queue-proxy restarts (the count lives in memory): a sample
  below the one before it is a reset and counts its whole value (Prometheus' own rule for counters,
  https://prometheus.io/docs/prometheus/latest/querying/functions/#resets). A new pod is a new series.
- Requests served since the pod's last scrape are not counted yet: a held step counts them at a
  later pass (rule 10 waits for them). Requests counted before a pod died stay counted.
- No series of the revision (Knative 1.19 exports OpenTelemetry metrics under other names, which the
  compiled rules do not read either: ``spec/latency_buckets.py``) counts 0: the step holds, then rolls
  back after the gate timeout, saying "served 0 requests" (never "enough").
Without ``canary`` (``drivers/kserve.py`` ``observe_isvc``: no rollout of the observed version's
revision known, its Knative Revision unreadable, or KServe's status not updated yet; and in KServe's
RawDeployment/Standard mode, which makes no Knative revision and no queue-proxy, so there is neither
a revision to name nor a series to count) the count is not read: ``requests`` stays None and rule 10
does not apply (docs/rollout.md, "Not done yet"). The compiled InferenceService is Serverless
(``compile/kubernetes/serving.py``; the preflight checks KServe's default mode).

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
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

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


COUNTER = "revision_app_request_count"
"""The queue-proxy's request counter, one series per pod and response class (module contract, "Requests")."""
LOOKBACK_SECONDS = 300
"""How far before the step's start a series' last sample is its value there: Prometheus' default
``--query.lookback-delta`` (5m), the horizon of an instant query at ``since``."""


SETTINGS = "mlops-rollout-settings"
"""The runner's optional settings ConfigMap (``compile/kubernetes/rollout_runner.py`` ``SETTINGS``; this
module is shipped to the runner and imports nothing of the compiler)."""


class Rule(NamedTuple):
    """A gate's alerting rule as Prometheus lists it (``GET /api/v1/rules?type=alert``)."""

    query: str
    duration: float
    """``for``, seconds."""
    interval: float
    """The rule group's evaluation interval, seconds."""
    alerts: tuple[dict[str, Any], ...]
    """The rule's active alerts (``pending`` or ``firing``)."""
    error: str = ""
    """``lastError`` when its ``health`` is ``err`` (its last evaluation failed), else ""."""
    evaluated: bool = True
    """False while its ``health`` is ``unknown`` (not evaluated yet: module contract)."""


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

    def _rules(self) -> dict[str, Rule]:
        """Alert name -> its alerting rule whose ``namespace`` label is :attr:`namespace` (any, when None);
        two such rules (two groups): the first one's expression, both one's alerts."""
        found: dict[str, Rule] = {}
        for group in self._get("/api/v1/rules", {"type": "alert"})["groups"]:
            for rule in group.get("rules") or []:
                labels = rule.get("labels") or {}
                if rule.get("type") != "alerting" or (self.namespace is not None
                                                      and labels.get("namespace") != self.namespace):
                    continue
                name = str(rule["name"])
                error = str(rule.get("lastError") or "error") if rule.get("health") == "err" else ""
                alerts = tuple(rule.get("alerts") or ())
                evaluated = rule.get("health") != "unknown"
                if name in found:
                    first = found[name]
                    found[name] = first._replace(alerts=first.alerts + alerts, error=first.error or error,
                                                 evaluated=first.evaluated and evaluated)
                else:
                    found[name] = Rule(str(rule["query"]), float(rule.get("duration") or 0),
                                       float(group.get("interval") or 0), alerts, error, evaluated)
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
            rules = self._rules()
            readings = [self._reading(name, rules.get(name)) for name in spec.gates]
            if canary is not None:
                readings = [self._judged(r, rules[r.name], canary)
                            if r.state in ("pending", "firing") and not rules[r.name].error else r
                            for r in readings]  # a failing rule's leftover alert stays firing (review44-core-1)
                served = self._served(canary, since, now)
                readings = [r if r.state == "unreadable" else replace(r, requests=served) for r in readings]
            return [_bounded(r, rules.get(r.name)) for r in readings]
        except (OSError, ValueError, KeyError, TypeError, IndexError, urllib.error.URLError) as exc:
            cause = f"Prometheus at {self.url}: {type(exc).__name__}: {exc}"[:300]
            return [GateReading(name, "unreadable", detail=cause) for name in spec.gates]

    def _judged(self, reading: GateReading, rule: Rule, canary: str) -> GateReading:
        """An active alert judged on revision ``canary``'s own series (module contract, "The new
        revision's own series"); ``reading`` as it is when the rule cannot be split per revision."""
        parts = PER_REVISION.match(rule.query)
        if parts is None:
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
        for_seconds, interval = rule.duration, rule.interval or 60.0
        if reading.state == "firing" and self._held(condition, canary, for_seconds, interval):
            return GateReading(reading.name, "firing", value, f"alert firing on revision {canary}", stable)
        return GateReading(reading.name, "pending", value, f"alert pending on revision {canary}", stable)

    def _served(self, canary: str, since: float, now: float) -> float:
        """The requests revision ``canary`` served from ``since`` to ``now`` (module contract, "Requests")."""
        labels = f'revision_name="{_escaped(canary)}"'
        if self.namespace is not None:
            labels = f'namespace_name="{_escaped(self.namespace)}", {labels}'
        reach = max(0.0, now - since) + LOOKBACK_SECONDS
        found = self._get("/api/v1/query", {"query": f"{COUNTER}{{{labels}}}[{round(reach * 1000)}ms]",
                                            "time": f"{now:.3f}"})
        return sum(counted([(float(t), float(v)) for t, v in row["values"]], since) for row in found["result"])

    def _held(self, condition: str, canary: str, for_seconds: float, interval: float) -> bool:
        """Whether ``condition`` held for revision ``canary`` at every evaluation of the last ``for``
        (a subquery at the rule group's interval; module contract)."""
        if for_seconds <= 0:
            return True
        steps = self._vector(f"count_over_time(({condition})[{round(for_seconds * 1000)}ms:"
                             f"{max(1, round(interval * 1000))}ms])")
        return steps.get(canary, 0) >= math.floor(for_seconds / interval)

    def _reading(self, name: str, rule: Rule | None) -> GateReading:
        if rule is None:
            return GateReading(name, "unreadable", detail=self._not_loaded(name))
        firing = [a for a in rule.alerts if a.get("state") == "firing"]
        chosen = firing or list(rule.alerts)
        value = _number(chosen[0].get("value")) if chosen else None
        if firing:
            return GateReading(name, "firing", value, "alert firing")
        if rule.error:
            return GateReading(name, "unreadable", detail=f"Prometheus at {self.url} fails to evaluate alert "
                                                          f"{name}: {rule.error}"[:300])
        if not rule.evaluated:
            return GateReading(name, "unreadable", detail=f"Prometheus at {self.url} has not evaluated alert {name} "
                                                          "yet (rule health unknown: it just loaded the rule)"[:300])
        if chosen:
            return GateReading(name, "pending", value, "alert pending")
        return GateReading(name, "ok")

    def _not_loaded(self, name: str) -> str:
        """The detail of a gate whose rule this Prometheus does not load (module contract)."""
        where = f" of namespace {self.namespace}" if self.namespace else ""
        return (f"Prometheus at {self.url} does not evaluate alert {name}{where}: point the rollout at the "
                f"Prometheus that loads PrometheusRule alert-{name} (the runner: key prometheusUrl of ConfigMap "
                f"{SETTINGS}; mlops-infra rollout: --prometheus-url)")[:300]


def _bounded(reading: GateReading, rule: Rule | None) -> GateReading:
    """A pending ``reading`` with its ``hold``: 2 x (the rule's ``for`` + :data:`RECORDING_WINDOW_SECONDS`)
    (module contract, "Pending has a bound")."""
    if reading.state != "pending" or rule is None:
        return reading
    return GateReading(reading.name, reading.state, reading.value, reading.detail, reading.stable,
                       2 * (rule.duration + RECORDING_WINDOW_SECONDS))


def counted(samples: Sequence[tuple[float, float]], since: float) -> float:
    """The requests one counter series gained after ``since``, from its raw ``(time, value)`` samples in
    time order: from its last sample at or before ``since`` (none: 0, the series began with a request in
    the step), a sample below the one before it being a restart from 0 (module contract, "Requests")."""
    before = [value for stamp, value in samples if stamp <= since]
    previous, total = (before[-1] if before else 0.0), 0.0
    for stamp, value in samples:
        if stamp > since:
            total += value - previous if value >= previous else value
            previous = value
    return total


def _escaped(value: str) -> str:
    """``value`` inside a PromQL double-quoted label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
