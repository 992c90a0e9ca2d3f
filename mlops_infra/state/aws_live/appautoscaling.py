"""Application Auto Scaling targets and policies: pure ``map_*`` mappers, ``_read_*`` readers and their
:data:`READERS` entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.aws_live.tracking import Tracking
from mlops_infra.state.model import StateResource


def map_scalable_target(target: Mapping[str, Any]) -> Reading:
    """One ``DescribeScalableTargets`` entry -> ``aws:appautoscaling/target:Target``."""
    inputs = drop_none({
        "resourceId": target.get("ResourceId"),
        "scalableDimension": target.get("ScalableDimension"),
        "serviceNamespace": target.get("ServiceNamespace"),
        "minCapacity": target.get("MinCapacity"),
        "maxCapacity": target.get("MaxCapacity"),
        "roleArn": target.get("RoleARN"),
        "suspendedState": pulumi_shape(target.get("SuspendedState")),
    })
    return Reading(inputs, drop_none({"arn": target.get("ScalableTargetARN")}))


def map_scaling_policy(policy: Mapping[str, Any]) -> Reading:
    """One ``DescribeScalingPolicies`` entry -> ``aws:appautoscaling/policy:Policy``."""
    inputs = drop_none({
        "name": policy.get("PolicyName"),
        "policyType": policy.get("PolicyType"),
        "resourceId": policy.get("ResourceId"),
        "scalableDimension": policy.get("ScalableDimension"),
        "serviceNamespace": policy.get("ServiceNamespace"),
        "targetTrackingScalingPolicyConfiguration": pulumi_shape(
            policy.get("TargetTrackingScalingPolicyConfiguration")),
        "stepScalingPolicyConfiguration": pulumi_shape(policy.get("StepScalingPolicyConfiguration")),
    })
    return Reading(inputs, drop_none({"arn": policy.get("PolicyARN")}))


def _read_scalable_target(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    namespace = res.inputs.get("serviceNamespace") or "sagemaker"
    dimension = res.inputs.get("scalableDimension")
    kwargs = {"ScalableDimension": dimension} if isinstance(dimension, str) else {}
    targets = client.describe_scalable_targets(ServiceNamespace=namespace, ResourceIds=[res.id], **kwargs)
    found = [t for t in targets.get("ScalableTargets", []) if t.get("ResourceId") == res.id]
    return map_scalable_target(found[0]) if found else None


def _read_scaling_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    name = res.inputs.get("name") or res.id
    policies = client.describe_scaling_policies(
        ServiceNamespace=res.inputs.get("serviceNamespace") or "sagemaker", ResourceId=res.inputs.get("resourceId"),
        ScalableDimension=res.inputs.get("scalableDimension"), PolicyNames=[name],
    ).get("ScalingPolicies", [])
    found = [p for p in policies if p.get("PolicyName") == name]  # moto ignores PolicyNames
    return map_scaling_policy(found[0]) if found else None


READERS: dict[str, Reader] = {
    "aws:appautoscaling/target:Target": Reader("application-autoscaling", Tracking("autoscaling target", (
        T("minCapacity", "min instances"), T("maxCapacity", "max instances"),
        T("suspendedState", "suspended scaling", computed=True),
    )), read_one=_read_scalable_target),
    "aws:appautoscaling/policy:Policy": Reader("application-autoscaling", Tracking("autoscaling policy", (
        T("policyType", "policy type", default="StepScaling"),
        T("targetTrackingScalingPolicyConfiguration.targetValue", "target value"),
        T("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification", "scaling metric"),
        T("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification", "scaling metric"),
        T("targetTrackingScalingPolicyConfiguration.scaleInCooldown", "scale-in cooldown", computed=True),
        T("targetTrackingScalingPolicyConfiguration.scaleOutCooldown", "scale-out cooldown", computed=True),
        T("targetTrackingScalingPolicyConfiguration.disableScaleIn", "scale-in disabled", computed=True),
        T("stepScalingPolicyConfiguration", "step scaling", computed=True),
    )), read_one=_read_scaling_policy),
}
