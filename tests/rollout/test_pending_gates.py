"""A ``pending`` rollback alert is not healthy: a bake does not end on it (audit rolloutrun-1).

Prometheus keeps an alert whose expression holds ``pending`` until it has held for the rule's ``for``
(prometheus ``rules/alerting.go`` ``AlertingRule.Eval``: ``if a.State == StatePending &&
ts.Sub(a.ActiveAt) >= r.holdDuration { a.State = StateFiring``). The gate read ``pending`` as ``ok``,
so with a bake at most ``for`` (+ the recording rule's 1m rate window) the quickstart's canary, slow on
every request, went from 10 % to 100 % before its alert could fire, and a version slow only at 100 %
"passed all steps". Now :class:`PrometheusGates` reads ``pending`` and the reconciler waits at the end of
a bake while a gate is pending (``rollout/reconcile.py`` rule 8).

The pure rules first, then the quickstart's compiled PrometheusRules on a real Prometheus
(tests/support/prometheus.py) with the KServe driver on the Kubernetes API stand-in, as
``test_prometheus_rollout.py`` runs the fraud-detection example.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.gates.prometheus import PrometheusGates
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.runner import Watch, watch
from mlops_infra.spec import load_system
from tests.rollout.sim import BAKE, STEPS, spec
from tests.support.kserve import seed_endpoint
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.prometheus import PrometheusStack, compress_time, require
from tests.support.queue_proxy import CanaryRouter

T0 = 1_800_000_000.0
PENDING = GateReading("scorer-latency", "pending", 0.4, "alert pending")
OK = GateReading("scorer-latency", "ok")
FIRING = GateReading("scorer-latency", "firing", 0.5, "alert firing")


def baked(step: int) -> tuple[RolloutStatus, Observed]:
    status = RolloutStatus("progressing", "13", "12", step, T0, in_effect=T0)
    return status, Observed("13", "12", STEPS[step], status=status)


@pytest.mark.parametrize("step", [0, len(STEPS) - 1], ids=["next-step", "finish"])
def test_a_baked_step_with_a_pending_gate_waits_instead_of_moving_on(step):
    _, observed = baked(step)
    decision = reconcile(spec(), observed, [PENDING], T0 + BAKE)
    assert decision.action == "wait" and decision.percent == STEPS[step] and decision.status is None
    assert "scorer-latency = 0.4 (alert pending)" in decision.message
    assert ("before step 2" if step == 0 else "before the finish") in decision.message
    # later passes: still pending -> still waiting; fired -> rolled back at this step; resolved -> on
    assert reconcile(spec(), observed, [PENDING], T0 + 3 * BAKE).action == "wait"
    fired = reconcile(spec(), observed, [FIRING], T0 + 3 * BAKE)
    assert fired.action == "rollback" and f"fired at step {step + 1} ({STEPS[step]}%" in fired.status.reason
    resolved = reconcile(spec(), observed, [OK], T0 + 3 * BAKE)
    assert resolved.action == ("set_traffic" if step == 0 else "finish")


def test_a_pending_gate_neither_holds_a_step_still_baking_nor_hides_a_firing_one():
    _, observed = baked(2)
    baking = reconcile(spec(gates=("scorer-latency",)), observed, [PENDING], T0 + BAKE - 60)
    assert baking.action == "wait" and "baking, 60s left" in baking.message and baking.next_check == T0 + BAKE
    both = [PENDING, dataclasses.replace(FIRING, name="scorer-errors")]
    assert reconcile(spec(gates=("scorer-latency", "scorer-errors")), observed, both, T0 + BAKE).action == "rollback"


def test_a_pending_gate_clears_a_recorded_blind_spell():
    """Readable again (pending is a reading): the stored ``blind_since`` is dropped, as an ``ok`` pass does."""
    status, observed = baked(1)
    blind = status.evolve(blind_since=T0 + 10)
    decision = reconcile(spec(), dataclasses.replace(observed, status=blind), [PENDING], T0 + BAKE)
    assert decision.action == "wait" and decision.status == status


def test_the_progress_display_shows_a_pending_gate():
    """``mlops-infra rollout`` prints each pass's gates, styled by state (cli/rollout_display.py)."""
    from rich.console import Console

    from mlops_infra.cli.rollout_display import RolloutDisplay
    from mlops_infra.rollout.runner import Pass

    _, observed = baked(0)
    decision = reconcile(spec(), observed, [PENDING], T0 + BAKE)
    line = RolloutDisplay(Console(), spec()).line(Pass(observed, [PENDING], decision, acted=False))
    assert "[yellow]scorer-latency pending 0.4[/]" in line and "waiting for it to fire" in line


