"""A state read as Pulumi writes it and the desired graph hold one string per URN (``sys.intern`` on
both sides: ``state.pulumi_state._ResourceReader``, ``graph.GraphBuilder.add``): a plan keeps both
whole, and a second copy of every URN was memory of issue 14's 10,000-endpoint plan for nothing."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.state.pulumi_state import load_state
from tests.compile.aws.cases import CASES, system
from tests.support.applied_state import applied_state, dumps


def test_the_graph_and_the_state_share_each_urn_string(tmp_path: Path) -> None:
    _, path, env = next(c for c in CASES if c[2] == "prod")
    spec = system(path, env)
    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_system(spec, env))))
    prior = load_state(state)
    graph = compile_system(spec, env)  # compiled after the read, as plan does it, or before: the same strings
    keys = {id(urn) for urn in prior.resources}
    shared = [r.urn for r in graph.resources if r.urn in prior.resources]
    assert len(shared) == len(graph.resources) > 100
    assert all(id(urn) in keys and prior.resources[urn].urn is urn for urn in shared)
