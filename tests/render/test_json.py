"""The JSON renderer: Plan.to_json(), sorted, indented, trailing newline, stable."""

from __future__ import annotations

import json
from dataclasses import replace

from mlops_infra.render.json import render_json

from .sample_plans import changes_plan, drift_items


def test_is_plan_to_json_sorted_and_stable() -> None:
    plan = changes_plan(drift=drift_items(), refreshed=True)
    text = render_json(plan)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text) == json.loads(json.dumps(plan.to_json()))
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    assert render_json(changes_plan(drift=drift_items(), refreshed=True)) == text


def test_every_change_has_urn_and_action_and_secrets_stay_redacted() -> None:
    data = json.loads(render_json(changes_plan()))
    assert all(c["urn"] and c["action"] for c in data["resourceChanges"])
    secret = next(c for c in data["resourceChanges"] if c["role"] == "secret")
    assert {"path": "secretString", "before": None, "after": "(sensitive)", "forcesReplacement": False,
            "sensitive": True} in secret["changes"]
    assert data["stateSerial"] == "ab" * 32 and data["graphDigest"] == "cd" * 32


def test_a_resource_changes_json_writes_each_attribute_change_as_its_own_to_json() -> None:
    """``ResourceChange.to_json`` writes its attribute changes inline: the same dicts, keys in the
    same order, as ``AttributeChange.to_json`` of each (including a change shared between two)."""
    plan = changes_plan(drift=drift_items(), refreshed=True)
    shared = next(c for r in plan.changes for c in r.changes)
    for change in (*plan.changes, replace(plan.changes[0], changes=(shared, shared))):
        written = change.to_json()["changes"]
        assert [list(c.items()) for c in written] == [list(c.to_json().items()) for c in change.changes]
        assert all(type(c) is dict for c in written) and len(written) == len(change.changes)
