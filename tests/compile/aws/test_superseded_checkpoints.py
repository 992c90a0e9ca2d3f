"""The platform artifacts bucket expires superseded spot-checkpoint versions, and nothing else (audit datasources-6).

Before: versioned (``Enabled``) with only ``abort-incomplete-multipart-uploads`` and ``expired-delete-markers``, so
every save of ``checkpoints/<job>/<exec>/last.pt`` left the previous save as a noncurrent version, billed forever
(only a ``NoncurrentVersionExpiration`` removes one: botocore ``s3`` ``NoncurrentVersionExpiration``). Now a rule
``superseded-checkpoints`` with ``filter.prefix`` ``checkpoints/`` (botocore ``s3`` ``LifecycleRuleFilter``: an empty
filter is every object, a prefix only the objects under it) expires noncurrent versions after
``storage.CHECKPOINTS_DAYS`` days and has no ``expiration``: current checkpoints, model artifacts (``training/``),
promoted copies and registered versions keep every version.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlops_infra.compile.aws import storage
from mlops_infra.compile.aws.storage import (
    CHECKPOINTS_DAYS,
    CHECKPOINTS_PREFIX,
    CHECKPOINTS_RULE,
    LIFECYCLE,
    BucketSpec,
    _lifecycle_rules,
)
from mlops_infra.compile.aws.training import checkpoint_uri
from tests.compile.aws.cases import REFERENCE, compiled, of_type
from tests.support.moto_server import running_moto_server

BEFORE = ["abort-incomplete-multipart-uploads", "expired-delete-markers"]
"""The artifacts bucket's rule ids before datasources-6 (kept, in the same order around the new rule)."""


def _lifecycles(graph) -> dict[str, Any]:
    return {r.name: r for r in of_type(graph, LIFECYCLE)}


def _rule(rules: list[dict[str, Any]], rule_id: str) -> dict[str, Any]:
    [rule] = [r for r in rules if r["id"] == rule_id]
    return rule


def _applies_to(rule: dict[str, Any], key: str) -> bool:
    """Whether S3 applies ``rule`` to ``key``: an empty filter is every object, a prefix filter the keys under it
    (botocore ``s3`` ``LifecycleRuleFilter``); the compiler writes no other filter."""
    flt = rule["filter"]
    assert set(flt) <= {"prefix"}, flt
    return key.startswith(flt.get("prefix", ""))


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_artifacts_lifecycle_expires_only_noncurrent_checkpoint_versions(env):
    graph = compiled(REFERENCE, env)
    rules = _lifecycles(graph)["artifacts-lifecycle"].inputs["rules"]
    assert [r["id"] for r in rules] == [BEFORE[0], CHECKPOINTS_RULE, BEFORE[1]]
    assert _rule(rules, CHECKPOINTS_RULE) == {
        "id": "superseded-checkpoints", "status": "Enabled", "filter": {"prefix": "checkpoints/"},
        "noncurrentVersionExpiration": {"noncurrentDays": 7}}
    assert CHECKPOINTS_DAYS == 7
    # no rule of the artifacts bucket expires a current version by days, nor a noncurrent one outside checkpoints/
    assert not [r for r in rules if (r.get("expiration") or {}).get("days")]
    assert [r["id"] for r in rules if "noncurrentVersionExpiration" in r] == [CHECKPOINTS_RULE]


def test_the_rule_covers_checkpoints_and_no_model_artifact():
    rule = storage._checkpoints_rule()
    for key in ("checkpoints/retrain/exec-1/last.pt", "checkpoints/fraud-train/8f2e/last.pt"):
        assert _applies_to(rule, key), key
    for key in ("training/retrain/pipelines-abc/output/model.tar.gz",  # a registered version's ModelDataUrl
                "training/retrain/promoted/fraud-model/0123456789abcdef/model.tar.gz",  # promote's copy
                "promoted/fraud-model/0123456789abcdef/model.tar.gz",
                "checkpoints",  # no trailing slash: not under the prefix
                "models/checkpoints/last.pt"):
        assert not _applies_to(rule, key), key


def test_the_rule_prefix_is_where_training_jobs_checkpoint():
    class Job:
        name = "retrain"
    uri = checkpoint_uri("bucket-1", Job())  # type: ignore[arg-type]
    assert uri["Std:Join"]["Values"][0] == f"s3://bucket-1/{CHECKPOINTS_PREFIX}retrain"


def test_no_other_bucket_gets_the_rule():
    graph = compiled(REFERENCE, "prod")
    holding = [name for name, r in _lifecycles(graph).items()
               if any(rule["id"] == CHECKPOINTS_RULE for rule in r.inputs["rules"])]
    assert holding == ["artifacts-lifecycle"]
    data = _lifecycle_rules(BucketSpec("transactions", "b", "kms", True, 400, True))
    assert CHECKPOINTS_RULE not in [r["id"] for r in data]


def _boto(value: Any) -> Any:
    """The compiled (pulumi-aws, camelCase) rule as the S3 API names it (botocore ``LifecycleRule``: ``ID``, ...)."""
    if isinstance(value, dict):
        return {("ID" if k == "id" else k[0].upper() + k[1:]): _boto(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_boto(v) for v in value]
    return value


def test_s3_accepts_the_compiled_artifacts_lifecycle_and_holds_exactly_its_rules():
    rules = _lifecycles(compiled(REFERENCE, "prod"))["artifacts-lifecycle"].inputs["rules"]
    with running_moto_server() as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
        bucket = "ckptlife-platform-artifacts-222222222222"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": _boto(rules)})
        held = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [r["ID"] for r in held] == [BEFORE[0], CHECKPOINTS_RULE, BEFORE[1]]
        [checkpoints] = [r for r in held if r["ID"] == CHECKPOINTS_RULE]
        assert checkpoints["Filter"] == {"Prefix": "checkpoints/"}
        assert checkpoints["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
        assert checkpoints["Status"] == "Enabled"
        assert "Expiration" not in checkpoints
        # a resumed run reads the current version: three saves leave the last as current, the others noncurrent
        key = "checkpoints/retrain/exec-1/last.pt"
        for step in range(3):
            s3.put_object(Bucket=bucket, Key=key, Body=b"x" * (step + 1))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"xxx"
        versions = s3.list_object_versions(Bucket=bucket, Prefix=CHECKPOINTS_PREFIX)["Versions"]
        assert sorted((v["IsLatest"], v["Size"]) for v in versions) == [(False, 1), (False, 2), (True, 3)]
