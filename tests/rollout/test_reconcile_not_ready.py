"""Reconcile rule 2 with a not-ready revision (rollout/reconcile.py), pure: Kubernetes rolls back a
revision Knative failed or that stays not ready past the timeout; AWS only waits, as before (SageMaker
refuses any update while an endpoint is Updating). And the driver's reading of the InferenceService
status it decides from (rollout/drivers/kserve.py not_ready_of)."""

from __future__ import annotations

from mlops_infra.rollout.drivers.kserve import not_ready_of, observe_isvc
from mlops_infra.rollout.model import (
    DEFAULT_NOT_READY_TIMEOUT,
    NotReady,
    Observed,
    RolloutSpec,
    RolloutStatus,
)
from mlops_infra.rollout.reconcile import reconcile
from tests.rollout.sim import spec

NOW = 1_800_000_000.0
DEPLOYING = NotReady("scorer-predictor-00002", failed=False, since=NOW - 60)
FAILED = NotReady("scorer-predictor-00002", failed=True, since=NOW - 60,
                  why='RevisionFailed: Revision "scorer-predictor-00002" failed with message: Container failed.')


def observed(not_ready: NotReady | None, status: RolloutStatus | None = None, stable: str | None = "13") -> Observed:
    return Observed("14", stable, 2, ready=False, status=status, detail="revision scorer-predictor-00002 is not ready",
                    not_ready=not_ready)


def test_aws_waits_whatever_the_driver_says():
    for pending in (DEPLOYING, FAILED, None):
        decision = reconcile(spec("aws"), observed(pending), [], NOW + 10 * DEFAULT_NOT_READY_TIMEOUT)
        assert decision.action == "wait" and decision.status is None
        assert decision.message.startswith("the endpoint is updating")


def test_kubernetes_without_what_knative_says_waits_as_before():
    decision = reconcile(spec(), observed(None), [], NOW)
    assert decision.action == "wait" and decision.status is None


def test_a_deploying_revision_waits_until_the_timeout_and_says_when_it_rolls_back():
    decision = reconcile(spec(), observed(DEPLOYING), [], NOW)
    assert decision.action == "wait" and decision.status is None
    assert decision.next_check == DEPLOYING.since + DEFAULT_NOT_READY_TIMEOUT
    assert "rolling back in 29m00s unless it becomes ready" in decision.message
    late = reconcile(spec(), observed(DEPLOYING), [], DEPLOYING.since + DEFAULT_NOT_READY_TIMEOUT)
    assert late.action == "rollback" and late.percent == 0
    assert late.status == RolloutStatus("rolled_back", "14", "13", 0, DEPLOYING.since + DEFAULT_NOT_READY_TIMEOUT,
                                        reason=late.status.reason)


def test_no_time_of_the_last_change_means_no_timeout():
    pending = NotReady("scorer-predictor-00002", failed=False, since=None)
    decision = reconcile(spec(), observed(pending), [], NOW + 100 * DEFAULT_NOT_READY_TIMEOUT)
    assert decision.action == "wait" and "no time of its last change" in decision.message


def test_a_failed_revision_in_progress_rolls_back_at_its_step_like_a_firing_gate():
    step = RolloutStatus("progressing", "14", "13", 1, NOW - 300)
    decision = reconcile(spec(), observed(FAILED, step), [], NOW)
    assert decision.action == "rollback" and decision.percent == 0
    assert decision.status == step.evolve(phase="rolled_back", since=NOW, reason=decision.status.reason)
    assert decision.status.reason.startswith("revision scorer-predictor-00002 of version 14 failed: RevisionFailed")
    assert decision.status.reason.endswith("at step 2 (5% on version 14)")


def test_a_rolled_back_version_whose_revision_is_not_ready_is_settled_not_waited_on():
    rolled = RolloutStatus("rolled_back", "14", "13", 0, NOW - 60, reason="failed")
    settled = Observed("14", "13", 0, ready=False, status=rolled, not_ready=FAILED)
    assert reconcile(spec(), settled, [], NOW).action == "none"
    moved = Observed("14", "13", 2, ready=False, status=rolled, not_ready=FAILED)
    completing = reconcile(spec(), moved, [], NOW)  # pulumi put the first step back: take it away again
    assert completing.action == "rollback" and completing.percent == 0


def test_resume_of_a_version_whose_revision_still_fails_rolls_back_again():
    rolled = RolloutStatus("rolled_back", "14", "13", 0, NOW - 60, reason="failed")
    decision = reconcile(spec(), observed(FAILED, rolled), [], NOW, "resume")
    assert decision.action == "rollback" and decision.status is not None and decision.status.since == NOW


def test_nothing_to_roll_back_to_waits_saying_why():
    for stable in (None, "14"):
        decision = reconcile(spec(), observed(FAILED, stable=stable), [], NOW)
        assert decision.action == "wait" and decision.status is None
        assert "no other version to roll back to" in decision.message


def test_the_timeout_is_read_from_the_plan_and_defaults_to_thirty_minutes():
    plan = {"strategy": "canary", "steps": [5, 100], "bakeSeconds": 60, "kubeResource": "ns/scorer"}
    assert RolloutSpec.from_graph("endpoints.scorer", plan).not_ready_timeout_seconds == DEFAULT_NOT_READY_TIMEOUT == 1800
    plan["notReadyTimeoutSeconds"] = 2700
    assert RolloutSpec.from_graph("endpoints.scorer", plan).not_ready_timeout_seconds == 2700


