"""The facts a rollback notice carries (rollout/scheduled.py ``notice_facts``), read from the status the
reconciler itself writes (rollout/reconcile.py rules 2, 6 and 7: every reason is produced here by
``reconcile``, not typed), so a change of the reconciler's wording that the notice can no longer read
fails here. And the facts reach the notifier of ``send_notices``, bounded and free of secrets and of
the free text of cloud or cluster answers."""

from __future__ import annotations

from mlops_infra.rollout.drivers.kserve import MODEL, VERSION, WHY_MAX, revision_key
from mlops_infra.rollout.model import MAX_FIELD, GateReading, NotReady, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.scheduled import CAUSES, MAX_FACT, NOTICE_FACTS, grouping_path, notice_facts
from mlops_infra.secrets.scan import find_secrets

NOW = 1_800_000_000.0
STEPS = (10, 50, 100)
GATES = ("scorer-latency", "scorer-errors")
K8S_GATES = {"scorer-errors": {"compare": ">", "scale": 100.0, "threshold": "1%", "unit": "%"},
             "scorer-latency": {"compare": ">", "scale": 1000.0, "threshold": "250ms", "unit": "ms"}}
SLACK_HOOK = "https://hooks.slack.com/services/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"


def _spec(gates: tuple[str, ...] = GATES) -> RolloutSpec:
    return RolloutSpec("scorer", "canary", STEPS, 600, gates, 900, "kubernetes")


def _at_step(step: int) -> Observed:
    status = RolloutStatus("progressing", "14", "13", step, NOW - 60)
    return Observed("14", "13", STEPS[step], status=status)


def _rolled_back(spec: RolloutSpec, observed: Observed, gates: list[GateReading], now: float = NOW) -> RolloutStatus:
    decision = reconcile(spec, observed, gates, now)
    assert decision.action == "rollback" and decision.status.phase == "rolled_back", decision
    return decision.status


def test_a_fired_alert_says_which_with_its_value_and_threshold_in_the_units_written() -> None:
    status = _rolled_back(_spec(), _at_step(1), [GateReading("scorer-latency", "firing", 0.31, "alert firing"),
                                                 GateReading("scorer-errors", "firing", 0.025, "alert firing")])
    assert notice_facts(_spec(), status, K8S_GATES) == {
        "version": "14", "serving_version": "13", "share": "50%", "cause": "alert_fired",
        "detail": "scorer-latency 310ms > 250ms, scorer-errors 2.5% > 1%"}


def test_only_the_alerts_that_fired_are_named_and_an_undescribed_gate_shows_its_value_as_read() -> None:
    status = _rolled_back(_spec(), _at_step(0), [GateReading("scorer-latency", "ok", 0.1),
                                                 GateReading("scorer-errors", "firing", 0.025, "alert firing")])
    facts = notice_facts(_spec(), status, {})
    assert (facts["share"], facts["cause"], facts["detail"]) == ("10%", "alert_fired", "scorer-errors = 0.025")


def test_a_gate_unreadable_for_the_timeout_says_which_and_how_long_never_the_error_text() -> None:
    spec = _spec()
    held = Observed("14", "13", 10, status=RolloutStatus("progressing", "14", "13", 0, NOW - 2000,
                                                         blind_since=NOW - 1000))
    error = f"Prometheus at {SLACK_HOOK}: URLError: <urlopen error [Errno 111] Connection refused>"
    status = _rolled_back(spec, held, [GateReading(g, "unreadable", detail=error) for g in GATES])
    assert "Prometheus at" in status.reason  # the recorded reason keeps the cause; the notice does not
    facts = notice_facts(spec, status, K8S_GATES)
    assert facts == {"version": "14", "serving_version": "13", "share": "10%", "cause": "gate_unreadable",
                     "detail": "scorer-latency, scorer-errors unreadable for 16m40s (gate_timeout 15m00s)"}


