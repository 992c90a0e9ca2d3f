"""A step whose Knative route never serves its share is not waited on for ever (audit k8sroll-4).

A Route that cannot program the split stays not Ready with a reason (``RevisionMissing`` when the ``prev``
revision was deleted by hand: knative/serving ``pkg/apis/serving/v1/route_lifecycle.go``
``MarkMissingTrafficTarget``), which KServe copies as ``PredictorRouteReady`` (kserve v0.15.0
``inference_service_status.go`` ``PropagateStatus``); the old split keeps serving. Before, the controller waited
at every pass, "Knative's route does not serve 5% on the latest revision yet", with no bound, no reason and no
notice. Now the wait quotes the route's reason and ends after ``not_ready_timeout`` from the traffic change in a
rollback whose notice says why. The driver runs against the Kubernetes API stand-in with the KServe stand-in's
traffic model (tests/support/kserve.py, "Traffic", ``block_route``).
"""

from __future__ import annotations

from mlops_infra.kube import KubeClient
from mlops_infra.rollout.scheduled import notice_facts
from tests.rollout.sim import spec
from tests.rollout.test_kserve_not_ready import TIMEOUT, serve, status, traffic_writes
from tests.rollout.test_kserve_rolled_out import passes_until

MISSING = 'Revision "scorer-predictor-00001" referenced in traffic not found.'


def test_a_step_whose_route_is_never_ready_rolls_back_after_the_timeout_saying_why(api, clock, kserve):
    kserve.traffic = True
    serve(KubeClient.from_url(api.url), 14, stable=13)
    passes_until(api, clock, lambda r: status(api).get("in-effect") not in (None, "pending"))  # step 1 bakes
    kserve.block_route("RevisionMissing", MISSING)
    asked = passes_until(api, clock, lambda r: r.decision.action == "set_traffic")  # step 2: 5%
    assert asked.decision.percent == 5
    waits = []
    rolled = passes_until(api, clock, lambda r: waits.append(r.decision) or r.decision.action == "rollback", limit=40)
    assert waits[0].action == "wait" and "RevisionMissing: Revision" in waits[0].message
    assert "(rolling back in 30m00s unless it is)" in waits[0].message
    since = float(asked.decision.status.since)
    assert TIMEOUT <= rolled.decision.status.since - since < TIMEOUT + 120  # then, not before
    reason = status(api)["reason"]
    assert status(api)["phase"] == "rolled_back" and len(reason) <= 256
    assert reason.startswith("share not in effect after 30m")
    assert "RevisionMissing" in reason and reason.endswith(" at step 2 (5% on version 14)")
    assert traffic_writes(api)[-1] == 0
    facts = notice_facts(spec(), rolled.decision.status)
    assert facts == {"version": "14", "serving_version": "13", "share": "5%", "cause": "traffic_not_in_effect",
                     "detail": "the step's share not in effect after 30m00s (not_ready_timeout 30m00s) "
                               "(RevisionMissing)"}
