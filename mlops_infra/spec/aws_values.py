"""Values of the spec past what the AWS API they are sent to takes: checked in AWS environments.

A duration can be valid (a whole number of seconds, at most :data:`~mlops_infra.spec.limits.MAX_DURATION_SECONDS`)
and still be longer than the AWS field it becomes allows, where botocore's shape does not say so
(its ``StoppingCondition.MaxRuntimeInSeconds`` has ``min: 1`` and no maximum): the pipeline is
created, and every run it starts then fails. :func:`check_aws_values` refuses such a value where the
user wrote it (on an override when an override set it), in AWS environments only:

- a training job runs at most :data:`~mlops_infra.spec.limits.SAGEMAKER_MAX_RUNTIME_SECONDS` (28
  days): its ``max_runtime`` is the SageMaker training step's ``StoppingCondition.MaxRuntimeInSeconds``
  (``compile/aws/training.py``), whose documentation says "The maximum value is 28 days"
  (botocore ``StoppingCondition``; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html).
  On Kubernetes it is the PyTorchJob's ``runPolicy.activeDeadlineSeconds`` (int64), which takes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.limits import SAGEMAKER_MAX_RUNTIME_SECONDS

DAY = 86400


def check_aws_values(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, the values of the module docstring fit their AWS API."""
    if environment.target.kind != "aws":
        return
    for i, job in enumerate(ctx.system.training_jobs):
        if job.max_runtime is not None and job.max_runtime.seconds > SAGEMAKER_MAX_RUNTIME_SECONDS:
            yield error(
                "training-runtime-too-long",
                f'Training job "{job.name}" may run {job.max_runtime.text}; a SageMaker training job runs at most '
                f"{SAGEMAKER_MAX_RUNTIME_SECONDS // DAY} days",
                f"In environment {env} (AWS) max_runtime is the training step's StoppingCondition."
                f"MaxRuntimeInSeconds, at most {SAGEMAKER_MAX_RUNTIME_SECONDS:,} seconds (28 days): every run "
                f"the pipeline starts would fail. Set max_runtime to at most {SAGEMAKER_MAX_RUNTIME_SECONDS // DAY}d.",
                ("training_jobs", i, "max_runtime"), f"training_jobs.{job.name}")
