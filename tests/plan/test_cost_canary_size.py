"""The plan's canary extra counts the instances the runner starts: :func:`mlops_infra.canary_size.canary_instances`,
the rule the rollout runner ships, not a float variant of it. ``math.ceil(14 / 100 * 50)`` is 8
(``7.000000000000001``) where the runner starts ``ceil(14 x 50 / 100)`` = 7 instances, so the plan priced an
instance-bake the rollout never runs."""

from __future__ import annotations

from mlops_infra import catalog
from mlops_infra.canary_size import canary_instances
from tests.plan.test_cost import estimate
from tests.plan.test_ml import endpoint

CANARY = {"strategy": "canary", "steps": [14, 100], "bakeSeconds": 3600, "rollbackOn": []}
CONCURRENCY = {"metric": "concurrency", "target": 4}


def test_a_sagemaker_canary_is_priced_at_the_instances_the_runner_starts() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    fixed = {"minReplicas": 50, "maxReplicas": 50, "autoscaling": False, "rollout": CANARY}
    result = estimate([endpoint(**fixed)], [endpoint(**fixed, modelVersion=13)])
    assert [canary_instances(s, 50) for s in CANARY["steps"]] == [7, 50]
    swaps = (50 + 1 + 50 + 50) * (1200 / 3600)  # the start's and the finish's fleet swaps (audit rolloutaws-4)
    assert result.rollout_extra_usd == round(((7 + 50) * 1.0 + swaps) * hourly, 2)  # one hour's bake per step


def test_a_kubernetes_canarys_ceiling_is_priced_at_the_replicas_the_runner_starts() -> None:
    """A Kubernetes canary revision runs max(minReplicas, its share): at maxReplicas 50, 7 then 50 replicas."""
    hourly = catalog.ec2_price("g5.xlarge").usd_per_hour
    scaled = {"minReplicas": 1, "maxReplicas": 50, "autoscaling": CONCURRENCY, "rollout": CANARY}
    result = estimate([endpoint(**scaled)], [endpoint(**scaled, modelVersion=13)], metadata={"cloud": "kubernetes"})
    assert result.rollout_extra_usd == round((1 + 1) * hourly, 2)  # the floor: 1 replica per step
    assert (f"endpoints.scorer: rollout extra ${2 * hourly:,.2f} at 1 replica(s) to ${(7 + 50) * hourly:,.2f} "
            "at 50 (the canary is sized from the replicas running when the rollout starts)") in result.notes
