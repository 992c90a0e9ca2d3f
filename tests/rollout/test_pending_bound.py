"""A step held by a ``pending`` gate has a bound of its own (after audit rolloutrun-1's pending wait).

The reconciler waits at the end of a bake while a rollback alert is pending (``rollout/reconcile.py``
rule 8). An alert whose condition flaps, holding for less than its ``for`` and breaking again,
is pending at pass after pass (Prometheus starts ``for`` anew each time: ``rules/alerting.go``
``AlertingRule.Eval`` deletes a pending alert absent from the result), and the step waited forever.
Now a pending reading carries ``hold`` = 2 x (the alert's ``for`` + the recording rule's 1m window),
which :class:`PrometheusGates` derives from the rule (``GET /api/v1/rules``), and once a gate has stayed
pending that long the rollout rolls back, saying so. The bound counts from the first pass after the
bake that read it pending (``RolloutStatus.pending_since``, kept by the driver), not from the end of
the bake: counted from the bake, a pending reading first seen after passes that could not read the
gates rolled back at once (audit closing-33b-3).
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


def after(observed: Observed, decision) -> Observed:
    """``observed`` at the next pass, with the status ``decision`` wrote (as a driver stores it)."""
    if decision.status is None:
        return observed
    stored = RolloutStatus.from_fields(decision.status.to_fields())
    return dataclasses.replace(observed, status=stored)


def test_a_step_held_by_a_pending_gate_rolls_back_after_its_bound():
    ends = T0 + BAKE
    first = reconcile(SPEC, baked(), [PENDING], ends)  # the first pending reading after the bake
    assert first.action == "wait" and first.next_check == ends + HOLD and first.status.pending_since == ends
    held = reconcile(SPEC, after(baked(), first), [PENDING], ends + HOLD - 1)
    assert held.action == "wait" and held.next_check == ends + HOLD and held.status is None
    assert held.message.endswith("before step 2 (rolling back in 1s if it does neither)")
    back = reconcile(SPEC, after(baked(), first), [PENDING], ends + HOLD)
    assert back.action == "rollback" and back.percent == 0 and back.status.phase == "rolled_back"
    assert back.status.reason == ("held 12m00s by pending alert churn-api-slow = 0.4 (alert pending) after the bake "
                                  "of step 1 (10% on version 2): neither fired nor resolved within 12m00s")
    last_first = reconcile(SPEC, baked(1), [PENDING], ends)
    last = reconcile(SPEC, after(baked(1), last_first), [PENDING], ends + HOLD)  # the last step: no finish on it
    assert last.action == "rollback" and "after the bake of step 2 (100% on version 2)" in last.status.reason


def test_the_bound_is_the_smallest_pending_one_and_a_resolved_reading_moves_on():
    two = dataclasses.replace(SPEC, gates=("churn-api-slow", "churn-api-errors"))
    short = dataclasses.replace(PENDING, name="churn-api-errors", hold=300)
    first = reconcile(two, baked(), [PENDING, short], T0 + BAKE)
    assert first.action == "wait" and first.next_check == T0 + BAKE + 300
    assert reconcile(two, after(baked(), first), [PENDING, short], T0 + BAKE + 300).action == "rollback"
    resolved = reconcile(SPEC, after(baked(), first), [GateReading("churn-api-slow", "ok")], T0 + BAKE + 10 * HOLD)
    assert resolved.action == "set_traffic" and resolved.percent == 100 and resolved.status.pending_since is None
    unbounded = reconcile(SPEC, baked(), [dataclasses.replace(PENDING, hold=None)], T0 + BAKE + 10 * HOLD)
    assert unbounded.action == "wait" and unbounded.next_check is None and unbounded.status is None  # no bound given


UNREADABLE = GateReading("churn-api-slow", "unreadable", detail="Prometheus at http://prometheus:9090: URLError")


def test_the_bound_counts_from_the_first_pending_reading_not_from_the_end_of_the_bake():
    """Audit closing-33b-3: passes a minute apart cannot read Prometheus for 13 minutes after the bake
    (the blind timeout is 15); the first readable pass reads the alert pending. Counted from the end of
    the bake, it rolled back at once, "held 13m00s", a hold no pass had seen. Now it waits HOLD from
    that reading, and rolls back only if the alert is still pending at every pass until then."""
    ends, observed = T0 + BAKE, baked()
    for minute in range(13):
        decision = reconcile(SPEC, observed, [UNREADABLE], ends + 60 * minute)
        assert decision.action == "hold"
        observed = after(observed, decision)
    seen = ends + 13 * 60
    first = reconcile(SPEC, observed, [PENDING], seen)
    assert first.action == "wait" and first.next_check == seen + HOLD
    assert first.message.endswith("(rolling back in 12m00s if it does neither)")
    assert (first.status.pending_since, first.status.blind_since) == (seen, None)
    observed = after(observed, first)
    assert observed.status.pending_since == seen  # stored (to_fields / from_fields: tags, ConfigMap data)
    for minute in range(1, 12):
        decision = reconcile(SPEC, observed, [PENDING], seen + 60 * minute)
        assert decision.action == "wait" and decision.next_check == seen + HOLD
        observed = after(observed, decision)
    back = reconcile(SPEC, observed, [PENDING], seen + HOLD)
    assert back.action == "rollback" and back.status.reason.startswith("held 12m00s by pending alert churn-api-slow")


def test_an_unreadable_pass_does_not_restart_the_pending_count():
    """Audit closing-33d-1: an unreadable pass cleared pending-since and a pending pass cleared
    blind-since, so a gate read pending and unreadable by turns held the step forever. Now an
    unreadable pass keeps pending-since (and counts the spell against the gate timeout); all ``ok``
    or a moved share still drops it."""
    ends = T0 + BAKE
    observed = after(baked(), reconcile(SPEC, baked(), [PENDING], ends))
    blind = reconcile(SPEC, observed, [UNREADABLE], ends + 600)
    assert blind.action == "hold" and blind.status is None and blind.next_check == ends + SPEC.gate_timeout_seconds
    again = reconcile(SPEC, after(observed, blind), [PENDING], ends + HOLD)
    assert again.action == "rollback" and again.status.reason.startswith("held 12m00s by pending alert")
    timeout = reconcile(SPEC, observed, [UNREADABLE], ends + SPEC.gate_timeout_seconds)
    assert timeout.action == "rollback" and timeout.status.reason == (
        "gate(s) churn-api-slow (Prometheus at http://prometheus:9090: URLError) unreadable while held 15m00s since "
        "a gate was first read pending (gate timeout 15m00s) at step 1 (10% on version 2)")
    ok = reconcile(SPEC, observed, [GateReading("churn-api-slow", "ok")], ends + 600)
    assert ok.action == "set_traffic" and ok.status.pending_since is None
    moved = reconcile(SPEC, dataclasses.replace(observed, percent=50), [PENDING], ends + 60)
    assert moved.action == "set_traffic" and moved.status.pending_since is None


def run_day(spec: RolloutSpec, readings) -> tuple[int, object]:
    """Passes a minute apart for a day after the bake, ``readings(minute)`` the gates read at each;
    the minute of the rollback and its decision (None, None: never rolled back)."""
    ends, observed = T0 + BAKE, baked()
    for minute in range(24 * 60):
        decision = reconcile(spec, observed, readings(minute), ends + 60 * minute)
        if decision.action == "rollback":
            return minute, decision
        observed = after(observed, decision)
    return None, None


def test_a_gate_pending_and_unreadable_by_turns_rolls_back_within_the_bound():
    """closing-33d-1's repro_alt: churn-api-slow pending at even minutes, unreadable at odd ones."""
    minute, decision = run_day(SPEC, lambda m: [PENDING] if m % 2 == 0 else [UNREADABLE])
    assert minute is not None and minute * 60 <= HOLD + SPEC.gate_timeout_seconds
    assert decision.status.reason.startswith("held 12m00s by pending alert churn-api-slow")


