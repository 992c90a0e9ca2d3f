"""A shortened (or first) retention on a store holding data deletes that data (audit datasources-1,
plan/retention.py and its hook in plan/planner.py).

S3 applies a lifecycle rule to existing objects ("Managing the lifecycle of objects", "Existing and new objects":
"Amazon S3 will queue for removal any existing objects that are more than 30 days old"), so ``retention: 400d ->
30d`` deletes what is older than 30 days. Before, the plan showed a one-number in-place update, no warning, not
blocked. Now it is warned in text, markdown (the PR comment) and JSON, naming the data source, old -> new days and
what S3 deletes; blocked like a protected delete while the lifecycle is protected in the state, with the unblock
(``pulumi state unprotect`` of the lifecycle only) in the hint; ``400d -> 500d`` warns nothing.
"""

from __future__ import annotations

import json

from mlops_infra.plan.model import Action, Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.plan.retention import shortened_requirement, shortened_retention
from mlops_infra.render import render_json, render_markdown, render_text
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.removals import REFERENCE_TEXT, graph_of
from tests.support.text_edits import edit

TRANSACTIONS = "    retention: 400d\n"
SNAPSHOTS = "    retention: 90d\n"


def plan_of(desired: str, before: str = REFERENCE_TEXT, env: str = "prod", unprotect: str | None = None) -> Plan:
    checkpoint = applied_state(graph_of(before, env))
    if unprotect:  # what `pulumi state unprotect '<urn>'` leaves
        checkpoint = edit_resource(checkpoint, lambda r: r["urn"].endswith(f"::{unprotect}"),
                                   lambda r: r.pop("protect"))
    return make_plan(graph_of(desired, env), parse_state(dumps(checkpoint), "applied"))


def lifecycle(plan: Plan, name: str = "transactions-lifecycle"):
    [change] = [c for c in plan.changes if c.name == name]
    return change


def test_a_shortened_retention_of_a_protected_data_source_is_warned_and_blocked():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 30d\n"))
    [warning] = plan.warnings
    assert warning.startswith("data_sources.transactions: retention 400 days -> 30 days deletes data already stored")
    assert "S3 applies a lifecycle rule to the objects already in the bucket, not only to new ones" in warning
    assert "expires every current object older than 30 days" in warning
    assert "deletes at once every version noncurrent for more than 30 days" in warning
    change = lifecycle(plan)
    assert change.action is Action.UPDATE and change.reason.code == "property-changed"
    assert "shortens a protected store's retention, so the update is blocked" in change.reason.message
    assert change.blocked.startswith("transactions-lifecycle is protected, and retention 400 days -> 30 days makes "
                                     "S3 delete objects already stored in data_sources.transactions")
    assert f"`pulumi state unprotect '{change.urn}'` (only this lifecycle; the apply protects it again)" in change.blocked
    assert change.blocked.endswith("or keep retention at 400d.")
    assert plan.counts.blocked == 1 and plan.counts.change == 0


def test_the_warning_is_in_the_text_the_pr_comment_and_the_json():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 30d\n"))
    [warning] = plan.warnings
    assert "after this apply S3 expires every current object older than 30 days" in warning
    assert f"Warning: {warning[:80]}" in render_text(plan)
    markdown = render_markdown(plan)
    assert f"> **Warning:** {warning}" in markdown
    assert "BLOCKED: transactions-lifecycle is protected" in markdown
    document = json.loads(render_json(plan))
    assert any(w.startswith("data_sources.transactions: retention 400 days -> 30 days") for w in document["warnings"])
    assert document["summary"]["blocked"] == 1


def test_a_longer_retention_warns_nothing_and_is_not_blocked():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 500d\n"))
    change = lifecycle(plan)
    assert change.action is Action.UPDATE and change.blocked is None
    assert not [w for w in plan.warnings if "retention" in w]


def test_a_first_retention_on_a_store_without_one_is_warned_and_blocked():
    before = edit(REFERENCE_TEXT, TRANSACTIONS, "")
    plan = plan_of(REFERENCE_TEXT, before=before)
    [warning] = plan.warnings
    assert warning.startswith("data_sources.transactions: retention none -> 400 days deletes data already stored")
    assert "older than 400 days" in warning
    assert lifecycle(plan).blocked.endswith("or remove the retention again.")


def test_removing_the_retention_deletes_nothing_sooner():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, ""))
    assert lifecycle(plan).blocked is None and not plan.warnings


def test_after_unprotecting_the_lifecycle_the_change_is_warned_not_blocked():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 30d\n"), unprotect="transactions-lifecycle")
    change = lifecycle(plan)
    assert change.action is Action.UPDATE and change.blocked is None
    assert plan.counts.change == 1 and plan.counts.blocked == 0
    assert [w for w in plan.warnings if w.startswith("data_sources.transactions: retention 400 days -> 30 days")]


def test_an_unprotected_data_source_is_warned_only():
    before = edit(REFERENCE_TEXT, SNAPSHOTS, SNAPSHOTS + "    protect: false\n")
    plan = plan_of(edit(before, SNAPSHOTS, "    retention: 7d\n"), before=before)
    change = lifecycle(plan, "feature-snapshots-lifecycle")
    assert change.blocked is None
    [warning] = plan.warnings
    assert warning.startswith("data_sources.feature-snapshots: retention 90 days -> 7 days deletes data")


def test_kubernetes_declares_the_retention_so_the_plan_warns_and_blocks_nothing():
    plan = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 30d\n"), env="dev")
    [warning] = [w for w in plan.warnings if "retention" in w]
    assert warning.startswith("data_sources.transactions: retention 400 days -> 30 days in the store's declared "
                              "requirements")
    assert "mlops-infra sets no lifecycle on the S3-compatible store, so this apply deletes nothing" in warning
    assert plan.counts.blocked == 0
    longer = plan_of(edit(REFERENCE_TEXT, TRANSACTIONS, "    retention: 500d\n"), env="dev")
    assert not [w for w in longer.warnings if "retention" in w]


def _rules(days=None, noncurrent=None, status="Enabled"):
    rule = {"id": "retention", "status": status, "filter": {}}
    if days is not None:
        rule["expiration"] = {"days": days}
    if noncurrent is not None:
        rule["noncurrentVersionExpiration"] = {"noncurrentDays": noncurrent}
    return {"rules": [{"id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {},
                       "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}, rule]}


def test_the_judgement_on_lifecycle_rules():
    judge = lambda before, after: shortened_retention("data_sources.d", "d-lifecycle", before, after)  # noqa: E731
    assert judge(_rules(400, 400), _rules(30, 30)).before == 400
    assert judge(_rules(400, 400), _rules(500, 500)) is None
    assert judge(_rules(400, 400), _rules(400, 400)) is None
    assert judge(_rules(400, 400), _rules(400, 30)).noncurrent == 30  # only the noncurrent days shorten
    assert judge(_rules(400, 400, status="Disabled"), _rules(400, 400)).before is None  # a disabled rule expired nothing
    assert judge(_rules(30, 30), _rules(30, 30, status="Disabled")) is None
    first = judge({"rules": []}, _rules(400, 400))
    assert (first.before, first.after) == (None, 400)
    bad = {"data": {"requirements.json": "not json"}}
    assert shortened_requirement("a", "n", bad, {"data": {"requirements.json": '{"retentionDays":3}'}})
    assert shortened_requirement("a", "n", {"data": {"requirements.json": '{"retentionDays":3}'}},
                                 {"data": {"requirements.json": '{"retentionDays":null}'}}) is None
