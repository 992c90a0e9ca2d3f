"""A breach of the STABLE version does not roll back the new one (audit rolloutrun-3).

A ``rollback_on`` alert already firing on the stable version (the incident the new version is to fix)
rolled back every new version at its first step, and the notice gave the stable version's value as the
new version's. The gates now judge the new version by its own series and report what they show of the
stable one (``GateReading.stable``; ``rollout/reconcile.py`` rule 9):

- Kubernetes (``gates/prometheus.py``): the compiled alert takes the worst revision, so an active alert
  is split per revision (the rule's own expression without ``max without (revision_name)``) and the
  canary's Knative revision (``Observed.canary``, from the KServe driver) is judged on its own, with the
  rule's ``for``. Run here on a real Prometheus with the quickstart's compiled PrometheusRules (time
  compressed :data:`FACTOR` x), the KServe driver on the Kubernetes API stand-in with the KServe
  revision stand-in (tests/support/kserve.py), and queue-proxy series (tests/support/queue_proxy.py).
- AWS (``gates/cloudwatch.py``): an alarm on the stable variant (``VariantName=primary``) in ALARM, or
  its datapoints breaching, is reported; only the canary variant's series fires the gate. On moto.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.resources import INFERENCE_SERVICE
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates
from mlops_infra.rollout.gates.prometheus import PrometheusGates
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.runner import Watch, watch
from mlops_infra.spec import load_system
from tests.support.kserve import KServeRevisions, seed_endpoint
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.prometheus import PrometheusStack, compress_time, require
from tests.support.queue_proxy import CanaryRouter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
NS, NAME, SERVICE = "churn-dev", "churn-api", "churn-api-predictor"
OLD, NEW = f"{SERVICE}-00001", f"{SERVICE}-00002"
ISVC = ("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)
GATE = "churn-api-slow"
FACTOR = 30
"""``for: 5m`` -> 10 s, bake 10m -> 20 s, the recording rule's ``[1m]`` -> 4 s (the floor)."""
T0 = 1_800_000_000.0


# -- the reconciler: a stable-version note never rolls back, and is said -------------------------------

def progressing(step: int = 0) -> Observed:
    status = RolloutStatus("progressing", "2", "1", step, T0, in_effect=T0)
    return Observed("2", "1", (10, 100)[step], status=status)


def test_a_stable_breach_is_reported_in_every_decision_and_never_rolls_back():
    spec = RolloutSpec("churn-api", "canary", (10, 100), 600, (GATE,), 900, "kubernetes")
    stable = f"revision {OLD} = 0.4975 (alert firing; not revision {NEW})"
    healthy = GateReading(GATE, "ok", None, f"revision {NEW} within its threshold", stable)
    baking = reconcile(spec, progressing(), [healthy], T0 + 60)
    assert baking.action == "wait" and "baking" in baking.message
    assert baking.message.endswith(f"; the stable version 1 breaches (not counted against version 2): {GATE}: {stable}")
    on = reconcile(spec, progressing(), [healthy], T0 + 600)
    assert on.action == "set_traffic" and on.percent == 100 and "the stable version 1 breaches" in on.message
    done = reconcile(spec, progressing(1), [healthy], T0 + 600)
    assert done.action == "finish" and done.status.reason == "all steps passed"
    own = reconcile(spec, progressing(), [dataclasses.replace(healthy, state="firing", value=0.41)], T0 + 60)
    assert own.action == "rollback" and own.status.reason == f"{GATE} = 0.41 (revision {NEW} within its threshold) " \
        "fired at step 1 (10% on version 2)"  # the reason names the new version's own value, not 0.4975


# -- Kubernetes: a real Prometheus on the quickstart's compiled rules ------------------------------------

def compiled() -> tuple[RolloutSpec, list[dict[str, Any]]]:
    graph = compile_system(load_system(EXAMPLE, "dev").system, "dev")
    spec = RolloutSpec.from_graph("endpoints.churn-api", graph.rollouts["endpoints.churn-api"])
    rules = [compress_time(r.inputs["spec"], FACTOR, floor=4) for r in graph.resources
             if r.type.endswith("PrometheusRule") and r.name in ("monitor-churn-api-latency", f"alert-{GATE}")]
    assert len(rules) == 2 and spec.gates == (GATE,) and spec.steps == (10, 100)
    return dataclasses.replace(spec, bake_seconds=int(spec.bake_seconds / FACTOR)), rules


