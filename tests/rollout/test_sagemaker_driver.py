"""Simulated end-to-end rollouts on SageMaker: the driver against a moto server (patched as documented
in tests/support/moto_server.py: UpdateEndpoint, updates that take time)."""

from __future__ import annotations

import itertools

import pytest

from mlops_infra.rollout.drivers.sagemaker import (
    Crash,
    DeclaredScaling,
    EndpointTarget,
    SageMakerDriver,
    canary_instances,
    model_version,
)
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from tests.rollout.aws_world import all_tags, canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, race, race_outcomes, spec
from tests.support.moto_server import endpoint_updates_held

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"


def weight_log(sm, calls: list[int | None]):
    """Record the canary share after every pass (to check the sequence of traffic changes)."""
    def on_pass(result) -> None:
        percent = canary_percent(sm, E)
        if not calls or calls[-1] != percent:
            calls.append(percent)
    return on_pass


def run(sm, target, gates: ScriptedGates, clock: Clock, shares: list, **driver_options):
    gates.percent = lambda: canary_percent(sm, E)
    driver = SageMakerDriver(sm, target, **driver_options)
    return watch(spec("aws"), driver, gates, Watch(poll_seconds=BAKE, max_passes=300, clock=clock, sleep=clock.sleep,
                                                   on_pass=weight_log(sm, shares)))


def test_healthy_rollout_walks_all_steps_then_finishes_on_the_final_config(sm, scaling):
    target = deploy(sm, autoscaling=scaling)
    shares: list = []
    run(sm, target, ScriptedGates(), Clock(), shares, autoscaling=scaling)
    assert shares == [0, *STEPS, None]  # deploy the canary at 0, the six steps, then one variant again
    endpoint = sm.describe_endpoint(EndpointName=E)
    assert endpoint["EndpointConfigName"] == target.final_config
    [primary] = endpoint["ProductionVariants"]
    assert primary["VariantName"] == "primary" and primary["CurrentWeight"] == 1.0
    assert primary["CurrentInstanceCount"] == 3  # RetainAllVariantProperties kept the count
    assert status_tags(sm, E)["phase"] == "finished"
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == [f"endpoint/{E}/variant/primary"]  # stable name: untouched


def test_a_rollout_reads_its_tags_past_the_first_list_tags_page(sm):
    """ListTags is paged (botocore ``ListTags``: ``NextToken``; moto and AWS page 50 tags at a time), and
    an endpoint may carry more than one page: 50 tags of its own (the limit of ``AddTags``' ``TagList``)
    plus those AWS adds under ``aws:`` (CloudFormation's and Service Catalog's), which do not count
    against that limit. The driver's own tags, added last, land on the second page and must still be read."""
    target = deploy(sm)
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"team:label-{i}", "Value": "x"} for i in range(41)])
    system = [f"aws:cloudformation:{key}" for key in ("stack-name", "stack-id", "logical-id")] + [
        f"aws:servicecatalog:{key}" for key in ("portfolioArn", "productArn", "provisionedProductArn",
                                                 "provisioningPrincipalArn", "provisioningArtifactIdentifier")]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": key, "Value": "fraud"} for key in system])
    shares: list = []
    run(sm, target, ScriptedGates(), Clock(), shares)
    assert len(all_tags(sm, arn)) > 50  # the driver's tags went past the first page
    assert shares == [0, *STEPS, None]  # the same walk as with no other tags
    assert status_tags(sm, E)["phase"] == "finished"


def test_unhealthy_at_step_three_rolls_back_keeping_the_canary(sm):
    target = deploy(sm)
    shares: list = []
    run(sm, target, ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok"), Clock(), shares)
    assert shares == [0, 2, 5, 10, 0]
    tags = status_tags(sm, E)
    assert tags["phase"] == "rolled_back" and "step 3 (10% on version 13)" in tags["reason"]
    variants = {v["VariantName"] for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}
    assert variants == {"primary", "canary"}  # the new version's variant is kept for inspection


def test_unreadable_gate_holds_then_rolls_back(sm):
    target = deploy(sm)
    shares: list = []
    run(sm, target, ScriptedGates(decide=lambda p: "unreadable" if p == 25 else "ok"), Clock(), shares)
    assert shares == [0, 2, 5, 10, 25, 0]
    assert "unreadable for 15m" in status_tags(sm, E)["reason"]


@pytest.mark.parametrize(("killed_at_step", "point"), [*((step, "status") for step in range(len(STEPS))),
                                                        (2, "traffic")])
def test_a_driver_killed_after_each_step_is_continued(sm, killed_at_step, point):
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    changes: list[tuple[float, int | None]] = [(clock.now, None)]

    def one_pass(driver) -> None:
        try:
            reconcile_once(spec("aws"), driver, gates, clock.now)
        finally:
            if not changes or changes[-1][1] != canary_percent(sm, E):
                changes.append((clock.now, canary_percent(sm, E)))

    while status_tags(sm, E).get("step") != str(killed_at_step):  # a healthy driver works up to this step...
        if killed_at_step == 0 or int(status_tags(sm, E).get("step", -1)) == killed_at_step - 1:
            with pytest.raises(Crash):  # ...whose driver dies right after one of its writes
                for _ in range(4):
                    one_pass(SageMakerDriver(sm, target, crash_at=point))
                    clock.sleep(BAKE)
            break
        one_pass(SageMakerDriver(sm, target))
        clock.sleep(BAKE)
    for _ in range(40):  # a new driver continues
        one_pass(SageMakerDriver(sm, target))
        if status_tags(sm, E)["phase"] == "finished":
            break
        clock.sleep(BAKE)
    assert [p for _, p in changes] == [None, 0, *STEPS, None]  # no step repeated or skipped
    baked = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(changes[2:])]
    assert all(b >= BAKE for b in baked), baked  # and no bake shortened
    assert status_tags(sm, E)["phase"] == "finished"


