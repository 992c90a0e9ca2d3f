"""Drift computed for real: the shipped drift job, with Evidently, on small generated data.

The job (``compile/kubernetes/scripts/drift_job.py``, the file both targets run) runs as its own
process with exactly the environment the compiler gives it, against a moto server standing in for
S3 (and CloudWatch on AWS):

- Kubernetes (fraud-detection dev): captured requests in the capture sink's format, the baseline as
  Parquet under the monitor's ``baseline_prefix`` (plus a decoy outside it that must not be read);
  the result is pushed to a real Pushgateway and read back through the compiled recording rule in a
  real Prometheus. Same distribution: a low score; one feature shifted: a high one, and the compiled
  ``fraud-drift`` alert (time compressed) fires.
- AWS (fraud-detection prod): captured traffic in SageMaker's data-capture JSON lines; the result is
  published as the CloudWatch metric the compiled drift alarm watches (namespace, name, dimensions),
  and the endpoint's compiled CloudWatch dashboard (put to the moto server) draws that very metric.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.graph import is_json
from mlops_infra.spec import parse_system
from tests.compile.test_drift_job_capture import processing_inputs
from tests.support.moto_server import REGION, client, running_moto_server
from tests.support.prometheus import PrometheusStack, compress_time, require

pytest.importorskip("evidently", reason="the drift tests need the test extra's evidently")
pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["amount", "merchant_id", "country", "is_fraud"]


def spec() -> str:
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    anchor = "    baseline: transactions\n"
    assert anchor in text
    return text.replace(anchor, anchor + "    baseline_prefix: snapshots/\n    baseline_window: 30d\n")


def rows(n: int, seed: int, shift: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"amount": round(rng.gauss(50 + shift, 10), 2), "merchant_id": f"m{rng.randint(1, 20)}",
             "country": rng.choice(["DE", "FR", "NL", "ES"]), "is_fraud": rng.random() < 0.02} for _ in range(n)]


def parquet(records: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), out)
    return out.getvalue()


def _env(container_env: list[dict[str, str]], **overrides: str) -> dict[str, str]:
    # an entry without value is "" (core/v1 EnvVar.value): the compiler leaves an empty one out, as
    # pulumi-kubernetes stores it (1ad9b9c4)
    values = {e["name"]: e.get("value", "") for e in container_env}
    values.update(overrides)
    return values


def run_job(script: Path, env: dict[str, str], moto_url: str) -> str:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env,
            "AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_S3": moto_url, "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([sys.executable, str(script)], env=full, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _script(graph, directory: Path) -> Path:
    source = next(r.inputs for r in graph.resources if r.type == "kubernetes:core/v1:ConfigMap"
                  and r.inputs["metadata"]["name"] == "mlops-scripts")["data"]["drift_job.py"]
    path = directory / "drift_job.py"
    path.write_text(source)
    return path


def _kserve_capture(s3, bucket: str, endpoint: str, now: dt.datetime, records: list[dict[str, Any]]) -> None:
    """The capture sink's documents (scripts/capture_sink.py ``record``: id, kind, time, payload)."""
    at = now - dt.timedelta(minutes=5)
    hour = f"{at:%Y/%m/%d/%H}"
    for n in range(0, len(records), 50):
        event_id = f"ev{n:05d}"
        batch = [{k: r[k] for k in ("amount", "merchant_id", "country")} for r in records[n:n + 50]]
        s3.put_object(Bucket=bucket, Key=f"{endpoint}/{hour}/{event_id}-request.json",
                      Body=json.dumps({"id": event_id, "kind": "request", "time": at.isoformat(),
                                       "payload": {"instances": batch}}))
        s3.put_object(Bucket=bucket, Key=f"{endpoint}/{hour}/{event_id}-response.json",
                      Body=json.dumps({"id": event_id, "kind": "response", "time": at.isoformat(),
                                       "payload": {"predictions": [0.1] * len(batch)}}))


def test_kubernetes_drift_is_pushed_and_read_by_the_compiled_rules(tmp_path: Path) -> None:
    require()
    system = parse_system(spec(), "mlsystem.yaml", "dev").system
    graph = compile_system(system, "dev")
    cronjob = next(r.inputs for r in graph.resources if r.type == "kubernetes:batch/v1:CronJob"
                   and r.inputs["metadata"]["name"] == "monitor-drift")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    script = _script(graph, tmp_path)
    document = compress_time(rule_file(graph), 720)  # fraud-drift: for 2h -> 10s
    with running_moto_server() as moto_url, PrometheusStack(tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[document]) as stack:
        s3 = client("s3", moto_url)
        env = _env(container["env"], PUSHGATEWAY_URL=stack.pushgateway_url)
        capture_bucket = env["CAPTURE_URI"].removeprefix("s3://").strip("/")
        baseline_bucket, prefix = env["BASELINE_URI"].removeprefix("s3://").split("/", 1)
        assert prefix == "snapshots/" and env["BASELINE_WINDOW_SECONDS"] == str(30 * 86400)
        for bucket in (capture_bucket, baseline_bucket):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=baseline_bucket, Key="snapshots/2026-11/part-0.parquet", Body=parquet(rows(2000, 1)))
        # outside the baseline prefix: if the job read it, the shifted baseline would make "no drift" drift
        s3.put_object(Bucket=baseline_bucket, Key="archive/2024/part-0.parquet", Body=parquet(rows(2000, 2, 400)))
        now = dt.datetime.now(dt.UTC)
        value = 'mlops:monitor_value{mlops_monitor="drift"}'

        _kserve_capture(s3, capture_bucket, "scorer", now, rows(600, 3))
        out = run_job(script, env, moto_url)
        assert "drift: feature_drift = " in out
        low = stack.wait_for_value(value, lambda v: True, timeout=30)
        assert low <= 0.2  # no column drifted (threshold 0.2)

        _kserve_capture(s3, capture_bucket, "scorer", now, rows(600, 4, shift=40))
        run_job(script, env, moto_url)
        high = stack.wait_for_value(value, lambda v: v > 0.2, timeout=30)
        assert high >= 1 / 3  # amount drifted: one of the three shared columns at least
        pushed = stack.query('push_time_seconds{job="mlops-monitor", monitor="drift"}')
        assert pushed and pushed[0]["metric"]["system"] == "fraud-detection"
        stack.wait_for_value('ALERTS{alertname="fraud-drift", alertstate="firing"}', lambda v: v == 1, timeout=40)


