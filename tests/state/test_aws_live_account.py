"""Live AWS reads of an environment with another account's credentials are refused before any read (audit
envs-7; ``state/aws_live/account.py``, ``scan_aws(account=...)``). Before, ``plan --refresh`` read the other
account and reported every resource of the environment ``[deleted]`` ("a deleted resource is created
again"), and promote's ``no_drift`` gate failed on that same false drift.

The reference's (examples/fraud-detection) prod is account 222222222222 (eu-west-1), staging 111111111111; on
the moto server the test keys are moto's default account, 123456789012, and credentials of another account come
from STS ``AssumeRole`` (tests/support/moto_accounts.py). ``GetCallerIdentity`` needs no permission (botocore
``sts/2011-06-15``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from mlops_infra.state.aws_live import scan_aws
from mlops_infra.state.aws_live.account import WrongAccount
from mlops_infra.state.pulumi_state import parse_state
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import assert_clear_error, run_cli
from tests.support.moto_accounts import recording_session, use_account
from tests.support.promotion import promoted_to_staging

pytestmark = pytest.mark.moto
moto_server, moto_url, default_keys = fixtures.moto_server, fixtures.moto_url, fixtures.default_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
WRONG = ("live AWS reads in environment 'prod' (eu-west-1): these AWS credentials are for account 123456789012; "
         "environment prod is in account 222222222222")


def _s3_state(tmp_path: Path, env: str = "prod", spec: Path = EXAMPLE) -> Path:
    """``env``'s applied state, its S3 side only (the wiring, without every moto backend)."""
    checkpoint = applied_state(compile_system(load_system(spec, env).system, env))
    latest = checkpoint["checkpoint"]["latest"]
    latest["resources"] = [r for r in latest["resources"]
                           if not r.get("custom") or r["type"].startswith(("pulumi:providers:", "aws:s3/"))]
    path = tmp_path / f"state-{env}.json"
    path.write_text(dumps(checkpoint))
    return path



def test_plan_refresh_with_another_accounts_credentials_is_refused_naming_both(default_keys, tmp_path):
    state = _s3_state(tmp_path)
    result = run_cli("plan", str(EXAMPLE), "--env", "prod", "--state", str(state), "--refresh")
    assert_clear_error(result, WRONG, "Set AWS_PROFILE to a profile of account 222222222222",
                       "aws sts get-caller-identity", "Nothing was read")
    assert "[deleted]" not in result.output and "Drift:" not in result.output


def test_plan_refresh_with_the_environments_account_reads_it(moto_url, monkeypatch, tmp_path):
    state = _s3_state(tmp_path)
    use_account(moto_url, "222222222222", monkeypatch)
    result = run_cli("plan", str(EXAMPLE), "--env", "prod", "--state", str(state), "--refresh", "--format", "json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["refreshed"] is True and "these AWS credentials" not in result.output


def test_the_scan_asks_before_any_read(default_keys):
    """``scan_aws(account=...)`` raises before a single resource read: the only call is STS's."""
    graph = compile_system(load_system(EXAMPLE, "prod").system, "prod")
    prior = parse_state(dumps(applied_state(graph)).encode(), "prod")
    calls: list[str] = []
    session = recording_session(calls)

    with pytest.raises(WrongAccount) as raised:
        scan_aws(list(prior.resources.values()), region="eu-west-1", endpoint_url=default_keys,
                 session_factory=session, account="222222222222", environment="prod")
    assert raised.value.summary == WRONG and (raised.value.caller, raised.value.account) == ("123456789012",
                                                                                            "222222222222")
    assert calls == ["GetCallerIdentity"]


def test_promote_no_drift_says_the_credentials_are_another_accounts(default_keys, tmp_path):
    """staging -> prod: staging (111111111111) read with moto's default account fails ``no_drift`` for that
    reason, with the fix, not on every staging resource "deleted"."""
    file, registries = promoted_to_staging(tmp_path)
    state = _s3_state(tmp_path, "staging", file)
    result = run_cli("promote", str(file), "--to", "prod", "--src-state", str(state), *registries)
    assert result.code == 1, result.output
    no_drift = next(line for line in result.stdout.splitlines() if "no_drift:" in line)
    assert ("these AWS credentials are for account 123456789012; environment staging is in account 111111111111"
            in no_drift), no_drift
    assert "AWS_PROFILE set to a profile of account 111111111111" in no_drift
    assert "[deleted]" not in result.stdout and "resources changed outside" not in result.stdout
