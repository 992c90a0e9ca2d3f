"""A Prometheus that does not evaluate a rollout's rules cannot say they are quiet (audit k8srbac-7).

The runner's default URL, ``prometheus-operated.monitoring``, is the governing Service of every
Prometheus of that namespace, so a pass may ask a Prometheus that loads none of the rollout's
PrometheusRules. Such a Prometheus lists no alert of their names, and :class:`PrometheusGates` read
that as ``ok``: a canary advanced past a firing rollback alert. Now a gate whose rule (by name and
``namespace`` label) the answer of ``GET /api/v1/rules?type=alert`` does not hold is ``unreadable``,
naming the fix, so the rollout holds and then rolls back. Every case runs on a real Prometheus
(tests/support/prometheus.py).
"""

from __future__ import annotations

import time

from mlops_infra.compile.kubernetes import rollout_runner
from mlops_infra.rollout.gates import prometheus
from mlops_infra.rollout.gates.prometheus import PrometheusGates
from mlops_infra.rollout.model import Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from tests.support.prometheus import PrometheusStack, require

NS = "fraud-dev"
SPEC = RolloutSpec("scorer", "canary", (2, 5, 100), 600, ("scorer-latency", "scorer-errors"), 900, "kubernetes")


def rule(alert: str, expr: str, namespace: str = NS) -> dict:
    return {"alert": alert, "expr": expr, "for": "1s", "labels": {"namespace": namespace, "severity": "critical"}}


RULES = {"groups": [{"name": "alert-scorer-latency", "rules": [
    rule("scorer-latency", 'max(scorer_p99_ms{job="serving"}) > 250')]}, {"name": "alert-scorer-errors", "rules": [
        rule("scorer-errors", 'max(scorer_error_ratio{job="serving"}) > 0.01')]}]}


def test_a_prometheus_that_does_not_load_the_rule_is_unreadable_not_ok(tmp_path):
    """No rule loaded, the latency breaching (nothing evaluates it): both gates were ``ok``."""
    require()
    with PrometheusStack(tmp_path) as stack:
        stack.push("serving", "scorer_p99_ms 900\nscorer_error_ratio 0.5")
        stack.wait_for_value('scorer_p99_ms{job="serving"}', lambda v: v == 900)
        url = stack.prometheus_url
        readings = PrometheusGates(url, namespace=NS, timeout=5).read(SPEC, 0, time.time())
    assert [(r.name, r.state) for r in readings] == [("scorer-latency", "unreadable"), ("scorer-errors", "unreadable")]
    for reading in readings:
        assert reading.detail.startswith(f"Prometheus at {url} does not evaluate alert "
                                         f"{reading.name} of namespace {NS}: ")
        assert f"PrometheusRule alert-{reading.name}" in reading.detail
        assert f"key prometheusUrl of ConfigMap {rollout_runner.SETTINGS}" in reading.detail


def test_a_rollout_asking_the_wrong_prometheus_holds_then_rolls_back_instead_of_advancing(tmp_path):
    """The end of a baked step: with the rules elsewhere the reconciler moved 2 % -> 5 %; now it holds,
    and rolls back at the gate timeout, saying why."""
    require()
    with PrometheusStack(tmp_path) as stack:
        readings = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5).read(SPEC, 0, time.time())
    t0 = 1_800_000_000.0
    baked = Observed("2", "1", 2, status=RolloutStatus("progressing", "2", "1", 0, t0, in_effect=t0))
    held = reconcile(SPEC, baked, readings, t0 + SPEC.bake_seconds)
    assert held.action == "hold" and "Prometheus" in held.message
    blind = RolloutStatus("progressing", "2", "1", 0, t0, in_effect=t0, blind_since=t0 + SPEC.bake_seconds)
    back = reconcile(SPEC, Observed("2", "1", 2, status=blind), readings,
                     t0 + SPEC.bake_seconds + SPEC.gate_timeout_seconds)
    assert back.action == "rollback" and back.percent == 0
    assert "does not evaluate alert scorer-latency" in back.status.reason


def test_only_the_rule_of_the_rollouts_namespace_counts(tmp_path):
    """A rule of the same name for another namespace (another environment's copy) is not this one's:
    it neither fires this gate nor makes it readable."""
    require()
    other = {"groups": [{"name": "alert-scorer-latency", "rules": [
        rule("scorer-latency", 'max(scorer_p99_ms{job="serving"}) > 250', namespace="fraud-prod")]}]}
    with PrometheusStack(tmp_path, rules=[other]) as stack:
        stack.push("serving", "scorer_p99_ms 900")
        stack.wait_for_value('ALERTS{alertname="scorer-latency", alertstate="firing"}', lambda v: v == 1)
        mine = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5).read(SPEC, 0, time.time())
        theirs = PrometheusGates(stack.prometheus_url, namespace="fraud-prod", timeout=5).read(SPEC, 0, time.time())
    assert [r.state for r in mine] == ["unreadable", "unreadable"]
    assert [r.state for r in theirs] == ["firing", "unreadable"]


