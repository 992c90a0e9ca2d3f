"""The Kubernetes target: an effective system -> pulumi-kubernetes resources (pure, deterministic).

Contract: :func:`compile_kubernetes` fills ``ctx.builder`` with
- the explicit provider ``pulumi:providers:kubernetes`` ``k8s`` (top-level; provider.py),
- the ``mlops:core:Platform`` component ``platform`` with the Namespace and shared objects
  (platform.py),
- one component per item (``ctx.component``) holding that item's Kubernetes objects, through the
  registry :data:`SECTION_COMPILERS` in the order of :data:`SECTIONS`, then a Grafana dashboard
  ConfigMap per endpoint and training job (dashboards.py, which reads every section),
and records ``graph.metadata`` (``cloud``, ``context``, ``namespace``) and, per endpoint with a
staged rollout, ``graph.rollouts``. Every object's inputs are the Kubernetes object itself
(apiVersion, kind, metadata with an explicit name, ...); built-in kinds are registered with typed
pulumi-kubernetes classes and CRD kinds (KServe, Kubeflow, Kueue, prometheus-operator) with
``apiextensions.CustomResource`` by the program. No Secret is ever created; secrets are referenced
by name. See docs/compile-kubernetes.md for the design and what the cluster must provide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.kubernetes.alerting import compile_alert, compile_channel
from mlops_infra.compile.kubernetes.dashboards import compile_dashboards
from mlops_infra.compile.kubernetes.monitoring import compile_monitor
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.compile.kubernetes.platform import compile_platform, finish_platform
from mlops_infra.compile.kubernetes.provider import compile_provider
from mlops_infra.compile.kubernetes.queues import compile_cluster
from mlops_infra.compile.kubernetes.registry import compile_model
from mlops_infra.compile.kubernetes.serving import compile_endpoint
from mlops_infra.compile.kubernetes.storage import compile_data_source
from mlops_infra.compile.kubernetes.training import compile_training_job
from mlops_infra.spec.system import SECTIONS

__all__ = ["SECTION_COMPILERS", "compile_kubernetes"]

SECTION_COMPILERS: dict[str, Callable[[KubeTarget, Any], None]] = {
    "data_sources": compile_data_source,
    "clusters": compile_cluster,
    "training_jobs": compile_training_job,
    "models": compile_model,
    "endpoints": compile_endpoint,
    "monitors": compile_monitor,
    "alerts": compile_alert,
    "channels": compile_channel,
}
"""Section -> the compiler of one of its items."""


def compile_kubernetes(ctx: CompileContext) -> None:
    """Compile ``ctx``'s effective system for its Kubernetes target into ``ctx.builder``."""
    kube = KubeTarget(ctx)
    kube.provider = compile_provider(ctx)
    compile_platform(kube)
    for section in SECTIONS:
        for item in getattr(ctx.system, section):
            SECTION_COMPILERS[section](kube, item)
    compile_dashboards(kube)
    finish_platform(kube)
    ctx.builder.metadata.update({"cloud": "kubernetes", "context": ctx.target.context, "namespace": kube.namespace})
