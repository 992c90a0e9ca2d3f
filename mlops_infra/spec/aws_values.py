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
- a drift monitor's baseline URI, ``s3://<baseline bucket>/<baseline_prefix>``, is at most
  :data:`PROCESSING_ENVIRONMENT_VALUE_MAX` (256) characters: it is the ``BASELINE_URI`` variable of
  the drift job's Processing step (``compile/aws/monitoring.py``), whose ``Environment`` values are
  at most 256 characters (botocore ``sagemaker`` ``ProcessingEnvironmentValue`` ``max`` 256; SageMaker
  checks it when the pipeline is created: "Model Validation failed: string ... cannot be greater
  than max=256", aws/sagemaker-python-sdk#314), while ``baseline_prefix`` may be 512 characters
  (audit limits-1). The bucket's name is the compiled one (:func:`baseline_bucket_length`). On
  Kubernetes the CronJob's variable takes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.limits import SAGEMAKER_MAX_RUNTIME_SECONDS
from mlops_infra.spec.monitoring import DRIFT_METRICS

DAY = 86400
PROCESSING_ENVIRONMENT_VALUE_MAX = 256
"""The longest value of a SageMaker Processing job's ``Environment`` (botocore ``sagemaker``
``ProcessingEnvironmentValue`` ``max``; tests/spec/test_baseline_uri_length.py reads it)."""
BUCKET_NAME_MAX = 63
"""An S3 bucket name's most characters; the compiled ``<system>-<env>-<source>-<account>``
(``compile/aws/storage.bucket_name``) keeps the 12-digit account and a ``-`` and cuts the rest to 50."""
HASH_SUFFIX = 8
"""What ``naming.physical_name`` appends to a cut name: ``-`` and a 7-character hash."""


def baseline_bucket_length(system: str, env: str, source: str, account: str) -> int:
    """The length of the bucket name ``compile/aws/storage.bucket_name`` gives data source ``source``:
    ``<system>-<env>-<source>`` (lowercase DNS labels, so joined as they are) cut to
    ``63 - len(account) - 1`` characters the way ``naming.physical_name`` cuts (its first characters
    less ``HASH_SUFFIX``, trailing ``-`` stripped, then ``-`` and a 7-character hash), then ``-`` and the
    account (tests/spec/test_baseline_uri_length.py compares it with the compiled names)."""
    room = BUCKET_NAME_MAX - len(account) - 1
    name = f"{system}-{env}-{source}"
    cut = len(name) if len(name) <= room else len(name[:room - HASH_SUFFIX].rstrip("-")) + HASH_SUFFIX
    return cut + 1 + len(account)


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
    yield from _baseline_uris(ctx, env, environment)


def _baseline_uris(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """``baseline-uri-too-long``: a drift job's ``BASELINE_URI`` over :data:`PROCESSING_ENVIRONMENT_VALUE_MAX`."""
    system = ctx.system
    for i, monitor in enumerate(system.monitors):
        if (monitor.metric not in DRIFT_METRICS or not monitor.baseline_prefix or monitor.metric == "prediction_drift"
                or system.item("data_sources", monitor.baseline) is None):
            continue  # prediction_drift reads no baseline (compile/drift_job.reads_baseline)
        bucket = baseline_bucket_length(system.metadata.name, env, monitor.baseline, environment.target.account)
        length = len("s3://") + bucket + 1 + len(monitor.baseline_prefix)
        if length > PROCESSING_ENVIRONMENT_VALUE_MAX:
            fit = PROCESSING_ENVIRONMENT_VALUE_MAX - (length - len(monitor.baseline_prefix))
            yield error(
                "baseline-uri-too-long",
                f'Monitor "{monitor.name}"\'s baseline URI is {length} characters; a SageMaker Processing job\'s '
                f"environment values are at most {PROCESSING_ENVIRONMENT_VALUE_MAX}",
                f"In environment {env} (AWS) the drift job is given s3://<bucket of {monitor.baseline}>/"
                f"<baseline_prefix> as its BASELINE_URI variable, and SageMaker refuses a Processing step "
                f"environment value over {PROCESSING_ENVIRONMENT_VALUE_MAX} characters when it creates the "
                f"pipeline: the apply would fail there. With this bucket name baseline_prefix fits in {fit} "
                f"characters; it has {len(monitor.baseline_prefix)}. Shorten it (a shorter folder layout, or "
                "baseline_window to narrow by age instead).",
                ("monitors", i, "baseline_prefix"), f"monitors.{monitor.name}")