def test_a_failed_revision_keeps_knatives_one_word_reason_not_its_message() -> None:
    failed = NotReady("scorer-predictor-00002", failed=True, since=NOW - 60,
                      why=f"RevisionFailed: Container failed: could not reach {SLACK_HOOK}")
    observed = Observed("14", "13", 10, ready=False, status=RolloutStatus("progressing", "14", "13", 0, NOW - 300),
                        not_ready=failed)
    facts = notice_facts(_spec(), _rolled_back(_spec(), observed, []), K8S_GATES)
    assert facts == {"version": "14", "serving_version": "13", "share": "10%", "cause": "revision_failed",
                     "detail": "revision scorer-predictor-00002 failed (RevisionFailed)"}


def test_a_revision_never_ready_before_the_first_step_had_no_traffic() -> None:
    deploying = NotReady("scorer-predictor-00002", failed=False, since=NOW - 1800)
    observed = Observed("14", "13", 0, ready=False, status=None, not_ready=deploying)
    facts = notice_facts(_spec(), _rolled_back(_spec(), observed, []), K8S_GATES)
    assert facts == {"version": "14", "serving_version": "13", "share": "0%", "cause": "revision_not_ready",
                     "detail": "revision scorer-predictor-00002 not ready after 30m00s (not_ready_timeout 30m00s)"}


def test_a_reason_cut_at_the_status_limit_still_gives_bounded_facts_and_says_the_share_is_unknown() -> None:
    why = "ProgressDeadlineExceeded: " + "x" * 400
    deploying = NotReady("scorer-predictor-00002", failed=True, since=NOW - 60, why=why)
    observed = Observed("14", "13", 10, ready=False, status=RolloutStatus("progressing", "14", "13", 0, NOW - 300),
                        not_ready=deploying)
    status = _rolled_back(_spec(), observed, [])
    # The reconciler now cuts the quoted why to keep the step's tail (closing-42b-2); a reason recorded whole by
    # a controller before that, read back at 256 characters, has lost its tail:
    assert len(status.reason) <= MAX_FIELD and status.reason.endswith(" at step 1 (10% on version 14)")
    whole = status.evolve(reason=f"revision scorer-predictor-00002 of version 14 failed: {why} at step 1 "
                                 "(10% on version 14)")
    stored = RolloutStatus.from_fields(whole.evolve(notice="pending").to_fields())  # as read back: 256 characters
    facts = notice_facts(_spec(), stored, K8S_GATES)
    assert facts["share"] == "unknown" and facts["cause"] == "revision_failed"
    assert facts["detail"] == "revision scorer-predictor-00002 failed (ProgressDeadlineExceeded)"
    many = tuple(f"alert-{i:02d}-with-a-long-name" for i in range(12))
    wide = _rolled_back(_spec(many), _at_step(2), [GateReading(g, "firing", 0.5, "alert firing") for g in many])
    facts = notice_facts(_spec(many), wide, {})
    assert all(len(v) <= MAX_FACT for v in facts.values()) and facts["cause"] == "alert_fired"


def _keyed(version: str, model: str) -> str:
    return revision_key({VERSION: version, MODEL: model})


def test_a_revision_keyed_with_its_model_still_says_it_failed_or_stayed_not_ready() -> None:
    """closing-42b-1: on Kubernetes the version is ``<version> of <model>`` (KServe copies both
    annotations onto the Revision); the notice still reads the revision, its cause and Knative's reason."""
    new, old = _keyed("15", "fraud-model"), _keyed("14", "fraud-model")
    assert new == "15 of fraud-model"
    for failed, cause, detail in (
            (True, "revision_failed", "revision scorer-predictor-00003 failed (ProgressDeadlineExceeded)"),
            (False, "revision_not_ready", "revision scorer-predictor-00003 not ready after 1h06m "
                                          "(not_ready_timeout 30m00s) (ProgressDeadlineExceeded)")):
        pending = NotReady("scorer-predictor-00003", failed=failed, since=NOW - 4000, why="ProgressDeadlineExceeded: x")
        observed = Observed(new, old, 10, ready=False, status=RolloutStatus("progressing", new, old, 0, NOW - 300),
                            not_ready=pending)
        stored = RolloutStatus.from_fields(_rolled_back(_spec(), observed, []).to_fields())
        assert notice_facts(_spec(), stored, K8S_GATES) == {
            "version": new, "serving_version": old, "share": "10%", "cause": cause, "detail": detail}
        before = Observed(new, old, 0, ready=False, status=None, not_ready=pending)
        facts = notice_facts(_spec(), _rolled_back(_spec(), before, []), K8S_GATES)
        assert (facts["share"], facts["cause"], facts["detail"]) == ("0%", cause, detail)


