"""An endpoint switched to another registered model whose version number equals the served one's is a new
version: its InferenceService gets the rollout's first step (closing-41a-1).

k8sroll-1 compiles the version the prior state serves without ``canaryTrafficPercent`` and with
``ignoreChanges`` on it, leaving the share to the rollout controller (``compile/kubernetes/serving.py``
``keeps_controller_traffic``). It compared the version NUMBER only, yet MLflow numbers each registered model's
versions from 1 ("MLflow Model Registry", "Concepts"), so ``fraud-model-gbt`` v14 replacing ``fraud-model`` v14
was compiled as "the same version": after a finished rollout the controller's 100 stays and KServe routes all
traffic to the other model's new revision at once, no step, no bake, no ``rollback_on`` gate. The registry view
now keeps which model the prior state's InferenceService serves (``RegistryView.serving_models``, from its
``mlops-infra/model`` annotation) and compares (model, version) (``RegistryView.serves``).
"""

from __future__ import annotations

import dataclasses

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.serving import TRAFFIC_FIELD
from mlops_infra.model_versions import RegistryView
from mlops_infra.spec import parse_system
from mlops_infra.state.model_registry import offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.aws.cases import REFERENCE
from tests.support.applied_state import applied_state, dumps

IS_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SECOND_MODEL = ("models:\n  - name: fraud-model-gbt\n    framework: xgboost\n    approval: manual\n"
                "  - name: fraud-model\n")


def _system(model: str):
    """The reference dev (``scorer`` at version 14, rollout steps from 2 %), its endpoint serving ``model``;
    the document also declares a second registered model, ``fraud-model-gbt``."""
    text = REFERENCE.read_text(encoding="utf-8")
    assert "models:\n  - name: fraud-model\n" in text and "endpoints.scorer.model.version: 14\n" in text
    text = text.replace("models:\n  - name: fraud-model\n", SECOND_MODEL)
    if model != "fraud-model":
        text = text.replace("endpoints.scorer.model.version: 14\n",
                            f"endpoints.scorer.model.version: 14\n      endpoints.scorer.model.name: {model}\n")
    loaded = parse_system(text, "case.yaml", "dev")
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics if d.severity == "error"]
    return loaded.system


def _scorer(graph):
    (isvc,) = [r for r in graph.resources if r.type == IS_TYPE]
    return isvc


def _served_fraud_model_v14() -> RegistryView:
    """The offline view of the state a `pulumi up` of the reference dev (fraud-model v14) leaves, without its
    per-model registry records (every version then 'unverified', as an offline plan reads a new pin)."""
    system = _system("fraud-model")
    prior = parse_state(dumps(applied_state(compile_system(system, "dev"))).encode(), "applied.json")
    return dataclasses.replace(offline_registry_view(system, "dev", prior), models={})


def test_the_offline_view_names_the_model_the_state_serves_and_keeps_it_through_json():
    view = _served_fraud_model_v14()
    assert dict(view.serving) == {"scorer": 14}
    assert dict(view.serving_models) == {"scorer": "fraud-model"}
    again = RegistryView.from_json(view.to_json())
    assert dict(again.serving_models) == {"scorer": "fraud-model"}
    assert again.serves("scorer", "fraud-model", 14) and not again.serves("scorer", "fraud-model-gbt", 14)


def test_another_model_with_the_served_version_number_gets_the_first_step():
    view = _served_fraud_model_v14()
    switched = _scorer(compile_system(_system("fraud-model-gbt"), "dev", registry=view))
    assert switched.inputs["metadata"]["annotations"]["mlops-infra/model"] == "fraud-model-gbt"
    assert switched.inputs["metadata"]["annotations"]["mlops-infra/model-version"] == "14"
    assert switched.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 2
    assert switched.options is None or TRAFFIC_FIELD not in (switched.options.ignore_changes or ())
    kept = _scorer(compile_system(_system("fraud-model"), "dev", registry=view))  # the one served: k8sroll-1 holds
    assert "canaryTrafficPercent" not in kept.inputs["spec"]["predictor"]
    assert kept.options is not None and tuple(kept.options.ignore_changes) == (TRAFFIC_FIELD,)


def test_a_hand_built_view_saying_fraud_model_v14_is_served_gives_the_gbt_model_its_first_step():
    view = RegistryView(serving={"scorer": 14}, serving_models={"scorer": "fraud-model"})
    switched = _scorer(compile_system(_system("fraud-model-gbt"), "dev", registry=view))
    assert switched.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 2
    assert switched.options is None or TRAFFIC_FIELD not in (switched.options.ignore_changes or ())


def test_a_switch_to_an_unapproved_version_with_the_served_number_keeps_the_served_model():
    """A registry read shows ``fraud-model-gbt`` v14 pending approval (``approval: manual``: approved versions
    only). The endpoint serves ``fraud-model`` v14, so the hold keeps THAT model: before, "already serves it"
    compared the number alone and compiled ``fraud-model-gbt`` v14, the unapproved version, with the
    controller's traffic left as it was (no first step, no gate)."""
    from mlops_infra.model_versions import ModelRegistry, VersionRecord

    served = _served_fraud_model_v14()
    pending = ModelRegistry("fraud-model-gbt", "MLflow registered model fraud-model-gbt", "registry", True,
                            {14: VersionRecord(14, "PendingManualApproval", "READY")})
    graph = compile_system(_system("fraud-model-gbt"), "dev", registry=dataclasses.replace(
        served, models={"fraud-model-gbt": pending}))
    held = _scorer(graph)
    annotations = held.inputs["metadata"]["annotations"]
    assert (annotations["mlops-infra/model"], annotations["mlops-infra/model-version"]) == ("fraud-model", "14")
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["state"], decision["model"], decision["serve"], decision["serveModel"]) == (
        "holding", "fraud-model-gbt", 14, "fraud-model")
    assert decision["why"].endswith("scorer keeps serving fraud-model v14 until then"), decision["why"]
    assert "canaryTrafficPercent" not in held.inputs["spec"]["predictor"]  # the served version: k8sroll-1 holds
