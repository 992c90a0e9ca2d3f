"""An input the cloud did not keep (``ReplaceRule.read_back``): a SageMaker endpoint whose update SageMaker
rolled back.

terraform-provider-aws's endpoint update waits for the endpoint to be InService again, then reads it
(``internal/service/sagemaker/endpoint.go`` ``resourceEndpointUpdate`` -> ``resourceEndpointRead``:
``d.Set("endpoint_config_name", ...)``), so after a rollback the state records the new config as the input
and the old one as the output. The plan compared desired with the recorded inputs and said "no changes",
and apply answered "Nothing to apply" while the endpoint kept the old config; Pulumi itself diffs against
the recorded outputs, so ``pulumi up`` would send the config again: the plan now says so.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BLUE_GREEN = SCENARIOS / "blue-green-instance-change-deregisters-autoscaling-first" / "mlsystem.yaml"
CANARY = SCENARIOS / "no-changes-after-apply" / "mlsystem.yaml"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
OLD = "fraud-detection-staging-scorer-cfg-00000000"


def _rolled_back(checkpoint: dict) -> dict:
    def edit(record: dict) -> None:
        record["outputs"]["endpointConfigName"] = OLD  # what the provider read back: SageMaker kept the old config
    return edit_resource(checkpoint, lambda r: r["type"] == ENDPOINT, edit)


def _endpoint_change(path: Path, *, rolled_back: bool):
    graph = compile_file(path, "staging")
    checkpoint = applied_state(graph)
    prior = parse_state(dumps(_rolled_back(checkpoint) if rolled_back else checkpoint).encode(), "prior.json")
    plan = make_plan(graph, prior)
    return next(c for c in plan.changes if c.type == ENDPOINT), plan


def test_an_update_sagemaker_rolled_back_is_planned_again():
    change, plan = _endpoint_change(BLUE_GREEN, rolled_back=True)
    assert change.action is Action.UPDATE and change.reason.code == "not-taken-by-cloud"
    [attr] = change.changes
    assert (attr.path, attr.before) == ("endpointConfigName", OLD)
    assert attr.after.startswith("fraud-detection-staging-scorer-cfg-") and attr.after != OLD
    assert "SageMaker rolls an endpoint update back" in change.reason.message
    assert plan.has_changes  # so apply goes on to pulumi up instead of "Nothing to apply"


def test_an_endpoint_that_kept_its_config_is_unchanged():
    change, plan = _endpoint_change(BLUE_GREEN, rolled_back=False)
    assert change.action is Action.NOOP and not plan.has_changes


def test_a_canary_endpoints_config_is_left_to_the_rollout_controller():
    """A canary endpoint ignores changes to its config (the controller switches it step by step), so a
    recorded config that differs from the one Pulumi sent is the controller's doing, not a rollback."""
    change, _ = _endpoint_change(CANARY, rolled_back=True)
    assert change.action is Action.NOOP
