"""Provider moves and region moves of a real compiled stack (fraud-detection prod), planned from its state file.

- A stack whose resources the state holds under a default provider (applied before the explicit one existed) moves
  to the explicit ``aws`` provider of the same region with no replace: Pulumi >= 3.151 asks the new provider's
  ``DiffConfig`` for explicit providers too (pulumi/pulumi#18509; audit provvers-5). With another region every AWS
  resource is replaced.
- A region move replaces create-first, and IAM role names are unique in the account, S3 bucket names in the
  partition, whatever the region: such a replace is blocked, naming the name and how to move (audit xregion-4;
  ``mlops_infra.plan.global_names``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
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


def test_a_move_from_a_default_provider_of_another_region_replaces_every_resource(graph) -> None:
    """The other region (us-east-1 -> eu-west-1): every AWS resource is replaced; the IAM roles and the buckets, whose
    names are not regional, are blocked with the name and the way to move (fails before: no role is blocked)."""
    assert graph.metadata["region"] == "eu-west-1"
    result = _plan(graph, _under_default_provider(applied_state(graph, region="us-east-1"), "us-east-1"))
    moved = [c for c in result.changes if c.custom and c.type.startswith("aws:")]
    assert moved and all(c.action is Action.REPLACE and c.reason.code in ("provider-replaced", "protected")
                         for c in moved), {c.name: (c.action, c.reason.code) for c in moved if c.action is not Action.REPLACE}
    assert all("with region us-east-1 -> eu-west-1" in c.reason.message for c in moved)
    roles = {c.name: c for c in moved if c.type == ROLE}
    assert len(roles) >= 5 and all(c.blocked and not c.delete_before_replace for c in roles.values())
    serving = roles["scorer-serving"].blocked
    assert "'fraud-detection-prod-serve-scorer' cannot be created in eu-west-1 while the one in us-east-1 exists" in serving
    assert "IAM names are unique within the account in every region" in serving
    assert "destroy it in us-east-1 first" in serving
    artifacts = next(c for c in moved if c.name == "artifacts-bucket")
    assert "pulumi state unprotect" in artifacts.blocked and "S3 bucket names are unique" in artifacts.blocked
    policies = [c for c in moved if c.type == "aws:iam/rolePolicy:RolePolicy"]
    assert policies and not any(c.blocked for c in policies)  # a role's inline policy is named within its role


def test_a_region_move_of_the_explicit_provider_blocks_the_iam_roles(graph) -> None:
    """xregion-4's reproduction: the explicit provider itself moves (its region changes, so it is replaced and every
    resource with it, create-first): fails before (roles planned create-first, no warning, nothing blocked)."""
    east = applied_state(graph, region="us-east-1")
    for record in resources(east):
        if record["type"] == "pulumi:providers:aws":
            record["inputs"]["region"] = record["outputs"]["region"] = "us-east-1"
    result = _plan(graph, east)
    by_name = {c.name: c for c in result.changes}
    assert by_name["aws"].action is Action.REPLACE
    role = by_name["pipelines"]
    assert (role.action, role.reason.code, role.delete_before_replace) == (Action.REPLACE, "provider-replaced", False)
    assert "its name is not regional and is still taken in the old region" in role.reason.message
    assert role.blocked.startswith("'fraud-detection-prod-pipelines' cannot be created in eu-west-1")
    functions = [c for c in result.changes if c.type == "aws:lambda/function:Function"]
    assert functions and all(c.action is Action.REPLACE and not c.blocked for c in functions)  # regional names
