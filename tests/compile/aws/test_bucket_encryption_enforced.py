"""``encryption: kms`` is enforced on every object written, not only the bucket default (audit datasources-4,
compile/aws/policies.kms_puts_only, compile/aws/storage.add_secure_bucket).

Before, a kms bucket's policy had only the TLS statements: a PUT naming ``AES256``, ``aws:kms`` alone (the
``aws/s3`` key) or another KMS key was stored that way. Now its policy denies each of those on ``s3:PutObject``,
while a header-less PUT (the default: the platform key) and a PUT naming the platform key by its ARN pass. moto
does not evaluate bucket policies, so the compiled statements are judged by the test-only evaluator
:mod:`tests.support.bucket_policy_conditions`; the writers this tool starts are checked with the request shapes
they send: SageMaker training output and checkpoints, the drift job's Processing output and data capture (each
given the platform key's ARN), and promote's copy (its real requests, recorded on a moto server).
"""

from __future__ import annotations

import io
import json

import boto3
import pytest

from mlops_infra.compile.aws import policies
from tests.support import fixtures
from tests.support.applied_state import applied_state, resources
from tests.support.bucket_policy_conditions import denied_by, headers_context, put_context
from tests.support.removals import REFERENCE_TEXT, graph_of
from tests.support.text_edits import edit

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
KEY = "arn:aws:kms:eu-west-1:222222222222:key/data-key"
OTHER_KEY = "arn:aws:kms:eu-west-1:222222222222:key/someone-elses"
PREFIX = "fraud-detection-prod-"
ACCOUNT = "-222222222222"


@pytest.fixture(scope="module")
def prod() -> list[dict]:
    return resources(applied_state(graph_of(REFERENCE_TEXT, "prod")))


def policy_of(state: list[dict], name: str) -> dict:
    [record] = [r for r in state if r["type"] == "aws:s3/bucketPolicy:BucketPolicy"
                and r["urn"].endswith(f"::{name}-tls-only")]
    return json.loads(record["inputs"]["policy"])


