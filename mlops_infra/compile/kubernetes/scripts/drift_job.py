"""mlops-infra monitor job: computes one drift/quality metric of an endpoint and publishes it.

The same program runs on both targets: on Kubernetes in the Evidently image (script mounted from the
``mlops-scripts`` ConfigMap, result pushed to the Prometheus Pushgateway), on AWS as a SageMaker
Processing job in the drift-job image built from this file (result published as a CloudWatch
metric). Needs evidently, pandas and pyarrow (and boto3 for CloudWatch).

Inputs (environment):
    MONITOR, METRIC (feature_drift | prediction_drift | data_quality | accuracy), ENDPOINT,
    SYSTEM, ENVIRONMENT, WINDOW_SECONDS (the current window: the last run's period);
    CAPTURE_URI (``s3://bucket/prefix/`` of captured traffic) and CAPTURE_FORMAT:
      ``kserve``: the capture sink's events ``<prefix><endpoint>/<yyyy>/<mm>/<dd>/<hh>/<id>-<kind>.json``
      (``{"id", "kind": request|response, "time", "payload"}``; ``time`` is the CloudEvent's
      ``ce-time`` (RFC 3339, https://github.com/cloudevents/spec/blob/main/cloudevents/spec.md#time)
      or the sink's clock, ``scripts/capture_sink.py`` ``record``);
      ``sagemaker``: SageMaker data capture ``<prefix><endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/*.jsonl``,
      one JSON line per request with ``captureData.endpointInput``/``endpointOutput`` (``data`` with
      ``encoding`` JSON, CSV or BASE64) and ``eventMetadata.eventId`` and ``.inferenceTime`` (ISO 8601
      UTC, whole seconds: ``"2026-04-29T00:03:18Z"``; the record example of
      https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html, also
      ai-dynamo/aiperf docs/tutorials/sagemaker-data-capture.md);
    BASELINE_URI (``s3://bucket/prefix/`` of Parquet or CSV files; empty: the previous window of
      captured traffic is the reference), BASELINE_MAX_ROWS (default 100000) and
      BASELINE_WINDOW_SECONDS (optional: only files written that recently): the baseline is read
      newest file first and stops at BASELINE_MAX_ROWS rows, so memory stays bounded whatever the
      size of the data source;
    COLUMNS (JSON list of the baseline data contract's column names, in the contract's order; a
      JSON object {column: type} is read as its keys in the order written; empty: every column);
    COLUMN_TYPES (JSON object {column: contract type}: string, int, float, bool, timestamp, date,
      bytes or json, ``spec/data.py`` ``ColumnType``; empty or absent: no types, every column's kind
      is inferred as before, see "Types");
    CONTRACT_FILE (the AWS job): the path of a JSON file ``{"columns": [...], "types": {...}}``,
      the same two values; when set, the contract is read from it instead of COLUMNS/COLUMN_TYPES
      (a Processing job's environment values are at most 256 characters, too short for a contract
      of more than about ten columns; ``compile/drift_job.py`` ``contract_file``), and a missing or
      unreadable file stops the run (:func:`contract`);
    SINK: ``pushgateway`` (PUSHGATEWAY_URL) or ``cloudwatch`` (METRIC_NAMESPACE, METRIC_NAME,
      METRIC_DIMENSIONS as JSON, AWS_REGION); REPORT_DIR (optional): a JSON summary is written there;
    S3 access: the pod's or job's credentials (AWS_* variables, AWS_ENDPOINT_URL_S3 for an
      S3-compatible store).

Windows: the hour folders only narrow the listing; each record counts by its own time (``time`` /
``eventMetadata.inferenceTime``): the current window is ``[now - WINDOW_SECONDS, now)`` and, without
a baseline, the reference is the window before it, ``[now - 2 * WINDOW_SECONDS, now -
WINDOW_SECONDS)``, so no request is in both. A record without a readable time is left out and counted.

Current data: the requests captured in the current window, joined by event id with the response's
``predictions`` as the ``prediction`` column. Their rows (:func:`rows_of`): ``instances`` (KServe
v1, also what a SageMaker CSV capture decodes to) or a bare JSON list of rows; a row that is an
object is keyed by its names, a row that is a list is positional: its values are the contract's
COLUMNS in order (without COLUMNS: named ``0``, ``1``, ...). A request carries the features, not the
label, so a positional row may be shorter than COLUMNS and fills the first columns: a contract lists
its label column(s) last (``amount, merchant_id, country, is_fraud``: the CSV row ``12.5,m-991,FR``
is ``amount, merchant_id, country``). A positional row longer than COLUMNS cannot be named and is
left out. KServe v2 ``{"inputs": [{"name", "shape", "data"}]}``: one ``[N, F]`` input is N positional
rows, ``[N]`` inputs are columns named by the inputs (:func:`_v2_rows`). Any other
payload (Hugging Face ``{"inputs": "text"}`` or ``{"inputs": ["text", ...]}``, a scalar, ...) is
left out; every record left out is counted, logged and written to the report
(``unreadableRecords``, ``untimedRecords``), so a job that publishes nothing says why. A ``label``
column, when the caller sends one by name, feeds ``accuracy``.

Types (audit contract-1): with COLUMN_TYPES every value of a contract column, in the baseline and in
the current rows, is cast to the contract's type before anything is scored (:func:`cast`), and
Evidently is told each column's kind with a ``DataDefinition`` (``string``/``bool`` categorical,
``int``/``float`` numerical; ``evidently.core.datasets.DataDefinition`` ``numerical_columns``/
``categorical_columns``, Evidently 0.7). Without it Evidently decides from the pandas dtype alone
(``evidently/core/datasets.py`` ``infer_column_type``: float numerical; int numerical, or
categorical at <= 10 distinct values; str categorical, or text when more than half the values are
distinct), and pyarrow's CSV reader infers ``1000`` as int64, so a CSV baseline's merchant id
``1000`` and the request's ``"1000"`` were different categories: every run reported drift on
unchanged traffic, and ``amount`` sent as text made Evidently's text drift raise (nothing published).
A CSV baseline's contract columns are therefore read as text (``pyarrow.csv.ConvertOptions``
``column_types``: "Passing this argument disables type inference on the defined columns") and parsed
by type the way pyarrow would (its default ``true_values``/``false_values``/``null_values``), as is
a SageMaker CSV capture's row. Casting is strict for typed data (JSON requests, Parquet): a text
``"52.31"`` is not a ``float``, a number is not a ``bool``; an integer is accepted for a ``string``
(the same id). A value that does not cast is counted (``badValues`` per column in the report, the
log) and becomes missing, so ``data_quality`` counts it. A contract column the current window lacks
altogether is counted as missing too (``absentColumns``; ``data_quality`` adds it as a column of
missing values) when the previous window's traffic carried it, or when a column the contract lists
after it arrives (requests do not carry the label, which a contract lists last). ``feature_drift``
compares the ``string``, ``bool``, ``int`` and ``float`` columns both frames hold values of
(``timestamp``, ``date``, ``bytes`` and ``json`` are not compared: a timestamp always moves on, and
Evidently refuses a column with no values: "An empty column ... was provided for drift calculation").

Scores: ``feature_drift`` is the share of drifted columns (Evidently's ``DriftedColumnsCount``),
``prediction_drift`` the population stability index of the ``prediction`` column (``ValueDrift``
with ``method="psi"``, so higher always means more drift), ``data_quality`` the share of missing
values and ``accuracy`` the share of predictions equal to the label. Written for Evidently 0.7.

Output: Pushgateway: ``mlops_monitor_value`` and ``mlops_monitor_last_success_timestamp_seconds``
with labels system, environment, endpoint, monitor, metric, PUT to
``$PUSHGATEWAY_URL/metrics/job/mlops-monitor/system/<SYSTEM>/environment/<ENVIRONMENT>/monitor/<MONITOR>``
(replacing the previous push; the Pushgateway stamps the group's ``push_time_seconds``, which the
recording rule uses to ignore a stale value). CloudWatch: one datapoint of METRIC_NAME with the
dimensions, which the drift alarm watches. Nothing is published when there is no data, so a value
goes stale instead of being replaced by a guess.
"""

