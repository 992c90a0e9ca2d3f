"""``apply`` refuses a region move that would create an IAM role name still taken in the old region, and says it is
that, not a protected delete (``cli/commands/apply.refuse_blocked_changes``; ``plan/global_names.py``; audit
xregion-4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.cli.commands.apply import refuse_blocked_changes
from mlops_infra.errors import UserError
from mlops_infra.graph import GraphBuilder
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.model import PriorState, StateResource

P, S = "fraud", "prod"
ROLE, PROVIDER, BUCKET = "aws:iam/role:Role", "pulumi:providers:aws", "aws:s3/bucket:Bucket"


def _moved(*, protect_bucket: bool):
    """A role (and a bucket) applied in us-east-1, now desired in eu-west-1."""
    b = GraphBuilder(P, S)
    provider = b.add(PROVIDER, "aws", {"region": "eu-west-1"}, address="platform", role="provider")
    role = b.add(ROLE, "runner", {"name": "fraud-prod-runner", "assumeRolePolicy": "{}"}, provider=provider,
                 address="platform", role="role")
    bucket = b.add(BUCKET, "data", {"bucket": "fraud-prod-data"}, provider=provider, address="data_sources.data",
                   role="bucket")
    graph = b.build()
    records = [
        StateResource(urn=provider, type=PROVIDER, custom=True, id="p", inputs={"region": "us-east-1"}),
        StateResource(urn=role, type=ROLE, custom=True, id="fraud-prod-runner", provider=provider,
                      inputs={"name": "fraud-prod-runner", "assumeRolePolicy": "{}"}),
        StateResource(urn=bucket, type=BUCKET, custom=True, id="fraud-prod-data", provider=provider,
                      inputs={"bucket": "fraud-prod-data"}, protect=protect_bucket),
    ]
    prior = PriorState(resources={r.urn: r for r in records}, source="test", version=3, serial="s", project=P, stack=S)
    return make_plan(graph, prior, options=PlanOptions(summarize_ml=False, estimate_cost=False, sdk_versions={})), prior


def _refusal(plan, prior) -> UserError:
    with pytest.raises(UserError) as raised:
        refuse_blocked_changes(plan, Path("mlsystem.yaml"), Path("stacks/prod"), prior)
    return raised.value


def test_a_region_move_alone_is_refused_as_a_region_move() -> None:
    """Fails before: the role is not blocked (apply goes on to `pulumi up`, whose CreateRole fails)."""
    plan, prior = _moved(protect_bucket=False)
    error = _refusal(plan, prior)
    assert error.summary == "2 resource change(s) in prod are blocked: runner, data"
    first, *rest = error.detail.splitlines()
    assert first == ("Nothing was applied. A region move creates IAM or S3 names still taken in the old region, which "
                     "fails after creating the rest in the new one; each blocked change is printed above with its hint.")
    assert rest == ["A blocked region move (runner, data): their names are not regional; move the environment as their "
                    "hint says, or keep its region."]


def test_a_protected_bucket_in_the_move_keeps_the_protected_wording_too() -> None:
    plan, prior = _moved(protect_bucket=True)
    error = _refusal(plan, prior)
    first = error.detail.splitlines()[0]
    assert first == ("Nothing was applied. Pulumi refuses to delete a protected resource only when it reaches it, after "
                     "deleting what depends on it, and keeps failing on every later apply; a region move creates IAM "
                     "or S3 names still taken in the old region, which fails after creating the rest in the new one; "
                     "each blocked change is printed above with its hint.")
    assert "A blocked replace (data): unprotect it as its hint says" in error.detail
    assert "A blocked region move (runner)" in error.detail