def _sagemaker_capture(s3, bucket: str, prefix: str, endpoint: str, now: dt.datetime,
                       records: list[dict[str, Any]]) -> None:
    hour = f"{now - dt.timedelta(minutes=5):%Y/%m/%d/%H}"
    lines = []
    for n, record in enumerate(records):
        body = {"instances": [{k: record[k] for k in ("amount", "merchant_id", "country")}]}
        lines.append(json.dumps({
            "captureData": {
                "endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                                  "data": json.dumps(body), "encoding": "JSON"},
                "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                   "data": json.dumps({"predictions": [0.1]}), "encoding": "JSON"}},
            "eventMetadata": {"eventId": f"e{n:05d}", "inferenceTime": now.isoformat()}, "eventVersion": "0"}))
    s3.put_object(Bucket=bucket, Key=f"{prefix}{endpoint}/primary/{hour}/capture.jsonl", Body="\n".join(lines))


def test_aws_drift_is_published_as_the_metric_the_alarm_watches(tmp_path: Path) -> None:
    system = parse_system(spec(), "mlsystem.yaml", "prod").system
    graph = compile_system(system, "prod")
    pipeline = next(r for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
                    and r.name == "drift-drift-pipeline")
    definition = pipeline.inputs["pipelineDefinition"]
    definition = definition["$json"] if is_json(definition) else json.loads(definition)
    step = definition["Steps"][0]["Arguments"]
    # pipeline expressions ({"Get": "Parameters.TriggeredBy"}) are resolved by SageMaker at run time
    env = {k: v if isinstance(v, str) else "schedule" for k, v in step["Environment"].items()}
    # the contract file the step downloads (ProcessingInputs), where SageMaker puts it (audit limits-1)
    env = processing_inputs(graph, step.get("ProcessingInputs", []), env)
    assert env["SINK"] == "cloudwatch" and env["CAPTURE_FORMAT"] == "sagemaker"
    alarm = next(r.inputs for r in graph.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
                 and r.name == "fraud-drift-alarm")
    dev_graph = compile_system(parse_system(spec(), "mlsystem.yaml", "dev").system, "dev")
    script = _script(dev_graph, tmp_path)  # the same file the image is built from
    with running_moto_server() as moto_url:
        s3, cloudwatch = client("s3", moto_url), client("cloudwatch", moto_url)
        capture_bucket, capture_prefix = env["CAPTURE_URI"].removeprefix("s3://").split("/", 1)
        baseline_bucket, prefix = env["BASELINE_URI"].removeprefix("s3://").split("/", 1)
        for bucket in {capture_bucket, baseline_bucket}:
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=baseline_bucket, Key=f"{prefix}part-0.parquet", Body=parquet(rows(2000, 1)))
        now = dt.datetime.now(dt.UTC)
        _sagemaker_capture(s3, capture_bucket, capture_prefix, env["ENDPOINT"], now, rows(600, 5, shift=40))
        run_job(script, {**env, "REPORT_DIR": str(tmp_path / "report")}, moto_url)
        dimensions = [{"Name": k, "Value": v} for k, v in sorted(alarm["dimensions"].items())]
        stats = cloudwatch.get_metric_statistics(
            Namespace=alarm["namespace"], MetricName=alarm["metricName"], Dimensions=dimensions,
            StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(hours=1), Period=3600,
            Statistics=["Maximum"])
        [point] = stats["Datapoints"]
        assert point["Maximum"] > alarm["threshold"]  # the alarm's comparison: GreaterThanThreshold
        report = json.loads((tmp_path / "report" / "drift.json").read_text())
        assert report["value"] == pytest.approx(point["Maximum"]) and report["currentRows"] == 600
        # the endpoint's dashboard draws exactly the metric the job published, with the alarm's threshold
        board = next(r.inputs for r in graph.resources if r.type == "aws:cloudwatch/dashboard:Dashboard"
                     and r.name == "scorer-dashboard")
        cloudwatch.put_dashboard(DashboardName=board["dashboardName"], DashboardBody=board["dashboardBody"])
        widgets = json.loads(cloudwatch.get_dashboard(DashboardName=board["dashboardName"])["DashboardBody"])["widgets"]
        drift = next(w["properties"] for w in widgets if w["properties"]["title"] == "feature_drift (drift)")
        [row] = drift["metrics"]
        published = cloudwatch.list_metrics(Namespace=row[0], MetricName=row[1])["Metrics"]
        widget_dims = dict(zip(row[2::2], row[3::2], strict=True))
        assert [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in published] == [widget_dims]
        assert [line["value"] for line in drift["annotations"]["horizontal"]] == [alarm["threshold"]]