from __future__ import annotations

import base64
import collections
import csv
import datetime as dt
import decimal
import io
import json
import numbers
import os
import sys
import urllib.parse
import urllib.request

DEFAULT_BASELINE_MAX_ROWS = 100_000
NUMERICAL_TYPES = ("int", "float")
CATEGORICAL_TYPES = ("string", "bool")
COMPARED_TYPES = NUMERICAL_TYPES + CATEGORICAL_TYPES
TRUE_TEXT = frozenset({"1", "True", "TRUE", "true"})
FALSE_TEXT = frozenset({"0", "False", "FALSE", "false"})
NULL_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                       "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"})
"""pyarrow.csv.ConvertOptions defaults (pyarrow 24: ``true_values``, ``false_values``, ``null_values``):
CSV text is read as pyarrow would read it untyped, except that a ``string`` column keeps its text."""


def hours(end: dt.datetime, seconds: int) -> list[str]:
    """The hour prefixes (``yyyy/mm/dd/hh``) that cover ``seconds`` before ``end``."""
    start = end - dt.timedelta(seconds=seconds)
    cursor = start.replace(minute=0, second=0, microsecond=0)
    out = []
    while cursor < end:
        out.append(f"{cursor:%Y/%m/%d/%H}")
        cursor += dt.timedelta(hours=1)
    return out


