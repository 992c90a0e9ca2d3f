"""The registry read of ``plan --refresh`` and ``apply`` refuses credentials of another account than the
environment's before reading (stop 41's noticed-and-left "Environments", left43a), with the live scan's words
(``state/aws_live/model_registry.check_account``; ``state/aws_live/account.wrong_account``).

Before, ``read_registry`` ran with whatever credentials the default chain gave. The live scan asks STS first
(audit envs-7), but ``apply`` reads the registry without a scan, and ``plan --refresh`` reads it before the
scan, which asks only when the prior state holds resources: with a staging profile left in ``AWS_PROFILE``,
prod's model package group read as missing in the other account ("does not exist yet") and the plan decided its
endpoints' versions from that. On the session's moto server the test keys are moto's default account
123456789012; the reference's prod is 222222222222 (eu-west-1), whose credentials come from STS ``AssumeRole``
(tests/support/moto_accounts.py). ``GetCallerIdentity`` needs no permission (botocore ``sts/2011-06-15``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import load_system
from mlops_infra.state.aws_live.account import WrongAccount
from mlops_infra.state.aws_live.model_registry import read_registry
from mlops_infra.state.model import PriorState
from tests.support import fixtures
from tests.support.cli import assert_clear_error, run_cli
from tests.support.moto_accounts import recording_session, use_account

pytestmark = pytest.mark.moto
moto_server, moto_url, default_keys = fixtures.moto_server, fixtures.moto_url, fixtures.default_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
WRONG = ("live AWS reads in environment 'prod' (eu-west-1): these AWS credentials are for account 123456789012; "
         "environment prod is in account 222222222222")
"""The scan's summary (tests/state/test_aws_live_account.py): one refusal, whichever read asks first."""



def test_the_read_asks_sts_before_any_registry_call(default_keys: str) -> None:
    system = load_system(EXAMPLE, "prod").system
    calls: list[str] = []
    session = recording_session(calls)

    with pytest.raises(WrongAccount) as raised:
        read_registry(system, "prod", PriorState.empty(), session_factory=session, endpoint_url=default_keys,
                      account="222222222222")
    assert raised.value.summary == WRONG and (raised.value.caller, raised.value.account) == ("123456789012",
                                                                                            "222222222222")
    assert "Nothing was read: prod's model package groups are in account 222222222222" in raised.value.detail
    assert calls == ["GetCallerIdentity"]
    # without an account (the Pulumi program's read, promote's after its own check) nothing is asked
    calls.clear()
    read_registry(system, "prod", PriorState.empty(), session_factory=session, endpoint_url=default_keys, live=False)
    assert "GetCallerIdentity" not in calls and "DescribeModelPackageGroup" in calls


@pytest.mark.parametrize("command", [("plan", "--refresh"), ("apply",)], ids=["plan-refresh", "apply"])
def test_a_first_plan_refresh_and_apply_with_another_accounts_credentials_are_refused(
        default_keys: str, command: tuple[str, ...]) -> None:
    """No prior state: the scan has nothing to read, so only the registry read can ask."""
    result = run_cli(command[0], str(EXAMPLE), "--env", "prod", *command[1:])
    assert_clear_error(result, WRONG, "Set AWS_PROFILE to a profile of account 222222222222",
                       "Nothing was read: prod's model package groups are in account 222222222222")
    assert result.stdout == "", result.stdout  # no plan shown: nothing was decided from the other account


def test_the_environments_own_credentials_read_its_registry(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_account(moto_url, "222222222222", monkeypatch)
    system = load_system(EXAMPLE, "prod").system
    view = read_registry(system, "prod", PriorState.empty(), endpoint_url=moto_url, account="222222222222",
                         live=False)
    assert view.warnings == () and view.models["fraud-model"].basis == "registry"
