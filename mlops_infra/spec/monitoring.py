"""Monitors: what is measured on an endpoint, and the threshold that makes it unhealthy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlops_infra.spec.base import Name, SpecModel
from mlops_infra.spec.quantities import DurationField, QuantityField

MetricKind = Literal["feature_drift", "prediction_drift", "data_quality", "accuracy", "latency_p99", "error_rate"]

DRIFT_METRICS = frozenset({"feature_drift", "prediction_drift", "data_quality", "accuracy"})
"""Metrics computed by a scheduled job from captured traffic (they need capture on the endpoint)."""
LOWER_IS_WORSE = frozenset({"accuracy"})
"""Metrics whose monitor is unhealthy *below* its threshold (all others: above it)."""
DEFAULT_SCHEDULE_SECONDS = 3600
"""How often a drift monitor's job runs when the monitor sets no ``schedule`` (1h)."""


class Monitor(SpecModel):
    """A measured signal on an endpoint with a threshold."""

    name: Name = Field(description="Unique name of the monitor.")
    endpoint: Name = Field(description="Endpoint measured.")
    metric: MetricKind = Field(
        description="feature_drift, prediction_drift, data_quality, accuracy, latency_p99 or error_rate."
    )
    baseline: Name | None = Field(default=None, description="Data source the drift is measured against.")
    baseline_prefix: str | None = Field(
        default=None, min_length=1, max_length=512, pattern=r"^[A-Za-z0-9!_.*'()=-][A-Za-z0-9!_.*'()/=-]*$",
        description="Only objects under this key prefix of the baseline data source (e.g. snapshots/2026-11/).")
    baseline_window: DurationField | None = Field(
        examples=["7d", "30d"],
        default=None, description="Only baseline objects written this recently (e.g. 30d). Either way the drift job "
                                  "reads the newest objects first and at most 100,000 rows.")
    threshold: QuantityField = Field(
        description="Limit: a number (0.2 drift score), a time for latency (250ms) or a percentage for error rate (1%)."
    )
    schedule: DurationField | None = Field(default=None, examples=["1h", "6h", "1d"],
                                           description="How often a drift job runs (1h).")


def schedule_seconds(monitor: Monitor) -> int:
    """Seconds between two runs of a drift monitor's job: its ``schedule``, else
    :data:`DEFAULT_SCHEDULE_SECONDS`. The one definition: the compiler (``compile/drift_job.py``) and
    the spec's checks (:mod:`mlops_infra.spec.alarm_periods`) both read it."""
    return monitor.schedule.seconds if monitor.schedule else DEFAULT_SCHEDULE_SECONDS
