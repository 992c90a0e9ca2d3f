"""mlops-infra monitor job: computes one drift/quality metric of an endpoint and pushes it to the
Prometheus Pushgateway. Runs in the Evidently image (evidently, pandas, pyarrow).

Inputs (environment):
    MONITOR, METRIC (feature_drift | prediction_drift | data_quality | accuracy), ENDPOINT,
    SYSTEM, ENVIRONMENT, WINDOW_SECONDS, CAPTURE_BUCKET, BASELINE_URI (``s3://bucket/prefix/`` of
    Parquet or CSV files; empty: the previous window of captured traffic is the reference),
    COLUMNS (JSON {column: type} from the baseline's data contract; empty: every column),
    PUSHGATEWAY_URL, and S3 access as in capture_sink.py (AWS_* variables).

Current data: the requests captured in the last window (``<endpoint>/<yyyy>/<mm>/<dd>/<hh>/``),
their ``instances`` (KServe v1) or ``inputs`` (v2) rows as features, joined by event id with the
response's ``predictions`` as the ``prediction`` column. A ``label`` column, when the caller
sends one, feeds ``accuracy``.

Scores: ``feature_drift`` is the share of drifted columns (Evidently's ``DriftedColumnsCount``),
``prediction_drift`` the population stability index of the ``prediction`` column (``ValueDrift``
with ``method="psi"``, so higher always means more drift), ``data_quality`` the share of missing
values and ``accuracy`` the share of predictions equal to the label. Written for Evidently 0.7.

Output: ``mlops_monitor_value`` and ``mlops_monitor_last_success_timestamp_seconds`` with labels
system, environment, endpoint, monitor, metric, PUT to
``$PUSHGATEWAY_URL/metrics/job/mlops-monitor/system/<SYSTEM>/environment/<ENVIRONMENT>/monitor/<MONITOR>``
(replacing the previous push; the Pushgateway stamps the group's ``push_time_seconds``, which the
recording rule uses to ignore a stale value).
Nothing is pushed when there is no data, so the alert keeps its last state and the staleness of
the timestamp shows that the job is not producing results.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import urllib.parse
import urllib.request


def hours(end: dt.datetime, seconds: int) -> list[str]:
    """The hour prefixes (``yyyy/mm/dd/hh``) that cover ``seconds`` before ``end``."""
    start = end - dt.timedelta(seconds=seconds)
    cursor = start.replace(minute=0, second=0, microsecond=0)
    out = []
    while cursor < end:
        out.append(f"{cursor:%Y/%m/%d/%H}")
        cursor += dt.timedelta(hours=1)
    return out


def rows_of(request: object, columns: list[str]) -> list[dict]:
    """Feature rows of a KServe v1 (``instances``) or v2 (``inputs``) request payload."""
    if not isinstance(request, dict):
        return []
    if "instances" in request:
        rows = request["instances"]
        return [r if isinstance(r, dict) else dict(zip(columns or range(len(r)), r, strict=False)) for r in rows]
    if "inputs" in request:
        table = {i["name"]: i.get("data", []) for i in request["inputs"] if isinstance(i, dict) and "name" in i}
        length = max((len(v) for v in table.values()), default=0)
        return [{k: v[n] for k, v in table.items() if n < len(v)} for n in range(length)]
    return []


def predictions_of(response: object) -> list:
    if isinstance(response, dict):
        if "predictions" in response:
            return list(response["predictions"])
        if response.get("outputs"):
            return list(response["outputs"][0].get("data", []))
    return []


def join(events: list[dict], columns: list[str]) -> list[dict]:
    """Rows of captured requests with their response's prediction (by event id)."""
    requests = {e["id"]: e for e in events if e.get("kind") == "request"}
    responses = {e["id"]: e for e in events if e.get("kind") == "response"}
    out = []
    for event_id in sorted(requests):
        rows = rows_of(requests[event_id].get("payload"), columns)
        predictions = predictions_of((responses.get(event_id) or {}).get("payload"))
        for n, row in enumerate(rows):
            out.append({**row, **({"prediction": predictions[n]} if n < len(predictions) else {})})
    return out


def exposition(value: float, labels: dict[str, str], now: dt.datetime) -> str:
    """Prometheus text format for the two pushed series."""
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return (f"# TYPE mlops_monitor_value gauge\nmlops_monitor_value{{{text}}} {value}\n"
            f"# TYPE mlops_monitor_last_success_timestamp_seconds gauge\n"
            f"mlops_monitor_last_success_timestamp_seconds{{{text}}} {now.timestamp():.0f}\n")


