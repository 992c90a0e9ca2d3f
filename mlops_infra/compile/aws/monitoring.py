"""Monitors: what is measured on an endpoint, and the scheduled drift jobs that measure it.

Contract:
- :func:`alarm_metric` says how a monitor's signal is read by a CloudWatch alarm
  (:data:`ALARM_METRICS` on the metric kind). The alarm itself belongs to each alert on the
  monitor (:mod:`alerting`):
  - ``latency_p99``: ``AWS/SageMaker`` ``ModelLatency`` at ``p99`` per minute. SageMaker reports
    it in microseconds, so ``250ms`` becomes ``250000`` (a plain number means milliseconds);
  - ``error_rate``: metric math ``errors / invocations`` (``Invocation5XXErrors`` and
    ``Invocations``, ``Sum`` per minute), against the threshold as a fraction (``1%`` -> ``0.01``).
    A minute without traffic has **no datapoint**: in metric math "Missing values in a time series
    are treated as 0. If the value of a data point causes a function to attempt to divide by zero,
    the data point is dropped" (CloudWatch User Guide, "Use metric math", basic arithmetic,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html), so a
    minute with invocations but no 5xx datapoint reads 0 and one with no (or 0) invocations is
    dropped. It used to be ``IF(invocations > 0, errors / invocations, 0)``: a minute without
    traffic was a real, non-breaching 0 that broke the alarm's streak, so an endpoint (or a canary
    variant) serving one request per 75 s and failing every one never reached ALARM;
- Sparse traffic, the same meaning as on Kubernetes (``compile/kubernetes/monitoring.py``, "Sparse
  traffic"): a minute without requests is no evidence. Latency (``ModelLatency`` has no datapoint
  in a minute without invocations) and error rate (above) leave such a minute missing, and
  CloudWatch skips missing datapoints while its evaluation range holds enough real ones: "If some
  data points in the evaluation range are missing, but the number of existing data points
  retrieved is equal to or more than the alarm's Evaluation Periods, CloudWatch evaluates the alarm
  state based on the most recent existing data points" (User Guide, "How alarm state is evaluated
  when data is missing", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html;
  the evaluation range is longer than the evaluation periods, 5 datapoints for 3 in its example).
  The bound is that range: when it holds fewer real datapoints than the evaluation periods,
  CloudWatch fills the rest as ``treatMissingData`` says, here ``notBreaching``, so a long silence
  (or one bad minute and then silence) ends in OK, as the Kubernetes alert's hold expires. The
  alarms keep ``notBreaching`` rather than ``missing``: the same table sends a ``missing`` alarm to
  ALARM on one breaching datapoint followed by silence (``X - - - -`` for 3 of 3) and to
  ``INSUFFICIENT_DATA`` (no OK action, the incident left open) when all are missing. Dense traffic
  has a datapoint every minute and evaluates exactly as before. A ``p99`` over fewer than 1,000
  samples is evaluated all the same (``EvaluateLowSampleCountPercentile`` omitted: "If you specify
  evaluate or omit this parameter, the alarm is always evaluated", botocore ``PutMetricAlarmInput``);
  - drift kinds (``feature_drift``, ``prediction_drift``, ``data_quality``, ``accuracy``): the
    custom metric the drift job publishes in ``MLOps/Monitoring`` with dimensions ``Endpoint``
    (physical name) and ``Monitor``, one datapoint per run, period = the schedule.
  The periods (and CloudWatch's evaluation ranges) are the spec's rule,
  :func:`mlops_infra.spec.alarm_periods.alarm_period`, by which ``validate`` bounds each alert's ``for``.
- A drift monitor (``DRIFT_METRICS``) compiles to a scheduled job, not to SageMaker Model Monitor
  (closed to new customers): a role, a SageMaker pipeline with one Processing step running the
  platform's drift-job image (Evidently) and an EventBridge Scheduler schedule every ``schedule``
  (1h when absent). Its instance type and max runtime come from ``compile/drift_job.py``, as do the
  monitor's facts, so the plan prices what runs. The job reads the endpoint's captured traffic and the baseline data source,
  writes its report under ``reports/<endpoint>/<monitor>/`` of the capture bucket and publishes the
  metric named in its environment. A job that stops publishing raises :func:`silence_alarms`
  (``<system>-<env>.monitor-silent.<monitor>``, missing data breaching, a warm-up of the horizon;
  ``compile/monitor_silence.py`` has who is told and after how long).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile import drift_job, facts
from mlops_infra.compile import monitor_silence as silence
from mlops_infra.compile.aws import arns, drift_image, iam, pipelines, policies, serving, storage
from mlops_infra.compile.aws.context import AwsContext, require
from mlops_infra.compile.aws.schedules import rate_expression
from mlops_infra.graph import canonical_json, ref
from mlops_infra.spec.alarm_periods import (
    ENDPOINT_ALARM_PERIOD,
    SHORT_RANGE,
    drift_alarm_period,
    evaluation_range,
)
from mlops_infra.spec.limits import AWS_ALARM_ACTIONS_MAX
from mlops_infra.spec.monitoring import DRIFT_METRICS, LOWER_IS_WORSE, Monitor
from mlops_infra.spec.serving import Endpoint

METRIC_NAMESPACE = "MLOps/Monitoring"
PROCESSING_METRICS_NAMESPACE = "/aws/sagemaker/ProcessingJobs"
DRIFT_JOB_VOLUME_GB = 30
DRIFT_METRIC_NAMES = {"feature_drift": "FeatureDrift", "prediction_drift": "PredictionDrift",
                      "data_quality": "DataQualityIssues", "accuracy": "Accuracy"}


@dataclass(frozen=True)
class AlarmMetric:
    """The metric part of an alarm: ``fields`` are MetricAlarm inputs (metric or metric queries)."""

    fields: dict[str, Any]
    period: int
    threshold: float
    comparison: str
    treat_missing_data: str


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def latency_microseconds(monitor: Monitor) -> float | int:
    """The latency threshold in microseconds (ModelLatency's unit); plain numbers are ms."""
    seconds = monitor.threshold.seconds if monitor.threshold.is_time else monitor.threshold.value / 1000.0
    return _number(round(seconds * 1_000_000, 3))


def alarm_threshold(monitor: Monitor) -> float | int:
    """The threshold of the monitor's alarms (:attr:`AlarmMetric.threshold`), in its metric's unit:
    latency in microseconds, the others as a fraction."""
    return latency_microseconds(monitor) if monitor.metric == "latency_p99" else _number(monitor.threshold.fraction)


def _endpoint_dimensions(aws: AwsContext, endpoint: Endpoint) -> dict[str, str]:
    served = serving.served(aws, endpoint)  # the variant serving now (finding A1: a held version)
    return {"EndpointName": serving.endpoint_name(aws, endpoint.name), "VariantName": serving.variant_name(served)}


def _latency(aws: AwsContext, monitor: Monitor, endpoint: Endpoint) -> AlarmMetric:
    return AlarmMetric({"namespace": "AWS/SageMaker", "metricName": "ModelLatency",
                        "dimensions": _endpoint_dimensions(aws, endpoint), "extendedStatistic": "p99",
                        "period": ENDPOINT_ALARM_PERIOD},
                       ENDPOINT_ALARM_PERIOD, alarm_threshold(monitor), "GreaterThanThreshold", "notBreaching")


ERROR_RATE_EXPRESSION = "errors / invocations"
"""The error-rate alarm's math: no datapoint in a minute without invocations (module contract)."""


def _error_rate(aws: AwsContext, monitor: Monitor, endpoint: Endpoint) -> AlarmMetric:
    dims = _endpoint_dimensions(aws, endpoint)

    def metric(query_id: str, name: str) -> dict[str, Any]:
        return {"id": query_id, "returnData": False, "metric": {
            "namespace": "AWS/SageMaker", "metricName": name, "dimensions": dims, "period": ENDPOINT_ALARM_PERIOD,
            "stat": "Sum"}}

    queries = [metric("errors", "Invocation5XXErrors"), metric("invocations", "Invocations"),
               {"id": "error_rate", "expression": ERROR_RATE_EXPRESSION,
                "label": "5XX error rate", "returnData": True}]
    return AlarmMetric({"metricQueries": queries}, ENDPOINT_ALARM_PERIOD, alarm_threshold(monitor),
                       "GreaterThanThreshold", "notBreaching")


def drift_metric(aws: AwsContext, monitor: Monitor) -> tuple[str, dict[str, str]]:
    """(metric name, dimensions) the drift job publishes in ``MLOps/Monitoring``."""
    return DRIFT_METRIC_NAMES[monitor.metric], {
        "Endpoint": serving.endpoint_name(aws, monitor.endpoint), "Monitor": monitor.name}


def _drift(aws: AwsContext, monitor: Monitor, endpoint: Endpoint) -> AlarmMetric:
    name, dims = drift_metric(aws, monitor)
    period = drift_alarm_period(monitor)  # the spec's rule: validate bounds alerts' for by it
    lower = monitor.metric in LOWER_IS_WORSE
    return AlarmMetric({"namespace": METRIC_NAMESPACE, "metricName": name, "dimensions": dims,
                        "statistic": "Minimum" if lower else "Maximum", "period": period},
                       period, alarm_threshold(monitor),
                       "LessThanThreshold" if lower else "GreaterThanThreshold", "missing")


ALARM_METRICS: dict[str, Callable[[AwsContext, Monitor, Endpoint], AlarmMetric]] = {
    "latency_p99": _latency, "error_rate": _error_rate, **{kind: _drift for kind in sorted(DRIFT_METRICS)},
}
"""Monitor metric kind -> how an alarm reads it."""


def alarm_metric(aws: AwsContext, monitor: Monitor) -> AlarmMetric:
    endpoint = require(aws.ctx.system.item("endpoints", monitor.endpoint), f"endpoint {monitor.endpoint}")
    return ALARM_METRICS[monitor.metric](aws, monitor, endpoint)


def _drift_environment(aws: AwsContext, monitor: Monitor, capture: str, baseline: str | None) -> dict[str, Any]:
    physical = serving.endpoint_name(aws, monitor.endpoint)
    name, dims = drift_metric(aws, monitor)
    system = aws.ctx.system
    env: dict[str, Any] = {
        "SYSTEM": system.metadata.name, "ENVIRONMENT": aws.ctx.env, "MONITOR": monitor.name, "METRIC": monitor.metric,
        "ENDPOINT": physical, "CAPTURE_FORMAT": "sagemaker", "CAPTURE_URI": arns.s3_uri(capture, serving.CAPTURE_PREFIX + "/"),
        "WINDOW_SECONDS": str(drift_job.schedule_seconds(monitor)),
        "SINK": "cloudwatch", "METRIC_NAMESPACE": METRIC_NAMESPACE, "METRIC_NAME": name,
        "METRIC_DIMENSIONS": canonical_json(dims), "AWS_REGION": aws.region, "DO_NOT_TRACK": "1",
        "REPORT_DIR": "/opt/ml/processing/report", "TRIGGERED_BY": pipelines.TRIGGERED_BY,
        **drift_job.baseline_env(monitor),
    }
    if _contract_source(aws, monitor) is not None:
        env[drift_job.CONTRACT_FILE_ENV] = f"{CONTRACT_LOCAL_PATH}/{drift_job.CONTRACT_FILE_NAME}"
    if baseline and drift_job.reads_baseline(monitor):
        env["BASELINE_URI"] = arns.s3_uri(baseline, monitor.baseline_prefix or "")
    return env


CONTRACT_PREFIX = "drift-jobs/"
"""Where in the platform artifacts bucket the drift jobs' contract files are (``drift-jobs/<monitor>/``)."""
CONTRACT_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
CONTRACT_LOCAL_PATH = "/opt/ml/processing/input/contract"
"""Where the Processing step puts the contract file (``ProcessingS3Input.LocalPath``: "must begin with
/opt/ml/processing/")."""


def _contract_source(aws: AwsContext, monitor: Monitor) -> str | None:
    """The text of the monitor's contract file (``drift_job.contract_file`` of its baseline), or None;
    written once per baseline (:attr:`AwsContext.contract_files`): a drift job asks four times."""
    if not monitor.baseline:
        return None
    files = aws.contract_files
    if monitor.baseline not in files:
        files[monitor.baseline] = drift_job.contract_file(aws.ctx.system.item("data_sources", monitor.baseline))
    return files[monitor.baseline]


def contract_key(monitor: Monitor) -> str:
    """The S3 key of the monitor's contract file in the platform artifacts bucket."""
    return f"{CONTRACT_PREFIX}{monitor.name}/{drift_job.CONTRACT_FILE_NAME}"


def _contract_inputs(aws: AwsContext, monitor: Monitor) -> list[dict[str, Any]]:
    """The step's ``ProcessingInputs``: the contract file, when the monitor has one (:func:`add_contract`).

    ``S3DataType: S3Prefix`` with the object's whole key, ``S3InputMode: File``: SageMaker downloads
    "all objects with the specified key name prefix" (botocore ``sagemaker`` ``ProcessingS3Input``
    ``S3DataType``), the one object, into ``LocalPath`` under its own name before the container
    starts, as the SageMaker Python SDK passes a processing script (``sagemaker-core``
    ``processing.py`` ``ScriptProcessor._include_code_in_inputs``: the script's S3 URI, ``S3Prefix``,
    ``File``, ``LocalPath`` ``/opt/ml/processing/input/code``; ``_set_entrypoint`` runs
    ``<LocalPath>/<script file name>``). No other object has that key as a prefix: the key ends in
    :data:`~mlops_infra.compile.drift_job.CONTRACT_FILE_NAME` under the monitor's own folder."""
    if _contract_source(aws, monitor) is None:
        return []
    artifacts = storage.platform_bucket(aws, "artifacts")
    return [{"InputName": "contract", "S3Input": {
        "S3Uri": arns.s3_uri(artifacts, contract_key(monitor)), "LocalPath": CONTRACT_LOCAL_PATH,
        "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}]


def add_contract(aws: AwsContext, monitor: Monitor, component: str) -> str | None:
    """The monitor's contract file in the platform artifacts bucket (:func:`contract_key`), or None
    without a baseline contract: what the drift job reads instead of ``COLUMNS``/``COLUMN_TYPES``
    variables, which SageMaker bounds at 256 characters (``compile/drift_job.py`` ``contract_file``).

    The artifacts bucket, not the capture bucket the job also reads: capture expires after 90 days
    (``storage.PLATFORM_BUCKETS``), and the artifacts bucket expires nothing current. Encrypted with
    the platform key, named by ARN, as the bucket's policy requires of a PUT that names a key
    (``policies.kms_puts_only``: ``DenyOtherKmsKey``); the provider then sends ``aws:kms`` and the key
    (terraform-provider-aws ``internal/service/s3/object.go`` ``resourceObjectUpload``: ``kms_key_id`` sets
    ``SSEKMSKeyId`` and ``ServerSideEncryption`` ``aws:kms``). A changed contract is a new upload to the
    same key (``bucket`` and ``key`` are ForceNew there; ``content`` is an update).

    Tags: S3 takes at most 10 tags on an object ("You can associate up to 10 tags with an object", S3
    User Guide, "Managing object tags"), while the provider's ``defaultTags`` carry every label of the
    system (up to 46, ``spec/labels.py``). So the object opts out of the default tags
    (``overrideProvider.defaultTags.tags`` empty: ``object.go`` ``ignoreProviderDefaultTags``) and is given
    only the tags S3 keeps under that override: its item's tags less every tag the provider's ``defaultTags``
    hold with the same value (today ``mlops-infra/item`` alone). The provider drops such a tag from the
    upload (``resourceObjectUpload``: ``tags.RemoveDefaultConfig(defaultTagsConfig)``; internal/tags
    key_value_tags.go ``RemoveDefaultConfig`` keeps a tag only when "``!ok || !v.Equal(defaultVal)``";
    hashicorp/terraform-provider-aws#45506, open), while its CustomizeDiff plans ``tags_all`` = ``tags``: given
    those tags too, the object carried one tag and every ``pulumi preview`` planned a ``tagsAll`` update the
    plan never showed (audit typesets44-2)."""
    text = _contract_source(aws, monitor)
    if text is None:
        return None
    artifacts = storage.platform_bucket(aws, "artifacts")
    address = f"monitors.{monitor.name}"
    defaults = aws.ctx.tags()  # the provider's defaultTags (provider.py)
    own = {k: v for k, v in aws.tags(address).items() if defaults.get(k) != v}
    # the bucket by name and dependency: a ref to it would make the object one of the bucket's own
    # configuration resources, which share its protection (storage.py, audit removal-1)
    key = ref(aws.key, "arn")
    return aws.ctx.builder.add(CONTRACT_OBJECT, f"{monitor.name}-drift-contract", {
        "bucket": artifacts, "key": contract_key(monitor), "content": text,
        "contentType": "application/json", "serverSideEncryption": "aws:kms", "kmsKeyId": key,
        "overrideProvider": {"defaultTags": {"tags": {}}}, "tags": own,
    }, parent=component, provider=aws.provider, depends_on=[aws.bucket_urns[artifacts]], address=address,
        role="drift-contract", refs_in=key)  # the rest: names, the contract's text, tags


def drift_step(aws: AwsContext, monitor: Monitor, role: str, capture: str, baseline: str | None) -> dict[str, Any]:
    """The Processing step (``CreateProcessingJob`` arguments) of a drift job; its contract comes in a
    file (:func:`_contract_inputs`), not in the 256-character ``Environment`` values."""
    physical = serving.endpoint_name(aws, monitor.endpoint)
    image = drift_image.image_uri(aws)
    inputs = _contract_inputs(aws, monitor)
    return {"Name": "MeasureDrift", "Type": "Processing", "Arguments": {
        **({"ProcessingInputs": inputs} if inputs else {}),
        "ProcessingResources": {"ClusterConfig": {
            "InstanceCount": 1, "InstanceType": drift_job.INSTANCE_TYPE, "VolumeSizeInGB": DRIFT_JOB_VOLUME_GB,
            "VolumeKmsKeyId": ref(aws.key, "arn")}},
        "AppSpecification": {"ImageUri": image},
        "RoleArn": ref(role, "arn"),
        "Environment": _drift_environment(aws, monitor, capture, baseline),
        "ProcessingOutputConfig": {"KmsKeyId": ref(aws.key, "arn"), "Outputs": [{
            "OutputName": "report", "S3Output": {
                "S3Uri": arns.s3_uri(capture, f"reports/{physical}/{monitor.name}/"),
                "LocalPath": "/opt/ml/processing/report", "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": drift_job.max_runtime_seconds(monitor)},
    }}


def _drift_statements(aws: AwsContext, monitor: Monitor, capture: str, baseline: str | None) -> list:
    """The drift job's execution role: read capture and baseline and its contract file (:func:`add_contract`;
    SageMaker downloads a ``ProcessingInputs`` object with the job's role), write its report, use the platform key, pull
    the drift image, write logs and metrics, and ``kms:CreateGrant`` for AWS resources only, since
    :func:`drift_step` sets ``ClusterConfig.VolumeKmsKeyId`` ("If you specify a volume KMS key in the resource
    configuration of your processing job, add the following permissions: ... kms:CreateGrant", SageMaker
    Developer Guide, "How to use SageMaker execution roles", "CreateProcessingJob API: Execution Role
    Permissions"; audit iam-5)."""
    physical = serving.endpoint_name(aws, monitor.endpoint)
    reads = [(capture, serving.capture_prefix(physical))] + ([(baseline, monitor.baseline_prefix or "")] if baseline else [])
    contract = ([(storage.platform_bucket(aws, "artifacts"), contract_key(monitor))]
                if _contract_source(aws, monitor) is not None else [])  # the step's ProcessingInputs
    return [
        *policies.s3_read("ReadCaptureAndBaseline", aws.region, reads),
        *policies.s3_read("ReadContract", aws.region, contract),
        *policies.s3_write("WriteReports", aws.region, [(capture, f"reports/{physical}/{monitor.name}/")]),
        *aws.once(_drift_job_statements, lambda: _drift_job_statements(aws)),
    ]


def _drift_job_statements(aws: AwsContext) -> list:
    """The statements of :func:`_drift_statements` that name no monitor, the same in every drift job's role
    (made once per compile: :meth:`AwsContext.once`): the platform key, the drift image, the job logs and
    the metrics."""
    return [
        policies.kms_use("UseDataKey", ref(aws.key, "arn")),
        policies.kms_service_grant("EncryptJobVolume", ref(aws.key, "arn")),
        *policies.ecr_pull("DriftJobImage", [ref(aws.repository, "arn")]),
        policies.logs("WriteJobLogs", aws.region, aws.account, [PROCESSING_METRICS_NAMESPACE]),
        policies.put_metrics("PublishDriftMetric", [METRIC_NAMESPACE, PROCESSING_METRICS_NAMESPACE]),
    ]


def _add_drift_job(aws: AwsContext, monitor: Monitor, component: str) -> None:
    address = f"monitors.{monitor.name}"
    capture = storage.platform_bucket(aws, "capture")
    baseline = aws.buckets.get(monitor.baseline) if monitor.baseline else None
    spec = iam.RoleSpec(f"{monitor.name}-drift-job", ("monitor", monitor.name), (iam.SAGEMAKER,),
                        f"Runs drift job {monitor.name}: reads capture and baseline, publishes its metric.")
    role = iam.add_role(aws, spec, _drift_statements(aws, monitor, capture, baseline), parent=component,
                        address=address)
    aws.job_roles.append(role)
    name = aws.name("monitor", monitor.name, max_len=64)
    contract = add_contract(aws, monitor, component)
    step = drift_step(aws, monitor, role, capture, baseline)
    arguments = step["Arguments"]
    pipeline = pipelines.add_pipeline(
        aws, f"{monitor.name}-drift-pipeline", name, pipelines.definition([step]),
        parent=component, address=address, description=f"Drift job of monitor {monitor.name}",
        depends_on=[aws.repository, drift_image.add_drift_image(aws), iam.policy_urn(aws, spec, component),
                    *sorted({aws.bucket_urns[b] for b in (capture, baseline) if b}), *([contract] if contract else [])],
        # the step's refs (key, role); its image, environment, paths and numbers are text
        body_refs_in=[arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"], arguments["RoleArn"],
                      arguments["ProcessingOutputConfig"]["KmsKeyId"]])
    every = drift_job.schedule_seconds(monitor)
    pipelines.add_schedule(aws, f"{monitor.name}-drift-schedule", name, rate_expression(every), pipeline,
                           parent=component, address=address, description=f"Run drift job {monitor.name} every {every}s")


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SILENCE_FINE_PERIOD = 60
"""The silence alarm's period while its horizon fits :data:`SHORT_RANGE`: a minute, the finest
standard-resolution period (botocore ``PutMetricAlarmInput.Period``: 10, 20 and 30 only for
high-resolution metrics), so it fires within a minute of the horizon."""
SILENCE_COARSE_PERIOD = 3600
"""The silence alarm's period past a one-day horizon: an hour, the shortest period allowed a
seven-day range."""
WARM_UP_MAX_MINUTES = 2880
"""Longest CloudWatch alarm warm-up (botocore cloudwatch ``WarmUpPeriodDurationInMinutes``: min 1,
max 2880; User Guide "Alarm warm-up periods": "from 1 to 2,880 minutes (2 days)")."""


def silence_alarm_name(aws: AwsContext, monitor: str, part: int = 1) -> str:
    """``<system>-<env>.monitor-silent.<monitor>``, ``.<part>`` after it from the second alarm of an
    audience of more than five channels (:func:`silence_alarms`): a ``.`` is in no alert's alarm name
    nor in a monitor's name (``alerting.rollback_alarm_name`` has the same scheme)."""
    base = f"{aws.name(max_len=120)}.monitor-silent.{monitor}"
    return base if part == 1 else f"{base}.{part}"


def silence_periods(monitor: Monitor) -> tuple[int, int] | None:
    """``(period, evaluation periods)`` of the silent-monitor alarm: one-minute periods, as many as
    cover :func:`~mlops_infra.compile.monitor_silence.silent_after_seconds` (the horizon, rounded up
    to the minute) while that fits the one-day range of such periods; one-hour periods past it
    (rounded up to the hour); None when the horizon is longer than the seven-day range
    (:func:`~mlops_infra.spec.alarm_periods.evaluation_range`: a schedule over
    :data:`~mlops_infra.spec.monitor_silence_limits.AWS_SILENCE_MAX_SCHEDULE_SECONDS`, which
    ``validate`` warns of: ``monitor-not-watched``)."""
    horizon = silence.silent_after_seconds(monitor)
    period = SILENCE_FINE_PERIOD if horizon <= SHORT_RANGE else SILENCE_COARSE_PERIOD
    evaluations = -(-horizon // period)
    return (period, evaluations) if evaluations * period <= evaluation_range(period) else None


def warm_up_minutes(monitor: Monitor) -> int:
    """The silence alarm's warm-up: the horizon in whole minutes, at most :data:`WARM_UP_MAX_MINUTES`."""
    return min(WARM_UP_MAX_MINUTES, -(-silence.silent_after_seconds(monitor) // 60))


def silence_alarms(aws: AwsContext, monitor: Monitor, channels: list[str]) -> list[dict[str, Any]]:
    """The inputs of the monitor's silent-monitor alarms (:mod:`~mlops_infra.compile.monitor_silence`):
    one per five of its channels' topics, none when its schedule is too long (:func:`silence_periods`).

    It watches the metric the drift job publishes (:func:`drift_metric`), ``SampleCount`` per
    minute (:func:`silence_periods`), ``< 1`` in every one of the evaluation periods, with
    ``treatMissingData: breaching``: a period without a datapoint *is* the condition. CloudWatch User
    Guide, "Configuring how CloudWatch alarms treat missing data"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
    ``breaching``: missing data points are treated as "bad" and breaching the threshold; botocore
    cloudwatch ``PutMetricAlarmInput.TreatMissingData``: "Valid Values: breaching | notBreaching |
    ignore | missing".

    When it fires: ``DatapointsToAlarm`` = ``EvaluationPeriods``, so one real datapoint (never
    breaching: its ``SampleCount`` is at least 1) keeps it OK. The same page: when the evaluation
    range holds fewer real datapoints than the evaluation periods, "CloudWatch fills the rest as
    TreatMissingData says", and that range is longer than the evaluation periods ("CloudWatch
    attempts to retrieve a higher number of data points than the number specified as Evaluation
    Periods", 5 for 3 in its tables). So the alarm goes to ALARM once no datapoint is stamped in the
    last horizon (rounded up to the minute) plus those few extra one-minute periods: at the horizon
    after the last success, within minutes, as the Kubernetes rule (it used schedule-long periods
    before, 4 x 1 h for an hourly monitor, and fired hours past the horizon). A run stamps its
    datapoint with its start and puts it up to a deadline later; a healthy job's last stamp is at
    most a schedule plus a deadline old, a once-missed one's two schedules plus a deadline, both
    under the horizon, so neither ever fires. Publishing again returns it to OK (OK actions).

    First apply: the alarm has a warm-up (``WarmUpConfiguration``, botocore cloudwatch
    ``PutMetricAlarmInput``; User Guide "Alarm warm-up periods",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-warm-up.html: "During
    warm-up, the alarm stays in INSUFFICIENT_DATA and does not perform alarm actions") of the
    horizon (:func:`warm_up_minutes`), ``OnlyStartEvaluatingAfterWarmUpPeriodEnds: true`` ("the
    alarm waits the full warm-up duration before it evaluates, even if data arrives sooner"). The
    periods before the first run are missing, hence breaching, but by the end of the warm-up the
    first run, due within a schedule, has published, so a clean first apply notifies nobody, and a
    monitor whose first two runs published nothing fires at the horizon from creation, as on
    Kubernetes (the CronJob's age). The warm-up is at most two days: past a horizon of two days
    (schedules of more than 23 h 27 min) the check starts after two days, when the first run has
    published if the schedule is at most 47 h (two days less the one-hour deadline); a longer one's
    first run may fall after it, and its not yet published first datapoint then sends one notice.
    The guide: the warm-up follows "create or update", so an update of the alarm may delay it again
    (a later check, never a false one); the API reference: changing the value after the warm-up ends
    "does not restart" it.

    Actions: the topics of at most :data:`~mlops_infra.spec.limits.AWS_ALARM_ACTIONS_MAX` (5)
    channels per alarm (``PutMetricAlarm`` takes at most 5 alarm and 5 OK actions, botocore
    ``ResourceList`` max 5), so an audience of more channels (every channel of a system with more
    than five, or the union of several alerts' channels) gets one alarm per five, the same in all
    else, named ``.2``, ``.3``... after the first (:func:`silence_alarm_name`): every channel is
    told, once. (An SNS topic cannot subscribe to the channels' topics, and a new topic would ask
    each email address to confirm again.)"""
    periods = silence_periods(monitor)
    if periods is None:
        return []
    period, evaluations = periods
    name, dims = drift_metric(aws, monitor)
    topics = [ref(aws.topics[c], "arn") for c in channels if c in aws.topics]
    parts = [topics[i:i + AWS_ALARM_ACTIONS_MAX] for i in range(0, len(topics), AWS_ALARM_ACTIONS_MAX)] or [[]]
    every = silence.duration_text(drift_job.schedule_seconds(monitor))
    job = f"SageMaker pipeline {aws.name('monitor', monitor.name, max_len=64)} (its Processing jobs' logs)"
    description = (f"mlops-infra alert {silence.silent_alert(monitor.name)} ({silence.SEVERITY}): monitor "
                   f"{monitor.name} ({monitor.metric} of endpoint {monitor.endpoint}, run every {every}) published "
                   f"no {name} datapoint for {silence.duration_text(evaluations * period)}: its alarms cannot "
                   f"fire. {silence.what_to_check(job)}")
    return [{"name": silence_alarm_name(aws, monitor.name, n), "alarmDescription": description[:1024],
             "namespace": METRIC_NAMESPACE, "metricName": name, "dimensions": dims, "statistic": "SampleCount",
             "period": period, "comparisonOperator": "LessThanThreshold", "threshold": 1,
             "evaluationPeriods": evaluations, "datapointsToAlarm": evaluations, "treatMissingData": "breaching",
             "warmUpConfiguration": {"warmUpPeriodDurationInMinutes": warm_up_minutes(monitor),
                                     "onlyStartEvaluatingAfterWarmUpPeriodEnds": True},
             "actionsEnabled": True, "alarmActions": actions, "okActions": actions}
            for n, actions in enumerate(parts, start=1)]


def _add_silence_alarm(aws: AwsContext, monitor: Monitor, component: str) -> None:
    channels = aws.ctx.silent_channels().get(monitor.name)
    for n, inputs in enumerate(silence_alarms(aws, monitor, channels) if channels else [], start=1):
        logical = f"{monitor.name}-silent-alarm" + (f"-{n}" if n > 1 else "")
        aws.add(ALARM, logical, inputs, parent=component, address=f"monitors.{monitor.name}",
                role="silence-alarm", refs_in=inputs["alarmActions"])


def compile_monitor(aws: AwsContext, item: Monitor) -> None:
    """A monitor: its component and, for drift kinds, the scheduled drift job and the alarm saying it
    stopped measuring (channels are compiled before monitors: ``compile/aws/__init__.SECTIONS``)."""
    component = aws.ctx.component("monitors", item.name, facts.monitor_facts(item))
    require(aws.ctx.system.item("endpoints", item.endpoint), f"endpoint {item.endpoint}")
    if item.metric in DRIFT_METRICS:
        _add_drift_job(aws, item, component)
        _add_silence_alarm(aws, item, component)