def test_two_reconcilers_at_once_one_wins_each_step(sm):
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    outcomes = []
    with endpoint_updates_held() as settle:  # Updating until settled: the slower racer meets it however late
        for _ in range(40):
            results = race(spec("aws"), [SageMakerDriver(sm, target), SageMakerDriver(sm, target)], gates, clock.now)
            outcomes.append((results[0].decision.action, results[1].decision.action, race_outcomes(results)))
            if results[0].decision.action == "none" and results[1].decision.action == "none":
                break
            settle()  # let the update "complete"
            clock.sleep(BAKE)
    acting = [(one, other, o) for one, other, o in outcomes if o != ["idle", "idle"]]
    assert all(one == other for one, other, _ in acting), outcomes  # one observation: one decision
    moves = [o for action, _, o in acting if action != "record"]
    assert len(moves) >= len(STEPS) and all(o == ["acted", "lost"] for o in moves), outcomes
    # Recording a step in effect writes tags only, which SageMaker takes without a condition (botocore
    # AddTags): both racers may record it, the same step a few milliseconds apart.
    assert all(o in (["acted", "acted"], ["acted", "lost"]) for action, _, o in acting if action == "record"), outcomes
    assert status_tags(sm, E)["phase"] == "finished"
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config


def test_an_instance_type_change_reregisters_the_scalable_target(sm, scaling):
    target = deploy(sm, autoscaling=scaling, new_instance="ml.g6.xlarge")
    run(sm, target, ScriptedGates(), Clock(), [], autoscaling=scaling)
    [registered] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (3, 10)
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config


POLICY = {"PolicyName": "scorer-target-tracking", "PolicyType": "TargetTrackingScaling",
          "TargetTrackingScalingPolicyConfiguration": {
              "TargetValue": 70.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
              "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}


def _policies(scaling) -> list[dict]:
    keys = ("PolicyName", "PolicyType", "TargetTrackingScalingPolicyConfiguration")
    return [{k: p[k] for k in keys if k in p}
            for p in scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]]


def test_an_instance_type_change_keeps_the_scaling_policy_that_deregistering_deletes(sm, scaling):
    target = deploy(sm, autoscaling=scaling, new_instance="ml.g6.xlarge")
    scaling.put_scaling_policy(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{E}/variant/primary",
                               ScalableDimension="sagemaker:variant:DesiredInstanceCount", **POLICY)
    run(sm, target, ScriptedGates(), Clock(), [], autoscaling=scaling)
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
    assert _policies(scaling) == [POLICY]


def test_a_new_config_of_the_serving_version_is_landed_at_once(sm, scaling):
    """Issue 8 (noted in notes/8.md): a canary endpoint's instance type changes, the model version does
    not. Pulumi leaves the endpoint on its config (ignoreChanges), so the controller must land the new
    one: at once (the same model, nothing to canary), keeping autoscaling and its policy."""
    from tests.rollout.aws_world import config, model_name

    sm.create_model(ModelName=model_name(E, 13), ExecutionRoleArn="arn:aws:iam::123456789012:role/serving",
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1"})
    config(sm, f"{E}-cfg-v13-old", model_name(E, 13), instance="ml.g5.xlarge")
    config(sm, f"{E}-cfg-v13-new", model_name(E, 13), instance="ml.g6.xlarge")
    sm.create_endpoint(EndpointName=E, EndpointConfigName=f"{E}-cfg-v13-old")
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{E}/variant/primary",
                                     ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                     MinCapacity=3, MaxCapacity=10)
    scaling.put_scaling_policy(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{E}/variant/primary",
                               ScalableDimension="sagemaker:variant:DesiredInstanceCount", **POLICY)
    target = EndpointTarget(E, "13", f"{E}-cfg-v13-new", model_name(E, 13), DeclaredScaling(3, 10, (POLICY,)))
    driver = SageMakerDriver(sm, target, autoscaling=scaling)
    assert driver.observe().converged is False
    landed = reconcile_once(spec("aws"), driver, ScriptedGates(), 1000.0)
    assert (landed.decision.action, landed.acted) == ("finish", True) and "nothing to canary" in landed.decision.message
    endpoint = sm.describe_endpoint(EndpointName=E)
    assert endpoint["EndpointConfigName"] == f"{E}-cfg-v13-new"
    assert [v["VariantName"] for v in endpoint["ProductionVariants"]] == ["primary"]  # no canary variant
    assert status_tags(sm, E) == {}  # no rollout happened
    [registered] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (3, 10) and _policies(scaling) == [POLICY]
    again = reconcile_once(spec("aws"), driver, ScriptedGates(), 1060.0)
    assert again.decision.action == "none" and driver.observe().converged is True


def test_canary_capacity_follows_its_share():
    assert [canary_instances(p, 3) for p in STEPS] == [1, 1, 1, 1, 3, 3]
    assert canary_instances(50, 10) == 5 and model_version("x-scorer-v13-ab12cd") == "13"
    assert model_version("handmade") is None


def test_a_finished_version_whose_config_changed_is_finished_again_on_the_new_config():
    from mlops_infra.rollout.model import Observed, RolloutStatus
    from mlops_infra.rollout.reconcile import reconcile

    done = RolloutStatus("finished", "13", "12", len(STEPS) - 1, 0.0, reason="all steps passed")
    moved = reconcile(spec("aws"), Observed("13", "13", 100, status=done, converged=False), [], 10.0)
    assert moved.action == "finish" and moved.status is None  # the recorded rollout stays as it was
    settled = reconcile(spec("aws"), Observed("13", "13", 100, status=done), [], 10.0)
    assert settled.action == "none"
