"""Where ``rollout.min_requests_per_step`` acts, and a warning where it does not (audit closing-40a-2).

The rollout controller holds a baked step while the new version has served fewer requests than the
minimum (``rollout/reconcile.py`` rule 10). The count is a gate reading's (``GateReading.requests``), so
there is one only when the controller reads gates, i.e. when the rollout has ``rollback_on`` alerts
(without them it reads none: ``rollout/connect.py``, ``rollout/scheduled.py`` ``NoGates``):
- AWS: the CloudWatch reader adds the canary variant's ``Invocations`` to the readings of the rollback
  alarms (``rollout/gates/cloudwatch.py``, "Requests"); a ``blue_green`` rollout is SageMaker's own
  (``compile/aws/serving.py``: no controller, the field is not compiled).
- Kubernetes (``canary`` and ``blue_green``, both the controller's): the Prometheus reader adds the canary
  Knative revision's ``revision_app_request_count`` over the step (``rollout/gates/prometheus.py``,
  "Requests"). That needs KServe's Serverless (Knative) mode, the only one the compiler writes (no
  ``serving.kserve.io/deploymentMode`` annotation, KServe's default mode checked by the preflight:
  ``compile/kubernetes/serving.py``, ``compile/kubernetes/prerequisites.py``); in RawDeployment
  (Standard) mode there is no Knative revision and no queue-proxy, nothing is counted, and KServe splits
  no traffic either, which the preflight reports.

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
    if kind != "kubernetes" and strategy != "canary":
        return (f"on AWS a {strategy} rollout is SageMaker's own (no mlops-infra controller counts requests); "
                "use strategy: canary for a floor per step")
    if not rollback_on:
        return ("the controller counts requests with the rollback alerts' readings, and this rollout has no "
                "rollback_on: add the alerts that should roll it back")
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
