"""Audit finding xpromote-2: ``register-version`` refuses a serving image of another region than DST's before
anything is copied, and does not call a package of the digest with the wrong image "already registered".

botocore ``sagemaker/2017-07-24`` ``ContainerDefinition.Image``: the inference image "must be in the same region
as the model or endpoint you are creating". The reference serves fraud-model with its job's image in us-east-1;
prod is eu-west-1 (``validate`` warns ``image-in-other-region``). The promotion used to copy the artifact into
prod and register it with the us-east-1 image; the package then held the digest, so after the override the
warning asks for, every promotion mapped to it ("No artifact steps").

A moto server with two accounts: staging (111111111111, us-east-1; a saved registry read whose v3 is a folder of
real files with their digest) and prod (222222222222, eu-west-1: bucket and empty group); the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.model_versions import DIGEST_PROPERTY, ModelRegistry, RegistryView, VersionRecord
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_BUCKET,
    PROD_GROUP,
    PROD_ROLE,
    STAGING_BUCKET,
    STAGING_ROLE,
    copy_reference,
    prod_view,
    reference_accounts,
    write_view,
)

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

FILES = {"config.json": b'{"m": 1}', "model.pt": bytes(range(256)) * 64}
PREFIX = "training/retrain/run-7/model/"
US_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
EU_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:1.4.2"
OVERRIDE = f"      models.fraud-model.serving_image: {EU_IMAGE}\n"


def set_up(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, override: bool) -> tuple[Path, list[str], dict]:
    """The reference pinning staging v3 (FILES under PREFIX), with or without prod's eu-west-1 serving image."""
    staging, prod = reference_accounts(url, monkeypatch)
    s3 = staging.client("s3", endpoint_url=url)
    for name, body in FILES.items():
        s3.put_object(Bucket=STAGING_BUCKET, Key=PREFIX + name, Body=body)
    digest = digest_of(FILES)
    record = VersionRecord(3, "Approved", "Completed", artifact_uri=f"s3://{STAGING_BUCKET}/{PREFIX}", digest=digest,
                           artifact_compression="None", image=US_IMAGE)
    view = write_view(tmp_path / "registry-staging.json", RegistryView({"fraud-model": ModelRegistry(
        "fraud-model", "group fraud-detection-staging-fraud-model (111111111111/us-east-1)", "registry", True,
        {3: record})}))
    file = copy_reference(tmp_path)
    text = file.read_text(encoding="utf-8").replace("      endpoints.scorer.model.version: 13\n",
                                                    "      endpoints.scorer.model.version: 3\n")
    if override:
        text = text.replace("      endpoints.scorer.replicas: {min: 3, max: 20}\n",
                            "      endpoints.scorer.replicas: {min: 3, max: 20}\n" + OVERRIDE)
        assert OVERRIDE in text
    file.write_text(text, encoding="utf-8")
    args = ["--to", "prod", "--registry", f"staging={view}", "--role", f"staging={STAGING_ROLE}",
            "--role", f"prod={PROD_ROLE}"]
    return file, args, {"prod": prod, "url": url, "digest": digest}


def prod_holds(env: dict) -> tuple[list[str], list[str]]:
    s3 = env["prod"].client("s3", endpoint_url=env["url"])
    sm = env["prod"].client("sagemaker", endpoint_url=env["url"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=PROD_BUCKET).get("Contents") or ()]
    images = [sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])["InferenceSpecification"]
              ["Containers"][0]["Image"]
              for p in sm.list_model_packages(ModelPackageGroupName=PROD_GROUP)["ModelPackageSummaryList"]]
    return keys, images


def test_an_image_of_another_region_is_refused_before_anything_is_copied(tmp_path, moto_url, monkeypatch):
    file, args, env = set_up(tmp_path, moto_url, monkeypatch, override=False)
    preview = run_cli("promote", str(file), *args, "--skip-gate", "no_drift", "--reason", "test")
    assert "image refused: prod's serving image for fraud-model, " + US_IMAGE in preview.stdout
    result = run_cli("promote", str(file), *args, "--execute-artifacts")
    assert result.code == 1, result.output
    assert ("is an ECR image of us-east-1, not of eu-west-1, prod's region (SageMaker pulls inference images of the "
            "model's own region only): set models.fraud-model.serving_image for prod (an override) to the image in "
            "eu-west-1") in result.stdout
    assert "nothing is copied while a step is refused" in result.stdout
    assert "Traceback" not in result.output
    assert prod_holds(env) == ([], [])


def test_with_the_override_it_registers_with_that_image(tmp_path, moto_url, monkeypatch):
    file, args, env = set_up(tmp_path, moto_url, monkeypatch, override=True)
    result = run_cli("promote", str(file), *args, "--execute-artifacts")
    assert result.code == 0, result.output
    assert f"image: {EU_IMAGE}" in result.stdout
    assert f"registered as v1 (arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/1)" in result.stdout
    keys, images = prod_holds(env)
    assert len(keys) == len(FILES) and images == [EU_IMAGE]


def test_a_package_of_the_digest_with_another_image_is_not_already_registered(tmp_path, moto_url, monkeypatch):
    """What the old code left in prod (the digest registered with the us-east-1 image), found when the steps run
    (the saved read of prod's registry predates it): the step fails saying to delete it, nothing is registered."""
    file, args, env = set_up(tmp_path, moto_url, monkeypatch, override=True)
    sm = env["prod"].client("sagemaker", endpoint_url=env["url"])
    arn = sm.create_model_package(
        ModelPackageGroupName=PROD_GROUP, ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": US_IMAGE, "ModelDataSource": {"S3DataSource": {
            "S3Uri": f"s3://{PROD_BUCKET}/old/", "S3DataType": "S3Prefix", "CompressionType": "None"}}}],
            "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]},
        CustomerMetadataProperties={DIGEST_PROPERTY: env["digest"]})["ModelPackageArn"]
    saved = write_view(tmp_path / "registry-prod.json", prod_view())
    result = run_cli("promote", str(file), *args, "--registry", f"prod={saved}", "--execute-artifacts")
    assert result.code == 1, result.output
    assert "already registered" not in result.stdout
    assert (f"{arn} already holds this digest, but serves it with {US_IMAGE}, not {EU_IMAGE} (DST's serving image "
            "for fraud-model)") in result.stdout
    assert "delete that package (DeleteModelPackage), then run the artifact steps again" in result.stdout
    assert prod_holds(env)[1] == [US_IMAGE]
