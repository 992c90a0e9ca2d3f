"""The explicit AWS provider every AWS resource of the stack uses.

Contract: one ``pulumi:providers:aws`` resource named ``aws`` at the top level (no parent), with
``region``, ``allowedAccountIds`` (so an apply with credentials for another account fails before
touching anything) and ``defaultTags`` (the system's tags). Inputs are JSON as compiled; the Pulumi
state stores some provider inputs as strings, which the planner normalises.
"""

from __future__ import annotations

from mlops_infra.compile.aws.context import AwsContext

PROVIDER = "pulumi:providers:aws"


def add_provider(aws: AwsContext) -> str:
    """Add the provider and return its URN."""
    return aws.ctx.builder.add(PROVIDER, "aws", {
        "region": aws.region,
        "allowedAccountIds": [aws.account],
        "defaultTags": {"tags": aws.ctx.tags()},
    }, address="platform", role="provider")