def _s3():  # pragma: no cover - needs pyarrow and a store
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    scheme = "http" if endpoint.startswith("http://") else "https"
    return fs.S3FileSystem(access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
                           secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
                           session_token=os.environ.get("AWS_SESSION_TOKEN"),
                           region=os.environ.get("AWS_REGION", "us-east-1"),
                           endpoint_override=endpoint.split("://", 1)[-1] or None, scheme=scheme)


def _captured(s3, bucket: str, endpoint: str, prefixes: list[str]) -> list[dict]:  # pragma: no cover
    from pyarrow import fs

    events = []
    for prefix in prefixes:
        selector = fs.FileSelector(f"{bucket}/{endpoint}/{prefix}", allow_not_found=True, recursive=True)
        for info in s3.get_file_info(selector):
            if info.type == fs.FileType.File:
                with s3.open_input_stream(info.path) as stream:
                    events.append(json.loads(stream.read()))
    return events


def _baseline(s3, uri: str, columns: list[str]):  # pragma: no cover
    import pyarrow.dataset as ds

    path = uri.removeprefix("s3://").rstrip("/")
    fmt = "csv" if path.endswith(".csv") else "parquet"
    table = ds.dataset(path, filesystem=s3, format=fmt).to_table(columns=columns or None)
    return table.to_pandas()


def score(metric: str, current, reference) -> float | None:  # pragma: no cover - needs evidently
    """The monitor's value: drift share, prediction drift score, missing-value share or accuracy."""
    if metric == "data_quality":
        return float(current.isna().mean().mean()) if len(current) else None
    if metric == "accuracy":
        if "label" not in current or "prediction" not in current:
            return None
        return float((current["label"] == current["prediction"]).mean())
    from evidently import Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    if metric == "prediction_drift":
        if "prediction" not in current or "prediction" not in reference:
            return None
        report = Report([ValueDrift(column="prediction", method="psi")])  # PSI: higher is more drift
    else:
        shared = [c for c in current.columns if c in reference.columns and c != "prediction"]
        current, reference = current[shared], reference[shared]
        report = Report([DriftedColumnsCount()])
    value = report.run(current_data=current, reference_data=reference).dict()["metrics"][0]["value"]
    return float(value["share"] if isinstance(value, dict) else value)


def push_path(labels: dict[str, str]) -> str:
    """The Pushgateway group of one monitor: job ``mlops-monitor`` + system, environment, monitor."""
    parts = [("job", "mlops-monitor")] + [(k, labels[k]) for k in ("system", "environment", "monitor")]
    return "/metrics/" + "/".join(f"{k}/{urllib.parse.quote(v, safe='')}" for k, v in parts)


def push(url: str, labels: dict[str, str], body: str) -> None:
    request = urllib.request.Request(f"{url.rstrip('/')}{push_path(labels)}",
                                     data=body.encode(), method="PUT", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def main() -> int:  # pragma: no cover - runs in the cluster
    import pandas as pd

    env = os.environ
    now = dt.datetime.now(dt.UTC)
    window = int(env.get("WINDOW_SECONDS", "3600"))
    columns = list(json.loads(env.get("COLUMNS") or "{}"))
    s3 = _s3()
    current = pd.DataFrame(join(_captured(s3, env["CAPTURE_BUCKET"], env["ENDPOINT"], hours(now, window)), columns))
    if env.get("BASELINE_URI"):
        reference = _baseline(s3, env["BASELINE_URI"], columns)
    else:
        previous = hours(now - dt.timedelta(seconds=window), window)
        reference = pd.DataFrame(join(_captured(s3, env["CAPTURE_BUCKET"], env["ENDPOINT"], previous), columns))
    if current.empty or (env["METRIC"] in ("feature_drift", "prediction_drift") and reference.empty):
        print(f"{env['MONITOR']}: no data in the window; nothing pushed", flush=True)
        return 0
    value = score(env["METRIC"], current, reference)
    if value is None:
        print(f"{env['MONITOR']}: {env['METRIC']} cannot be computed from this data; nothing pushed", flush=True)
        return 0
    labels = {k.lower(): env[k] for k in ("SYSTEM", "ENVIRONMENT", "ENDPOINT", "MONITOR", "METRIC")}
    push(env["PUSHGATEWAY_URL"], labels, exposition(value, labels, now))
    print(f"{env['MONITOR']}: {env['METRIC']} = {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