def test_a_pending_gate_beside_a_gate_unreadable_every_third_pass_rolls_back_within_the_bound():
    """closing-33d-1's repro_alt2: churn-api-slow pending at every pass, churn-api-errors unreadable
    at one pass in three (a query that times out now and then)."""
    two = dataclasses.replace(SPEC, gates=("churn-api-slow", "churn-api-errors"))
    errors_ok = GateReading("churn-api-errors", "ok")
    errors_blind = dataclasses.replace(UNREADABLE, name="churn-api-errors")
    minute, decision = run_day(two, lambda m: [PENDING, errors_blind if m % 3 == 1 else errors_ok])
    assert minute is not None and minute * 60 <= HOLD + SPEC.gate_timeout_seconds
    assert decision.status.reason.startswith("held 12m00s by pending alert churn-api-slow")


def test_pending_since_is_stored_only_while_progressing_and_never_beside_blind_since():
    status = RolloutStatus("progressing", "2", "1", 0, T0, in_effect=T0, pending_since=T0 + BAKE)
    fields = status.to_fields()
    assert fields["pending-since"] == f"{T0 + BAKE:.3f}" and len(fields) == 7
    assert RolloutStatus.from_fields(fields) == status
    assert "pending-since" not in status.evolve(phase="rolled_back", reason="r").to_fields()
    assert RolloutStatus.from_fields({**fields, "phase": "finished", "reason": "r"}).pending_since is None
    assert RolloutStatus.from_fields({**fields, "blind-since": f"{T0:.3f}"}).pending_since is None


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
        clock, seen, stored_since = Clock(T0), [], []

        def on_pass(one) -> None:
            seen.append(one)
            data = api.get("v1", "ConfigMap", f"rollout-{NAME}", NS)["data"]
            if one.decision.action == "wait" and "rolling back in" in one.decision.message:
                stored_since.append((data.get("pending-since"), one.decision.next_check))

        driver = KServeDriver(KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01)), NS, NAME)
        last = watch(SPEC, driver, gates, Watch(poll_seconds=60, max_passes=200, clock=clock, sleep=clock.sleep,
                                                 on_pass=on_pass))
    assert last.decision.action == "none"
    percents = [p.decision.percent for p in seen if p.decision.action in ("set_traffic", "rollback")]
    assert percents == [10, 0]
    stored = api.get("v1", "ConfigMap", f"rollout-{NAME}", NS)["data"]
    assert stored["phase"] == "rolled_back"
    assert stored["reason"].startswith("held 2h02m by pending alert churn-api-slow = 0.5 (alert pending) after the "
                                       "bake of step 1 (10% on version 2)")
    waited = [p for p in seen if p.decision.action == "wait" and "rolling back in" in p.decision.message]
    assert waited and all(g.state == "pending" for p in waited for g in p.gates)
    # the KServe driver keeps the first pending reading's time in the ConfigMap: every waiting pass
    # read it back and bounded the step from it
    [(since, deadline)] = set(stored_since)
    assert since is not None and deadline == float(since) + 2 * (3600 + 60)
    assert "pending-since" not in stored
