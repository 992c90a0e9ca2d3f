"""Every read a promotion makes of SRC's objects uses one S3 client
(:func:`mlops_infra.promote.source_store.source_client`): the preview's read of the artifact's files (the serving
contract, ``promote/contracts.read_artifact_files``) as much as the copy of ``--execute-artifacts``.

The two had a client each with the same endpoint, session and region (SRC's ``target.region``: the same in every
effective system), but only the copy's sent the bucket owner condition (``ExpectedBucketOwner``, header
``x-amz-expected-bucket-owner``; S3 answers 403 AccessDenied when another account owns the bucket:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html). So the preview of an AWS SRC
promoted to Kubernetes listed and read the artifact in a bucket of SRC's name whichever account held it, and
decided DST's serving from those files. moto does not enforce the header (``promote/bucket_owner.py``): the
requests are recorded as serialized and checked, as ``tests/promote/test_artifact_order.py`` checks the copy's.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from tests.promote.test_artifact_order import record_s3
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import write_view

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

ACCOUNT = "111111111111"
BUCKET = f"srcreads39-staging-platform-artifacts-{ACCOUNT}"  # the platform bucket staging's graph creates
KEY = "training/retrain/run-1/model/model.tar.gz"
SYSTEM = f"""\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {{name: srcreads39, owner: a@example.com}}
models:
  - {{name: ranker, framework: pytorch, framework_version: "2.5", artifacts_uri: "s3://{BUCKET}/ranker/"}}
endpoints:
  - {{name: rank, model: {{name: ranker, version: 1}}, instance_type: ml.m5.xlarge, replicas: {{min: 1, max: 1}}}}
environments:
  staging: {{target: {{kind: aws, region: us-east-1, account: "{ACCOUNT}"}}}}
  edge:
    target: {{kind: kubernetes, context: k, namespace: ns}}
    promote_from: staging
"""
BOTH = {"model.pt": b"torchscript" * 64, "model-store/ranker.mar": b"mar" * 64, "config/config.properties": b"a=b\n"}


def targz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def staging_store(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """staging's platform bucket on moto (``AWS_ENDPOINT_URL``), holding the ranker's v1 model.tar.gz."""
    import boto3

    for name, value in (("AWS_ENDPOINT_URL", url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=targz(BOTH))


def registries(folder: Path) -> list[str]:
    record = VersionRecord(1, "Approved", "Completed", digest="sha256:" + "39" * 32,
                           artifact_uri=f"s3://{BUCKET}/{KEY}", artifact_compression="Gzip")
    staging = write_view(folder / "registry-staging.json", RegistryView({"ranker": ModelRegistry(
        "ranker", f"group srcreads39-staging-ranker ({ACCOUNT}/us-east-1)", "registry", True, {1: record})}))
    edge = write_view(folder / "registry-edge.json", RegistryView({"ranker": ModelRegistry(
        "ranker", "MLflow registered model ranker", "registry", True, {})}))
    return ["--registry", f"staging={staging}", "--registry", f"edge={edge}"]


def test_the_preview_reads_an_aws_srcs_files_naming_the_account_that_owns_its_bucket(
        tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    staging_store(moto_url, monkeypatch)
    file = tmp_path / "mlsystem.yaml"
    file.write_text(SYSTEM, encoding="utf-8")
    sent = record_s3(monkeypatch)
    result = run_cli("promote", str(file), "--to", "edge", *registries(tmp_path))
    monkeypatch.undo()
    assert "Serving (staging -> edge):" in result.stdout, result.output
    assert "the artifact holds edge's layout" in result.stdout, result.output  # its files were read
    assert "Traceback" not in result.output
    to_staging = [(op, header) for op, bucket, header in sent if bucket == BUCKET]
    assert {"HeadObject", "GetObject"} <= {op for op, _ in to_staging}, sent
    assert {header for _, header in to_staging} == {ACCOUNT}, to_staging
