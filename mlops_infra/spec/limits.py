"""Numeric limits of the targets, in one place: every number the spec accepts fits every target.

A document is promoted across clouds (a Kubernetes dev environment, an AWS prod), so a number is
bounded by the strictest target that receives it. Each constant cites the rule it follows; the
botocore shapes are in ``botocore/data/<service>/<version>/service-2.json`` (a botocore
``integer`` is a 32-bit Java Integer), the Kubernetes ones in the CRDs under
``shared/fixtures/crds``. ``tests/spec/test_limits.py`` reads these sources and checks each figure.
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1
"""Largest 32-bit signed integer, the bound of every count and version the spec accepts:

- Application Auto Scaling ``RegisterScalableTarget``: ``MinCapacity``/``MaxCapacity`` are the
  ``ResourceCapacity`` shape, ``{"type": "integer"}``;
- SageMaker: ``ModelPackageVersion`` (the pinned model version), ``InitialTaskCount`` (an
  endpoint variant's instance count) and ``TrainingInstanceCount`` are ``integer`` shapes;
- KServe ``InferenceService`` (serving.kserve.io_inferenceservices.yaml): ``predictor.minReplicas``,
  ``maxReplicas`` and ``scaleTarget`` are ``format: int32``; Kubeflow ``PyTorchJob``
  ``replicaSpecs.*.replicas`` is ``format: int32``;
- MLflow model versions are an SQL ``INTEGER`` column (``model_versions.version``).
"""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""Whole-number hyperparameters: what JSON readers of every language hold exactly in an integer
(Go ``int64``, Java ``long``; RFC 8259 section 6 leaves larger numbers to the implementation)."""

MAX_DURATION_SECONDS = INT32_MAX
"""Longest duration (about 68 years): SageMaker ``MaxRuntimeInSeconds`` and S3 lifecycle ``Days``
are ``integer`` shapes; Prometheus ``for`` holds at most int64 nanoseconds (about 292 years)."""

MAX_DURATION_DIGITS = 12
"""A duration's number has at most this many digits (anything longer is past the limit anyway, and
Python refuses to convert integers of more than 4,300 digits)."""

SAGEMAKER_MAX_RUNTIME_SECONDS = 28 * 86400
"""SageMaker ``StoppingCondition.MaxRuntimeInSeconds``: "The maximum value is 28 days"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html); a training
job's ``max_runtime`` in an AWS environment (:func:`mlops_infra.spec.aws_values.check_aws_values`)."""

HYPERPARAMETERS_MAX = 100
"""SageMaker ``HyperParameters`` map: ``"max": 100`` entries."""
HYPERPARAMETER_KEY_MAX = 256
"""SageMaker ``HyperParameterKey``: ``"max": 256`` characters."""
HYPERPARAMETER_VALUE_MAX = 2500
"""SageMaker ``HyperParameterValue``: ``"max": 2500`` characters (values are sent as text)."""

MAX_UTILIZATION_PERCENT = 100
"""``cpu_utilization``/``gpu_utilization`` autoscaling targets are a percent of one core or GPU."""

AWS_ALARM_ACTIONS_MAX = 5
"""Actions of one CloudWatch alarm state: botocore ``cloudwatch`` ``PutMetricAlarm`` ``AlarmActions``,
``OKActions`` and ``InsufficientDataActions`` are the ``ResourceList`` shape, ``"max": 5``; CloudWatch
service quotas: "Alarm actions: 5/alarm. This quota cannot be changed."
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html). An alert's
alarm gets one action per channel it notifies (``compile/aws/alerting.py``), so in an AWS environment an
alert notifies at most this many channels (:func:`mlops_infra.spec.aws_lists.check_aws_lists`);
Alertmanager on Kubernetes has no such limit, so the check is AWS-only."""

SAGEMAKER_ROLLBACK_ALARMS_MAX = 10
"""Alarms SageMaker watches to roll a deployment back by itself: botocore ``sagemaker``
``AutoRollbackConfig.Alarms`` is the ``AlarmList`` shape, ``"min": 1, "max": 10``. The alerts of
``rollout.rollback_on`` become those alarms for the strategies SageMaker rolls back itself
(:data:`mlops_infra.spec.serving.SAGEMAKER_ROLLED_BACK`); the canary's controller reads any number
(:func:`mlops_infra.spec.aws_lists.check_aws_lists`, AWS environments only)."""

SAGEMAKER_INPUT_CHANNELS_MAX = 20
"""Input channels of a SageMaker training job: botocore ``sagemaker`` ``CreateTrainingJob``
``InputDataConfig`` is the ``InputDataConfig`` shape, ``"min": 1, "max": 20``. A training job gets
one channel per input (``compile/aws/training.py`` ``_channels``), so in an AWS environment a job
reads at most this many data sources (:func:`mlops_infra.spec.aws_lists.check_aws_lists`); a
Kubernetes training job has no such list, so the check is AWS-only."""

SAGEMAKER_TRAINING_ENVIRONMENT_MAX = 100
"""Environment variables of a SageMaker training job: botocore ``sagemaker`` ``CreateTrainingJob``
``Environment`` is the ``TrainingEnvironmentMap`` shape, ``"max": 100``. The Train step's
``Environment`` holds :data:`SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED` variables of mlops-infra's own and
one ``MLOPS_OUTPUT_<SOURCE>`` per output data source (``compile/aws/training.py``
``training_environment``; audit datasources-2), so in an AWS environment a job writes at most
:data:`SAGEMAKER_TRAINING_OUTPUTS_MAX` data sources (:func:`mlops_infra.spec.aws_lists.check_aws_lists`);
a Kubernetes container's env has no such maximum, so the check is AWS-only."""
SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED = 8
"""The most variables the Train step's ``Environment`` holds besides the outputs: ``MLOPS_TRAINING_JOB``,
``MLOPS_TRIGGERED_BY``, ``MLOPS_PRECISION``, ``MLOPS_SHARDING`` and, for ``nodes > 1``, the four
``PET_*`` of torchrun's rendezvous (``compile/container_env.py``); tests/compile/aws ties it to the
compiled step."""
SAGEMAKER_TRAINING_OUTPUTS_MAX = SAGEMAKER_TRAINING_ENVIRONMENT_MAX - SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED
"""Output data sources of a training job in an AWS environment (:data:`SAGEMAKER_TRAINING_ENVIRONMENT_MAX`)."""
