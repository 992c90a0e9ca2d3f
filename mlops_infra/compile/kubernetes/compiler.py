"""The Kubernetes compiler itself: :func:`compile_kubernetes` and :data:`SECTION_COMPILERS` (see
the package's contract, :mod:`mlops_infra.compile.kubernetes`, which imports this module on first use)."""

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
from mlops_infra.compile.kubernetes.rollout_runner import compile_rollout_runner
from mlops_infra.compile.kubernetes.serving import compile_endpoint
from mlops_infra.compile.kubernetes.storage import compile_data_source
from mlops_infra.compile.kubernetes.training import compile_training_job
from mlops_infra.spec.system import SECTIONS

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
    compile_rollout_runner(kube)
    compile_dashboards(kube)
    finish_platform(kube)
    ctx.builder.metadata.update({"cloud": "kubernetes", "context": ctx.target.context, "namespace": kube.namespace})