def traffic(stack: PrometheusStack, api: KubeApiStandIn, new_slow: bool) -> CanaryRouter:
    """KServe's router: the share ``canaryTrafficPercent`` gives the new revision, the rest the stable one;
    the stable version answers every request in 400 ms (threshold 300 ms), the new one as told."""
    return CanaryRouter(stack, api, ISVC, SERVICE, OLD, NEW, buckets=(50, 100, 250, 500, 1000), fast_ms=40,
                        slow_ms=400, new_slow=lambda percent: 1.0 if new_slow else 0.0, stable_slow=1.0)


@pytest.fixture
def world(tmp_path):
    require()
    spec, rules = compiled()
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api, \
            PrometheusStack(tmp_path, rules=rules) as stack:
        kserve = KServeRevisions(api)
        seed_endpoint(api, NS, NAME, 1, 1)
        kserve.sync()  # version 1's revision, 00001, serves everything
        kube = KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01))
        kube.patch(INFERENCE_SERVICE, NAME, NS, {  # pulumi up of version 2: a new revision, 00002
            "metadata": {"annotations": {"mlops-infra/model-version": "2"}},
            "spec": {"predictor": {"model": {"storageUri": "s3://m/2/"}}}})
        assert kserve.of_version(NAME, "2", NS) == [NEW] and kserve.of_version(NAME, "1", NS) == [OLD]
        yield spec, api, stack, kube


def roll(spec: RolloutSpec, kube: KubeClient, stack: PrometheusStack, seen: list) -> None:
    gates = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5)
    watch(spec, KServeDriver(kube, NS, NAME), gates,
          Watch(poll_seconds=0.5, max_passes=int(spec.bake_seconds * 2 * 4 / 0.5) + 120, on_pass=seen.append))


def stored(api: KubeApiStandIn) -> dict[str, str]:
    return api.get("v1", "ConfigMap", f"rollout-{NAME}", NS).get("data") or {}


def firing_on_the_stable_version(stack: PrometheusStack) -> None:
    stack.wait_for_value(f'ALERTS{{alertname="{GATE}", alertstate="firing"}}', lambda v: v == 1, timeout=90)


def test_a_healthy_version_is_released_while_the_stable_version_breaches(world):
    """Version 1 breaches and its alert fires (the incident); version 2, fast, goes through both steps
    (it was rolled back at step 1 with version 1's p99 as its own)."""
    spec, api, stack, kube = world
    seen: list = []
    with traffic(stack, api, new_slow=False) as router:
        firing_on_the_stable_version(stack)
        roll(spec, kube, stack, seen)
    assert router.percents == [0, 10, 100]
    assert stored(api)["phase"] == "finished" and stored(api)["stable-version"] == "2"
    gated = [p for p in seen if p.gates]
    assert gated and all(p.observed.canary == NEW for p in gated)
    assert {g.state for p in gated for g in p.gates} == {"ok"}
    noted = [p for p in gated if p.gates[0].stable]
    assert noted, "the stable version's firing alert is reported"
    assert noted[0].gates[0].stable.startswith(f"revision {OLD} = 0.")
    assert "the stable version 1 breaches (not counted against version 2)" in noted[0].decision.message


def test_a_breaching_new_version_is_still_rolled_back_on_its_own_series_after_its_for(world):
    """Both versions slow, the alert already firing on version 1: version 2 is pending (its own
    ``for`` has not elapsed) first, then rolled back at step 1 on its own p99."""
    spec, api, stack, kube = world
    seen: list = []
    with traffic(stack, api, new_slow=True) as router:
        firing_on_the_stable_version(stack)
        started = time.monotonic()
        roll(spec, kube, stack, seen)
        took = time.monotonic() - started
    assert router.percents == [0, 10, 0]
    status = stored(api)
    assert status["phase"] == "rolled_back" and "fired at step 1 (10% on version 2)" in status["reason"]
    assert status["reason"].startswith(f"{GATE} = 0.") and f"alert firing on revision {NEW}" in status["reason"]
    states = [p.gates[0].state for p in seen if p.gates]
    assert "pending" in states and states[-1] == "firing"  # not at the first read, as before
    assert took >= 300 / FACTOR  # at least the alert's for (10 s here) of version 2's own breach


