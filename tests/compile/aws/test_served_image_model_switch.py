"""During a canary away from a model, the serving role keeps pulling the image of the version it served before,
looked up in THAT model's registry (stop 42's "Registry views" noticed-and-left).

A version number names a version only within its model package group (SageMaker numbers each group's packages
1, 2, 3...: botocore ``ModelPackageSummary.ModelPackageVersion``), and a version runs the image its own package
was registered with (``DescribeModelPackage`` ``InferenceSpecification.Containers[].Image``), which SageMaker
pulls with the endpoint's serving role at every instance start (botocore ``CreateModelInput.ExecutionRoleArn``).
The reference staging's ``scorer`` served ``fraud-model`` v13; the spec switches it to ``fraud-model-gbt``, whose
pinned version is already Approved, so the endpoint goes ready and the canary runs the old variant (fraud-model's
package) beside the new one. Before, ``compile/aws/serving._served_images`` looked the previously served number
up in the NEW model's group: with an equal number it granted the new model's image twice and dropped the old
one (the stable variant's next instance could not pull), with another number it called the image unknown.
"""

from __future__ import annotations

import dataclasses

from mlops_infra.compile import compile_system
from mlops_infra.graph import is_json
from mlops_infra.model_versions import ModelRegistry, VersionRecord
from mlops_infra.state.model_registry import offline_registry_view
from tests.compile.aws.test_aws_model_switch_hold import ENV, _applied_fraud_model_v13, _system

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPOSITORY = "arn:aws:ecr:us-east-1:111111111111:repository"
OLD_IMAGE = "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-old-serve:1.0.0"
"""The image ``fraud-model``'s packages were registered with (the old variant runs it)."""
NEW_IMAGE = "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-gbt-serve:2.0.0"
"""The image ``fraud-model-gbt``'s packages were registered with."""
JOB_REPOSITORY = "arn:aws:ecr:us-east-1:123456789012:repository/fraud-train"
"""The registering job's image (``_model_reads``: the spec names it for the new model whatever the registry says)."""


def _group(model: str, image: str, *versions: int) -> ModelRegistry:
    return ModelRegistry(model, f"group {model}", "registry", True,
                         {v: VersionRecord(v, "Approved", "Completed", image=image) for v in versions})


def _pulls(system, view) -> tuple[list[str], dict]:
    """The repositories ``scorer``'s serving role may pull from, and its version decision."""
    graph = compile_system(system, ENV, registry=view)
    [policy] = [r for r in graph.resources if r.type == ROLE_POLICY and r.name == "scorer-serving-policy"]
    document = policy.inputs["policy"]
    assert is_json(document)
    [statement] = [s for s in next(iter(document.values()))["Statement"] if s["Sid"] == "ModelImagesPull"]
    return sorted(statement["Resource"]), graph.model_versions["endpoints.scorer"]


def _switched_view(system, old: ModelRegistry, new: ModelRegistry):
    view = offline_registry_view(system, ENV, _applied_fraud_model_v13())
    assert (dict(view.serving), dict(view.serving_models)) == ({"scorer": 13}, {"scorer": "fraud-model"})
    return dataclasses.replace(view, models={"fraud-model": old, "fraud-model-gbt": new})


def test_the_old_models_image_is_pulled_when_the_new_model_has_a_version_of_the_served_number():
    system = _system("fraud-model-gbt")
    pulls, decision = _pulls(system, _switched_view(system, _group("fraud-model", OLD_IMAGE, 12, 13),
                                                    _group("fraud-model-gbt", NEW_IMAGE, 13)))
    assert (decision["state"], decision["model"], decision["serve"]) == ("ready", "fraud-model-gbt", 13), decision
    assert pulls == [f"{REPOSITORY}/fraud-gbt-serve", f"{REPOSITORY}/fraud-old-serve", JOB_REPOSITORY]


def test_the_old_models_image_is_known_when_the_new_model_has_no_version_of_the_served_number():
    """``scorer`` served ``fraud-model`` v7; ``fraud-model-gbt``'s group holds no v7, so before the old variant's
    version read as "image unknown" (``imageUnknownFor: [7]``: the plan's pull warning, naming the wrong model)."""
    system = _system("fraud-model-gbt")
    view = dataclasses.replace(_switched_view(system, _group("fraud-model", OLD_IMAGE, 7),
                                              _group("fraud-model-gbt", NEW_IMAGE, 13)), serving={"scorer": 7})
    graph = compile_system(system, ENV, registry=view)
    (component,) = [r for r in graph.resources if r.type == "mlops:serving:Endpoint" and r.name == "scorer"]
    assert "imageUnknownFor" not in component.inputs, component.inputs["imageUnknownFor"]
    pulls, decision = _pulls(system, view)
    assert (decision["state"], decision["serve"]) == ("ready", 13), decision
    assert pulls == [f"{REPOSITORY}/fraud-gbt-serve", f"{REPOSITORY}/fraud-old-serve", JOB_REPOSITORY]
