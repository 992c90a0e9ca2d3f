"""Spot checkpoints are exempt from the artifacts bucket's encryption-header denies; TLS still holds (closing-36b-4).

26ad445's ``DenyAwsManagedKey`` (``aws:kms`` without a key id) and its siblings covered every object of the platform
artifacts bucket, including ``checkpoints/``, which SageMaker uploads itself during a spot run. ``CheckpointConfig``
takes no key (botocore ``sagemaker`` ``CheckpointConfig`` = ``S3Uri``, ``LocalPath``), no document states the
headers of those uploads, and where a job is given no key SageMaker's documented default is the account's ``aws/s3``
key (botocore ``sagemaker`` ``OutputDataConfig.KmsKeyId``: "If you don't provide a KMS key ID, SageMaker uses the
default KMS key for Amazon S3 for your role's account"): ``aws:kms`` without a key id, which the deny refuses, and
every spot run would fail. Not verifiable here (no real SageMaker), so the statements now use ``NotResource`` =
``<bucket>/checkpoints/*`` ("explicitly matches every resource except those specified", IAM User Guide,
"IAM JSON policy elements: NotResource") on that bucket only. moto does not evaluate bucket policies; the compiled
policy is judged by :mod:`tests.support.bucket_policy_conditions`.
"""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile.aws import storage
from tests.support.applied_state import applied_state, resources
from tests.support.bucket_policy_conditions import denied_by, put_context
from tests.support.removals import REFERENCE_TEXT, graph_of

KEY = "arn:aws:kms:eu-west-1:222222222222:key/data-key"
OTHER_KEY = "arn:aws:kms:eu-west-1:222222222222:key/someone-elses"
ARTIFACTS = "fraud-detection-prod-platform-artifacts-222222222222"
CAPTURE = "fraud-detection-prod-platform-capture-222222222222"
CHECKPOINT = "checkpoints/retrain/exec-1/last.pt"


@pytest.fixture(scope="module")
def prod() -> list[dict]:
    return resources(applied_state(graph_of(REFERENCE_TEXT, "prod")))


def _policy(state: list[dict], name: str) -> dict:
    [record] = [r for r in state if r["type"] == "aws:s3/bucketPolicy:BucketPolicy"
                and r["urn"].endswith(f"::{name}-tls-only")]
    return json.loads(record["inputs"]["policy"])


def _put(policy: dict, bucket: str, key: str, tls: str = "1.3", **params) -> list[str]:
    return denied_by(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", put_context(params, tls=tls))


def test_the_compiled_checkpoint_prefix_is_the_exempt_one(prod):
    trains = [s["Arguments"] for r in prod if r["type"] == "aws:sagemaker/pipeline:Pipeline"
              for s in json.loads(r["inputs"]["pipelineDefinition"])["Steps"] if s["Name"] == "Train"]
    uris = [t["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"][0] for t in trains if "CheckpointConfig" in t]
    assert uris and all(u.startswith(f"s3://{ARTIFACTS}/{storage.CHECKPOINTS_PREFIX}") for u in uris), uris
    statements = {s["Sid"]: s for s in _policy(prod, "artifacts")["Statement"]}
    for sid in ("DenyOtherEncryption", "DenyOtherKmsKey", "DenyAwsManagedKey", "DenySseC"):
        assert "Resource" not in statements[sid]
        assert statements[sid]["NotResource"] == [f"arn:aws:s3:::{ARTIFACTS}/checkpoints/*"]


def test_a_checkpoint_put_under_the_aws_managed_key_is_allowed_and_denied_elsewhere(prod):
    artifacts = _policy(prod, "artifacts")
    assert _put(artifacts, ARTIFACTS, CHECKPOINT, ServerSideEncryption="aws:kms") == []
    assert _put(artifacts, ARTIFACTS, CHECKPOINT, ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY) == []
    assert _put(artifacts, ARTIFACTS, CHECKPOINT) == []
    # everywhere else in the bucket (model artifacts, promote's copies) the denies hold
    model = "training/retrain/pipelines-x/output/model.tar.gz"
    assert _put(artifacts, ARTIFACTS, model, ServerSideEncryption="aws:kms") == ["DenyAwsManagedKey"]
    assert _put(artifacts, ARTIFACTS, model, ServerSideEncryption="AES256") == ["DenyOtherEncryption"]
    assert _put(artifacts, ARTIFACTS, model, ServerSideEncryption="aws:kms",
                SSEKMSKeyId=OTHER_KEY) == ["DenyOtherKmsKey"]
    assert _put(artifacts, ARTIFACTS, model, SSECustomerAlgorithm="AES256") == ["DenySseC"]
    # a key that merely starts like the prefix is not under it
    assert _put(artifacts, ARTIFACTS, "checkpoints-old/x", ServerSideEncryption="aws:kms") == ["DenyAwsManagedKey"]


def test_tls_still_holds_under_checkpoints(prod):
    artifacts = _policy(prod, "artifacts")
    assert _put(artifacts, ARTIFACTS, CHECKPOINT, tls="1.1") == ["DenyOutdatedTls"]
    assert denied_by(artifacts, "s3:PutObject", f"arn:aws:s3:::{ARTIFACTS}/{CHECKPOINT}",
                     put_context(secure=False)) == ["DenyInsecureTransport"]


def test_no_other_bucket_exempts_checkpoints(prod):
    for name, bucket in (("capture", CAPTURE), ("transactions", "fraud-detection-prod-transactions-222222222222")):
        policy = _policy(prod, name)
        assert all("NotResource" not in s for s in policy["Statement"])
        assert _put(policy, bucket, CHECKPOINT, ServerSideEncryption="aws:kms") == ["DenyAwsManagedKey"]