# -- AWS: the stable variant's alarm on moto ------------------------------------------------------------

AWS_PLAN = {"endpointName": "e-stable-breach", "steps": [10, 100], "bakeSeconds": 600, "variant": "primary",
            "canaryVariant": "canary", "gateTimeoutSeconds": 900, "rollbackAlarms": ["stable-breach-latency"]}


@pytest.mark.moto
def test_aws_an_alarm_on_the_stable_variant_does_not_roll_back_a_healthy_canary():
    """The compiled alarm watches VariantName=primary (the stable version): its ALARM, from primary
    datapoints above the threshold, with the canary's datapoints healthy, is reported and the rollout goes
    on; the canary's own breach still rolls back, with the canary's value. Names of its own: moto's
    backends outlive a server within the test process."""
    from tests.support.moto_server import client, running_moto_server

    spec = RolloutSpec.from_graph("endpoints.scorer", AWS_PLAN)
    dims = {v: [{"Name": "EndpointName", "Value": "e-stable-breach"}, {"Name": "VariantName", "Value": v}]
            for v in ("primary", "canary")}
    with running_moto_server() as url:
        cw = client("cloudwatch", url)
        cw.put_metric_alarm(AlarmName="stable-breach-latency", MetricName="ModelLatency", Namespace="AWS/SageMaker",
                            Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=250000,
                            ComparisonOperator="GreaterThanThreshold", Dimensions=dims["primary"])

        def put(variant: str, microseconds: float) -> None:
            """A request's latency on ``variant``, and the request itself (``Invocations``: the canary's
            requests in the step are counted, rollout/reconcile.py rule 10)."""
            cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
                {"MetricName": "ModelLatency", "Dimensions": dims[variant], "Value": microseconds,
                 "Unit": "Microseconds"},
                {"MetricName": "Invocations", "Dimensions": dims[variant], "Value": 1, "Unit": "None"}])

        now = time.time()
        put("primary", 900000)
        put("canary", 40000)
        cw.set_alarm_state(AlarmName="stable-breach-latency", StateValue="ALARM",
                           StateReason="Threshold Crossed: 1 datapoint [900000.0] was greater than 250000.0")
        [reading] = CloudWatchGates(cw).read(spec, now - 600, time.time() + 60)
        assert (reading.state, reading.value) == ("ok", 40000)
        assert reading.stable.startswith("variant primary = 900000, alarm in ALARM (Threshold Crossed")
        status = RolloutStatus("progressing", "2", "1", 0, now - 600, in_effect=now - 600)
        observed = Observed("2", "1", 10, status=status)
        on = reconcile(spec, observed, [reading], now)
        assert on.action == "set_traffic" and on.percent == 100
        assert "the stable version 1 breaches (not counted against version 2): stable-breach-latency: variant " \
               "primary = 900000, alarm in ALARM" in on.message
        cw.set_alarm_state(AlarmName="stable-breach-latency", StateValue="OK", StateReason="recovered")
        [datapoints] = CloudWatchGates(cw).read(spec, now - 600, time.time() + 60)
        assert datapoints.state == "ok"  # the primary datapoint above the threshold alone does not fire either
        assert datapoints.stable == "variant primary = 900000, breached 250000.0 in this step"
        put("canary", 2500000)
        [own] = CloudWatchGates(cw).read(spec, now - 600, time.time() + 60)
        assert own.state == "firing" and own.value == (40000 + 2500000) / 2  # the canary's period Average
        back = reconcile(spec, observed, [own], now)
        assert back.action == "rollback"  # with the canary's value, not the primary's 900000
        assert back.status.reason.startswith("stable-breach-latency = 1.27e+06 (canary variant breached 250000.0")
