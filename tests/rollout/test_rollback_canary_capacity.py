"""A rolled-back (or aborted) SageMaker canary keeps one instance, not its last step's
(``drivers/sagemaker.py``, **Rollback**; audit cost-2).

SageMaker bills every instance of every variant whatever its weight (botocore ``DesiredWeightAndCapacity``:
the weight and, apart from it, ``DesiredInstanceCount``, "The variant's capacity"). A rollback at the
100 % step of a three-instance fleet left the canary at weight 0 on its three instances until a later
version rolled out. Now the first settled pass sets the canary's ``DesiredInstanceCount`` to 1 (the fewest
a variant of instances runs, botocore ``InitialTaskCount`` min 1), and a ``--resume``, a later version or
a fleet pass work from that state. On the moto server of tests/support/moto_server.py, whose
``UpdateEndpointWeightsAndCapacities`` sets ``DesiredInstanceCount`` and ``CurrentInstanceCount`` as asked.
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import SCALING_TAG, EndpointTarget, SageMakerDriver
from mlops_infra.rollout.fleet import Member, reconcile_fleet
from mlops_infra.rollout.runner import NoGates, reconcile_once
from tests.rollout.aws_world import (
    DIMENSION,
    IMAGE,
    POLICY,
    RESOURCE,
    ROLE,
    E,
    all_tags,
    canary_percent,
    config,
    deploy,
    model_name,
    status_tags,
)
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, spec

pytestmark = pytest.mark.moto
COUNT = 3


def variants(sm) -> dict[str, tuple[float, int]]:
    """Variant -> (weight, DesiredInstanceCount)."""
    return {v["VariantName"]: (float(v.get("CurrentWeight") or 0.0), int(v["DesiredInstanceCount"]))
            for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}


class Passes:
    """One endpoint driven pass by pass on a simulated clock; the gate fires at ``failing_at`` % while
    ``failing["on"]``."""

    def __init__(self, sm, target, *, failing_at: int | None = 100, autoscaling=None) -> None:
        self.sm, self.target, self.autoscaling, self.clock = sm, target, autoscaling, Clock()
        self.failing = {"on": True}
        self.gates = ScriptedGates(decide=lambda p: "firing" if self.failing["on"] and p == failing_at else "ok",
                                   percent=lambda: canary_percent(sm, E))

    def driver(self, client=None) -> SageMakerDriver:
        return SageMakerDriver(client or self.sm, self.target, autoscaling=self.autoscaling)

    def step(self, command=None):
        try:
            return reconcile_once(spec("aws"), self.driver(), self.gates, self.clock.now, command)
        finally:
            self.clock.sleep(BAKE)

    def until(self, done, command=None):
        for _ in range(40):
            last = self.step(command)
            if done(last):
                return last
            command = None
        raise AssertionError(f"never done: {status_tags(self.sm, E)}")


@pytest.mark.parametrize("ending", ["rolled_back", "aborted"])
def test_a_settled_rollback_at_100_keeps_the_canary_on_one_instance(sm, ending):
    """The rollback itself moves only the traffic (all weight back on ``primary``, the canary's instances
    as they were); the first settled pass shrinks the kept canary to one instance; the variant stays for
    inspection. Before this fix the canary stayed at (0.0, 3) for good."""
    world = Passes(sm, deploy(sm, count=COUNT), failing_at=100 if ending == "rolled_back" else None)
    if ending == "rolled_back":
        world.until(lambda p: p.decision.action == "rollback")
    else:
        world.until(lambda p: canary_percent(sm, E) == 100)
        assert world.step("abort").decision.action == "rollback"
    assert status_tags(sm, E)["phase"] == ending
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, COUNT)}  # traffic moved, nothing else
    settled = world.step()
    assert settled.decision.action == "none"
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, 1)}
    config_now = sm.describe_endpoint(EndpointName=E)["EndpointConfigName"]
    kept = {v["VariantName"]: v["ModelName"]
            for v in sm.describe_endpoint_config(EndpointConfigName=config_now)["ProductionVariants"]}
    assert kept == {"primary": model_name(E, 12), "canary": model_name(E, 13)}  # kept for inspection
    assert world.step().decision.action == "none" and variants(sm)["canary"] == (0.0, 1)


def test_a_shrunk_canary_is_not_shrunk_again_and_a_small_one_never(sm):
    """Once the canary asks for one instance, a settled pass calls nothing but its reads (and a rollback
    whose canary already had one never calls more)."""
    world = Passes(sm, deploy(sm, count=COUNT))
    world.until(lambda p: p.decision.action == "rollback")
    world.step()
    assert variants(sm)["canary"] == (0.0, 1)

    class Recording:
        def __init__(self, inner) -> None:
            self.inner, self.calls = inner, []

        def __getattr__(self, name):
            self.calls.append(name)
            return getattr(self.inner, name)

    recording = Recording(sm)
    alone = reconcile_once(spec("aws"), world.driver(recording), world.gates, world.clock.now)
    assert alone.decision.action == "none"
    assert "update_endpoint_weights_and_capacities" not in recording.calls


def test_a_resumed_rollout_sizes_the_canary_again_and_finishes(sm):
    world = Passes(sm, deploy(sm, count=COUNT))
    world.until(lambda p: p.decision.action == "rollback")
    world.step()
    assert variants(sm)["canary"] == (0.0, 1)
    world.failing["on"] = False
    resumed = world.step("resume")
    assert (resumed.decision.action, resumed.acted) == ("set_traffic", True)
    assert variants(sm)["canary"] == (2.0, 1)  # ceil(2% x 3)
    seen = {}
    for _ in range(40):
        last = world.step()
        percent = canary_percent(sm, E)
        if percent is not None:
            seen[percent] = variants(sm)["canary"][1]
        if last.decision.action == "none":
            break
    assert seen[75] == 3 and seen[100] == 3  # sized from the recorded stable count, not from the kept one
    assert status_tags(sm, E)["phase"] == "finished"
    [primary] = sm.describe_endpoint(EndpointName=E)["ProductionVariants"]
    assert (primary["VariantName"], primary["CurrentInstanceCount"]) == ("primary", COUNT)


def test_a_later_version_after_the_shrink_gets_its_canary_and_finishes(sm):
    world = Passes(sm, deploy(sm, count=COUNT))
    world.until(lambda p: p.decision.action == "rollback")
    world.step()
    assert variants(sm)["canary"] == (0.0, 1)
    sm.create_model(ModelName=model_name(E, 14), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    config(sm, f"{E}-cfg-v14", model_name(E, 14), count=COUNT)
    world.target = EndpointTarget(E, "14", f"{E}-cfg-v14", model_name(E, 14))
    world.failing["on"] = False
    shares = []
    for _ in range(40):
        last = world.step()
        percent = canary_percent(sm, E)
        if percent is not None and (not shares or shares[-1][0] != percent):
            shares.append((percent, variants(sm)["canary"][1]))
        if last.decision.action == "none":
            break
    assert [p for p, _ in shares] == [0, *STEPS]
    assert dict(shares)[0] == 1  # the start kept the variant's count (RetainAllVariantProperties): not 3 again
    assert dict(shares)[100] == COUNT
    assert status_tags(sm, E)["phase"] == "finished"
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == f"{E}-cfg-v14"


def test_an_autoscaled_endpoint_is_shrunk_and_its_scale_in_lifted_by_the_same_settled_pass(sm, scaling):
    world = Passes(sm, deploy(sm, count=COUNT, autoscaling=scaling, policies=(POLICY,)), autoscaling=scaling)
    world.until(lambda p: p.decision.action == "rollback")
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    assert SCALING_TAG in {t["Key"] for t in all_tags(sm, arn)}
    settled = world.step()
    assert settled.decision.action == "none"
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, 1)}
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE],
                                                 ScalableDimension=DIMENSION)["ScalableTargets"]
    assert not (target.get("SuspendedState") or {}).get("DynamicScalingInSuspended")
    assert SCALING_TAG not in {t["Key"] for t in all_tags(sm, arn)}
    later = world.step()  # the next settled pass deletes what earlier versions kept (none here)
    assert later.decision.action == "none" and variants(sm)["canary"] == (0.0, 1)


def test_a_fleet_pass_shrinks_a_canary_an_earlier_runner_left_at_its_step_size(sm):
    """The scheduled runner observes its endpoints with one ``Search`` (``observe_many``): its settled pass
    shrinks a canary left at three instances (as by a runner before this fix) the same way."""
    world = Passes(sm, deploy(sm, count=COUNT))
    world.until(lambda p: p.decision.action == "rollback")
    assert variants(sm)["canary"] == (0.0, COUNT)  # what an earlier runner left for good
    [fleet] = reconcile_fleet([Member(spec("aws"), world.driver(), NoGates())], world.clock.now)
    assert fleet.result is not None and fleet.result.decision.action == "none"
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, 1)}
