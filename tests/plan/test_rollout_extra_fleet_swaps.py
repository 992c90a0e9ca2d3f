"""The plan's ``rollout_extra`` of a SageMaker canary counts the start's and the finish's fleet swaps (audit
rolloutaws-4): each ``UpdateEndpoint`` "Deploys the EndpointConfig specified in the request to a new fleet of
instances" (botocore sagemaker 2017-07-24 ``UpdateEndpoint``), for ``FLEET_PROVISIONING_SECONDS`` each
(``canary_size.fleet_swap_instances``: replicas + 1 at the start, replicas + the canary's last size at the finish).
A KServe canary swaps no fleet: its figure is unchanged."""

from __future__ import annotations

import math

from mlops_infra import catalog
from tests.plan.test_cost import estimate
from tests.plan.test_ml import endpoint

SCALED = {"metric": "invocations_per_replica", "target": 50}
STEPS = (2, 5, 10, 25, 75, 100)


def canary_hours(replicas: int) -> float:
    return sum(max(1, math.ceil(s * replicas / 100)) for s in STEPS) * 600 / 3600


def test_a_sagemaker_canary_counts_both_fleet_swaps() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    result = estimate([endpoint(autoscaling=False)], [endpoint(autoscaling=False, modelVersion=13)])
    swaps = (2 + 1) * 1200 / 3600 + (2 + 2) * 1200 / 3600  # 2 replicas: start 3, finish 2 new + the canary's 2
    assert result.rollout_extra_usd == round((canary_hours(2) + swaps) * hourly, 2)
    assert result.rollout_extra_usd > round(canary_hours(2) * hourly, 2)  # before: the bakes alone


def test_the_ceiling_note_counts_the_swaps_at_max_replicas() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    result = estimate([endpoint(autoscaling=SCALED)], [endpoint(autoscaling=SCALED, modelVersion=13)])
    low = (canary_hours(2) + (3 + 4) * 1200 / 3600) * hourly
    high = (canary_hours(10) + (11 + 20) * 1200 / 3600) * hourly
    assert result.rollout_extra_usd == round(low, 2)
    assert any(n.startswith(f"endpoints.scorer: rollout extra ${low:,.2f} at 2 replica(s) to ${high:,.2f} at 10 ")
               for n in result.notes), result.notes


def test_a_kserve_canary_swaps_no_fleet() -> None:
    hourly = catalog.ec2_price("g5.xlarge").usd_per_hour
    result = estimate([endpoint(minReplicas=3, autoscaling=False)],
                      [endpoint(minReplicas=3, autoscaling=False, modelVersion=14)], metadata={"cloud": "kubernetes"})
    assert result.rollout_extra_usd == round(6 * 3 * (600 / 3600) * hourly, 2)
