"""The retrain gate checks its inputs' ``contract.freshness`` before it starts a run (finding contract-2).

The reference says "the contract is checked before a training job reads it" and its ``transactions``
promise ``freshness: 24h``; before this check nothing read it, so the Monday retrain (and every
drift-triggered one) trained on week-old data with no alert. The gate (``compile/aws/retrain_gate.py``)
lists each input's objects with ``ListObjectsV2`` and compares the newest ``LastModified`` ("Creation
date of the object", botocore ``s3`` ``Object``) with the freshness; a stale, empty or unconfirmable
input raises, which is the gate's failure path (Lambda's two retries, the failure queue, the Errors
alarm to the job's channels: ``compile/aws/lambda_failures.py``).

Runs for real against the moto server (``tests/support/moto_server.py``): S3 sets ``LastModified``
when an object is written and has no API to set it, so :func:`_age` moves it back in moto's backend
(in this process: the server is threaded), as if the object had been written days ago. The requests'
shapes are checked against botocore's S3 model with ``Stubber``.
"""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.stub import Stubber

from mlops_infra.compile.aws import gates, retrain_gate
from tests.compile.aws.cases import REFERENCE, compile_text, compiled, of_type, one
from tests.compile.aws.test_aws_lambda_failures import allowed
from tests.support import fixtures
from tests.support.moto_server import shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
PIPELINE = "fraud-detection-prod-train-retrain"
DAY = 86400


def _pipeline(moto_url: str):
    client = shared_session().client("sagemaker", endpoint_url=moto_url)
    client.create_pipeline(PipelineName=PIPELINE, RoleArn="arn:aws:iam::123456789012:role/pipelines",
                           PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
    return client


def _bucket(moto_url: str, name: str, keys: dict[str, float]):
    """A bucket holding ``keys``, each written that many days ago."""
    s3 = shared_session().client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=name)
    for key, days in keys.items():
        s3.put_object(Bucket=name, Key=key, Body=b"amount,merchant_id\n1.0,m1\n")
        _age(name, key, days)
    return s3


def _age(bucket: str, key: str, days: float) -> None:
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    for version in s3_backends[account][partition].buckets[bucket].keys.getlist(key):
        version.last_modified = version.last_modified - datetime.timedelta(days=days)


def _configure(monkeypatch, *inputs: tuple[str, str, str, int]) -> None:
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    monkeypatch.setenv("FRESHNESS", json.dumps({"owner": "123456789012", "inputs": [list(i) for i in inputs]}))


def _executions(client) -> list:
    return client.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]


@pytest.mark.moto
def test_a_two_day_old_input_with_a_24h_contract_starts_no_run(moto_url, monkeypatch, capsys):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "fresh-gate-stale", {"2026/12/01/part-0.csv": 3, "2026/12/03/part-0.csv": 2})
    _configure(monkeypatch, ("transactions", "fresh-gate-stale", "", DAY))
    with pytest.raises(retrain_gate.StaleInput) as raised:
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    message = str(raised.value)
    assert "data source transactions" in message and "s3://fresh-gate-stale/" in message
    assert "is 2d 0h old" in message and "freshness is 1d 0h (86400 s)" in message, message
    assert PIPELINE in message and "(schedule)" in message
    assert _executions(client) == []
    assert "stale input" in capsys.readouterr().out


@pytest.mark.moto
def test_a_fresh_input_starts_a_run_and_says_what_it_found(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "fresh-gate-fresh", {"2026/12/03/part-0.csv": 2, "2026/12/05/part-0.csv": 0})
    _configure(monkeypatch, ("transactions", "fresh-gate-fresh", "", DAY))
    result = retrain_gate.handler({"triggeredBy": "alert:fraud-drift"}, client=client, s3=s3)
    (execution,) = _executions(client)
    assert result["started"] == execution["PipelineExecutionArn"]
    (finding,) = result["freshness"]
    assert finding["dataSource"] == "transactions" and finding["fresh"] and finding["search"] == "newest-partition"
    assert finding["partition"] == "s3://fresh-gate-fresh/2026/12/05/" and finding["listed"] == 1
    assert finding["newestAgeSeconds"] < 600 and finding["freshnessSeconds"] == DAY