def test_a_prometheus_that_loads_the_rules_reads_them(tmp_path):
    """The same rollout against the Prometheus that loads its rules: ok while quiet, firing on a breach."""
    require()
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        gates = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5)
        stack.push("serving", "scorer_p99_ms 120\nscorer_error_ratio 0")
        stack.wait_for_value('scorer_p99_ms{job="serving"}', lambda v: v == 120)
        assert [(r.state, r.detail) for r in gates.read(SPEC, 0, time.time())] == [("ok", ""), ("ok", "")]
        stack.push("serving", "scorer_p99_ms 900\nscorer_error_ratio 0")
        stack.wait_for_value('ALERTS{alertname="scorer-latency", alertstate="firing"}', lambda v: v == 1)
        latency, errors = gates.read(SPEC, 0, time.time())
    assert (latency.state, latency.value, errors.state) == ("firing", 900, "ok")


def test_a_rule_whose_evaluation_fails_is_unreadable(tmp_path):
    """A loaded rule whose query fails at every evaluation (two series with one labelset once the
    metric name is dropped) has no alerts: that is no evidence of health either."""
    require()
    broken = {"groups": [{"name": "alert-scorer-latency", "rules": [
        rule("scorer-latency", '{__name__=~"scorer_p99_ms|scorer_p50_ms", job="serving"} * 1 > 250')]},
        *RULES["groups"][1:]]}
    with PrometheusStack(tmp_path, rules=[broken]) as stack:
        stack.push("serving", "scorer_p99_ms 900\nscorer_p50_ms 900\nscorer_error_ratio 0")
        stack.wait_for_value('scorer_p50_ms{job="serving"}', lambda v: v == 900)
        url = stack.prometheus_url
        gates = PrometheusGates(url, namespace=NS, timeout=5)

        def failed() -> bool:
            return gates.read(SPEC, 0, time.time())[0].state == "unreadable"

        deadline = time.monotonic() + 20
        while not failed() and time.monotonic() < deadline:
            time.sleep(0.2)
        latency, errors = gates.read(SPEC, 0, time.time())
    assert latency.state == "unreadable" and errors.state == "ok"
    assert latency.detail.startswith(f"Prometheus at {url} fails to evaluate alert scorer-latency: ")
    assert "same labelset" in latency.detail


def test_the_settings_configmap_named_is_the_compiled_one():
    assert prometheus.SETTINGS == rollout_runner.SETTINGS


def test_a_rule_not_evaluated_yet_is_unreadable_not_ok(tmp_path):
    """A loaded rule before its group's first evaluation has health ``unknown`` and no alerts, whatever its
    expression gives (prometheus rules/rule.go ``HealthUnknown``; the first evaluation waits for the group's
    slot in its interval, rules/manager.go ``Group.run``: a 24h group is not evaluated within a test): it was
    read ``ok`` while the latency breached (audit closing-44b-2)."""
    require()
    slow = {"groups": [{"name": "alert-scorer-latency", "interval": "24h", "rules": [
        rule("scorer-latency", 'max(scorer_p99_ms{job="serving"}) > 250')]}, *RULES["groups"][1:]]}
    with PrometheusStack(tmp_path, rules=[slow]) as stack:
        stack.push("serving", "scorer_p99_ms 900\nscorer_error_ratio 0")
        stack.wait_for_value('scorer_p99_ms{job="serving"}', lambda v: v == 900)
        url = stack.prometheus_url
        latency, errors = PrometheusGates(url, namespace=NS, timeout=5).read(SPEC, 0, time.time())
    assert latency.state == "unreadable", latency
    assert latency.detail == (f"Prometheus at {url} has not evaluated alert scorer-latency yet (rule health "
                              "unknown: it just loaded the rule)")
    assert errors.state == "ok"


class _Answering(PrometheusGates):
    """The reader with Prometheus' answers given (the answer shapes of web/api/v1/api.go ``rules`` and ``query``):
    a rule that fails to evaluate while a firing alert of its last good evaluation stays cannot be made on demand
    on a real Prometheus within a test."""

    def __init__(self, rules: dict, vector: list) -> None:
        super().__init__("http://prom:9090", namespace=NS)
        self.answers = {"/api/v1/rules": rules, "/api/v1/query": {"result": vector}}

    def _get(self, path, params=None):
        if (params or {}).get("query", "").startswith("revision_app_request_count"):  # the canary's request count: none
            return {"resultType": "matrix", "result": []}
        return self.answers[path]


def test_a_failing_rules_leftover_firing_alert_is_not_rejudged_ok_on_the_canary():
    """health ``err`` with a firing alert left from the last good evaluation reads ``firing`` (module contract);
    with a canary known it was judged again on the canary's series and read ``ok`` (review44-core-1)."""
    expr = 'max without (revision_name) (endpoint:error_rate{endpoint="scorer"}) > 0.05'
    rules = {"groups": [{"interval": 30, "rules": [{
        "type": "alerting", "name": "scorer-errors", "query": expr, "duration": 120, "labels": {"namespace": NS},
        "health": "err", "lastError": "vector contains metrics with the same labelset after applying alert labels",
        "alerts": [{"labels": {"alertname": "scorer-errors", "namespace": NS}, "state": "firing", "value": "0.3"}]}]}]}
    only_stable = [{"metric": {"revision_name": "scorer-predictor-1"}, "value": [0, "0.3"]}]
    spec = RolloutSpec("scorer", "canary", (2, 5, 100), 600, ("scorer-errors",), 900, "kubernetes")
    [reading] = _Answering(rules, only_stable).read(spec, 0, time.time(), canary="scorer-predictor-2")
    assert reading.state == "firing", reading