def isvc(conditions: list[dict] | None, created: str = "scorer-predictor-00002",
         ready: str = "scorer-predictor-00001") -> dict:
    status = {"components": {"predictor": {"latestCreatedRevision": created, "latestReadyRevision": ready}}}
    if conditions is not None:
        status["conditions"] = conditions
    return {"metadata": {"annotations": {"mlops-infra/model-version": "14"}, "resourceVersion": "7"},
            "spec": {"predictor": {"canaryTrafficPercent": 2}}, "status": status}


def test_the_driver_reads_knatives_verdict_from_the_predictor_configuration_condition():
    failed = isvc([{"type": "LatestDeploymentReady", "status": "False", "reason": "PredictorConfigurationReady not ready",
                    "lastTransitionTime": "2026-12-05T14:00:00Z"},
                   {"type": "PredictorConfigurationReady", "status": "False", "reason": "RevisionFailed",
                    "message": 'Revision "scorer-predictor-00002" failed with message: ' + "x" * 300,
                    "lastTransitionTime": "2026-12-05T14:00:00Z"}])
    seen = observe_isvc(failed, {"data": {"stable-version": "13"}, "metadata": {"resourceVersion": "3"}},
                        revision("14", "2026-12-05T13:59:00Z"))
    assert not seen.ready and seen.not_ready is not None
    assert seen.not_ready.revision == "scorer-predictor-00002" and seen.not_ready.failed
    assert seen.not_ready.since == 1796479200.0  # 2026-12-05T14:00:00Z
    assert seen.not_ready.why.startswith('RevisionFailed: Revision "scorer-predictor-00002" failed with message: ')
    assert len(seen.not_ready.why) == 120 and seen.not_ready.why.endswith("...")
    deploying = not_ready_of(isvc([{"type": "PredictorConfigurationReady", "status": "Unknown",
                                    "lastTransitionTime": "2026-12-05T14:00:00Z"}]), "scorer-predictor-00002")
    assert deploying == NotReady("scorer-predictor-00002", failed=False, since=1796479200.0, why="")


def test_no_condition_or_no_readable_time_is_not_failed_and_untimed():
    assert not_ready_of(isvc(None), "r") == NotReady("r", failed=False)
    odd = not_ready_of(isvc([{"type": "PredictorConfigurationReady", "status": "Unknown",
                              "lastTransitionTime": "yesterday"}]), "r")
    assert odd == NotReady("r", failed=False, since=None)
    assert observe_isvc(isvc(None, ready="scorer-predictor-00002")).not_ready is None  # ready: nothing to say


def revision(version: str | None, created: str, name: str = "scorer-predictor-00002") -> dict:
    """The Knative Revision as the driver reads it (its template's annotations, its creation time)."""
    annotations = {} if version is None else {"mlops-infra/model-version": version}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "annotations": annotations, "creationTimestamp": created}}


UNKNOWN = [{"type": "PredictorConfigurationReady", "status": "Unknown", "lastTransitionTime": "2026-12-05T14:00:00Z"}]
FAILED_14 = [{"type": "PredictorConfigurationReady", "status": "False", "reason": "RevisionFailed",
              "message": 'Revision "scorer-predictor-00002" failed with message: Container failed.',
              "lastTransitionTime": "2026-12-05T14:00:00Z"}]


def test_the_revision_is_timed_from_its_creation_when_the_condition_is_older():
    """closing-k8s-1: the condition's time is the first not-ready revision's (SetCondition keeps it)."""
    seen = observe_isvc(isvc(UNKNOWN), None, revision("14", "2026-12-05T14:35:00Z"))
    assert seen.not_ready == NotReady("scorer-predictor-00002", failed=False, since=1796479200.0 + 35 * 60)
    decision = reconcile(spec(), seen, [], 1796479200.0 + 35 * 60 + 1)
    assert decision.action == "wait" and decision.next_check == 1796479200.0 + 35 * 60 + DEFAULT_NOT_READY_TIMEOUT
    older = observe_isvc(isvc(UNKNOWN), None, revision("14", "2026-12-05T13:00:00Z"))  # the condition is later
    assert older.not_ready is not None and older.not_ready.since == 1796479200.0


def test_a_revision_of_another_version_is_not_judged():
    """closing-k8s-2: right after `pulumi up` the status still names the previous version's revision."""
    for made_for in ("13", None):
        seen = observe_isvc(isvc(FAILED_14), {"data": {"stable-version": "12"}}, revision(made_for, "2026-12-05T13:59:00Z"))
        assert not seen.ready and seen.not_ready is None
        assert seen.detail.startswith("KServe has not made version 14's revision yet (its newest revision, "
                                      "scorer-predictor-00002, is of version ")
        decision = reconcile(spec(), seen, [], NOW)
        assert decision.action == "wait" and decision.status is None and "KServe has not made" in decision.message


def test_an_unreadable_revision_or_none_given_is_not_judged():
    why = "cannot read revisions.serving.knative.dev/scorer-predictor-00002 in fraud-dev (403 Forbidden): grant"
    for given, says in ((why, "403 Forbidden"), (None, "revision scorer-predictor-00002 is not ready yet")):
        seen = observe_isvc(isvc(FAILED_14), {"data": {"stable-version": "13"}}, given)
        assert seen.not_ready is None and says in seen.detail
        decision = reconcile(spec(), seen, [], NOW)
        assert decision.action == "wait" and decision.status is None and says in decision.message
