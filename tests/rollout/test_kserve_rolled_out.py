"""A version applied while the previous one bakes at its 100 % step is canaried against, and rolled back
onto, the version KServe really routes the rest to (audit k8sroll-3).

KServe counts a revision as rolled out as soon as its ``latestRevision`` target is at 100 % (kserve v0.15.0
``inference_service_status.go`` ``PropagateStatus`` l.451-457) and sends every later canary's remainder to it
(``ksvc_reconciler.go`` ``createKnativeService`` l.128-149, tag ``prev``): at a canary's last step of 100 the
unfinished version is already the one a newer version's canary splits with. Before, the controller started
"from 13" (the ConfigMap's ``stable-version``), its rollback notice said 13 served all traffic, and 14 did.

The driver runs against the Kubernetes API stand-in with the KServe stand-in's traffic model
(tests/support/kserve.py, "Traffic": a transcription of those lines, not KServe itself).
"""

from __future__ import annotations

from mlops_infra.kube import KubeClient
from mlops_infra.rollout.runner import reconcile_once
from mlops_infra.rollout.scheduled import notice_facts
from tests.rollout.sim import STEPS, ScriptedGates, spec
from tests.rollout.test_kserve_not_ready import ISVC, NAME, NS, driver, percent, serve, status
from tests.rollout.test_kserve_revision_version import ship


def routed(api) -> list[tuple[str, int]]:
    """(revision, percent) of each traffic target KServe copied from Knative's route."""
    component = api.get(*ISVC, NAME, NS)["status"]["components"]["predictor"]
    return [(t["revisionName"], t["percent"]) for t in component["traffic"]]


def passes_until(api, clock, done, decide=lambda percent: "ok", limit=200):
    gates = ScriptedGates(decide=decide, percent=lambda: percent(api))
    for _ in range(limit):
        result = reconcile_once(spec(), driver(api), gates, clock.now)
        if done(result):
            return result
        clock.sleep(60)
    raise AssertionError(f"not reached in {limit} passes: {status(api)}")


def test_a_version_applied_during_the_100_percent_bake_starts_from_and_rolls_back_onto_that_version(
        api, clock, kserve):
    kserve.traffic = True
    serve(KubeClient.from_url(api.url), 14, stable=13)
    (v13,), (v14,) = kserve.of_version(NAME, "13", NS), kserve.of_version(NAME, "14", NS)
    assert routed(api) == [(v14, 2), (v13, 98)]
    passes_until(api, clock, lambda r: status(api).get("step") == str(len(STEPS) - 1)
                 and status(api).get("in-effect") not in (None, "pending"))
    assert (status(api)["phase"], status(api)["stable-version"]) == ("progressing", "13")  # 14 bakes at 100 %
    assert routed(api) == [(v14, 100)]

    ship(api, 15)  # `pulumi up` of version 15 at the first step
    (v15,) = kserve.of_version(NAME, "15", NS)
    assert routed(api) == [(v15, 2), (v14, 98)]  # KServe's prev target: version 14's revision
    start = passes_until(api, clock, lambda r: r.acted)
    assert start.decision.action == "set_traffic"
    assert start.decision.message.startswith("start: 2% of traffic to version 15 (from 14)"), start.decision.message
    assert (status(api)["previous"], status(api)["stable-version"]) == ("14", "14")

    rollback = passes_until(api, clock, lambda r: r.acted, decide=lambda percent: "firing")
    assert rollback.decision.action == "rollback" and percent(api) == 0
    assert routed(api) == [(v15, 0), (v14, 100)]  # what KServe serves after the rollback
    facts = notice_facts(spec(), rollback.decision.status)
    assert (facts["version"], facts["serving_version"]) == ("15", "14")


def test_a_version_applied_before_the_100_percent_step_starts_from_the_stable_version(api, clock, kserve):
    kserve.traffic = True
    serve(KubeClient.from_url(api.url), 14, stable=13)
    (v13,) = kserve.of_version(NAME, "13", NS)
    passes_until(api, clock, lambda r: status(api).get("step") == str(len(STEPS) - 2))  # 75 %: not rolled out
    ship(api, 15)
    (v15,) = kserve.of_version(NAME, "15", NS)
    assert routed(api) == [(v15, 2), (v13, 98)]
    start = passes_until(api, clock, lambda r: r.acted)
    assert start.decision.message.startswith("start: 2% of traffic to version 15 (from 13)"), start.decision.message
    assert (status(api)["previous"], status(api)["stable-version"]) == ("13", "13")
