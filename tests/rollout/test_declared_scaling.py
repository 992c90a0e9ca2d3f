"""The autoscaling a graph declares, as the SageMaker driver receives it (issue 8): from the graph
(``rollout/connect.py``, the CLI) and from the Lambda's document (``compile/rollout_code.py`` ->
``rollout/scheduled.py``), the same values, valid Application Auto Scaling requests (botocore shapes)."""

from __future__ import annotations

import json

import boto3
import pytest

from mlops_infra.compile.aws import rollout_runner
from mlops_infra.rollout.connect import aws_target, declared_scaling
from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling
from mlops_infra.rollout.scheduled import aws_members
from tests.compile.aws.api_shapes import problems
from tests.compile.aws.cases import CASES, REFERENCE, compiled, one, system

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"


@pytest.mark.parametrize(("path", "env"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_declared_scaling_is_the_graphs_target_and_policy_as_valid_requests(path, env):
    graph = compiled(path, env)
    for endpoint in system(path, env).endpoints:
        address = f"endpoints.{endpoint.name}"
        if not [r for r in graph.resources if r.type == ENDPOINT and r.address == address]:
            continue
        physical = one(graph, ENDPOINT, address).inputs["name"]
        declared = declared_scaling(graph, physical)
        if endpoint.autoscaling is None:
            assert declared is None, address
            continue
        target = one(graph, TARGET, address).inputs
        assert (declared.min_capacity, declared.max_capacity) == (target["minCapacity"], target["maxCapacity"])
        where = {"ServiceNamespace": "sagemaker", "ResourceId": target["resourceId"],
                 "ScalableDimension": target["scalableDimension"]}
        register = {**where, "MinCapacity": declared.min_capacity, "MaxCapacity": declared.max_capacity}
        assert problems("application-autoscaling", "RegisterScalableTarget", register) == [], address
        assert len(declared.policies) == 1, address
        for policy in declared.policies:
            assert problems("application-autoscaling", "PutScalingPolicy", {**where, **policy}) == [], address


def test_the_lambda_document_declares_what_the_graph_does():
    graph = compiled(REFERENCE, "prod")
    function = one(graph, rollout_runner.FUNCTION, "platform")
    document = json.loads(function.inputs["code"]["$archive"]["rollouts.json"])
    session = boto3.Session(region_name=document["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    members = aws_members(document, session)
    assert members
    for member in members:
        address = f"endpoints.{member.spec.endpoint}"
        from_graph = aws_target(graph, graph.rollouts[address])
        assert member.driver.target == from_graph
    assert any(m.driver.target.autoscaling is not None for m in members)  # the reference scorer is autoscaled


def test_a_document_without_autoscaling_declares_none():
    assert DeclaredScaling.from_document(None) is None
    entry = {"target": {"MinCapacity": 2, "MaxCapacity": 4}, "policies": []}
    assert DeclaredScaling.from_document(entry) == DeclaredScaling(2, 4, ())
