"""Artifact steps against a real moto server with two accounts (staging 111111111111 us-east-1, prod
222222222222 eu-west-1), each reached by assuming a role through moto's STS: the copy, the registration,
resuming after a kill, and the whole staging -> prod flow through the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_infra.model_versions import DIGEST_PROPERTY
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_GROUP,
    PROD_ROLE,
    STAGING_GROUP,
    STAGING_ROLE,
    promoted_to_staging,
)
from tests.support.promotion import assumed_session as assumed
from tests.support.promotion import register_package as register

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

STAGING_BUCKET = "fraud-detection-staging-platform-artifacts-111111111111"
PROD_BUCKET = "fraud-detection-prod-platform-artifacts-222222222222"  # B4: where training_output is
OBJECTS = 24


@pytest.fixture
def accounts(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Staging has v1..v3 (v3 = dev's v14, its artifact a folder of OBJECTS objects, registered with their real
    manifest digest, ``accounts["digest"]``); prod's group exists, empty."""
    return set_up(moto_url, monkeypatch, prod_group=True)


@pytest.fixture
def unapplied_prod(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """As ``accounts``, but prod was never applied: its model package group does not exist."""
    return set_up(moto_url, monkeypatch, prod_group=False)


def set_up(moto_url: str, monkeypatch: pytest.MonkeyPatch, *, prod_group: bool) -> dict:
    staging = assumed(moto_url, STAGING_ROLE, "us-east-1")
    s3 = staging.client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=STAGING_BUCKET)
    files = {f"part-{i:02}.bin": os.urandom(2048) for i in range(OBJECTS)}
    for name, body in files.items():
        s3.put_object(Bucket=STAGING_BUCKET, Key=f"training/retrain/run-7/model/{name}", Body=body)
    digest = digest_of(files)
    sm = staging.client("sagemaker", endpoint_url=moto_url)
    sm.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    register(sm, STAGING_GROUP, "sha256:" + "12" * 32, f"s3://{STAGING_BUCKET}/training/retrain/run-5/model/")
    register(sm, STAGING_GROUP, "sha256:" + "13" * 32, f"s3://{STAGING_BUCKET}/training/retrain/run-6/model/")
    register(sm, STAGING_GROUP, digest, f"s3://{STAGING_BUCKET}/training/retrain/run-7/model/")
    prod = assumed(moto_url, PROD_ROLE, "eu-west-1")
    prod_s3 = prod.client("s3", endpoint_url=moto_url)
    prod_s3.create_bucket(Bucket=PROD_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    prod_s3.put_bucket_versioning(Bucket=PROD_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    if prod_group:
        prod.client("sagemaker", endpoint_url=moto_url).create_model_package_group(ModelPackageGroupName=PROD_GROUP)
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    return {"url": moto_url, "prod": prod, "staging": staging, "digest": digest, "files": files}


def roles() -> list[str]:
    return ["--role", f"staging={STAGING_ROLE}", "--role", f"prod={PROD_ROLE}"]


def prod_state(accounts: dict) -> tuple[list[dict], list[str]]:
    s3 = accounts["prod"].client("s3", endpoint_url=accounts["url"])
    versions = s3.list_object_versions(Bucket=PROD_BUCKET).get("Versions") or []
    sm = accounts["prod"].client("sagemaker", endpoint_url=accounts["url"])
    packages = [p["ModelPackageArn"] for p in sm.list_model_packages(ModelPackageGroupName=PROD_GROUP)
                ["ModelPackageSummaryList"]]
    return versions, packages


def test_staging_to_prod_lists_steps_then_executes_them_idempotently(tmp_path, accounts):
    file, _ = promoted_to_staging(tmp_path)
    digest = accounts["digest"]
    preview = run_cli("promote", str(file), "--to", "prod", *roles(), "--skip-gate", "no_drift", "--reason", "test")
    assert preview.code == 1  # model_approved: v1 is not registered in prod yet
    assert f"staging = v1 in prod, {digest}" in preview.stdout.replace("fraud-model v3 in ", "")
    prefix = f"s3://{PROD_BUCKET}/training/retrain/promoted/fraud-model/{digest[7:23]}/"
    assert (f"[pending] copy fraud-model {digest[:19]} s3://{STAGING_BUCKET}/training/retrain/run-7/model/ -> "
            f"{prefix}") in preview.stdout
    assert f"[pending] register fraud-model {digest[:19]} in group {PROD_GROUP} (222222222222/eu-west-1) " \
           "(expected v1, PendingManualApproval)" in preview.stdout

    first = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert first.code == 0, first.output
    assert "[done] copy fraud-model" in first.stdout and f"{OBJECTS} of {OBJECTS} object(s) copied" in first.stdout
    assert f"registered as v1 (arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/1)" in first.stdout
    versions, packages = prod_state(accounts)
    assert len(versions) == OBJECTS and packages == [f"arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/1"]
    sm = accounts["prod"].client("sagemaker", endpoint_url=accounts["url"])
    package = sm.describe_model_package(ModelPackageName=packages[0])
    assert package["CustomerMetadataProperties"][DIGEST_PROPERTY] == digest
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # fraud-model's approval is manual
    container = package["InferenceSpecification"]["Containers"][0]  # a folder: never a ModelDataUrl (test_model_data)
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": prefix, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}
    assert "ModelDataUrl" not in container

    again = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert again.code == 0, again.output
    assert "No artifact steps: prod's registry already holds every artifact staging serves." in again.stdout
    assert prod_state(accounts) == (versions, packages)

    gated = run_cli("promote", str(file), "--to", "prod", *roles(), "--write", "--skip-gate", "no_drift",
                    "--reason", "staging drift checked nightly")
    assert gated.code == 1 and "approval status PendingManualApproval" in gated.stdout
    # moto's UpdateModelPackage replaces CustomerMetadataProperties with what the call passes (None when
    # left out); SageMaker keeps them (botocore UpdateModelPackageInput has ...ToRemove for removals).
    # Passing them again approves the way both behave alike.
    sm.update_model_package(ModelPackageArn=packages[0], ModelApprovalStatus="Approved",
                            CustomerMetadataProperties=package["CustomerMetadataProperties"])
    written = run_cli("promote", str(file), "--to", "prod", *roles(), "--write", "--skip-gate", "no_drift",
                      "--reason", "staging drift checked nightly")
    assert written.code == 0, written.output
    assert "PASS    model_approved" in written.stdout
    assert "      endpoints.scorer.model.version: 1\n" in file.read_text()


def test_a_missing_group_fails_saying_to_apply_first(tmp_path, unapplied_prod):
    """Refused before the first byte is copied: the copy used to run first, leaving OBJECTS copied, unregistered
    objects in prod's bucket."""
    file, _ = promoted_to_staging(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 1
    assert f"group {PROD_GROUP} does not exist yet: apply the environment first" in result.output
    assert "Run the same command again to resume" not in result.output  # refused: a rerun refuses the same way
    assert "Running the same command again as it is fails the same way: do what each step says first." in result.stderr
    assert ("copy-artifact fraud-model: not run: register-version fraud-model is refused, and nothing is copied while a "
            "step is refused") in result.stderr
    assert "Traceback" not in result.output
    assert prod_state(unapplied_prod)[0] == []  # no object (no version of one) in prod's bucket


SLOW_COPY = textwrap.dedent("""
    import sys, time
    import mlops_infra.promote.artifacts as artifacts
    from mlops_infra.cli.main import main
    real = artifacts._same_object
    def slow(*args):
        found = real(*args)
        print("checked", flush=True)
        time.sleep(0.5)
        return found
    artifacts._same_object = slow
    main(sys.argv[1:])
""")


def test_a_copy_killed_half_way_is_finished_not_duplicated(tmp_path, accounts):
    file, _ = promoted_to_staging(tmp_path)
    args = ["promote", str(file), "--to", "prod", *roles(), "--execute-artifacts"]
    proc = subprocess.Popen([sys.executable, "-c", SLOW_COPY, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=Path(__file__).resolve().parents[2], env=os.environ.copy())
    try:
        for _ in range(OBJECTS // 2):
            assert proc.stdout.readline().strip() == "checked"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    half, packages = prod_state(accounts)
    assert 0 < len(half) < OBJECTS and packages == []
    result = run_cli(*args)
    assert result.code == 0, result.output
    copied = OBJECTS - len(half)
    assert f"{copied} of {OBJECTS} object(s) copied, {len(half)} already there" in result.stdout
    versions, packages = prod_state(accounts)
    assert sorted(v["Key"] for v in versions) == sorted({v["Key"] for v in versions})  # one version per key
    assert len(versions) == OBJECTS and len(packages) == 1


def test_a_folder_marker_in_the_source_is_not_copied(tmp_path, accounts):
    """The S3 console's "folder" (a zero-byte object whose key ends in ``/``) under the artifact's prefix
    is left behind: SageMaker fails to deploy uncompressed model data holding one ("Do not organize the
    model artifacts in S3 console using folders", botocore ``S3ModelDataSource.CompressionType``), and the
    artifact digest leaves it out too (``digests.list_artifact``)."""
    s3 = accounts["staging"].client("s3", endpoint_url=accounts["url"])
    s3.put_object(Bucket=STAGING_BUCKET, Key="training/retrain/run-7/model/", Body=b"")
    s3.put_object(Bucket=STAGING_BUCKET, Key="training/retrain/run-7/model/tokenizer/", Body=b"")
    file, _ = promoted_to_staging(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 0, result.output
    assert f"{OBJECTS} of {OBJECTS} object(s) copied" in result.stdout
    versions, packages = prod_state(accounts)
    assert len(versions) == OBJECTS and len(packages) == 1
    assert not [v["Key"] for v in versions if v["Key"].endswith("/")]


# -- the copy is verified against the digest (audit finding promote-1) -----------------------------


def packages_of(session, url: str, group: str) -> list[dict]:
    sm = session.client("sagemaker", endpoint_url=url)
    return [sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])
            for p in sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]]


def test_a_digest_its_objects_do_not_give_is_refused_and_nothing_is_registered(tmp_path, accounts):
    """staging's v3 says ``accounts["digest"]``; one of its objects was overwritten since. The copy hashes
    what it reads, the manifest is not that digest: exit 1 naming both digests, no package in prod."""
    s3 = accounts["staging"].client("s3", endpoint_url=accounts["url"])
    s3.put_object(Bucket=STAGING_BUCKET, Key="training/retrain/run-7/model/part-05.bin", Body=b"weights nobody tested")
    actual = digest_of({**accounts["files"], "part-05.bin": b"weights nobody tested"})
    file, _ = promoted_to_staging(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 1, result.output
    assert (f"artifact digest mismatch: staging v3 says {accounts['digest']}, its objects give {actual}; "
            "nothing is registered") in result.stdout
    assert "register fraud-model" in result.stdout and "not run: an earlier step failed" in result.stdout
    assert prod_state(accounts)[1] == []


def test_a_rerun_checks_the_copies_it_skips(tmp_path, accounts):
    """Copies already in prod (same size, the source's ETag in their metadata) are skipped by a rerun, but
    their bytes still make the digest: one that was altered in place fails the step, nothing is registered."""
    staging_s3 = accounts["staging"].client("s3", endpoint_url=accounts["url"])
    prod_s3 = accounts["prod"].client("s3", endpoint_url=accounts["url"])
    prefix = f"training/retrain/promoted/fraud-model/{accounts['digest'][7:23]}/"
    for name, body in accounts["files"].items():
        etag = staging_s3.head_object(Bucket=STAGING_BUCKET, Key=f"training/retrain/run-7/model/{name}")["ETag"]
        altered = bytes(2048) if name == "part-03.bin" else body  # same size, other bytes
        prod_s3.put_object(Bucket=PROD_BUCKET, Key=prefix + name, Body=altered,
                           Metadata={"mlops-infra-source-etag": etag.strip('"')})
    file, _ = promoted_to_staging(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 1, result.output
    actual = digest_of({**accounts["files"], "part-03.bin": bytes(2048)})
    assert f"artifact digest mismatch: staging v3 says {accounts['digest']}, its objects give {actual}" in result.stdout
    assert prod_state(accounts)[1] == []


def test_an_object_that_changes_after_the_listing_is_not_copied(accounts, monkeypatch):
    """The GET carries ``IfMatch`` = the listed ETag: an object replaced between the listing and its read is
    refused by S3 (412 PreconditionFailed), and the step fails saying so."""
    from mlops_infra.promote import artifacts

    staging_s3 = accounts["staging"].client("s3", endpoint_url=accounts["url"])
    real = artifacts._same_object

    def overwrite_first(*args):
        if not overwritten:
            staging_s3.put_object(Bucket=STAGING_BUCKET, Key="training/retrain/run-7/model/part-00.bin", Body=b"new")
            overwritten.append(True)
        return real(*args)

    overwritten: list[bool] = []
    monkeypatch.setattr(artifacts, "_same_object", overwrite_first)
    step = artifacts.ArtifactStep("copy-artifact", "fraud-model", accounts["digest"], 1,
                                  f"s3://{STAGING_BUCKET}/training/retrain/run-7/model/",
                                  f"s3://{PROD_BUCKET}/training/retrain/promoted/fraud-model/x/", {"from": "staging v3"})
    (result,) = artifacts.execute_steps([step], src_session=accounts["staging"], dst_session=accounts["prod"],
                                        endpoint_url=accounts["url"])
    assert result.status == "failed", result
    assert (f"s3://{STAGING_BUCKET}/training/retrain/run-7/model/part-00.bin changed after it was listed"
            in result.outcome and "412 PreconditionFailed" in result.outcome)


DEV_BUCKET = "fraud-detection-dev-models"


def test_an_overwrite_in_stagings_promoted_copy_is_caught_on_the_way_to_prod(tmp_path, moto_url, monkeypatch):
    """dev -> staging registers v3 with the fingerprint of the copies it verified; one copy in staging's promoted
    prefix is then overwritten. staging -> prod computes the digest again (the ETags changed), finds it is not
    v3's, and refuses: prod registers nothing, and v3 keeps the digest dev tested (closing audit closing-b-1: the
    promotion used to record the new digest on v3 and register the overwritten bytes in prod as "staging v3")."""
    from mlops_infra.model_versions import DIGEST_PROPERTY, ModelRegistry, RegistryView, VersionRecord
    from mlops_infra.promote.digests import DIGEST_SOURCE_PROPERTY
    from tests.support.promotion import copy_reference, reference_accounts, write_view

    staging, prod = reference_accounts(moto_url, monkeypatch)
    sm = staging.client("sagemaker", endpoint_url=moto_url)
    files = {"config.json": b'{"model": "fraud"}', "model.safetensors": bytes(range(256)) * 64}
    tested = digest_of(files)
    dev_s3 = assumed(moto_url, "arn:aws:iam::123456789012:role/dev", "us-east-1").client("s3", endpoint_url=moto_url)
    dev_s3.create_bucket(Bucket=DEV_BUCKET)
    for name, body in files.items():
        dev_s3.put_object(Bucket=DEV_BUCKET, Key=f"fraud-model/14/{name}", Body=body)
    record = VersionRecord(14, "Approved", "Completed", artifact_uri=f"s3://{DEV_BUCKET}/fraud-model/14/", digest=tested)
    dev = write_view(tmp_path / "dev.json", RegistryView({"fraud-model": ModelRegistry(
        "fraud-model", "MLflow fraud-model", "registry", True, {14: record})}))
    (tmp_path / "dev").mkdir()
    first = run_cli("promote", str(copy_reference(tmp_path / "dev")), "--to", "staging", "--registry", f"dev={dev}",
                    "--role", f"staging={STAGING_ROLE}", "--execute-artifacts")
    assert first.code == 0, first.output
    v3 = sm.describe_model_package(
        ModelPackageName=f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{STAGING_GROUP}/3")
    assert v3["CustomerMetadataProperties"][DIGEST_PROPERTY] == tested
    assert v3["CustomerMetadataProperties"][DIGEST_SOURCE_PROPERTY].startswith("s3-etags:sha256:")
    sm.update_model_package(ModelPackageArn=v3["ModelPackageArn"], ModelApprovalStatus="Approved",  # reviewed
                            CustomerMetadataProperties=v3["CustomerMetadataProperties"])  # (moto: see above)

    promoted = f"training/retrain/promoted/fraud-model/{tested[7:23]}/"
    staging.client("s3", endpoint_url=moto_url).put_object(Bucket=STAGING_BUCKET, Key=promoted + "model.safetensors",
                                                           Body=b"weights nobody tested")
    actual = digest_of({**files, "model.safetensors": b"weights nobody tested"})
    (tmp_path / "prod").mkdir()
    file, _ = promoted_to_staging(tmp_path / "prod")
    second = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert second.code == 1, second.output
    assert f"records {tested}, its objects now give {actual}" in second.output
    assert "Traceback" not in second.output
    assert packages_of(prod, moto_url, PROD_GROUP) == []
    assert sm.describe_model_package(ModelPackageName=v3["ModelPackageArn"])["CustomerMetadataProperties"][
        DIGEST_PROPERTY] == tested
