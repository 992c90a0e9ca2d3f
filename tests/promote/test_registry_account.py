"""Promote's registry read refuses credentials of another account than the environment's (stop 41's
noticed-and-left; ``promote/registries.py`` ``check_account``), as the live scan and the ``no_drift`` gate do
(audit envs-7, ``state/aws_live/account.py``).

Before, ``read_registry`` ran with whatever credentials the default chain (or ``--role ENV=ARN``) gave: with
another account's, prod's model package group read as missing there ("no versions"), and the promotion's DST
writes go where that read went. On the moto server (tests/support/moto_accounts.py) the test keys are moto's
default account 123456789012; the reference's prod is 222222222222 (eu-west-1), whose credentials come from
STS ``AssumeRole``. ``GetCallerIdentity`` needs no permission (botocore ``sts/2011-06-15``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import fixtures
from tests.support.cli import assert_clear_error, run_cli
from tests.support.moto_accounts import use_account
from tests.support.promotion import promoted_to_staging

pytestmark = pytest.mark.moto
moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

WRONG = ("reading the model registry in environment 'prod' (eu-west-1): these AWS credentials are for account "
         "123456789012; environment prod is in account 222222222222")


def _prod_reads_aws(tmp_path: Path) -> tuple[Path, list[str]]:
    """staging -> prod with staging's registry saved and prod's read from AWS (no ``--registry prod=``)."""
    file, registries = promoted_to_staging(tmp_path)
    assert registries[:2] == ["--registry", f"staging={tmp_path / 'registry-staging.json'}"]
    return file, registries[:2]


def test_promote_reading_prod_with_another_accounts_credentials_is_refused_at_its_account_line(
        moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    file, registries = _prod_reads_aws(tmp_path)
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "prod", *registries)
    line = next(i for i, text in enumerate(file.read_text().splitlines(), 1) if 'account: "222222222222"' in text)
    assert_clear_error(result, WRONG, "Set AWS_PROFILE to a profile of account 222222222222",
                       "Nothing was read or written",
                       "--role prod=<a role ARN of account 222222222222> gives credentials of that account too")
    assert f"{file}:{line}:" in result.stderr, result.stderr
    assert file.read_bytes() == before


def test_promote_reading_prod_with_prods_credentials_passes_the_check(
        moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_account(moto_url, "222222222222", monkeypatch)
    file, registries = _prod_reads_aws(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *registries)
    assert "these AWS credentials" not in result.output, result.output
    assert "Traceback" not in result.output
