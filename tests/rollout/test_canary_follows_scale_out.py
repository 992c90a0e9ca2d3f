"""The canary follows the stable variant's scale-out during a rollout (audit rolloutaws-5).

``_weights`` (``drivers/sagemaker.py``) sized the canary from the ``primary`` count the start recorded in the
rollout config; when Application Auto Scaling scaled ``primary`` out mid-rollout (target tracking "adds
capacity", botocore application-autoscaling ``TargetTrackingScalingPolicyConfiguration``; scale-in is
suspended for the rollout), the 75 % and 100 % steps put the grown traffic on the canary's recorded size:
SageMaker routes by weight whatever the instance counts (botocore ``ProductionVariant.InitialVariantWeight``).
Now the canary is sized from ``max(primary's current count, the recorded one)``. The audit's repro, on the
moto server: target tracking is played by the capacity-only ``UpdateEndpointWeightsAndCapacities`` on
``primary`` that Application Auto Scaling issues (3 -> 6) once the canary is at 10 %.
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import POLICY, E, canary_percent, deploy, status_tags
from tests.rollout.sim import Clock, ScriptedGates, spec

pytestmark = pytest.mark.moto


def counts(sm) -> dict[str, tuple[float | None, int | None]]:
    return {v["VariantName"]: (v.get("CurrentWeight"), v.get("CurrentInstanceCount"))
            for v in sm.describe_endpoint(EndpointName=E)["ProductionVariants"]}


def run(sm, scaling, scale_out_at: int | None) -> dict[int, dict[str, tuple[float | None, int | None]]]:
    """Drive a rollout to its last step; ``scale_out_at``: the canary share at which primary goes 3 -> 6.
    Returns share -> {variant: (weight, instances)} as each step was seen."""
    target = deploy(sm, autoscaling=scaling, policies=(POLICY,))
    clock, seen, scaled = Clock(), {}, False
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    for _ in range(40):
        reconcile_once(spec("aws"), SageMakerDriver(sm, target, autoscaling=scaling), gates, clock.now)
        percent = canary_percent(sm, E)
        if percent == scale_out_at and not scaled:  # load grows: target tracking scales primary out
            sm.update_endpoint_weights_and_capacities(EndpointName=E, DesiredWeightsAndCapacities=[
                {"VariantName": "primary", "DesiredInstanceCount": 6}])
            scaled = True
        if percent is not None and status_tags(sm, E).get("phase") == "progressing":
            seen[percent] = counts(sm)
        clock.sleep(600)
        if percent == 100:
            break
    return seen


def test_a_canary_at_100_percent_has_as_many_instances_as_the_scaled_out_primary(sm, scaling):
    seen = run(sm, scaling, scale_out_at=10)
    assert seen[100]["canary"] == (100.0, 6)  # before: (100.0, 3), the load of 6+ instances on 3
    assert seen[100]["primary"][1] == 6  # kept: a rollback is instant
    assert seen[75]["canary"] == (75.0, 5)  # ceil(75% x 6), the one rule (canary_size.canary_instances)
    assert seen[25]["canary"][1] == 2  # ceil(25% x 6)


def test_without_a_scale_out_the_canary_is_sized_from_the_recorded_count(sm, scaling):
    seen = run(sm, scaling, scale_out_at=None)
    assert {p: seen[p]["canary"][1] for p in (2, 5, 10, 25, 75, 100)} == {2: 1, 5: 1, 10: 1, 25: 1, 75: 3, 100: 3}
    assert {seen[p]["primary"][1] for p in seen} == {3}
