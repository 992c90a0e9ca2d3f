"""The artifact digest of an AWS-trained version (a package registered without one), against a real moto
server in staging's account (111111111111, reached through moto's STS): from S3's SHA-256 checksum or by
streaming, the training runtime's manifest digest, recorded on the package and read once, recomputed
when the artifact changed; and the whole staging -> prod promotion of such a version through the CLI."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mlops_infra.errors import UserError
from mlops_infra.model_versions import DIGEST_PROPERTY, ModelRegistry, RegistryView, VersionRecord
from mlops_infra.promote.artifacts import SOURCE_PROPERTY
from mlops_infra.promote.digests import (
    DIGEST_SOURCE_PROPERTY,
    ArtifactObject,
    artifact_location,
    complete_digests,
    full_object_sha256,
    manifest_digest,
)
from tests.promote.artifact_files import runtime_digest
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_GROUP,
    PROD_ROLE,
    SERVING_IMAGE,
    STAGING_GROUP,
    STAGING_ROLE,
    promoted_to_staging,
)
from tests.support.promotion import assumed_session as assumed
from tests.support.promotion import register_package as register

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
BUCKET = "fraud-detection-staging-platform-artifacts-111111111111"
PROD_BUCKET = "fraud-detection-prod-platform-artifacts-222222222222"
MODEL_KEY = "training/retrain/run-7/output/model.tar.gz"
def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- pure parts ------------------------------------------------------------------------------------


def test_only_a_full_object_sha256_checksum_stands_for_the_object():
    data = b"model bytes"
    assert full_object_sha256({"ChecksumSHA256": sha256_b64(data)}) == hashlib.sha256(data).hexdigest()
    assert full_object_sha256({"ChecksumSHA256": sha256_b64(data), "ChecksumType": "FULL_OBJECT"}) == \
        hashlib.sha256(data).hexdigest()
    assert full_object_sha256({"ChecksumSHA256": sha256_b64(data), "ChecksumType": "COMPOSITE"}) is None
    assert full_object_sha256({"ChecksumSHA256": sha256_b64(data) + "-3"}) is None  # multipart: of the parts
    assert full_object_sha256({"ChecksumCRC32": "AAAAAA=="}) is None
    assert full_object_sha256({"ChecksumSHA256": "not base64!"}) is None


def test_the_manifest_digest_is_the_training_runtimes(tmp_path: Path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    files = {"model.bin": b"weights", "sub/config.json": b"{}", "sub-x.txt": b"x"}  # "sub-x" sorts before "sub/"
    for name, data in files.items():
        (folder / name).write_bytes(data)
    objects = [ArtifactObject("b", f"p/{n}", n, "e", hashlib.sha256(d).hexdigest()) for n, d in files.items()]
    assert manifest_digest(objects) == runtime_digest(folder)


@pytest.mark.parametrize(("container", "expected"), [
    ({"ModelDataUrl": "s3://b/k/model.tar.gz"}, ("s3://b/k/model.tar.gz", False)),
    ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/k", "S3DataType": "S3Prefix"}}}, ("s3://b/k/", True)),
    ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/k/m.bin", "S3DataType": "S3Object"}}},
     ("s3://b/k/m.bin", False)),
])
def test_the_artifact_is_where_the_container_says(container, expected):
    package = {"InferenceSpecification": {"Containers": [{"Image": "i"}, {"Image": "i", **container}]}}
    assert artifact_location(package, "m v1") == expected


def test_an_artifact_that_cannot_be_told_is_refused():
    two = {"InferenceSpecification": {"Containers": [{"ModelDataUrl": "s3://b/1"}, {"ModelDataUrl": "s3://b/2"}]}}
    with pytest.raises(UserError, match="2 of its containers carry model data"):
        artifact_location(two, "m v1")
    with pytest.raises(UserError, match="not in S3"):
        artifact_location({"InferenceSpecification": {"Containers": [{"ModelDataUrl": "https://x/m"}]}}, "m v1")


# -- against moto ----------------------------------------------------------------------------------



@pytest.fixture
def staging(moto_url: str) -> dict:
    session = assumed(moto_url, STAGING_ROLE, "us-east-1")
    s3, sm = session.client("s3", endpoint_url=moto_url), session.client("sagemaker", endpoint_url=moto_url)
    s3.create_bucket(Bucket=BUCKET)
    sm.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    calls: dict[str, int] = {}

    def count(event_name: str, **_: object) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    s3.meta.events.register("before-call.s3.*", count)
    sm.meta.events.register("before-call.sagemaker.*", count)
    return {"s3": s3, "sm": sm, "calls": calls, "url": moto_url}


def view_of(sm, arns: dict[int, str]) -> RegistryView:
    versions = {v: VersionRecord(v, "Approved", "Completed", arn, digest=(sm.describe_model_package(
        ModelPackageName=arn).get("CustomerMetadataProperties") or {}).get(DIGEST_PROPERTY)) for v, arn in arns.items()}
    return RegistryView({"fraud-model": ModelRegistry("fraud-model", f"group {STAGING_GROUP}", "registry", True,
                                                       versions)})


def complete(staging: dict, arns: dict[int, str]) -> tuple[RegistryView, tuple[str, ...]]:
    staging["calls"].clear()
    return complete_digests(view_of(staging["sm"], arns), {"fraud-model": set(arns)}, sagemaker=staging["sm"],
                            s3=staging["s3"])


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_sha256_checksum_gives_the_digest_without_reading_the_object_and_it_is_recorded_once(staging):
    data = os.urandom(4096)
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=data, ChecksumAlgorithm="SHA256")
    sm = staging["sm"]
    sm.create_model_package(ModelPackageGroupName=STAGING_GROUP, ModelApprovalStatus="Approved",
                            InferenceSpecification={"Containers": [{"Image": SERVING_IMAGE,
                                                                    "ModelDataUrl": f"s3://{BUCKET}/{MODEL_KEY}"}],
                                                    "SupportedContentTypes": ["application/json"],
                                                    "SupportedResponseMIMETypes": ["application/json"]},
                            CustomerMetadataProperties={"team": "risk"})
    arn = sm.list_model_packages(ModelPackageGroupName=STAGING_GROUP)["ModelPackageSummaryList"][0]["ModelPackageArn"]
    expected = "sha256:" + hashlib.sha256(f"{hashlib.sha256(data).hexdigest()}  model.tar.gz\n".encode()).hexdigest()

    view, notes = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest == expected
    assert staging["calls"].get("GetObject", 0) == 0 and staging["calls"]["HeadObject"] == 1
    assert notes == (f"fraud-model v1: artifact digest computed from s3://{BUCKET}/{MODEL_KEY} (it carried none; "
                     f"1 object(s) by their S3 SHA-256 checksum) and recorded on {arn}",)
    properties = sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert properties[DIGEST_PROPERTY] == expected and properties["team"] == "risk"  # the others are kept
    assert properties[DIGEST_SOURCE_PROPERTY].startswith("s3-etags:sha256:")

    again, notes = complete(staging, {1: arn})  # read once: the recorded digest, its objects unchanged
    assert again.models["fraud-model"].versions[1].digest == expected and notes == ()
    assert staging["calls"].get("GetObject", 0) == 0 and staging["calls"].get("UpdateModelPackage", 0) == 0


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_an_object_without_a_sha256_checksum_is_streamed(staging, tmp_path: Path):
    data = os.urandom(3 * (1 << 20) + 5)  # more than one chunk
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=data)  # botocore's default checksum: CRC32
    arn = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/{MODEL_KEY}")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.tar.gz").write_bytes(data)
    view, notes = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest == runtime_digest(tmp_path / "out")
    assert staging["calls"]["GetObject"] == 1
    assert "0 object(s) by their S3 SHA-256 checksum, 1 streamed" in notes[0]


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_prefix_artifact_has_the_digest_of_the_same_folder(staging, tmp_path: Path):
    folder = tmp_path / "model"
    (folder / "tokenizer").mkdir(parents=True)
    files = {"model.safetensors": os.urandom(2048), "config.json": b"{}", "tokenizer/vocab.txt": b"a\nb\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        staging["s3"].put_object(Bucket=BUCKET, Key=f"training/retrain/run-8/model/{name}", Body=data,
                                 **({"ChecksumAlgorithm": "SHA256"} if name == "config.json" else {}))
    staging["s3"].put_object(Bucket=BUCKET, Key="training/retrain/run-8/model/empty/", Body=b"")  # a "folder"
    arn = staging["sm"].create_model_package(
        ModelPackageGroupName=STAGING_GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": SERVING_IMAGE, "ModelDataSource": {"S3DataSource": {
            "S3Uri": f"s3://{BUCKET}/training/retrain/run-8/model/", "S3DataType": "S3Prefix",
            "CompressionType": "None"}}}], "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
    view, notes = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest == runtime_digest(folder)
    assert "1 object(s) by their S3 SHA-256 checksum, 2 streamed" in notes[0]
    assert staging["calls"]["GetObject"] == 2


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_recorded_digest_of_objects_that_changed_refuses_the_promotion(staging):
    """The objects under a package changed after its digest was recorded: what was tested (and approved) is gone,
    so the promotion is refused and the package keeps its record (closing audit closing-b-1: recording the new
    digest let an overwritten copy be promoted as the version)."""
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"first", ChecksumAlgorithm="SHA256")
    arn = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/{MODEL_KEY}")
    first = complete(staging, {1: arn})[0].models["fraud-model"].versions[1].digest
    recorded = staging["sm"].describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"second", ChecksumAlgorithm="SHA256")
    with pytest.raises(UserError) as refused:
        complete(staging, {1: arn})
    assert f"records {first}, its objects now give sha256:" in refused.value.summary
    assert "UpdateModelPackage" not in staging["calls"]
    assert staging["sm"].describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == recorded


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_objects_rewritten_with_the_same_bytes_keep_the_digest_and_get_a_new_fingerprint(staging):
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"first", ChecksumAlgorithm="SHA256")
    arn = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/{MODEL_KEY}")
    first = complete(staging, {1: arn})[0].models["fraud-model"].versions[1].digest
    before = staging["sm"].describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"first", ChecksumAlgorithm="SHA256",
                             Metadata={"copied": "in place"})  # a new ETag for the same bytes
    view, notes = complete(staging, {1: arn})
    after = staging["sm"].describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert view.models["fraud-model"].versions[1].digest == first == after[DIGEST_PROPERTY]
    if after[DIGEST_SOURCE_PROPERTY] != before[DIGEST_SOURCE_PROPERTY]:  # moto gave the rewrite a new ETag
        assert "rewritten with the same content" in notes[0]


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_digest_a_registration_recorded_is_taken_as_is(staging):
    arn = register(staging["sm"], STAGING_GROUP, "sha256:" + "ab" * 32, f"s3://{BUCKET}/not/there.tar.gz")
    view, notes = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest == "sha256:" + "ab" * 32 and notes == ()
    assert "HeadObject" not in staging["calls"]  # no S3 read at all


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_digest_a_promotion_recorded_without_a_fingerprint_is_checked(staging):
    """A package an earlier promotion registered (``mlops-infra/promoted-from``) with the digest SRC claimed
    and no fingerprint: nobody hashed its bytes (audit finding promote-1), so its digest is computed and must
    be the one it claims; objects that are not refuse the promotion, objects that are get their fingerprint.
    A training registration's digest (no ``promoted-from``) is still taken as is (test above)."""
    body = b"weights nobody tested"
    actual = "sha256:" + hashlib.sha256(f"{hashlib.sha256(body).hexdigest()}  model.tar.gz\n".encode()).hexdigest()
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=body, ChecksumAlgorithm="SHA256")
    claimed = register(staging["sm"], STAGING_GROUP, "sha256:" + "ab" * 32, f"s3://{BUCKET}/{MODEL_KEY}")
    staging["sm"].update_model_package(ModelPackageArn=claimed, CustomerMetadataProperties={
        DIGEST_PROPERTY: "sha256:" + "ab" * 32, SOURCE_PROPERTY: "dev v14"})
    with pytest.raises(UserError) as refused:
        complete(staging, {1: claimed})
    assert f"records sha256:{'ab' * 32}, its objects now give {actual}" in refused.value.summary

    honest = register(staging["sm"], STAGING_GROUP, actual, f"s3://{BUCKET}/{MODEL_KEY}")
    staging["sm"].update_model_package(ModelPackageArn=honest, CustomerMetadataProperties={
        DIGEST_PROPERTY: actual, SOURCE_PROPERTY: "dev v14"})
    view, notes = complete(staging, {2: honest})
    assert view.models["fraud-model"].versions[2].digest == actual
    assert "a promotion recorded its digest without checking its objects: they match it" in notes[0]
    properties = staging["sm"].describe_model_package(ModelPackageName=honest)["CustomerMetadataProperties"]
    assert properties[DIGEST_PROPERTY] == actual and properties[DIGEST_SOURCE_PROPERTY].startswith("s3-etags:")
    assert properties[SOURCE_PROPERTY] == "dev v14"  # the lineage stays


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_refused_record_still_gives_the_digest_and_says_so(staging):
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"m", ChecksumAlgorithm="SHA256")
    arn = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/{MODEL_KEY}")

    def refuse(**_: object) -> None:  # what SageMaker answers a role without sagemaker:UpdateModelPackage
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                          "UpdateModelPackage")

    staging["sm"].meta.events.register("before-call.sagemaker.UpdateModelPackage", refuse)
    view, notes = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest.startswith("sha256:")
    assert "not recorded on the package" in notes[0] and "computed again next time" in notes[0]
    assert DIGEST_PROPERTY not in (staging["sm"].describe_model_package(ModelPackageName=arn)
                                   .get("CustomerMetadataProperties") or {})


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_missing_artifact_refuses_naming_the_version(staging):
    arn = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/gone/model.tar.gz")
    with pytest.raises(UserError, match="cannot obtain the artifact digest of fraud-model v1") as caught:
        complete(staging, {1: arn})
    assert "CustomerMetadataProperties" in caught.value.detail


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_staging_to_prod_of_an_aws_trained_version(tmp_path: Path, staging, monkeypatch: pytest.MonkeyPatch):
    """staging's v1..v3 were registered by its training pipeline (no digest); staging pins v3. The
    promotion computes v3's digest, copies and registers it in prod, then pins prod's number."""
    data = os.urandom(8192)
    for run in (5, 6):
        staging["s3"].put_object(Bucket=BUCKET, Key=f"training/retrain/run-{run}/output/model.tar.gz",
                                 Body=os.urandom(64))
        register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/training/retrain/run-{run}/output/model.tar.gz")
    staging["s3"].put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=data, ChecksumAlgorithm="SHA256")
    v3 = register(staging["sm"], STAGING_GROUP, None, f"s3://{BUCKET}/{MODEL_KEY}")
    prod = assumed(staging["url"], PROD_ROLE, "eu-west-1")
    prod.client("s3", endpoint_url=staging["url"]).create_bucket(
        Bucket=PROD_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    prod_sm = prod.client("sagemaker", endpoint_url=staging["url"])
    prod_sm.create_model_package_group(ModelPackageGroupName=PROD_GROUP)
    for name, value in (("AWS_ENDPOINT_URL", staging["url"]), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    file, _ = promoted_to_staging(tmp_path)
    roles = ["--role", f"staging={STAGING_ROLE}", "--role", f"prod={PROD_ROLE}"]
    digest = "sha256:" + hashlib.sha256(f"{hashlib.sha256(data).hexdigest()}  model.tar.gz\n".encode()).hexdigest()

    preview = run_cli("promote", str(file), "--to", "prod", *roles, "--skip-gate", "no_drift", "--reason", "test")
    assert preview.code == 1, preview.output  # model_approved: not registered in prod yet
    assert f"fraud-model v3 in staging = v1 in prod, {digest}" in preview.stdout
    assert f"fraud-model v3: artifact digest computed from s3://{BUCKET}/{MODEL_KEY}" in preview.stdout
    assert staging["sm"].describe_model_package(ModelPackageName=v3)["CustomerMetadataProperties"][
        DIGEST_PROPERTY] == digest
    assert "CustomerMetadataProperties" not in staging["sm"].describe_model_package(
        ModelPackageName=v3.replace("/3", "/1"))  # only the version staging pins was read

    executed = run_cli("promote", str(file), "--to", "prod", *roles, "--execute-artifacts")
    assert executed.code == 0, executed.output
    package = prod_sm.describe_model_package(
        ModelPackageName=f"arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/1")
    assert package["CustomerMetadataProperties"][DIGEST_PROPERTY] == digest
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].endswith(f"/{digest[7:23]}/model.tar.gz")
    prod_sm.update_model_package(ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved",
                                 CustomerMetadataProperties=package["CustomerMetadataProperties"])
    written = run_cli("promote", str(file), "--to", "prod", *roles, "--write", "--skip-gate", "no_drift",
                      "--reason", "test")
    assert written.code == 0, written.output
    assert f"fraud-model v3 in staging = v1 in prod, {digest}" in written.stdout
    assert "artifact digest computed" not in written.stdout  # read once: recorded by the preview
    assert "      endpoints.scorer.model.version: 1\n" in file.read_text()
