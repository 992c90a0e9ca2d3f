"""The artifact steps' order and the bucket owner condition, on a moto server with the reference's two accounts
(staging 111111111111 us-east-1, prod 222222222222 eu-west-1: tests/support/promotion.reference_accounts).

1. (tests/promote/test_artifacts.py::test_a_missing_group_fails_saying_to_apply_first and
   test_serving_image.py::test_an_out_of_band_model_refuses_a_source_image_of_another_region: a refusal that
   does not depend on the copy is found before the first byte is copied.)
2. Every S3 request of the copy carries ``ExpectedBucketOwner`` (botocore ``s3`` ``service-2.json``, header
   ``x-amz-expected-bucket-owner``; S3 answers 403 AccessDenied when another account owns the bucket:
   https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html) with the account the
   bucket's environment declares. moto does not enforce the header (mlops_infra/promote/bucket_owner.py), so
   the requests the promotion sends are recorded as serialized (``BaseClient._make_request``) and checked.
3. The text preview shows each registration's serving image, or why it is refused, and whose bucket is not
   checked (the JSON had them; the text did not).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import botocore.client
import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_BUCKET,
    PROD_ROLE,
    STAGING_BUCKET,
    STAGING_GROUP,
    STAGING_ROLE,
    copy_reference,
    promoted_to_staging,
    reference_accounts,
    reference_registries,
    write_view,
)
from tests.support.promotion import register_package as register

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

RUN = "training/retrain/run-7/model/"
ROLES = ["--role", f"staging={STAGING_ROLE}", "--role", f"prod={PROD_ROLE}"]
STAGING_ACCOUNT, PROD_ACCOUNT = "111111111111", "222222222222"


def staging_v3(url: str, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]) -> tuple:
    """The reference's accounts with staging's v3 (the version staging pins after dev -> staging) holding ``files``."""
    staging, prod = reference_accounts(url, monkeypatch)
    s3 = staging.client("s3", endpoint_url=url)
    for name, body in files.items():
        s3.put_object(Bucket=STAGING_BUCKET, Key=RUN + name, Body=body)
    assert register(staging.client("sagemaker", endpoint_url=url), STAGING_GROUP, digest_of(files),
                    f"s3://{STAGING_BUCKET}/{RUN}").endswith("/3")
    return staging, prod


def prod_objects(prod, url: str) -> list[str]:
    return [o["Key"] for o in prod.client("s3", endpoint_url=url).list_objects_v2(Bucket=PROD_BUCKET).get("Contents") or ()]


def record_s3(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str | None]]:
    """(operation, bucket, x-amz-expected-bucket-owner) of every S3 request sent from now on, as serialized."""
    sent: list[tuple[str, str, str | None]] = []
    real = botocore.client.BaseClient._make_request

    def recording(client, operation_model, request_dict, request_context):
        if client.meta.service_model.service_name == "s3":
            bucket = urlsplit(request_dict["url"]).path.lstrip("/").split("/", 1)[0]  # moto: path-style
            sent.append((operation_model.name, bucket, request_dict["headers"].get("x-amz-expected-bucket-owner")))
        return real(client, operation_model, request_dict, request_context)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_request", recording)
    return sent


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_every_s3_request_of_the_copy_names_the_account_that_owns_its_bucket(
        tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """staging -> prod, one object above boto3's 8 MiB multipart threshold: every request to staging's bucket
    carries x-amz-expected-bucket-owner 111111111111, every request to prod's 222222222222."""
    files = {"config.json": b'{"layers": 2}', "model.safetensors": os.urandom(9 << 20)}
    _, prod = staging_v3(moto_url, monkeypatch, files)
    file, _ = promoted_to_staging(tmp_path)
    sent = record_s3(monkeypatch)
    result = run_cli("promote", str(file), "--to", "prod", *ROLES, "--execute-artifacts")
    monkeypatch.undo()
    assert result.code == 0, result.output
    assert len(prod_objects(prod, moto_url)) == 2
    owner = {STAGING_BUCKET: STAGING_ACCOUNT, PROD_BUCKET: PROD_ACCOUNT}
    assert {b for _, b, _ in sent} == set(owner), sent
    wrong = [(op, bucket, header) for op, bucket, header in sent if header != owner[bucket]]
    assert not wrong, wrong
    made = {(op, bucket) for op, bucket, _ in sent}
    assert {("ListObjectsV2", STAGING_BUCKET), ("GetObject", STAGING_BUCKET), ("HeadObject", PROD_BUCKET),
            ("PutObject", PROD_BUCKET), ("CreateMultipartUpload", PROD_BUCKET), ("UploadPart", PROD_BUCKET),
            ("CompleteMultipartUpload", PROD_BUCKET), ("ListObjectsV2", PROD_BUCKET)} <= made, made
    assert (f"bucket owner: SRC's bucket must be owned by {STAGING_ACCOUNT}, DST's bucket must be owned by "
            f"{PROD_ACCOUNT} (ExpectedBucketOwner)") in result.stdout


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_the_digest_promote_computes_reads_srcs_bucket_naming_its_owner(
        tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """staging's v3 has no digest: the preview computes it from staging's objects, each request to staging's
    bucket carrying x-amz-expected-bucket-owner 111111111111 (promote/registries.aws_digests)."""
    staging, _ = reference_accounts(moto_url, monkeypatch)
    s3 = staging.client("s3", endpoint_url=moto_url)
    s3.put_object(Bucket=STAGING_BUCKET, Key=RUN + "model.safetensors", Body=b"trained, never hashed")
    register(staging.client("sagemaker", endpoint_url=moto_url), STAGING_GROUP, None, f"s3://{STAGING_BUCKET}/{RUN}")
    file, _ = promoted_to_staging(tmp_path)
    sent = record_s3(monkeypatch)
    result = run_cli("promote", str(file), "--to", "prod", *ROLES)
    monkeypatch.undo()
    digest = digest_of({"model.safetensors": b"trained, never hashed"})
    assert f"copy fraud-model {digest[:19]} " in result.stdout, result.output  # computed from staging's objects
    to_staging = [(op, header) for op, bucket, header in sent if bucket == STAGING_BUCKET]
    assert {"ListObjectsV2", "HeadObject"} <= {op for op, _ in to_staging}, sent
    assert {header for _, header in to_staging} == {STAGING_ACCOUNT}, to_staging


def test_a_403_of_the_copy_names_the_owners_it_expected() -> None:
    """S3 answers a bucket owner mismatch with 403 AccessDenied, as it answers a missing permission: the step
    says which accounts the requests expected. (A botocore Stubber: moto enforces neither.)"""
    import boto3
    from botocore.stub import Stubber

    from mlops_infra.promote.artifacts import ArtifactStep, execute_steps

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    src = session.client("s3")
    step = ArtifactStep("copy-artifact", "fraud-model", "sha256:" + "14" * 32, 1, "s3://fraud-detection-dev-models/m/",
                        f"s3://{PROD_BUCKET}/promoted/", {"from": "staging v3", "sourceOwner": STAGING_ACCOUNT,
                                                          "destinationOwner": PROD_ACCOUNT})
    with Stubber(src) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403, expected_params={
            "Bucket": "fraud-detection-dev-models", "Prefix": "m/", "ExpectedBucketOwner": STAGING_ACCOUNT})
        (result,) = execute_steps([step], src_session=session, dst_session=session, src_s3=src)
    assert result.status == "failed"
    assert "AccessDenied" in result.outcome
    assert (f"check that SRC's bucket is owned by {STAGING_ACCOUNT} and DST's bucket is owned by {PROD_ACCOUNT}"
            in result.outcome)


