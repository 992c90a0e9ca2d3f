"""An AWS drift job runs at the EventBridge schedule the compiler writes, whose rate counts whole minutes
(``compile/aws/schedules.rate_minutes``: a ``30s`` schedule is ``rate(1 minute)``, ``90s`` is ``rate(2
minutes)``); the plan priced the spec's interval, twice the bill for ``30s`` (audit pricing45-1). The same
interval gives the runs at once that ``max_hourly_cost_usd`` counts (``drift_peak``)."""

from __future__ import annotations

import pytest

from mlops_infra import catalog
from mlops_infra.compile.aws.schedules import rate_expression
from mlops_infra.plan.cost import _Pricer, drift_peak
from tests.plan.test_cost import EU, estimate, line, monitor

PRICE = 0.257  # eu-west-1 Processing ml.m5.xlarge, the catalog's row


@pytest.mark.parametrize(("every", "rate", "runs"), [
    (30, "rate(1 minute)", 43800), (90, "rate(2 minutes)", 21900), (150, "rate(3 minutes)", 14600)])
def test_a_drift_job_is_priced_at_the_rate_the_schedule_runs(every: int, rate: str, runs: int) -> None:
    assert catalog.price("ml.m5.xlarge", "processing", "eu-west-1").usd_per_hour == PRICE
    assert rate_expression(every) == rate  # what the compiled schedule runs
    drift = line(estimate([], [monitor(scheduleSeconds=every, jobScheduleSeconds=every, jobMaxRuntimeSeconds=300)],
                          metadata=EU), "monitors.drift")
    assert drift.after_usd == drift.after_min_usd == round(runs * 300 / 3600 * PRICE, 2)
    assert drift.basis == f"{runs} runs/month x up to 0.08 h x ml.m5.xlarge @ $0.257/h"
    minutes = int(rate.split("(")[1].split()[0])
    assert f"runs every {minutes} minute" in drift.note and f"not every {every} s" in drift.note


def test_a_whole_minute_schedule_gets_no_rounding_note() -> None:
    drift = line(estimate([], [monitor(scheduleSeconds=120, jobScheduleSeconds=120, jobMaxRuntimeSeconds=300)],
                          metadata=EU), "monitors.drift")
    assert drift.after_usd == round(21900 * 300 / 3600 * PRICE, 2)
    assert drift.note == "each run at its max runtime (a ceiling)"


def test_kubernetes_keeps_the_interval_as_given() -> None:
    drift = line(estimate([], [monitor(scheduleSeconds=90, jobScheduleSeconds=90, jobMaxRuntimeSeconds=300)],
                          metadata={"cloud": "kubernetes"}), "monitors.drift")
    assert drift.basis.startswith("29200 runs/month")


def test_the_cost_caps_runs_at_once_use_the_rate_too() -> None:
    """30 s with a 300 s runtime: ceil(300 / 60) = 5 at once (one a minute), not ceil(300 / 30) = 10."""
    facts = monitor(scheduleSeconds=30, jobScheduleSeconds=30, jobMaxRuntimeSeconds=300)
    assert drift_peak(facts, _Pricer("aws", "eu-west-1")) == pytest.approx(5 * PRICE)
