"""The retrain gate does not take a 0-byte object for fresh data, a ``_SUCCESS`` marker included.

A writer that fails after creating its file leaves an empty ``part-0000.parquet`` (``Size`` 0 in
``ListObjectsV2``, botocore ``s3`` ``Object.Size``); the gate counted its ``LastModified``, so a failed
writer of today passed the freshness over three-day-old data (stop-36 datasources audit, item 2).
``_SUCCESS`` is the 0-byte file Hadoop's ``FileOutputCommitter`` writes when a job commits
(``SUCCEEDED_FILE_NAME = "_SUCCESS"``, ``mapreduce.fileoutputcommitter.marksuccessfuljobs``), whatever
the output holds: it is not data (audit closing-37a-6; ``test_aws_gate_uncommitted``). Runs the shipped
gate against the moto server, with the helpers of ``test_aws_gate_freshness``.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws import retrain_gate
from tests.compile.aws.test_aws_gate_freshness import DAY, _age, _configure, _executions, _pipeline
from tests.support import fixtures
from tests.support.moto_server import shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
ROWS = b"amount,merchant_id\n1.0,m1\n"


def _bucket(moto_url: str, name: str, keys: dict[str, tuple[bytes, float]]):
    """A bucket holding ``keys``: each its body, written that many days ago."""
    s3 = shared_session().client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=name)
    for key, (body, days) in keys.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
        _age(name, key, days)
    return s3


@pytest.mark.moto
def test_an_empty_file_of_today_does_not_refresh_old_data(moto_url, monkeypatch):
    """A writer failed today in a new partition: one empty file there; the data is three days old."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "empty-gate-stale", {"dt=2026-12-03/part-0000.parquet": (ROWS, 3),
                                                "dt=2026-12-06/part-0000.parquet": (b"", 0)})
    sizes = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket="empty-gate-stale")["Contents"]}
    assert sizes == {"dt=2026-12-03/part-0000.parquet": len(ROWS), "dt=2026-12-06/part-0000.parquet": 0}
    _configure(monkeypatch, ("transactions", "empty-gate-stale", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: the newest object under "
                       r"s3://empty-gate-stale/ is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_a_data_source_holding_only_empty_files_starts_no_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "empty-gate-only", {"dt=2026-12-06/part-0000.parquet": (b"", 0),
                                               "dt=2026-12-06/part-0001.parquet": (b"", 0)})
    _configure(monkeypatch, ("transactions", "empty-gate-only", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: no data under "
                       r"s3://empty-gate-only/ \(2 keys listed, all folder markers, _SUCCESS markers, 0-byte objects "
                       r"or uncommitted job output\); its contract's freshness is 1d 0h \(86400 s\)"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_empty_files_are_left_out_of_the_full_listing_too(moto_url, monkeypatch):
    """Names that do not sort by time: the newest partition holds old data, and the full listing finds
    only a fresh empty file elsewhere (step 2 of the search, ``newest_object``)."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "empty-gate-full", {"a1b2/part-0000.parquet": (b"", 0), "f9e8/part-0000.parquet": (ROWS, 4)})
    _configure(monkeypatch, ("transactions", "empty-gate-full", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"the newest object under s3://empty-gate-full/ is 4d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


def test_what_holds_data() -> None:
    assert retrain_gate.holds_data({"Key": "dt=1/part-0.parquet", "Size": 10})
    assert not retrain_gate.holds_data({"Key": "dt=1/_SUCCESS", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "_SUCCESS", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "dt=1/part-0.parquet", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "dt=1/my_SUCCESS", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "dt=1/", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "dt=1_$folder$", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "dt=1/", "Size": 12})  # a marker whatever its size
