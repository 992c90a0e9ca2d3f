"""A Kubernetes environment's target.context: the plan replaces exactly when pulumi-kubernetes does (audit replace-3).

pulumi-kubernetes provider/pkg/provider/provider.go ``DiffConfig``: a changed ``clusterIdentifier``
replaces the provider (and every object it manages); one added to a provider that had none is an
update; with it set and unchanged nothing replaces. The compiled provider sets it to the context.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import PROVIDERS
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
PROVIDER = "pulumi:providers:kubernetes"


def graph_of(context: str):
    loaded = load_system(REPO / "examples/quickstart/mlsystem.yaml", "dev")
    assert loaded.ok, loaded.diagnostics
    system = loaded.system
    env = system.environments["dev"]
    target = env.target.model_copy(update={"context": context})
    system = system.model_copy(update={"environments": {**system.environments,
                                                        "dev": env.model_copy(update={"target": target})}})
    return compile_system(system, "dev")


def prior_of(graph):
    return parse_state(dumps(applied_state(graph)).encode(), "prior.json")


def test_the_rule_replaces_on_the_cluster_identifier_only() -> None:
    assert PROVIDERS["kubernetes"].replace == ("clusterIdentifier",)
    provider = next(r for r in graph_of("kind-mlops").resources if r.type == PROVIDER)
    assert provider.inputs["clusterIdentifier"] == provider.inputs["context"] == "kind-mlops"


def test_a_context_change_replaces_everything_exactly_when_the_identifier_changes() -> None:
    old = graph_of("kind-mlops")
    prior = prior_of(old)
    same = make_plan(old, prior, options=FAST)
    assert not same.has_changes
    moved = make_plan(graph_of("prod-cluster"), prior, options=FAST)
    provider = next(c for c in moved.changes if c.type == PROVIDER)
    assert (provider.action, provider.reason.code) == (Action.REPLACE, "forces-replacement")
    assert [c.path for c in provider.changes if c.forces_replacement] == ["clusterIdentifier"]
    objects = [c for c in moved.changes if c.custom and c.type != PROVIDER]
    assert objects and all(c.action is Action.REPLACE for c in objects)


def test_adding_the_identifier_to_an_existing_provider_is_an_update() -> None:
    """A stack applied before the provider had clusterIdentifier: adding it replaces nothing."""
    graph = graph_of("kind-mlops")
    prior = prior_of(graph)
    urn = next(r.urn for r in graph.resources if r.type == PROVIDER)
    state = prior.resources[urn]
    inputs = {k: v for k, v in state.inputs.items() if k != "clusterIdentifier"}
    from dataclasses import replace

    prior = replace(prior, resources={**prior.resources, urn: replace(state, inputs=inputs)})
    result = make_plan(graph, prior, options=FAST)
    provider = next(c for c in result.changes if c.urn == urn)
    assert provider.action is Action.UPDATE
    assert [(c.path, c.forces_replacement) for c in provider.changes] == [("clusterIdentifier", False)]
    assert {c.action for c in result.changes if c.urn != urn} <= {Action.NOOP}
    assert result.warnings == ()


def test_adding_the_identifier_with_a_new_context_is_warned() -> None:
    """The same apply adds clusterIdentifier and changes the context: DiffConfig falls back to its
    kubeconfig heuristics, which find no cluster without a kubeconfig input: an update, no move."""
    from dataclasses import replace

    prior = prior_of(graph_of("kind-mlops"))
    urn = next(u for u, r in prior.resources.items() if r.type == PROVIDER)
    state = prior.resources[urn]
    prior = replace(prior, resources={**prior.resources, urn: replace(
        state, inputs={k: v for k, v in state.inputs.items() if k != "clusterIdentifier"})})
    result = make_plan(graph_of("prod-cluster"), prior, options=FAST)
    assert next(c for c in result.changes if c.urn == urn).action is Action.UPDATE
    assert any("gains clusterIdentifier" in w and "not moved" in w for w in result.warnings)
