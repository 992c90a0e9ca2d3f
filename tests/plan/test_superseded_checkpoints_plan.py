"""Adding the artifacts bucket's ``superseded-checkpoints`` rule to an existing stack is an ordinary update of
``artifacts-lifecycle``: not warned, not blocked as a retention change (audit datasources-6 vs datasources-1).

``plan/retention.py`` blocks a protected lifecycle whose rules now expire sooner, or at all, because S3 applies a
rule to the objects already stored. The new rule expires only versions under ``checkpoints/`` that a newer save
replaced (no run reads them: a resume reads the current version), so on a stack applied before it the plan shows
``artifacts-lifecycle`` as an in-place UPDATE with no warning and nothing blocked; a data source's first
retention on the same stack is still warned and blocked.
"""

from __future__ import annotations

from mlops_infra.compile.aws.storage import CHECKPOINTS_RULE
from mlops_infra.plan.model import Action, Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.plan.retention import shortened_retention
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.removals import REFERENCE_TEXT, graph_of
from tests.support.text_edits import edit


def _without_checkpoints_rule(resource: dict) -> None:
    for key in ("inputs", "outputs"):
        if key in resource:
            resource[key]["rules"] = [r for r in resource[key]["rules"] if r.get("id") != CHECKPOINTS_RULE]


def plan_before_the_rule(desired: str = REFERENCE_TEXT, env: str = "prod") -> Plan:
    """Plan ``desired`` against the reference stack as applied before the rule existed."""
    checkpoint = edit_resource(applied_state(graph_of(REFERENCE_TEXT, env)),
                               lambda r: r["urn"].endswith("::artifacts-lifecycle"), _without_checkpoints_rule)
    return make_plan(graph_of(desired, env), parse_state(dumps(checkpoint), "applied"))


def test_an_applied_stack_gets_the_rule_as_an_unblocked_update():
    plan = plan_before_the_rule()
    [change] = [c for c in plan.changes if c.name == "artifacts-lifecycle"]
    assert change.action is Action.UPDATE
    assert change.blocked is None
    assert "retention" not in change.reason.message
    assert not [w for w in plan.warnings if "retention" in w or "artifacts" in w]
    assert plan.counts.blocked == 0
    assert [c.name for c in plan.changes if c.action is not Action.NOOP] == ["artifacts-lifecycle"]


def test_a_data_source_retention_on_the_same_stack_is_still_blocked():
    plan = plan_before_the_rule(edit(REFERENCE_TEXT, "    retention: 400d\n", "    retention: 30d\n"))
    assert [c.name for c in plan.changes if c.blocked] == ["transactions-lifecycle"]
    assert [w for w in plan.warnings if w.startswith("data_sources.transactions: retention 400 days -> 30 days")]


def test_the_judgement_ignores_only_the_checkpoints_rule():
    rule = {"id": CHECKPOINTS_RULE, "status": "Enabled", "filter": {"prefix": "checkpoints/"},
            "noncurrentVersionExpiration": {"noncurrentDays": 7}}
    assert shortened_retention("platform", "artifacts-lifecycle", {"rules": []}, {"rules": [rule]}) is None
    other = dict(rule, id="retention")
    assert shortened_retention("platform", "artifacts-lifecycle", {"rules": []}, {"rules": [other]}).noncurrent == 7
