"""A step held by a ``pending`` gate has a bound of its own (after audit rolloutrun-1's pending wait).

The reconciler waits at the end of a bake while a rollback alert is pending (``rollout/reconcile.py``
rule 8). An alert whose condition flaps, holding for less than its ``for`` and breaking again,
is pending at pass after pass (Prometheus starts ``for`` anew each time: ``rules/alerting.go``
``AlertingRule.Eval`` deletes a pending alert absent from the result), and the step waited forever.
Now a pending reading carries ``hold`` = 2 x (the alert's ``for`` + the recording rule's 1m window),
which :class:`PrometheusGates` derives from the rule (``GET /api/v1/rules``), and once a gate has stayed
pending that long after the bake the rollout rolls back, saying so.
"""

from __future__ import annotations

import dataclasses
import time

from mlops_infra.compile.kubernetes.monitoring import WINDOW_SECONDS
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.gates.prometheus import RECORDING_WINDOW_SECONDS, PrometheusGates
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.runner import Watch, watch
from tests.rollout.sim import Clock
from tests.support.kserve import seed_endpoint
from tests.support.prometheus import PrometheusStack, require

T0 = 1_800_000_000.0
BAKE = 600
SPEC = RolloutSpec("churn-api", "canary", (10, 100), BAKE, ("churn-api-slow",), 900, "kubernetes")
HOLD = 2 * (300 + 60)  # the quickstart's churn-api-slow: for 5m
PENDING = GateReading("churn-api-slow", "pending", 0.4, "alert pending", hold=HOLD)


def baked(step: int = 0) -> Observed:
    status = RolloutStatus("progressing", "2", "1", step, T0, in_effect=T0)
    return Observed("2", "1", SPEC.steps[step], status=status)


def test_a_step_held_by_a_pending_gate_rolls_back_after_its_bound():
    ends = T0 + BAKE
    held = reconcile(SPEC, baked(), [PENDING], ends + HOLD - 1)
    assert held.action == "wait" and held.next_check == ends + HOLD
    assert held.message.endswith("before step 2 (rolling back in 1s if it does neither)")
    back = reconcile(SPEC, baked(), [PENDING], ends + HOLD)
    assert back.action == "rollback" and back.percent == 0 and back.status.phase == "rolled_back"
    assert back.status.reason == ("held 12m00s by pending alert churn-api-slow = 0.4 (alert pending) after the bake "
                                  "of step 1 (10% on version 2): neither fired nor resolved within 12m00s")
    last = reconcile(SPEC, baked(1), [PENDING], ends + HOLD)  # the last step: no finish on it either
    assert last.action == "rollback" and "after the bake of step 2 (100% on version 2)" in last.status.reason


def test_the_bound_is_the_smallest_pending_one_and_a_resolved_reading_moves_on():
    two = dataclasses.replace(SPEC, gates=("churn-api-slow", "churn-api-errors"))
    short = dataclasses.replace(PENDING, name="churn-api-errors", hold=300)
    assert reconcile(two, baked(), [PENDING, short], T0 + BAKE + 300).action == "rollback"
    resolved = reconcile(SPEC, baked(), [GateReading("churn-api-slow", "ok")], T0 + BAKE + 10 * HOLD)
    assert resolved.action == "set_traffic" and resolved.percent == 100
    unbounded = reconcile(SPEC, baked(), [dataclasses.replace(PENDING, hold=None)], T0 + BAKE + 10 * HOLD)
    assert unbounded.action == "wait" and unbounded.next_check is None  # a reader that gives no bound


def test_the_gates_window_is_the_compiled_recording_window():
    assert RECORDING_WINDOW_SECONDS == WINDOW_SECONDS


NS, NAME = "churn-dev", "churn-api"
RULES = {"groups": [{"name": "alert-churn-api-slow", "rules": [
    {"alert": "churn-api-slow", "expr": 'max(churn_p99_seconds{job="serving"}) > 0.3', "for": "1h",
     "labels": {"namespace": NS, "severity": "critical"}}]}]}


def test_a_rollout_held_by_an_alert_pending_on_a_real_prometheus_rolls_back_after_the_bound(tmp_path, api):
    """A real Prometheus keeps the alert pending (``for: 1h`` in real time); the rollout runs on a
    simulated clock, passes a minute apart: it waits at 10 % after the bake, then rolls back once the
    gate's bound, 2 x (1h + 1m), has passed (before, it waited at 10 % for ever)."""
    require()
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        seed_endpoint(api, NS, NAME, 2, 1)
        stack.push("serving", "churn_p99_seconds 0.5")
        stack.wait_for_value('ALERTS{alertname="churn-api-slow", alertstate="pending"}', lambda v: v == 1)
        gates = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5)
        [reading] = gates.read(SPEC, T0, time.time())
        assert (reading.state, reading.hold) == ("pending", 2 * (3600 + 60))
        clock, seen = Clock(T0), []
        driver = KServeDriver(KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01)), NS, NAME)
        last = watch(SPEC, driver, gates, Watch(poll_seconds=60, max_passes=200, clock=clock, sleep=clock.sleep,
                                                 on_pass=seen.append))
    assert last.decision.action == "none"
    percents = [p.decision.percent for p in seen if p.decision.action in ("set_traffic", "rollback")]
    assert percents == [10, 0]
    stored = api.get("v1", "ConfigMap", f"rollout-{NAME}", NS)["data"]
    assert stored["phase"] == "rolled_back"
    assert stored["reason"].startswith("held 2h02m by pending alert churn-api-slow = 0.5 (alert pending) after the "
                                       "bake of step 1 (10% on version 2)")
    waited = [p for p in seen if p.decision.action == "wait" and "rolling back in" in p.decision.message]
    assert waited and all(g.state == "pending" for p in waited for g in p.gates)