def test_a_long_model_name_and_a_long_knative_message_keep_the_steps_share_within_the_status_field() -> None:
    """closing-42b-2: the key quotes the model twice; the reason still fits 256 characters with its tail."""
    why = ('RevisionFailed: Revision "fraud-scorer-predictor-00003" failed with message: Container failed with: '
           + "Traceback (most recent call last) " * 4)[:WHY_MAX - 3] + "..."
    assert len(why) == WHY_MAX
    for model in ("fraud-transactions-gbt", "m" * 63):
        new, old = _keyed("15", model), _keyed("14", model)
        pending = NotReady("fraud-scorer-predictor-00003", failed=True, since=NOW - 60, why=why)
        observed = Observed(new, old, 10, ready=False, status=RolloutStatus("progressing", new, old, 0, NOW - 300),
                            not_ready=pending)
        status = _rolled_back(_spec(), observed, [])
        assert len(status.reason) <= MAX_FIELD, status.reason
        facts = notice_facts(_spec(), RolloutStatus.from_fields(status.to_fields()), K8S_GATES)
        assert (facts["share"], facts["cause"], facts["detail"]) == (
            "10%", "revision_failed", "revision fraud-scorer-predictor-00003 failed (RevisionFailed)")


def test_a_reason_of_no_known_shape_is_unknown_and_every_fact_is_there() -> None:
    status = RolloutStatus("rolled_back", "14", "13", 1, NOW, reason="rolled back by an older controller")
    facts = notice_facts(_spec(), status)
    assert tuple(facts) == NOTICE_FACTS and facts["cause"] == "unknown" and facts["share"] == "unknown"
    assert set(CAUSES) >= {facts["cause"]}


def test_no_fact_holds_a_secret_whatever_the_cloud_said() -> None:
    for why in (f"RevisionFailed: {SLACK_HOOK}", f"{SLACK_HOOK}: failed"):
        failed = NotReady("scorer-predictor-00002", failed=True, since=NOW - 60, why=why)
        observed = Observed("14", "13", 10, ready=False,
                            status=RolloutStatus("progressing", "14", "13", 0, NOW - 300), not_ready=failed)
        status = _rolled_back(_spec(), observed, [])
        assert find_secrets(status.reason)  # the recorded reason holds it (it is the cluster's message)
        text = " ".join(notice_facts(_spec(), status, K8S_GATES).values())
        assert SLACK_HOOK not in text and not find_secrets(text)


def test_the_grouping_key_encodes_a_value_with_a_slash_or_empty_in_base64() -> None:
    """Pushgateway README, "URL": a ``/`` in a value, even URI-encoded, is a path separator; an empty
    value vanishes from the path; both go as ``<label>@base64/<URL-safe base64>`` (``=`` for empty)."""
    assert grouping_path("mlops-rollout", [("system", "fraud"), ("endpoint", "scorer")]) == \
        "/metrics/job/mlops-rollout/system/fraud/endpoint/scorer"
    assert grouping_path("mlops-rollout", [("environment", "dev/eu"), ("team", ""), ("endpoint", "a b")]) == \
        "/metrics/job/mlops-rollout/environment@base64/ZGV2L2V1/team@base64/=/endpoint/a%20b"
