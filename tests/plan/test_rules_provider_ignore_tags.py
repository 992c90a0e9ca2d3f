"""The AWS provider's ``ignoreTags`` is an update, never a replacement (lead finding, 2026-12-04).

No input replaces an AWS provider (``PROVIDERS["aws"]``: pulumi-aws 7 dropped the ``region`` cascade,
pulumi/pulumi-aws#5656; audit closing-43a-2), and a provider replace cascades to everything it manages, so
``ignoreTags`` must not. The Pulumi state stores provider config as
strings (the SDK sends ``pulumi.runtime.to_json`` of it): the planner compares the stored string
with the compiled object as JSON, so an unchanged one is no change whatever its spacing. Runs on
the ``no-changes-after-apply`` scenario (its prior is the state applying its system leaves).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.cli.commands.plan import registry_view
from mlops_infra.compile import compile_system
from mlops_infra.compile.aws.provider import ignore_tags
from mlops_infra.plan.model import Action, Plan
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import PROVIDERS, matcher
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "no-changes-after-apply"
PROVIDER = "pulumi:providers:aws"
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)


def _plan(edit_provider: Any = None) -> Plan:
    """Plan the scenario's system against its prior, the provider's stored inputs and outputs
    changed by ``edit_provider(record)`` first."""
    checkpoint = json.loads((SCENARIO / "prior.json").read_text())
    if edit_provider is not None:
        for record in checkpoint["checkpoint"]["latest"]["resources"]:
            if record["type"] == PROVIDER:
                edit_provider(record)
    prior = parse_state(json.dumps(checkpoint).encode(), "prior.json")
    env = (SCENARIO / "env").read_text().strip()
    loaded = load_system(SCENARIO / "mlsystem.yaml", env)
    assert loaded.ok and loaded.system is not None
    graph = compile_system(loaded.system, env, registry=registry_view(loaded.system, env, prior, refresh=False))
    return make_plan(graph, prior, options=FAST)


def _stored(value: Any) -> Any:
    def edit(record: dict[str, Any]) -> None:
        for side in ("inputs", "outputs"):
            if value is None:
                record[side].pop("ignoreTags", None)
            else:
                record[side]["ignoreTags"] = value
    return edit


def _changed(plan: Plan) -> dict[str, Any]:
    return {c.name: c for c in plan.changes if c.action is not Action.NOOP}


def test_the_rule_replaces_on_nothing() -> None:
    """(Before closing-43a-2: ``replace == ("region",)``, pulumi-aws 6's cascade.)"""
    rule = PROVIDERS["aws"]
    assert rule.replace == ()
    assert not matcher(rule.replace).touches(("ignoreTags",))
    assert not matcher(rule.replace).touches(("ignoreTags", "keyPrefixes", 0))


def test_the_applied_state_plans_no_change() -> None:
    assert _changed(_plan()) == {}


@pytest.mark.parametrize("text", [
    json.dumps(ignore_tags()),  # as pulumi.runtime.to_json writes it: ", " and ": "
    json.dumps(ignore_tags(), separators=(",", ":")),
    json.dumps(ignore_tags(), indent=2),
], ids=["sdk", "compact", "indented"])
def test_an_unchanged_ignore_tags_stored_as_a_string_is_no_change(text: str) -> None:
    import pulumi.runtime

    assert pulumi.runtime.to_json(ignore_tags()) == json.dumps(ignore_tags())
    assert _changed(_plan(_stored(text))) == {}


def test_a_stack_applied_before_ignore_tags_gets_a_provider_update_and_nothing_else() -> None:
    changed = _changed(_plan(_stored(None)))
    assert list(changed) == ["aws"]
    provider = changed["aws"]
    assert provider.action is Action.UPDATE
    assert [c.path for c in provider.changes] == ["ignoreTags"]


def test_a_changed_ignore_tags_is_an_update_that_replaces_nothing() -> None:
    other = json.dumps({"keyPrefixes": ["mlops-infra:rollout:"], "keys": []})
    changed = _changed(_plan(_stored(other)))
    assert list(changed) == ["aws"] and changed["aws"].action is Action.UPDATE
