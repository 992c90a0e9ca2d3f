"""Each SageMaker traffic call sets the capacity of one variant at most (``drivers/sagemaker.py``, **Traffic
calls**; audit rolloutaws-2).

botocore sagemaker 2017-07-24 ``UpdateEndpointWeightsAndCapacities``: "Updates variant weight of one or more variants
associated with an existing endpoint, or capacity of one variant associated with an existing endpoint". Every step
and every rollback sent ``DesiredInstanceCount`` for both ``primary`` and ``canary``. Now a step sends both weights
and the canary's count; primary's count goes in a call of its own, first, only when it must grow; a rollback sends
both weights, with primary's count only when it must grow. On the moto server of tests/support/moto_server.py, whose
patch 22 refuses two counts in one call and keeps what an entry leaves out (moto itself applies any list and sets
a left-out member to None)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver, canary_instances
from mlops_infra.rollout.runner import Watch, reconcile_once, watch
from tests.rollout.aws_world import IMAGE, ROLE, canary_percent, deploy, model_name, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec

pytestmark = pytest.mark.moto
E = "one-capacity-scorer"
COUNT = 4


def recording(sm) -> list[list[tuple[str, float | None, int | None]]]:
    """Every ``UpdateEndpointWeightsAndCapacities`` the client makes from now on, as (variant, weight, count)."""
    calls: list[list[tuple[str, float | None, int | None]]] = []
    original = sm.update_endpoint_weights_and_capacities

    def call(**kwargs):
        calls.append([(e["VariantName"], e.get("DesiredWeight"), e.get("DesiredInstanceCount"))
                      for e in kwargs["DesiredWeightsAndCapacities"]])
        return original(**kwargs)

    sm.update_endpoint_weights_and_capacities = call
    return calls


def variants(sm) -> dict[str, tuple[float, int]]:
    """Variant -> (CurrentWeight, CurrentInstanceCount)."""
    return {v["VariantName"]: (float(v.get("CurrentWeight") or 0.0), v.get("CurrentInstanceCount"))
            for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}


def test_the_stand_in_refuses_two_capacities_and_keeps_what_an_entry_leaves_out(sm):
    for version in (1, 2):
        sm.create_model(ModelName=model_name(E, version), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(EndpointConfigName=f"{E}-two", ProductionVariants=[
        {"VariantName": "primary", "ModelName": model_name(E, 1), "InstanceType": "ml.m5.xlarge",
         "InitialInstanceCount": 3, "InitialVariantWeight": 1.0},
        {"VariantName": "canary", "ModelName": model_name(E, 2), "InstanceType": "ml.m5.xlarge",
         "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}])
    sm.create_endpoint(EndpointName=E, EndpointConfigName=f"{E}-two")
    with pytest.raises(ClientError, match="capacity of one variant") as refused:
        sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredWeight": 90.0, "DesiredInstanceCount": 3},
            {"VariantName": "canary", "DesiredWeight": 10.0, "DesiredInstanceCount": 1}])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert variants(sm) == {"primary": (1.0, 3), "canary": (1.0, 1)}  # nothing applied
    sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
        {"VariantName": "primary", "DesiredWeight": 90.0}, {"VariantName": "canary", "DesiredWeight": 10.0}])
    assert variants(sm) == {"primary": (90.0, 3), "canary": (10.0, 1)}  # weights only: the counts stay
    sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
        {"VariantName": "canary", "DesiredInstanceCount": 2}])
    assert variants(sm) == {"primary": (90.0, 3), "canary": (10.0, 2)}  # one count: the weights stay


def test_each_step_sends_both_weights_and_the_canary_count_and_the_rollback_weights_only(sm):
    target = deploy(sm, E, count=COUNT)
    calls = recording(sm)
    gates = ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok", percent=lambda: canary_percent(sm, E))
    clock = Clock()
    watch(spec("aws"), SageMakerDriver(sm, target), gates,
          Watch(poll_seconds=BAKE, max_passes=100, clock=clock, sleep=clock.sleep))
    assert calls == [
        [("primary", 98.0, None), ("canary", 2.0, 1)],
        [("primary", 95.0, None), ("canary", 5.0, 1)],
        [("primary", 90.0, None), ("canary", 10.0, canary_instances(10, COUNT))],
        [("primary", 100.0, None), ("canary", 0.0, None)],  # the rollback: weights only, the canary's count kept
    ]
    assert status_tags(sm, E)["phase"] == "rolled_back"
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, 1)}


class Passes:
    """An autoscaled endpoint (the recorded count is read) driven pass by pass on a simulated clock."""

    def __init__(self, sm, scaling, decide=lambda p: "ok") -> None:
        self.sm, self.scaling, self.clock = sm, scaling, Clock()
        self.target = deploy(sm, E, count=COUNT, autoscaling=scaling)
        self.gates = ScriptedGates(decide=decide, percent=lambda: canary_percent(sm, E))

    def step(self):
        try:
            return reconcile_once(spec("aws"), SageMakerDriver(self.sm, self.target, autoscaling=self.scaling),
                                  self.gates, self.clock.now)
        finally:
            self.clock.sleep(BAKE)

    def until(self, share: int) -> None:
        for _ in range(40):
            if canary_percent(self.sm, E) == share:
                return
            self.step()
        raise AssertionError(f"never reached {share}%")


def test_a_primary_below_the_recorded_count_grows_in_a_call_of_its_own_before_the_step(sm, scaling):
    world = Passes(sm, scaling)
    world.until(25)
    sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
        {"VariantName": "primary", "DesiredInstanceCount": 1}])  # scaled in (before the suspension took effect)
    calls = recording(sm)
    world.until(75)
    assert calls == [[("primary", None, COUNT)],  # primary alone, first: the endpoint is Updating after it
                     [("primary", 25.0, None), ("canary", 75.0, canary_instances(75, COUNT))]]  # the next pass
    assert variants(sm) == {"primary": (25.0, COUNT), "canary": (75.0, canary_instances(75, COUNT))}
    assert canary_instances(75, COUNT) != canary_instances(75, 1)  # sized from the grown primary


def test_a_rollback_over_a_scaled_in_primary_grows_it_in_the_same_call_as_the_weights(sm, scaling):
    world = Passes(sm, scaling, decide=lambda p: "firing" if p == 25 else "ok")
    world.until(25)
    sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
        {"VariantName": "primary", "DesiredInstanceCount": 1}])
    calls = recording(sm)
    rolled = world.step()
    assert (rolled.decision.action, rolled.acted) == ("rollback", True)
    assert calls == [[("primary", 100.0, COUNT), ("canary", 0.0, None)]]  # one call, one capacity: at once
    assert variants(sm) == {"primary": (100.0, COUNT), "canary": (0.0, canary_instances(25, COUNT))}
