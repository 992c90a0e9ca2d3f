"""What the drift job reads from captured traffic: which column each value is, and which window a
request falls in. The job (``compile/kubernetes/scripts/drift_job.py``, the program both targets
run) runs in-process with exactly the environment the compiler gives the fraud-detection example's
``drift`` monitor (AWS prod: the Processing step's ``Environment``; Kubernetes dev: the CronJob's
container env) on a local directory standing in for the bucket; what it would publish is recorded.

- Columns (audit finding, high): a positional request row (SageMaker's CSV capture, KServe
  ``{"instances": [[...]]}``, a bare JSON list of rows) is named by the data contract's column order
  (``amount, merchant_id, country, is_fraud``), not by sorted names; the label is not in a request,
  so a 3-value row is ``amount, merchant_id, country``. Undrifted traffic scores no drift.
- Windows (audit finding, medium-high): without a baseline, the reference is the window before the
  current one by each record's own time (SageMaker ``eventMetadata.inferenceTime``, the capture
  sink's ``time``), not the hour folders, which overlap by an hour.
- Unreadable payloads (audit finding, medium): counted, logged and reported, not silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.scripts import drift_job
from mlops_infra.graph import DesiredGraph, is_json
from mlops_infra.spec import parse_system

pytest.importorskip("evidently", reason="the drift job's scores need the test extra's evidently")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
from pyarrow import fs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CONTRACT = ["amount", "merchant_id", "country", "is_fraud"]  # examples/fraud-detection, in the spec's order
FEATURES = CONTRACT[:3]  # what a scoring request carries: no label


def _spec(*, with_baseline: bool = True) -> str:
    """The example; without a baseline its drift monitor measures prediction drift against the
    previous window (feature_drift needs a baseline: spec/signals.py baseline-required)."""
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    anchor = "    metric: feature_drift           # feature_drift | prediction_drift | data_quality | accuracy | latency_p99 | error_rate\n    baseline: transactions\n"
    assert anchor in text
    return text if with_baseline else text.replace(anchor, "    metric: prediction_drift\n")


def _graph(env: str, *, with_baseline: bool = True) -> DesiredGraph:
    return compile_system(parse_system(_spec(with_baseline=with_baseline), "mlsystem.yaml", env).system, env)


def compiled_env(target: str, *, with_baseline: bool = True) -> dict[str, str]:
    """The drift monitor's job environment as compiled (aws: prod; kubernetes: dev). On AWS the
    step's ``ProcessingInputs`` are downloaded as SageMaker does (:func:`processing_inputs`)."""
    if target == "aws":
        graph = _graph("prod", with_baseline=with_baseline)
        pipeline = next(r for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
                        and r.name == "drift-drift-pipeline")
        definition = pipeline.inputs["pipelineDefinition"]
        definition = definition["$json"] if is_json(definition) else json.loads(definition)
        arguments = definition["Steps"][0]["Arguments"]
        # pipeline expressions ({"Get": "Parameters.TriggeredBy"}) are resolved by SageMaker at run time
        env = {k: v if isinstance(v, str) else "schedule" for k, v in arguments["Environment"].items()}
        return processing_inputs(graph, arguments.get("ProcessingInputs", []), env)
    graph = _graph("dev", with_baseline=with_baseline)
    cronjob = next(r.inputs for r in graph.resources if r.type == "kubernetes:batch/v1:CronJob"
                   and r.inputs["metadata"]["name"] == "monitor-drift")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def processing_inputs(graph: DesiredGraph, inputs: list[dict[str, Any]], env: dict[str, str]) -> dict[str, str]:
    """``env`` after SageMaker's download of the step's inputs: each input's S3 object (the stack's
    ``BucketObjectv2`` at that bucket and key, its ``content``) written under a local directory standing
    in for its ``LocalPath``, under the object's own name (``S3Prefix`` of one key: compile/aws/monitoring.py
    ``_contract_inputs``), and the paths in ``env`` that point into ``LocalPath`` moved there."""
    if not inputs:
        return env
    objects = {f"s3://{r.inputs['bucket']}/{r.inputs['key']}": r.inputs["content"]
               for r in graph.resources if r.type == "aws:s3/bucketObjectv2:BucketObjectv2"}
    root = Path(tempfile.mkdtemp(prefix="processing-inputs-"))
    for item in inputs:
        uri, local = item["S3Input"]["S3Uri"], item["S3Input"]["LocalPath"]
        here = root / local.strip("/")
        here.mkdir(parents=True)
        (here / uri.rsplit("/", 1)[1]).write_text(objects[uri], encoding="utf-8")
        env = {k: str(here) + v[len(local):] if v.startswith(local + "/") else v for k, v in env.items()}
    return env


