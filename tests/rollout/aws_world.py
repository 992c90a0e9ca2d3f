"""A SageMaker endpoint mid-release on a moto server (test support for rollout tests and the benchmark).

``deploy(sm, name, ...)`` creates what ``mlops-infra apply`` leaves before a canary: the models of the
stable and the new version, the endpoint on the stable version's single-variant config, the graph's
final config for the new version, and (optionally) the primary variant's scalable target (min =
``count``, max 10) with ``policies`` (``PutScalingPolicy`` arguments) on it; the returned target then
declares that autoscaling, as a graph with them would.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.endpoint_tags import from_tag_value
from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling, EndpointTarget

ROLE = "arn:aws:iam::123456789012:role/serving"
E = "fraud-prod-scorer"
"""The endpoint :func:`deploy` deploys by default."""
RESOURCE = f"endpoint/{E}/variant/primary"
"""Its primary variant's scalable target (Application Auto Scaling ``ResourceId``)."""
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY = {"PolicyName": "scorer-target-tracking", "PolicyType": "TargetTrackingScaling",
          "TargetTrackingScalingPolicyConfiguration": {
              "TargetValue": 70.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
              "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}
"""A target-tracking policy as the compiler declares one (``PutScalingPolicy`` arguments)."""
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1"


def model_name(endpoint: str, version: int) -> str:
    return f"{endpoint}-v{version}-ab12cd"


def config(sm: Any, name: str, model: str, instance: str = "ml.g5.xlarge", count: int = 3) -> None:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "primary", "ModelName": model, "InstanceType": instance, "InitialInstanceCount": count,
        "InitialVariantWeight": 1.0}])


def deploy(sm: Any, endpoint: str = E, *, stable: int = 12, new: int = 13, count: int = 3,
           new_instance: str = "ml.g5.xlarge", autoscaling: Any = None,
           policies: tuple[dict[str, Any], ...] = ()) -> EndpointTarget:
    for version in (stable, new):
        sm.create_model(ModelName=model_name(endpoint, version), ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE})
    config(sm, f"{endpoint}-cfg-v{stable}", model_name(endpoint, stable), count=count)
    config(sm, f"{endpoint}-cfg-v{new}", model_name(endpoint, new), instance=new_instance, count=count)
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-cfg-v{stable}")
    if autoscaling is not None:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{endpoint}/variant/primary",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=count, MaxCapacity=10)
        for policy in policies:
            autoscaling.put_scaling_policy(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{endpoint}/variant/primary",
                                           ScalableDimension="sagemaker:variant:DesiredInstanceCount", **policy)
    declared = DeclaredScaling(count, 10, tuple(policies)) if autoscaling is not None else None
    return EndpointTarget(endpoint, str(new), f"{endpoint}-cfg-v{new}", model_name(endpoint, new), declared)


def canary_percent(sm: Any, endpoint: str) -> int | None:
    variants = {v["VariantName"]: float(v.get("CurrentWeight") or 0)
                for v in sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"]}
    if "canary" not in variants:
        return None
    return round(100 * variants["canary"] / (variants["canary"] + variants["primary"]))


def status_tags(sm: Any, endpoint: str) -> dict[str, str]:
    """The rollout status fields on ``endpoint``, read back as the driver reads them (values stored through
    ``endpoint_tags.tag_value``, decoded by ``from_tag_value``)."""
    arn = sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    return {t["Key"].split(":")[-1]: from_tag_value(t["Value"]) for t in all_tags(sm, arn)
            if t["Key"].startswith("mlops-infra:rollout:")}


def all_tags(sm: Any, arn: str) -> list[dict[str, str]]:
    """Every tag of ``arn``, from every ``ListTags`` page (moto pages them 50 at a time, as AWS may)."""
    return [tag for page in sm.get_paginator("list_tags").paginate(ResourceArn=arn) for tag in page["Tags"]]
