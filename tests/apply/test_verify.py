"""Post-apply verification: SageMaker's silent rollback is detected (stubbed boto3 client)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from mlops_infra.apply.verify import (
    EndpointCheck,
    desired_endpoint_configs,
    verify_endpoint,
    verify_endpoints,
)
from mlops_infra.graph import GraphBuilder, ref

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def graph():
    b = GraphBuilder("demo", "prod")
    provider = b.add("pulumi:providers:aws", "aws", {"region": "eu-west-1"})
    config = b.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "scorer-config",
                   {"name": "demo-prod-scorer-cfg-abc123"}, provider=provider)
    b.add("aws:sagemaker/endpoint:Endpoint", "scorer-endpoint",
          {"name": "demo-prod-scorer", "endpointConfigName": ref(config, "name")}, provider=provider)
    b.add("aws:sagemaker/endpoint:Endpoint", "literal-endpoint",
          {"name": "demo-prod-literal", "endpointConfigName": "literal-cfg"}, provider=provider)
    return b.build()


@pytest.fixture()
def sagemaker():
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


def described(name: str, config: str, status: str = "InService", **extra):
    return {"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:eu-west-1:222222222222:endpoint/{name}",
            "EndpointConfigName": config, "EndpointStatus": status, "CreationTime": NOW,
            "LastModifiedTime": NOW, **extra}


def test_desired_configs_follow_refs_to_the_config_name():
    assert desired_endpoint_configs(graph()) == {"demo-prod-literal": "literal-cfg",
                                                "demo-prod-scorer": "demo-prod-scorer-cfg-abc123"}


def test_in_service_on_the_desired_config_is_ok(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_endpoint", described("ep", "cfg-new"), {"EndpointName": "ep"})
    check = verify_endpoint(client, "ep", "cfg-new")
    assert check == EndpointCheck("ep", "cfg-new", "cfg-new", "InService") and check.ok


def test_silent_rollback_to_the_old_config_is_detected(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_endpoint", described("ep", "cfg-old"), {"EndpointName": "ep"})
    check = verify_endpoint(client, "ep", "cfg-new")
    assert not check.ok
    assert check.actual_config == "cfg-old" and "rolled back" in check.problem and "'cfg-new'" in check.problem


@pytest.mark.parametrize(("status", "words"), [("Failed", "failed (bad image)"), ("Updating", "still Updating"),
                                               ("RollingBack", "still RollingBack"),
                                               ("UpdateRollbackFailed", "is UpdateRollbackFailed")])
def test_other_states_are_reported(sagemaker, status, words):
    client, stubber = sagemaker
    extra = {"FailureReason": "bad image"} if status == "Failed" else {}
    stubber.add_response("describe_endpoint", described("ep", "cfg-new", status, **extra), {"EndpointName": "ep"})
    assert words in verify_endpoint(client, "ep", "cfg-new").problem


def test_missing_endpoint_is_a_failed_check(sagemaker):
    client, stubber = sagemaker
    stubber.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint \"ep\".")
    check = verify_endpoint(client, "ep", "cfg-new")
    assert not check.ok and "Could not find endpoint" in check.problem and check.status is None


def test_verify_endpoints_checks_every_endpoint_of_the_graph(sagemaker):
    client, stubber = sagemaker
    stubber.add_response("describe_endpoint", described("demo-prod-literal", "literal-cfg"),
                         {"EndpointName": "demo-prod-literal"})
    stubber.add_response("describe_endpoint", described("demo-prod-scorer", "demo-prod-scorer-cfg-old"),
                         {"EndpointName": "demo-prod-scorer"})
    checks = verify_endpoints(client, graph())
    assert [(c.endpoint, c.ok) for c in checks] == [("demo-prod-literal", True), ("demo-prod-scorer", False)]
    stubber.assert_no_pending_responses()


@pytest.mark.moto
def test_against_moto_an_update_that_did_not_land_is_caught():
    from tests.support.moto_server import client as moto_client
    from tests.support.moto_server import running_moto_server

    with running_moto_server() as url:
        sm = moto_client("sagemaker", url)
        role = "arn:aws:iam::123456789012:role/serving"
        sm.create_model(ModelName="m", ExecutionRoleArn=role,
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"})
        for config in ("cfg-a", "cfg-b"):
            sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
                "VariantName": "primary", "ModelName": "m", "InitialInstanceCount": 1,
                "InstanceType": "ml.g5.xlarge"}])
        sm.create_endpoint(EndpointName="verify-ep", EndpointConfigName="cfg-a")
        assert "rolled back" in verify_endpoint(sm, "verify-ep", "cfg-b").problem
        sm.update_endpoint(EndpointName="verify-ep", EndpointConfigName="cfg-b")
        assert verify_endpoint(sm, "verify-ep", "cfg-b").ok