def rows(n: int, seed: int, shift: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"amount": round(rng.gauss(50 + shift, 10), 2), "merchant_id": f"m-{rng.randint(1, 20)}",
             "country": rng.choice(["DE", "FR", "NL", "ES"]), "is_fraud": rng.random() < 0.02} for _ in range(n)]


class Bucket:
    """A local directory laid out as the job's object store paths (``<bucket>/<key>``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = fs.SubTreeFileSystem(str(root), fs.LocalFileSystem())

    def put(self, uri: str, key: str, body: bytes | str) -> None:
        bucket, prefix = drift_job.split_uri(uri)
        path = self.root / bucket / prefix / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode())

    def baseline(self, env: dict[str, str], records: list[dict[str, Any]]) -> None:
        table = pa.Table.from_pylist(records)
        bucket, prefix = drift_job.split_uri(env["BASELINE_URI"])
        path = self.root / bucket / prefix / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, str(path))

    def capture(self, env: dict[str, str], at: dt.datetime, payloads: list[object], name: str) -> None:
        """Requests captured at ``at`` in the target's format, each answered with one prediction
        per row; ``name`` keeps objects of one call apart."""
        hour = f"{at:%Y/%m/%d/%H}"
        if env["CAPTURE_FORMAT"] == "sagemaker":
            lines = [json.dumps(sagemaker_record(f"{name}-{n}", at, payload)) for n, payload in enumerate(payloads)]
            self.put(env["CAPTURE_URI"], f"{env['ENDPOINT']}/AllTraffic/{hour}/{name}.jsonl", "\n".join(lines))
            return
        for n, payload in enumerate(payloads):  # the capture sink's documents (scripts/capture_sink.py record)
            event_id = f"{name}-{n}"
            for kind, body in (("request", payload), ("response", {"predictions": [0.1] * _count(payload)})):
                document = {"id": event_id, "kind": kind, "time": at.isoformat(), "payload": body}
                self.put(env["CAPTURE_URI"], f"{env['ENDPOINT']}/{hour}/{event_id}-{kind}.json", json.dumps(document))


def _count(payload: object) -> int:
    if isinstance(payload, str):  # CSV
        return len(payload.splitlines())
    if isinstance(payload, dict) and isinstance(payload.get("instances"), list):
        return len(payload["instances"])
    return len(payload) if isinstance(payload, list) else 1


def sagemaker_record(event_id: str, at: dt.datetime, payload: object) -> dict[str, Any]:
    """One SageMaker data-capture line: ``captureData`` + ``eventMetadata.eventId``/``inferenceTime``
    (ISO 8601 UTC, whole seconds, ``Z``), as the record example of
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html shows it.
    A ``str`` payload is a ``text/csv`` request."""
    csv = isinstance(payload, str)
    request = {"observedContentType": "text/csv" if csv else "application/json", "mode": "INPUT",
               "data": payload if csv else json.dumps(payload), "encoding": "CSV" if csv else "JSON"}
    response = {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "\n".join(["0.1"] * _count(payload)),
                "encoding": "CSV"}
    return {"captureData": {"endpointInput": request, "endpointOutput": response},
            "eventMetadata": {"eventId": event_id, "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "eventVersion": "0"}


def run_job(env: dict[str, str], bucket: Bucket, now: dt.datetime, tmp_path: Path,
            monkeypatch) -> tuple[float | None, dict[str, Any]]:
    published: list[float] = []
    monkeypatch.setattr(drift_job, "publish", lambda _env, value, _now: published.append(value))
    report_dir = tmp_path / "report"
    value = drift_job.run({**env, "REPORT_DIR": str(report_dir)}, now, bucket.store)
    assert published == ([] if value is None else [value])
    return value, json.loads((report_dir / "drift.json").read_text())


def _csv(records: list[dict[str, Any]]) -> str:
    return "\n".join(",".join(str(r[c]) for c in FEATURES) for r in records)


def _positional(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"instances": [[r[c] for c in FEATURES] for r in records]}


# --- columns -------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_the_job_is_given_the_contract_columns_in_the_contracts_order(target):
    env = compiled_env(target)
    assert drift_job.contract(env)[0] == CONTRACT
    if target == "kubernetes":  # AWS: the contract file (compile/drift_job.py contract_file), not COLUMNS
        assert json.loads(env["COLUMNS"]) == CONTRACT


def test_a_csv_capture_row_is_named_by_the_contract_order():
    """The audit's example: SageMaker captures the CSV request ``12.5,m-991,FR``; it is amount,
    merchant_id, country (the request carries no ``is_fraud``)."""
    columns = drift_job.contract(compiled_env("aws"))[0]
    line = json.dumps(sagemaker_record("e1", dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC), "12.5,m-991,FR"))
    assert drift_job.join(drift_job.sagemaker_events(line, columns), columns) == [
        {"amount": 12.5, "merchant_id": "m-991", "country": "FR", "prediction": 0.1}]


@pytest.mark.parametrize(("target", "payload"), [("aws", _csv), ("aws", _positional), ("kubernetes", _positional)])
def test_undrifted_positional_traffic_scores_no_drift(target, payload, tmp_path, monkeypatch):
    """Same distribution in the baseline and the captured requests: no column drifted (the
    monitor's threshold is 0.2). With columns in sorted order the countries were compared with
    merchant ids and ``is_fraud`` with countries: two of three columns drifted."""
    env = compiled_env(target)
    bucket = Bucket(tmp_path / "s3")
    bucket.baseline(env, rows(2000, 1))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    records = rows(600, 3)
    bucket.capture(env, now - dt.timedelta(minutes=10), [payload(records[n:n + 50]) for n in range(0, 600, 50)], "a")
    value, report = run_job(env, bucket, now, tmp_path, monkeypatch)
    assert report["currentRows"] == 600
    assert value is not None and value <= 0.2


# --- windows -------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 21, 9, 5, tzinfo=dt.UTC)  # the hourly job at 09:05: current [08:05, 09:05)


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_without_a_baseline_the_reference_is_the_window_before_by_each_records_time(target, tmp_path, monkeypatch):
    """Hour folders 08 and 09 hold the current window and folder 08 also the previous one's last
    minutes: at 09:05 with a 1h window, 08:02 is reference, 08:30 current; 06:50 and 09:06 neither."""
    env = compiled_env(target, with_baseline=False)
    assert env.get("BASELINE_URI", "") == "" and env["WINDOW_SECONDS"] == "3600"
    bucket = Bucket(tmp_path / "s3")
    data = rows(650, 7)
    at = {"06:50": 50, "07:30": 100, "08:02": 100, "08:30": 200, "09:01": 150, "09:06": 50}
    start = 0
    for clock, count in at.items():
        hour, minute = map(int, clock.split(":"))
        moment = NOW.replace(hour=hour, minute=minute)
        chunk = data[start:start + count]
        start += count
        bucket.capture(env, moment, [{"instances": [{c: r[c] for c in FEATURES} for r in chunk[n:n + 50]]}
                                     for n in range(0, count, 50)], clock.replace(":", ""))
    _value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert (report["currentRows"], report["referenceRows"]) == (200 + 150, 100 + 100)
    assert report["untimedRecords"] == 0 and report["unreadableRecords"] == 0


def test_windows_split_requests_by_their_own_time_and_count_the_untimed():
    events = [{"id": "a", "kind": "request", "time": "2026-11-21T08:04:59Z"},
              {"id": "b", "kind": "request", "time": "2026-11-21T08:05:00.123456789Z"},  # RFC 3339 nanoseconds
              {"id": "c", "kind": "request", "time": "2026-11-21T09:05:00+00:00"},  # == now: next window
              {"id": "d", "kind": "request", "time": "2026-11-21T07:05:00"},  # no offset: UTC
              {"id": "e", "kind": "request"}, {"id": "f", "kind": "request", "time": "yesterday"},
              {"id": "b", "kind": "response"}]
    tally = drift_job.collections.Counter()
    current, previous = drift_job.windows(events, NOW, 3600, tally)
    assert [e["id"] for e in current] == ["b", "b"] and [e["id"] for e in previous] == ["b", "a", "d"]
    assert tally == {"untimedRecords": 2}


# --- payloads the job cannot read ----------------------------------------------------------------


def test_payload_shapes():
    columns = CONTRACT
    assert drift_job.rows_of([[12.5, "m-991", "FR"], {"amount": 3.0}], columns) == [
        {"amount": 12.5, "merchant_id": "m-991", "country": "FR"}, {"amount": 3.0}]
    assert drift_job.rows_of({"instances": [7.5]}, ["amount"]) == [{"amount": 7.5}]
    assert drift_job.rows_of({"inputs": [{"name": "amount", "data": [1.0, 2.0]}]}, columns) == [
        {"amount": 1.0}, {"amount": 2.0}]
    assert drift_job.rows_of({"instances": [[1, 2]]}, []) == [{"0": 1, "1": 2}]
    # Open Inference Protocol: one [N, F] input is a batch of N rows, its data flat or nested
    batch = [12.5, "m-991", "FR", 3.0, "m-1", "DE"]
    expected = [{"amount": 12.5, "merchant_id": "m-991", "country": "FR"},
                {"amount": 3.0, "merchant_id": "m-1", "country": "DE"}]
    for data in (batch, [batch[:3], batch[3:]]):
        assert drift_job.rows_of({"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "BYTES",
                                              "data": data}]}, columns) == expected
    assert drift_job.rows_of({"inputs": [{"name": "amount", "shape": [2, 1], "data": [[1.0], [2.0]]}]}, columns) == [
        {"amount": 1.0}, {"amount": 2.0}]
    assert drift_job.predictions_of({"outputs": [{"name": "p", "shape": [2, 1], "data": [[0.1], [0.9]]}]}) == [0.1, 0.9]
    two_batches = {"inputs": [{"name": "a", "shape": [1, 2], "data": [1, 2]}, {"name": "b", "shape": [1, 2], "data": [3, 4]}]}
    unreadable = [two_batches, {"inputs": "a text"}, {"inputs": ["a text", "another"]}, [12.5, "m-991", "FR"], "12.5",
                  {"instances": [[1, 2, 3, 4, 5]]}, {"predict": [[1]]}, None]
    assert [drift_job.rows_of(p, columns) for p in unreadable] == [None] * len(unreadable)


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_unreadable_records_are_counted_logged_and_reported(target, tmp_path, monkeypatch, capsys):
    """A bare list of rows is read positionally; Hugging Face style ``{"inputs": [...]}`` and
    records that are not capture records are counted: with only those, nothing is published and
    the log and the report say why instead of leaving the alarm silently without data."""
    env = compiled_env(target)
    bucket = Bucket(tmp_path / "s3")
    bucket.baseline(env, rows(500, 1))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    records = rows(100, 3)
    bucket.capture(env, now - dt.timedelta(minutes=3), [[[r[c] for c in FEATURES] for r in records]], "bare")
    bucket.capture(env, now - dt.timedelta(minutes=2), [{"inputs": ["a text"]}, {"inputs": "text"}], "hf")
    if env["CAPTURE_FORMAT"] == "sagemaker":
        bucket.put(env["CAPTURE_URI"], f"{env['ENDPOINT']}/AllTraffic/{now - dt.timedelta(minutes=1):%Y/%m/%d/%H}/x.jsonl",
                   "not json\n{\"captureData\": {}}\n")
    else:
        bucket.put(env["CAPTURE_URI"], f"{env['ENDPOINT']}/{now - dt.timedelta(minutes=1):%Y/%m/%d/%H}/x-request.json",
                   "not json")
        bucket.put(env["CAPTURE_URI"], f"{env['ENDPOINT']}/{now - dt.timedelta(minutes=1):%Y/%m/%d/%H}/y-request.json",
                   json.dumps({"id": "y", "kind": "request", "payload": {"instances": [[1.0]]}}))  # no time
    value, report = run_job(env, bucket, now, tmp_path, monkeypatch)
    assert value is not None and report["currentRows"] == 100
    unreadable, untimed = (4, 0) if target == "aws" else (3, 1)
    assert (report["unreadableRecords"], report["untimedRecords"]) == (unreadable, untimed)
    err = capsys.readouterr().err
    assert f"drift: left out {unreadable} captured records" in err and f"{untimed} without a readable time" in err


def test_the_capture_sinks_documents_carry_the_time_the_windows_use():
    """The Kubernetes capture format is what ``scripts/capture_sink.py`` ``record`` writes: ``time`` is
    the CloudEvent's ``ce-time`` (KServe's logger sets it), else the sink's clock. A request logged at
    08:04:59 and stored a little later (under hour 09) belongs to the previous window."""
    from mlops_infra.compile.kubernetes.scripts import capture_sink

    request_type = next(t for t, kind in capture_sink.KINDS.items() if kind == "request")
    logged = {"ce-id": "r1", "ce-type": request_type, "ce-time": "2026-11-21T08:04:59.5Z"}
    _key, body = capture_sink.record("scorer", logged, b'{"instances": [[1.0, "m-1", "DE"]]}', NOW)
    _key, untagged = capture_sink.record("scorer", {**logged, "ce-id": "r2", "ce-time": ""}, b"[[2.0]]",
                                         NOW - dt.timedelta(minutes=1))
    tally = drift_job.collections.Counter()
    current, previous = drift_job.windows([json.loads(body), json.loads(untagged)], NOW, 3600, tally)
    assert [e["id"] for e in current] == ["r2"] and [e["id"] for e in previous] == ["r1"] and not tally
