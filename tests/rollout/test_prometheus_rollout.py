"""KServe rollouts gated by a real Prometheus evaluating the PrometheusRules the compiler emits.

The example's dev environment (KServe) is compiled; its ``PrometheusRule`` objects (the latency and
error monitors' recording rules and the ``scorer-latency`` / ``scorer-errors`` alerts the rollout
reads) are loaded, as compiled, into a real Prometheus (tests/support/prometheus.py) with time
compressed 60x (``for: 5m`` -> 5s; range selectors at least 4s so a rate has samples at a 1s
scrape). A traffic generator plays KServe's router: every 0.2s it reads ``canaryTrafficPercent``
from the Kubernetes API stand-in (tests/support/kube_api.py) and adds requests to Knative's queue-proxy
series ``revision_app_request_latencies`` / ``revision_app_request_count`` of the old and the new
revision (pushed through the Pushgateway), split by that share. The old version answers in 40 ms;
the unhealthy new version answers 12% of its requests in 400 ms. The compiled rules measure each
revision on its own (``revision_name``), so the new revision's p99 crosses the 250 ms threshold at
the first step (2%), although the endpoint's p99 would only cross it once the canary carried more
than 1/0.12 = 8.3% of the traffic (step 3, 10%), after exposing more users.
The reconciler runs in real time (bakes of a few seconds), its gates read ``/api/v1/rules?type=alert``.
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
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Watch, watch
from mlops_infra.spec import load_system
from tests.support.kserve import KServeRevisions, seed_endpoint
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.prometheus import PrometheusStack, compress_time, require
from tests.support.queue_proxy import CanaryRouter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
NS, NAME, SERVICE = "fraud-dev", "scorer", "scorer-predictor"
OLD, NEW = f"{SERVICE}-00001", f"{SERVICE}-00002"
BUCKETS = (50, 100, 250, 500, 1000)
FAST_MS, SLOW_MS = 40, 400
ISVC = ("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)
LATENCY = 'max without (revision_name) (mlops:monitor_value{mlops_monitor="latency"})'
"""The worst revision's p99 (recorded per revision; an idle revision records no sample)."""


def compiled(factor: float = 60) -> tuple[RolloutSpec, list[dict[str, Any]]]:
    graph = compile_system(load_system(EXAMPLE, "dev").system, "dev")
    spec = RolloutSpec.from_graph("endpoints.scorer", graph.rollouts["endpoints.scorer"])
    rules = [compress_time(r.inputs["spec"], factor, floor=4) for r in graph.resources
             if r.type.endswith("PrometheusRule") and r.name in ("monitor-latency", "monitor-errors",
                                                                  "alert-scorer-latency", "alert-scorer-errors")]
    assert len(rules) == 4 and spec.gates == ("scorer-latency", "scorer-errors")
    return spec, rules


def traffic(stack: PrometheusStack, api: KubeApiStandIn, slow_share_new: float) -> CanaryRouter:
    """KServe's router and the two revisions' queue-proxies, as far as the metrics go (see the module):
    ``slow_share_new`` of the new revision's requests are slow."""
    return CanaryRouter(stack, api, ISVC, SERVICE, OLD, NEW, buckets=BUCKETS, fast_ms=FAST_MS, slow_ms=SLOW_MS,
                        new_slow=lambda percent: slow_share_new)


@pytest.fixture(params=[60])
def world(tmp_path, request):
    require()
    spec, rules = compiled(request.param)
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api, \
            PrometheusStack(tmp_path, rules=rules) as stack:
        seed_endpoint(api, NS, NAME, 13, 12)
        yield spec, api, stack


def roll(spec: RolloutSpec, api: KubeApiStandIn, stack: PrometheusStack, bake: int, seen: list) -> None:
    driver = KServeDriver(KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01)), NS, NAME)
    gates = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5)
    watch(dataclasses.replace(spec, bake_seconds=bake), driver, gates,
          Watch(poll_seconds=0.5, max_passes=int(bake * 6 * 2 / 0.5) + 60, on_pass=seen.append))


def status(api: KubeApiStandIn) -> dict[str, str]:
    """The rollout status the driver keeps (its ConfigMap's data)."""
    return api.get("v1", "ConfigMap", f"rollout-{NAME}", NS).get("data") or {}


def test_a_healthy_version_completes_all_six_steps(world):
    spec, api, stack = world
    seen: list = []
    with traffic(stack, api, slow_share_new=0.0) as router:
        stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=30)
        roll(spec, api, stack, bake=4, seen=seen)
    assert router.percents == [0, 2, 5, 10, 25, 75, 100]
    assert status(api)["phase"] == "finished"
    read = [g for p in seen for g in p.gates]
    assert read and {g.name for g in read} == {"scorer-latency", "scorer-errors"} and {g.state for g in read} == {"ok"}


def test_an_unhealthy_version_rolls_back_at_the_first_step_on_its_own_p99(world):
    spec, api, stack = world
    seen: list = []
    with traffic(stack, api, slow_share_new=0.12) as router:
        stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=30)
        roll(spec, api, stack, bake=15, seen=seen)
    assert router.percents == [0, 2, 0]  # the endpoint-wide p99 would have passed 2% and 5%
    stored = status(api)
    assert stored["phase"] == "rolled_back"
    assert stored["reason"].startswith("scorer-latency = ")
    assert "fired at step 1 (2% on version 13)" in stored["reason"]
    value = float(stored["reason"].split(" = ")[1].split(" ")[0])
    assert value > 0.25  # the p99 in seconds, as the compiled alert compares it
    assert stored["stable-version"] == "12"
    assert not [p for p in seen if p.decision.percent in (5, 10)]  # no more users exposed