def _names(value: object) -> list[str]:
    return [str(c) for c in value] if isinstance(value, (list, dict)) else []


def _types(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def column_names(text: str | None) -> list[str]:
    """COLUMNS as an ordered list of names: a JSON list as is, a JSON object's keys in the order
    written (what graphs before the list form passed); empty or anything else: no names."""
    return _names(json.loads(text or "[]"))


def column_types(text: str | None) -> dict[str, str]:
    """COLUMN_TYPES as {column: contract type}; empty, absent or not an object: no types."""
    return _types(json.loads(text or "{}"))


def contract(env: dict) -> tuple[list[str], dict[str, str]]:
    """(COLUMNS, COLUMN_TYPES) of the run: from the file CONTRACT_FILE names when it is set (its
    ``columns`` and ``types`` read as :func:`column_names` and :func:`column_types` read the
    variables), else from the variables (Kubernetes, and AWS pipelines created before the file).
    A CONTRACT_FILE that cannot be read, or is not a JSON object, raises ``ValueError``: the run
    fails and says why, rather than scoring without the contract's names and types."""
    path = env.get("CONTRACT_FILE")
    if not path:
        return column_names(env.get("COLUMNS")), column_types(env.get("COLUMN_TYPES"))
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as problem:
        raise ValueError(f"CONTRACT_FILE {path}: cannot read the data contract ({problem})") from problem
    if not isinstance(document, dict):
        raise ValueError(f"CONTRACT_FILE {path}: not a JSON object with columns and types")
    return _names(document.get("columns")), _types(document.get("types"))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def cast(value: object, kind: str | None, text: bool = False) -> tuple[object, bool]:
    """(the value as the contract type ``kind``, whether it is one). Missing (None, NaN) is
    ``(None, True)``: missing, not wrong. ``text``: the value is CSV text, parsed by type (see
    :data:`NULL_TEXT`); otherwise it is typed data and must already be of the type (an integer is
    also a ``string``: the same id). ``int`` and ``float`` come back as float (a pandas numerical
    column holds missing values as NaN). Types that are not compared (timestamp, date, bytes, json,
    none) are kept as they are."""
    if _missing(value):
        return None, True
    if text and isinstance(value, str) and kind in COMPARED_TYPES and kind != "string":
        if value in NULL_TEXT:
            return None, True
        if kind == "bool":
            return (value in TRUE_TEXT, True) if value in TRUE_TEXT | FALSE_TEXT else (None, False)
        try:
            return float(int(value) if kind == "int" else float(value)), True
        except ValueError:
            return None, False
    if kind == "string":
        if isinstance(value, str):
            return value, True
        return (str(value), True) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else (None, False)
    if kind == "bool":
        return (value, True) if isinstance(value, bool) else (None, False)
    if kind in NUMERICAL_TYPES:
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):  # Parquet decimal
            return None, False
        number = float(value)
        return (number, True) if kind == "float" or number.is_integer() else (None, False)
    return value, True


