"""``rollout.not_ready_timeout`` (spec/serving.py): Kubernetes only, default 30m, at least Knative's
default progress deadline (10m), canary and blue_green only; a bad value is a diagnostic naming the
file and line with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.rollout.model import DEFAULT_NOT_READY_TIMEOUT
from mlops_infra.spec import parse_system
from mlops_infra.spec.serving import MIN_NOT_READY_TIMEOUT_SECONDS, NOT_READY_TIMEOUT_SECONDS, Rollout

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
ROLLOUT = "      rollback_on: [scorer-latency, scorer-errors]  # alerts that roll the rollout back\n"


def with_rollout(extra: str, strategy: str = "canary") -> str:
    text = FRAUD.read_text()
    assert ROLLOUT in text
    text = text.replace(ROLLOUT, ROLLOUT + extra)
    if strategy != "canary":
        text = text.replace("      strategy: canary              # canary | blue_green | rolling | all_at_once\n"
                            "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n",
                            f"      strategy: {strategy}\n")
    return text


def assert_refused_at_its_line(extra: str, strategy: str, says: str) -> None:
    """The reference with ``extra`` in its scorer's rollout does not validate, and the diagnostic saying ``says``
    points at the line of ``extra`` in FRAUD."""
    text = with_rollout(extra, strategy)
    loaded = parse_system(text, str(FRAUD), "dev")
    assert not loaded.ok
    [found] = [d for d in loaded.diagnostics if says.lower() in f"{d.summary} {d.detail}".lower()]
    line = text.splitlines().index(extra.rstrip("\n")) + 1
    assert found.location.line == line and str(FRAUD) in str(found.location)


def test_the_default_is_thirty_minutes_on_both_sides_and_above_knatives_deadline():
    assert Rollout(strategy="canary", steps=[5, 100]).not_ready_timeout is None
    assert NOT_READY_TIMEOUT_SECONDS == DEFAULT_NOT_READY_TIMEOUT == 1800
    assert MIN_NOT_READY_TIMEOUT_SECONDS == 600 < DEFAULT_NOT_READY_TIMEOUT  # knative ProgressDeadlineDefault


@pytest.mark.parametrize("strategy", ["canary", "blue_green"])
def test_a_timeout_is_accepted_for_the_controller_strategies(strategy):
    loaded = parse_system(with_rollout("      not_ready_timeout: 45m\n", strategy), str(FRAUD), "dev")
    assert loaded.ok, [d.summary for d in loaded.diagnostics]
    [scorer] = [e for e in loaded.system.endpoints if e.name == "scorer"]
    assert scorer.rollout.not_ready_timeout.seconds == 2700


@pytest.mark.parametrize(("extra", "strategy", "says"), [
    ("      not_ready_timeout: 5m\n", "canary", "a not-ready timeout must be at least 10m"),
    ("      not_ready_timeout: 30m\n", "rolling", "only canary and blue_green rollouts have a not-ready timeout, not rolling"),
    ("      not_ready_timeout: soon\n", "canary", "is not a duration"),
])
def test_a_bad_timeout_names_the_line_and_the_fix(extra, strategy, says):
    assert_refused_at_its_line(extra, strategy, says)
