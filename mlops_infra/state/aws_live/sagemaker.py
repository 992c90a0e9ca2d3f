"""SageMaker model package groups, pipelines, models, endpoint configs and endpoints: pure ``map_*``
mappers, ``_read_*`` readers and their :data:`READERS` entries.

Container ``Environment`` keys are kept verbatim; an endpoint's current variant weights and
instance counts are runtime data and go to ``outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_model_package_group(response: Mapping[str, Any]) -> Reading:
    """``DescribeModelPackageGroup`` -> ``aws:sagemaker/modelPackageGroup:ModelPackageGroup``."""
    inputs = drop_none({
        "modelPackageGroupName": response.get("ModelPackageGroupName"),
        "modelPackageGroupDescription": response.get("ModelPackageGroupDescription"),
    })
    return Reading(inputs, drop_none({"arn": response.get("ModelPackageGroupArn")}))


def map_pipeline(response: Mapping[str, Any]) -> Reading:
    """``DescribePipeline`` -> ``aws:sagemaker/pipeline:Pipeline``."""
    inputs = drop_none({
        "pipelineName": response.get("PipelineName"),
        "pipelineDisplayName": response.get("PipelineDisplayName"),
        "pipelineDescription": response.get("PipelineDescription"),
        "pipelineDefinition": response.get("PipelineDefinition"),
        "roleArn": response.get("RoleArn"),
        "parallelismConfiguration": pulumi_shape(response.get("ParallelismConfiguration")),
    })
    return Reading(inputs, drop_none({"arn": response.get("PipelineArn"),
                                      "status": response.get("PipelineStatus")}))


_CONTAINER_OPAQUE = ("Environment",)


def map_model(response: Mapping[str, Any]) -> Reading:
    """``DescribeModel`` -> ``aws:sagemaker/model:Model`` (``Environment`` keys kept verbatim)."""
    primary = response.get("PrimaryContainer")
    inputs = drop_none({
        "name": response.get("ModelName"),
        "executionRoleArn": response.get("ExecutionRoleArn"),
        "primaryContainer": pulumi_shape(primary, opaque=_CONTAINER_OPAQUE) if primary else None,
        "containers": pulumi_shape(response.get("Containers") or None, opaque=_CONTAINER_OPAQUE),
        "enableNetworkIsolation": response.get("EnableNetworkIsolation"),
        "vpcConfig": pulumi_shape(response.get("VpcConfig") or None),
    })
    return Reading(inputs, drop_none({"arn": response.get("ModelArn")}))


_VARIANT_RENAMES = {"RoutingConfig": "routingConfigs"}


def map_endpoint_config(response: Mapping[str, Any]) -> Reading:
    """``DescribeEndpointConfig`` -> ``aws:sagemaker/endpointConfiguration:EndpointConfiguration``."""
    inputs = drop_none({
        "name": response.get("EndpointConfigName"),
        "productionVariants": _variants(response.get("ProductionVariants")) or [],
        "shadowProductionVariants": _variants(response.get("ShadowProductionVariants")),
        "kmsKeyArn": response.get("KmsKeyId"),
        "dataCaptureConfig": pulumi_shape(response.get("DataCaptureConfig") or None),
        "asyncInferenceConfig": pulumi_shape(response.get("AsyncInferenceConfig") or None),
        "executionRoleArn": response.get("ExecutionRoleArn"),
    })
    return Reading(inputs, drop_none({"arn": response.get("EndpointConfigArn")}))


def _variants(variants: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Production variants in Pulumi's shape (``routingConfigs`` is a list of one object)."""
    if not variants:
        return None
    shaped = pulumi_shape(list(variants), renames=_VARIANT_RENAMES)
    for variant in shaped:
        if isinstance(variant.get("routingConfigs"), dict):
            variant["routingConfigs"] = [variant["routingConfigs"]]
    return shaped


