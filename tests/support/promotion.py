"""Promotion test inputs: the reference document copied into a folder, and saved registry reads.

The reference pins fraud-model v14 in dev (Kubernetes, MLflow) and v13 in staging (AWS 111111111111,
us-east-1). :func:`reference_registries` writes saved reads (``RegistryView.to_json``) in which dev's
v14 holds :data:`DIGEST_V14` and staging's registry holds dev's v12 and v13 artifacts as its v1 and
v2, so promoting dev's v14 maps to staging's next number, v3 (or to ``staging_has_v14`` when given).
For the same registries on real servers: :func:`assumed_session` (a role of another moto account,
through moto's STS) and :func:`register_package` (a SageMaker model package carrying a digest).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mlops_infra.model_versions import DIGEST_PROPERTY, ModelRegistry, RegistryView, VersionRecord
from tests.support.shared_files import REFERENCE

DIGEST_V12 = "sha256:" + "12" * 32
DIGEST_V13 = "sha256:" + "13" * 32
DIGEST_V14 = "sha256:" + "14" * 32
STAGING_ROLE = "arn:aws:iam::111111111111:role/promoter"
PROD_ROLE = "arn:aws:iam::222222222222:role/promoter"
STAGING_GROUP, PROD_GROUP = "fraud-detection-staging-fraud-model", "fraud-detection-prod-fraud-model"
STAGING_BUCKET = "fraud-detection-staging-platform-artifacts-111111111111"
PROD_BUCKET = "fraud-detection-prod-platform-artifacts-222222222222"
SERVING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"


def copy_reference(folder: Path, name: str = "mlsystem.yaml") -> Path:
    target = folder / name
    shutil.copyfile(REFERENCE, target)
    target.chmod(0o644)  # the shared folder is read-only; a user's copy is not
    return target


def registry(model: str, where: str, versions: dict[int, str | None], approval: str = "Approved") -> ModelRegistry:
    """A registry read holding ``versions`` (number -> digest)."""
    return ModelRegistry(model, where, "registry", True,
                         {v: VersionRecord(v, approval, "Completed", digest=d) for v, d in versions.items()})


def dev_view() -> RegistryView:
    return RegistryView({"fraud-model": registry("fraud-model", "MLflow registered model fraud-model at http://mlflow",
                                                 {12: DIGEST_V12, 13: DIGEST_V13, 14: DIGEST_V14})})


def staging_view(staging_has_v14: int | None = None, approval: str = "Approved") -> RegistryView:
    versions: dict[int, str | None] = {1: DIGEST_V12, 2: DIGEST_V13}
    if staging_has_v14 is not None:
        versions[staging_has_v14] = DIGEST_V14
    where = "group fraud-detection-staging-fraud-model (111111111111/us-east-1)"
    return RegistryView({"fraud-model": registry("fraud-model", where, versions, approval)})


def write_view(path: Path, view: RegistryView) -> Path:
    path.write_text(json.dumps(view.to_json()), encoding="utf-8")
    return path


def reference_registries(folder: Path, staging_has_v14: int | None = None) -> list[str]:
    """``--registry`` arguments for dev and staging (saved reads written into ``folder``)."""
    dev = write_view(folder / "registry-dev.json", dev_view())
    staging = write_view(folder / "registry-staging.json", staging_view(staging_has_v14))
    return ["--registry", f"dev={dev}", "--registry", f"staging={staging}"]


def prod_view(versions: dict[int, str | None] | None = None, approval: str = "Approved") -> RegistryView:
    where = "group fraud-detection-prod-fraud-model (222222222222/eu-west-1)"
    return RegistryView({"fraud-model": registry("fraud-model", where, versions or {}, approval)})


PROD_SERVING_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2"
"""fraud-model's serving image in prod's region (the override ``validate``'s ``image-in-other-region``
warning asks for): the reference's job image is in us-east-1, and promote refuses to register a serving
image of another region than DST's (audit finding xpromote-2)."""


