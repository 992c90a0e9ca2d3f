"""An AWS endpoint whose autoscaling is removed keeps the count Application Auto Scaling last set (audit
autoscale-2): deregistering changes no ``DesiredInstanceCount`` (botocore ``DeregisterScalableTarget``), and only
an ``UpdateEndpoint`` to a new config re-seeds it (endpoint-scaling-update.html). The plan says so and prices it
up to the prior max, not at ``replicas.min`` as certain; a plan that also changes the config re-seeds it and says
nothing (:mod:`mlops_infra.plan.kept_count`, one rule for the warning and the price).
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.plan.model import Action
from tests.plan.test_sequences import BLUE_GREEN, CANARY, TARGET, _by_type, _plan

NO_SCALING = "    autoscaling: {metric: invocations_per_replica, target: 50}\n"


def _warned(plan) -> list[str]:
    return [w for w in plan.warnings if "keeps the count Application Auto Scaling last set" in w]


def test_removed_autoscaling_with_the_same_config_warns_of_the_kept_count_and_prices_up_to_the_old_max(tmp_path: Path):
    plan = _plan(tmp_path, lambda t: t.replace(NO_SCALING, ""), strategy=BLUE_GREEN)
    assert _by_type(plan, TARGET).action is Action.DELETE
    assert not [c for c in plan.changes if c.role == "endpoint-config" and c.action.is_change]
    (warning,) = _warned(plan)
    assert warning.startswith("endpoints.scorer: autoscaling is removed")
    assert "(from 2 to 10), not replicas.min (2)" in warning
    assert ("update-endpoint-weights-and-capacities --endpoint-name fraud-detection-staging-scorer "
            "--desired-weights-and-capacities VariantName=primary,DesiredInstanceCount=2") in warning
    (line,) = [c for c in plan.cost.lines if c.address == "endpoints.scorer"]
    assert line.after_range.max_usd == line.before_range.max_usd > line.after_range.min_usd
    assert "keeps the count Application Auto Scaling last set (up to 10)" in line.note


def test_removed_autoscaling_with_a_new_config_is_reseeded_and_not_warned(tmp_path: Path):
    for strategy in (BLUE_GREEN, CANARY):
        plan = _plan(tmp_path, lambda t: t.replace(NO_SCALING, "").replace(
            "accelerator: {type: A10G, count: 1}", "instance_type: ml.g5.2xlarge"), strategy=strategy)
        assert _by_type(plan, TARGET).action is Action.DELETE and not _warned(plan)
        (line,) = [c for c in plan.cost.lines if c.address == "endpoints.scorer"]
        assert line.after_range.max_usd == line.after_range.min_usd  # min, fixed: the new config seeds it


def test_removed_autoscaling_on_an_endpoint_the_plan_replaces_is_not_warned_nor_priced_kept(tmp_path: Path):
    """A changed ``rollback_on`` replaces the endpoint (delete first): the new endpoint starts each variant at
    ``InitialInstanceCount`` (botocore ``ProductionVariant.InitialInstanceCount``), so no autoscaled count is kept
    (audit closing-40a-3: the plan warned and priced it up to the old max)."""
    plan = _plan(tmp_path, lambda t: t.replace(NO_SCALING, "").replace(
        "rollback_on: [scorer-latency, scorer-errors]", "rollback_on: [scorer-latency]"), strategy=BLUE_GREEN)
    assert _by_type(plan, TARGET).action is Action.DELETE
    assert [c.action for c in plan.changes if c.role == "endpoint"] == [Action.REPLACE]
    assert not [c for c in plan.changes if c.role == "endpoint-config" and c.action.is_change]
    assert not _warned(plan)
    (line,) = [c for c in plan.cost.lines if c.address == "endpoints.scorer"]
    assert line.after_range.max_usd == line.after_range.min_usd  # min, fixed: the new endpoint seeds it
    assert "keeps the count" not in line.note
