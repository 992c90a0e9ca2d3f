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

Both names live in :mod:`~mlops_infra.compile.kubernetes.compiler`, imported on first use: an AWS
compile uses one module of this package (``scripts``) and does not import the Kubernetes compiler.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SECTION_COMPILERS", "compile_kubernetes"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlops_infra.compile.kubernetes import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
