"""A rule-2 rollback reason on Kubernetes with names at their limits still fits a status field with its
step's share (rollout/reconcile.py ``_not_ready``; note42-left "KServe reasons").

A Knative Revision's name and a model's name are each up to 63 characters (a Kubernetes name label;
``spec/names.py``), and the revision key is ``<version> of <model>`` (``drivers/kserve.py``
``revision_key``). The reason quoted the key in its head and again in its tail: with both names at 63
characters and a two-digit step the fixed parts alone passed the 256 characters of a status field, so
the stored reason lost its tail and the rollback notice said the share was "unknown". The model is
now written once, in the ending. The reasons go through ``to_fields``/``from_fields``, as the driver
stores and reads them.
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.kserve import MODEL, VERSION, WHY_MAX, revision_key
from mlops_infra.rollout.model import MAX_FIELD, NotReady, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.scheduled import notice_facts

NOW = 1_800_000_000.0
STEPS = (1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 100)
MODEL_NAME = "fraud-transactions-gradient-boosted-trees-with-merchant-history"
REVISION_NAME = "fraud-transactions-scorer-for-the-eu-card-netwo-predictor-00003"
WHY = ('RevisionFailed: Revision "fraud-scorer-predictor-00003" failed with message: Container failed with: '
       + "Traceback (most recent call last) " * 4)[:WHY_MAX - 3] + "..."
CASES = [(True, "revision_failed", f"revision {REVISION_NAME} failed (RevisionFailed)"),
         (False, "revision_not_ready", f"revision {REVISION_NAME} not ready after 1h06m (not_ready_timeout 30m00s) "
                                       "(RevisionFailed)")]


def _spec() -> RolloutSpec:
    return RolloutSpec("scorer", "canary", STEPS, 600, ("scorer-latency",), 900, "kubernetes")


def _key(version: str, model: str = MODEL_NAME) -> str:
    return revision_key({VERSION: version, MODEL: model})


def _stored(observed: Observed) -> RolloutStatus:
    decision = reconcile(_spec(), observed, [], NOW)
    assert decision.action == "rollback" and decision.status.phase == "rolled_back", decision
    assert len(decision.status.reason) <= MAX_FIELD, decision.status.reason
    stored = RolloutStatus.from_fields(decision.status.to_fields())
    assert stored is not None and stored.reason == decision.status.reason
    return stored


def test_the_names_are_at_their_limits() -> None:
    assert len(MODEL_NAME) == 63 and len(REVISION_NAME) == 63 and len(WHY) == WHY_MAX


@pytest.mark.parametrize(("failed", "cause", "detail"), CASES)
def test_at_a_two_digit_step_the_share_cause_and_detail_survive(failed: bool, cause: str, detail: str) -> None:
    new, old = _key("15"), _key("14")
    pending = NotReady(REVISION_NAME, failed=failed, since=NOW - 4000, why=WHY)
    status = RolloutStatus("progressing", new, old, 10, NOW - 300)
    stored = _stored(Observed(new, old, 80, ready=False, status=status, not_ready=pending))
    assert stored.reason.endswith(f" at step 11 (80% on version 15 of {MODEL_NAME})")
    assert stored.reason.count(MODEL_NAME) == 1  # once, in the ending
    assert notice_facts(_spec(), stored, {}) == {"version": new, "serving_version": old, "share": "80%",
                                                 "cause": cause, "detail": detail}


@pytest.mark.parametrize(("failed", "cause", "detail"), CASES)
def test_before_the_first_step_the_share_is_0_and_the_version_fact_names_the_model(failed: bool, cause: str,
                                                                                    detail: str) -> None:
    for old in (_key("14"), _key("14", "m" * 63)):  # the same model, and a switch to this model from another
        new = _key("15")
        pending = NotReady(REVISION_NAME, failed=failed, since=NOW - 4000, why=WHY)
        stored = _stored(Observed(new, old, 0, ready=False, status=None, not_ready=pending))
        assert stored.reason.endswith(f" before step 1 (version {old} keeps all traffic)")
        assert notice_facts(_spec(), stored, {}) == {"version": new, "serving_version": old, "share": "0%",
                                                     "cause": cause, "detail": detail}
