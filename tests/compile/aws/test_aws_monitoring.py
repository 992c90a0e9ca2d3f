"""AWS alarms on drift: stale values end the ALARM and channels hear about it (B11.7)."""

from __future__ import annotations

import json

import pytest

from tests.compile.aws.cases import CASES, compiled, of_type, system

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.mark.parametrize(("case_id", "path", "env"), CASES, ids=[c[0] for c in CASES])
def test_drift_alarms_treat_missing_runs_as_missing_and_notify_on_insufficient_data(case_id, path, env) -> None:
    effective = system(path, env)
    graph = compiled(path, env)
    metric_of = {a.name: effective.item("monitors", a.monitor).metric for a in effective.alerts}
    for alarm in of_type(graph, ALARM):
        if not alarm.address.startswith("alerts."):  # a canary's rollback alarm: test_aws_rollback_alarm.py;
            continue  # a Lambda's Errors or dropped-events alarm: test_aws_lambda_failures.py
        alert = alarm.address.split(".", 1)[1]
        inputs = alarm.inputs
        if metric_of[alert] in ("feature_drift", "prediction_drift", "data_quality", "accuracy"):
            # CloudWatch: all datapoints of the evaluation range missing -> INSUFFICIENT_DATA (ALARM ends)
            assert inputs["treatMissingData"] == "missing"
            assert inputs["insufficientDataActions"] == inputs["alarmActions"] == inputs["okActions"]
        else:
            assert "insufficientDataActions" not in inputs
            assert inputs["treatMissingData"] == "notBreaching"


def test_the_drift_image_is_built_from_the_shipped_job_and_every_drift_pipeline_waits_for_it() -> None:
    from mlops_infra.compile.aws import drift_image
    from mlops_infra.compile.kubernetes import scripts
    from tests.compile.aws.cases import REFERENCE, one

    graph = compiled(REFERENCE, "prod")
    [image] = of_type(graph, drift_image.IMAGE)
    dockerfile = image.inputs["dockerfile"]["inline"]
    assert scripts.source("drift_job.py").rstrip() in dockerfile  # the very file the Kubernetes CronJob runs
    assert dockerfile.startswith("# syntax=docker/dockerfile:1.7\nFROM docker.io/evidently/evidently-service:0.7.21\n")
    assert image.inputs["push"] is True and image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["buildOnPreview"] is False
    [tag] = image.inputs["tags"]
    assert tag.endswith(f":{drift_image.image_tag()}") and drift_image.image_tag().startswith("drift-job-")
    repository = one(graph, "aws:ecr/repository:Repository", "platform")
    assert repository.urn in image.dependencies
    for pipeline in of_type(graph, "aws:sagemaker/pipeline:Pipeline"):
        if pipeline.name.endswith("-drift-pipeline"):
            assert image.urn in pipeline.dependencies
            assert tag in json.dumps(pipeline.inputs)


def test_a_changed_drift_job_is_a_new_image_tag(monkeypatch) -> None:
    from mlops_infra.compile.aws import drift_image
    from mlops_infra.compile.kubernetes import scripts

    before = drift_image.image_tag()
    original = scripts.source
    drift_image.dockerfile.cache_clear()
    drift_image.image_tag.cache_clear()
    monkeypatch.setattr(scripts, "source", lambda name: original(name) + "\n# changed\n")
    try:
        assert drift_image.image_tag() != before
    finally:
        drift_image.dockerfile.cache_clear()
        drift_image.image_tag.cache_clear()


BOUNDED = """
    baseline: transactions
    baseline_prefix: snapshots/
    baseline_window: 30d
"""


def test_the_baseline_is_bounded_by_prefix_window_and_rows() -> None:
    from tests.compile.aws.cases import REFERENCE, compile_text, one, policy_statements

    text = REFERENCE.read_text().replace("\n    baseline: transactions\n", BOUNDED)
    graph = compile_text(text, "prod")
    pipeline = one(graph, "aws:sagemaker/pipeline:Pipeline", "monitors.drift")
    env = json.loads(json.dumps(pipeline.inputs))
    text_env = json.dumps(env)
    assert '"BASELINE_URI": "s3://fraud-detection-prod-transactions-222222222222/snapshots/"' in text_env
    assert '"BASELINE_WINDOW_SECONDS": "2592000"' in text_env and '"BASELINE_MAX_ROWS": "100000"' in text_env
    role_policy = next(r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if "drift" in r.name)
    statements = json.dumps(policy_statements(role_policy))
    assert "fraud-detection-prod-transactions-222222222222/snapshots/*" in statements
    assert "fraud-detection-prod-transactions-222222222222/*" not in statements


def test_the_job_reads_the_newest_baseline_files_within_the_window() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from mlops_infra.compile.kubernetes.scripts.drift_job import baseline_files

    now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    files = [SimpleNamespace(path=f"b/{name}", mtime=now - dt.timedelta(days=age))
             for name, age in (("old.parquet", 90), ("mid.parquet", 20), ("new.csv", 1), ("notes.txt", 0))]
    assert [f.path for f in baseline_files(files, now, 30 * 86400)] == ["b/new.csv", "b/mid.parquet"]
    assert [f.path for f in baseline_files(files, now, None)] == ["b/new.csv", "b/mid.parquet", "b/old.parquet"]
