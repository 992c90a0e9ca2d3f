"""Budget warnings: a cluster at full scale must fit its ``max_hourly_cost_usd`` on AWS.

Contract: checked per AWS environment on that environment's effective system, with the catalog's
on-demand SageMaker training price for the environment's region (never another region's or use's).
Full scale is :func:`peak_nodes`: the nodes of its training jobs' runs at once, the count the
``max_hourly_cost_usd`` guardrail prices (``plan/cost.training_peaks``). On AWS ``nodes.max`` is
never started (nothing is compiled from it), so a cluster no job runs on costs $0 and gets no
budget warning, as the guardrail counts it. ``max_gpus`` keeps the capacity meaning (the larger of
max nodes and this sum, ``policy/rules.gpu_usage``).
Over the budget: ``over-budget``. An unknown price is ``budget-unchecked`` (the budget could not be
checked; it names the missing price and the ``catalog refresh`` command that adds it, or, for a region botocore
does not know, the target region to fix, or, for an aws-cn region, that its prices are not available from
mlops-infra: :func:`mlops_infra.catalog.unpriceable`), never
silence: a reviewer must tell "within budget" from "not checked". Warnings only; this never errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import AwsTarget, Environment
from mlops_infra.spec.regions import unknown_region


def _unpriced_fix(env: str, region: str) -> str:
    """How to get the missing price: ``catalog refresh`` for a real region; for one botocore does not know
    (:func:`mlops_infra.spec.regions.unknown_region`, audit envs-6) no refresh can find a price, so the fix is
    the target's region."""
    if unknown_region(region):
        return (f"{region} is not an AWS region botocore knows (see the unknown-region warning): no price can be "
                f"found for it. Fix environments.{env}.target.region, or remove max_hourly_cost_usd.")
    if why := catalog.unpriceable(region):  # aws-cn: no refresh can price it (audit xregion-2)
        return f"{why[0].upper()}{why[1:]}. Remove max_hourly_cost_usd, or keep it knowing it is not checked here."
    return (f"Add it with `mlops-infra catalog refresh --regions {region} --out prices.json` (AWS credentials; "
            "then `export MLOPS_INFRA_PRICES=\"$PWD/prices.json\"`, an absolute path, docs/prices.md), or "
            "remove max_hourly_cost_usd. A price is never borrowed from another region or from hosting.")


def check_cluster_budgets(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Warn when the cluster's jobs' nodes at once x hourly price exceed its budget in an AWS environment."""
    if not isinstance(environment.target, AwsTarget):
        return
    region = environment.target.region
    for i, cluster in enumerate(ctx.system.clusters):
        if cluster.max_hourly_cost_usd is None:
            continue
        jobs = [(job.name, job.nodes) for job in ctx.system.training_jobs if job.cluster == cluster.name]
        if not jobs:  # SageMaker starts nothing for it: $0, as the max_hourly_cost_usd guardrail counts it
            continue
        instance = training_instance(cluster)
        if instance is None:  # no instance for the accelerator: an error of its own (hardware checks)
            continue
        found = catalog.price(instance, "training", region)
        if found is None:
            yield warning(
                "budget-unchecked",
                f'Cluster "{cluster.name}"\'s budget of ${cluster.max_hourly_cost_usd:,.2f}/h is not checked in '
                f"environment {env}: the price catalog has no {region} price for {instance} (SageMaker training)",
                _unpriced_fix(env, region),
                ("clusters", i, "max_hourly_cost_usd"), f"clusters.{cluster.name}")
            continue
        nodes = peak_nodes([n for _, n in jobs])
        cost = nodes * found.usd_per_hour
        if cost <= cluster.max_hourly_cost_usd:
            continue
        why = (f" (its training jobs' runs at once: {' + '.join(f'{name} {n}' for name, n in jobs)}; SageMaker "
               f"starts the nodes each job asks for, not nodes.max)")
        spot = " Spot capacity usually costs less, but the budget is checked at on-demand prices." if cluster.spot else ""
        yield warning(
            "over-budget",
            f'Cluster "{cluster.name}" may cost ${cost:,.2f}/h in environment {env}, over its budget of '
            f"${cluster.max_hourly_cost_usd:,.2f}/h",
            f"{nodes} nodes{why} x ${found.usd_per_hour:,.4f}/h for {catalog.sagemaker_name(instance)} "
            f"in {region}.{spot} Lower the training jobs' nodes, choose a smaller instance or raise "
            f"max_hourly_cost_usd.\n"
            f"Price source: {found.source_url} (as of {found.source_date}).",
            ("clusters", i, "max_hourly_cost_usd"), f"clusters.{cluster.name}")


def peak_nodes(job_nodes: Iterable[int]) -> int:
    """The most nodes an AWS cluster's runs hold at once: the sum of its training jobs' nodes (0 for
    a cluster no job runs on). SageMaker starts the instances each job asks for (botocore
    ``sagemaker`` ``ResourceConfig.InstanceCount``: "The number of ML compute instances to use";
    ``compile/aws/training.py`` compiles it as the job's ``nodes``) and nothing else: nothing is
    compiled from ``nodes.max`` on AWS, so nodes above the jobs' never run or bill (audit
    closing-34e-1). The sum holds whatever the cluster's max (a warning,
    ``spec/hardware.check_training_nodes``), and nothing
    serialises two jobs' runs; a job's own runs never overlap (its retrain gate starts none while one
    is ``Executing``, ``compile/aws/retrain_gate.py``). SageMaker bills each instance for the time it
    runs (botocore ``DescribeTrainingJobResponse.BillableTimeInSeconds``: "Multiply
    BillableTimeInSeconds by the number of instances (InstanceCount) ... to get the total compute
    time SageMaker bills you"), so N nodes cost N x the Training price per hour while they run."""
    return sum(job_nodes)


def training_instance(cluster: Cluster) -> str | None:
    """The SageMaker training instance type a cluster runs on, or None when it has none."""
    if cluster.instance_type is not None:
        return catalog.sagemaker_name(cluster.instance_type)
    if cluster.accelerator is not None:
        return catalog.instance_for(cluster.accelerator.type, cluster.accelerator.count, "training")
    return None
