"""The S3 checks know every spelling the pinned pulumi-aws (7.51.1) ships (audit guardrails-3).

``pulumi_aws/s3/bucket.py`` (aws:s3/bucket:Bucket) and ``bucket_v2.py`` (aws:s3/bucketV2:BucketV2) are
the same bucket (each aliases the other); ``bucket_server_side_encryption_configuration.py`` and
``..._v2.py`` the same configuration; both buckets still take an inline default encryption. And
``aws:kms`` without ``kmsMasterKeyId`` is the AWS managed key aws/s3 ("The default aws/s3 AWS KMS
master key is used if this element is absent", pulumi-aws ``s3/_inputs.py``; S3 API reference,
ServerSideEncryptionByDefault), not a customer-managed key. The audit's run5 variants (a)-(c) on
GUARDED prod, through plan's entry point and through the policy pack.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mlops_infra.graph import DesiredGraph, DesiredResource, is_ref
from mlops_infra.plan.guardrails import evaluate
from mlops_infra.policy import rules
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.guardrails import GUARDED, compiled

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"  # pulumi_aws/s3/bucket_v2.py
ENCRYPTION_V2 = ("aws:s3/bucketServerSideEncryptionConfigurationV2:"
                 "BucketServerSideEncryptionConfigurationV2")  # ..._configuration_v2.py
SYSTEM, GRAPH = compiled(GUARDED, "prod")
CONFIG = next(r for r in GRAPH.resources if r.type == rules.BUCKET_ENCRYPTION)
BUCKET_URN = next(u for u in CONFIG.dependencies if "aws:s3/bucket:Bucket" in u)
KEY = CONFIG.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]


def failures(graph: DesiredGraph) -> dict[str, list[str]]:
    """{rule: [finding message]} of the failing bucket rules."""
    return {r.rule: [f.message for f in r.findings] for r in evaluate(graph, guardrail_settings(SYSTEM, "prod"))
            if r.findings and r.rule in ("encryption", "no_public_access")}


def edited(change) -> DesiredGraph:
    """GRAPH with ``change(resource)`` applied to each resource (None drops it)."""
    out = tuple(r for r in (change(r) for r in GRAPH.resources) if r is not None)
    return replace(GRAPH, resources=out)


def test_the_compiled_graph_passes() -> None:
    assert failures(GRAPH) == {}
    assert is_ref(KEY)  # the platform key's ARN


def test_a_v2_encryption_configuration_counts() -> None:  # run5 (a)
    graph = edited(lambda r: replace(r, type=ENCRYPTION_V2) if r.urn == CONFIG.urn else r)
    assert any(r.type == ENCRYPTION_V2 for r in graph.resources)
    assert failures(graph) == {}


def test_a_bucket_v2_without_block_or_encryption_fails_both() -> None:  # run5 (b)
    def change(r: DesiredResource) -> DesiredResource | None:
        if r.type in (rules.BUCKET_PUBLIC_ACCESS_BLOCK, rules.BUCKET_ENCRYPTION):
            return None
        return replace(r, type=BUCKET_V2) if r.type == rules.BUCKET else r
    found = failures(edited(change))
    buckets = [r for r in GRAPH.resources if r.type == rules.BUCKET]
    assert len(found["encryption"]) == len(found["no_public_access"]) == len(buckets) >= 1
    assert all(m.endswith("has no default encryption with a KMS key (found: none)") for m in found["encryption"])


def test_aws_kms_without_a_key_id_fails_encryption() -> None:  # run5 (c)
    def change(r: DesiredResource) -> DesiredResource:
        if r.urn != CONFIG.urn:
            return r
        return replace(r, inputs={**r.inputs, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]})
    found = failures(edited(change))
    name = next(r for r in GRAPH.resources if r.urn == BUCKET_URN).inputs["bucket"]
    assert found == {"encryption": [f"bucket {name} has no default encryption with a KMS key "
                                    "(found: aws:kms without a key id)"]}


@pytest.mark.parametrize("key", ["", None])
def test_an_empty_key_id_is_no_key_and_an_unknown_one_is_the_graphs(key: str | None) -> None:
    def change(r: DesiredResource) -> DesiredResource:
        if r.urn != CONFIG.urn:
            return r
        default = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
        return replace(r, inputs={**r.inputs, "rules": [{"applyServerSideEncryptionByDefault": default}]})
    # None: how the policy pack reads a value unknown in a preview (program/policy_pack.plain)
    assert list(failures(edited(change))) == (["encryption"] if key == "" else [])


@pytest.mark.parametrize(("type_", "inline"), [
    (rules.BUCKET, {"serverSideEncryptionConfiguration": {"rule": {"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}}}),
    (BUCKET_V2, {"serverSideEncryptionConfigurations": [{"rules": [{"applyServerSideEncryptionByDefaults": [{
        "sseAlgorithm": "aws:kms:dsse", "kmsMasterKeyId": KEY}]}]}]}),
], ids=["Bucket", "BucketV2"])
def test_an_inline_default_encryption_counts_in_each_buckets_shape(type_: str, inline: dict) -> None:
    def change(r: DesiredResource) -> DesiredResource | None:
        if r.urn == CONFIG.urn:
            return None
        if r.urn == BUCKET_URN:
            return replace(r, type=type_, inputs={**r.inputs, **inline})
        return r
    assert failures(edited(change)) == {}

    def sse_s3(r: DesiredResource) -> DesiredResource | None:  # the same shape with SSE-S3 fails
        out = change(r)
        if out is not None and out.urn == BUCKET_URN:
            return replace(out, inputs={**r.inputs, **_with_algorithm(inline, "AES256")})
        return out
    assert [m.endswith("(found: AES256)") for m in failures(edited(sse_s3))["encryption"]] == [True]


def _with_algorithm(value, algorithm: str):
    if isinstance(value, dict):
        return {k: (algorithm if k == "sseAlgorithm" else _with_algorithm(v, algorithm)) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_algorithm(v, algorithm) for v in value]
    return value


def test_every_bucket_spelling_pulumi_aws_ships_is_known() -> None:
    """Read the type tokens out of the installed pulumi_aws/s3 modules: a bucket, an encryption
    configuration and a public access block in any spelling are known to the rules."""
    spec = importlib.util.find_spec("pulumi_aws")
    assert spec is not None and spec.submodule_search_locations
    root = Path(spec.submodule_search_locations[0]) / "s3"
    tokens = {t for path in root.glob("*.py") for t in re.findall(r"'(aws:s3/[A-Za-z0-9]+:[A-Za-z0-9]+)'", path.read_text())}
    assert len(tokens) > 30  # every resource of the module, read
    assert {t for t in tokens if t.split(":")[-1] in ("Bucket", "BucketV2")} == set(rules.BUCKET_TYPES)
    assert {t for t in tokens if "ServerSideEncryptionConfiguration" in t} == set(rules.BUCKET_ENCRYPTION_TYPES)
    assert {t for t in tokens if t.split(":")[-1] == "BucketPublicAccessBlock"} == set(rules.BUCKET_PUBLIC_ACCESS_BLOCK_TYPES)

