"""Ordered changes (finding A3): an instance-type change on an autoscaled variant is planned as
deregister -> update endpoint -> register, and apply runs it in that order.

AWS, "Update endpoints that use auto scaling"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-update.html): deregistering
first "is only needed when ... changing the instance type of a production variant configured with
auto scaling [or] removing a production variant configured with auto scaling"; otherwise the update
fails. moto does not enforce this rule, so these tests check the plan and the order apply runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.apply.sequences import up_in_order
from mlops_infra.cli.commands.plan import make
from mlops_infra.plan.model import Action, Plan
from mlops_infra.plan.sequences import PHASE_OMIT_ENV, phase_one_urns
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
APPLIED = SCENARIOS / "endpoint-accelerator-change-replaces-config" / "applied.yaml"
TARGET, POLICY = "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"


CANARY = "      strategy: canary\n      steps: [2, 5, 10, 25, 75, 100]\n"
BLUE_GREEN = "      strategy: blue_green\n"


def _plan(tmp_path: Path, edit, *, strategy: str = BLUE_GREEN) -> Plan:
    """The scenario's scorer with ``strategy`` (blue/green by default: Pulumi updates the endpoint;
    a canary's config is landed by the rollout controller) as applied, then ``edit``ed."""
    base = APPLIED.read_text().replace(CANARY, strategy)
    applied = tmp_path / "applied.yaml"
    applied.write_text(base)
    prior = parse_state(dumps(applied_state(compile_file(applied, "staging"))).encode(), "prior.json")
    changed = tmp_path / "mlsystem.yaml"
    changed.write_text(edit(base))
    return make(compile_file(changed, "staging"), prior, None, None, [])


def _by_type(plan: Plan, type_: str):
    (change,) = [c for c in plan.changes if c.type == type_]
    return change


def test_instance_change_on_an_autoscaled_variant_is_deregister_update_register(tmp_path: Path):
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge"))
    (sequence,) = plan.sequences
    assert sequence.address == "endpoints.scorer"
    assert [s.action for s in sequence.steps] == ["deregister", "update", "register"]
    assert {u.rsplit("::", 1)[1] for u in sequence.steps[0].urns} == {"scorer-scalable-target", "scorer-scaling-policy"}
    assert {u.rsplit("::", 1)[1] for u in sequence.steps[1].urns} == {"scorer-endpoint-config", "scorer-endpoint"}
    assert "ml.g5.xlarge to ml.g5.2xlarge" in sequence.reason and "endpoint-auto-scaling-update" in sequence.reason
    for type_ in (TARGET, POLICY):
        change = _by_type(plan, type_)
        assert (change.action, change.delete_before_replace, change.reason.code) == (Action.REPLACE, True,
                                                                                     "deregister-first")
    assert any(m.kind == "sequence" and "1. deregister" in m.summary for m in plan.ml)
    assert phase_one_urns(plan.sequences) == tuple(sorted(sequence.steps[0].urns))
    assert Plan.from_json(plan.to_json()).sequences == plan.sequences  # a saved plan keeps the order


def test_removing_autoscaling_while_changing_the_instance_deregisters_first_and_does_not_register(tmp_path: Path):
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge")
                 .replace("    autoscaling: {metric: invocations_per_replica, target: 50}\n", ""))
    (sequence,) = plan.sequences
    assert [s.action for s in sequence.steps] == ["deregister", "update"]
    assert _by_type(plan, TARGET).action is Action.DELETE and _by_type(plan, TARGET).reason.code == "deregister-first"


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("replicas: {min: 2, max: 10}", "replicas: {min: 2, max: 12}"),  # no instance change
    lambda t: t.replace("    autoscaling: {metric: invocations_per_replica, target: 50}\n", ""),  # same instance
])
def test_other_endpoint_changes_need_no_order(tmp_path: Path, edit):
    assert _plan(tmp_path, edit).sequences == ()


def test_apply_runs_a_targeted_deregister_phase_then_the_whole_graph(tmp_path: Path):
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge"))
    calls, said = [], []
    up_in_order(lambda **kw: calls.append(kw), plan.sequences, {"OTHER": "1"}, said.append)
    first, second = calls
    assert first["targets"] == phase_one_urns(plan.sequences)
    assert first["extra_env"][PHASE_OMIT_ENV].split(",") == list(first["targets"]) and first["extra_env"]["OTHER"] == "1"
    assert second == {"extra_env": {"OTHER": "1"}} and len(said) == 2
    calls.clear()
    up_in_order(lambda **kw: calls.append(kw), (), {}, said.append)
    assert calls == [{"extra_env": {}}]


def test_a_canary_endpoint_leaves_the_order_to_the_rollout_controller(tmp_path: Path):
    """A canary's endpoint ignores ``endpointConfigName`` (the controller lands the config, and its
    ``_finish`` deregisters and registers around the UpdateEndpoint): the plan names the controller
    as the runner, Pulumi's autoscaling changes stay as they are, and apply has no phase of its own."""
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge")
                 .replace("version: 12", "version: 13"), strategy=CANARY)
    (sequence,) = plan.sequences
    assert sequence.runner == "rollout" and "rollout controller" in sequence.reason
    assert [s.action for s in sequence.steps] == ["deregister", "update", "register"]
    assert {u.rsplit("::", 1)[1] for u in sequence.steps[0].urns} == {"scorer-scalable-target"}
    assert not [c for c in plan.changes if c.type in (TARGET, POLICY) and c.action.is_change]
    assert phase_one_urns(plan.sequences) == ()
    assert any(m.kind == "sequence" and "the rollout controller runs, in order" in m.summary for m in plan.ml)
    assert Plan.from_json(plan.to_json()).sequences == plan.sequences


def test_a_canary_losing_its_autoscaling_while_its_instance_changes_registers_nothing_again(tmp_path: Path):
    """Audit autoscale-7: the plan said the controller registers the target again while it destroys it. Pulumi
    deletes target and policy in the apply; the controller only lands the config."""
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge")
                 .replace("version: 12", "version: 13")
                 .replace("    autoscaling: {metric: invocations_per_replica, target: 50}\n", ""), strategy=CANARY)
    (sequence,) = plan.sequences
    assert sequence.runner == "rollout" and [s.action for s in sequence.steps] == ["update"]
    assert "registers nothing" in sequence.reason
    assert {_by_type(plan, t).action for t in (TARGET, POLICY)} == {Action.DELETE}
    assert not [m for m in plan.ml if "RegisterScalableTarget" in m.summary]
    assert "register" not in [s["action"] for s in plan.to_json()["sequences"][0]["steps"]]


def test_a_canary_instance_change_without_a_new_version_says_the_runner_lands_it_at_once(tmp_path: Path):
    plan = _plan(tmp_path, lambda t: t.replace("accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge"),
                 strategy=CANARY)
    (sequence,) = plan.sequences
    assert sequence.runner == "rollout" and "nothing to canary: the rollout runner" in sequence.reason
    assert "at its next pass after the apply" in sequence.steps[1].summary
