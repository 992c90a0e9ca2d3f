"""The pack's bucket checks on what a preview sends (audit guardrails-3).

The compiled encryption configuration names the platform key by a ref, unknown in a preview of its
creation (Pulumi's unknown sentinel, read as a present None: ``program/policy_pack.plain``), so it must
pass; ``aws:kms`` with no ``kmsMasterKeyId`` at all (S3 then uses the AWS managed key aws/s3) and a
BucketV2 without block or encryption must fail as in plan.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("pulumi_policy", reason="the policy extra is not installed (pip install 'mlops-infra[policy]')")

from mlops_infra.policy import rules
from tests.program.test_policy_pack import analyze, plans_answer, spec_file
from tests.support.guardrails import GUARDED, compiled

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"  # pulumi_aws/s3/bucket_v2.py
ENCRYPTION_V2 = ("aws:s3/bucketServerSideEncryptionConfigurationV2:"
                 "BucketServerSideEncryptionConfigurationV2")  # ..._configuration_v2.py

def test_a_key_unknown_in_the_preview_passes(tmp_path: Path) -> None:
    _, graph = compiled(GUARDED, "prod")
    found, _ = analyze(spec_file(tmp_path, GUARDED), graph, "prod")
    assert found == plans_answer(GUARDED, "prod", graph) == set()


def test_aws_kms_without_a_key_and_a_bare_bucket_v2_fail_as_in_plan(tmp_path: Path) -> None:
    _, graph = compiled(GUARDED, "prod")
    config = next(r for r in graph.resources if r.type == rules.BUCKET_ENCRYPTION)
    bare = next(r for r in graph.resources if r.type == rules.BUCKET and r.urn not in config.dependencies)
    dropped = {r.urn for r in graph.resources if bare.urn in r.dependencies
               and r.type in (rules.BUCKET_ENCRYPTION, rules.BUCKET_PUBLIC_ACCESS_BLOCK)}

    def change(r):
        if r.urn == config.urn:
            return replace(r, type=ENCRYPTION_V2,
                           inputs={**r.inputs, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]})
        return replace(r, type=BUCKET_V2) if r.urn == bare.urn else r
    edited = replace(graph, resources=tuple(change(r) for r in graph.resources if r.urn not in dropped))
    found, _ = analyze(spec_file(tmp_path, GUARDED), edited, "prod")
    expected = plans_answer(GUARDED, "prod", edited)
    assert sorted((rule, urn) for rule, _, urn, _ in expected) == sorted(
        [("encryption", urn) for urn in sorted(set(config.dependencies) & {r.urn for r in graph.resources
                                                                           if r.type == rules.BUCKET})]
        + [("encryption", bare.urn), ("no_public_access", bare.urn)])
    assert any("aws:kms without a key id" in message for *_, message in expected)
    assert found == expected
