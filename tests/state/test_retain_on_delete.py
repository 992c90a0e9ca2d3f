"""The state reader keeps Pulumi's ``retainOnDelete`` of each resource (finding removal-3).

The engine records it per resource (pulumi/pulumi ``sdk/go/common/apitype/core.go`` ``ResourceV3``:
``RetainOnDelete bool `json:"retainOnDelete,omitempty"```) and its delete of such a resource is a
no-op (``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``: "Deleting a "drop on delete" is a
no-op"), so the planner needs it to say what a delete does.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from mlops_infra.state.model import StateResource
from mlops_infra.state.pulumi_state import StateError, load_state, parse_state

KEPT = "urn:pulumi:prod::ml::aws:sagemaker/model:Model::scorer-model"
PLAIN = "urn:pulumi:prod::ml::aws:sagemaker/endpoint:Endpoint::scorer-endpoint"


def _doc(retain: object = True) -> dict:
    return {"version": 3, "checkpoint": {"stack": "organization/ml/prod", "latest": {"resources": [
        {"urn": KEPT, "custom": True, "id": "m-1", "type": "aws:sagemaker/model:Model",
         "inputs": {"name": "m-1"}, "outputs": {"name": "m-1", "arn": "arn:m-1"}, "retainOnDelete": retain},
        {"urn": PLAIN, "custom": True, "id": "e-1", "type": "aws:sagemaker/endpoint:Endpoint",
         "inputs": {"name": "e-1"}, "outputs": {"name": "e-1"}},
    ]}}}


@pytest.mark.parametrize("indent", [4, None], ids=["as-pulumi-writes-it", "compact"])
def test_retain_on_delete_is_read_from_a_state_file(tmp_path: Path, indent: int | None) -> None:
    """Both readers (a few resources at a time, and whole) keep it; absent means false (omitempty)."""
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(_doc(), indent=indent))

    for state in (load_state(path), parse_state(path.read_text(), "prod.json")):
        assert state.resources[KEPT].retain_on_delete is True
        assert state.resources[PLAIN].retain_on_delete is False


def test_retain_on_delete_of_the_wrong_type_is_a_state_error() -> None:
    with pytest.raises(StateError) as info:
        parse_state(json.dumps(_doc(retain="yes")), "prod.json")

    assert '"retainOnDelete"' in str(info.value) and "prod.json" in str(info.value)


def test_retain_on_delete_is_part_of_a_resource_value() -> None:
    """Compared, shown and pickled like the other fields, whether packed (read from a file) or plain."""
    packed = StateResource.packed("urn:a", "t:m:T", True, "id-1", None, None, b'{"a":1}', b"{}", None, (), False,
                                  True)
    plain = StateResource("urn:a", "t:m:T", True, "id-1", inputs={"a": 1}, retain_on_delete=True)

    assert packed == plain and "retain_on_delete=True" in repr(packed)
    assert pickle.loads(pickle.dumps(packed)) == plain
    assert plain != StateResource("urn:a", "t:m:T", True, "id-1", inputs={"a": 1})


def test_applied_state_records_retain_on_delete_where_the_graph_asks() -> None:
    """The scenarios' prior states carry it, as the engine writes it: a canary endpoint's model and
    config (compile/aws/serving._kept), and nothing else of the reference system."""
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    graph = compile_file(Path(__file__).parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml", "prod")
    state = parse_state(dumps(applied_state(graph)).encode(), "prior.json")

    kept = {urn for urn, res in state.resources.items() if res.retain_on_delete}
    asked = {res.urn for res in graph.resources if res.options.retain_on_delete}
    assert kept == asked and kept
    assert {state.resources[urn].type for urn in kept} == {
        "aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"}
