"""A ``prediction_drift`` monitor does not use a ``baseline`` (audit contract-3).

The drift job scores ``prediction_drift`` from the ``prediction`` column of both frames; a baseline
data source is training data (features and the label), with no ``prediction`` column, and the job
keeps only the contract's columns of it anyway, so a job given a baseline never published a value:
the alert never fired and, on AWS, the alarm sat in INSUFFICIENT_DATA (the prod ``no_drift`` gate
failing closed). ``validate`` now warns (``unused-field``) and neither target gives the job the
baseline, so it compares the previous window of captured predictions
(tests/monitoring/test_drift_contract_live.py runs it and sees a value published).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.graph import is_json
from mlops_infra.spec import parse_system

REPO = Path(__file__).resolve().parents[2]
ANCHOR = "    metric: feature_drift           # feature_drift | prediction_drift | data_quality | accuracy | latency_p99 | error_rate\n"


def _text(metric: str = "prediction_drift") -> str:
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    assert ANCHOR + "    baseline: transactions\n" in text
    return text.replace(ANCHOR, f"    metric: {metric}\n")


def _unused(text: str) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml").diagnostics if d.code == "unused-field"]


def test_validate_warns_of_a_prediction_drift_baseline() -> None:
    [warning] = _unused(_text())
    assert warning.severity == "warning"
    assert "previous window of captured predictions" in warning.detail and "remove baseline" in warning.detail
    assert warning.summary == 'Monitor "drift" does not use its baseline'
    assert not _unused(_text("feature_drift")) and not _unused(_text("data_quality"))


def test_neither_target_gives_a_prediction_drift_job_the_baseline() -> None:
    text = _text()
    dev = compile_system(parse_system(text, "mlsystem.yaml", "dev").system, "dev")
    cronjob = next(r.inputs for r in dev.resources if r.type == "kubernetes:batch/v1:CronJob"
                   and r.inputs["metadata"]["name"] == "monitor-drift")
    env = {e["name"]: e.get("value", "") for e in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BASELINE_URI"] == "" and env["METRIC"] == "prediction_drift"
    assert json.loads(env["COLUMNS"]) == ["amount", "merchant_id", "country", "is_fraud"]  # still names the rows

    prod = compile_system(parse_system(text, "mlsystem.yaml", "prod").system, "prod")
    pipeline = next(r for r in prod.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
                    and r.name == "drift-drift-pipeline")
    definition = pipeline.inputs["pipelineDefinition"]
    definition = definition["$json"] if is_json(definition) else json.loads(definition)
    environment = definition["Steps"][0]["Arguments"]["Environment"]
    assert "BASELINE_URI" not in environment and environment["METRIC"] == "prediction_drift"

    feature = compile_system(parse_system(_text("feature_drift"), "mlsystem.yaml", "prod").system, "prod")
    pipeline = next(r for r in feature.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
                    and r.name == "drift-drift-pipeline")
    definition = pipeline.inputs["pipelineDefinition"]
    definition = definition["$json"] if is_json(definition) else json.loads(definition)
    assert definition["Steps"][0]["Arguments"]["Environment"]["BASELINE_URI"].startswith("s3://")
