"""``promote`` dev -> staging of the reference, Kubernetes to AWS, against real servers: dev's registry is a
real MLflow tracking server (tests/support/mlflow_server.py) holding fraud-model v1..v14 as the training
runtime registers them (source ``s3://<dev models bucket>/fraud-model/<n>/``, the digest in the version tag
``mlops-infra.artifact-digest``), staging's is a SageMaker group in account 111111111111 of a moto server,
read through a role assumed with moto's STS (the default credentials are account 123456789012's).

Checked through the console entry point: the mapping (dev's v14 = staging's v3, the number staging's group
gives it next), the edit (exactly the pinned line changes, every other byte of FILE survives), staging's plan
(the endpoint waits for v3), the artifact steps (listed, then carried out: dev's models bucket copied into
staging's account and registered as staging's v3), staging's gates when it declares some, the release record;
and a promotion that cannot be mapped (v14 not in MLflow, v14 without a digest, MLflow unreachable) exits 1
with the reason and leaves FILE byte-identical.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from mlops_infra.promote import registries
from mlops_infra.promote.registries import MLFLOW_APPROVAL_TAG, MLFLOW_DIGEST_TAG
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.mlflow_server import MlflowRest
from tests.support.promotion import (
    DIGEST_V12,
    DIGEST_V13,
    DIGEST_V14,
    STAGING_GROUP,
    STAGING_ROLE,
    assumed_session,
    copy_reference,
    register_package,
)

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

MODEL = "fraud-model"
DEV_MODELS = "s3://fraud-detection-dev-models/fraud-model/"  # MLOPS_MODEL_URI_PREFIX of dev's retrain job
STAGING_BUCKET = "fraud-detection-staging-platform-artifacts-111111111111"  # B4: where training_output is
STAGING_MODELS = f"s3://{STAGING_BUCKET}/training/retrain/"
OLD_LINE = "      endpoints.scorer.model.version: 13\n"
NEW_LINE = "      endpoints.scorer.model.version: 3\n"
DIGESTS = {12: DIGEST_V12, 13: DIGEST_V13, 14: DIGEST_V14}


def register_dev(url: str, versions: range = range(1, 15), digests: dict[int, str] = DIGESTS) -> MlflowRest:
    """fraud-model v1.. in dev's MLflow as the runtime registers them; v12..v14 carry their digest (set at
    creation), v14 is approved (a tag set afterwards, as a reviewer does) and aliased ``champion``."""
    rest = MlflowRest(url)
    rest.create_model(MODEL)
    for number in versions:
        tags = {MLFLOW_DIGEST_TAG: digests[number]} if number in digests else {}
        assert rest.create_version(MODEL, f"{DEV_MODELS}{number}/", tags) == number
    if 14 in versions:
        rest.set_version_tag(MODEL, 14, MLFLOW_APPROVAL_TAG, "approved")
        rest.set_alias(MODEL, "champion", 14)
    return rest


def register_staging(moto: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """Staging's group (account 111111111111) holds dev's v12 and v13 artifacts as its v1 and v2."""
    session = assumed_session(moto, STAGING_ROLE, "us-east-1")
    sm = session.client("sagemaker", endpoint_url=moto)
    sm.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    register_package(sm, STAGING_GROUP, DIGEST_V12, f"{STAGING_MODELS}run-5/model/")
    register_package(sm, STAGING_GROUP, DIGEST_V13, f"{STAGING_MODELS}run-6/model/")
    for name, value in (("AWS_ENDPOINT_URL", moto), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return sm


def args(file: Path, mlflow: str, *more: str) -> list[str]:
    return ["promote", str(file), "--from", "dev", "--to", "staging", "--mlflow", f"dev={mlflow}",
            "--role", f"staging={STAGING_ROLE}", *more]


def changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.unified_diff(before.decode().splitlines(True), after.decode().splitlines(True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_dev_to_staging_reads_mlflow_and_sagemaker_and_writes_one_line(tmp_path, mlflow_url, moto_url, monkeypatch):
    register_dev(mlflow_url)
    sm = register_staging(moto_url, monkeypatch)
    file = copy_reference(tmp_path)
    before = file.read_bytes()
    assert before.count(OLD_LINE.encode()) == 1 and b"# one node fits the dev cluster" in before

    preview = run_cli(*args(file, mlflow_url))
    assert preview.code == 0, preview.output
    out = preview.stdout
    assert f"scorer: {MODEL} v14 in dev = v3 in staging, {DIGEST_V14} (not registered in staging yet" in out
    assert f"-{OLD_LINE}" in out.replace("  -", "-") and f"+{NEW_LINE}" in out.replace("  +", "+")
    assert "Plan of staging after the edit:" in out and "waits for fraud-model v3" in out  # A1
    destination = f"{STAGING_MODELS}promoted/{MODEL}/{'14' * 8}/"
    assert f"[pending] copy {MODEL} {DIGEST_V14[:19]} {DEV_MODELS}14/ -> {destination}" in out
    assert (f"[pending] register {MODEL} {DIGEST_V14[:19]} in group {STAGING_GROUP} (111111111111/us-east-1) "
            "(expected v3, PendingManualApproval)") in out
    assert "Preview only: nothing was written" in out
    assert file.read_bytes() == before

    as_json = run_cli(*args(file, mlflow_url, "--format", "json"))
    assert as_json.code == 0, as_json.stderr
    (mapping,) = json.loads(as_json.stdout)["promotion"]["versions"]
    assert (mapping["srcVersion"], mapping["dstVersion"], mapping["registered"]) == (14, 3, False)
    assert mapping["srcRegistry"] == f"MLflow registered model {MODEL} at {mlflow_url}"
    assert mapping["src"]["artifactUri"] == f"{DEV_MODELS}14/"
    assert (mapping["src"]["approval"], mapping["src"]["status"]) == ("Approved", "Completed")
    assert mapping["dstRegistry"].startswith(f"group {STAGING_GROUP}")

    refused = run_cli(*args(file, mlflow_url, "--write", "--detailed-exitcode"))  # v3 is only a forecast yet
    assert refused.code == 1 and "--execute-artifacts" in refused.stderr, refused.output
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()
    # the artifact steps register it (here by hand; the real steps: test_dev_to_staging_artifact_steps_...)
    register_package(sm, STAGING_GROUP, DIGEST_V14, f"{STAGING_MODELS}promoted/{MODEL}/{'14' * 8}/")

    written = run_cli(*args(file, mlflow_url, "--write", "--detailed-exitcode"))
    assert written.code == 2, written.output
    after = file.read_bytes()
    assert after == before.replace(OLD_LINE.encode(), NEW_LINE.encode())  # every other byte, comments included
    assert changed_lines(before, after) == [f"-{OLD_LINE}", f"+{NEW_LINE}"]
    (record,) = [json.loads(line) for line in (tmp_path / "releases.jsonl").read_text().splitlines()]
    assert (record["src"], record["dst"], record["gates"], record["skippedGates"]) == ("dev", "staging", [], [])
    (version,) = record["versions"]
    assert (version["srcVersion"], version["dstVersion"], version["digest"]) == (14, 3, DIGEST_V14)
    assert version["registeredInDst"] is True
    lineage = version["lineage"]
    assert lineage["artifactUri"] == f"{DEV_MODELS}14/"
    assert lineage["srcRegistry"] == f"MLflow registered model {MODEL} at {mlflow_url}"
    assert lineage["dstRegistry"].startswith(f"group {STAGING_GROUP}")
    assert record["pins"] == [{"key": "endpoints.scorer.model.version", "value": 3}]
    assert record["planDigest"].startswith("sha256:") and record["who"]
    listed = run_cli("releases", str(file), "--env", "staging")
    assert listed.code == 0 and "dev -> staging" in listed.stdout and "scorer: fraud-model v14 -> v3" in listed.stdout

    again = run_cli(*args(file, mlflow_url, "--write", "--detailed-exitcode"))
    assert again.code == 0, again.output
    assert "No edit: staging already pins what dev serves." in again.stdout
    assert file.read_bytes() == after and len((tmp_path / "releases.jsonl").read_text().splitlines()) == 1


STAGING_GATES = ("    promote_from: dev\n", "    promote_from: dev\n    gates: [model_approved, progressive_rollout]\n")


def test_staging_gates_read_sagemaker_and_refuse_until_v3_is_approved(tmp_path, mlflow_url, moto_url, monkeypatch):
    register_dev(mlflow_url)
    sm = register_staging(moto_url, monkeypatch)
    file = copy_reference(tmp_path)
    text = file.read_text()
    assert text.count(STAGING_GATES[0]) == 1
    file.write_text(text.replace(*STAGING_GATES))
    before = file.read_bytes()

    refused = run_cli(*args(file, mlflow_url))  # the preview evaluates the gates (--write: test_promote_write_registered)
    assert refused.code == 1, refused.output
    assert "FAIL    model_approved: 1 pinned version(s) not Approved in staging's registry" in refused.stdout
    assert f"fraud-model v3 ({DIGEST_V14}) is not registered in group {STAGING_GROUP}" in refused.stdout
    assert "PASS    progressive_rollout" in refused.stdout
    assert "the promotion into staging is refused: gate(s) failed: model_approved" in refused.stderr
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()

    arn = register_package(sm, STAGING_GROUP, DIGEST_V14, f"{STAGING_MODELS}promoted/{MODEL}/{'14' * 8}/",
                           approval="PendingManualApproval")
    assert arn.endswith(f"/{STAGING_GROUP}/3")
    pending = run_cli(*args(file, mlflow_url, "--write"))
    assert pending.code == 1 and "approval status PendingManualApproval" in pending.stdout
    assert f"scorer: {MODEL} v14 in dev = v3 in staging, {DIGEST_V14}; approval in dev: Approved\n" in pending.stdout  # registered now
    assert file.read_bytes() == before

    package = sm.describe_model_package(ModelPackageName=arn)
    # moto's UpdateModelPackage drops CustomerMetadataProperties left out of the call (see test_artifacts)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                            CustomerMetadataProperties=package["CustomerMetadataProperties"])
    passed = run_cli(*args(file, mlflow_url, "--write"))
    assert passed.code == 0, passed.output
    assert "PASS    model_approved" in passed.stdout and "PASS    progressive_rollout" in passed.stdout
    assert file.read_bytes() == before.replace(OLD_LINE.encode(), NEW_LINE.encode())
    (record,) = [json.loads(line) for line in (tmp_path / "releases.jsonl").read_text().splitlines()]
    assert [(g["name"], g["status"]) for g in record["gates"]] == [("model_approved", "pass"),
                                                                    ("progressive_rollout", "pass")]


@pytest.mark.parametrize("case", ["v14-missing", "no-model", "no-digest", "unreachable"])
def test_an_unmappable_dev_version_is_exit_1_and_leaves_the_file_byte_identical(tmp_path, mlflow_url, moto_url,
                                                                                monkeypatch, case):
    register_staging(moto_url, monkeypatch)
    url = mlflow_url
    if case == "v14-missing":
        register_dev(mlflow_url, range(1, 14))
        message = (f"fraud-model v14, which dev pins, is not in MLflow registered model {MODEL} at {mlflow_url}; "
                   "register it there or pin a version that exists")
    elif case == "no-model":  # dev's MLflow has never registered fraud-model: an empty search, not an error
        message = (f"fraud-model v14, which dev pins, is not in MLflow registered model {MODEL} at {mlflow_url}; "
                   "register it there or pin a version that exists")
    elif case == "no-digest":
        register_dev(mlflow_url, digests={12: DIGEST_V12, 13: DIGEST_V13})
        message = (f"fraud-model v14 in MLflow registered model {MODEL} at {mlflow_url} carries no artifact digest"
                   ", so it cannot be recognised in another registry; record it")
    else:
        from tests.support.prometheus import free_port

        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        message = f"cannot reach MLflow to read the versions of {MODEL}"
    file = copy_reference(tmp_path)
    before = file.read_bytes()
    result = run_cli(*args(file, url, "--write"))
    assert result.code == 1, result.output
    assert message in result.stderr.replace("\n", " ") or message in result.stderr, result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()


def test_the_reader_pages_through_versions_with_page_token(mlflow_url, monkeypatch):
    """SearchModelVersions returns at most ``max_results`` versions and a ``next_page_token`` while more
    remain; the reader follows it to the last page."""
    register_dev(mlflow_url)
    from mlops_infra.spec import load_system
    from tests.support.promotion import REFERENCE

    system = load_system(REFERENCE, "dev").system
    pages: list[str] = []
    from mlops_infra.state import mlflow_registry  # where the reader lives

    real_call = mlflow_registry.mlflow_call

    def counting(url: str, **kwargs):
        pages.append(url)
        return real_call(url, **kwargs)

    monkeypatch.setattr(mlflow_registry, "MLFLOW_PAGE_SIZE", 5)
    monkeypatch.setattr(mlflow_registry, "mlflow_call", counting)
    view = registries.read_mlflow(system, mlflow_url)
    registry = view.models[MODEL]
    assert sorted(registry.versions) == list(range(1, 15)) and len(pages) == 3
    assert "page_token=" not in pages[0] and all("page_token=" in p for p in pages[1:])
    assert {n: r.digest for n, r in registry.versions.items() if r.digest} == DIGESTS
    assert registry.versions[14].approval == "Approved" and registry.versions[13].approval == "PendingManualApproval"
    assert registry.versions[14].artifact_uri == f"{DEV_MODELS}14/"


def test_dev_to_staging_artifact_steps_copy_from_dev_store_and_register_in_staging(tmp_path, mlflow_url, moto_url,
                                                                                   monkeypatch):
    """``--execute-artifacts`` from dev (Kubernetes: the artifact in dev's models bucket, here an S3 bucket of
    moto's default account, read with the default credentials) into staging (account 111111111111 through the
    role): the copy, the registration as staging's v3 with the digest, and a rerun that has nothing left to do.
    dev's v14 carries the real digest of its files (the runtime's ``artifact_digest``): the copy verifies it."""
    import boto3

    files = {"config.json": b'{"model": "fraud"}', "model.safetensors": bytes(range(256)) * 64}
    digest = digest_of(files)
    register_dev(mlflow_url, digests={**DIGESTS, 14: digest})
    sm = register_staging(moto_url, monkeypatch)
    dev_s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    dev_bucket, prefix = DEV_MODELS.removeprefix("s3://").split("/", 1)
    dev_s3.create_bucket(Bucket=dev_bucket)
    for name, body in files.items():
        dev_s3.put_object(Bucket=dev_bucket, Key=f"{prefix}14/{name}", Body=body)
    staging = assumed_session(moto_url, STAGING_ROLE, "us-east-1")
    staging.client("s3", endpoint_url=moto_url).create_bucket(Bucket=STAGING_BUCKET)
    file = copy_reference(tmp_path)
    before = file.read_bytes()

    done = run_cli(*args(file, mlflow_url, "--execute-artifacts"))
    assert done.code == 0, done.output
    destination = f"{STAGING_MODELS}promoted/{MODEL}/{digest[7:23]}/"
    assert (f"[done] copy {MODEL} {digest[:19]} {DEV_MODELS}14/ -> {destination}: 2 of 2 object(s) copied, 0 already "
            "there; digest verified") in done.stdout
    arn = f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{STAGING_GROUP}/3"
    assert f"registered as v3 ({arn})" in done.stdout
    s3 = staging.client("s3", endpoint_url=moto_url)
    key_prefix = destination.removeprefix(f"s3://{STAGING_BUCKET}/")
    copied = {o["Key"].removeprefix(key_prefix): s3.get_object(Bucket=STAGING_BUCKET, Key=o["Key"])["Body"].read()
              for o in s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix=key_prefix)["Contents"]}
    assert copied == files
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"]["mlops-infra/artifact-digest"] == digest
    assert package["CustomerMetadataProperties"]["mlops-infra/promoted-from"] == "dev v14"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # fraud-model's approval is manual
    container = package["InferenceSpecification"]["Containers"][0]  # dev's folder, uncompressed (test_model_data)
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": destination, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}
    assert "ModelDataUrl" not in container
    assert file.read_bytes() == before  # the artifact steps never edit FILE

    again = run_cli(*args(file, mlflow_url, "--execute-artifacts"))
    assert again.code == 0, again.output
    assert "No artifact steps: staging's registry already holds every artifact dev serves." in again.stdout
    written = run_cli(*args(file, mlflow_url, "--write"))
    assert written.code == 0, written.output
    assert f"scorer: {MODEL} v14 in dev = v3 in staging, {digest}; approval in dev: Approved\n" in written.stdout
    assert file.read_bytes() == before.replace(OLD_LINE.encode(), NEW_LINE.encode())
