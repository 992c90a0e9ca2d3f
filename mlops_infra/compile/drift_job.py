"""The scheduled drift/quality job of a monitor: how often it runs, on what, and for how long at most.

Contract: a monitor whose metric is in :data:`~mlops_infra.spec.monitoring.DRIFT_METRICS` runs one
job every :func:`~mlops_infra.spec.monitoring.schedule_seconds` (the spec's rule, re-exported
here as :func:`schedule_seconds`) on one :data:`INSTANCE_TYPE`-shaped machine, stopped after
:func:`max_runtime_seconds`. This module (with that schedule rule) is the only place these are decided: the ML facts
(``jobInstanceType``, ``jobScheduleSeconds``, ``jobMaxRuntimeSeconds``, which the plan's cost
estimate prices) and both targets read it, so what the plan prices is what runs:

- AWS: the Processing step's ``ClusterConfig.InstanceType`` and ``StoppingCondition.MaxRuntimeInSeconds``
  and the EventBridge Scheduler rate;
- Kubernetes: the CronJob's ``jobTemplate.spec.activeDeadlineSeconds`` and schedule, and the
  container's :data:`KUBERNETES_RESOURCES`, which fit in one node of the :data:`INSTANCE_TYPE` shape
  (the node the cost estimate prices a run on).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.graph import canonical_json
from mlops_infra.spec.data import DataSource
from mlops_infra.spec.monitoring import Monitor, schedule_seconds

EVIDENTLY_IMAGE = "docker.io/evidently/evidently-service:0.7.21"
"""The official Evidently image (evidently, pandas, pyarrow with its S3 filesystem) the job runs in:
as is on Kubernetes, as the base of the drift-job image on AWS (compile/aws/drift_image.py)."""
INSTANCE_TYPE = "ml.m5.xlarge"
"""SageMaker instance type of one run (4 vCPU, 16 GiB); on Kubernetes the node shape it is priced on."""
MAX_RUNTIME_CAP_SECONDS = 3600
"""No run is allowed more than an hour, however rare the schedule."""
MIN_RUNTIME_SECONDS = 300
"""No run is given less than 5 minutes: a shorter deadline stops runs while the job container starts."""
KUBERNETES_RESOURCES: dict[str, Any] = {"limits": {"memory": "2Gi"}, "requests": {"cpu": "250m", "memory": "1Gi"}}
"""Container resources of the Kubernetes CronJob; they fit in one node of the ``INSTANCE_TYPE`` shape."""


BASELINE_MAX_ROWS = 100_000
"""Most baseline rows one run reads (newest objects first): memory stays bounded however large the
baseline data source grows (review finding C1); ``baseline_prefix``/``baseline_window`` narrow it."""
STALENESS_MARGIN_SECONDS = 300
"""Slack on top of a run's deadline before its value counts as stale (scheduling delay, scrapes)."""


def max_runtime_seconds(monitor: Monitor) -> int:
    """The deadline of one run: its schedule (a run ends before the next is due), capped at
    :data:`MAX_RUNTIME_CAP_SECONDS` and at least :data:`MIN_RUNTIME_SECONDS`."""
    return max(MIN_RUNTIME_SECONDS, min(schedule_seconds(monitor), MAX_RUNTIME_CAP_SECONDS))


def baseline_env(monitor: Monitor) -> dict[str, str]:
    """The job's baseline bounds (both targets): row cap and, when set, the window in seconds."""
    env = {"BASELINE_MAX_ROWS": str(BASELINE_MAX_ROWS)}
    if monitor.baseline_window:
        env["BASELINE_WINDOW_SECONDS"] = str(monitor.baseline_window.seconds)
    return env


def reads_baseline(monitor: Monitor) -> bool:
    """Whether the job is given the monitor's baseline (``BASELINE_URI``, both targets): not for
    ``prediction_drift``, which compares the previous window of captured predictions, because a
    baseline data source holds features and labels and no ``prediction`` column, so a job given one
    never published a value (audit contract-3; ``validate`` warns ``unused-field``)."""
    return monitor.baseline is not None and monitor.metric != "prediction_drift"


