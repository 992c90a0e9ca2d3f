"""CPU/GPU utilization targets need the instance's vCPU/GPU count on AWS (audit autoscale-3).

Contract: in an AWS environment, an endpoint that scales on ``cpu_utilization`` or
``gpu_utilization`` must run on an instance type whose vCPU (resp. GPU) count the catalog knows
(:func:`mlops_infra.catalog.counts`, every SageMaker type but a few); otherwise it is an error
(``unknown-instance-count``) at the ``autoscaling`` field naming the type. SageMaker's
``CPUUtilization``/``GPUUtilization`` are summed over the instance's vCPUs/GPUs ("if there are four
CPUs, the CPUUtilization range is 0%-400%", SageMaker AI endpoint metrics,
https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html), so the compiled target
is the spec's per-core target times the count (``compile/aws/serving.py`` ``scaling_target_value``);
without the count the policy would hold the *sum* at a per-core figure and scale out to
``replicas.max`` under almost any load. The instance is the one the compiler picks: the
``accelerator``'s shape, else ``instance_type``, else ``ml.m5.xlarge``. Kubernetes scales on
per-pod CPU through Knative's HPA class, which needs no count.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.fit import DEFAULT_INSTANCE

COUNTED_METRICS = {"cpu_utilization": "vCPU", "gpu_utilization": "GPU"}
"""Autoscaling metrics SageMaker sums over a count, and what it counts."""


def check_scaling_counts(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, an error for each CPU/GPU-utilization endpoint on a type of unknown count."""
    if environment.target.kind != "aws":
        return
    for i, endpoint in enumerate(ctx.system.endpoints):
        scaling = endpoint.autoscaling
        if scaling is None or scaling.metric not in COUNTED_METRICS:
            continue
        accelerator = endpoint.accelerator
        if accelerator is not None:
            instance = catalog.instance_for(accelerator.type, accelerator.count)
            if instance is None:
                continue  # check_hardware reports a shape AWS does not offer
        else:
            instance = catalog.sagemaker_name(endpoint.instance_type or DEFAULT_INSTANCE)
        if catalog.counts(instance) is not None:
            continue
        what = COUNTED_METRICS[scaling.metric]
        yield error(
            "unknown-instance-count",
            f'Endpoint "{endpoint.name}" scales on {scaling.metric} in {env}, but the {what} count of {instance} '
            "is not in mlops-infra's catalog",
            f"SageMaker sums {scaling.metric} over the instance's {what}s (0-100% x count), so the policy's target "
            f"is {scaling.target:g} x the {what} count, and that count is unknown for {instance}. Scale on "
            "invocations_per_replica or concurrency (e.g. autoscaling: {metric: invocations_per_replica, "
            "target: 50}), or pick an instance type the catalog knows (mlops_infra/catalog/data/"
            "sagemaker_hardware.json).",
            ("endpoints", i, "autoscaling"), f"endpoints.{endpoint.name}")
