"""min-requests-not-enforced: rollout.min_requests_per_step set where nothing counts requests is a warning (audit
closing-40a-2; spec/min_requests.py says why). The reference's scorer is a canary with rollback_on [scorer-latency,
scorer-errors]; dev is Kubernetes, staging and prod AWS. Kubernetes counts the canary revision's requests since
k8sreq45 (rollout/gates/prometheus.py, "Requests"), so dev is warned only as AWS is: without rollback_on."""

from __future__ import annotations

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit

CODE = "min-requests-not-enforced"
BAKE = "      bake: 10m "
ROLLBACK_ON = "      rollback_on: [scorer-latency, scorer-errors]"


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == CODE]


def _with_minimum(text: str, minimum: int = 5) -> str:
    return edit(text, BAKE, f"      min_requests_per_step: {minimum}\n{BAKE}")


def test_a_canary_with_rollback_on_enforces_it_on_both_targets(reference_text: str) -> None:
    """dev (Kubernetes) was warned "the Prometheus gates count no requests"; they count them now."""
    assert _found(_with_minimum(reference_text)) == []


def test_zero_is_never_warned(reference_text: str) -> None:
    assert _found(_with_minimum(reference_text, 0)) == []


def test_an_aws_canary_without_rollback_on_is_warned_in_every_environment(reference_text: str) -> None:
    text = edit(_with_minimum(reference_text), ROLLBACK_ON, "      rollback_on: []")
    found = _found(text)
    assert len(found) == 3  # dev (Kubernetes) and the two AWS environments
    assert all("has no rollback_on" in d.detail for d in found)


def test_aws_blue_green_is_warned(reference_text: str) -> None:
    text = edit(_with_minimum(reference_text), "      strategy: canary ", "      strategy: blue_green ")
    text = text.replace("      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n", "")
    found = _found(text)
    assert [("SageMaker's own" in d.detail, "not enforced in dev" in d.summary) for d in found] == [(True, False)] * 2
    # dev: a Kubernetes blue_green is the controller's, its switch step counted like a canary's
