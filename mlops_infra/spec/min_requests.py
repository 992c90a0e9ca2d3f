"""Where ``rollout.min_requests_per_step`` acts, and a warning where it does not (audit closing-40a-2).

The rollout controller holds a baked step while the new version has served fewer requests than the
minimum (``rollout/reconcile.py`` rule 10). The count is a gate reading's (``GateReading.requests``): on
AWS the CloudWatch reader adds the canary variant's ``Invocations`` to the readings of the rollback
alarms (``rollout/gates/cloudwatch.py``), so there is a count only when the rollout has ``rollback_on``
alerts (without them the controller reads no gate: ``rollout/connect.py``, ``rollout/scheduled.py``
``NoGates``); the Prometheus gates of Kubernetes count no requests yet (docs/rollout.md, "Not done yet");
and on AWS a ``blue_green`` rollout is SageMaker's own (``compile/aws/serving.py``: no controller, the field is
not compiled).

:func:`check_min_requests` warns (``min-requests-not-enforced``), per environment, at each endpoint whose
rollout sets ``min_requests_per_step`` above 0 where it is not enforced, naming why and what would make
it act. A warning, not an error: the rollout still runs and its alerts still roll it back; only the
floor is not applied, which the document should not claim.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment


def _why(kind: str, strategy: str, rollback_on: list[str]) -> str | None:
    if kind == "kubernetes":
        return ("on Kubernetes the Prometheus gates count no requests yet, so a step is never held for want of "
                "them (docs/rollout.md, 'Not done yet'); set it in the AWS environments' overrides only")
    if strategy != "canary":
        return (f"on AWS a {strategy} rollout is SageMaker's own (no mlops-infra controller counts requests); "
                "use strategy: canary for a floor per step")
    if not rollback_on:
        return ("the count is read with the rollback alerts' metrics, and this canary has no rollback_on: add the "
                "alerts that should roll it back")
    return None


def check_min_requests(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Warn where ``min_requests_per_step`` is set and not enforced (module contract)."""
    for i, endpoint in enumerate(ctx.system.endpoints):
        rollout = endpoint.rollout
        if not rollout.min_requests_per_step:
            continue
        why = _why(environment.target.kind, rollout.strategy, list(rollout.rollback_on))
        if why is None:
            continue
        yield warning(
            "min-requests-not-enforced",
            f'Endpoint "{endpoint.name}": rollout.min_requests_per_step ({rollout.min_requests_per_step}) is not '
            f"enforced in {env}",
            f"A step whose new version served fewer requests is not held: {why}.",
            ("endpoints", i, "rollout", "min_requests_per_step"), f"endpoints.{endpoint.name}")
