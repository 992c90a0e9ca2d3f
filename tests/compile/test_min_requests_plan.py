"""Both targets' rollout plans carry ``rollout.min_requests_per_step`` (``minRequestsPerStep``:
compile/aws/serving.py ``canary_rollout``, compile/kubernetes/serving.py ``rollout_plan``) to the
controller only when the spec sets it, so a spec without it compiles the same plan as before and the
controller's default of 1 applies (``RolloutSpec.min_requests``; audit rolloutaws-3)."""

from __future__ import annotations

import pytest

from mlops_infra.rollout.model import RolloutSpec
from tests.compile.kubernetes.test_not_ready_timeout_plan import FRAUD, ROLLOUT
from tests.support.kube_cases import compile_text


@pytest.mark.parametrize(("env", "gates"), [("staging", "rollbackAlarms"), ("dev", "rollbackAlerts")])
def test_a_set_minimum_reaches_the_plan_and_the_controller(env, gates):
    text = FRAUD.read_text()
    default = compile_text(text, env).rollouts["endpoints.scorer"]
    assert gates in default and "minRequestsPerStep" not in default
    assert RolloutSpec.from_graph("endpoints.scorer", default).min_requests == 1
    for value in (0, 25):
        set_text = text.replace(ROLLOUT, ROLLOUT + f"      min_requests_per_step: {value}\n")
        plan = compile_text(set_text, env).rollouts["endpoints.scorer"]
        assert plan["minRequestsPerStep"] == value
        assert {k: v for k, v in plan.items() if k != "minRequestsPerStep"} == default
        assert RolloutSpec.from_graph("endpoints.scorer", plan).min_requests == value
