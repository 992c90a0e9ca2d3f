"""A first plan (no prior state): every resource created, planned without the work only a prior needs.

``_Planner._creates`` plans the resources in URN order, not in dependency order (``_Planner._order``):
with no prior, a ref resolves to the same value whatever was planned before it. No alias is worked out
(``sdk_aliases.alias_urns``: nothing in a prior to take over) and no endpoint is sequenced
(``sequences._sides``: no prior endpoint). The plan is the one planned resource by resource in
dependency order (``_Planner._plan``), change for change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.plan import planner as planner_module
from mlops_infra.plan import sequences
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.spec import load_system
from mlops_infra.state.model import LiveState, PriorState, StateResource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _systems(shared_dir: Path) -> list[Path]:
    return [shared_dir / "spec/reference-mlsystem.yaml", EXAMPLES / "fraud-detection/mlsystem.yaml",
            EXAMPLES / "llm-platform/mlsystem.yaml"]


def _refused(*args: object, **kwargs: object) -> None:
    raise AssertionError("a first plan has no prior: this work is not needed")


def test_a_first_plan_is_planned_without_dependency_order_aliases_or_sequences(shared_dir: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner_module._Planner, "_order", _refused)
    monkeypatch.setattr(planner_module, "alias_urns", _refused)
    monkeypatch.setattr(sequences, "_sides", _refused)
    for path in _systems(shared_dir):
        graph = compile_system(load_system(path, "prod").system, "prod")
        result = make_plan(graph, PriorState.empty(), options=PlanOptions(estimate_cost=False))
        assert {c.action for c in result.changes} == {Action.CREATE}, path
        assert len(result.changes) == len(graph.resources) and not result.sequences, path


def test_a_first_plan_is_the_plan_made_in_dependency_order(shared_dir: Path) -> None:
    """The changes of a first plan (URN order) are those of each resource planned in dependency order,
    as a plan with a prior plans them: the same actions, reasons and attribute changes (refs to created
    resources known after apply, or the input they echo)."""
    for path in _systems(shared_dir):
        graph = compile_system(load_system(path, "prod").system, "prod")
        first = planner_module._Planner(graph, PriorState.empty(), None).run()
        ordered = planner_module._Planner(graph, PriorState.empty(), None)
        in_order = tuple(sorted((ordered._plan(ordered.desired[urn]) for urn in ordered._order()),
                                key=lambda c: c.urn))
        assert first == in_order, path
        assert any(c.after == "(known after apply)" for change in first for c in change.changes), path


def test_a_refreshed_plan_whose_every_resource_is_gone_creates_them_again(shared_dir: Path) -> None:
    """With every resource of the prior state read as gone (``LiveState.missing``), the planner's prior
    is empty too: each resource is created again (reason ``missing-in-cloud``), as in dependency order."""
    graph = compile_system(load_system(shared_dir / "spec/reference-mlsystem.yaml", "prod").system, "prod")
    state = PriorState(resources={r.urn: StateResource(urn=r.urn, type=r.type, custom=r.custom, id=f"id-{i}",
                                                     parent=r.parent, provider=r.provider, inputs={}, outputs={})
                                  for i, r in enumerate(graph.resources)},
                       source="test", version=3, serial="s" * 64, project=graph.project, stack=graph.stack)
    live = LiveState(resources={}, missing=frozenset(state.resources))
    first = planner_module._Planner(graph, state, live).run()
    ordered = planner_module._Planner(graph, state, live)
    assert not ordered.prior
    in_order = tuple(sorted((ordered._plan(ordered.desired[urn]) for urn in ordered._order()), key=lambda c: c.urn))
    assert first == in_order
    assert {c.reason.code for c in first if c.urn in state.resources} == {"missing-in-cloud"}