def dev_registry(folder: Path) -> list[str]:
    """``--registry`` arguments: dev's v14 under dev's models bucket (a name without an account id), staging
    holding v1 and v2."""
    record = VersionRecord(14, "Approved", "Completed", artifact_uri="s3://fraud-detection-dev-models/fraud-model/14/",
                           digest="sha256:" + "14" * 32)
    dev = write_view(folder / "dev.json", RegistryView({"fraud-model": ModelRegistry(
        "fraud-model", "MLflow fraud-model", "registry", True, {14: record})}))
    return ["--registry", f"dev={dev}", *reference_registries(folder)[2:]]


def test_a_kubernetes_source_says_its_bucket_owner_is_not_checked(tmp_path: Path) -> None:
    """dev (Kubernetes) names no AWS account: the preview says, in text and JSON, that the owner of dev's bucket
    is not checked, and which account must own staging's."""
    file = copy_reference(tmp_path)
    text = run_cli("promote", str(file), "--to", "staging", *dev_registry(tmp_path))
    gap = ("dev names no AWS account (kubernetes target), so the owner of s3://fraud-detection-dev-models is not "
           "checked")
    assert (f"    bucket owner: DST's bucket must be owned by {STAGING_ACCOUNT} (ExpectedBucketOwner); {gap}"
            in text.stdout), text.output
    data = json.loads(run_cli("promote", str(file), "--to", "staging", *dev_registry(tmp_path), "--format",
                              "json").stdout)
    (copy,) = [s for s in data["promotion"]["artifactSteps"] if s["kind"] == "copy-artifact"]
    assert copy["detail"]["sourceOwner"] is None and copy["detail"]["destinationOwner"] == STAGING_ACCOUNT
    assert copy["detail"]["ownerNotChecked"].startswith(gap)