class SparseTraffic(CanaryRouter):
    """A low-traffic endpoint: the old revision's steady stream, and the new one's single request every
    :data:`SPARSE_GAP` seconds while it has a share (2 % of 40 requests a minute: one per 75 s), each failing."""

    def __init__(self, stack: PrometheusStack, api: KubeApiStandIn) -> None:
        super().__init__(stack, api, ISVC, SERVICE, OLD, NEW, buckets=BUCKETS, fast_ms=FAST_MS, slow_ms=SLOW_MS,
                         new_slow=lambda percent: 1.0)
        self.next_request = 0.0

    def tick(self, per_tick: int = 50) -> None:
        percent = self.share()
        self.add(OLD, per_tick)
        now = time.monotonic()
        if percent and now >= self.next_request:
            self.add(NEW, 1, slow_share=1.0, error_share=1.0)
            self.next_request = now + SPARSE_GAP
        self.push()


SPARSE_FACTOR = 15
SPARSE_GAP = 75 / SPARSE_FACTOR
"""Time compressed 15x keeps a 75 s gap longer than the 1m rate window (5 s against 4 s), as it is."""


@pytest.mark.parametrize("world", [SPARSE_FACTOR], indirect=True)
def test_a_sparse_canary_failing_every_request_is_rolled_back_at_the_first_step(world):
    """One request per 75 s on the new revision: each gap left its value without a sample, the pending
    alerts were reset (rules/alerting.go) and the version rolled on; now the alert fires within about
    ``for`` (20 s here) plus the gap and the gate rolls it back at 2 %."""
    spec, api, stack = world
    seen: list = []
    with SparseTraffic(stack, api) as router:
        stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=30)
        roll(spec, api, stack, bake=int(300 / SPARSE_FACTOR + 4 * SPARSE_GAP), seen=seen)
    assert router.percents == [0, 2, 0]
    stored = status(api)
    assert stored["phase"] == "rolled_back"
    assert stored["reason"].startswith(("scorer-errors = ", "scorer-latency = "))
    assert "fired at step 1 (2% on version 13)" in stored["reason"]


CANARY = NEW
"""The Knative revision :class:`KServeRevisions` makes for version 13 (after version 12's, :data:`OLD`): the
driver names it ``Observed.canary`` during the rollout, so the gates count its requests."""


@pytest.fixture
def counted_world(tmp_path):
    """``world`` with KServe's revisions: the driver knows the canary revision, the gates count its requests."""
    require()
    spec, rules = compiled(60)
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api, \
            PrometheusStack(tmp_path, rules=rules) as stack:
        kserve = KServeRevisions(api)
        for version in (12, 13):  # OLD, then NEW
            seed_endpoint(api, NS, NAME, version, 12)
            kserve.sync()
        assert kserve.of_version(NAME, "13") == [CANARY] and kserve.of_version(NAME, "12") == [OLD]
        yield spec, api, stack


class IdleCanary(CanaryRouter):
    """KServe's router with a canary revision that gets none of its share (a route nobody calls at 2 %):
    the stable revision serves everything."""

    def tick(self, per_tick: int = 50) -> None:
        self.share()
        self.add(self.stable, per_tick)
        self.push()


def test_the_canary_revisions_requests_are_counted_at_every_step(counted_world):
    """With the canary revision known, each reading carries the requests it served in the step, and a
    version that serves its share completes all six steps."""
    spec, api, stack = counted_world
    seen: list = []
    with CanaryRouter(stack, api, ISVC, SERVICE, OLD, CANARY, buckets=BUCKETS, fast_ms=FAST_MS, slow_ms=SLOW_MS,
                      new_slow=lambda percent: 0.0) as router:
        stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=30)
        roll(spec, api, stack, bake=4, seen=seen)
    assert router.percents == [0, 2, 5, 10, 25, 75, 100]
    assert status(api)["phase"] == "finished"
    counted = [g.requests for p in seen for g in p.gates]
    assert counted and None not in counted and max(counted) > 0
    moved = [p.decision.message for p in seen if p.decision.action == "set_traffic" and "served" in p.decision.message]
    assert moved, [p.decision.message for p in seen]


def test_a_canary_revision_that_serves_no_request_is_held_then_rolled_back(counted_world):
    """Its alerts never turn active (no sample), so every gate read ``ok`` and the version that served
    nobody finished all six steps; now step 1 holds after its bake and rolls back at the gate timeout."""
    spec, api, stack = counted_world
    seen: list = []
    with IdleCanary(stack, api, ISVC, SERVICE, OLD, CANARY, buckets=BUCKETS, fast_ms=FAST_MS, slow_ms=SLOW_MS,
                    new_slow=lambda percent: 0.0) as router:
        stack.wait_for_value('count(mlops:monitor_value{mlops_monitor="latency"})', lambda v: v >= 1, timeout=30)
        roll(dataclasses.replace(spec, gate_timeout_seconds=6), api, stack, bake=4, seen=seen)
    assert router.percents == [0, 2, 0]
    stored = status(api)
    assert stored["phase"] == "rolled_back", stored
    assert stored["reason"].startswith("step 1 (2%): the canary served 0 requests in "), stored["reason"]
    assert "a step without requests is no evidence" in stored["reason"]
    assert {g.state for p in seen for g in p.gates} == {"ok"}  # the alerts alone would have passed it
