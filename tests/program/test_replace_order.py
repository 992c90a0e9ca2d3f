"""What the program tells the engine about the order of a replace (audit replace-2).

The engine uses the program's ``deleteBeforeReplace`` over the provider's answer only when the
program defines it (pulumi pkg/resource/deploy/step_generator.go, the replace step; the Python SDK
sends ``deleteBeforeReplaceDefined``, pulumi/runtime/resource.py). pulumi-aws answers delete-first
for an explicitly named Model or EndpointConfiguration (pulumi-terraform-bridge schema.go
``nameRequiresDeleteBeforeReplace``), which would delete the live config before ``UpdateEndpoint``;
so the content-hash-named model and config of every endpoint must register an explicit ``False``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.graph import GraphBuilder, ResourceOptions
from mlops_infra.program import register_graph
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def test_endpoint_models_and_configs_register_an_explicit_create_first_replace() -> None:
    """llm-platform prod: embeddings (blue_green), reranker (rolling), chat (canary). Every model and
    endpoint config reaches the engine with deleteBeforeReplace defined and false."""
    loaded = load_system(REPO / "examples/llm-platform/mlsystem.yaml", "prod")
    assert loaded.ok, loaded.diagnostics
    graph = compile_system(loaded.system, "prod")
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []
    ordered = {r.urn: r for r in graph.resources if r.type in (MODEL, CONFIG)}
    endpoints = {urn.rsplit("::", 1)[1].rsplit("-", 2)[0] for urn in ordered if urn.endswith("-endpoint-config")}
    assert {"embeddings", "reranker"} <= endpoints
    for urn in ordered:
        assert capture.resources[urn].options["deleteBeforeReplace"] is False, urn


def test_an_unset_delete_before_replace_is_left_to_the_provider() -> None:
    """None stays undefined (the provider decides); True and False are sent as defined values."""
    b = GraphBuilder("demo", "dev")
    provider = b.add("pulumi:providers:aws", "aws", {"region": "us-east-1"})
    names = {}
    for label, value in (("unset", None), ("first", True), ("create", False)):
        names[label] = b.add("aws:sns/topic:Topic", label, {"name": label}, provider=provider,
                             options=ResourceOptions(delete_before_replace=value))
    graph = b.build()
    capture = capture_program(lambda: register_graph(graph), "demo", "dev", referenced_outputs(graph))
    got = {label: capture.resources[urn].options["deleteBeforeReplace"] for label, urn in names.items()}
    assert got == {"unset": None, "first": True, "create": False}
    assert differences(graph, capture) == []
