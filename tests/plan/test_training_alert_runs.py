"""A training job with a schedule and ``on_alerts`` is not priced as if it ran on the schedule only
(audit cost-5).

Its retrain gate starts a run on the schedule and on each firing of its alerts, one at a time
(``compile/aws/retrain_gate.py``: it starts nothing while a run is ``Executing``). How often the
alerts fire is not known, so the line is a range: floor = its scheduled runs at max_runtime, ceiling
= runs back to back all month (730 h / max_runtime), with a note naming the alerts. The reference
job (weekly, 2 nodes, 6 h, on fraud-drift) was shown as "$368.68 ... (a ceiling)" at $7.09/h.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.cost import estimate_cost
from mlops_infra.state.model import PriorState
from tests.plan.test_cost import SMALL, estimate, line
from tests.plan.test_ml import cluster, job
from tests.support.guardrails import edit, loaded


def test_scheduled_and_alert_runs_are_a_range_with_a_note_naming_the_alerts() -> None:
    price = catalog.price("ml.g5.2xlarge", "training").usd_per_hour  # 1.515, us-east-1
    result = estimate([], [cluster(**SMALL), job(nodes=2, maxRuntimeSeconds=6 * 3600, schedule="0 3 * * 1",
                                                 onAlerts=["fraud-drift", "quality-drop"], **SMALL)])
    retrain = line(result, "training_jobs.retrain")
    assert retrain.after_min_usd == round(52 / 12 * 2 * 6 * price, 2)  # the scheduled runs
    assert retrain.after_usd == round(730 / 6 * 2 * 6 * price, 2)  # 121.67 runs of 6 h back to back
    assert retrain.basis == "4.33-121.67 runs/month x 2 nodes x 6h max x ml.g5.2xlarge @ $1.515/h"
    assert "also runs when fraud-drift, quality-drop fire: those runs are not in the floor" in retrain.note
    assert "(a ceiling)" not in retrain.note
    assert result.after.max_usd == retrain.after_usd


def test_a_scheduled_job_without_alerts_stays_one_figure_its_ceiling() -> None:
    result = estimate([], [job(nodes=2, maxRuntimeSeconds=6 * 3600, onAlerts=[], **SMALL)])
    retrain = line(result, "training_jobs.retrain")
    assert retrain.after_min_usd == retrain.after_usd == round(52 / 12 * 2 * 6 * 1.515, 2)
    assert "each run at its max_runtime (a ceiling)" in retrain.note and "also runs when" not in retrain.note


def test_the_reference_job_names_fraud_drift(shared_dir: Path) -> None:
    reference_text = (shared_dir / "spec" / "reference-mlsystem.yaml").read_text()
    # the shipped catalog has no Training price for the reference cluster's ml.g5.12xlarge: its staging
    # (us-east-1) job runs on ml.g5.2xlarge here, which it prices
    text = edit(reference_text, ("accelerator: {type: A10G, count: 4}", "instance_type: ml.g5.2xlarge"))
    system = loaded(text, "staging").system
    estimate_ = estimate_cost(compile_system(system, "staging"), PriorState.empty())
    retrain = line(estimate_, "training_jobs.retrain")
    assert "also runs when fraud-drift fires" in retrain.note
    assert retrain.after_min_usd < retrain.after_usd
