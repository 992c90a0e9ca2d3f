"""``rollout.min_requests_per_step`` (spec/serving.py): how many requests the new version must serve in
each step (default 1, ``rollout/model.py`` ``DEFAULT_MIN_REQUESTS_PER_STEP``; 0: no minimum), for the
rollouts the controller drives; a bad value is a diagnostic naming the file and line with the fix, and
``mlops-infra validate`` exits 1 without a traceback (audit rolloutaws-3)."""

from __future__ import annotations

import pytest

from mlops_infra.rollout.model import DEFAULT_MIN_REQUESTS_PER_STEP, RolloutSpec
from mlops_infra.spec import parse_system
from mlops_infra.spec.serving import Rollout
from tests.spec.test_not_ready_timeout import FRAUD, assert_refused_at_its_line, with_rollout
from tests.support.cli import assert_clear_error, run_cli


def test_unset_is_the_controllers_default_of_one():
    assert Rollout(strategy="canary", steps=[5, 100]).min_requests_per_step is None
    assert DEFAULT_MIN_REQUESTS_PER_STEP == 1
    assert RolloutSpec("scorer", "canary", (5, 100), 600).min_requests == 1
    assert RolloutSpec("scorer", "canary", (5, 100), 600, extra=(("minRequestsPerStep", 0),)).min_requests == 0


@pytest.mark.parametrize(("strategy", "value"), [("canary", 0), ("canary", 20), ("blue_green", 5)])
def test_a_minimum_is_accepted_for_the_controller_strategies(strategy, value):
    loaded = parse_system(with_rollout(f"      min_requests_per_step: {value}\n", strategy), str(FRAUD), "dev")
    assert loaded.ok, [d.summary for d in loaded.diagnostics]
    [scorer] = [e for e in loaded.system.endpoints if e.name == "scorer"]
    assert scorer.rollout.min_requests_per_step == value


@pytest.mark.parametrize(("extra", "strategy", "says"), [
    ("      min_requests_per_step: -1\n", "canary", "greater than or equal to 0"),
    ("      min_requests_per_step: many\n", "canary", "must be a whole number"),
    ("      min_requests_per_step: 5\n", "rolling",
     "only canary and blue_green rollouts count requests per step, not rolling; remove min_requests_per_step"),
])
def test_a_bad_minimum_names_the_line_and_the_fix(extra, strategy, says):
    assert_refused_at_its_line(extra, strategy, says)


def test_validate_says_it_and_exits_one(tmp_path):
    text = with_rollout("      min_requests_per_step: 5\n", "all_at_once")
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    line = text.splitlines().index("      min_requests_per_step: 5") + 1
    assert_clear_error(run_cli("validate", str(spec)), f"mlsystem.yaml:{line}",
                       "remove min_requests_per_step")
