"""On AWS only Approved packages serve, whatever the spec's gates (audit registry-2).

SageMaker: "For versioned models, the value of this parameter must be set to ``Approved`` to deploy the
model" (botocore ``sagemaker`` ``CreateModelPackageInput.ModelApprovalStatus``, API reference
CreateModelPackage). An automatic model without the ``model_approved`` gate still meets
PendingManualApproval packages: versions registered while the model was ``approval: manual``, packages
another pipeline registered, an approval a person withdrew. The compiler must not make a SageMaker Model
from one (:func:`mlops_infra.model_versions.deploys_approved_only`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from tests.scenarios.harness import load_file

ROOT = Path(__file__).resolve().parents[3]
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
MODEL = "aws:sagemaker/model:Model"


def _ungated_staging():
    """llm-platform's staging (AWS) without its model_approved gate; embedder is ``approval: automatic``."""
    system = load_file(LLM, "staging")
    env = system.environments["staging"]
    assert env.target.kind == "aws" and "model_approved" in env.gates
    ungated = env.model_copy(update={"gates": [g for g in env.gates if g != "model_approved"]})
    system = system.model_copy(update={"environments": {**system.environments, "staging": ungated}})
    assert system.item("models", "embedder").approval == "automatic"
    return system


def _view(system, embedder_approval: str, serving: dict[str, int] | None = None) -> RegistryView:
    models = {}
    for m in system.models:
        pinned = {e.model.version for e in system.endpoints if e.model.name == m.name}
        approval = embedder_approval if m.name == "embedder" else "Approved"
        models[m.name] = ModelRegistry(m.name, f"group llm-platform-staging-{m.name} (333333333333/us-east-1)",
                                       "registry", True, {v: VersionRecord(v, approval, "Completed",
                                       f"arn:aws:sagemaker:us-east-1:333333333333:model-package/"
                                       f"llm-platform-staging-{m.name}/{v}") for v in pinned | {1}})
    return RegistryView(models, serving or {})


def _embedder_models(graph) -> list[str]:
    return [r.inputs["primaryContainer"]["modelPackageName"] for r in graph.resources
            if r.type == MODEL and "model-package/llm-platform-staging-embedder/" in
            str((r.inputs.get("primaryContainer") or {}).get("modelPackageName"))]


def test_an_ungated_aws_endpoint_waits_for_a_pending_package_and_compiles_no_model_from_it():
    system = _ungated_staging()
    (endpoint,) = [e for e in system.endpoints if e.model.name == "embedder"]
    graph = compile_system(system, "staging", registry=_view(system, "PendingManualApproval"))
    decision = graph.model_versions[f"endpoints.{endpoint.name}"]
    assert (decision["state"], decision["serve"]) == ("waiting", None)
    assert "PendingManualApproval in group llm-platform-staging-embedder" in decision["why"]
    assert "SageMaker deploys a versioned model package only when it is Approved" in decision["why"]
    assert "UpdateModelPackage ModelApprovalStatus=Approved" in decision["why"]
    assert _embedder_models(graph) == []
    approved = compile_system(system, "staging", registry=_view(system, "Approved"))
    assert approved.model_versions[f"endpoints.{endpoint.name}"]["state"] == "ready"
    assert _embedder_models(approved) == [
        f"arn:aws:sagemaker:us-east-1:333333333333:model-package/llm-platform-staging-embedder/{endpoint.model.version}"]


@pytest.mark.parametrize("served", ["other", "same"])
def test_an_ungated_aws_endpoint_keeps_the_version_it_serves(served):
    """The holding rule (closing-c-1) applies as for gated environments: an endpoint is never deleted."""
    system = _ungated_staging()
    (endpoint,) = [e for e in system.endpoints if e.model.name == "embedder"]
    serving = 1 if served == "other" else endpoint.model.version
    assert endpoint.model.version != 1
    view = _view(system, "PendingManualApproval", {endpoint.name: serving})
    decision = compile_system(system, "staging", registry=view).model_versions[f"endpoints.{endpoint.name}"]
    assert (decision["state"], decision["serve"]) == ("holding", serving)
    assert f"keeps serving v{serving}" in decision["why"]
