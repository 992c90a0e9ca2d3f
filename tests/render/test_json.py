"""The JSON renderer: Plan.to_json(), sorted, indented, trailing newline, stable."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

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


def test_plan_json_written_one_resource_at_a_time_is_pretty_bytes_of_to_json() -> None:
    """render_json_bytes (orjson from Plan.to_json_lazy, one resource change's data at a time) is exactly
    ``jsoncodec.pretty_bytes(plan.to_json())`` for random plans (attribute changes shared between resources,
    sensitive ones, NaN, integers beyond 64 bits, non-ASCII, nesting at orjson's limit, dataclasses in ML
    details: tests/plan/test_planfile.py lazy_plans), or refuses the same secret; the shortcut is taken
    often, and render_slow turns it off."""
    from hypothesis import given, settings

    from mlops_infra import jsoncodec
    from mlops_infra.render import json as json_module
    from mlops_infra.render.json import render_json_bytes
    from mlops_infra.render.safety import UnsafePlanError, check_rendered
    from tests.plan.test_planfile import lazy_plans

    taken = []

    @settings(max_examples=300, deadline=None)
    @given(lazy_plans())
    def check(plan) -> None:
        try:
            expected = jsoncodec.pretty_bytes(plan.to_json())
        except TypeError:  # json refuses the dataclass inside the ML details: so does the lazy path
            with pytest.raises(TypeError):
                render_json_bytes(plan)
            return
        streamed = json_module._streamed_bytes(plan)
        assert streamed in (None, expected)
        if streamed is not None:
            taken.append(plan)
        try:
            check_rendered(expected, plan)
        except UnsafePlanError as slow:
            with pytest.raises(UnsafePlanError) as fast:
                render_json_bytes(plan)
            assert (fast.value.summary, fast.value.detail) == (slow.summary, slow.detail)
        else:
            assert render_json_bytes(plan) == expected

    check()
    assert len(taken) >= 30
    plan = changes_plan(drift=drift_items(), refreshed=True)
    shared = plan.changes[0].changes[0]
    twice = replace(plan, changes=tuple(replace(c, changes=(shared, *c.changes, shared)) for c in plan.changes))
    assert json_module._streamed_bytes(twice) == jsoncodec.pretty_bytes(twice.to_json())
    from tests.render.test_common import render_slow

    with render_slow():
        assert json_module._streamed_bytes(twice) is None
        assert render_json_bytes(twice) == jsoncodec.pretty_bytes(twice.to_json())


def test_a_secret_in_a_lazily_written_plan_is_located_by_urn_and_path() -> None:
    """The redaction layer sees the bytes render_json_bytes writes, and names the resource and attribute
    (from ``plan.to_json()`` made when something is found)."""
    from mlops_infra.plan.model import AttributeChange
    from mlops_infra.render.json import render_json_bytes
    from mlops_infra.render.safety import UnsafePlanError

    plan = changes_plan()
    first = replace(plan.changes[0], changes=(AttributeChange("environment.KEY", None, "AKIAIOSFODNN7EXAMPLE"),))
    with pytest.raises(UnsafePlanError) as found:
        render_json_bytes(replace(plan, changes=(first, *plan.changes[1:])))
    detail = found.value.detail
    assert f"{first.urn} changes[0].after: looks like an AWS access key" in detail and "AKIAIOSFODNN7EXAMPLE" not in detail