def test_the_text_preview_shows_each_registrations_image(tmp_path: Path) -> None:
    """dev -> staging of the reference: staging's retrain job registers fraud-model, so the package gets
    the image staging's graph serves it with; the text shows it under the register step."""
    file = copy_reference(tmp_path)
    result = run_cli("promote", str(file), "--to", "staging", *dev_registry(tmp_path), "--format", "json")
    (register_step,) = [s for s in json.loads(result.stdout)["promotion"]["artifactSteps"]
                        if s["kind"] == "register-version"]
    image = register_step["detail"]["image"]
    assert image and ".dkr.ecr.us-east-1." in image
    text = run_cli("promote", str(file), "--to", "staging", *dev_registry(tmp_path)).stdout
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("  [pending] register fraud-model"))
    assert lines[at + 1] == f"    image: {image}"


QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"


def test_the_text_preview_says_why_an_image_is_refused(tmp_path: Path) -> None:
    """quickstart's prod (us-east-1) neither names an image for churn-model nor trains it, and dev's version
    carries an eu-west-1 image: the text preview shows the refusal under the register step, as the JSON does."""
    file = tmp_path / "mlsystem.yaml"
    file.write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:2.0.1"
    dev = write_view(tmp_path / "dev.json", RegistryView({"churn-model": ModelRegistry(
        "churn-model", "MLflow churn-model", "registry", True, {1: VersionRecord(
            1, "Approved", "Completed", artifact_uri="s3://churn-dev-models/churn-model/1/", image=image,
            digest="sha256:" + "c1" * 32)})}))
    prod = write_view(tmp_path / "prod.json", RegistryView({"churn-model": ModelRegistry(
        "churn-model", "group churn-quickstart-prod-churn-model", "registry", True, {})}))
    args = ["promote", str(file), "--to", "prod", "--registry", f"dev={dev}", "--registry", f"prod={prod}"]
    (register_step,) = [s for s in json.loads(run_cli(*args, "--format", "json").stdout)["promotion"]["artifactSteps"]
                        if s["kind"] == "register-version"]
    problem = register_step["detail"]["imageProblem"]
    assert image in problem and "models.churn-model.serving_image" in problem
    text = run_cli(*args)
    lines = text.stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("  [pending] register churn-model"))
    assert lines[at + 1] == f"    image refused: {problem}", text.output
