"""``apply`` refuses a region move that would create an S3 bucket name still taken in the old region, and says it is
that, not a protected delete (``cli/commands/apply.refuse_blocked_changes``; ``plan/global_names.py``; audits
xregion-4, closing-43a-2).

With pulumi-aws 7 (the pinned SDK) a region move is no provider replace (pulumi/pulumi-aws#5656): the IAM role, which
has no ``region`` input, stays and blocks nothing (closing-43a-2 changed these tests, which asserted the pulumi-aws 6
cascade: the role blocked); a bucket is replaced through its own ``region``, delete-first when named explicitly
(the bridge's rule), create-first only when its ``deleteBeforeReplace`` option is false: then blocked."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.cli.commands.apply import refuse_blocked_changes
from mlops_infra.errors import UserError
from mlops_infra.graph import GraphBuilder, ResourceOptions
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.model import PriorState, StateResource

P, S = "fraud", "prod"
ROLE, PROVIDER, BUCKET = "aws:iam/role:Role", "pulumi:providers:aws", "aws:s3/bucket:Bucket"


def _moved(*, protect_bucket: bool = False, create_first: bool = True, logs: bool = False):
    """A role and a bucket (and a second, unprotected create-first bucket ``logs``) applied with pulumi-aws 7 in
    us-east-1 (the bucket's own ``region`` stored, the role without one), now desired in eu-west-1."""
    b = GraphBuilder(P, S)
    provider = b.add(PROVIDER, "aws", {"region": "eu-west-1"}, address="platform", role="provider")
    role = b.add(ROLE, "runner", {"name": "fraud-prod-runner", "assumeRolePolicy": "{}"}, provider=provider,
                 address="platform", role="role")
    order = ResourceOptions(delete_before_replace=False) if create_first else None
    names = [("data", "fraud-prod-data", protect_bucket)] + ([("logs", "fraud-prod-logs", False)] if logs else [])
    buckets = [(b.add(BUCKET, name, {"bucket": physical}, provider=provider, address=f"data_sources.{name}",
                      role="bucket", options=order), physical, protect) for name, physical, protect in names]
    graph = b.build()
    records = [
        StateResource(urn=provider, type=PROVIDER, custom=True, id="p", inputs={"region": "us-east-1"}),
        StateResource(urn=role, type=ROLE, custom=True, id="fraud-prod-runner", provider=provider,
                      inputs={"name": "fraud-prod-runner", "assumeRolePolicy": "{}"}),
        *(StateResource(urn=urn, type=BUCKET, custom=True, id=physical, provider=provider,
                        inputs={"bucket": physical, "region": "us-east-1"}, protect=protect)
          for urn, physical, protect in buckets),
    ]
    prior = PriorState(resources={r.urn: r for r in records}, source="test", version=3, serial="s", project=P, stack=S)
    return make_plan(graph, prior, options=PlanOptions(summarize_ml=False, estimate_cost=False, sdk_versions={})), prior


def _refusal(plan, prior) -> UserError:
    with pytest.raises(UserError) as raised:
        refuse_blocked_changes(plan, Path("mlsystem.yaml"), Path("stacks/prod"), prior)
    return raised.value


def test_a_create_first_bucket_move_alone_is_refused_as_a_region_move_and_the_role_is_not() -> None:
    """Fails before (pulumi-aws 6's cascade): the role was blocked too, "2 resource change(s) ... runner, data", with a
    hint to destroy the environment in us-east-1."""
    plan, prior = _moved()
    by_name = {c.name: c for c in plan.changes}
    assert (by_name["runner"].action, by_name["runner"].blocked) == (Action.NOOP, None)
    assert by_name["aws"].action is Action.UPDATE
    data = by_name["data"]
    assert (data.action, data.reason.code, data.delete_before_replace) == (Action.REPLACE, "forces-replacement", False)
    assert data.blocked.startswith("'fraud-prod-data' cannot be created in eu-west-1 while the one in us-east-1 exists: "
                                   "S3 bucket names are unique")
    assert "empty and delete the bucket in us-east-1" in data.blocked and "destroy" not in data.blocked
    error = _refusal(plan, prior)
    assert error.summary == "1 resource change(s) in prod are blocked: data"
    first, *rest = error.detail.splitlines()
    assert first == ("Nothing was applied. A region move creates S3 bucket names still taken in the old region, which "
                     "fails after creating the rest in the new one; each blocked change is printed above with its hint.")
    assert rest == ["A blocked region move (data): bucket names are not regional; move the buckets as their hint says, "
                    "or keep the environment's region."]


def test_a_named_bucket_moves_delete_first_and_nothing_is_blocked() -> None:
    """The bucket's own region replace is the provider's, which deletes first for an explicit name
    (``rules.provider_deletes_first``): no name collision, and the loss is warned (fails before: role and bucket
    blocked, create-first)."""
    plan, prior = _moved(create_first=False)
    data = next(c for c in plan.changes if c.name == "data")
    assert (data.action, data.delete_before_replace, data.blocked) == (Action.REPLACE, True, None)
    assert any(w.startswith("data is replaced, which discards every object in it") for w in plan.warnings), plan.warnings
    refuse_blocked_changes(plan, Path("mlsystem.yaml"), Path("stacks/prod"), prior)  # nothing blocked: no refusal
    assert not any(c.blocked for c in plan.changes)


def test_a_protected_bucket_in_the_move_keeps_the_protected_wording_too() -> None:
    plan, prior = _moved(protect_bucket=True, logs=True)
    error = _refusal(plan, prior)
    first = error.detail.splitlines()[0]
    assert first == ("Nothing was applied. Pulumi refuses to delete a protected resource only when it reaches it, after "
                     "deleting what depends on it, and keeps failing on every later apply; a region move creates S3 "
                     "bucket names still taken in the old region, which fails after creating the rest in the new one; "
                     "each blocked change is printed above with its hint.")
    assert "A blocked replace (data): unprotect it as its hint says" in error.detail
    assert "A blocked region move (logs)" in error.detail
    data = next(c for c in plan.changes if c.name == "data")
    assert "Even then: 'fraud-prod-data' cannot be created in eu-west-1" in data.blocked
