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
