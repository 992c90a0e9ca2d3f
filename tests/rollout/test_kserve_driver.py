"""Simulated end-to-end rollouts on KServe: the driver against the Kubernetes API stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.resources import INFERENCE_SERVICE
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, race, race_outcomes, spec
from tests.support.kube_api import KubeApiStandIn, load_crds

NS, NAME = "fraud-dev", "scorer"
ROLLOUT_RULES = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "patch"]}]


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return load_crds("serving.kserve.io_inferenceservices.minimal.yaml")


@pytest.fixture
def api(crds):
    with KubeApiStandIn(crds=crds, tokens={"admin": None, "rollout": ROLLOUT_RULES}) as server:
        yield server


def deploy(api: KubeApiStandIn, version: int, stable: int | None = 12) -> None:
    """What `pulumi up` leaves: the new version deployed dark (0%), the last finished version recorded."""
    annotations = {"mlops-infra/model-version": str(version)}
    if stable is not None:
        annotations["rollout.mlops-infra.io/stable-version"] = str(stable)
    api.seed({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": NAME, "namespace": NS, "annotations": annotations},
              "spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": f"s3://m/{version}/"}}}})


def driver(api: KubeApiStandIn) -> KServeDriver:
    return KServeDriver(KubeClient.from_url(api.url, token="rollout", retry=RetryPolicy(attempts=2, base_delay=0.01)),
                        NS, NAME)


def traffic_writes(api: KubeApiStandIn) -> list[int]:
    return [r.body["spec"]["predictor"]["canaryTrafficPercent"] for r in api.requests_for("PATCH")
            if r.status == 200 and "spec" in (r.body or {})]


def annotations(api: KubeApiStandIn) -> dict[str, str]:
    return api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)["metadata"]["annotations"]


def current_percent(api: KubeApiStandIn) -> int:
    return api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)["spec"]["predictor"][
        "canaryTrafficPercent"]


def run(api: KubeApiStandIn, gates: ScriptedGates, clock: Clock, max_passes: int = 200):
    gates.percent = lambda: current_percent(api)
    return watch(spec(), driver(api), gates, Watch(poll_seconds=60, max_passes=max_passes, clock=clock,
                                                   sleep=clock.sleep))


def test_healthy_rollout_walks_all_six_steps_then_finishes(api):
    deploy(api, 13)
    clock = Clock()
    start = clock.now
    last = run(api, ScriptedGates(), clock)
    assert traffic_writes(api) == list(STEPS)
    stored = annotations(api)
    assert stored["rollout.mlops-infra.io/phase"] == "finished"
    assert stored["rollout.mlops-infra.io/stable-version"] == "13"
    assert last.decision.action == "none"
    assert clock.now - start >= BAKE * len(STEPS)  # every step baked in full


def test_unhealthy_at_step_three_rolls_back_and_records_why(api):
    deploy(api, 13)
    gates = ScriptedGates(decide=lambda percent: "firing" if percent == 10 else "ok")
    run(api, gates, Clock())
    assert traffic_writes(api) == [2, 5, 10, 0]
    stored = annotations(api)
    assert stored["rollout.mlops-infra.io/phase"] == "rolled_back"
    assert "scorer-latency = 0.42" in stored["rollout.mlops-infra.io/reason"]
    assert "step 3 (10% on version 13)" in stored["rollout.mlops-infra.io/reason"]
    assert stored["rollout.mlops-infra.io/stable-version"] == "12"  # the previous version keeps serving
    model = api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://m/13/"  # the new version's predictor is kept for inspection


def test_unreadable_gate_holds_then_rolls_back_at_the_timeout(api):
    deploy(api, 13)
    gates = ScriptedGates(decide=lambda percent: "unreadable" if percent == 5 else "ok")
    clock = Clock()
    run(api, gates, clock)
    assert traffic_writes(api) == [2, 5, 0]  # never advanced past the blind step
    reason = annotations(api)["rollout.mlops-infra.io/reason"]
    assert "unreadable for 15m" in reason and "step 2" in reason
    assert gates.reads.count("unreadable") >= 2


@pytest.mark.parametrize("killed_after", range(len(STEPS)))
def test_a_driver_killed_after_each_step_is_continued_by_a_new_one(api, killed_after):
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api))
    first = driver(api)
    while len(traffic_writes(api)) <= killed_after:  # the first driver works until it has set this step
        reconcile_once(spec(), first, gates, clock.now)
        clock.sleep(60)
    first.kube.close()  # killed: nothing of it survives but what it wrote on the endpoint
    run(api, gates, clock)
    assert traffic_writes(api) == list(STEPS)  # no step repeated or skipped
    assert annotations(api)["rollout.mlops-infra.io/phase"] == "finished"


def test_two_reconcilers_at_once_one_wins_each_step(api):
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api))
    drivers = [driver(api), driver(api)]
    outcomes: list[list[str]] = []
    for _ in range(60):
        results = race(spec(), drivers, gates, clock.now)
        outcomes.append(race_outcomes(results))
        if results[0].decision.action == "none":
            break
        clock.sleep(BAKE)
    acting = [o for o in outcomes if o != ["idle", "idle"]]
    assert acting and all(o == ["acted", "lost"] for o in acting)
    assert traffic_writes(api) == list(STEPS)
    assert annotations(api)["rollout.mlops-infra.io/phase"] == "finished"


def test_the_driver_needs_only_get_and_patch(api):
    deploy(api, 13)
    run(api, ScriptedGates(), Clock())
    verbs = {r.verb for r in api.requests if r.token == "rollout"}
    assert verbs == {"get", "patch"} and all(r.status in (200, 409) for r in api.requests if r.token == "rollout")


def test_first_deployment_takes_all_traffic_at_once(api):
    deploy(api, 13, stable=None)
    run(api, ScriptedGates(), Clock())
    assert traffic_writes(api) == [100]
    assert annotations(api)["rollout.mlops-infra.io/reason"].startswith("first deployment")


def test_abort_and_resume(api):
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api))
    for _ in range(3):
        reconcile_once(spec(), driver(api), gates, clock.now)
        clock.sleep(BAKE)
    aborted = reconcile_once(spec(), driver(api), gates, clock.now, command="abort")
    assert aborted.decision.action == "rollback" and current_percent(api) == 0
    assert annotations(api)["rollout.mlops-infra.io/phase"] == "aborted"
    again = reconcile_once(spec(), driver(api), gates, clock.now, command="abort")
    assert again.decision.action == "none" and "nothing to abort" in again.decision.message
    resumed = reconcile_once(spec(), driver(api), gates, clock.now, command="resume")
    assert resumed.decision.action == "set_traffic" and current_percent(api) == 2
    kube = KubeClient.from_url(api.url, token="admin")
    assert kube.get(INFERENCE_SERVICE, NAME, NS)["metadata"]["annotations"]["rollout.mlops-infra.io/step"] == "0"
