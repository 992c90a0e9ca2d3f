"""Simulated end-to-end rollouts on KServe: the driver against the Kubernetes API stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.kube import KubeClient, KubeServerError, RetryPolicy
from mlops_infra.kube.resources import CONFIG_MAP, INFERENCE_SERVICE
from mlops_infra.rollout.drivers.kserve import KServeDriver, status_config_map
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, race, race_outcomes, spec
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn, load_crds

NS, NAME = "fraud-dev", "scorer"
STATUS = status_config_map(NAME)
ROLLOUT_RULES = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "patch"]},
                 {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [STATUS], "verbs": ["get", "patch"]}]


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return load_crds("serving.kserve.io_inferenceservices.minimal.yaml")


@pytest.fixture
def api(crds):
    with KubeApiStandIn(crds=crds, tokens={"admin": None, "rollout": ROLLOUT_RULES}) as server:
        yield server


def deploy(api: KubeApiStandIn, version: int, stable: int | None = 12) -> None:
    """What `pulumi up` leaves: the new version deployed dark (0%), the last finished version recorded
    (by the runner, in the status ConfigMap the compiler creates empty)."""
    annotations = {"mlops-infra/model-version": str(version)}
    api.seed({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": NAME, "namespace": NS, "annotations": annotations},
              "spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": f"s3://m/{version}/"}}}})
    data = {"stable-version": str(stable)} if stable is not None else None
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": STATUS, "namespace": NS},
              **({"data": data} if data else {})})


def driver(api: KubeApiStandIn) -> KServeDriver:
    return KServeDriver(KubeClient.from_url(api.url, token="rollout", retry=RetryPolicy(attempts=2, base_delay=0.01)),
                        NS, NAME)


def traffic_writes(api: KubeApiStandIn) -> list[int]:
    return [r.body["spec"]["predictor"]["canaryTrafficPercent"] for r in api.requests_for("PATCH")
            if r.status == 200 and "spec" in (r.body or {})]


def status(api: KubeApiStandIn) -> dict[str, str]:
    """The stored rollout status (the ConfigMap's data)."""
    return api.get("v1", "ConfigMap", STATUS, NS).get("data") or {}


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
    stored = status(api)
    assert stored["phase"] == "finished"
    assert stored["stable-version"] == "13"
    assert last.decision.action == "none"
    assert clock.now - start >= BAKE * len(STEPS)  # every step baked in full


def test_unhealthy_at_step_three_rolls_back_and_records_why(api):
    deploy(api, 13)
    gates = ScriptedGates(decide=lambda percent: "firing" if percent == 10 else "ok")
    run(api, gates, Clock())
    assert traffic_writes(api) == [2, 5, 10, 0]
    stored = status(api)
    assert stored["phase"] == "rolled_back"
    assert "scorer-latency = 0.42" in stored["reason"]
    assert "step 3 (10% on version 13)" in stored["reason"]
    assert stored["stable-version"] == "12"  # the previous version keeps serving
    model = api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://m/13/"  # the new version's predictor is kept for inspection


def test_unreadable_gate_holds_then_rolls_back_at_the_timeout(api):
    deploy(api, 13)
    gates = ScriptedGates(decide=lambda percent: "unreadable" if percent == 5 else "ok")
    clock = Clock()
    run(api, gates, clock)
    assert traffic_writes(api) == [2, 5, 0]  # never advanced past the blind step
    reason = status(api)["reason"]
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
    assert status(api)["phase"] == "finished"


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
    assert status(api)["phase"] == "finished"


def test_the_driver_needs_only_get_and_patch(api):
    deploy(api, 13)
    run(api, ScriptedGates(), Clock())
    verbs = {r.verb for r in api.requests if r.token == "rollout"}
    assert verbs == {"get", "patch"} and all(r.status in (200, 409) for r in api.requests if r.token == "rollout")


def test_first_deployment_takes_all_traffic_at_once(api):
    deploy(api, 13, stable=None)
    run(api, ScriptedGates(), Clock())
    assert traffic_writes(api) == [100]
    assert status(api)["reason"].startswith("first deployment")


def test_abort_and_resume(api):
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api))
    for _ in range(3):
        reconcile_once(spec(), driver(api), gates, clock.now)
        clock.sleep(BAKE)
    aborted = reconcile_once(spec(), driver(api), gates, clock.now, command="abort")
    assert aborted.decision.action == "rollback" and current_percent(api) == 0
    assert status(api)["phase"] == "aborted"
    again = reconcile_once(spec(), driver(api), gates, clock.now, command="abort")
    assert again.decision.action == "none" and "nothing to abort" in again.decision.message
    resumed = reconcile_once(spec(), driver(api), gates, clock.now, command="resume")
    assert resumed.decision.action == "set_traffic" and current_percent(api) == 2
    kube = KubeClient.from_url(api.url, token="admin")
    assert kube.get(CONFIG_MAP, STATUS, NS)["data"]["step"] == "0"


