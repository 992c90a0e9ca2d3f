"""``promote --execute-artifacts`` says "Run the same command again to resume" only when running it again can
finish what failed.

A refused run (nothing is run while a step is refused: ``artifacts._refusals``) used to end with the resume hint
too, though running the same command again refuses the same way; its steps say what to do first. An error in the
middle of a copy (a lost connection) is what a rerun finishes: finished steps and whole copies are skipped
(``ArtifactStep.resumable``).
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.promote.artifacts import ArtifactStep, execute_steps
from tests.support.cli import run_cli
from tests.support.promotion import PROD_SERVING_IMAGE, promoted_to_staging

RESUME = "Run the same command again to resume"


def test_a_refused_run_does_not_say_resume(tmp_path: Path, monkeypatch) -> None:
    """prod without its serving image override: the job's us-east-1 image is refused in eu-west-1 (and staging's
    saved read names no artifact URI): nothing runs, so nothing is resumed. No AWS call is made."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    file, registries = promoted_to_staging(tmp_path)
    text = file.read_text(encoding="utf-8")
    override = f"      models.fraud-model.serving_image: {PROD_SERVING_IMAGE}\n"
    assert override in text
    file.write_text(text.replace(override, ""), encoding="utf-8")
    result = run_cli("promote", str(file), "--to", "prod", *registries, "--execute-artifacts")
    assert result.code == 1, result.output
    assert "only s3:// artifact URIs are copied" in result.output and "is an ECR image of us-east-1" in result.output
    assert RESUME not in result.output
    assert "Running the same command again as it is fails the same way: do what each step says first." in result.stderr
    assert "Traceback" not in result.output


class _LostConnection:
    """A session whose S3 listing fails as a dropped connection does, and whose group exists."""

    def client(self, service: str, **_: object) -> object:
        return self

    def describe_model_package_group(self, **_: object) -> dict:
        return {}

    def get_paginator(self, _: str) -> object:
        return self

    def paginate(self, **_: object) -> object:
        raise ConnectionResetError("Connection reset by peer")


def test_an_error_in_the_middle_of_a_copy_is_resumable() -> None:
    copy = ArtifactStep("copy-artifact", "m", "sha256:" + "1" * 64, 1, "s3://src/m/1/model", "s3://dst/promoted/m/")
    register = ArtifactStep("register-version", "m", copy.digest, 1, "s3://dst/promoted/m/", "group g",
                            {"group": "g", "region": "eu-west-1", "image": PROD_SERVING_IMAGE})
    session = _LostConnection()
    failed, after = execute_steps((copy, register), src_session=session, dst_session=session)
    assert failed.status == "failed" and "Connection reset by peer" in failed.outcome and failed.resumable
    assert after.status == "failed" and not after.resumable  # not run: the copy before it failed
    assert "resumable" not in failed.to_json()


def test_a_403_of_the_copy_is_not_resumable() -> None:
    """Audit finding closing-37a-3: S3 answers a bucket owner mismatch (and a missing permission) with 403
    AccessDenied on every rerun until IAM or the bucket changes; the run used to end with the resume hint all the
    same. Its step says what to check first, and the last line says a rerun fails the same way."""
    import boto3
    from botocore.stub import Stubber

    from mlops_infra.cli.commands.promote import _after

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    src = session.client("s3")
    step = ArtifactStep("copy-artifact", "fraud-model", "sha256:" + "14" * 32, 1, "s3://fix37a-src-models/m/",
                        "s3://fix37a-dst-models/promoted/",
                        {"from": "staging v3", "sourceOwner": "111111111111", "destinationOwner": "222222222222"})
    with Stubber(src) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403, expected_params={
            "Bucket": "fix37a-src-models", "Prefix": "m/", "ExpectedBucketOwner": "111111111111"})
        (result,) = execute_steps([step], src_session=session, dst_session=session, src_s3=src)
    assert result.status == "failed" and "AccessDenied" in result.outcome
    assert not result.resumable
    assert _after([result]) == "Running the same command again as it is fails the same way: do what each step says first."


def test_throttling_and_5xx_are_resumable() -> None:
    """A throttled or 5xx answer (botocore's standard retry mode's transient and throttled errors, after its own
    retries) is what a rerun gets past."""
    from botocore.exceptions import ClientError, ReadTimeoutError

    from mlops_infra.promote.artifacts import _transient

    def answer(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                           "CopyObject")

    assert _transient(answer("SlowDown", 503)) and _transient(answer("InternalError", 500))
    assert _transient(answer("ThrottlingException", 400)) and _transient(ReadTimeoutError(endpoint_url="https://s3"))
    assert not _transient(answer("AccessDenied", 403)) and not _transient(answer("ValidationException", 400))
