"""The explicit Kubernetes provider: one per stack, top-level, named ``k8s``.

Contract: inputs are the pulumi-kubernetes provider's engine property names: ``context`` (the
kubeconfig context of the environment's target) and ``namespace`` (the default namespace for
objects without one; every object here sets its namespace explicitly anyway). Nothing secret: the
kubeconfig itself comes from the machine running ``apply``.
"""

from __future__ import annotations

from mlops_infra.compile.context import CompileContext

PROVIDER_TYPE = "pulumi:providers:kubernetes"
PROVIDER_NAME = "k8s"


def compile_provider(ctx: CompileContext) -> str:
    """Add the provider; return its URN."""
    target = ctx.target
    return ctx.builder.add(PROVIDER_TYPE, PROVIDER_NAME, {"context": target.context, "namespace": target.namespace},
                           address="platform", role="provider")
