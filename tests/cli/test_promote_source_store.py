"""``promote --execute-artifacts`` from a Kubernetes SRC whose models live in an S3-compatible store of their own
(audit finding promote-2: docs/compile-kubernetes.md 3.1, the ``mlops-object-store`` Secret's ``AWS_ENDPOINT_URL``
and keys). Two moto servers in separate processes, so that nothing one holds is visible through the other (moto
keeps its backends in process memory, shared by every server of a process): ``aws`` (this process: staging,
account 111111111111 through moto's STS) and the dev store (a child process: dev's models bucket). dev's
registry is a saved read whose v14 carries the real digest of its files.

Checked: with ``--source-store dev=URL`` and the ``MLOPS_SOURCE_AWS_*`` keys the copy reads the store and lands
in staging, verified and registered as v3, the secret key never printed; without it the copy fails and the error
names the option; missing keys and a ``--source-store`` for another environment are refused before any step."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_infra.model_versions import DIGEST_PROPERTY, ModelRegistry, RegistryView, VersionRecord
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    STAGING_GROUP,
    STAGING_ROLE,
    assumed_session,
    copy_reference,
    register_package,
    write_view,
)

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

DEV_BUCKET = "fraud-detection-dev-models"
STAGING_BUCKET = "fraud-detection-staging-platform-artifacts-111111111111"
FILES = {"config.json": b'{"model": "fraud"}', "model.safetensors": bytes(range(256)) * 64}
DEV_KEY, DEV_SECRET = "dev-store-key", "dev-store-secret-4f1c9a"  # the dev store's own keys (moto takes any)
STORE = textwrap.dedent("""
    import sys
    from tests.support.moto_server import running_moto_server
    with running_moto_server() as url:
        print(url, flush=True)
        sys.stdin.read()  # until the test closes stdin
""")


@pytest.fixture
def dev_store() -> Iterator[str]:
    """A moto server in a child process standing in for dev's MinIO, holding dev's v14 folder."""
    import boto3

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", STORE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=root)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=DEV_KEY,
                          aws_secret_access_key=DEV_SECRET)
        s3.create_bucket(Bucket=DEV_BUCKET)
        for name, body in FILES.items():
            s3.put_object(Bucket=DEV_BUCKET, Key=f"fraud-model/14/{name}", Body=body)
        yield url
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def promotion(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """staging (on ``moto_url``) holds v1, v2 and its platform bucket; dev's registry read says v14 is the folder
    ``s3://fraud-detection-dev-models/fraud-model/14/`` with its real digest."""
    staging = assumed_session(moto_url, STAGING_ROLE, "us-east-1")
    staging.client("s3", endpoint_url=moto_url).create_bucket(Bucket=STAGING_BUCKET)
    sm = staging.client("sagemaker", endpoint_url=moto_url)
    sm.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    for run, number in ((5, "12"), (6, "13")):
        register_package(sm, STAGING_GROUP, "sha256:" + number * 32, f"s3://{STAGING_BUCKET}/training/retrain/run-{run}/model/")
    digest = digest_of(FILES)
    record = VersionRecord(14, "Approved", "Completed", artifact_uri=f"s3://{DEV_BUCKET}/fraud-model/14/", digest=digest)
    dev = write_view(tmp_path / "dev.json", RegistryView({"fraud-model": ModelRegistry(
        "fraud-model", "MLflow registered model fraud-model", "registry", True, {14: record})}))
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    for name in ("MLOPS_SOURCE_AWS_ACCESS_KEY_ID", "MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY", "MLOPS_SOURCE_AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    args = ["promote", str(copy_reference(tmp_path)), "--to", "staging", "--registry", f"dev={dev}",
            "--role", f"staging={STAGING_ROLE}", "--execute-artifacts"]
    return {"args": args, "sm": sm, "s3": staging.client("s3", endpoint_url=moto_url), "digest": digest}


def test_the_dev_store_is_read_with_its_own_endpoint_and_keys(promotion, dev_store, monkeypatch):
    monkeypatch.setenv("MLOPS_SOURCE_AWS_ACCESS_KEY_ID", DEV_KEY)
    monkeypatch.setenv("MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY", DEV_SECRET)
    result = run_cli(*promotion["args"], "--source-store", f"dev={dev_store}")
    assert result.code == 0, result.output
    assert "2 of 2 object(s) copied, 0 already there; digest verified" in result.stdout
    arn = f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{STAGING_GROUP}/3"
    assert f"registered as v3 ({arn})" in result.stdout
    prefix = f"training/retrain/promoted/fraud-model/{promotion['digest'][7:23]}/"
    s3 = promotion["s3"]
    copied = {o["Key"].removeprefix(prefix): s3.get_object(Bucket=STAGING_BUCKET, Key=o["Key"])["Body"].read()
              for o in s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix=prefix)["Contents"]}
    assert copied == FILES
    package = promotion["sm"].describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"][DIGEST_PROPERTY] == promotion["digest"]
    assert DEV_SECRET not in result.output


def test_without_the_option_the_copy_fails_naming_it(promotion, dev_store):
    """The source GET goes to AWS_ENDPOINT_URL (staging's endpoint), where dev's bucket does not exist."""
    result = run_cli(*promotion["args"])
    assert result.code == 1, result.output
    assert "NoSuchBucket" in result.stdout
    assert ("dev's models store was read at " in result.stderr
            and "pass --source-store dev=URL and export MLOPS_SOURCE_AWS_ACCESS_KEY_ID and "
                "MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY" in " ".join(result.stderr.split()))
    packages = promotion["sm"].list_model_packages(ModelPackageGroupName=STAGING_GROUP)["ModelPackageSummaryList"]
    assert len(packages) == 2


def test_missing_keys_and_another_environment_are_refused(promotion, monkeypatch):
    missing = run_cli(*promotion["args"], "--source-store", "dev=http://127.0.0.1:9")
    assert missing.code == 1
    assert ("no credentials for dev's store: MLOPS_SOURCE_AWS_ACCESS_KEY_ID and MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY "
            "not set") in missing.stderr
    monkeypatch.setenv("MLOPS_SOURCE_AWS_ACCESS_KEY_ID", DEV_KEY)
    monkeypatch.setenv("MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY", DEV_SECRET)
    other = run_cli(*promotion["args"], "--source-store", "staging=http://127.0.0.1:9")
    assert other.code == 1 and "--source-store staging=...: staging is not the source of this promotion (dev)" in other.stderr
    bad_url = run_cli(*promotion["args"], "--source-store", "dev=minio:9000")
    assert bad_url.code == 1 and "takes the store's http(s) address, not 'minio:9000'" in bad_url.stderr
    for result in (missing, other, bad_url):
        assert "Traceback" not in result.output and DEV_SECRET not in result.output
    assert len(promotion["sm"].list_model_packages(ModelPackageGroupName=STAGING_GROUP)["ModelPackageSummaryList"]) == 2
