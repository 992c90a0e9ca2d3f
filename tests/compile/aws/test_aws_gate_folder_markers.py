"""The retrain gate does not take a folder marker for fresh data (audit datasources-5).

The S3 console's "Create folder" writes a 0-byte object whose key ends in ``/`` ("S3 creates a 0-byte
object with a key that's set to the folder name that you provided ... the Amazon S3 console creates a
0-byte object with the key photos/", S3 User Guide, "Organizing objects in the Amazon S3 console by
using folders"), and ``ListObjectsV2`` lists it like any object. The gate (``compile/aws/retrain_gate.py``
``_newer``) counted its ``LastModified``, so a partition folder made before its data arrived passed the
data source's ``freshness`` with no data in it. Runs the shipped gate against the moto server, with the
helpers of ``test_aws_gate_freshness`` (``_age`` moves an object's ``LastModified`` back in moto's backend).
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws import retrain_gate
from tests.compile.aws.test_aws_gate_freshness import DAY, _age, _configure, _executions, _pipeline
from tests.support import fixtures
from tests.support.moto_server import shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url


def _bucket(moto_url: str, name: str, keys: dict[str, float]):
    """A bucket holding ``keys``, each written that many days ago: a key ending in ``/`` as the console
    makes a folder (0 bytes), any other with data."""
    s3 = shared_session().client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=name)
    for key, days in keys.items():
        s3.put_object(Bucket=name, Key=key, Body=b"" if key.endswith("/") else b"amount,merchant_id\n1.0,m1\n")
        _age(name, key, days)
    return s3


@pytest.mark.moto
def test_a_data_source_holding_only_a_fresh_folder_marker_starts_no_run(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "marker-gate-only", {"dt=2026-12-06/": 0})
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="marker-gate-only")["Contents"]] == ["dt=2026-12-06/"]
    _configure(monkeypatch, ("transactions", "marker-gate-only", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"data source transactions: no object under s3://marker-gate-only/; "
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
