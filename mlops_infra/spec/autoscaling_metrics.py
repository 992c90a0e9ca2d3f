"""Autoscaling that can act as the spec says: a GPU metric needs a GPU, and ``replicas.min: 0`` on
Kubernetes means scale to zero (audit autoscale-4, autoscale-5).

Contract:
- :func:`check_gpu_metric_needs_a_gpu` (every system, both targets): ``autoscaling.metric:
  gpu_utilization`` on an endpoint without a GPU is an error (``gpu-metric-without-gpu``) at the
  ``autoscaling`` field. SageMaker's ``GPUUtilization`` is "the percentage of GPU units that are used
  by the containers on an instance" (SageMaker AI endpoint metrics,
  https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html): an instance without one
  publishes no datapoint, and target tracking "does not perform scaling when the specified metric has
  insufficient data" (Application Auto Scaling, target tracking considerations,
  https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html),
  so the endpoint would sit at ``replicas.min`` while the plan prices and describes a range; on
  Kubernetes KServe has no GPU scale metric at all (``compile/kubernetes/serving.py`` falls back to
  Knative's concurrency). An endpoint has a GPU when it names an ``accelerator``, or an
  ``instance_type`` whose GPU count the catalog knows to be above 0 (:func:`mlops_infra.catalog.counts`:
  EC2 ``DescribeInstanceTypes`` of 275 of the 277 SageMaker inference types), or, for a type it does not
  know, of an NVIDIA GPU family: EC2's accelerated-computing
  families ``p`` and ``g`` (``p3``, ``p4d``, ``p5``, ``g4dn``, ``g5``, ``g6``, ``g6e``, ...); ``inf`` and
  ``trn`` carry AWS Inferentia/Trainium chips, which publish no ``GPUUtilization``.
- :func:`check_scale_to_zero` (Kubernetes environments): an endpoint whose compiled ``minReplicas`` is
  0 (``replicas.min: 0`` with autoscaling on requests or concurrency: ``compile/kubernetes/serving.py``
  ``replica_range``; scaling on CPU uses Knative's HPA class, which keeps one) is a warning
  (``scale-to-zero``): Knative removes its last pod after about 90 s without requests (config-autoscaler
  ``stable-window: "60s"`` and ``scale-to-zero-grace-period: "30s"``, knative/serving
  ``config/core/configmaps/autoscaler.yaml``), and the next request waits in the activator for a new
  pod, the model's download and load, at most the revision's timeout (``DefaultRevisionTimeoutSeconds =
  5 * 60``, knative/serving ``pkg/apis/config/defaults.go``). On AWS the same spec keeps one instance
  (SageMaker's ``InitialInstanceCount`` is at least 1), so the two targets differ; the warning says so,
  louder for a GPU endpoint (a GPU node and a large model take minutes to start).
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, error, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.serving import Endpoint

GPU_FAMILY_LETTERS = ("p", "g")
"""First letters of EC2's NVIDIA GPU instance families (the accelerated-computing P and G families)."""
SCALE_TO_ZERO_IDLE_SECONDS = 90
"""Knative's stable window (60 s) plus its scale-to-zero grace period (30 s), its defaults."""
REVISION_TIMEOUT_SECONDS = 300
"""Knative's default revision timeout: how long a request may wait, cold start included."""


def has_gpu(endpoint: Endpoint) -> bool:
    """Whether ``endpoint`` runs on a GPU (module contract)."""
    if endpoint.accelerator is not None:
        return True
    if endpoint.instance_type is None:
        return False
    known = catalog.counts(endpoint.instance_type)
    if known is not None:
        return known.gpus > 0
    family = catalog.ec2_name(endpoint.instance_type).split(".", 1)[0]
    return family.startswith(GPU_FAMILY_LETTERS)


def check_gpu_metric_needs_a_gpu(ctx: CheckContext) -> Iterator[Diagnostic]:
    """``gpu_utilization`` only on endpoints with a GPU (module contract)."""
    for i, endpoint in enumerate(ctx.system.endpoints):
        if endpoint.autoscaling is None or endpoint.autoscaling.metric != "gpu_utilization" or has_gpu(endpoint):
            continue
        runs_on = f"instance type {endpoint.instance_type}" if endpoint.instance_type else "no accelerator"
        yield error(
            "gpu-metric-without-gpu",
            f'Endpoint "{endpoint.name}" scales on gpu_utilization but has no GPU ({runs_on})',
            "SageMaker publishes GPUUtilization only for instances with GPUs, and target tracking does not scale "
            "on a metric without data: the endpoint would stay at replicas.min. Scale on cpu_utilization or "
            "invocations_per_replica (e.g. autoscaling: {metric: invocations_per_replica, target: 50}), or give "
            "it a GPU (accelerator: {type: T4, count: 1}).",
            ("endpoints", i, "autoscaling"), f"endpoints.{endpoint.name}")


def check_scale_to_zero(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In a Kubernetes environment, warn for each endpoint Knative may scale to zero (module contract)."""
    if environment.target.kind != "kubernetes":
        return
    for i, endpoint in enumerate(ctx.system.endpoints):
        scaling = endpoint.autoscaling
        if endpoint.replicas.min != 0 or scaling is None or scaling.metric == "cpu_utilization":
            continue
        gpu = (" On a GPU endpoint that start is a GPU node, the serving image and the model's weights: often "
               "longer than the timeout, so the first requests fail." if has_gpu(endpoint) else "")
        yield warning(
            "scale-to-zero",
            f'Endpoint "{endpoint.name}" scales to zero in {env}: replicas.min is 0',
            f"Knative removes the last replica after about {SCALE_TO_ZERO_IDLE_SECONDS} s without requests, and the "
            f"next request waits for a new one to start and load the model, at most {REVISION_TIMEOUT_SECONDS} s "
            f"(Knative's revision timeout).{gpu} On AWS the same spec keeps one instance running. To keep one warm "
            "here too, set replicas.min: 1 (an override of this environment if only it should).",
            ("endpoints", i, "replicas"), f"endpoints.{endpoint.name}")