def promoted_to_staging(folder: Path) -> tuple[Path, list[str]]:
    """The reference after dev -> staging (staging pins v3 = dev's v14), prod serving fraud-model with
    :data:`PROD_SERVING_IMAGE` (an override), with ``--registry`` arguments for staging (v3 registered
    and approved) and prod (empty group)."""
    file = copy_reference(folder)
    file.chmod(0o644)
    text = file.read_text(encoding="utf-8")
    text = text.replace("      endpoints.scorer.model.version: 13\n", "      endpoints.scorer.model.version: 3\n")
    replicas = "      endpoints.scorer.replicas: {min: 3, max: 20}\n"
    assert text.count(replicas) == 1, "the reference's prod overrides changed: update promoted_to_staging"
    # before prod's last override, so that a pin is still added after ``endpoints.scorer.replicas``
    text = text.replace(replicas, f"      models.fraud-model.serving_image: {PROD_SERVING_IMAGE}\n{replicas}")
    file.write_text(text, encoding="utf-8")
    staging = write_view(folder / "registry-staging.json", staging_view(3))
    prod = write_view(folder / "registry-prod.json", prod_view())
    return file, ["--registry", f"staging={staging}", "--registry", f"prod={prod}"]


def assumed_session(url: str, role: str, region: str) -> Any:
    """A boto3 session in ``role``'s account of the moto server at ``url`` (STS ``AssumeRole``: moto
    keys every resource by the account of the credentials)."""
    import boto3

    sts = boto3.client("sts", endpoint_url=url, region_name=region, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    found = sts.assume_role(RoleArn=role, RoleSessionName="test-setup")["Credentials"]
    return boto3.Session(aws_access_key_id=found["AccessKeyId"], aws_secret_access_key=found["SecretAccessKey"],
                         aws_session_token=found["SessionToken"], region_name=region)


def register_package(sm: Any, group: str, digest: str | None, model_data: str, approval: str = "Approved") -> str:
    """A model package in ``group`` holding ``model_data`` with ``digest`` (when given); its ARN. A folder
    (``.../``) is registered as SageMaker takes one, ``ModelDataSource`` ``S3Prefix`` uncompressed; an
    object as ``ModelDataUrl`` (a ``model.tar.gz``: botocore ``ModelPackageContainerDefinition``)."""
    data = ({"ModelDataSource": {"S3DataSource": {"S3Uri": model_data, "S3DataType": "S3Prefix",
                                                  "CompressionType": "None"}}}
            if model_data.endswith("/") else {"ModelDataUrl": model_data})
    return sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=approval,
        InferenceSpecification={"Containers": [{"Image": SERVING_IMAGE, **data}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        **({"CustomerMetadataProperties": {DIGEST_PROPERTY: digest}} if digest else {}))["ModelPackageArn"]


def reference_accounts(url: str, monkeypatch: Any) -> tuple[Any, Any]:
    """(staging's session, prod's session) on the moto server at ``url``, as a staging -> prod promotion of the
    reference finds them: staging's artifacts bucket and model package group holding v1 and v2 (retrain runs 5
    and 6, so its next registration is v3), prod's artifacts bucket (eu-west-1) and empty group; the process's
    ``AWS_*`` variables point at the server (what the CLI's default credential chain reads)."""
    staging = assumed_session(url, STAGING_ROLE, "us-east-1")
    staging.client("s3", endpoint_url=url).create_bucket(Bucket=STAGING_BUCKET)
    sm = staging.client("sagemaker", endpoint_url=url)
    sm.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    register_package(sm, STAGING_GROUP, "sha256:" + "12" * 32, f"s3://{STAGING_BUCKET}/training/retrain/run-5/model/")
    register_package(sm, STAGING_GROUP, "sha256:" + "13" * 32, f"s3://{STAGING_BUCKET}/training/retrain/run-6/model/")
    prod = assumed_session(url, PROD_ROLE, "eu-west-1")
    prod.client("s3", endpoint_url=url).create_bucket(
        Bucket=PROD_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    prod.client("sagemaker", endpoint_url=url).create_model_package_group(ModelPackageGroupName=PROD_GROUP)
    for name, value in (("AWS_ENDPOINT_URL", url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    return staging, prod
