"""An AWS endpoint switched to another registered model keeps serving the model it served while the new
model's pinned version is not available (awshold; closing-41a-1's AWS side).

The reference staging (``scorer`` serves ``fraud-model`` v13) is applied, then the spec switches ``scorer`` to
``fraud-model-gbt`` (``approval: manual``) at v13, which the registry holds PendingManualApproval. The AWS views
(the offline one and ``read_registry``'s, which keeps it) now record the served model from the prior state's
SageMaker model (its ``primaryContainer.modelPackageName`` group, mapped back through the group's component),
so ``RegistryView.serves`` compares (model, version): before, it compared v13 alone, called the endpoint
"already serving it" and compiled ``fraud-model-gbt``'s v13 package, which SageMaker refuses to deploy
(botocore ``CreateModelPackageInput.ModelApprovalStatus``: "For versioned models, the value of this parameter
must be set to Approved to deploy the model"), so the apply failed while the plan said it kept serving.
"""

from __future__ import annotations

import dataclasses

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import ModelRegistry, VersionRecord
from mlops_infra.spec import parse_system
from mlops_infra.state.model_registry import group_of, offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps
from tests.support.shared_files import REFERENCE

ENV = "staging"
MODEL_TYPE = "aws:sagemaker/model:Model"
SECOND_MODEL = ("models:\n  - name: fraud-model-gbt\n    framework: xgboost\n    approval: manual\n"
                "  - name: fraud-model\n")


def _system(model: str, *, declare_served: bool = True):
    """The reference with ``fraud-model-gbt`` declared too; staging's ``scorer`` (v13) serves ``model``, which
    the retrain job registers.
    ``declare_served=False``: ``fraud-model`` is no longer declared (the switch removed it from the spec)."""
    text = REFERENCE.read_text(encoding="utf-8")
    pin = "      endpoints.scorer.model.version: 13\n"
    assert "models:\n  - name: fraud-model\n" in text and pin in text
    text = text.replace("models:\n  - name: fraud-model\n", SECOND_MODEL)
    if model != "fraud-model":
        text = text.replace(pin, f"{pin}      endpoints.scorer.model.name: {model}\n")
        text = text.replace("registers: fraud-model ", f"registers: {model} ")  # the retrain job now trains it
    if not declare_served:
        served = "  - name: fraud-model\n    framework: pytorch\n    approval: manual                # manual | automatic\n"
        assert served in text
        text = text.replace(served, "").replace("{name: fraud-model, version: 12}", f"{{name: {model}, version: 12}}")
    loaded = parse_system(text, "case.yaml", ENV)
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics if d.severity == "error"]
    return loaded.system


def _applied_fraud_model_v13():
    system = _system("fraud-model")
    return parse_state(dumps(applied_state(compile_system(system, ENV))).encode(), "applied.json")


def _package_of(graph) -> str:
    (model,) = [r for r in graph.resources if r.type == MODEL_TYPE]
    return model.inputs["primaryContainer"]["modelPackageName"]


def _pending_gbt_v13(view):
    pending = ModelRegistry("fraud-model-gbt", "group gbt", "registry", True,
                            {13: VersionRecord(13, "PendingManualApproval", "Completed")})
    return dataclasses.replace(view, models={**view.models, "fraud-model-gbt": pending})


def test_the_offline_aws_view_names_the_model_each_endpoint_serves():
    prior = _applied_fraud_model_v13()
    view = offline_registry_view(_system("fraud-model-gbt"), ENV, prior)
    assert dict(view.serving) == {"scorer": 13}
    assert dict(view.serving_models) == {"scorer": "fraud-model"}
    assert view.serves("scorer", "fraud-model", 13) and not view.serves("scorer", "fraud-model-gbt", 13)
    # mapped from the state's own group record, also when the spec no longer declares the served model
    gone = offline_registry_view(_system("fraud-model-gbt", declare_served=False), ENV, prior)
    assert dict(gone.serving_models) == {"scorer": "fraud-model"}


def test_a_switch_to_an_unapproved_version_with_the_served_number_deploys_the_served_models_package():
    system = _system("fraud-model-gbt")
    view = _pending_gbt_v13(offline_registry_view(system, ENV, _applied_fraud_model_v13()))
    graph = compile_system(system, ENV, registry=view)
    served_group = group_of(system, ENV, "fraud-model")
    assert _package_of(graph) == f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{served_group}/13"
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["state"], decision["model"], decision["serve"], decision["serveModel"]) == (
        "holding", "fraud-model-gbt", 13, "fraud-model")
    assert decision["why"].endswith("scorer keeps serving fraud-model v13 until then"), decision["why"]


def test_the_served_model_itself_still_holds_as_already_served():
    system = _system("fraud-model")
    view = offline_registry_view(system, ENV, _applied_fraud_model_v13())
    pending = ModelRegistry("fraud-model", "group", "registry", True,
                            {13: VersionRecord(13, "PendingManualApproval", "Completed")})
    graph = compile_system(system, ENV, registry=dataclasses.replace(view, models={"fraud-model": pending}))
    assert _package_of(graph).endswith(f"/{group_of(system, ENV, 'fraud-model')}/13")
    decision = graph.model_versions["endpoints.scorer"]
    assert decision["state"] == "holding" and "serveModel" not in decision and "already serves it" in decision["why"]


def test_the_plan_of_the_switch_keeps_the_served_package_and_its_hold_names_the_served_model():
    """The plan against the applied state: the SageMaker model (``fraud-model``'s v13 package) is left as it
    is, and the version check says the endpoint keeps serving ``fraud-model`` v13."""
    from mlops_infra.plan.planner import make_plan

    prior = _applied_fraud_model_v13()
    system = _system("fraud-model-gbt")
    plan = make_plan(compile_system(system, ENV, registry=_pending_gbt_v13(offline_registry_view(system, ENV, prior))),
                     prior)
    (model,) = [c for c in plan.changes if c.type == MODEL_TYPE]
    assert model.action == "no-op", (model.action, model.changes)
    (check,) = [m for m in plan.ml if m.kind == "version-check" and m.address == "endpoints.scorer"]
    assert "scorer keeps serving fraud-model v13 until then" in check.summary, check.summary


def test_a_served_model_the_spec_no_longer_declares_is_held_by_its_package():
    """``fraud-model`` removed from the spec with the switch: the state's group record still names it."""
    system = _system("fraud-model-gbt", declare_served=False)
    assert [m.name for m in system.models] == ["fraud-model-gbt"]
    graph = compile_system(system, ENV, registry=_pending_gbt_v13(
        offline_registry_view(system, ENV, _applied_fraud_model_v13())))
    assert _package_of(graph) == "arn:aws:sagemaker:us-east-1:111111111111:model-package/fraud-detection-staging-fraud-model/13"
    assert graph.model_versions["endpoints.scorer"]["serveModel"] == "fraud-model"