def test_prometheus_gate_reads_a_pending_alert_as_pending_on_a_real_prometheus(tmp_path):
    require()
    rules = {"groups": [{"name": "rollout", "rules": [
        {"alert": "scorer-latency", "expr": 'max(scorer_p99_ms{job="serving"}) > 250', "for": "1h",
         "labels": {"namespace": "fraud-dev", "severity": "critical"}}]}]}
    rollout = RolloutSpec("scorer", "canary", (2, 100), 600, ("scorer-latency",), 900, "kubernetes")
    with PrometheusStack(tmp_path, rules=[rules]) as stack:
        gates = PrometheusGates(stack.prometheus_url, namespace="fraud-dev", timeout=5)
        stack.push("serving", "scorer_p99_ms 120")
        stack.wait_for_value('scorer_p99_ms{job="serving"}', lambda v: v == 120)
        assert [(g.state, g.value) for g in gates.read(rollout, 0, time.time())] == [("ok", None)]
        stack.push("serving", "scorer_p99_ms 900")  # breaching; `for: 1h` keeps the alert pending
        stack.wait_for_value('ALERTS{alertname="scorer-latency", alertstate="pending"}', lambda v: v == 1)
        [reading] = gates.read(rollout, 0, time.time())
        assert (reading.state, reading.value, reading.detail) == ("pending", 900, "alert pending")


# --- the quickstart on a real Prometheus -------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
NS, NAME, SERVICE = "churn-dev", "churn-api", "churn-api-predictor"
OLD, NEW = f"{SERVICE}-00001", f"{SERVICE}-00002"
ISVC = ("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)
FACTOR = 20
"""Time compressed 20x: ``for: 5m`` -> 15 s, the ``[1m]`` rate window -> 4 s (the harness' floor at a 1 s
scrape), a runner pass every 3 s (its minute)."""


def quickstart() -> tuple[RolloutSpec, int, list[dict[str, Any]]]:
    """The dev rollout of ``churn-api``, its alert's ``for`` (seconds) and the compiled rules it reads."""
    graph = compile_system(load_system(EXAMPLE, "dev").system, "dev")
    rollout = RolloutSpec.from_graph("endpoints.churn-api", graph.rollouts["endpoints.churn-api"])
    assert rollout.steps == (10, 100) and rollout.gates == ("churn-api-slow",)
    [alert] = [r for g in next(r for r in graph.resources if r.name == "alert-churn-api-slow").inputs["spec"]["groups"]
               for r in g["rules"]]
    rules = [compress_time(r.inputs["spec"], FACTOR, floor=4) for r in graph.resources
             if r.type.endswith("PrometheusRule") and r.name in ("monitor-churn-api-latency", "alert-churn-api-slow")]
    assert len(rules) == 2
    minutes = int(str(alert["for"]).removesuffix("m"))
    return rollout, minutes * 60, rules


def traffic(stack: PrometheusStack, api: KubeApiStandIn, slow_at: frozenset[int]) -> CanaryRouter:
    """KServe's router and the two revisions' queue-proxies: the new revision answers in 400 ms
    (threshold 300 ms) at the shares in ``slow_at``, else in 40 ms."""
    return CanaryRouter(stack, api, ISVC, SERVICE, OLD, NEW, buckets=(50, 100, 250, 300, 500, 1000), fast_ms=40,
                        slow_ms=400, new_slow=lambda percent: 1.0 if percent in slow_at else 0.0)


@pytest.mark.parametrize(("slow_at", "shares", "step"), [
    (frozenset({10, 100}), [0, 10, 0], "step 1 (10% on version 2)"),  # old code: [0, 10, 100, 0]
    (frozenset({100}), [0, 10, 100, 0], "step 2 (100% on version 2)"),  # old code: finished, "all steps passed"
], ids=["slow-from-the-first-request", "slow-only-at-100"])
def test_the_quickstart_with_a_bake_shorter_than_for_rolls_a_slow_canary_back_in_the_step_it_breaches(
        tmp_path, slow_at, shares, step):
    """A bake shorter than the alert's ``for`` (the quickstart baked 10m with ``for: 10m`` before this fix;
    validate now warns of both, ``spec/rollout_bake.py``). Two thirds of ``for`` here, so that the alert
    cannot fire within the step (it needs ``for`` + the rate window from the traffic change) but is
    surely pending when the bake ends: the rollout waits for it, then rolls back at that step."""
    require()
    rollout, hold, rules = quickstart()
    rollout = dataclasses.replace(rollout, bake_seconds=hold * 2 // 3 // FACTOR)
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api, \
            PrometheusStack(tmp_path, rules=rules) as stack:
        seed_endpoint(api, NS, NAME, 2, 1)
        seen: list = []
        with traffic(stack, api, slow_at) as router:
            stack.wait_for_value('max(mlops:monitor_value{mlops_monitor="churn-api-latency"})', lambda v: v < 0.3,
                                 timeout=30)
            driver = KServeDriver(KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01)), NS, NAME)
            watch(rollout, driver, PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5),
                  Watch(poll_seconds=60 / FACTOR, max_passes=200, on_pass=seen.append))
    stored = api.get("v1", "ConfigMap", f"rollout-{NAME}", NS)["data"]
    log = [(p.decision.action, p.decision.percent, p.decision.message) for p in seen if p.decision.action != "none"]
    assert router.percents == shares, log
    assert stored["phase"] == "rolled_back" and f"fired at {step}" in stored["reason"]
    assert stored["reason"].startswith("churn-api-slow = ")
    waited = [p for p in seen if p.decision.action == "wait" and "alert pending" in p.decision.message]
    assert waited, log  # the bake ended on a pending alert, and the rollout waited for it
