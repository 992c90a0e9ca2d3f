"""The SDK classes' own type aliases (``mlops_infra.plan.sdk_aliases``): the generated table is the installed SDKs',
and a state written under an aliased type (pulumi-aws 6's ``BucketV2`` ...) is planned as that resource, renamed,
never deleted and created again (pulumi/pulumi ``step_generator.go`` ``getOldResource``; audit provvers-3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.sdk_aliases import TYPE_ALIASES, alias_urns, scan_installed_sdks
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

ROOT = Path(__file__).resolve().parents[2]
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"
V6 = {  # the pulumi-aws 7 token -> the pulumi-aws 6 token its class declares as an alias
    "aws:s3/bucket:Bucket": "aws:s3/bucketV2:BucketV2",
    "aws:s3/bucketVersioning:BucketVersioning": "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}


def test_the_table_is_the_one_the_installed_sdks_declare() -> None:
    """Regenerate with ``python -m mlops_infra.plan.sdk_aliases`` when an SDK pin moves."""
    assert scan_installed_sdks() == TYPE_ALIASES
    for new, old in V6.items():
        assert TYPE_ALIASES[new] == (old,), new
    assert "kubernetes:apps/v1beta1:Deployment" in TYPE_ALIASES["kubernetes:apps/v1:Deployment"]
    assert "aws:s3/bucketV2:BucketV2" not in TYPE_ALIASES  # it aliases only itself


def test_an_alias_keeps_the_parent_chain_and_name() -> None:
    urn = "urn:pulumi:prod::fraud::mlops:core:Platform$aws:s3/bucket:Bucket::artifacts-bucket"
    assert alias_urns(urn, "aws:s3/bucket:Bucket") == (
        "urn:pulumi:prod::fraud::mlops:core:Platform$aws:s3/bucketV2:BucketV2::artifacts-bucket",)
    assert alias_urns("urn:pulumi:prod::fraud::aws:s3/bucket:Bucket::b", "aws:s3/bucket:Bucket") == (
        "urn:pulumi:prod::fraud::aws:s3/bucketV2:BucketV2::b",)
    assert alias_urns(urn, "aws:iam/role:Role") == ()


@pytest.fixture(scope="module")
def graph():
    return compile_file(FRAUD, "prod")


def test_a_state_written_by_pulumi_aws_6_keeps_every_bucket(graph) -> None:
    """The buckets, their versioning, encryption and lifecycle stored under the v6 tokens: no create, no delete,
    nothing blocked; each is the same resource, renamed by its SDK alias (fails before: 16 blocked deletes and
    16 creates)."""
    text = dumps(applied_state(graph))
    for new, old in V6.items():
        assert text.count(new) > 0, new
        text = text.replace(new, old)
    prior = parse_state(text, "prior.json")
    result = make_plan(graph, prior, options=PlanOptions(summarize_ml=False, estimate_cost=False, sdk_versions={}))
    assert not [(c.name, c.action) for c in result.changes if c.action is not Action.NOOP]
    assert not any(c.blocked for c in result.changes)
    renamed = [c for c in result.changes if c.type in V6]
    assert len(renamed) == 16 and all(c.reason.code == "aliased" for c in renamed)
    bucket = next(c for c in renamed if c.name == "artifacts-bucket")
    assert bucket.reason.message.startswith(
        "artifacts-bucket is the aws:s3/bucketV2:BucketV2 artifacts-bucket in the state, renamed by an SDK alias")
