"""A reordered Terraform set or an equivalent IAM policy is no change; a real member or action still is
(audit awsinputs-1, -2).

terraform-provider-aws declares ``aws_sagemaker_endpoint``'s ``deployment_config.auto_rollback_configuration
.alarms`` and ``aws_cloudwatch_metric_alarm``'s ``alarm_actions``/``ok_actions`` ``Type: schema.TypeSet``
(internal/service/sagemaker/endpoint.go, internal/service/cloudwatch/metric_alarm.go), and the bridge's diff
matches set elements by hash (pulumi-terraform-bridge pkg/tfbridge/detailed_diff.go ``makeSetDiff``). Its
policy inputs suppress equivalent policies (internal/verify/diff.go ``SuppressEquivalentPolicyDiffs`` ->
awspolicyequivalence ``PoliciesAreEquivalent``). Before the fix, swapping an endpoint's two ``rollback_on``
alerts planned a REPLACE of the endpoint (an outage) and an alert's two ``notify`` channels alarm updates that
``pulumi up`` never makes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, resources

ROOT = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
EMBEDDINGS = "      rollback_on: [embeddings-errors-page]"
LATENCY = "  - name: scorer-latency\n    monitor: latency\n    for: 5m\n    severity: critical\n    notify: [oncall]"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _example(tmp_path: Path, name: str, old: str = "", new: str = "") -> Path:
    folder = tmp_path / name
    if not folder.exists():
        shutil.copytree(ROOT / "examples" / name, folder)
    spec = folder / "mlsystem.yaml"
    text = (ROOT / "examples" / name / "mlsystem.yaml").read_text()
    assert old in text
    spec.write_text(text.replace(old, new) if old else text)
    return spec


def _plan(spec: Path, prior_checkpoint: dict[str, Any]):
    prior = parse_state(dumps(prior_checkpoint).encode(), "prior.json")
    return make_plan(compile_file(spec, "prod"), prior, options=FAST)


def _changed(plan) -> list[tuple[str, Action]]:
    """The AWS resources the plan changes (components hold the spec's ML facts, in its order: not compared here)."""
    return [(c.name, c.action) for c in plan.changes if c.action is not Action.NOOP and c.type.startswith("aws:")]


def _replaced_endpoint(plan):
    """The plan's one changed SageMaker endpoint, which must be embeddings-endpoint, replaced."""
    (endpoint,) = [c for c in plan.changes if c.type == "aws:sagemaker/endpoint:Endpoint"
                   and c.action is not Action.NOOP]
    assert endpoint.name == "embeddings-endpoint" and endpoint.action is Action.REPLACE
    return endpoint


def test_swapped_rollback_alarms_plan_no_change(tmp_path: Path) -> None:
    two = "      rollback_on: [embeddings-errors-page, embeddings-drifting]"
    applied = applied_state(compile_file(_example(tmp_path, "llm-platform", EMBEDDINGS, two), "prod"))
    swapped = _example(tmp_path, "llm-platform", EMBEDDINGS,
                       "      rollback_on: [embeddings-drifting, embeddings-errors-page]")
    plan = _plan(swapped, applied)
    # the blue/green endpoint SageMaker rolls back on these alarms (before the fix: REPLACE, an outage), its
    # autoscaling (replaced with it) and its role policy (the alarms' ARNs in another order) are unchanged
    assert _changed(plan) == []


def test_an_added_rollback_alarm_still_replaces_the_endpoint(tmp_path: Path) -> None:
    applied = applied_state(compile_file(_example(tmp_path, "llm-platform"), "prod"))
    added = _example(tmp_path, "llm-platform", EMBEDDINGS,
                     "      rollback_on: [embeddings-drifting, embeddings-errors-page]")
    plan = _plan(added, applied)
    endpoint = _replaced_endpoint(plan)
    paths = [a.path for a in endpoint.changes]
    assert paths and all(p.startswith("deploymentConfig.autoRollbackConfiguration.alarms[") for p in paths), paths
    assert "embeddings-drifting" in json.dumps([a.after for a in endpoint.changes])


def test_swapped_notify_channels_plan_no_change(tmp_path: Path) -> None:
    two = LATENCY.replace("[oncall]", "[oncall, ml-team]")
    applied = applied_state(compile_file(_example(tmp_path, "fraud-detection", LATENCY, two), "prod"))
    swapped = _example(tmp_path, "fraud-detection", LATENCY, LATENCY.replace("[oncall]", "[ml-team, oncall]"))
    assert _changed(_plan(swapped, applied)) == []


def _stored_policy(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A stored role policy with a statement of two or more Resources and two or more Actions."""
    for resource in resources(checkpoint):
        if resource.get("type") != ROLE_POLICY:
            continue
        document = json.loads(resource["inputs"]["policy"])
        for statement in document["Statement"]:
            if (isinstance(statement.get("Resource"), list) and len(statement["Resource"]) > 1
                    and isinstance(statement.get("Action"), list) and len(statement["Action"]) > 1):
                return resource, document, statement
    raise AssertionError("no role policy with a two-Resource, two-Action statement")


def _store(resource: dict[str, Any], document: dict[str, Any]) -> None:
    resource["inputs"]["policy"] = json.dumps(document, sort_keys=True, separators=(",", ":"))


def test_an_equivalent_stored_role_policy_plans_no_change(tmp_path: Path) -> None:
    spec = _example(tmp_path, "llm-platform")
    applied = applied_state(compile_file(spec, "prod"))
    resource, document, statement = _stored_policy(applied)
    statement["Resource"].reverse()
    statement["Action"].reverse()
    document["Statement"].reverse()
    _store(resource, document)
    assert _changed(_plan(spec, applied)) == []


def test_a_stored_role_policy_missing_an_action_plans_an_update_of_that_action_only(tmp_path: Path) -> None:
    spec = _example(tmp_path, "llm-platform")
    applied = applied_state(compile_file(spec, "prod"))
    resource, document, statement = _stored_policy(applied)
    dropped = statement["Action"].pop()
    statement["Resource"].reverse()
    document["Statement"].reverse()
    _store(resource, document)
    name = resource["urn"].rsplit("::", 1)[-1]
    plan = _plan(spec, applied)
    assert _changed(plan) == [(name, Action.UPDATE)]
    (change,) = [c for c in plan.changes if c.name == name]
    assert [(a.before, a.after) for a in change.changes] == [(None, dropped)], change.changes
    assert all(a.path.startswith("policy.Statement[") and ".Action[" in a.path for a in change.changes)


def test_a_replaced_rollback_alarm_is_named_alone(tmp_path: Path) -> None:
    """One of two rollback alarms replaced by another: the endpoint is replaced (a real set change) and its
    reason names that one alarm only, as the bridge's set diff matches the kept member by hash (closing-43c-1:
    before, the kept alarm, moved to another index, was named too)."""
    two = "      rollback_on: [embeddings-errors-page, embeddings-drifting]"
    applied = applied_state(compile_file(_example(tmp_path, "llm-platform", EMBEDDINGS, two), "prod"))
    replaced = _example(tmp_path, "llm-platform", EMBEDDINGS,
                        "      rollback_on: [reranker-latency-warn, embeddings-errors-page]")
    plan = _plan(replaced, applied)
    endpoint = _replaced_endpoint(plan)
    named = sorted({a.path.split("]")[0] + "]" for a in endpoint.changes})
    assert named == ["deploymentConfig.autoRollbackConfiguration.alarms[0]"], [a.path for a in endpoint.changes]
    text = json.dumps([(a.before, a.after) for a in endpoint.changes])
    assert "embeddings-drifting" in text and "reranker-latency-warn" in text and "embeddings-errors-page" not in text
