"""The AWS registry read keeps which model an endpoint serves, so an endpoint switched to another model whose
version of the served number is not Approved keeps serving the model it served (awshold).

Against a moto server: ``fraud-model`` v13 Approved and served by ``scorer``, ``fraud-model-gbt`` v13
PendingManualApproval, the spec switched to ``fraud-model-gbt`` v13. ``plan --refresh``/``apply`` read with the
prior state's serving (``serving="prior"``: its ``serving_models``, ``state/model_registry.served_models``);
the Pulumi program reads with ``serving="live"`` and no state (``program/entry.registry_view``): the live
endpoint's variants run only ``fraud-model``'s package (``DescribeEndpoint`` -> ``DescribeEndpointConfig`` ->
``DescribeModel`` ``PrimaryContainer.ModelPackageName``). Either way the compiled SageMaker model names
``fraud-model``'s v13 package: SageMaker refuses to deploy an unapproved versioned package (botocore
``CreateModelPackageInput.ModelApprovalStatus``: "For versioned models, the value of this parameter must be
set to Approved to deploy the model"). Before, the prior read compiled ``fraud-model-gbt``'s v13 and the live
read found nothing served (variants of another group were dropped), so the program left the endpoint out.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.compile.naming import physical_name
from mlops_infra.state.aws_live.model_registry import read_registry
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import group_of
from tests.compile.aws.test_aws_model_switch_hold import ENV, _applied_fraud_model_v13, _package_of, _system
from tests.support import fixtures
from tests.support.moto_server import client, session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
REGION = "us-east-1"
ROLE = "arn:aws:iam::111111111111:role/fraud-detection-staging-scorer-serving"
CONTAINER = {"Image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-serve:1.0.0",
             "ModelDataUrl": "s3://fraud-artifacts/training/retrain/run-13/output/model.tar.gz"}


def _registries(url: str, system: Any) -> str:
    """Both groups with v1-v13 (``fraud-model`` Approved, ``fraud-model-gbt`` v13 pending); ``fraud-model``'s
    v13 package ARN."""
    sagemaker = client("sagemaker", url, REGION)
    for model, last in (("fraud-model", "Approved"), ("fraud-model-gbt", "PendingManualApproval")):
        group = group_of(system, ENV, model)
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        for version in range(1, 14):
            made = sagemaker.create_model_package(
                ModelPackageGroupName=group, ModelApprovalStatus="Approved" if version < 13 else last,
                InferenceSpecification={"Containers": [CONTAINER], "SupportedContentTypes": ["application/json"],
                                        "SupportedResponseMIMETypes": ["application/json"]})
    return made["ModelPackageArn"].replace(group_of(system, ENV, "fraud-model-gbt"), group_of(system, ENV, "fraud-model"))


def _check(system: Any, view: Any) -> None:
    assert (view.warnings, dict(view.serving), dict(view.serving_models)) == ((), {"scorer": 13},
                                                                             {"scorer": "fraud-model"})
    assert view.models["fraud-model-gbt"].versions[13].approval == "PendingManualApproval"
    graph = compile_system(system, ENV, registry=view)
    group = group_of(system, ENV, "fraud-model")
    assert _package_of(graph) == f"arn:aws:sagemaker:{REGION}:111111111111:model-package/{group}/13"
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["state"], decision["serveModel"]) == ("holding", "fraud-model"), decision
    assert decision["why"].endswith("scorer keeps serving fraud-model v13 until then"), decision["why"]


def test_the_refresh_read_keeps_the_served_model_of_the_prior_state(moto_url: str) -> None:
    system = _system("fraud-model-gbt")
    _registries(moto_url, system)
    _check(system, read_registry(system, ENV, _applied_fraud_model_v13(), session_factory=lambda: session(REGION),
                                 endpoint_url=moto_url))


def test_the_programs_live_read_finds_the_served_model_on_the_live_endpoint(moto_url: str) -> None:
    system = _system("fraud-model-gbt")
    package = _registries(moto_url, system)
    sagemaker = client("sagemaker", moto_url, REGION)
    name = physical_name(system.metadata.name, ENV, "scorer")
    sagemaker.create_model(ModelName=f"{name}-v13", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package})
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[{
        "VariantName": "primary", "ModelName": f"{name}-v13", "InitialInstanceCount": 1,
        "InstanceType": "ml.g5.xlarge", "InitialVariantWeight": 1.0}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")
    view = read_registry(system, ENV, PriorState.empty(), session_factory=lambda: session(REGION),
                         endpoint_url=moto_url, serving="live")
    assert dict(view.running) == {}  # no variant runs the pinned model's package
    _check(system, view)