@pytest.mark.moto
def test_every_stale_input_is_named_and_an_empty_one_is_stale(moto_url, monkeypatch):
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "fresh-gate-a", {"x.parquet": 0})
    _bucket(moto_url, "fresh-gate-b", {"old/x.parquet": 8})
    _bucket(moto_url, "fresh-gate-c", {})
    _configure(monkeypatch, ("a", "fresh-gate-a", "", DAY), ("b", "fresh-gate-b", "", 7 * DAY),
               ("c", "fresh-gate-c", "", DAY))
    with pytest.raises(retrain_gate.StaleInput) as raised:
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    message = str(raised.value)
    assert "data source a" not in message
    assert "data source b: the newest object under s3://fresh-gate-b/ is 8d 0h old" in message
    assert "data source c: no object under s3://fresh-gate-c/" in message
    assert _executions(client) == []


@pytest.mark.moto
def test_the_listing_is_bounded_and_an_unconfirmed_input_fails_closed(moto_url, monkeypatch):
    """Pages of 2 keys; the newest-partition search reads 1 page, the full listing at most 2: five
    keys that do not sort by time (no partition to descend into), the fresh one last, leave it
    unlisted, so freshness is not confirmed: no run, and the message says the listing was cut off. A
    fresh object on the first page is enough (any later one can only be newer)."""
    monkeypatch.setattr(retrain_gate, "PAGE_KEYS", 2)
    monkeypatch.setattr(retrain_gate, "DESCENT_PAGES", 1)
    monkeypatch.setattr(retrain_gate, "LIST_PAGES", 2)
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "fresh-gate-many", {f"k{i}": 3 for i in range(4)} | {"k4": 0})
    _configure(monkeypatch, ("transactions", "fresh-gate-many", "", DAY))
    with pytest.raises(retrain_gate.StaleInput, match=r"nothing fresh in its newest partition \(s3://fresh-gate-many/\), "
                       "and listed only the first 4 keys under s3://fresh-gate-many/ "
                       r"\(the gate reads at most 4 in key order\) and the newest of them is 3d 0h old"):
        retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    assert _executions(client) == []
    _bucket(moto_url, "fresh-gate-first", {"a": 0} | {f"k{i}": 3 for i in range(6)})
    _configure(monkeypatch, ("transactions", "fresh-gate-first", "", DAY))
    result = retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    (finding,) = result["freshness"]
    assert result["started"] and finding["fresh"] and not finding["complete"] and finding["listed"] == 2


