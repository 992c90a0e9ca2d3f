"""Credentials of a chosen account on a moto server, as the CLI's default credential chain reads them.

moto keys every resource by the account of the credentials that made it, and its STS answers
``AssumeRole`` with credentials of the role's account (``GetCallerIdentity`` then names that account);
the plain test keys (``testing``) are moto's default account, 123456789012. :func:`use_account` assumes
a role of ``account`` and puts its credentials in the process's ``AWS_*`` variables (with
``AWS_ENDPOINT_URL`` at the server): what ``mlops-infra rollout`` finds when the operator's profile is of
that account. :func:`account_client` is a client with those same credentials, for seeding and reading
back what the command saw.
"""

from __future__ import annotations

from typing import Any

from tests.support.promotion import assumed_session


def use_account(url: str, account: str, monkeypatch: Any, region: str = "eu-west-1") -> None:
    """Set ``AWS_ENDPOINT_URL`` to ``url`` and the ``AWS_*`` credential variables to a role of ``account``."""
    session = assumed_session(url, f"arn:aws:iam::{account}:role/operator", region)
    found = session.get_credentials().get_frozen_credentials()
    for name, value in (("AWS_ENDPOINT_URL", url), ("AWS_ACCESS_KEY_ID", found.access_key),
                        ("AWS_SECRET_ACCESS_KEY", found.secret_key), ("AWS_SESSION_TOKEN", found.token)):
        monkeypatch.setenv(name, value)


def account_client(service: str, url: str, region: str = "eu-west-1") -> Any:
    """A boto3 client for the moto server at ``url`` with the process's ``AWS_*`` credentials as they are now
    (those :func:`use_account` set), no retries. A new session each time: ``boto3.client`` would reuse boto3's
    default session, whose credentials are those of the first call (another test's account)."""
    import boto3
    from botocore.config import Config

    return boto3.Session().client(service, endpoint_url=url, region_name=region,
                                  config=Config(retries={"max_attempts": 1}))


def caller_is(monkeypatch: Any, account: str) -> None:
    """Have an in-process ``mlops-infra rollout``, ``plan --refresh`` or ``promote`` (``tests/support/cli.run_cli``)
    take the credentials in use for ``account``'s (``state/aws_live/account.py`` ``caller_account``, which
    ``rollout/connect.py`` and the live scan ask, answers it; every other call is moto's).
    Only for a world seeded with moto's test keys (account 123456789012) through helpers that cannot take
    another account's credentials, under a document whose environment names another account, in a test
    about something else: the account check itself is tested on moto's real accounts
    (tests/cli/test_rollout_account.py, tests/state/test_aws_live_account.py)."""
    from mlops_infra.state.aws_live import account as accounts

    monkeypatch.setattr(accounts, "caller_account", lambda sts: account)


def recording_session(calls: list[str]) -> Any:
    """A session factory (``session_factory=`` of the live reads) whose sessions append each API operation's name
    to ``calls`` before it is sent (botocore's ``before-call`` event): what a read asked, in order."""

    def session() -> Any:
        import boto3

        made = boto3.Session()
        made.events.register("before-call", lambda model, **_: calls.append(model.name))
        return made

    return session
