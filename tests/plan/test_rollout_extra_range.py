"""The rollout extra is a floor; its notes give the ceiling and what a rolled-back canary keeps (audit cost-4,
cost-2), and a blue/green fleet swap is counted for any endpoint-config replacement on AWS.

- The SageMaker driver sizes the canary from the instances serving when it starts (``ceil(p% x count)``,
  ``rollout/drivers/sagemaker.py``), which an autoscaled endpoint may have scaled out to ``maxReplicas``:
  the audit's moto run gave 24 canary instance-bakes at 10 live replicas against the plan's 10 at
  ``replicas.min`` (3).
- A ``blue_green``/``all_at_once`` endpoint's every ``UpdateEndpoint`` carries the compiled
  ``BlueGreenUpdatePolicy`` (terraform-provider-aws ``resourceEndpointUpdate``: ``HasChanges("endpoint_config_name",
  "deployment_config")``), which "creates a new fleet during the deployment while maintaining the old
  fleet" for ``TerminationWaitInSeconds`` (botocore), so an instance-type change keeps the old fleet for
  the bake, as a new version does.
"""

from __future__ import annotations

import math

from mlops_infra import catalog
from tests.plan.test_cost import estimate
from tests.plan.test_ml import endpoint

SCALED = {"metric": "invocations_per_replica", "target": 50}
BG = {"strategy": "blue_green", "steps": [], "bakeSeconds": 600, "rollbackOn": []}
AT_ONCE = {**BG, "strategy": "all_at_once"}
STEPS = (2, 5, 10, 25, 75, 100)
SWAP_H = (600 + 1200) / 3600
"""A SageMaker fleet swap's two fleets (audit pricing45-2): the new fleet's provisioning (canary_size's 1200 s
allowance) and then the 600 s termination wait (the bake)."""


def scorer_notes(result) -> list[str]:
    return [n for n in result.notes if n.startswith("endpoints.scorer: ")]


def test_an_autoscaled_canary_shows_its_extra_from_min_to_max_replicas() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    result = estimate([endpoint(autoscaling=SCALED)], [endpoint(autoscaling=SCALED, modelVersion=13)])
    low = sum(max(1, math.ceil(s * 2 / 100)) for s in STEPS) * (600 / 3600) * hourly
    high = sum(max(1, math.ceil(s * 10 / 100)) for s in STEPS) * (600 / 3600) * hourly
    assert (round(low, 2), round(high, 2)) == (1.88, 5.63)  # the audit's figures for staging's 2-10 replicas
    # plus the start's and the finish's fleet swaps (audit rolloutaws-4): (2 + 1) + (2 + 2), (10 + 1) + (10 + 10)
    low, high = low + 7 * (1200 / 3600) * hourly, high + 31 * (1200 / 3600) * hourly
    assert result.rollout_extra_usd == round(low, 2)  # the plan's figure stays the floor
    assert (f"endpoints.scorer: rollout extra ${low:,.2f} at 2 replica(s) to ${high:,.2f} at 10 (the canary is "
            "sized from the replicas running when the rollout starts)") in result.notes


def test_a_canary_says_what_a_rollback_keeps_per_hour() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    fixed = estimate([endpoint(autoscaling=False)], [endpoint(autoscaling=False, modelVersion=13)])
    assert scorer_notes(fixed) == [  # fixed replicas: no range, only what a rollback keeps
        f"endpoints.scorer: after a rollback the canary variant keeps 1 instance: ${hourly:,.2f}/h "
        f"(${hourly * 730:,.0f} a month) until a later version rolls out"]
    instances = sum(max(1, math.ceil(s * 2 / 100)) for s in STEPS)
    swaps = (2 + 1) + (2 + 2)  # the start's and the finish's fleet swaps, 1200 s each (audit rolloutaws-4)
    assert fixed.rollout_extra_usd == round((instances * (600 / 3600) + swaps * (1200 / 3600)) * hourly, 2)


def test_a_kubernetes_canary_says_its_revision_keeps_min_replicas() -> None:
    hourly = catalog.ec2_price("g5.xlarge").usd_per_hour
    result = estimate([endpoint(minReplicas=3, autoscaling=False)],
                      [endpoint(minReplicas=3, autoscaling=False, modelVersion=14)], metadata={"cloud": "kubernetes"})
    assert result.rollout_extra_usd == round(6 * 3 * (600 / 3600) * hourly, 2)  # unchanged: min replicas per step
    assert any(f"the new revision keeps its minReplicas pod(s): ${3 * hourly:,.2f}/h" in n for n in result.notes)


def test_a_blue_green_instance_change_keeps_the_old_fleet_for_the_bake() -> None:
    """No new version, but a new endpoint config: the old fleet (its instance type, its replicas) waits
    ``TerminationWaitInSeconds``. Before this the extra was 0 unless the version changed."""
    old = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    for rollout in (BG, AT_ONCE):
        result = estimate([endpoint(rollout=rollout)], [endpoint(rollout=rollout, instanceType="ml.g5.2xlarge")])
        assert result.rollout_extra_usd == round(2 * SWAP_H * old, 2), rollout  # $1.41
        assert (f"endpoints.scorer: rollout extra ${2 * old * SWAP_H:,.2f} at 2 replica(s) to ${10 * old * SWAP_H:,.2f} at 10 "
                "(the old fleet is sized from the replicas running when the rollout starts)") in result.notes


def test_every_config_replacement_of_a_blue_green_endpoint_counts_and_nothing_else_does() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    swap = round(2 * SWAP_H * hourly, 2)
    for change in ({"capturePercent": 50}, {"modelVersion": 13}, {"model": "other-model"}):
        assert estimate([endpoint(rollout=BG)], [endpoint(rollout=BG, **change)]).rollout_extra_usd == swap, change
    floor = estimate([endpoint(rollout=BG)], [endpoint(rollout=BG, minReplicas=3)])  # initialInstanceCount
    assert floor.rollout_extra_usd == swap  # the old fleet: 2 replicas
    for change in ({"maxReplicas": 20}, {}):  # the scalable target only, or nothing: the config stays
        assert estimate([endpoint(rollout=BG)], [endpoint(rollout=BG, **change)]).rollout_extra_usd == 0, change
    # a canary's config change of the serving version is landed by the controller: no steps, as before
    assert estimate([endpoint()], [endpoint(instanceType="ml.g5.2xlarge")]).rollout_extra_usd == 0
