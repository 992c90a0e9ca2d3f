"""A step counts as in effect only once KServe's status shows the observed version's revision (audit k8sroll-5).

Right after ``pulumi up`` of a blue/green version 15 (``canaryTrafficPercent: 0``) over a rolled-back
version 14, the InferenceService's status is still the one KServe wrote for 14: its latest revision at
0 %, route ready. The 0 % step matched that share, so it was "in effect" at once, baked with no version-15
revision at all, and switched to 100 %. The driver now reads the latest ready revision of a rollout in
progress (``drivers/kserve.py`` ``canary_candidate``) and counts the share only when that revision was made
for the observed version (``observe_isvc``). The real ``observe_isvc`` and ``reconcile``; the objects as
KServe v0.15.0 writes them (the audit's reproduction, ``/tmp/aud-k8sroll-scratch/repro_e.py``).
"""

from __future__ import annotations

import copy

from mlops_infra.rollout.drivers.kserve import canary_candidate, observe_isvc, status_patch
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.reconcile import reconcile

SPEC = RolloutSpec("scorer", "blue_green", (0, 100), 600, ("scorer-errors",), target="kubernetes")
ROLLED_BACK = {"metadata": {"resourceVersion": "7"},
               "data": {"phase": "rolled_back", "revision": "14", "previous": "13", "step": "0", "since": "0",
                        "reason": "scorer-errors fired", "stable-version": "13"}}


def isvc(latest: str, old: str) -> dict:
    """Version 15 applied at 0 %; the status names ``latest`` as the latest revision at 0 % (``old``: the rest)."""
    return {"metadata": {"resourceVersion": "42", "annotations": {"mlops-infra/model-version": "15"}},
            "spec": {"predictor": {"canaryTrafficPercent": 0}},
            "status": {"components": {"predictor": {
                "latestCreatedRevision": latest, "latestReadyRevision": latest,
                "traffic": [{"revisionName": latest, "latestRevision": True, "percent": 0},
                            {"revisionName": old, "latestRevision": False, "percent": 100, "tag": "prev"}]}},
                "conditions": [{"type": "PredictorRouteReady", "status": "True"}]}}


def revision(name: str, version: str) -> dict:
    return {"metadata": {"name": name, "annotations": {"mlops-infra/model-version": version}}}


def test_a_status_kserve_has_not_updated_since_the_apply_is_not_taken_as_the_step_in_effect():
    stale = isvc("scorer-predictor-00002", "scorer-predictor-00001")  # version 14's revision
    status_map = copy.deepcopy(ROLLED_BACK)
    start = reconcile(SPEC, observe_isvc(stale, status_map), [], 0.0)
    assert (start.action, start.percent) == ("set_traffic", 0)
    status_map["data"].update({k: v for k, v in (status_patch(start, observe_isvc(stale, status_map)) or {}).items()
                               if v is not None})

    assert canary_candidate(stale, status_map) == "scorer-predictor-00002"
    observed = observe_isvc(stale, status_map, revision("scorer-predictor-00002", "14"))
    assert not observed.in_effect and observed.canary is None
    second = reconcile(SPEC, observed, [], 60.0)
    assert second.action == "wait", second.message  # before: "record", the bake timed from a version-14 status
    assert "KServe has not made version 15's revision yet" in second.message
    assert "scorer-predictor-00002, is of version 14" in second.message

    caught_up = isvc("scorer-predictor-00003", "scorer-predictor-00001")  # KServe made version 15's revision
    observed = observe_isvc(caught_up, status_map, revision("scorer-predictor-00003", "15"))
    assert observed.in_effect and observed.canary == "scorer-predictor-00003"
    assert reconcile(SPEC, observed, [], 120.0).action == "record"
