"""AWS account quotas an environment's graph alone would pass: one plan warning each, before apply.

A spec can be valid and every resource well-formed, and still not fit the AWS account: an account
holds at most so many IAM roles, SageMaker pipelines, scalable targets and EventBridge rules.
``pulumi up`` then stops partway, at the resource that passes the
quota, with the stack half applied. The plan says so first.

Contract:
- :func:`quota_warnings` is pure: a desired graph in, one warning per quota of :data:`QUOTAS` that
  the graph's own resources exceed, in :data:`QUOTAS` order. It counts what the graph declares, not
  what the account already holds (other stacks' roles count too, so a warning is a lower bound of
  the problem, and no warning does not prove the account has room).
- The number compared is the default a new account gets (each source below), since the plan cannot
  see the account's raised quotas without reading them: the warning says to check them (Service
  Quotas console or ``aws service-quotas get-service-quota``). Where a quota cannot be raised past a
  maximum and the graph passes that too, the warning says the system must be split.
- Only AWS graphs (``metadata["cloud"] == "aws"``) are checked; the region is read from the
  graph's metadata where a quota differs by region.

Quotas (for a new account, per account and Region unless said):
- IAM roles: 1,000 per account (IAM is global), adjustable up to 5,000 (IAM User Guide, "IAM and
  AWS STS quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
- SageMaker pipelines: 500 per account ("Maximum number of pipelines allowed per account - 500",
  SageMaker Developer Guide, "Feature Processor constraints, limits and quotas",
  https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html,
  the page that lists the Pipelines quota).
- Application Auto Scaling scalable targets for SageMaker: 500 per resource type, adjustable
  ("Application Auto Scaling quotas",
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html).
- EventBridge rules on an event bus: 300, adjustable; 100 in af-south-1 and eu-south-1 ("Amazon
  EventBridge quotas", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
  Rules without ``eventBusName`` are on the default bus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph, DesiredResource


class _Resources:
    """The graph's resources by type, found in one pass (each quota reads one or two types)."""

    def __init__(self, graph: DesiredGraph) -> None:
        self.by_type: dict[str, list[DesiredResource]] = {}
        for resource in graph.resources:
            self.by_type.setdefault(resource.type, []).append(resource)

    def of(self, type_: str) -> list[DesiredResource]:
        return self.by_type.get(type_, [])


@dataclass(frozen=True)
class Quota:
    """One account quota: what it counts (``count`` of the graph's resources), its default for a new
    account in a region, the most it can be raised to (None: no stated maximum), the words for the
    count (``what``) and its ``source``."""

    what: str
    count: Callable[[_Resources], int]
    default: Callable[[str], int]
    maximum: int | None
    source: str
    regional: bool = True
    """False for a quota of the whole account (IAM's)."""


def _of_type(type_: str) -> Callable[[_Resources], int]:
    return lambda resources: len(resources.of(type_))


def _rules_on_default_bus(resources: _Resources) -> int:
    return sum(r.inputs.get("eventBusName") in (None, "default")
               for r in resources.of("aws:cloudwatch/eventRule:EventRule"))


QUOTAS: tuple[Quota, ...] = (
    Quota("IAM roles", _of_type("aws:iam/role:Role"), lambda region: 1_000, 5_000,
          'IAM User Guide, "IAM and AWS STS quotas": roles in an AWS account', regional=False),
    Quota("SageMaker pipelines", _of_type("aws:sagemaker/pipeline:Pipeline"), lambda region: 500, None,
          'SageMaker Developer Guide, "Feature Processor constraints, limits and quotas": maximum number of '
          "pipelines allowed per account"),
    Quota("Application Auto Scaling scalable targets for SageMaker", _of_type("aws:appautoscaling/target:Target"),
          lambda region: 500, None, '"Application Auto Scaling quotas": scalable targets per resource type'),
    Quota("EventBridge rules on the default event bus", _rules_on_default_bus,
          lambda region: 100 if region in ("af-south-1", "eu-south-1") else 300, None,
          '"Amazon EventBridge quotas": rules per event bus'),
)
"""The quotas checked, in the order their warnings are given (module contract)."""


def quota_warnings(graph: DesiredGraph) -> list[str]:
    """One warning per quota of :data:`QUOTAS` the graph's own resources exceed (module contract)."""
    metadata: dict[str, Any] = graph.metadata
    if metadata.get("cloud") != "aws":
        return []
    region = str(metadata.get("region") or "")
    resources = _Resources(graph)
    out = []
    for quota in QUOTAS:
        needed, default = quota.count(resources), quota.default(region)
        if needed <= default:
            continue
        account = f"account {metadata.get('account')}" if metadata.get("account") else "the account"
        where = f"{account} in {region}" if quota.regional and region else account
        head = (f"AWS quota: this environment alone needs {needed:,} {quota.what}; a new AWS account allows "
                f"{default:,} ({quota.source}).")
        if quota.maximum is not None and needed > quota.maximum:
            out.append(f"{head} That is more than the {quota.maximum:,} it can be raised to: `pulumi up` will "
                       f"fail; split the system across accounts.")
        else:
            raised = f" (it can be raised to {quota.maximum:,})" if quota.maximum is not None else ""
            out.append(f"{head} Unless the quota of {where} was raised{raised}, `pulumi up` fails partway: check "
                       "it in Service Quotas and request an increase first.")
    return out

