"""Kubernetes endpoints wait for their pinned model version, as AWS endpoints do (finding firstapply-2).

docs/semantics.md promises on both targets: "a version not yet registered (or not approved, when
gated) waits, and the plan says why". An InferenceService whose ``storageUri`` holds nothing never
serves (KServe's storage initializer: "Failed to fetch model. No model found in ...") while ``pulumi
up`` reports success (pulumi-kubernetes does not await custom resources: ``overrides.go``
``ReadyCondition``), so the compiler leaves it out (waiting) or keeps the version the prior state
proves (holding), from the offline view (:func:`mlops_infra.state.model_registry.kube_offline_view`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import load_file
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
IS_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _objects(graph, type_: str) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in graph.resources if r.type == type_}


def _applied(system, env: str) -> PriorState:
    """The state a `pulumi up` of ``system`` (every version assumed) leaves."""
    return parse_state(dumps(applied_state(compile_system(system, env))).encode(), "applied.json")


def _with_version(system, endpoint: str, version: int):
    item = system.item("endpoints", endpoint)
    bumped = item.model_copy(update={"model": item.model.model_copy(update={"version": version})})
    return system.model_copy(update={"endpoints": [bumped if e.name == endpoint else e for e in system.endpoints]})


def test_quickstart_dev_first_plan_waits_for_the_version_its_registry_does_not_hold(tmp_path):
    """The audit's reproduction: `plan --env dev --format json` of the quickstart, no state. The same
    apply creates the MLflow registry, so v1 cannot exist: one version-check, waiting, created-now."""
    result = run_cli("plan", str(QUICKSTART), "--env", "dev", "--format", "json",
                     "--state", str(_empty_state(tmp_path)))
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    checks = [c for c in plan["ml"] if c["kind"] == "version-check"]
    assert [(c["address"], c["details"]["state"], c["details"]["basis"]) for c in checks] == [
        ("endpoints.churn-api", "waiting", "created-now")]
    assert checks[0]["summary"].startswith("churn-api: waits for churn-model v1: it is not registered: MLflow "
                                           "registered model churn-model (mlops-mlflow in namespace churn-dev) is "
                                           "created by this apply")
    assert "then apply again to create its InferenceService" in checks[0]["summary"]
    assert not [r for r in plan["resourceChanges"] if r["type"] == IS_TYPE]


def _empty_state(tmp_path: Path) -> Path:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": []}}))
    return path


def test_every_kubernetes_dev_first_apply_leaves_out_its_inference_services():
    for path, endpoints in ((QUICKSTART, {"churn-api"}), (FRAUD, {"scorer"}), (LLM, {"chat", "embeddings", "reranker"})):
        system = load_file(path, "dev")
        graph = compile_system(system, "dev", registry=offline_registry_view(system, "dev", PriorState.empty()))
        assert _objects(graph, IS_TYPE) == {}, path
        assert {a.split(".", 1)[1] for a, d in graph.model_versions.items() if d["state"] == "waiting"} == endpoints
        for name in endpoints:  # the component stays, saying what it waits for (cost and plan read it)
            facts = next(r.inputs for r in graph.resources if r.type == "mlops:serving:Endpoint" and
                         r.urn.endswith(f"::{name}"))
            assert facts["deployed"] is False and facts["waitingFor"] == system.item("endpoints", name).model.version
        roles = {r.role for r in graph.resources if r.parent and r.parent.endswith(
            tuple(f"Endpoint::{n}" for n in endpoints))}
        assert not roles & {"inference-service", "metrics-scrape", "rollout-status"}, (path, roles)
        assert not {a for a in graph.rollouts if a.split(".", 1)[1] in endpoints}


def test_offline_view_after_an_apply_proves_the_served_version_and_assumes_others():
    system = load_file(QUICKSTART, "dev")
    prior = _applied(system, "dev")
    view = offline_registry_view(system, "dev", prior)
    registry = view.models["churn-model"]
    assert (registry.basis, registry.complete, sorted(registry.versions)) == ("prior-state", False, [1])
    assert dict(view.serving) == {"churn-api": 1}
    graph = compile_system(system, "dev", registry=view)
    assert set(_objects(graph, IS_TYPE)) == {"churn-api"}
    assert graph.model_versions["endpoints.churn-api"]["basis"] == "prior-state"
    bumped = _with_version(system, "churn-api", 2)
    assert compile_system(bumped, "dev", registry=view).model_versions["endpoints.churn-api"]["basis"] == "unverified"


def test_a_new_model_in_an_existing_registry_is_created_now():
    """The registry exists but the model's register Job is not in the prior state: the registered model
    is created by this apply, so it holds no versions."""
    system = load_file(QUICKSTART, "dev")
    prior = _applied(system, "dev")
    kept = {u: r for u, r in prior.resources.items() if r.type != "kubernetes:batch/v1:Job"}
    view = offline_registry_view(system, "dev", dataclasses.replace(prior, resources=kept))
    assert view.models["churn-model"].basis == "created-now"


def test_an_upgrade_read_of_unapproved_versions_keeps_the_served_endpoint():
    """Closing audit closing-c-1: the shipped runtime registered v1 without an approval tag (MLflow reads it as
    PendingManualApproval), and the quickstart's model is manual: the first apply that reads MLflow after the
    upgrade decided `waiting` for the version churn-api serves and left its InferenceService out (Pulumi deletes
    it). It is held on v1 instead."""
    system = load_file(QUICKSTART, "dev")
    prior = _applied(system, "dev")
    offline = offline_registry_view(system, "dev", prior)
    assert offline.serving == {"churn-api": 1}
    read = RegistryView({"churn-model": ModelRegistry("churn-model", offline.models["churn-model"].where, "registry",
                                                      True, {1: VersionRecord(1, "PendingManualApproval", "Completed")})},
                        offline.serving)
    graph = compile_system(system, "dev", registry=read)
    decision = graph.model_versions["endpoints.churn-api"]
    assert decision["state"] == "holding"
    assert "set the version's tag mlops-infra.approval-status=approved" in decision["why"]  # not SageMaker's call
    served = _objects(graph, IS_TYPE)["churn-api"]
    assert served["metadata"]["annotations"]["mlops-infra/model-version"] == "1"


def test_holding_keeps_serving_the_prior_version_never_deleting_the_endpoint():
    """v2 pending approval in a gated environment (quickstart's model is `approval: manual`), v1 served
    by the prior InferenceService: the endpoint stays on v1 and the plan says why."""
    system = load_file(QUICKSTART, "dev")
    prior = _applied(system, "dev")
    offline = offline_registry_view(system, "dev", prior)
    where = offline.models["churn-model"].where
    read = RegistryView({"churn-model": ModelRegistry("churn-model", where, "registry", True, {
        1: VersionRecord(1, "Approved", "Completed"), 2: VersionRecord(2, "PendingManualApproval", "Completed")})},
        offline.serving)
    graph = compile_system(_with_version(system, "churn-api", 2), "dev", registry=read)
    decision = graph.model_versions["endpoints.churn-api"]
    assert (decision["state"], decision["serve"], decision["pinned"]) == ("holding", 1, 2)
    assert "PendingManualApproval" in decision["why"] and "churn-api keeps serving v1" in decision["why"]
    served = _objects(graph, IS_TYPE)["churn-api"]
    assert served["spec"]["predictor"]["model"]["storageUri"].endswith("/churn-model/1/")
    assert served["metadata"]["annotations"]["mlops-infra/model-version"] == "1"
    approved = RegistryView({"churn-model": ModelRegistry("churn-model", where, "registry", True, {
        2: VersionRecord(2, "Approved", "Completed")})}, offline.serving)
    ready = compile_system(_with_version(system, "churn-api", 2), "dev", registry=approved)
    assert _objects(ready, IS_TYPE)["churn-api"]["spec"]["predictor"]["model"]["storageUri"].endswith("/churn-model/2/")


def test_ungated_environment_serves_a_registered_unapproved_version():
    """The AWS rule of `gated` (model_versions.serves_approved_only): an automatic-approval model in an
    environment without the model_approved gate serves a registered version whatever its approval."""
    system = load_file(LLM, "dev")
    model = system.item("endpoints", "embeddings").model
    assert "model_approved" not in system.environments["dev"].gates
    assert system.item("models", model.name).approval == "automatic"
    pending = {m.name: ModelRegistry(m.name, "MLflow", "registry", True, {
        v: VersionRecord(v, "PendingManualApproval", "Completed") for v in range(1, 10)}) for m in system.models}
    graph = compile_system(system, "dev", registry=RegistryView(pending))
    assert graph.model_versions["endpoints.embeddings"]["state"] == "ready"
    assert graph.model_versions["endpoints.chat"]["state"] == "waiting"  # chat-model is approval: manual
    assert set(_objects(graph, IS_TYPE)) == {"embeddings"}