_RUNTIME_VARIANT_KEYS = ("VariantName", "CurrentWeight", "DesiredWeight", "CurrentInstanceCount",
                         "DesiredInstanceCount")


def map_endpoint(response: Mapping[str, Any]) -> Reading:
    """``DescribeEndpoint`` -> ``aws:sagemaker/endpoint:Endpoint``; the variants' current and
    desired weights and instance counts go to ``outputs.productionVariants`` (runtime data), its
    ``EndpointStatus`` to ``outputs.endpointStatus`` and its ``FailureReason`` to
    ``outputs.failureReason`` (botocore ``DescribeEndpointOutput``; SageMaker API reference
    ``EndpointMetadata.FailureReason``: "If the status of the endpoint is Failed, or the status is
    InService but update operation fails, this provides the reason why it failed"), which
    :mod:`mlops_infra.plan.readiness` judges."""
    variants = [
        pulumi_shape({k: v[k] for k in _RUNTIME_VARIANT_KEYS if k in v})
        for v in response.get("ProductionVariants", [])
    ]
    inputs = drop_none({"name": response.get("EndpointName"),
                        "endpointConfigName": response.get("EndpointConfigName")})
    outputs = drop_none({"arn": response.get("EndpointArn"), "endpointStatus": response.get("EndpointStatus"),
                         "failureReason": response.get("FailureReason") or None, "productionVariants": variants})
    return Reading(inputs, outputs)


def _read_model_package_group(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_model_package_group(client.describe_model_package_group(ModelPackageGroupName=res.id))


def _read_pipeline(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_pipeline(client.describe_pipeline(PipelineName=res.id))


def _read_model(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_model(client.describe_model(ModelName=res.id))


def _read_endpoint_config(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_endpoint_config(client.describe_endpoint_config(EndpointConfigName=res.id))


def _read_endpoint(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_endpoint(client.describe_endpoint(EndpointName=res.id))


READERS: dict[str, Reader] = {
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": Reader("sagemaker", Tracking("model registry group", (
        T("modelPackageGroupDescription", "description", computed=True), TAGS,
    )), read_one=_read_model_package_group, tags=True),
    "aws:sagemaker/pipeline:Pipeline": Reader("sagemaker", Tracking("pipeline", (
        T("pipelineDefinition", "pipeline definition", "json"), T("roleArn", "execution role"),
        T("pipelineDisplayName", "display name", computed=True),
        T("pipelineDescription", "description", computed=True),
        T("parallelismConfiguration.maxParallelExecutionSteps", "max parallel steps", computed=True), TAGS,
    )), read_one=_read_pipeline, tags=True),
    "aws:sagemaker/model:Model": Reader("sagemaker", Tracking("model", (
        T("primaryContainer.image", "image"), T("primaryContainer.modelDataUrl", "model artifact"),
        T("primaryContainer.environment", "container environment", "map", sensitive=True),
        T("primaryContainer.mode", "container mode", computed=True),
        T("containers", "containers", "keyed:containerHostname", computed=True),
        T("executionRoleArn", "execution role"), T("enableNetworkIsolation", "network isolation", default=False),
        TAGS,
    )), read_one=_read_model, tags=True),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Reader("sagemaker", Tracking("endpoint config", (
        T("productionVariants", "variants", "keyed:variantName"),
        T("shadowProductionVariants", "shadow variants", "keyed:variantName"),
        T("kmsKeyArn", "KMS key", computed=True),
        T("dataCaptureConfig.enableCapture", "data capture", computed=True),
        T("dataCaptureConfig.initialSamplingPercentage", "data capture sampling"),
        T("dataCaptureConfig.destinationS3Uri", "data capture destination"),
        T("asyncInferenceConfig", "async inference", computed=True), TAGS,
    )), read_one=_read_endpoint_config, tags=True),
    "aws:sagemaker/endpoint:Endpoint": Reader("sagemaker", Tracking("endpoint", (
        T("endpointConfigName", "endpoint config"),
    )), read_one=_read_endpoint),
}
