"""The program registers a Failed SageMaker endpoint with ``deleteBeforeReplace`` for the one ``pulumi up`` apply
names it in, and never otherwise (:mod:`mlops_infra.program.delete_first`).

``pulumi up --replace <urn>`` asks no provider (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``diff``:
``isTargetedReplace`` returns a replace without ``DeleteBeforeReplace``); the engine deletes first only when the
program defines the option (``continueStepsFromDiff``: ``if goal.DeleteBeforeReplace != nil``), else the new
endpoint is created first under the old one's name, which CreateEndpoint refuses. A fixed option in the graph would
delete a healthy endpoint first on a provider or region move (an outage), so it is set per run: the environment
``$MLOPS_INFRA_DELETE_FIRST`` apply sets for ``up``. Captured with ``pulumi.runtime.set_mocks``
(:mod:`tests.support.pulumi_capture`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.program import register_graph
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
DELETE_FIRST_ENV = "MLOPS_INFRA_DELETE_FIRST"
"""What apply sets for one ``pulumi up`` (:data:`mlops_infra.program.delete_first.DELETE_FIRST_ENV`), spelled out
so this test runs against code without the module."""


def _staging():
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "staging")
    assert loaded.ok, loaded.diagnostics
    graph = compile_system(loaded.system, "staging")
    [endpoint] = [r.urn for r in graph.resources if r.type == ENDPOINT]
    return graph, endpoint


def _options(graph, named: str | None = None) -> dict[str, object]:
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))
    differ = differences(graph, capture)  # the same resources and inputs; the named one's option only
    assert all(d.startswith(f"{named}: options") and "'deleteBeforeReplace': True" in d for d in differ), differ
    assert len(differ) == (named is not None)
    return {urn: res.options["deleteBeforeReplace"] for urn, res in capture.resources.items()}


def test_the_named_endpoint_deletes_first_only_in_the_run_apply_names_it(monkeypatch) -> None:
    graph, endpoint = _staging()
    monkeypatch.delenv(DELETE_FIRST_ENV, raising=False)
    plain = _options(graph)
    assert plain[endpoint] is None  # compiled: the provider decides; a region move creates first (no outage)
    monkeypatch.setenv(DELETE_FIRST_ENV, endpoint)
    named = _options(graph, endpoint)
    assert named[endpoint] is True
    assert {u: v for u, v in named.items() if u != endpoint} == {u: v for u, v in plain.items() if u != endpoint}
    digest = graph.digest()
    assert graph.digest() == digest and graph.by_urn()[endpoint].options.delete_before_replace is None


def test_the_environment_names_urns_comma_separated_and_nothing_when_unset() -> None:
    from mlops_infra.program import delete_first
    from mlops_infra.program.delete_first import delete_first_env, delete_first_urns

    assert delete_first.DELETE_FIRST_ENV == DELETE_FIRST_ENV
    assert delete_first_urns({}) == frozenset()
    assert delete_first_urns({DELETE_FIRST_ENV: ""}) == frozenset()
    assert delete_first_urns({DELETE_FIRST_ENV: "urn:a, urn:b,"}) == {"urn:a", "urn:b"}
    assert delete_first_env([]) == {}
    assert delete_first_env(["urn:a", "urn:b"]) == {DELETE_FIRST_ENV: "urn:a,urn:b"}