# Revisions: KServe copies the InferenceService's annotations into the Knative revision template
# (tests/support/kserve.py, kserve v0.15.0 predictor.go buildPredictorResources), so a status kept
# there made a new revision of the new version at every write.

def test_a_rollout_from_start_to_finish_makes_exactly_one_revision_of_the_new_version(api):
    kserve = KServeRevisions(api)
    deploy(api, 13)
    kserve.sync()
    run(api, ScriptedGates(), Clock())
    assert kserve.of_version(NAME, "13") == ["scorer-predictor-00001"]
    assert status(api)["phase"] == "finished" and traffic_writes(api) == list(STEPS)


def test_a_rollback_makes_no_new_revision(api):
    kserve = KServeRevisions(api)
    deploy(api, 13)
    kserve.sync()
    run(api, ScriptedGates(decide=lambda percent: "firing" if percent == 10 else "ok"), Clock())
    assert kserve.of_version(NAME, "13") == ["scorer-predictor-00001"]
    assert status(api)["phase"] == "rolled_back" and current_percent(api) == 0


def test_the_status_is_not_written_on_the_inference_service(api):
    deploy(api, 13)
    run(api, ScriptedGates(decide=lambda percent: "unreadable" if percent == 5 else "ok"), Clock())
    isvc = KubeClient.from_url(api.url, token="admin").get(INFERENCE_SERVICE, NAME, NS)
    assert isvc["metadata"]["annotations"] == {"mlops-infra/model-version": "13"}
    assert {r.body and next(iter(r.body)) for r in api.requests_for("PATCH", "inferenceservices")} <= {"spec"}


def test_a_rollback_killed_between_its_two_writes_never_gives_the_canary_traffic_back(api):
    """Status first, then traffic: the rolled-back status with the traffic still on the canary is
    completed by reconcile rule 4, never 'corrected' back to the step's share (rule 5)."""
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api), decide=lambda p: "firing" if p == 5 else "ok")
    while current_percent(api) != 5:
        reconcile_once(spec(), driver(api), gates, clock.now)
        clock.sleep(BAKE)
    api.fail(status=500, times=2, method="PATCH", path_contains="inferenceservices")  # killed after the status
    with pytest.raises(KubeServerError):
        reconcile_once(spec(), driver(api), gates, clock.now)
    assert status(api)["phase"] == "rolled_back" and current_percent(api) == 5
    clock.sleep(60)
    again = reconcile_once(spec(), driver(api), gates, clock.now)
    assert again.decision.action == "rollback" and current_percent(api) == 0
    assert traffic_writes(api) == [2, 5, 0]


def test_a_step_killed_between_its_two_writes_is_completed_once(api):
    deploy(api, 13)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: current_percent(api))
    reconcile_once(spec(), driver(api), gates, clock.now)
    assert reconcile_once(spec(), driver(api), gates, clock.now).decision.action == "record"  # 2% in effect
    clock.sleep(BAKE)
    api.fail(status=500, times=2, method="PATCH", path_contains="inferenceservices")
    with pytest.raises(KubeServerError):
        reconcile_once(spec(), driver(api), gates, clock.now)
    assert status(api)["step"] == "1" and current_percent(api) == 2
    run(api, gates, clock)
    assert traffic_writes(api) == list(STEPS) and status(api)["phase"] == "finished"


def test_a_status_kept_by_an_earlier_runner_in_annotations_is_read_then_moved(api):
    """Upgrade: the ConfigMap is still empty, the last finished version is in the legacy annotation."""
    deploy(api, 13, stable=None)
    isvc = api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)
    isvc["metadata"]["annotations"]["rollout.mlops-infra.io/stable-version"] = "12"
    api.seed(isvc)
    first = reconcile_once(spec(), driver(api), ScriptedGates(), Clock().now)
    assert first.decision.action == "set_traffic"  # a canary, not a "first deployment"
    assert status(api)["stable-version"] == "12" and status(api)["phase"] == "progressing"


def test_a_lost_race_on_the_status_writes_no_traffic(api):
    deploy(api, 13)
    kube = KubeClient.from_url(api.url, token="admin")
    one = driver(api)
    observed = one.observe()
    kube.patch(CONFIG_MAP, STATUS, NS, {"data": {"note": "someone else"}})
    from mlops_infra.rollout.reconcile import reconcile
    from mlops_infra.rollout.runner import Lost
    decision = reconcile(spec(), observed, [], Clock().now)
    with pytest.raises(Lost):
        one.act(decision, observed, Clock().now)
    assert traffic_writes(api) == [] and current_percent(api) == 0
