"""The artifact digest and the folder test leave out every folder marker, Hadoop's ``_$folder$`` too.

``promote/digests.py`` left out only keys ending in ``/`` (the S3 console's folder), while the retrain
gate and the training runtime also leave out ``<folder>_$folder$``, the 0-byte placeholder Hadoop's S3
file systems (EMRFS ``s3://``, ``s3n://``) write beside a folder they make (Apache Hadoop
``NativeS3FileSystem.mkdir``: ``FOLDER_SUFFIX = "_$folder$"``). A model folder written by a Spark/EMR
job got a digest with a 0-byte ``tokenizer_$folder$`` file in its manifest, which the runtime's download
of the same folder (``download_prefix``) does not hold, so the digest was not the files' (stop-36
datasources audit, item 1); and a prefix holding only such a placeholder was taken for a folder.
Against the moto server, with the staging fixture of ``test_digests``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.digests import artifact_keys, artifact_layout, list_artifact
from tests.promote.artifact_files import runtime_digest
from tests.promote.test_digests import BUCKET, SERVING_IMAGE, STAGING_GROUP, complete, staging
from tests.support import fixtures
from tests.support.promotion import STAGING_ROLE
from tests.support.promotion import assumed_session as assumed

ROOT = Path(__file__).resolve().parents[2]
moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
__all__ = ["staging"]
PREFIX = "training/retrain/run-emr-11/model/"


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_a_folder_with_hadoop_placeholders_has_the_digest_of_its_files(staging, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    s3 = staging["s3"]
    files = {"model.safetensors": os.urandom(1024), "config.json": b"{}", "tokenizer/vocab.txt": b"a\nb\n"}
    for name, data in files.items():
        s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=data)
    for marker in ("tokenizer_$folder$", "tokenizer/"):  # EMR's mkdir, the console's "Create folder"
        s3.put_object(Bucket=BUCKET, Key=PREFIX + marker, Body=b"")
    arn = staging["sm"].create_model_package(
        ModelPackageGroupName=STAGING_GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": SERVING_IMAGE, "ModelDataSource": {"S3DataSource": {
            "S3Uri": f"s3://{BUCKET}/{PREFIX}", "S3DataType": "S3Prefix", "CompressionType": "None"}}}],
            "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]

    assert sorted(o.path for o in list_artifact(s3, f"s3://{BUCKET}/{PREFIX}", True)) == sorted(files)
    # the runtime's own download of that folder, and its digest: the same files, the same digest
    sys.path.insert(0, str(ROOT / "examples" / "runtime"))
    from mlops_entry.objects import download_prefix

    env = {"AWS_ENDPOINT_URL": staging["url"], "AWS_REGION": "us-east-1"}
    creds = assumed(staging["url"], STAGING_ROLE, "us-east-1").get_credentials().get_frozen_credentials()
    for name, value in (("AWS_ACCESS_KEY_ID", creds.access_key), ("AWS_SECRET_ACCESS_KEY", creds.secret_key),
                        ("AWS_SESSION_TOKEN", creds.token or "")):
        monkeypatch.setenv(name, value)  # boto3 reads the container's credentials from the process
    folder = download_prefix(f"s3://{BUCKET}/{PREFIX}", tmp_path / "downloaded", env)
    view, _ = complete(staging, {1: arn})
    assert view.models["fraud-model"].versions[1].digest == runtime_digest(folder)


@pytest.mark.moto
def test_a_prefix_holding_only_a_hadoop_placeholder_is_no_folder(staging):
    s3 = staging["s3"]
    s3.put_object(Bucket=BUCKET, Key="layout-emr/empty/_$folder$", Body=b"")  # EMR's mkdir of empty/
    s3.put_object(Bucket=BUCKET, Key="layout-emr/placeholder/sub_$folder$", Body=b"")  # of placeholder/sub
    assert list(artifact_keys(s3, BUCKET, "layout-emr/")) == []
    for name in ("empty", "placeholder"):
        uri = f"s3://{BUCKET}/layout-emr/{name}"
        with pytest.raises(UserError) as raised:
            artifact_layout(s3, uri)
        assert f"{uri} is neither a folder (no object under {uri}/" in raised.value.summary
