"""Provider moves and region moves of a real compiled stack (fraud-detection prod), planned from its state file.

- A stack whose resources the state holds under a default provider (applied before the explicit one existed) moves
  to the explicit ``aws`` provider of the same region with no replace: Pulumi >= 3.151 asks the new provider's
  ``DiffConfig`` for explicit providers too (pulumi/pulumi#18509; audit provvers-5).
- With another region, pulumi-aws 7 (the pinned SDK) replaces no resource for the provider's region: it dropped the
  cascading replace of pulumi/pulumi-aws#4000 (#5656, #5652). Each region-aware resource is replaced through its own
  ``region`` input; the IAM roles, which have none (IAM is global), stay (audit closing-43a-2, which replaced the
  pulumi-aws 6 expectations of xregion-4 here: every resource replaced, the IAM roles blocked). A create-first move
  of a bucket name is blocked: tests/cli/test_apply_region_move.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.plan.global_names import GLOBAL_NAMES
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import region_aware
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, resources

ROOT = Path(__file__).resolve().parents[2]
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"
FAST = PlanOptions(summarize_ml=False, estimate_cost=False, sdk_versions={})
ROLE = "aws:iam/role:Role"


@pytest.fixture(scope="module")
def graph():
    return compile_file(FRAUD, "prod")


def _plan(graph, checkpoint: dict[str, Any]):
    return make_plan(graph, parse_state(dumps(checkpoint), "prior.json"), options=FAST)


def _under_default_provider(checkpoint: dict[str, Any], region: str) -> dict[str, Any]:
    """``checkpoint`` as a stack applied with the default aws provider (``default_7_51_1`` in ``region``) would
    store it: no explicit ``aws`` provider, every AWS resource naming the default one."""
    out = copy.deepcopy(checkpoint)
    records = resources(out)
    explicit = next(r for r in records if r["type"] == "pulumi:providers:aws")
    default_urn = explicit["urn"].rsplit("::", 1)[0] + "::default_7_51_1"
    default = {"urn": default_urn, "custom": True, "id": "c0ffee00-0000-4000-8000-000000000001",
               "type": "pulumi:providers:aws",
               "inputs": {"__internal": {}, "region": region, "version": "7.51.1"},
               "outputs": {"region": region, "version": "7.51.1"}}
    for record in records:
        if record.get("provider", "").startswith(explicit["urn"] + "::"):
            record["provider"] = f"{default_urn}::{default['id']}"
    records[records.index(explicit)] = default
    return out


def test_a_move_from_the_default_provider_to_the_explicit_one_of_its_region_replaces_nothing(graph) -> None:
    """Fails before provvers-5: 68 replaces and 26 blocked, "Pulumi replaces a resource that moves to another
    provider unless both are default providers"."""
    result = _plan(graph, _under_default_provider(applied_state(graph), graph.metadata["region"]))
    actions = {c.urn.rsplit("::", 1)[-1]: c.action for c in result.changes if c.custom}
    assert actions.pop("aws") is Action.CREATE
    assert set(actions.values()) == {Action.NOOP}, {n: a for n, a in actions.items() if a is not Action.NOOP}
    assert (result.counts.add, result.counts.change, result.counts.replace, result.counts.destroy) == (1, 0, 0, 0)
    assert not any(c.blocked for c in result.changes)


def _applied_in(graph, region: str) -> dict[str, Any]:
    """``graph``'s state as ``pulumi up`` with pulumi-aws 7 in ``region`` stores it: the explicit provider's
    ``region`` and every region-aware resource's own ``region`` input (filled from the provider's,
    ``rules.REGION``) are ``region``; the IAM types have none."""
    out = applied_state(graph, region=region)
    desired = graph.metadata["region"]
    for record in resources(out):
        for values in (record.get("inputs", {}), record.get("outputs", {})):
            if values.get("region") == desired:
                values["region"] = region
    return out


