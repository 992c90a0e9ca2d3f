"""A training job is never priced at more run-hours than the month has (audit closing-34e-3).

Its runs go one at a time: the retrain gate starts none while one is ``Executing``
(``compile/aws/retrain_gate.py``), and every schedule and alarm rule of a job targets it
(``compile/aws/training._add_triggers``). So a 730 h month holds at most 730 h / max_runtime runs.
771c8a1 took ``max(scheduled runs, 730 h / max_runtime)`` as the ceiling: an hourly schedule with a
2 h max_runtime was priced at 730 runs x 2 h = 1,460 instance-hours ("730-730 runs ... one at a
time"), twice what can bill; without alerts, the same 1,460 h.
"""

from __future__ import annotations

import pytest

from mlops_infra import catalog
from tests.plan.test_cost import SMALL, estimate, line
from tests.plan.test_ml import cluster, job


@pytest.mark.parametrize("alerts", [["fraud-drift"], []])
def test_a_schedule_that_fills_the_month_is_priced_at_730_hours(alerts: list[str]) -> None:
    price = catalog.price("ml.g5.2xlarge", "training").usd_per_hour
    assert price == 1.515  # us-east-1, shipped
    result = estimate([], [cluster(**SMALL), job(nodes=1, maxRuntimeSeconds=2 * 3600, schedule="0 * * * *",
                                                 onAlerts=alerts, **SMALL)])
    retrain = line(result, "training_jobs.retrain")
    assert retrain.after_min_usd == retrain.after_usd == round(730 * price, 2)  # $1,105.95: 365 runs of 2 h
    assert retrain.basis == "365 runs/month x 1 nodes x 2h max x ml.g5.2xlarge @ $1.515/h"
    assert "730-730" not in retrain.basis + retrain.note
    assert "the schedule asks for 730 runs of 2h: back to back, one at a time (the retrain gate), a 730 h month " \
           "holds 365" in retrain.note
    assert ("runs on fraud-drift add nothing: the month is full" in retrain.note) == bool(alerts)


def test_a_schedule_within_the_month_keeps_its_range() -> None:
    # a daily 6 h run: 30.42 scheduled runs, up to 121.67 back to back with the alert (unchanged)
    result = estimate([], [cluster(**SMALL), job(nodes=1, maxRuntimeSeconds=6 * 3600, schedule="0 3 * * *",
                                                 onAlerts=["fraud-drift"], **SMALL)])
    retrain = line(result, "training_jobs.retrain")
    assert retrain.basis.startswith("30.42-121.67 runs/month x 1 nodes x 6h max")
    assert "the schedule asks for" not in retrain.note
