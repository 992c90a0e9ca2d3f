"""The KServe driver judges only the newest revision of the version being rolled out, timed from its own
creation (audit closing-k8s-1, closing-k8s-2), on the Kubernetes API stand-in with the KServe stand-in
(tests/support/kserve.py), which serves the Knative Revisions and can reconcile after the write.

closing-k8s-1: Knative keeps ``PredictorConfigurationReady``'s ``lastTransitionTime`` from one Unknown
revision to the next (knative/pkg ``apis/condition_set.go`` ``SetCondition``), so after a not-ready
timeout rollback the next version's fresh revision was "not ready after 35m" on its first pass.
closing-k8s-2: right after `pulumi up` the status still describes the previous version's revision (the
controllers reconcile later), and the previous version's failure was blamed on the new version.
"""

from __future__ import annotations

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.resources import INFERENCE_SERVICE
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.sim import STEPS, ScriptedGates, spec
from tests.rollout.test_kserve_not_ready import (
    MISSING,
    NAME,
    NS,
    TIMEOUT,
    percent,
    run,
    serve,
    status,
    traffic_writes,
)
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn

TOKEN = "runner-without-revisions"


def ship(api: KubeApiStandIn, version: int) -> None:
    """`pulumi up` of ``version`` over the rolled-back endpoint: new annotation and model, first step."""
    KubeClient.from_url(api.url).patch(INFERENCE_SERVICE, NAME, NS, {
        "metadata": {"annotations": {"mlops-infra/model-version": str(version)}},
        "spec": {"predictor": {"canaryTrafficPercent": STEPS[0], "model": {"storageUri": f"s3://m/{version}/"}}}})


def one_pass(api: KubeApiStandIn, now: float, token: str | None = None):
    kube = KubeClient.from_url(api.url, token=token, retry=RetryPolicy(attempts=2, base_delay=0.01))
    return reconcile_once(spec(), KServeDriver(kube, NS, NAME), ScriptedGates(percent=lambda: percent(api)), now)


def test_the_next_version_after_a_timeout_rollback_gets_its_own_timeout(api, clock, kserve):
    kserve.hold("14")
    serve(KubeClient.from_url(api.url), 14, stable=13)
    run(api, clock)
    assert status(api)["phase"] == "rolled_back" and "not ready after 30m" in status(api)["reason"]
    clock.sleep(5 * 60)
    kserve.hold("15")  # v15 starts slowly too
    ship(api, 15)
    created = clock.now
    (v15,) = kserve.of_version(NAME, "15", NS)
    first = one_pass(api, clock.now)
    assert first.decision.action == "wait", first.decision.message
    assert first.decision.next_check is not None and abs(first.decision.next_check - (created + TIMEOUT)) < 1
    assert f"revision {v15} of version 15 is not ready yet" in first.decision.message
    _, seen = run(api, clock)
    rolled = next(p for p in seen if p.decision.action == "rollback")
    assert TIMEOUT <= rolled.decision.status.since - created < TIMEOUT + 120  # then, not before
    assert status(api)["revision"] == "15" and f"revision {v15} of version 15 not ready after 30m" in status(api)[
        "reason"]


def test_a_pass_before_kserve_reconciles_does_not_blame_the_previous_versions_failure(api, clock, kserve):
    kserve.fail("14", MISSING)
    serve(KubeClient.from_url(api.url), 14, stable=13)
    run(api, clock)
    assert status(api)["phase"] == "rolled_back" and status(api)["revision"] == "14"
    writes = traffic_writes(api)
    clock.sleep(5 * 60)
    kserve.deferred = True  # KServe and Knative reconcile after the write, as the real controllers do
    ship(api, 15)
    stale = api.get("serving.kserve.io/v1beta1", "InferenceService", NAME, NS)
    assert stale["status"]["components"]["predictor"]["latestCreatedRevision"] == "scorer-predictor-00002"
    early = one_pass(api, clock.now)  # apply's own first pass, right after `pulumi up`
    assert early.decision.action == "wait" and early.decision.status is None
    assert "KServe has not made version 15's revision yet" in early.decision.message
    assert "scorer-predictor-00002, is of version 14" in early.decision.message
    assert traffic_writes(api) == writes and status(api)["revision"] == "14"
    kserve.catch_up()  # v15's revision is made, and is ready
    clock.sleep(30)
    last, _ = run(api, clock)
    assert last.decision.action == "none" and status(api)["phase"] == "finished" and status(api)["revision"] == "15"
    assert percent(api) == 100 and kserve.of_version(NAME, "15", NS) == ["scorer-predictor-00003"]


def test_a_revision_the_runner_may_not_read_is_waited_on_never_rolled_back(crds, clock):
    rules = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "patch"]},
             {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch", "create"]}]
    with KubeApiStandIn(crds=crds, tokens={TOKEN: rules, "admin": None}) as api:
        kserve = KServeRevisions(api, clock=clock)
        kserve.fail("14", MISSING)
        serve(KubeClient.from_url(api.url, token="admin"), 14, stable=13)
        result = one_pass(api, clock.now, token=TOKEN)
        assert result.decision.action == "wait" and result.decision.status is None
        assert "403 Forbidden" in result.decision.message
        assert "grant `get` on revisions.serving.knative.dev in fraud-dev" in result.decision.message
        assert [r.status for r in api.requests_for("GET", "/revisions/")] == [403]
        assert traffic_writes(api) == [] and "phase" not in status(api)
        allowed = one_pass(api, clock.now, token="admin")  # with the right: Knative's verdict rolls back
        assert allowed.decision.action == "rollback" and "Unable to fetch image" in allowed.decision.message