def _put_many(bucket: str, keys: list[str], days: float) -> None:
    """``keys`` written ``days`` ago, straight into moto's backend (the same objects ``PutObject`` makes,
    without 60,000 HTTP requests)."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    backend = s3_backends[account][partition]
    for key in keys:
        backend.put_object(bucket, key, b"x")
        _age(bucket, key, days)


@pytest.mark.moto
def test_a_fresh_newest_partition_among_60000_old_objects_starts_a_run(moto_url, monkeypatch):
    """Date partitions sort old-first, so the fresh object is the 60,001st key: the bounded full listing
    (50,000) never reaches it and failed closed on every run. The newest-partition search finds it in
    two calls (the partitions, then dt=2026-12-05/)."""
    client = _pipeline(moto_url)
    s3 = _bucket(moto_url, "fresh-gate-partitioned", {})
    days = [datetime.date(2025, 1, 1) + datetime.timedelta(days=d) for d in range(300)]
    _put_many("fresh-gate-partitioned", [f"dt={d.isoformat()}/part-{i:04d}.parquet" for d in days for i in range(200)],
              30)
    s3.put_object(Bucket="fresh-gate-partitioned", Key="dt=2026-12-05/part-0000.parquet", Body=b"x")
    _configure(monkeypatch, ("transactions", "fresh-gate-partitioned", "", DAY))
    calls = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: calls.append(params))
    result = retrain_gate.handler({"triggeredBy": "schedule"}, client=client, s3=s3)
    (finding,) = result["freshness"]
    assert result["started"] and finding["fresh"] and finding["search"] == "newest-partition"
    assert finding["partition"] == "s3://fresh-gate-partitioned/dt=2026-12-05/" and len(calls) == 2


def test_the_listing_requests_match_the_s3_model(monkeypatch):
    """``ListObjectsV2`` with the prefix, pages of 1,000, the account as ``ExpectedBucketOwner``: first
    by ``Delimiter`` ``/`` into the greatest sub-prefix, then (nothing fresh there) the whole prefix
    with the continuation token of the previous page (botocore ``s3`` shapes, validated by ``Stubber``)."""
    s3 = shared_session().client("s3", endpoint_url="http://127.0.0.1:1")
    now = datetime.datetime(2026, 12, 5, 12, tzinfo=datetime.UTC)
    old = {"Key": "in/z/a", "LastModified": now - datetime.timedelta(days=2), "Size": 1}
    new = {"Key": "in/b/b", "LastModified": now - datetime.timedelta(hours=1), "Size": 1}
    base = {"Bucket": "data", "Prefix": "in/", "MaxKeys": 1000, "ExpectedBucketOwner": "123456789012"}
    monkeypatch.setenv("FRESHNESS", json.dumps({"owner": "123456789012", "inputs": [["d", "data", "in/", DAY]]}))
    with Stubber(s3) as stub:
        stub.add_response("list_objects_v2", {"CommonPrefixes": [{"Prefix": "in/b/"}], "IsTruncated": True,
                                              "NextContinuationToken": "p1"}, {**base, "Delimiter": "/"})
        stub.add_response("list_objects_v2", {"CommonPrefixes": [{"Prefix": "in/z/"}], "IsTruncated": False},
                          {**base, "Delimiter": "/", "ContinuationToken": "p1"})
        stub.add_response("list_objects_v2", {"Contents": [old], "IsTruncated": False},
                          {**base, "Prefix": "in/z/", "Delimiter": "/"})
        stub.add_response("list_objects_v2", {"Contents": [old], "IsTruncated": True, "NextContinuationToken": "t1"},
                          base)
        stub.add_response("list_objects_v2", {"Contents": [new], "IsTruncated": False}, {**base, "ContinuationToken": "t1"})
        (finding,) = retrain_gate.check_freshness(s3, now)
        stub.assert_no_pending_responses()
    assert finding["newestAgeSeconds"] == 3600 and finding["complete"] and finding["search"] == "full"
    assert finding["partition"] == "s3://data/in/z/" and finding["listed"] == 2


def test_the_reference_gate_checks_transactions_for_24h_and_may_list_only_that_bucket():
    graph = compiled(REFERENCE, "prod")
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")
    config = json.loads(gate.inputs["environment"]["variables"]["FRESHNESS"])
    bucket = "fraud-detection-prod-transactions-222222222222"
    assert config == {"owner": "222222222222", "inputs": [["transactions", bucket, "", 86400]]}
    assert gate.inputs["timeout"] == gates.TIMEOUT_SECONDS
    (policy,) = [p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p.name == "retrain-gate-policy"]
    statements = policy.inputs["policy"]["$json"]["Statement"]
    assert allowed(statements, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {})
    others = [b.inputs["bucket"] for b in of_type(graph, "aws:s3/bucket:Bucket") if b.inputs["bucket"] != bucket]
    assert others and not any(allowed(statements, "s3:ListBucket", f"arn:aws:s3:::{o}", {}) for o in others)
    assert not any(allowed(statements, a, f"arn:aws:s3:::{bucket}/x", {}) for a in ("s3:GetObject", "s3:PutObject"))


def _reference_with(replacements: dict[str, str]) -> str:
    text = REFERENCE.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_a_gate_without_contracted_inputs_checks_nothing_and_lists_nothing():
    graph = compile_text(_reference_with({"      freshness: 24h\n": ""}))
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")
    assert set(gate.inputs["environment"]["variables"]) == {"PIPELINE_NAME"}
    (policy,) = [p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p.name == "retrain-gate-policy"]
    assert not any("s3:ListBucket" in s["Action"] for s in policy.inputs["policy"]["$json"]["Statement"])


def test_twenty_inputs_of_the_longest_names_fit_lambdas_4_kb():
    """Lambda: "Function environment variables: 4 KB, for all environment variables associated with
    the function, in aggregate"; a job on AWS reads at most 20 data sources (validate)."""
    names = [f"{i:02d}" + "s" * 61 for i in range(19)]
    sources = "".join(f"  - name: {n}\n    kind: object_store\n    contract: {{freshness: 3550w}}\n" for n in names)
    text = _reference_with({"data_sources:\n": "data_sources:\n" + sources,
                            "    inputs: [transactions]\n": f"    inputs: [transactions, {', '.join(names)}]\n"})
    graph = compile_text(text)
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")
    variables = gate.inputs["environment"]["variables"]
    assert len(json.loads(variables["FRESHNESS"])["inputs"]) == 20
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    assert 2900 < size <= gates.ENVIRONMENT_BYTES, size
