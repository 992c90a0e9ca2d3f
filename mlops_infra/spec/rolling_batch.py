"""AWS: a ``rolling`` rollout's batch is SageMaker's, 5 to 50 % of the endpoint's capacity.

On AWS a ``rolling`` endpoint is updated by SageMaker itself, not by the mlops-infra rollout controller
(which drives only ``canary`` there: ``compile/aws/serving.py`` ``_sagemaker_rollback_alarms``): the
endpoint's ``deploymentConfig.rollingUpdatePolicy.maximumBatchSize`` is ``CAPACITY_PERCENT`` of the
rollout's first step (:func:`rolling_batch`, which the compiler calls). SageMaker takes that percent
only within :data:`ROLLING_BATCH_PERCENT`: botocore ``RollingUpdatePolicy.MaximumBatchSize`` (shape
``CapacitySize``) "Value must be between 5% to 50% of the variant's total instance count" (SageMaker
API reference, ``RollingUpdatePolicy``). The spec accepts steps of 1-100 % (canary steps are traffic
percents; ``spec/serving.py``), so a step outside that range is compiled as its nearest bound.

:func:`check_rolling_batch` warns, in an AWS environment, at the first step of each ``rolling`` endpoint
whose step is not the batch it compiles to, naming both and the fix. A warning, not an error: the
endpoint still rolls out in batches, of another size. Its summary and detail do not name the
environment, so one step warns once however many AWS environments share it (``diagnostics._dedupe``);
an environment's override of the rollout warns at the override.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.serving import Rollout

CODE = "rolling-batch-out-of-range"

ROLLING_BATCH_PERCENT = (5, 50)
"""The ``CAPACITY_PERCENT`` range of SageMaker's rolling batch (module docstring)."""

DEFAULT_ROLLING_BATCH = 25
"""The batch percent of a ``rolling`` rollout without steps."""


def rolling_batch(rollout: Rollout) -> int:
    """The percent of capacity SageMaker updates per batch: the first step (else
    :data:`DEFAULT_ROLLING_BATCH`) within :data:`ROLLING_BATCH_PERCENT`."""
    low, high = ROLLING_BATCH_PERCENT
    return max(low, min(rollout.steps[0] if rollout.steps else DEFAULT_ROLLING_BATCH, high))


def _fix(step: int, batch: int) -> str:
    if step < batch:
        return (f"Set steps: [{batch}] to say what runs, or use strategy: canary for a smaller step: its steps are "
                f"shares of traffic the rollout controller moves (for example steps: [{step}, 25, 100])")
    return (f"Set steps: [{batch}] to say what runs, or use strategy: blue_green to bring up the whole new fleet "
            "at once")


def check_rolling_batch(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, each ``rolling`` endpoint's first step is a batch SageMaker takes (module
    docstring)."""
    if environment.target.kind != "aws":
        return
    low, high = ROLLING_BATCH_PERCENT
    for i, endpoint in enumerate(ctx.system.endpoints):
        rollout = endpoint.rollout
        if rollout.strategy != "rolling" or not rollout.steps:
            continue
        step, batch = rollout.steps[0], rolling_batch(rollout)
        if step == batch:
            continue
        yield warning(
            CODE,
            f'Endpoint "{endpoint.name}": rolling step {step}% runs as batches of {batch}% on AWS',
            f"SageMaker's rolling update takes a batch of {low} to {high}% of the endpoint's capacity (botocore "
            f"RollingUpdatePolicy.MaximumBatchSize), so on AWS the first step, {step}%, is updated in batches of "
            f"{batch}%. {_fix(step, batch)}.",
            ("endpoints", i, "rollout", "steps", 0),
            f"endpoints.{endpoint.name}")
