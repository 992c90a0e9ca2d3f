"""Kubernetes: a ``rolling`` or ``all_at_once`` rollout is Knative's switch, so its ``rollback_on`` and
``steps`` do nothing there (audit notify-2).

On Kubernetes the mlops-infra rollout controller drives only :data:`~mlops_infra.spec.serving.CONTROLLER_STRATEGIES`
(``compile/kubernetes/serving.py`` records ``graph.rollouts`` for canary and blue_green only; nothing
else reads an alert to roll back, and no ``rolled_back_<endpoint>`` notice is compiled). Any other
strategy compiles an InferenceService without ``canaryTrafficPercent``, and KServe then gives the
Knative Service the single traffic target ``{latestRevision: true, percent: 100}`` (kserve/kserve
``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``, the ``else`` branch
after ``if componentExtension.CanaryTrafficPercent != nil``). Knative routes such a target to the
latest *ready* revision (knative/serving ``pkg/apis/serving/v1/route_types.go`` ``TrafficTarget.LatestRevision``):
the new version takes all traffic once ready, in one move, and stays there whatever alert fires.

On AWS the same spec rolls back: SageMaker's ``deploymentConfig`` carries the ``rollback_on`` alarms
and the ``rolling`` steps as batches (``compile/aws/serving.py``, :data:`~mlops_infra.spec.serving.SAGEMAKER_ROLLED_BACK`).
So :func:`check_rollout_switch` warns, in a Kubernetes environment, at each endpoint whose strategy the
controller does not drive and that names ``rollback_on`` alerts or ``steps``: what it asked for is
ignored there. A warning, not an error: the endpoint serves, and the alerts still notify their channels.
The fix is canary (the steps it already has) or blue_green, which the controller drives.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.serving import CONTROLLER_STRATEGIES, Rollout

CODE = "rollout-ignored-on-kubernetes"


def _ignored(rollout: Rollout) -> list[str]:
    """The fields of ``rollout`` that Knative's switch ignores (``rollback_on`` first, as they are worse)."""
    return [name for name, value in (("rollback_on", rollout.rollback_on), ("steps", rollout.steps)) if value]


def _a(strategy: str) -> str:
    """``a rolling``, ``an all_at_once``."""
    return f"{'an' if strategy[0] in 'aeiou' else 'a'} {strategy}"


def _lost(endpoint: str, rollout: Rollout) -> str:
    """What the user asked for and Kubernetes does not do, and what AWS does with it."""
    lost, aws = [], []
    if rollout.rollback_on:
        lost.append(f"no alert ({', '.join(rollout.rollback_on)}) rolls it back and no rolled_back_{endpoint} "
                    "notice is sent")
        aws.append("rolls it back on those alerts")
    if rollout.steps:
        lost.append(f"no step of {list(rollout.steps)} holds part of the traffic")
        aws.append("deploys it in batches")
    return f"{'; '.join(lost)} (on AWS, SageMaker {' and '.join(aws)})"


def _fix(rollout: Rollout) -> str:
    canary = f"strategy: canary with steps {list(rollout.steps)}" if rollout.steps else "strategy: canary with steps"
    return f"Use {canary}, or blue_green, which the rollout controller drives on Kubernetes"


def check_rollout_switch(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In a Kubernetes environment, a rollout the controller does not drive names no ``rollback_on`` or
    ``steps`` (module docstring)."""
    if environment.target.kind != "kubernetes":
        return
    for i, endpoint in enumerate(ctx.system.endpoints):
        rollout = endpoint.rollout
        ignored = _ignored(rollout)
        if rollout.strategy in CONTROLLER_STRATEGIES or not ignored:
            continue
        verb = "are" if len(ignored) > 1 else "is"
        yield warning(
            CODE,
            f'Endpoint "{endpoint.name}": {" and ".join(ignored)} of {_a(rollout.strategy)} rollout {verb} ignored '
            "on Kubernetes",
            f"In environment {env} (Kubernetes) {_a(rollout.strategy)} rollout is Knative's own switch: KServe sends "
            f"all traffic to the new revision once it is ready (no canaryTrafficPercent): {_lost(endpoint.name, rollout)}. "
            f"{_fix(rollout)}, or override rollout in environment {env}.",
            ("endpoints", i, "rollout", ignored[0]),
            f"endpoints.{endpoint.name}")