def typed_column(values: list, kind: str, text: bool = False) -> tuple[list, int]:
    """The values cast to ``kind`` (:func:`cast`; those that do not cast become None) and how many did not."""
    out, bad = [], 0
    for value in values:
        typed, ok = cast(value, kind, text)
        out.append(typed)
        bad += not ok
    return out, bad


def _named(row: object, columns: list[str]) -> dict | None:
    """One row as {column: value}: an object as is; a list (or one scalar value) positionally, the
    contract's columns in order (``"0"``, ``"1"``, ... without COLUMNS); None when a positional row
    has more values than COLUMNS names (its positions cannot be trusted)."""
    if isinstance(row, dict):
        return row
    values = row if isinstance(row, list) else [row]
    if not columns:
        return {str(n): v for n, v in enumerate(values)}
    return dict(zip(columns, values, strict=False)) if len(values) <= len(columns) else None


def _flat(data: list) -> list:
    """Tensor data flattened in row-major order (nested or already flat)."""
    return [x for item in data for x in (_flat(item) if isinstance(item, list) else [item])]


def _v2_rows(inputs: list, columns: list[str]) -> list[dict] | None:
    """KServe v2 / Open Inference Protocol ``inputs`` as rows. "If the input is batched, the shape
    and data must represent the full shape and contents of the entire batch", and ``data`` may be
    flat (the spec's example: shape ``[2, 2]``, data ``[1, 2, 3, 4]``) or nested
    (kserve/open-inference-protocol specification/protocol/inference_rest.md, Request Input and
    Inference Request Examples). So one input of shape ``[N, F]`` (F > 1) is N positional rows of F
    values (named by COLUMNS, see :func:`_named`); inputs of shape ``[N]`` or ``[N, 1]`` are one
    column each, named by the input. None: not named tensors, or several ``[N, F]`` inputs (their
    values cannot be told apart)."""
    if not inputs or not all(isinstance(i, dict) and "name" in i and isinstance(i.get("data"), list)
                             for i in inputs):
        return None
    wide = [i for i in inputs if isinstance(i.get("shape"), list) and len(i["shape"]) == 2 and i["shape"][1] != 1]
    if wide:
        width = wide[0]["shape"][1]
        if len(inputs) > 1 or not isinstance(width, int) or width < 1:
            return None
        values = _flat(wide[0]["data"])
        named = [_named(values[n:n + width], columns) for n in range(0, len(values), width)]
        return None if any(r is None for r in named) else named
    table = {i["name"]: _flat(i["data"]) for i in inputs}
    length = max(len(v) for v in table.values())
    return [{k: v[n] for k, v in table.items() if n < len(v)} for n in range(length)]


def rows_of(request: object, columns: list[str]) -> list[dict] | None:
    """Feature rows of one request payload (see "Current data" above): ``{"instances": rows}``, a
    bare list of rows (each a list or an object) or KServe v2 named ``inputs``. None: the payload is
    none of these (Hugging Face ``{"inputs": "text"}``, a flat list of scalars, ...) or a
    positional row is longer than COLUMNS; the caller counts it."""
    if isinstance(request, dict) and isinstance(request.get("instances"), list):
        rows = request["instances"]
    elif isinstance(request, list) and request and all(isinstance(r, (list, dict)) for r in request):
        rows = request
    elif isinstance(request, dict) and isinstance(request.get("inputs"), list):
        return _v2_rows(request["inputs"], columns)
    else:
        return None
    named = [_named(r, columns) for r in rows]
    return None if any(r is None for r in named) else named


def predictions_of(response: object) -> list:
    if isinstance(response, dict):
        if "predictions" in response:
            return list(response["predictions"])
        if response.get("outputs"):
            return _flat(list(response["outputs"][0].get("data", [])))  # [N] or [N, 1]: one per row
    if isinstance(response, list):
        return response
    return []


def join(events: list[dict], columns: list[str], tally: collections.Counter | None = None) -> list[dict]:
    """Rows of captured requests with their response's prediction (by event id); a request whose
    payload :func:`rows_of` cannot read adds one to ``tally["unreadableRecords"]``."""
    requests = {e["id"]: e for e in events if e.get("kind") == "request"}
    responses = {e["id"]: e for e in events if e.get("kind") == "response"}
    out = []
    for event_id in sorted(requests):
        rows = rows_of(requests[event_id].get("payload"), columns)
        if rows is None:
            if tally is not None:
                tally["unreadableRecords"] += 1
            continue
        predictions = predictions_of((responses.get(event_id) or {}).get("payload"))
        for n, row in enumerate(rows):
            out.append({**row, **({"prediction": predictions[n]} if n < len(predictions) else {})})
    return out


