"""Budget warnings: a cluster at its max nodes must fit its ``max_hourly_cost_usd`` on AWS.

Contract: checked per AWS environment on that environment's effective system, with the catalog's
on-demand SageMaker training price for the environment's region (never another region's or use's).
Unknown prices give no warning; this never errors.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import AwsTarget, Environment


def check_cluster_budgets(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Warn when max nodes x hourly price exceeds a cluster's budget in an AWS environment."""
    if not isinstance(environment.target, AwsTarget):
        return
    region = environment.target.region
    for i, cluster in enumerate(ctx.system.clusters):
        if cluster.max_hourly_cost_usd is None:
            continue
        instance = training_instance(cluster)
        found = catalog.price(instance, "training", region) if instance else None
        if found is None:
            continue
        cost = cluster.nodes.max * found.usd_per_hour
        if cost <= cluster.max_hourly_cost_usd:
            continue
        spot = " Spot capacity usually costs less, but the budget is checked at on-demand prices." if cluster.spot else ""
        yield warning(
            "over-budget",
            f'Cluster "{cluster.name}" may cost ${cost:,.2f}/h in environment {env}, over its budget of '
            f"${cluster.max_hourly_cost_usd:,.2f}/h",
            f"{cluster.nodes.max} nodes x ${found.usd_per_hour:,.4f}/h for {catalog.sagemaker_name(instance)} "
            f"in {region}.{spot} Lower nodes.max, choose a smaller instance or raise max_hourly_cost_usd.\n"
            f"Price source: {found.source_url} (as of {found.source_date}).",
            ("clusters", i, "nodes", "max"), f"clusters.{cluster.name}")


def training_instance(cluster: Cluster) -> str | None:
    """The SageMaker training instance type a cluster runs on, or None when it has none."""
    if cluster.instance_type is not None:
        return catalog.sagemaker_name(cluster.instance_type)
    if cluster.accelerator is not None:
        return catalog.instance_for(cluster.accelerator.type, cluster.accelerator.count, "training")
    return None