def contract_env(baseline: DataSource | None) -> dict[str, str]:
    """The job's ``COLUMNS`` (:func:`contract_columns`) and ``COLUMN_TYPES`` (:func:`contract_types`)
    as JSON environment variables: how the Kubernetes CronJob is given the contract (a container's
    variables take values of any length). Not on AWS: see :func:`contract_file`."""
    return {"COLUMNS": canonical_json(contract_columns(baseline)),
            "COLUMN_TYPES": canonical_json(contract_types(baseline))}


CONTRACT_FILE_ENV = "CONTRACT_FILE"
"""The variable naming the file the job reads its contract from (:func:`contract_file`) instead of
``COLUMNS``/``COLUMN_TYPES``."""
CONTRACT_FILE_NAME = "contract.json"
"""The file's name, the last part of its S3 key and of its path in the job."""


def contract_file(baseline: DataSource | None) -> str | None:
    """The job's contract as one JSON document, ``{"columns": [...], "types": {...}}``
    (:func:`contract_columns` in the contract's order, :func:`contract_types`), or None without a
    baseline contract (the job then infers every column, as with empty ``COLUMNS``).

    How the AWS job is given it: a SageMaker Processing job's ``Environment`` takes values of at most
    256 characters and at most 100 of them (botocore ``sagemaker`` ``ProcessingEnvironmentValue``
    ``max`` 256, ``ProcessingEnvironmentMap`` ``max`` 100), checked when the pipeline is created
    (CreatePipeline: "Model Validation failed: string ... cannot be greater than max=256",
    aws/sagemaker-python-sdk#314), and ``COLUMN_TYPES`` of a contract of about ten columns is
    longer (audit limits-1). A file has no such bound: the stack writes it to S3 and the Processing
    step downloads it (``compile/aws/monitoring.py`` ``drift_step``); the job reads it from the path
    in :data:`CONTRACT_FILE_ENV` (``compile/kubernetes/scripts/drift_job.py`` ``contract``)."""
    if baseline is None or baseline.contract is None:
        return None
    return canonical_json({"columns": contract_columns(baseline), "types": contract_types(baseline)})


def contract_types(baseline: DataSource | None) -> dict[str, str]:
    """The job's ``COLUMN_TYPES``: the baseline's contract column -> type (``spec/data.py``
    ``ColumnType``). The job casts the baseline and the captured rows to them and tells Evidently
    each column's kind; without them Evidently guessed from the pandas dtype, so a CSV baseline's
    id ``1000`` (pyarrow infers int64) and the request's ``"1000"`` were different categories, and
    unchanged traffic fired the drift alert (audit contract-1; the job's docstring, "Types").
    Empty without a baseline or contract: the job infers every column's kind, as before."""
    if baseline is None or baseline.contract is None:
        return {}
    return dict(baseline.contract.columns)


def contract_columns(baseline: DataSource | None) -> list[str]:
    """The job's ``COLUMNS`` (both targets): the baseline's contract column names in the order the
    spec writes them, as a list. The job names the values of a positional request row (a CSV
    capture, ``{"instances": [[...]]}``) by these positions, so the order is the contract: a JSON
    object here would be key-sorted by ``canonical_json`` and name ``12.5,m-991,FR`` as amount,
    country, is_fraud (audit finding). A request carries features, not the label, so a row may be
    shorter and fills the first columns: the contract lists its label column(s) last (the job's
    docstring, "Current data"). Empty without a baseline or contract: the job names positions 0, 1, ..."""
    if baseline is None or baseline.contract is None:
        return []
    return list(baseline.contract.columns)


def stale_after_seconds(monitor: Monitor) -> int:
    """How long a drift value stays current: until the next run is due and has had its whole
    deadline, plus :data:`STALENESS_MARGIN_SECONDS` (runs push at most ``schedule + deadline``
    apart). After that the value no longer counts, so an alert on it resolves instead of firing on a
    number from a job that stopped (Kubernetes: the recording rule drops it; AWS: see
    ``compile/aws/monitoring.py``)."""
    return schedule_seconds(monitor) + max_runtime_seconds(monitor) + STALENESS_MARGIN_SECONDS
