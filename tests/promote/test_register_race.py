"""Two ``promote --execute-artifacts`` into one DST at once (two CI jobs, a retry beside the original):
the digest ends registered once (audit finding concurrency-8). The concurrent run is simulated at the
exact point of the race: its ``CreateModelPackage`` (same call, same parameters) lands between this
run's look and its own create, or right after its create. Real moto server (tests/promote/test_artifacts)."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.model_versions import DIGEST_PROPERTY
from mlops_infra.promote import artifacts
from tests.promote.test_artifacts import accounts, prod_state, roles  # noqa: F401 (the fixture)
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import PROD_GROUP, promoted_to_staging

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]
ARN = f"arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/"


class _Racing:
    """DST's SageMaker client, with another run's CreateModelPackage landing ``when`` ("before" or
    "after") this run's; ``refuse_delete``: DeleteModelPackage answers AccessDenied."""

    def __init__(self, real: Any, when: str, refuse_delete: bool) -> None:
        self._real, self._when, self._refuse_delete = real, when, refuse_delete

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def create_model_package(self, **call: Any) -> Any:
        if self._when == "before":
            self._real.create_model_package(**call)
        mine = self._real.create_model_package(**call)
        if self._when == "after":
            self._real.create_model_package(**call)
        return mine

    def delete_model_package(self, **call: Any) -> Any:
        if self._refuse_delete:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform: "
                                         "sagemaker:DeleteModelPackage"}}, "DeleteModelPackage")
        return self._real.delete_model_package(**call)


def _race(monkeypatch: pytest.MonkeyPatch, when: str, refuse_delete: bool = False) -> None:
    real_client = artifacts.client

    def client(session: Any, service: str, *args: Any) -> Any:
        made = real_client(session, service, *args)
        return _Racing(made, when, refuse_delete) if service == "sagemaker" else made

    monkeypatch.setattr(artifacts, "client", client)


def _digests(accounts: dict) -> list[tuple[str, str]]:  # noqa: F811
    sm = accounts["prod"].client("sagemaker", endpoint_url=accounts["url"])
    return [(arn.rsplit("/", 1)[-1], sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
             [DIGEST_PROPERTY]) for arn in prod_state(accounts)[1]]


def test_a_run_that_created_after_a_concurrent_one_deletes_its_duplicate(tmp_path, accounts, monkeypatch):  # noqa: F811
    file, _ = promoted_to_staging(tmp_path)
    _race(monkeypatch, "before")
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 0, result.output
    assert (f"[already-done] register fraud-model {accounts['digest'][:19]}" in result.stdout
            and f"already registered (a concurrent run registered it first; this run's duplicate {ARN}2 was deleted) "
                f"as v1 ({ARN}1)" in result.stdout), result.stdout
    assert _digests(accounts) == [("1", accounts["digest"])]


def test_a_run_that_created_first_keeps_its_package_and_leaves_the_later_one_to_its_run(tmp_path, accounts,  # noqa: F811
                                                                                        monkeypatch):
    file, _ = promoted_to_staging(tmp_path)
    _race(monkeypatch, "after")
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 0, result.output
    assert f"registered as v1 ({ARN}1)" in result.stdout and "concurrent" not in result.stdout
    assert _digests(accounts) == [("1", accounts["digest"]), ("2", accounts["digest"])]  # v2 is the other run's


def test_a_duplicate_that_cannot_be_deleted_is_named_and_the_step_fails(tmp_path, accounts, monkeypatch):  # noqa: F811
    file, _ = promoted_to_staging(tmp_path)
    _race(monkeypatch, "before", refuse_delete=True)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 1
    assert (f"registered as {ARN}2, but a concurrent run registered this digest first as {ARN}1: {ARN}2 is a "
            "duplicate this run could not delete (") in result.stdout, result.stdout
    assert "delete it (DeleteModelPackage) so nobody approves it, then run the artifact steps again" in result.stdout
    assert len(_digests(accounts)) == 2
