"""The moto stand-in's ``DeleteEndpoint`` deregisters the endpoint's scalable targets, as AWS does
(tests/support/moto_server.py patch 21; "Delete endpoints configured for auto scaling",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html: "Application Auto Scaling
deregisters those models as scalable targets without notifying you"), with their policies (patch 7), and
leaves another endpoint's target alone (audit autoscale-1: the cascade no test could see)."""

from __future__ import annotations

import uuid

from tests.support.moto_server import client, running_moto_server

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _endpoint(sm, name: str) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def _scaled(aas, name: str) -> str:
    rid = f"endpoint/{name}/variant/primary"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION,
                                 MinCapacity=2, MaxCapacity=10)
    aas.put_scaling_policy(PolicyName=f"{name}-tt", ServiceNamespace="sagemaker", ResourceId=rid,
                           ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, "PredefinedMetricSpecification": {
                               "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    return rid


def test_deleting_an_endpoint_deregisters_its_scalable_target_and_policy_only():
    gone, kept = f"as-del-{uuid.uuid4().hex[:8]}", f"as-keep-{uuid.uuid4().hex[:8]}"
    with running_moto_server() as url:
        sm, aas = client("sagemaker", url), client("application-autoscaling", url)
        for name in (gone, kept):
            _endpoint(sm, name)
        gone_id, kept_id = _scaled(aas, gone), _scaled(aas, kept)
        sm.delete_endpoint(EndpointName=gone)
        targets = {t["ResourceId"] for t in aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]}
        policies = {p["ResourceId"] for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]}
    assert gone_id not in targets and gone_id not in policies
    assert kept_id in targets and kept_id in policies