def put(policy: dict, bucket: str, key: str = "dt=2026-12-06/part-0.parquet", **params) -> list[str]:
    return denied_by(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", put_context(params))


@pytest.mark.parametrize("name", ["transactions", "feature-snapshots", "artifacts", "capture"])
def test_every_kms_bucket_denies_puts_that_ask_for_another_encryption(prod, name):
    bucket = PREFIX + (f"platform-{name}" if name in ("artifacts", "capture") else name) + ACCOUNT
    policy = policy_of(prod, name)
    assert [s["Sid"] for s in policy["Statement"]] == [
        "DenyInsecureTransport", "DenyOutdatedTls", "DenyOtherEncryption", "DenyOtherKmsKey", "DenyAwsManagedKey",
        "DenySseC"]
    assert put(policy, bucket) == []  # header-less: the bucket default (the platform key) applies
    assert put(policy, bucket, ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY) == []
    assert put(policy, bucket, ServerSideEncryption="AES256") == ["DenyOtherEncryption"]
    assert put(policy, bucket, ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId=KEY) == ["DenyOtherEncryption"]
    assert put(policy, bucket, ServerSideEncryption="aws:kms") == ["DenyAwsManagedKey"]
    assert put(policy, bucket, ServerSideEncryption="aws:kms", SSEKMSKeyId=OTHER_KEY) == ["DenyOtherKmsKey"]
    assert put(policy, bucket, SSECustomerAlgorithm="AES256") == ["DenySseC"]
    # the statements are on PutObject only: reads, lists and deletes are left to the TLS statements
    assert denied_by(policy, "s3:GetObject", f"arn:aws:s3:::{bucket}/k", put_context()) == []
    assert denied_by(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/k",
                     put_context(tls="1.1")) == ["DenyOutdatedTls"]


def test_an_s3_encrypted_data_source_keeps_the_tls_statements_only():
    state = resources(applied_state(graph_of(edit(REFERENCE_TEXT, "    encryption: kms\n    retention: 400d\n",
                                                  "    encryption: s3\n    retention: 400d\n"), "staging")))
    policy = policy_of(state, "transactions")
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport", "DenyOutdatedTls"]


def test_the_statements_guard_each_negated_test_with_the_header_being_present():
    """A negated operator, or ...IfExists, is true on an absent key: unguarded, header-less PUTs would be denied."""
    statements = {s["Sid"]: s for s in policies.kms_puts_only("eu-west-1", "b", KEY)}
    for sid in ("DenyOtherEncryption", "DenyOtherKmsKey"):
        condition = statements[sid]["Condition"]
        [(key, _)] = condition["StringNotEquals"].items()
        assert condition["Null"] == {key: "false"}
    assert not [op for s in statements.values() for op in s["Condition"] if op.endswith("IfExists")]
    unguarded = {"Statement": [{**statements["DenyOtherEncryption"], "Condition": {
        "StringNotEquals": statements["DenyOtherEncryption"]["Condition"]["StringNotEquals"]}}]}
    assert denied_by(unguarded, "s3:PutObject", "arn:aws:s3:::b/k", put_context()) == ["DenyOtherEncryption"]


def _steps(state: list[dict]) -> dict[str, dict]:
    steps = {}
    for record in state:
        if record["type"] == "aws:sagemaker/pipeline:Pipeline":
            steps.update({s["Name"]: s["Arguments"] for s in json.loads(record["inputs"]["pipelineDefinition"])["Steps"]
                          if "Arguments" in s})
    return steps


def test_what_sagemaker_writes_for_this_tool_is_allowed(prod):
    """SageMaker encrypts what it writes with the KmsKeyId it is given (botocore ``sagemaker``
    ``OutputDataConfig.KmsKeyId``: "the KMS key that SageMaker uses to encrypt the model artifacts at rest using
    Amazon S3 server-side encryption"; ``ProcessingOutputConfig.KmsKeyId``; ``DataCaptureConfig.KmsKeyId``): each
    is the platform key's ARN, so the PUT it makes names ``aws:kms`` and that ARN."""
    steps = _steps(prod)
    artifacts, capture = policy_of(prod, "artifacts"), policy_of(prod, "capture")
    train = steps["Train"]
    assert train["OutputDataConfig"]["KmsKeyId"] == KEY
    bucket = train["OutputDataConfig"]["S3OutputPath"].split("/")[2]
    assert put(artifacts, bucket, "training/retrain/pipelines-x/output/model.tar.gz",
               ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY) == []
    # checkpoints (CheckpointConfig has no key): header-less, or under the job's output key; both pass
    assert "CheckpointConfig" in train and "KmsKeyId" not in train["CheckpointConfig"]
    assert put(artifacts, bucket, "checkpoints/retrain/exec-1/last.pt") == []
    assert put(artifacts, bucket, "checkpoints/retrain/exec-1/last.pt", ServerSideEncryption="aws:kms",
               SSEKMSKeyId=KEY) == []
    drift = steps["MeasureDrift"]["ProcessingOutputConfig"]
    assert drift["KmsKeyId"] == KEY
    report = drift["Outputs"][0]["S3Output"]["S3Uri"]
    assert put(capture, report.split("/")[2], "reports/x/drift/report.json", ServerSideEncryption="aws:kms",
               SSEKMSKeyId=drift["KmsKeyId"]) == []
    [config] = [r for r in prod if r["type"] == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
                and "dataCaptureConfig" in r["inputs"]]
    capture_config = config["inputs"]["dataCaptureConfig"]
    assert capture_config["kmsKeyId"] == KEY
    assert put(capture, capture_config["destinationS3Uri"].split("/")[2], "datacapture/scorer/AllTraffic/x.jsonl",
               ServerSideEncryption="aws:kms", SSEKMSKeyId=capture_config["kmsKeyId"]) == []


@pytest.mark.moto
@pytest.mark.parametrize("size", [1024, 9 * 1024 * 1024])  # one PutObject; a multipart upload (8 MiB threshold)
def test_promotes_copy_sends_no_encryption_header_so_it_is_allowed(prod, moto_url, size):
    """promote/artifacts._copy uploads with ``ExtraArgs`` Metadata only: its real requests (recorded from boto3
    on a moto server) carry no SSE header, so the destination's default applies and no statement denies them."""
    from mlops_infra.progress import NO_PROGRESS
    from mlops_infra.promote.artifacts import ETAG_METADATA, ArtifactStep, _copy

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    sent: list[tuple[str, dict]] = []
    session.events.register("before-send.s3.*", lambda request, **_: sent.append((request.method, dict(request.headers))))
    s3 = session.client("s3", endpoint_url=moto_url)
    src_bucket, dst_bucket = "datafix-src-models", PREFIX + "platform-artifacts" + ACCOUNT
    for bucket in (src_bucket, dst_bucket):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=src_bucket, Key="fraud-model/v3/model.tar.gz", Body=io.BytesIO(b"x" * size))
    sent.clear()
    step = ArtifactStep("copy-artifact", "fraud-model", "sha256:" + "0" * 64, 3,
                        f"s3://{src_bucket}/fraud-model/v3/model.tar.gz", f"s3://{dst_bucket}/training/fraud-model/3/")
    _copy(step, s3, s3, NO_PROGRESS)
    uploads = [headers for method, headers in sent if method in ("PUT", "POST")]
    assert [h for h in uploads if f"x-amz-meta-{ETAG_METADATA}" in h], sent  # promote's PutObject/CreateMultipartUpload
    assert (size > 8 * 1024 * 1024) == any(method == "POST" for method, _ in sent)  # CreateMultipartUpload
    assert s3.head_object(Bucket=dst_bucket, Key="training/fraud-model/3/model.tar.gz")["ContentLength"] == size
    policy = policy_of(prod, "artifacts")
    for headers in uploads:
        assert not [h for h in headers if h.lower().startswith("x-amz-server-side-encryption")], headers
        context = headers_context(headers)
        assert denied_by(policy, "s3:PutObject", f"arn:aws:s3:::{dst_bucket}/training/fraud-model/3/model.tar.gz",
                         context) == []