def _iam_stays(result) -> None:
    """The IAM roles (global, no ``region`` input in pulumi-aws 7) are not touched by a region move; their inline
    policies are updated at most (a statement naming a moved resource's ARN), and no IAM change is blocked."""
    iam = [c for c in result.changes if c.type.startswith("aws:iam/")]
    roles = [c for c in iam if c.type == ROLE]
    assert len(roles) >= 5 and all(c.action is Action.NOOP and not c.blocked for c in roles), \
        {c.name: (c.action, c.reason.code) for c in roles if c.action is not Action.NOOP or c.blocked}
    assert all(c.action in (Action.NOOP, Action.UPDATE) and not c.blocked for c in iam)
    assert not any("destroy it in" in (c.blocked or "") for c in result.changes)


def test_a_move_from_a_default_provider_of_another_region_replaces_each_regional_resource(graph) -> None:
    """The other region (us-east-1 -> eu-west-1) with pulumi-aws 7: the move to the explicit provider replaces nothing
    by itself (no aws provider key forces a replace: pulumi/pulumi-aws#5656); every region-aware resource is replaced
    through its own ``region``, naming both regions, the IAM roles stay (closing-43a-2; before: every role
    ``provider-replaced`` and blocked with "destroy it in us-east-1 first"). The buckets are protected: blocked as
    such (deleting a bucket in the move discards its objects)."""
    assert graph.metadata["region"] == "eu-west-1"
    result = _plan(graph, _under_default_provider(_applied_in(graph, "us-east-1"), "us-east-1"))
    assert not any(c.reason.code == "provider-replaced" for c in result.changes)
    moved = [c for c in result.changes if c.custom and c.type.startswith("aws:") and region_aware(c.type)]
    assert moved and all(c.action is Action.REPLACE for c in moved), \
        {c.name: (c.action, c.reason.code) for c in moved if c.action is not Action.REPLACE}
    own = [c for c in moved if c.reason.code in ("forces-replacement", "protected")]
    assert len(own) > len(moved) // 2
    assert all("its region changes from us-east-1 to eu-west-1" in c.reason.message for c in own)
    _iam_stays(result)
    artifacts = next(c for c in moved if c.name == "artifacts-bucket")
    assert artifacts.reason.code == "protected" and "pulumi state unprotect" in artifacts.blocked
    assert artifacts.delete_before_replace  # named explicitly: the bridge deletes first, so no name collision
    assert "cannot be created in eu-west-1" not in artifacts.blocked


def test_a_region_move_of_the_explicit_provider_leaves_the_iam_roles_alone(graph) -> None:
    """xregion-4's reproduction with pulumi-aws 7 (closing-43a-2): the explicit provider's region changes, which is an
    update of the provider (before: a replace, cascading to every resource, and 9 IAM changes blocked); the IAM roles
    are NOOP; a Lambda function is replaced in the new region, unblocked; a create-first SageMaker model keeps its name
    without a collision warning (SageMaker names are regional)."""
    result = _plan(graph, _applied_in(graph, "us-east-1"))
    by_name = {c.name: c for c in result.changes}
    assert (by_name["aws"].action, by_name["aws"].reason.code) == (Action.UPDATE, "property-changed")
    assert by_name["pipelines"].action is Action.NOOP and not by_name["pipelines"].blocked
    _iam_stays(result)
    functions = [c for c in result.changes if c.type == "aws:lambda/function:Function"]
    assert functions and all(c.action is Action.REPLACE and c.reason.code == "forces-replacement" and not c.blocked
                             for c in functions)
    model = next(c for c in result.changes if c.type == "aws:sagemaker/model:Model")
    assert model.action is Action.REPLACE and not model.delete_before_replace
    assert not [w for w in result.warnings if "does not change: creating the new one will fail" in w]


def test_only_region_aware_types_have_global_names_to_collide() -> None:
    """A type that pulumi-aws 7 does not move (no ``region`` input: IAM) cannot collide in a region move."""
    assert GLOBAL_NAMES and all(region_aware(t) for t in GLOBAL_NAMES)
    assert not region_aware(ROLE)
