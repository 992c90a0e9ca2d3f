"""Audit finding xpromote-1: an archive KServe served unpacked is registered on SageMaker the way SageMaker
unpacks it, or refused before anything is copied.

KServe v0.15.0 ``python/kserve/kserve/storage/storage.py`` ``Storage._download_s3``: when the storage URI
yields ONE file whose name ``mimetypes.guess_type`` maps to ``application/x-tar`` or ``application/zip``,
the predictor is served the archive's contents. SageMaker unpacks only a gzip tar (botocore
``S3ModelDataSource.CompressionType``: ``Gzip`` + ``S3Object``); ``None`` places the object under
``/opt/ml/model`` as it is. So dev served ``model.joblib`` while staging used to get ``model.tar.gz``.

One moto server: dev's models bucket (read through ``--source-store dev=URL``, as from dev's MinIO) and staging
(account 111111111111 through moto's STS, its group holding v1 and v2, so dev's v14 becomes v3); the real CLI
with ``--execute-artifacts``. Each archive is a real one (tarfile / zipfile)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.promote.artifacts import ArtifactStep
from tests.promote.artifact_files import digest_of, tar
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    STAGING_BUCKET,
    STAGING_GROUP,
    STAGING_ROLE,
    copy_reference,
    reference_accounts,
    write_view,
)

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

DEV_BUCKET = "fraud-detection-dev-models"
MODEL = {"model.joblib": b"joblib-bytes" * 100, "config.json": b'{"threshold": 0.7}'}
PROMOTED = "training/retrain/promoted/fraud-model/"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def promote(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, uri: str, objects: dict[str, bytes]):
    """dev's v14 is ``uri`` (as MLflow registers it: a folder without its ``/``, or one object) holding
    ``objects`` (name under ``fraud-model/14/`` -> bytes: also their paths in the digest); promote it into staging: (CLI result, staging's
    SageMaker client, staging's S3 client)."""
    staging, _ = reference_accounts(url, monkeypatch)
    import boto3

    dev = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    dev.create_bucket(Bucket=DEV_BUCKET)
    for key, body in objects.items():
        dev.put_object(Bucket=DEV_BUCKET, Key=f"fraud-model/14/{key}", Body=body)
    record = VersionRecord(14, "Approved", "Completed", artifact_uri=uri, digest=digest_of(objects))
    view = write_view(tmp_path / "dev.json", RegistryView({"fraud-model": ModelRegistry(
        "fraud-model", "MLflow registered model fraud-model", "registry", True, {14: record})}))
    monkeypatch.setenv("MLOPS_SOURCE_AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY", "testing")
    result = run_cli("promote", str(copy_reference(tmp_path)), "--to", "staging", "--registry", f"dev={view}",
                     "--role", f"staging={STAGING_ROLE}", "--source-store", f"dev={url}", "--execute-artifacts")
    return (result, staging.client("sagemaker", endpoint_url=url), staging.client("s3", endpoint_url=url))


def registered(sm) -> list[dict]:
    """The containers of the packages in staging's group past v1 and v2."""
    arns = [p["ModelPackageArn"] for p in sm.list_model_packages(ModelPackageGroupName=STAGING_GROUP)
            ["ModelPackageSummaryList"]]
    return [sm.describe_model_package(ModelPackageName=a)["InferenceSpecification"]["Containers"][0]
            for a in sorted(arns) if not a.endswith(("/1", "/2"))]


def promoted_keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix=PROMOTED).get("Contents") or ()]


def test_a_folder_holding_one_gzip_tar_is_registered_for_sagemaker_to_unpack(tmp_path, moto_url, monkeypatch):
    result, sm, s3 = promote(tmp_path, moto_url, monkeypatch, f"s3://{DEV_BUCKET}/fraud-model/14",
                             {"model.tar.gz": tar(MODEL, "w:gz")})
    assert result.code == 0, result.output
    assert "registered as v3" in result.stdout
    (key,) = promoted_keys(s3)
    assert key.endswith("/model.tar.gz")
    (container,) = registered(sm)
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": f"s3://{STAGING_BUCKET}/{key}",
                                                             "S3DataType": "S3Object", "CompressionType": "Gzip"}}
    assert "ModelDataUrl" not in container


