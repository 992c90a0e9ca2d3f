"""The data contract's types in the real drift loop (audit contract-1 and contract-3).

The shipped drift job runs as its own process with the environment the compiler gives each
CronJob (fraud-detection dev), against a moto server standing in for S3, pushing to a real
Pushgateway read by a real Prometheus with the compiled rules (the harness of
tests/monitoring/test_drift_loop.py):

- contract-1, the audit's reproduction: a CSV baseline whose ``merchant_id`` (``string`` in the
  contract) looks numeric, and 600 requests from the same generator sending the ids as strings.
  Before: ``feature_drift = 0.333``, ``fraud-drift`` firing (and, on the reference, a retraining run
  every time). Now the published value is within the threshold and the alert stays inactive.
- contract-1: ``amount`` sent as text: before, Evidently raised and nothing was published; now the
  job publishes and reports the bad values. A ``data_quality`` monitor counts them and a column the
  traffic stopped sending (``country``) as missing.
- contract-3: a ``prediction_drift`` monitor with a ``baseline`` is compiled without it and
  publishes from the previous window of captured predictions (before: never, the baseline has no
  ``prediction`` column).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.monitoring.test_drift_loop import COLUMNS, REPO, _env, _script, run_job
from tests.support.moto_server import client, running_moto_server
from tests.support.prometheus import PrometheusStack, compress_time, require

pytest.importorskip("evidently", reason="the drift tests need the test extra's evidently")

FACTOR = 720  # fraud-drift: for 2h -> 10s


def records(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"amount": round(rng.gauss(50, 10), 2), "merchant_id": str(rng.randint(1000, 1019)),
             "country": rng.choice(["DE", "FR", "NL", "ES"]), "is_fraud": rng.random() < 0.02} for _ in range(n)]


def csv(data: list[dict[str, Any]]) -> str:
    lines = [",".join(COLUMNS)] + [f"{r['amount']},{r['merchant_id']},{r['country']},{str(r['is_fraud']).lower()}"
                                   for r in data]
    return "\n".join(lines) + "\n"


def spec() -> str:
    """The example plus a data_quality and a prediction_drift monitor on the same endpoint, both
    naming the baseline (the quality monitor reads its contract; the prediction_drift one is warned)."""
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    anchor = "\nalerts:\n"
    assert anchor in text
    extra = ("  - name: quality\n    endpoint: scorer\n    metric: data_quality\n    baseline: transactions\n"
             "    threshold: 0.1\n"
             "  - name: pdrift\n    endpoint: scorer\n    metric: prediction_drift\n    baseline: transactions\n"
             "    threshold: 0.2\n")
    return text.replace(anchor, "\n" + extra + anchor.lstrip("\n"), 1)


def container_env(graph, name: str, **overrides: str) -> dict[str, str]:
    cronjob = next(r.inputs for r in graph.resources if r.type == "kubernetes:batch/v1:CronJob"
                   and r.inputs["metadata"]["name"] == f"monitor-{name}")
    return _env(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"], **overrides)


def capture(s3, bucket: str, at: dt.datetime, data: list[dict[str, Any]], name: str,
            columns: tuple[str, ...] = ("amount", "merchant_id", "country"), seed: int = 0) -> None:
    """The capture sink's documents (scripts/capture_sink.py ``record``), 50 rows a request, each
    answered with one prediction a row."""
    rng = random.Random(seed)
    hour = f"{at:%Y/%m/%d/%H}"
    for n in range(0, len(data), 50):
        event_id = f"{name}{n:05d}"
        batch = [{k: r[k] for k in columns} for r in data[n:n + 50]]
        for kind, payload in (("request", {"instances": batch}),
                              ("response", {"predictions": [round(rng.random(), 3) for _ in batch]})):
            s3.put_object(Bucket=bucket, Key=f"scorer/{hour}/{event_id}-{kind}.json",
                          Body=json.dumps({"id": event_id, "kind": kind, "time": at.isoformat(), "payload": payload}))


def empty(s3, *buckets: str) -> None:
    """Create the compiled buckets, or empty them: moto keeps a bucket's objects across servers in
    one test process, and tests/monitoring/test_drift_loop.py uses the same compiled bucket names."""
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])


@contextlib.contextmanager
def own(s3, *buckets: str) -> Iterator[None]:
    """The buckets, empty, for one test; emptied again after it."""
    empty(s3, *buckets)
    try:
        yield
    finally:
        empty(s3, *buckets)


def test_numeric_looking_string_ids_in_a_csv_baseline_do_not_fire_fraud_drift(tmp_path: Path) -> None:
    require()
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    graph = compile_system(parse_system(text, "mlsystem.yaml", "dev").system, "dev")
    script = _script(graph, tmp_path)
    with running_moto_server() as moto_url, PrometheusStack(
            tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[compress_time(rule_file(graph), FACTOR)]) as stack:
        s3 = client("s3", moto_url)
        env = container_env(graph, "drift", PUSHGATEWAY_URL=stack.pushgateway_url, REPORT_DIR=str(tmp_path / "r"))
        capture_bucket = env["CAPTURE_URI"].removeprefix("s3://").strip("/")
        baseline_bucket = env["BASELINE_URI"].removeprefix("s3://").split("/", 1)[0]
        with own(s3, capture_bucket, baseline_bucket):
            s3.put_object(Bucket=baseline_bucket, Key="2026-11/part-0.csv", Body=csv(records(2000, 1)))
            now = dt.datetime.now(dt.UTC)
            capture(s3, capture_bucket, now - dt.timedelta(minutes=5), records(600, 3), "ev")  # same generator
            out = run_job(script, env, moto_url)
            assert "drift: feature_drift = 0.0" in out, out
            recorded = stack.wait_for_value('mlops:monitor_value{mlops_monitor="drift"}', lambda v: True, timeout=30)
            assert recorded <= 0.2  # the compiled fraud-drift threshold
            report = json.loads((tmp_path / "r" / "drift.json").read_text())
            assert (report["currentRows"], report["referenceRows"], report["badValues"]) == (600, 2000, {})
            time.sleep(12)  # longer than the compressed `for` (10s), at 1s evaluations
            assert [a for a in stack.alerts() if a["labels"]["alertname"] == "fraud-drift"] == []
            assert stack.value('mlops:monitor_value{mlops_monitor="drift"}') == recorded
            assert json.loads(env["COLUMN_TYPES"])["merchant_id"] == "string"


def test_wrong_types_absent_columns_and_prediction_drift_publish(tmp_path: Path) -> None:
    require()
    graph = compile_system(parse_system(spec(), "mlsystem.yaml", "dev").system, "dev")
    script = _script(graph, tmp_path)
    with running_moto_server() as moto_url, PrometheusStack(tmp_path / "stack") as stack:
        s3 = client("s3", moto_url)
        envs = {name: container_env(graph, name, PUSHGATEWAY_URL=stack.pushgateway_url,
                                    REPORT_DIR=str(tmp_path / name)) for name in ("drift", "quality", "pdrift")}
        capture_bucket = envs["drift"]["CAPTURE_URI"].removeprefix("s3://").strip("/")
        baseline_bucket = envs["drift"]["BASELINE_URI"].removeprefix("s3://").split("/", 1)[0]
        with own(s3, capture_bucket, baseline_bucket):
            s3.put_object(Bucket=baseline_bucket, Key="2026-11/part-0.csv", Body=csv(records(2000, 1)))
            now = dt.datetime.now(dt.UTC)

            # the previous window: every feature, as the contract says; the current one: half the
            # amounts as text
            capture(s3, capture_bucket, now - dt.timedelta(minutes=65), records(600, 2), "prev", seed=1)
            text_amounts = [{**r, "amount": f"{r['amount']:.2f}" if n % 2 else r["amount"]}
                            for n, r in enumerate(records(300, 3))]
            capture(s3, capture_bucket, now - dt.timedelta(minutes=5), text_amounts, "txt", seed=2)

            def pushed(monitor: str) -> float:
                return stack.wait_for_value(f'mlops_monitor_value{{monitor="{monitor}"}}', lambda v: True, timeout=30)

            run_job(script, envs["drift"], moto_url)  # exit 0: before, Evidently raised here
            assert pushed("drift") <= 0.2
            report = json.loads((tmp_path / "drift" / "drift.json").read_text())
            assert report["badValues"] == {"amount": 150} and report["value"] is not None

            run_job(script, envs["quality"], moto_url)
            with_text = pushed("quality")
            assert with_text == pytest.approx(150 / (300 * 4))  # amount, merchant_id, country, prediction

            # country gone from the whole current window: counted as an absent column (before: 0.0)
            s3_objects = s3.list_objects_v2(Bucket=capture_bucket)["Contents"]
            for key in (o["Key"] for o in s3_objects if "/txt" in o["Key"]):
                s3.delete_object(Bucket=capture_bucket, Key=key)
            capture(s3, capture_bucket, now - dt.timedelta(minutes=4), records(300, 4), "nocountry",
                    columns=("amount", "merchant_id"), seed=3)
            run_job(script, envs["quality"], moto_url)
            assert stack.wait_for_value('mlops_monitor_value{monitor="quality"}', lambda v: v == 0.25,
                                        timeout=30) == 0.25  # country: 1 of 4 columns
            report = json.loads((tmp_path / "quality" / "drift.json").read_text())
            assert report["absentColumns"] == ["country"]

            assert envs["pdrift"]["BASELINE_URI"] == "" and envs["quality"]["BASELINE_URI"]
            out = run_job(script, envs["pdrift"], moto_url)
            assert "pdrift: prediction_drift = " in out, out
            assert pushed("pdrift") >= 0
