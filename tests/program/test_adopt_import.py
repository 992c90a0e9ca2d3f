"""The program registers a SageMaker model and endpoint config apply adopts with Pulumi's ``import`` option, for the
one ``pulumi up`` apply names them in, and never otherwise (:mod:`mlops_infra.program.adopt`, audit rolloutaws-7).

The previous version set back in the spec compiles the names of the objects the rollout kept, and SageMaker refuses
to create them again; ``ResourceOptions(import_=<id>)`` makes the engine read the object instead (pulumi SDK
``ResourceOptions.import_``, sent as ``RegisterResourceRequest.importId``: pulumi/runtime/resource.py). The ids come
through ``$MLOPS_INFRA_ADOPT`` for that run only, as ``$MLOPS_INFRA_DELETE_FIRST``'s URNs do. Captured with
``pulumi.runtime.set_mocks`` (:mod:`tests.support.pulumi_capture`, its monitor wrapped here to keep ``importId``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.program import register_graph
from mlops_infra.spec import load_system
from tests.support import pulumi_capture
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
ADOPT_ENV = "MLOPS_INFRA_ADOPT"
"""What apply sets for one ``pulumi up`` (:data:`mlops_infra.program.adopt.ADOPT_ENV`), spelled out so this test
runs against code without the module."""
ADOPTED = ("aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration")


@pytest.fixture
def import_ids(monkeypatch) -> dict[str, str]:
    """URN -> the ``importId`` each registration sent (the capture's monitor, wrapped)."""
    seen: dict[str, str] = {}
    original = pulumi_capture.CapturingMonitor.RegisterResource

    def register(self, request):
        response = original(self, request)
        if request.type != pulumi_capture.ROOT_STACK_TYPE:
            seen[self.make_urn(request.parent, request.type, request.name)] = request.importId
        return response

    monkeypatch.setattr(pulumi_capture.CapturingMonitor, "RegisterResource", register)
    return seen


def _prod():
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "prod")
    assert loaded.ok, loaded.diagnostics
    graph = compile_system(loaded.system, "prod")
    kept = {r.urn: r.inputs["name"] for r in graph.resources if r.type in ADOPTED and r.address == "endpoints.scorer"}
    assert len(kept) == 2
    return graph, kept


def _capture(graph):
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []  # the same resources, inputs and options: the import is the run's own
    return capture


def test_the_adopted_model_and_config_are_imported_only_in_the_run_apply_names_them(monkeypatch, import_ids) -> None:
    graph, kept = _prod()
    monkeypatch.delenv(ADOPT_ENV, raising=False)
    _capture(graph)
    assert set(import_ids.values()) == {""}  # no run of its own: every resource is created or updated as compiled
    import_ids.clear()

    monkeypatch.setenv(ADOPT_ENV, json.dumps(kept))
    _capture(graph)

    assert {urn: i for urn, i in import_ids.items() if i} == kept
    assert len(import_ids) == len(graph.resources)


def test_an_id_that_is_not_the_compiled_name_is_refused(monkeypatch) -> None:
    """apply found the ids from this very graph (the program refuses another one), so another id is a bug: it is
    never imported under the URN."""
    graph, kept = _prod()
    urn = next(iter(kept))
    monkeypatch.setenv(ADOPT_ENV, json.dumps({urn: kept[urn] + "-other"}))

    with pytest.raises(Exception, match="this is a bug in mlops-infra"):
        capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))


def test_the_environment_holds_urn_to_id_json_and_nothing_when_unset() -> None:
    from mlops_infra.program import adopt

    assert adopt.ADOPT_ENV == ADOPT_ENV
    assert adopt.adopted_ids({}) == {} and adopt.adopted_ids({ADOPT_ENV: ""}) == {}
    assert adopt.adopted_ids(adopt.adopt_env({"urn:b": "b", "urn:a": "a"})) == {"urn:a": "a", "urn:b": "b"}
    assert adopt.adopt_env({}) == {}
    with pytest.raises(adopt.AdoptionError, match="bug"):
        adopt.adopted_ids({ADOPT_ENV: '["not", "an", "object"]'})