@pytest.mark.parametrize(("uri", "name", "body"), [
    (f"s3://{DEV_BUCKET}/fraud-model/14/model.zip", "model.zip", zipped(MODEL)),  # one object
    (f"s3://{DEV_BUCKET}/fraud-model/14", "model.tar", tar(MODEL, "w")),  # the only object of the folder
    (f"s3://{DEV_BUCKET}/fraud-model/14", "model.tar.bz2", tar(MODEL, "w:bz2")),
    (f"s3://{DEV_BUCKET}/fraud-model/14", "model.tar.xz", tar(MODEL, "w:xz")),
], ids=["zip-object", "tar-folder", "bz2-folder", "xz-folder"])
def test_another_archive_is_refused_before_anything_is_copied(tmp_path, moto_url, monkeypatch, uri, name, body):
    result, sm, s3 = promote(tmp_path, moto_url, monkeypatch, uri, {name: body})
    assert result.code == 1, result.output
    assert f"holds one archive, {name}" in result.stdout
    assert "KServe serves this archive unpacked" in result.stdout
    assert "repack as model.tar.gz or register the folder" in result.stdout
    assert "Traceback" not in result.output
    assert promoted_keys(s3) == [] and registered(sm) == []


def test_a_folder_of_several_files_keeps_its_layout(tmp_path, moto_url, monkeypatch):
    """KServe unpacks nothing when the URI yields two files, one of them a gzip tar: SageMaker gets both files."""
    objects = {"model.tar.gz": tar(MODEL, "w:gz"), "config.json": b'{"threshold": 0.7}'}
    result, sm, s3 = promote(tmp_path, moto_url, monkeypatch, f"s3://{DEV_BUCKET}/fraud-model/14", objects)
    assert result.code == 0, result.output
    keys = promoted_keys(s3)
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == ["config.json", "model.tar.gz"]
    (container,) = registered(sm)
    prefix = f"s3://{STAGING_BUCKET}/{keys[0].rsplit('/', 1)[0]}/"
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": prefix, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}


def step(server: str | None) -> ArtifactStep:
    detail = {"srcServer": server} if server else {}
    return ArtifactStep("copy-artifact", "m", "sha256:" + "0" * 64, 1, "s3://src/m/1", "s3://dst/p/", detail)


@pytest.mark.parametrize(("key", "refused", "gzip"), [
    ("m/1/model.tar.gz", False, "model.tar.gz"), ("m/1/weights.tgz", False, "weights.tgz"),
    ("m/1/model.zip", True, ""), ("m/1/model.tar", True, ""), ("m/1/model.tar.bz2", True, ""),
    ("m/1/model.tar.xz", True, ""), ("m/1/model.joblib", False, ""), ("m/1/model.gz", False, ""),
])
def test_kserve_s_own_test_decides(key, refused, gzip):
    """``mimetypes.guess_type``'s type, as KServe asks it: a tar of any compression or a zip is unpacked."""
    # imported here: the CLI tests above also run on old code
    from mlops_infra.promote.artifacts import _kserve_archive

    pairs = [({"Key": key}, key.rsplit("/", 1)[-1])]
    why, found = _kserve_archive(step("kserve"), pairs)
    assert bool(why) is refused and found == gzip
    assert _kserve_archive(step(None), pairs) == ("", "")  # an AWS SRC: SageMaker served it as registered
    two = [*pairs, ({"Key": "m/1/config.json"}, "config.json")]
    assert _kserve_archive(step("kserve"), two) == ("", "")  # two files: KServe unpacks nothing
