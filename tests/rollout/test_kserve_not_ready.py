"""A new revision that never becomes ready no longer freezes a KServe canary: the driver against the
Kubernetes API stand-in with the KServe stand-in's revisions (tests/support/kserve.py), which stay
deploying (Knative Ready Unknown) or fail (Ready False) as told.

Before, reconcile rule 2 ("the endpoint is updating: wait") came first and had no end: a revision that
cannot be scheduled, crash-loops or cannot pull its image kept the rollout waiting with its gates
unread, and nobody was told. Now a failed revision rolls back at once, one still deploying after the
not-ready timeout rolls back then, both with a reason naming the revision and Knative's message, and
the scheduled runner sends the rollback notice for them as for a firing gate.
"""

from __future__ import annotations

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.rollout.drivers.kserve import FIELD_MANAGER, KServeDriver, status_config_map
from mlops_infra.rollout.fleet import Member
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from mlops_infra.rollout.scheduled import run_pass
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, spec
from tests.support.kube_api import KubeApiStandIn

NS, NAME = "fraud-dev", "scorer"
STATUS = status_config_map(NAME)
ISVC = ("serving.kserve.io/v1beta1", "InferenceService")
MISSING = 'Unable to fetch image "registry.example/scorer:14": failed to resolve image to digest: not found'
CRASH = "Container failed with: CUDA error: out of memory"
TIMEOUT = 1800
"""The default not-ready timeout (``rollout/model.py`` ``TIMEOUT``): 30 minutes."""


def serve(kube: KubeClient, version: int, stable: int | None) -> None:
    """The endpoint serving ``stable`` (recorded in the status ConfigMap), then `pulumi up` of ``version``
    at the first step (KServe makes a revision for each: the stand-in's write hook)."""
    isvc = {"apiVersion": ISVC[0], "kind": ISVC[1],
            "metadata": {"name": NAME, "namespace": NS, "annotations": {"mlops-infra/model-version": str(stable)}},
            "spec": {"predictor": {"model": {"storageUri": f"s3://m/{stable}/"}}}}
    if stable is not None:
        kube.create(isvc, NS)
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": STATUS, "namespace": NS},
                 **({"data": {"stable-version": str(stable)}} if stable is not None else {})}, NS)
    new = {"metadata": {"annotations": {"mlops-infra/model-version": str(version)}},
           "spec": {"predictor": {"canaryTrafficPercent": STEPS[0], "model": {"storageUri": f"s3://m/{version}/"}}}}
    if stable is None:
        kube.create({**isvc, "metadata": {**isvc["metadata"], **new["metadata"]}, "spec": new["spec"]}, NS)
    else:
        from mlops_infra.kube.resources import INFERENCE_SERVICE

        kube.patch(INFERENCE_SERVICE, NAME, NS, new)


def driver(api: KubeApiStandIn) -> KServeDriver:
    return KServeDriver(KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01)), NS, NAME)


def traffic_writes(api: KubeApiStandIn) -> list[int]:
    """The shares the rollout driver set (its patches name it: ``fieldManager``)."""
    return [r.body["spec"]["predictor"]["canaryTrafficPercent"] for r in api.requests_for("PATCH")
            if r.status == 200 and "spec" in (r.body or {}) and r.query.get("fieldManager") == FIELD_MANAGER]


def status(api: KubeApiStandIn) -> dict[str, str]:
    return api.get("v1", "ConfigMap", STATUS, NS).get("data") or {}


def percent(api: KubeApiStandIn) -> int | None:
    return api.get(*ISVC, NAME, NS)["spec"]["predictor"].get("canaryTrafficPercent")


def run(api: KubeApiStandIn, clock: Clock, rollout: RolloutSpec | None = None, max_passes: int = 400,
        gates: ScriptedGates | None = None):
    gates = gates or ScriptedGates()
    gates.percent = lambda: percent(api)
    seen: list = []
    last = watch(rollout or spec(), driver(api), gates, Watch(poll_seconds=60, max_passes=max_passes, clock=clock,
                                                               sleep=clock.sleep, on_pass=seen.append))
    return last, seen


def test_a_revision_knative_marks_failed_rolls_back_at_once_before_its_first_step(api, clock, kserve):
    kserve.fail("14", MISSING)
    serve(KubeClient.from_url(api.url), 14, stable=13)
    start = clock.now
    last, seen = run(api, clock)
    assert last.decision.action == "none"  # settled: the runner stops
    assert clock.now - start < 300  # at once, not after a timeout
    assert traffic_writes(api) == [0] and percent(api) == 0
    stored = status(api)
    assert stored["phase"] == "rolled_back" and stored["revision"] == "14" and stored["stable-version"] == "13"
    reason = stored["reason"]
    assert "revision scorer-predictor-00002 of version 14 failed" in reason
    assert "Unable to fetch image" in reason and "before step 1 (version 13 keeps all traffic)" in reason
    assert len(reason) <= 256
    assert [p.decision.action for p in seen if p.acted] == ["rollback"]


