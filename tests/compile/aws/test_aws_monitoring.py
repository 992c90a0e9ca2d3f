"""AWS alarms on drift: stale values end the ALARM and channels hear about it (B11.7)."""

from __future__ import annotations

import pytest

from tests.compile.aws.cases import CASES, compiled, of_type, system

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.mark.parametrize(("case_id", "path", "env"), CASES, ids=[c[0] for c in CASES])
def test_drift_alarms_treat_missing_runs_as_missing_and_notify_on_insufficient_data(case_id, path, env) -> None:
    effective = system(path, env)
    graph = compiled(path, env)
    metric_of = {a.name: effective.item("monitors", a.monitor).metric for a in effective.alerts}
    for alarm in of_type(graph, ALARM):
        alert = alarm.address.split(".", 1)[1]
        inputs = alarm.inputs
        if metric_of[alert] in ("feature_drift", "prediction_drift", "data_quality", "accuracy"):
            # CloudWatch: all datapoints of the evaluation range missing -> INSUFFICIENT_DATA (ALARM ends)
            assert inputs["treatMissingData"] == "missing"
            assert inputs["insufficientDataActions"] == inputs["alarmActions"] == inputs["okActions"]
        else:
            assert "insufficientDataActions" not in inputs
            assert inputs["treatMissingData"] == "notBreaching"
