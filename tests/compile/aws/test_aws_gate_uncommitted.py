"""The retrain gate does not take a killed Spark/Hadoop job's uncommitted output, or a ``_SUCCESS``
marker, for fresh data (audit closing-37a, findings 2 and 6).

A job killed before ``commitJob`` leaves non-empty part files of today in its pending folder:
Hadoop ``FileOutputCommitter.PENDING_DIR_NAME = "_temporary"`` ("Data that has not been committed yet"),
Spark's ``.spark-staging-<jobId>`` (``HadoopMapReduceCommitProtocol``, dynamic partition overwrite), the
S3A committers' ``__magic``. The gate's full listing counted them, so three-day-old data passed a
one-day freshness. ``_SUCCESS`` is written by ``commitJob`` whatever the output holds: a fresh one over
old files is a job that committed no new data. Runs the shipped gate against the moto server, with
the helpers of ``test_aws_gate_freshness`` and ``test_aws_gate_empty_objects``.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws import retrain_gate
from tests.compile.aws.test_aws_gate_empty_objects import ROWS, _bucket
from tests.compile.aws.test_aws_gate_freshness import DAY, _configure, _executions, _pipeline
from tests.support import fixtures

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
PENDING = {
    "temporary": "_temporary/0/_temporary/attempt_202612060000_0001_m_000000_0/dt=2026-12-06/part-00000.parquet",
    "staging": ".spark-staging-3f2a/dt=2026-12-06/part-00000.parquet",
    "magic": "__magic/job-3f2a/tasks/attempt_0/dt=2026-12-06/part-00000.parquet.pending",
    "nested": "dt=2026-12-06/_temporary/0/part-00000.parquet",
}


@pytest.mark.moto
@pytest.mark.parametrize("kind", sorted(PENDING))
def test_a_killed_jobs_pending_output_does_not_refresh_old_data(moto_url, monkeypatch, kind):
    client = _pipeline(moto_url)
    name = f"gate-pending-{kind}"
    s3 = _bucket(moto_url, name, {"dt=2026-12-03/part-0000.parquet": (ROWS, 3), PENDING[kind]: (ROWS, 0)})
    _configure(monkeypatch, ("transactions", name, "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=rf"data source transactions: the newest object under "
                       rf"s3://{name}/ is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
def test_the_newest_partition_search_does_not_descend_into_a_pending_folder(moto_url, monkeypatch):
    """``_temporary/`` sorts after ``2026/``: the search reaches the newest committed partition in step 1."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "gate-pending-descent", {"2026/12/06/part-0000.parquet": (ROWS, 0),
                                                    "_temporary/0/part-0000.parquet": (ROWS, 0)})
    _configure(monkeypatch, ("transactions", "gate-pending-descent", "", DAY))
    result = retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    (finding,) = result["freshness"]
    assert finding["fresh"] and finding["search"] == "newest-partition"
    assert finding["partition"] == "s3://gate-pending-descent/2026/12/06/"
    assert len(_executions(client)) == 1


@pytest.mark.moto
def test_only_pending_output_is_no_data(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "gate-pending-only", {PENDING["temporary"]: (ROWS, 0), PENDING["staging"]: (ROWS, 0)})
    _configure(monkeypatch, ("transactions", "gate-pending-only", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"no data under s3://gate-pending-only/ \(2 keys listed, all "
                       r"folder markers, _SUCCESS markers, 0-byte objects or uncommitted job output\)"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


@pytest.mark.moto
@pytest.mark.parametrize("body", [b"", b'{"name": "committer"}'], ids=["empty", "json"])
def test_a_fresh_success_marker_over_old_files_starts_no_run(moto_url, monkeypatch, body):
    """A job that committed no new data (an ingest of an empty day) still writes ``_SUCCESS``."""
    client = _pipeline(moto_url)
    name = f"gate-success-{'json' if body else 'empty'}"
    s3 = _bucket(moto_url, name, {"dt=2026-12-06/part-0000.parquet": (ROWS, 3), "dt=2026-12-06/_SUCCESS": (body, 0)})
    _configure(monkeypatch, ("transactions", name, "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=rf"the newest object under s3://{name}/ is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []


def test_what_is_uncommitted() -> None:
    assert all(retrain_gate.is_uncommitted(key) for key in PENDING.values())
    assert retrain_gate.is_uncommitted("_temporary/")  # a CommonPrefixes entry
    assert retrain_gate.is_uncommitted("raw/.spark-staging-1/x", "raw/")
    assert not retrain_gate.is_uncommitted("_temporary/dt=1/part-0.parquet", "_temporary/")  # the prefix itself
    assert not retrain_gate.is_uncommitted("dt=1/part-0.parquet")
    assert not retrain_gate.is_uncommitted("dt=1/_temporary")  # a file so named, not a folder
    assert not retrain_gate.is_uncommitted("dt=1/temporary/part-0.parquet")
    assert not retrain_gate.holds_data({"Key": PENDING["staging"], "Size": 10})
    assert not retrain_gate.holds_data({"Key": "dt=1/_SUCCESS", "Size": 0})
    assert not retrain_gate.holds_data({"Key": "_SUCCESS", "Size": 21})
    assert retrain_gate.holds_data({"Key": "dt=1/my_SUCCESS", "Size": 1})
