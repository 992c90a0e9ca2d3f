"""Whose AWS account a set of credentials is: the check every live read of an environment makes first.

Contract:
- :func:`caller_account`: the account of the credentials a boto3 STS client signs with
  (``GetCallerIdentity``'s ``Account``). botocore ``sts/2011-06-15`` ``GetCallerIdentity``: "No permissions
  are required to perform this operation", so any valid credentials can make it, whatever their role allows.
- :func:`wrong_account`: the :class:`~mlops_infra.errors.UserError` for credentials of another account than
  the environment's (``target.account``, a graph's ``metadata.account``), naming both accounts and the fix;
  ``doing`` says what was refused ("rollout of 'scorer'", "refresh"), ``nothing`` what was therefore not done.

Why every live read of an environment asks: AWS resources are per account (and Region), and ``apply`` only
ever deploys into the environment's account (the compiled provider's ``allowedAccountIds``,
``compile/aws/provider.py``: Pulumi refuses other credentials). Read with another account's credentials (a
staging profile left in ``AWS_PROFILE``), every resource of the environment reads "not found": a refresh
would report all of them deleted (audit envs-7), a rollout would blame a missing apply (closing-39a-3).
Users: :func:`mlops_infra.state.aws_live.scan.scan_aws` (``account=``; ``plan --refresh`` and promote's
``no_drift`` gate) and :func:`mlops_infra.rollout.connect.connect`.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.errors import UserError


def caller_account(sts: Any) -> str:
    """The account of the credentials ``sts`` (a boto3 STS client) signs with: ``GetCallerIdentity``'s
    ``Account`` (no permission needed; missing or refused credentials fail here as they would on the first
    read, and the caller's error handling says so)."""
    return str(sts.get_caller_identity()["Account"])


class WrongAccount(UserError):
    """Credentials of ``caller``'s account where ``account``'s were needed (a :class:`UserError`: exit 1)."""

    def __init__(self, summary: str, detail: str, *, caller: str, account: str, source: str | None = None) -> None:
        super().__init__(summary, detail, source=source)
        self.caller, self.account = caller, account


def wrong_account(caller: str, account: str, env: str, region: str, *, doing: str, nothing: str,
                  source: str | None = None) -> WrongAccount:
    """The error for credentials of account ``caller`` used on environment ``env`` of account ``account``:
    both accounts in the summary, and how to use the right credentials."""
    return WrongAccount(
        f"{doing} in environment {env!r} ({region}): these AWS credentials are for account {caller}; "
        f"environment {env} is in account {account}",
        f"{nothing} Set AWS_PROFILE to a profile of account {account} (`aws configure list-profiles`; "
        "`aws sts get-caller-identity` shows the account of the credentials in use), then run the command again.",
        caller=caller, account=account, source=source)
