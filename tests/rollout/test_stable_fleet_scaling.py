"""The stable fleet during an AWS canary (``drivers/sagemaker.py``, "The stable fleet during a rollout"):
the start suspends dynamic scale-in of the ``primary`` variant's scalable target (as primary's weight
drops, its per-instance metric falls and target tracking would remove instances: botocore
``TargetTrackingScalingPolicyConfiguration.DisableScaleIn``), the canary is sized from the stable count
the start recorded (in the rollout config), and the suspension is lifted at the finish and once a
rollback settles, whatever pass is killed in between. On the moto server of tests/support/moto_server.py:
moto's ``RegisterScalableTarget`` updates a registered target's ``SuspendedState`` and
``DescribeScalableTargets`` returns it (the driver always sends all three activities)."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.rollout.drivers.sagemaker import SCALING_TAG, Crash, SageMakerDriver, canary_instances
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import DIMENSION, POLICY, RESOURCE, E, canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec

pytestmark = pytest.mark.moto
COUNT = 4  # the stable fleet: ceil(p% x 4) differs from ceil(p% x 1) at 75%


def suspended(scaling) -> dict[str, bool]:
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE],
                                                 ScalableDimension=DIMENSION)["ScalableTargets"]
    return target.get("SuspendedState") or {}


def scale_in_suspended(scaling) -> bool:
    return bool(suspended(scaling).get("DynamicScalingInSuspended"))


def counts(sm) -> dict[str, int]:
    return {v["VariantName"]: v["CurrentInstanceCount"]
            for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}


def tags(sm) -> dict[str, str]:
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def shrink_primary(sm, count: int) -> None:
    """What target tracking does to the stable variant when nothing holds it: fewer instances, the same
    weights (the test stands in for Application Auto Scaling with UpdateEndpointWeightsAndCapacities, the
    capacity of that one variant: tests/support/moto_server.py patch 22)."""
    sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
        {"VariantName": "primary", "DesiredInstanceCount": count}])


class World:
    """One endpoint mid-release with autoscaling declared, driven pass by pass."""

    def __init__(self, sm, scaling, decide=lambda percent: "ok") -> None:
        self.sm, self.scaling, self.clock = sm, scaling, Clock()
        self.target = deploy(sm, autoscaling=scaling, count=COUNT, policies=(POLICY,))
        self.gates = ScriptedGates(decide=decide, percent=lambda: canary_percent(sm, E))
        self.seen: list[tuple[int | None, bool]] = []  # (canary share, scale-in suspended) after each pass

    def step(self, command=None, **options: Any):
        driver = SageMakerDriver(self.sm, self.target, autoscaling=self.scaling, **options)
        try:
            return reconcile_once(spec("aws"), driver, self.gates, self.clock.now, command)
        finally:
            self.seen.append((canary_percent(self.sm, E), scale_in_suspended(self.scaling)))
            self.clock.sleep(BAKE)

    def until(self, done, **options: Any):
        for _ in range(40):
            last = self.step(**options)
            if done(last):
                return last
        raise AssertionError(f"never settled: {self.seen}")


def test_the_start_suspends_scale_in_of_the_stable_variant_and_keeps_the_rest(sm, scaling):
    world = World(sm, scaling)
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
                                     SuspendedState={"ScheduledScalingSuspended": True})  # an operator's
    first = world.step()
    assert (first.decision.action, first.acted) == ("set_traffic", True)
    assert suspended(scaling) == {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": False,
                                  "ScheduledScalingSuspended": True}  # scale-out and the operator's untouched
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (COUNT, 10)  # not changed by the update
    assert tags(sm)[SCALING_TAG] == "13"  # what a killed pass leaves to lift
    last = world.until(lambda p: p.decision.action == "none")
    assert status_tags(sm, E)["phase"] == "finished"
    assert all(held for percent, held in world.seen[:-1] if percent is not None)  # held at every step
    assert suspended(scaling) == {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                  "ScheduledScalingSuspended": True}
    assert last.observed.converged and SCALING_TAG not in tags(sm)


def test_the_canary_is_sized_from_the_stable_count_recorded_at_the_start(sm, scaling):
    world = World(sm, scaling)
    world.until(lambda p: canary_percent(sm, E) == 25)
    assert counts(sm) == {"primary": COUNT, "canary": canary_instances(25, COUNT)}
    shrink_primary(sm, 1)  # scale-in happened anyway (say, before the suspension took effect)
    world.until(lambda p: canary_percent(sm, E) == 75)
    assert counts(sm) == {"primary": COUNT, "canary": canary_instances(75, COUNT)}  # 4 and 3, not 1 and 1
    assert canary_instances(75, COUNT) != canary_instances(75, 1)


def test_a_rollback_lands_on_the_recorded_fleet_and_lifts_the_suspension_once_settled(sm, scaling):
    world = World(sm, scaling, decide=lambda percent: "firing" if percent == 25 else "ok")
    world.until(lambda p: canary_percent(sm, E) == 25)
    assert scale_in_suspended(scaling)
    shrink_primary(sm, 1)
    rolled = world.step()
    assert (rolled.decision.action, rolled.acted) == ("rollback", True)
    assert counts(sm)["primary"] == COUNT  # all traffic back on the fleet the rollout started with
    assert world.seen[-1] == (0, True)  # held until the rollback settles
    world.until(lambda p: p.decision.action == "none")
    assert status_tags(sm, E)["phase"] == "rolled_back" and canary_percent(sm, E) == 0
    assert not scale_in_suspended(scaling) and SCALING_TAG not in tags(sm)
    assert world.step().decision.action == "none"  # settled: nothing more to do


def test_a_start_killed_after_it_suspended_is_completed(sm, scaling):
    world = World(sm, scaling)
    with pytest.raises(Crash):
        world.step(crash_at="suspend")
    assert scale_in_suspended(scaling) and canary_percent(sm, E) is None  # still on the stable config
    world.until(lambda p: p.decision.action == "none")
    assert status_tags(sm, E)["phase"] == "finished" and not scale_in_suspended(scaling)
    assert SCALING_TAG not in tags(sm)


def test_a_finish_killed_before_it_lifted_the_suspension_is_completed_by_the_next_pass(sm, scaling):
    world = World(sm, scaling)
    with pytest.raises(Crash):
        world.until(lambda p: False, crash_at="update")
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == world.target.final_config
    assert status_tags(sm, E)["phase"] == "finished" and scale_in_suspended(scaling)  # the kill left it held
    assert SageMakerDriver(sm, world.target, autoscaling=scaling).observe().converged is False  # the tag says so
    resumed = world.step()
    assert (resumed.decision.action, resumed.acted) == ("finish", True)
    assert not scale_in_suspended(scaling) and SCALING_TAG not in tags(sm)
    assert world.step().decision.action == "none"


def test_a_rollback_killed_after_its_traffic_write_is_lifted_by_a_later_settled_pass(sm, scaling):
    world = World(sm, scaling, decide=lambda percent: "firing" if percent == 10 else "ok")
    world.until(lambda p: canary_percent(sm, E) == 10)
    with pytest.raises(Crash):
        world.step(crash_at="traffic")
    assert canary_percent(sm, E) == 0 and scale_in_suspended(scaling)
    world.until(lambda p: p.decision.action == "none")
    assert not scale_in_suspended(scaling) and SCALING_TAG not in tags(sm)


def test_a_resumed_rollout_holds_scale_in_again_and_the_finish_lifts_it(sm, scaling):
    """``--resume`` reuses the rolled-back canary variant: no start, so its first step suspends."""
    failing = {"on": True}
    world = World(sm, scaling, decide=lambda percent: "firing" if failing["on"] and percent == 5 else "ok")
    world.until(lambda p: p.decision.action == "none")
    assert status_tags(sm, E)["phase"] == "rolled_back" and not scale_in_suspended(scaling)
    failing["on"] = False
    resumed = world.step(command="resume")
    assert (resumed.decision.action, resumed.acted) == ("set_traffic", True)
    assert scale_in_suspended(scaling) and SCALING_TAG in tags(sm)
    world.until(lambda p: p.decision.action == "none")
    assert status_tags(sm, E)["phase"] == "finished" and not scale_in_suspended(scaling)
    assert SCALING_TAG not in tags(sm)
