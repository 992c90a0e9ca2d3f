"""Replica ranges that only autoscaling can use.

Contract: an endpoint runs at ``replicas.min`` fixed unless it has ``autoscaling`` (docs/semantics.md:
"an endpoint without autoscaling runs at replicas.min fixed on both targets": SageMaker's
``InitialInstanceCount`` is min and nothing changes it without an Application Auto Scaling target;
on Kubernetes nothing scales the predictor either). So ``replicas: {min: 2, max: 6}`` without
``autoscaling`` is a warning (``replicas-without-autoscaling``) at the ``replicas`` field: max is
never reached. The plan's cost, ML summary and resources all count ``min`` for such an endpoint.
Checked on the base and on each environment's effective system (an override of ``replicas`` is
reported at its override line).
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext


def check_replicas_without_autoscaling(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Warn for each endpoint whose replica range is wider than one count and that has no autoscaling."""
    for i, endpoint in enumerate(ctx.system.endpoints):
        low, high = endpoint.replicas.min, endpoint.replicas.max
        if endpoint.autoscaling is not None or low == high:
            continue
        runs = max(1, low)  # both targets run at least one without autoscaling (compile/*/serving.py)
        yield warning(
            "replicas-without-autoscaling",
            f'Endpoint "{endpoint.name}" has replicas {low}-{high} but no autoscaling: it runs at {runs} '
            f"replica{'' if runs == 1 else 's'}",
            f"Without autoscaling nothing moves the replica count, so replicas.max ({high}) is never used and the "
            f"plan counts {runs} (cost, GPUs and resources; at least one runs on both targets). To scale between "
            f"{low} and {high}, add autoscaling: {{metric: invocations_per_replica, target: 50}} (pick the target "
            f"per replica); for a fixed count, write replicas: {{min: {runs}, max: {runs}}}.",
            ("endpoints", i, "replicas"), f"endpoints.{endpoint.name}")
