"""The data contract's column types reach the drift job, and the job scores typed data (audit contract-1).

The job (``compile/kubernetes/scripts/drift_job.py``, the program both targets run) runs in-process
with exactly the environment the compiler gives the fraud-detection example's ``drift`` monitor (AWS
prod: the Processing step's ``Environment``; Kubernetes dev: the CronJob's container env) on a local
directory standing in for the bucket (the helpers of tests/compile/test_drift_job_capture.py).

- Types: ``COLUMN_TYPES`` is the contract's ``{column: type}`` on both targets, from one rule
  (``compile/drift_job.py`` ``contract_env``; on AWS in the contract file, ``contract_file``).
- A CSV baseline whose ``merchant_id`` (``string`` in the contract) looks numeric: pyarrow's CSV
  reader infers int64, Evidently (``evidently/core/datasets.py`` ``infer_column_type``) then compared
  the int ``1000`` with the request's ``"1000"`` as different categories: one of three columns
  drifted (0.333 > the 0.2 threshold) on unchanged traffic. Now 0.0; new merchants still drift.
- A value of the wrong type (``amount`` sent as text) made Evidently's text drift raise
  (``AttributeError: 'float' object has no attribute 'lower'``): the job published nothing. Now it
  publishes, and reports and counts the bad values as missing (``data_quality``).
- A contract column the traffic stops sending counts as missing in ``data_quality``; the label,
  which requests never carry, does not.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import json
import random
from typing import Any

import pytest

from mlops_infra.compile.kubernetes.scripts import drift_job
from tests.compile.test_drift_job_capture import (
    CONTRACT,
    FEATURES,
    Bucket,
    compiled_env,
    run_job,
    sagemaker_record,
)

pytest.importorskip("evidently", reason="the drift job's scores need the test extra's evidently")

TYPES = {"amount": "float", "merchant_id": "string", "country": "string", "is_fraud": "bool"}  # examples/fraud-detection


def records(n: int, seed: int, first_id: int = 1000) -> list[dict[str, Any]]:
    """Transactions whose merchant ids are numeric-looking strings, as the contract (string) says."""
    rng = random.Random(seed)
    return [{"amount": round(rng.gauss(50, 10), 2), "merchant_id": str(rng.randint(first_id, first_id + 19)),
             "country": rng.choice(["DE", "FR", "NL", "ES"]), "is_fraud": rng.random() < 0.02} for _ in range(n)]


def csv_baseline(bucket: Bucket, env: dict[str, str], data: list[dict[str, Any]]) -> None:
    lines = [",".join(CONTRACT)] + [f"{r['amount']},{r['merchant_id']},{r['country']},{str(r['is_fraud']).lower()}"
                                    for r in data]
    bucket.put(env["BASELINE_URI"], "2026-11/part-0.csv", "\n".join(lines) + "\n")


def objects(data: list[dict[str, Any]], columns: list[str] = FEATURES) -> list[dict[str, Any]]:
    return [{"instances": [{c: r[c] for c in columns} for r in data[n:n + 50]]} for n in range(0, len(data), 50)]


NOW = dt.datetime(2026, 11, 21, 9, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_both_targets_give_the_job_the_contracts_types(target):
    env = compiled_env(target)
    assert drift_job.contract(env) == (CONTRACT, TYPES)  # the order still comes from the columns list
    if target == "kubernetes":  # AWS: the contract file (compile/drift_job.py contract_file)
        assert json.loads(env["COLUMN_TYPES"]) == TYPES and json.loads(env["COLUMNS"]) == CONTRACT
    assert drift_job.column_types(None) == {} and drift_job.column_types('["a"]') == {}  # no types: inferred


@pytest.mark.parametrize(("value", "kind", "text", "expected"), [
    ("1000", "string", False, ("1000", True)),
    (1000, "string", False, ("1000", True)),  # a JSON number id is the same id
    (10.5, "string", False, (None, False)),
    ("52.31", "float", False, (None, False)),  # text in a JSON request: not a float
    ("52.31", "float", True, (52.31, True)),  # CSV text: parsed
    (52, "float", False, (52.0, True)),
    (decimal.Decimal("52.31"), "float", False, (52.31, True)),  # a Parquet decimal amount
    (True, "float", False, (None, False)),
    (3.0, "int", False, (3.0, True)),
    (3.5, "int", False, (None, False)),
    ("3", "int", True, (3.0, True)),
    ("3.5", "int", True, (None, False)),
    (True, "bool", False, (True, True)),
    (1, "bool", False, (None, False)),
    ("false", "bool", True, (False, True)),
    ("yes", "bool", True, (None, False)),
    ("NA", "float", True, (None, True)),  # pyarrow's default null_values
    ("NA", "string", True, ("NA", True)),  # Namibia: a string column keeps its text
    (None, "float", False, (None, True)),
    (float("nan"), "string", False, (None, True)),
    ("2026-11-21T09:00:00Z", "timestamp", False, ("2026-11-21T09:00:00Z", True)),  # not compared, kept
])
def test_cast(value, kind, text, expected):
    assert drift_job.cast(value, kind, text) == expected


def test_a_csv_capture_row_is_parsed_by_the_contracts_types():
    """SageMaker's CSV capture is text: ``1003`` in the ``string`` column stays ``"1003"``, ``12.5``
    is a float, and text in ``amount`` stays text (for cast to count)."""
    columns, types = CONTRACT, TYPES
    line = json.dumps(sagemaker_record("e1", NOW, "12.5,1003,FR\nabc,1004,DE"))
    assert drift_job.join(drift_job.sagemaker_events(line, columns, types), columns) == [
        {"amount": 12.5, "merchant_id": "1003", "country": "FR", "prediction": 0.1},
        {"amount": "abc", "merchant_id": "1004", "country": "DE", "prediction": 0.1}]


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_a_csv_baseline_with_numeric_looking_ids_scores_no_drift_on_unchanged_traffic(target, tmp_path, monkeypatch):
    """The audit's reproduction in-process: same generator for the baseline (CSV) and the traffic
    (ids sent as strings). Old job: merchant_id drifted, 1/3 > 0.2. Control: every merchant new
    drifts merchant_id (typing does not hide drift)."""
    env = compiled_env(target)
    bucket = Bucket(tmp_path / "s3")
    csv_baseline(bucket, env, records(2000, 1))
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(records(600, 3)), "a")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert report["referenceRows"] == 2000 and report["currentRows"] == 600
    assert value == 0.0
    assert report["badValues"] == {} and report["baselineBadValues"] == {} and report["absentColumns"] == []

    bucket.capture(env, NOW - dt.timedelta(minutes=5), objects(records(600, 4, first_id=1500)), "b")
    drifted, _ = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert drifted is not None and drifted >= 1 / 3


def test_a_sagemaker_csv_capture_of_numeric_looking_ids_scores_no_drift(tmp_path, monkeypatch):
    """AWS: the CSV request ``52.31,1003,FR`` against a CSV baseline of the same ids."""
    env = compiled_env("aws")
    bucket = Bucket(tmp_path / "s3")
    csv_baseline(bucket, env, records(2000, 1))
    data = records(600, 3)
    payloads = ["\n".join(f"{r['amount']},{r['merchant_id']},{r['country']}" for r in data[n:n + 50])
                for n in range(0, 600, 50)]
    bucket.capture(env, NOW - dt.timedelta(minutes=10), payloads, "a")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert report["currentRows"] == 600 and value == 0.0


@pytest.mark.parametrize("target", ["aws", "kubernetes"])
def test_amount_sent_as_text_is_published_and_reported(target, tmp_path, monkeypatch, capsys):
    """A client sends ``"amount": "52.31"`` (the contract says float). Old job: Evidently inferred a
    text column and raised; nothing was published, every run."""
    env = compiled_env(target)
    bucket = Bucket(tmp_path / "s3")
    csv_baseline(bucket, env, records(2000, 1))
    data = [{**r, "amount": f"{r['amount']:.2f}"} for r in records(600, 3)]
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(data), "a")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert value is not None and value <= 0.2  # merchant_id and country: unchanged; amount: no values to compare
    assert report["badValues"] == {"amount": 600}
    assert "{'amount': 600}" in capsys.readouterr().err


def quality_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "METRIC": "data_quality", "MONITOR": "quality"}


def test_bad_values_and_an_absent_column_count_as_missing_in_data_quality(tmp_path, monkeypatch):
    """``data_quality`` is the share of missing values: 600 text amounts of 4 columns (3 features +
    prediction) are 1/4; ``country`` sent in the previous hour and not in this one is a whole column
    missing (1/4 of amount, merchant_id, prediction, country); the label ``is_fraud`` is never in a
    request and never counted. Old job: 0.0 for both."""
    env = quality_env(compiled_env("kubernetes"))
    bucket = Bucket(tmp_path / "s3")
    csv_baseline(bucket, env, records(2000, 1))
    data = [{**r, "amount": f"{r['amount']:.2f}"} for r in records(600, 3)]
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(data), "a")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert value == pytest.approx(0.25) and report["badValues"] == {"amount": 600}

    bucket = Bucket(tmp_path / "s3-absent")
    csv_baseline(bucket, env, records(2000, 1))
    bucket.capture(env, NOW - dt.timedelta(minutes=70), objects(records(600, 4)), "before")
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(records(600, 5), ["amount", "merchant_id"]), "now")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert report["absentColumns"] == ["country"]
    assert value == pytest.approx(1 / 4)  # amount, merchant_id, prediction, country (all missing)


def test_clean_traffic_without_the_label_is_full_quality(tmp_path, monkeypatch):
    env = quality_env(compiled_env("kubernetes"))
    bucket = Bucket(tmp_path / "s3")
    csv_baseline(bucket, env, records(2000, 1))
    bucket.capture(env, NOW - dt.timedelta(minutes=70), objects(records(600, 4)), "before")
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(records(600, 5)), "now")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert value == 0.0 and report["absentColumns"] == [] and report["badValues"] == {}


def test_absent_columns():
    features = [{"amount": 1.0, "merchant_id": "1", "country": "FR"}]
    no_country = [{"amount": 1.0, "merchant_id": "1"}]
    no_merchant = [{"amount": 1.0, "country": "FR"}]
    assert drift_job.absent_columns(features, features, CONTRACT) == []  # the label is never expected
    assert drift_job.absent_columns(no_country, features, CONTRACT) == ["country"]  # it was sent before
    assert drift_job.absent_columns(no_merchant, [], CONTRACT) == ["merchant_id"]  # a later column arrives
    # nothing to tell a column never sent from the label: not counted (a label is listed last)
    assert drift_job.absent_columns(no_country, [], CONTRACT) == []
    assert drift_job.absent_columns(features, [{"is_fraud": True, **features[0]}], CONTRACT) == ["is_fraud"]


def test_a_baseline_value_of_the_wrong_type_is_counted(tmp_path, monkeypatch):
    env = compiled_env("kubernetes")
    bucket = Bucket(tmp_path / "s3")
    data = records(2000, 1)
    data[0] = {**data[0], "amount": "n/a-ish"}
    csv_baseline(bucket, env, data)
    bucket.capture(env, NOW - dt.timedelta(minutes=10), objects(records(600, 3)), "a")
    value, report = run_job(env, bucket, NOW, tmp_path, monkeypatch)
    assert value == 0.0 and report["baselineBadValues"] == {"amount": 1}


def test_typed_column_counts():
    values, bad = drift_job.typed_column(["1", 2, None, True], "string")
    assert (values, bad) == (["1", "2", None, None], 1)
    assert collections.Counter(drift_job.compared_types(TYPES | {"at": "timestamp"})) == collections.Counter(TYPES)
