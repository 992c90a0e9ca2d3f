"""The JSON renderer: Plan.to_json(), sorted, indented, trailing newline, stable."""

from __future__ import annotations

import json

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
