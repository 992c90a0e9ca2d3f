"""The explicit AWS provider every AWS resource of the stack uses.

Contract: one ``pulumi:providers:aws`` resource named ``aws`` at the top level (no parent), with
``region``, ``allowedAccountIds`` (so an apply with credentials for another account fails before
touching anything), ``defaultTags`` (the system's tags) and ``ignoreTags`` (:func:`ignore_tags`).
Inputs are JSON as compiled; the Pulumi state stores some provider inputs as strings, which the
planner normalises.

``ignoreTags`` names the tags the rollout controller keeps on an endpoint
(``mlops_infra/endpoint_tags.py``). The provider reads all of a resource's tags on refresh, so
without it the controller's tags would enter the state, and the next update of the endpoint's tags
would delete them, mid-rollout included. Tags matching it are neither reported as a difference nor
removed: pulumi-aws ``ProviderIgnoreTagsArgs`` (``keyPrefixes``, ``keys``: "Resource tag key
prefixes/keys to ignore across all resources"), Terraform's provider ``ignore_tags`` block
(terraform-provider-aws, guide "Resource Tagging", "Ignoring Changes in All Resources").
"""

from __future__ import annotations

from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.endpoint_tags import SCALING_TAG, TAG_PREFIXES

PROVIDER = "pulumi:providers:aws"


def ignore_tags() -> dict[str, list[str]]:
    """The provider's ``ignoreTags`` (engine names, as ``defaultTags``): the rollout controller's tags."""
    return {"keyPrefixes": list(TAG_PREFIXES), "keys": [SCALING_TAG]}


def add_provider(aws: AwsContext) -> str:
    """Add the provider and return its URN."""
    return aws.ctx.builder.add(PROVIDER, "aws", {
        "region": aws.region,
        "allowedAccountIds": [aws.account],
        "defaultTags": {"tags": aws.ctx.tags()},
        "ignoreTags": ignore_tags(),
    }, address="platform", role="provider")