def _decoded(capture: dict, columns: list[str], types: dict[str, str] | None = None) -> object:
    """The payload of one SageMaker ``endpointInput``/``endpointOutput`` record. A CSV request row's
    text is parsed by its position's contract type when COLUMN_TYPES are known (a ``string`` id
    ``1000`` stays ``"1000"``; a value that does not parse stays text, and :func:`cast` counts it),
    else as a number where it is one."""
    data, encoding = capture.get("data", ""), (capture.get("encoding") or "").upper()
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8", errors="replace")
        encoding = "JSON" if "json" in (capture.get("observedContentType") or "") else "CSV"
    if encoding == "CSV":
        if capture.get("mode") != "INPUT":
            rows = [[_number(v) for v in row] for row in csv.reader(io.StringIO(data)) if row]
            return [r[0] if len(r) == 1 else r for r in rows]
        kinds = [(types or {}).get(c) for c in columns]
        return {"instances": [[_from_text(v, kinds[n] if n < len(kinds) else None) for n, v in enumerate(row)]
                              for row in csv.reader(io.StringIO(data)) if row]}
    try:
        return json.loads(data)
    except ValueError:
        return None


def _number(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text


def _from_text(text: str, kind: str | None) -> object:
    """One CSV value: by its contract type when known (unparseable: the text), else a number if it is one."""
    if kind is None:
        return _number(text)
    if kind not in COMPARED_TYPES or kind == "string":
        return text
    value, ok = cast(text, kind, text=True)
    return value if ok else text


def sagemaker_events(line: str, columns: list[str], types: dict[str, str] | None = None) -> list[dict] | None:
    """A SageMaker data-capture JSON line as request/response events (the capture sink's shape,
    ``time`` from ``eventMetadata.inferenceTime``); None when the line is not such a record."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    data = record.get("captureData") if isinstance(record, dict) else None
    metadata = record.get("eventMetadata") if isinstance(record, dict) else None
    event_id = metadata.get("eventId") if isinstance(metadata, dict) else None
    if not event_id or not isinstance(data, dict):
        return None
    time = metadata.get("inferenceTime")
    events = []
    if "endpointInput" in data:
        events.append({"id": event_id, "kind": "request", "time": time,
                       "payload": _decoded(data["endpointInput"], columns, types)})
    if "endpointOutput" in data:
        events.append({"id": event_id, "kind": "response", "time": time,
                       "payload": _decoded(data["endpointOutput"], columns, types)})
    return events


def event_time(event: dict) -> dt.datetime | None:
    """The record's own time (ISO 8601 / RFC 3339; no offset: UTC), None when absent or unreadable."""
    text = event.get("time")
    try:
        moment = dt.datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment and moment.tzinfo is None else moment


def windows(events: list[dict], now: dt.datetime, seconds: int,
            tally: collections.Counter) -> tuple[list[dict], list[dict]]:
    """(current, previous): the requests whose own time is in ``[now - seconds, now)`` and in
    ``[now - 2 * seconds, now - seconds)``, each with every response (responses join by id). A
    request without a readable time adds one to ``tally["untimedRecords"]`` and is in neither."""
    start, previous_start = now - dt.timedelta(seconds=seconds), now - dt.timedelta(seconds=2 * seconds)
    responses = [e for e in events if e.get("kind") == "response"]
    current, previous = list(responses), list(responses)
    for event in (e for e in events if e.get("kind") == "request"):
        moment = event_time(event)
        if moment is None:
            tally["untimedRecords"] += 1
        elif start <= moment < now:
            current.append(event)
        elif previous_start <= moment < start:
            previous.append(event)
    return current, previous


def exposition(value: float, labels: dict[str, str], now: dt.datetime) -> str:
    """Prometheus text format for the two pushed series."""
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return (f"# TYPE mlops_monitor_value gauge\nmlops_monitor_value{{{text}}} {value}\n"
            f"# TYPE mlops_monitor_last_success_timestamp_seconds gauge\n"
            f"mlops_monitor_last_success_timestamp_seconds{{{text}}} {now.timestamp():.0f}\n")


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of ``s3://bucket/prefix``."""
    parsed = urllib.parse.urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def object_store():  # pragma: no cover - needs pyarrow and a store
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    scheme = "http" if endpoint.startswith("http://") else "https"
    return fs.S3FileSystem(access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
                           secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
                           session_token=os.environ.get("AWS_SESSION_TOKEN"),
                           region=os.environ.get("AWS_REGION", "us-east-1"),
                           endpoint_override=endpoint.split("://", 1)[-1] or None, scheme=scheme)


def _files(store, path: str) -> list:
    from pyarrow import fs

    selector = fs.FileSelector(path.rstrip("/"), allow_not_found=True, recursive=True)
    return [i for i in store.get_file_info(selector) if i.type == fs.FileType.File]


def _read_text(store, path: str) -> str:
    with store.open_input_stream(path) as stream:
        return stream.read().decode("utf-8", errors="replace")


def captured(store, uri: str, capture_format: str, endpoint: str, prefixes: list[str], columns: list[str],
             tally: collections.Counter | None = None, types: dict[str, str] | None = None) -> list[dict]:
    """Events captured under the hour ``prefixes`` of ``endpoint`` (see CAPTURE_FORMAT); a line or
    file that is not a capture record adds one to ``tally["unreadableRecords"]``."""
    bucket, base = split_uri(uri)
    tally = tally if tally is not None else collections.Counter()
    events: list[dict] = []
    if capture_format == "sagemaker":
        for variant in _subdirectories(store, f"{bucket}/{base}{endpoint}"):
            for prefix in prefixes:
                for info in _files(store, f"{variant}/{prefix}"):
                    for line in filter(str.strip, _read_text(store, info.path).splitlines()):
                        found = sagemaker_events(line, columns, types)
                        tally["unreadableRecords"] += found is None
                        events += found or []
        return events
    for prefix in prefixes:
        for info in _files(store, f"{bucket}/{base}{endpoint}/{prefix}"):
            try:
                event = json.loads(_read_text(store, info.path))
            except ValueError:
                event = None
            if isinstance(event, dict) and "id" in event:
                events.append(event)
            else:
                tally["unreadableRecords"] += 1
    return events


def _subdirectories(store, path: str) -> list[str]:
    from pyarrow import fs

    selector = fs.FileSelector(path, allow_not_found=True, recursive=False)
    return sorted(i.path for i in store.get_file_info(selector) if i.type == fs.FileType.Directory)


def baseline_files(infos: list, now: dt.datetime, window_seconds: int | None) -> list:
    """The baseline's data files, newest first, only those written within the window (if any)."""
    data = [i for i in infos if i.path.endswith((".parquet", ".csv", ".pq"))]
    if window_seconds:
        oldest = now - dt.timedelta(seconds=window_seconds)
        data = [i for i in data if i.mtime is None or i.mtime >= oldest]
    return sorted(data, key=lambda i: (i.mtime or dt.datetime.min.replace(tzinfo=dt.UTC), i.path), reverse=True)


def compared_types(types: dict[str, str]) -> dict[str, str]:
    """The contract columns whose values are cast and compared: string, bool, int and float."""
    return {c: k for c, k in types.items() if k in COMPARED_TYPES}


def _series(values: list, kind: str, index):  # pragma: no cover - needs pandas
    import pandas as pd

    return pd.Series(values, dtype="float64" if kind in NUMERICAL_TYPES else object, index=index)


def typed_frame(rows: list[dict], types: dict[str, str], bad: collections.Counter):  # pragma: no cover - needs pandas
    """Rows (:func:`join`) as a DataFrame, each typed contract column cast from the rows' own values
    (before pandas turns an int column with a gap into floats); ``bad[column]`` counts what did not cast."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    for column, kind in compared_types(types).items():
        if column in frame:
            values, wrong = typed_column([r.get(column) for r in rows], kind)
            if wrong:
                bad[column] += wrong
            frame[column] = _series(values, kind, frame.index)
    return frame


def absent_columns(current: list[dict], previous: list[dict], columns: list[str]) -> list[str]:
    """Contract columns no current row carries that the traffic should: the previous window's rows
    carried them, or a column the contract lists after them arrives (a request lacks only the label,
    which a contract lists last; see "Types")."""
    seen, before = {k for r in current for k in r}, {k for r in previous for k in r}
    last = max((n for n, c in enumerate(columns) if c in seen), default=-1)
    return [c for n, c in enumerate(columns) if c not in seen and (c in before or n < last)]


def baseline(store, uri: str, columns: list[str], max_rows: int, window_seconds: int | None,
             now: dt.datetime, types: dict[str, str] | None = None,
             bad: collections.Counter | None = None):  # pragma: no cover - needs pyarrow
    """At most ``max_rows`` rows of the baseline, newest files first (bounded memory), each typed
    contract column cast to its type (a CSV's read as text first, see "Types"); ``bad[column]``
    counts the values that did not cast."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    typed = compared_types(types or {})
    bad = bad if bad is not None else collections.Counter()
    bucket, prefix = split_uri(uri)
    frames, rows = [], 0
    for info in baseline_files(_files(store, f"{bucket}/{prefix}"), now, window_seconds):
        text = info.path.endswith(".csv")
        with store.open_input_file(info.path) as handle:
            if text:
                options = pacsv.ConvertOptions(column_types={c: pa.string() for c in typed})
                table = pacsv.read_csv(handle, convert_options=options)
            else:
                table = pq.read_table(handle)
        if columns:
            table = table.select([c for c in columns if c in table.column_names])
        table = table.slice(0, max_rows - rows)
        frame = table.to_pandas()
        for column, kind in typed.items():
            if column in table.column_names:
                values, wrong = typed_column(table.column(column).to_pylist(), kind, text)
                if wrong:
                    bad[column] += wrong
                frame[column] = _series(values, kind, frame.index)
        frames.append(frame)
        rows += table.num_rows
        if rows >= max_rows:
            break
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def score(metric: str, current, reference,
          types: dict[str, str] | None = None) -> float | None:  # pragma: no cover - needs evidently
    """The monitor's value: drift share, prediction drift score, missing-value share or accuracy.
    ``feature_drift`` compares the columns both frames hold values of (with ``types``: only the
    contract's compared types, each given its kind in a ``DataDefinition``; see "Types")."""
    if metric == "data_quality":
        return float(current.isna().mean().mean()) if len(current) else None
    if metric == "accuracy":
        if "label" not in current or "prediction" not in current:
            return None
        return float((current["label"] == current["prediction"]).mean())
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    if metric == "prediction_drift":
        if "prediction" not in current or "prediction" not in reference:
            return None
        report = Report([ValueDrift(column="prediction", method="psi")])  # PSI: higher is more drift
    else:
        typed = compared_types(types or {})
        shared = [c for c in current.columns if c in reference.columns and c != "prediction"
                  and (not typed or c in typed) and current[c].notna().any() and reference[c].notna().any()]
        if not shared:
            return None
        current, reference = current[shared], reference[shared]
        if typed:
            definition = DataDefinition(numerical_columns=[c for c in shared if typed[c] in NUMERICAL_TYPES],
                                        categorical_columns=[c for c in shared if typed[c] in CATEGORICAL_TYPES])
            current = Dataset.from_pandas(current, data_definition=definition)
            reference = Dataset.from_pandas(reference, data_definition=definition)
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


def publish_cloudwatch(env: dict, value: float, now: dt.datetime) -> None:  # pragma: no cover - needs boto3
    """One datapoint of the drift metric the alarm watches (CloudWatch ``PutMetricData``)."""
    import boto3

    dimensions = [{"Name": k, "Value": v} for k, v in sorted(json.loads(env["METRIC_DIMENSIONS"]).items())]
    boto3.client("cloudwatch", region_name=env.get("AWS_REGION")).put_metric_data(
        Namespace=env["METRIC_NAMESPACE"],
        MetricData=[{"MetricName": env["METRIC_NAME"], "Dimensions": dimensions, "Value": value, "Timestamp": now}])


def publish(env: dict, value: float, now: dt.datetime) -> None:
    labels = {k.lower(): env[k] for k in ("SYSTEM", "ENVIRONMENT", "ENDPOINT", "MONITOR", "METRIC")}
    if env.get("SINK", "pushgateway") == "cloudwatch":
        publish_cloudwatch(env, value, now)
    else:
        push(env["PUSHGATEWAY_URL"], labels, exposition(value, labels, now))


def write_report(directory: str, report: dict) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "drift.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)


def run(env: dict, now: dt.datetime, store=None) -> float | None:  # pragma: no cover - needs evidently
    """One run: read, score, publish; returns the value (None: nothing published)."""
    import pandas as pd

    store = store or object_store()
    window = int(env.get("WINDOW_SECONDS", "3600"))
    columns, types = contract(env)
    has_baseline = bool(env.get("BASELINE_URI"))
    tally: collections.Counter = collections.Counter()
    bad: collections.Counter = collections.Counter()
    baseline_bad: collections.Counter = collections.Counter()
    # the hour folders only narrow the listing; records count by their own time (see "Windows"); the
    # previous window is read with a baseline too: it tells which columns the traffic carries ("Types")
    events = captured(store, env["CAPTURE_URI"], env.get("CAPTURE_FORMAT", "kserve"), env["ENDPOINT"],
                      hours(now, 2 * window), columns, tally, types)
    current_events, previous_events = windows(events, now, window, tally)
    current_rows = join(current_events, columns, tally)
    # with a baseline the previous window is not scored: its unreadable records are not this run's
    previous_rows = join(previous_events, columns, collections.Counter() if has_baseline else tally)
    current = typed_frame(current_rows, types, bad)
    absent = absent_columns(current_rows, previous_rows, columns) if current_rows else []
    for column in absent:
        current[column] = pd.Series([None] * len(current), dtype=object, index=current.index)
    if has_baseline:
        max_rows = int(env.get("BASELINE_MAX_ROWS") or DEFAULT_BASELINE_MAX_ROWS)
        window_seconds = int(env["BASELINE_WINDOW_SECONDS"]) if env.get("BASELINE_WINDOW_SECONDS") else None
        reference = baseline(store, env["BASELINE_URI"], columns, max_rows, window_seconds, now, types, baseline_bad)
    else:
        reference = typed_frame(previous_rows, types, collections.Counter())  # counted by the run before
    value = None
    if not current.empty and not (env["METRIC"] in ("feature_drift", "prediction_drift") and reference.empty):
        value = score(env["METRIC"], current, reference, types)
    if env.get("REPORT_DIR"):
        write_report(env["REPORT_DIR"], {"monitor": env["MONITOR"], "metric": env["METRIC"], "value": value,
                                         "currentRows": len(current), "referenceRows": len(reference),
                                         "unreadableRecords": tally["unreadableRecords"],
                                         "untimedRecords": tally["untimedRecords"], "badValues": dict(bad),
                                         "baselineBadValues": dict(baseline_bad), "absentColumns": absent,
                                         "at": now.isoformat()})
    if bad or baseline_bad or absent:
        print(f"{env['MONITOR']}: values that are not of the contract's type (counted as missing): "
              f"{dict(bad)} in the current window, {dict(baseline_bad)} in the baseline; contract columns "
              f"absent from the current window (counted as missing): {absent}", file=sys.stderr, flush=True)
    if tally["unreadableRecords"] or tally["untimedRecords"]:
        print(f"{env['MONITOR']}: left out {tally['unreadableRecords']} captured records that are not "
              '{"instances": rows}, a list of rows or KServe v2 {"inputs": [{"name", "data"}]} (or whose '
              f"positional rows are longer than COLUMNS) and {tally['untimedRecords']} without a readable "
              "time", file=sys.stderr, flush=True)
    if value is None:
        print(f"{env['MONITOR']}: {env['METRIC']} cannot be computed from this data "
              f"({len(current)} current rows, {len(reference)} reference rows); nothing published", flush=True)
        return None
    publish(env, value, now)
    print(f"{env['MONITOR']}: {env['METRIC']} = {value}", flush=True)
    return value


def main() -> int:  # pragma: no cover - runs in the cluster or the Processing job
    run(dict(os.environ), dt.datetime.now(dt.UTC))
    return 0


if __name__ == "__main__":
    sys.exit(main())
