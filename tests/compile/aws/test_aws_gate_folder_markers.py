"""The retrain gate does not take a folder marker for fresh data (audit datasources-5).

The S3 console's "Create folder" writes a 0-byte object whose key ends in ``/`` ("S3 creates a 0-byte
object with a key that's set to the folder name that you provided ... the Amazon S3 console creates a
0-byte object with the key photos/", S3 User Guide, "Organizing objects in the Amazon S3 console by
using folders"), and ``ListObjectsV2`` lists it like any object. The gate (``compile/aws/retrain_gate.py``
``_newer``) counted its ``LastModified``, so a partition folder made before its data arrived passed the
data source's ``freshness`` with no data in it. Runs the shipped gate against the moto server, with the
helpers of ``test_aws_gate_freshness`` (``_age`` moves an object's ``LastModified`` back in moto's backend).

Hadoop's S3 file systems (EMRFS ``s3://``, ``s3n://``) mark a folder with a 0-byte key ``<folder>_$folder$``
beside it (Apache Hadoop ``NativeS3FileSystem.mkdir``: ``store.storeEmptyFile(pathToKey(f) + FOLDER_SUFFIX)``,
``FOLDER_SUFFIX = "_$folder$"``; AWS Knowledge Center "emr-s3-empty-files"); the gate counted those too (audit
closing-36b-3): the last tests.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws import retrain_gate
from tests.compile.aws.test_aws_gate_freshness import DAY, _age, _configure, _executions, _pipeline
from tests.support import fixtures
from tests.support.moto_server import shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url


def _bucket(moto_url: str, name: str, keys: dict[str, float]):
    """A bucket holding ``keys``, each written that many days ago: a folder marker (``/`` as the console makes
    a folder, ``_$folder$`` as Hadoop does) with 0 bytes, any other with data."""
    s3 = shared_session().client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=name)
    for key, days in keys.items():
        s3.put_object(Bucket=name, Key=key, Body=b"" if key.endswith(("/", "_$folder$")) else b"amount,merchant_id\n1.0,m1\n")
        _age(name, key, days)
    return s3


@pytest.mark.moto
def test_a_data_source_holding_only_a_fresh_folder_marker_starts_no_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "marker-gate-only", {"dt=2026-12-06/": 0})
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="marker-gate-only")["Contents"]] == ["dt=2026-12-06/"]
    _configure(monkeypatch, ("transactions", "marker-gate-only", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: no data under s3://marker-gate-only/ \(1 key "
                       r"listed, all folder markers, _SUCCESS markers, 0-byte objects or uncommitted job output\); "
                       r"its contract's freshness is 1d 0h \(86400 s\)"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_a_folder_marker_and_fresh_data_in_it_start_a_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "marker-gate-fresh", {"dt=2026-12-06/": 0, "dt=2026-12-06/part-0.parquet": 0})
    _configure(monkeypatch, ("transactions", "marker-gate-fresh", "", DAY))
    result = retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    (execution,) = _executions(client)
    assert result["started"] == execution["PipelineExecutionArn"]
    (finding,) = result["freshness"]
    assert finding["fresh"] and finding["search"] == "newest-partition"
    assert finding["partition"] == "s3://marker-gate-fresh/dt=2026-12-06/"


@pytest.mark.moto
def test_a_fresh_empty_partition_folder_does_not_refresh_old_data(moto_url, monkeypatch):
    """The newest partition is a folder made today with no data yet; the data is three days old."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "marker-gate-stale", {"dt=2026-12-03/part-0.parquet": 3, "dt=2026-12-06/": 0})
    _configure(monkeypatch, ("transactions", "marker-gate-stale", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: the newest object under "
                       r"s3://marker-gate-stale/ is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_a_fresh_hadoop_folder_placeholder_does_not_refresh_old_data(moto_url, monkeypatch):
    """EMR made ``dt=2026-12-06/`` today (its placeholder, no data yet); the data is three days old."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "emr-marker-gate-stale", {"dt=2026-12-03/part-0.parquet": 3, "dt=2026-12-03_$folder$": 3,
                                                     "dt=2026-12-06_$folder$": 0})
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="emr-marker-gate-stale", Delimiter="/")["Contents"]] == [
        "dt=2026-12-03_$folder$", "dt=2026-12-06_$folder$"]  # objects of the top level, beside the partitions
    _configure(monkeypatch, ("transactions", "emr-marker-gate-stale", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: the newest object under "
                       r"s3://emr-marker-gate-stale/ is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_a_data_source_holding_only_a_hadoop_placeholder_starts_no_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "emr-marker-gate-only", {"dt=2026-12-06_$folder$": 0})
    _configure(monkeypatch, ("transactions", "emr-marker-gate-only", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: no data under "
                       r"s3://emr-marker-gate-only/ \(1 key listed"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_hadoop_placeholders_beside_fresh_data_start_a_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "emr-marker-gate-fresh", {"dt=2026-12-06_$folder$": 0, "dt=2026-12-06/part-0.parquet": 0})
    _configure(monkeypatch, ("transactions", "emr-marker-gate-fresh", "", DAY))
    result = retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    (execution,) = _executions(client)
    assert result["started"] == execution["PipelineExecutionArn"]
    (finding,) = result["freshness"]
    assert finding["fresh"] and finding["partition"] == "s3://emr-marker-gate-fresh/dt=2026-12-06/"


def test_what_is_a_folder_marker() -> None:
    assert retrain_gate.is_folder_marker("dt=2026-12-06/")
    assert retrain_gate.is_folder_marker("raw/dt=2026-12-06_$folder$")
    assert not retrain_gate.is_folder_marker("dt=2026-12-06/part-0.parquet")
    assert not retrain_gate.is_folder_marker("dt=2026-12-06/_folder")