def test_a_revision_still_deploying_after_the_timeout_rolls_back_then(api, clock, kserve):
    kserve.hold("14")
    serve(KubeClient.from_url(api.url), 14, stable=13)
    start = clock.now
    last, seen = run(api, clock)
    assert last.decision.action == "none"
    waited = [p for p in seen if p.decision.action == "wait"]
    assert waited and all("rolling back in" in p.decision.message for p in waited)
    rolled = next(p for p in seen if p.decision.action == "rollback")
    assert rolled.decision.status is not None
    elapsed = rolled.decision.status.since - start
    assert TIMEOUT <= elapsed < TIMEOUT + 120  # at the timeout, not before
    assert traffic_writes(api) == [0]  # nothing moved before the rollback
    stored = status(api)
    assert stored["phase"] == "rolled_back"
    assert "revision scorer-predictor-00002 of version 14 not ready after 30m" in stored["reason"]
    assert "(timeout 30m00s)" in stored["reason"]


def test_the_timeout_comes_from_the_rollout_plan(api, clock, kserve):
    kserve.hold("14")
    serve(KubeClient.from_url(api.url), 14, stable=13)
    plan = {"strategy": "canary", "steps": list(STEPS), "bakeSeconds": BAKE, "rollbackAlerts": [],
            "kubeResource": f"{NS}/{NAME}", "notReadyTimeoutSeconds": 3600}
    rollout = RolloutSpec.from_graph(f"endpoints.{NAME}", plan)
    assert rollout.target == "kubernetes" and rollout.not_ready_timeout_seconds == 3600
    start = clock.now
    _, seen = run(api, clock, rollout)
    rolled = next(p for p in seen if p.decision.action == "rollback")
    assert 3600 <= rolled.decision.status.since - start < 3600 + 120
    assert "not ready after 1h00m (timeout 1h00m)" in status(api)["reason"]


def test_a_revision_that_becomes_ready_in_time_is_rolled_out(api, clock, kserve):
    kserve.hold("14")
    serve(KubeClient.from_url(api.url), 14, stable=13)
    rollout, gates = spec(), ScriptedGates(percent=lambda: percent(api))
    for _ in range(20):  # 20 minutes of passes while a GPU node is provisioned
        assert reconcile_once(rollout, driver(api), gates, clock.now).decision.action == "wait"
        clock.sleep(60)
    kserve.settle(NAME, "ready", namespace=NS)
    last, _ = run(api, clock)
    assert last.decision.action == "none" and status(api)["phase"] == "finished"
    assert traffic_writes(api) == list(STEPS[1:])  # the first step is pulumi's


def test_a_revision_that_fails_during_the_rollout_rolls_back_at_its_step(api, clock, kserve):
    serve(KubeClient.from_url(api.url), 14, stable=13)
    rollout, gates = spec(), ScriptedGates(percent=lambda: percent(api))
    while percent(api) != 10 or status(api).get("step") != "2":
        reconcile_once(rollout, driver(api), gates, clock.now)
        clock.sleep(60)
    failed = kserve.settle(NAME, "failed", CRASH, namespace=NS)
    component = api.get(*ISVC, NAME, NS)["status"]["components"]["predictor"]
    assert component["latestCreatedRevision"] == failed != component["latestReadyRevision"]
    last, _ = run(api, clock)
    assert last.decision.action == "none"
    stored = status(api)
    assert stored["phase"] == "rolled_back" and percent(api) == 0
    assert f"revision {failed} of version 14 failed" in stored["reason"]
    assert "CUDA error: out of memory" in stored["reason"]
    assert "at step 3 (10% on version 14)" in stored["reason"]


def test_a_first_deployment_that_fails_has_nothing_to_roll_back_to_and_waits_saying_why(api, clock, kserve):
    kserve.fail("14", CRASH)
    serve(KubeClient.from_url(api.url), 14, stable=None)
    last, _ = run(api, clock, max_passes=5)
    assert last.decision.action == "wait"
    assert "revision scorer-predictor-00001 of version 14 failed" in last.decision.message
    assert "no other version to roll back to" in last.decision.message
    assert traffic_writes(api) == [] and status(api) == {}


def test_the_scheduled_runner_sends_the_rollback_notice_for_a_failed_revision(api, clock, kserve):
    kserve.fail("14", MISSING)
    serve(KubeClient.from_url(api.url), 14, stable=13)
    sent: list[tuple[str, float]] = []
    member = Member(spec(), driver(api), ScriptedGates(percent=lambda: percent(api)))
    [result] = run_pass([member], clock.now, notify={NAME}, notifier=lambda endpoint, when, facts: sent.append((endpoint,
                                                                                                        when)))
    assert result.result is not None and result.result.acted and result.result.decision.action == "rollback"
    assert sent == [(NAME, clock.now)]
    clock.sleep(60)
    run_pass([member], clock.now, notify={NAME}, notifier=lambda endpoint, when, facts: sent.append((endpoint, when)))
    assert sent == [(NAME, clock.now - 60)]  # once: the next pass finds it rolled back and settled
