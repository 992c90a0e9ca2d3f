"""Live AWS state: read the resources a stack's state names, with boto3, in Pulumi's shapes.

Contract:
- :func:`scan_aws` takes :class:`~mlops_infra.state.model.StateResource` objects (normally a prior
  state's resources) and returns a :class:`~mlops_infra.state.model.LiveState` keyed by the same
  URNs. Each live resource keeps the prior ``urn``/``type``/``id``/``parent``/``provider``; its
  ``inputs`` hold what the cloud says now for the properties drift tracks, under Pulumi's engine
  names (camelCase, as in state files) and in the value shapes Pulumi stores (objects for
  single nested blocks, lists for repeated ones, policies and JSON documents as strings).
  ``outputs`` hold runtime facts that are not inputs (SageMaker endpoint variant weights and
  instance counts, ARNs, statuses).
- A resource that was looked for and is gone (a not-found error, a KMS key pending deletion, a
  secret scheduled for deletion) goes to ``missing``. Any other failure goes to ``errors[urn]``
  with a short message (error code and AWS message, credentials and signatures scrubbed).
  Component resources (``custom=False``), providers (``pulumi:providers:*``), resources without
  an id (never created) and types with no reader are skipped: neither live nor missing.
- Which types are read, and which input paths drift compares, is declared once in
  :data:`READERS` (type token -> :class:`Reader`); :data:`TRACKING` is the same declaration
  without the I/O, for :mod:`mlops_infra.plan.drift`.
- Mapping functions (``map_*``) are pure: a boto3 response in, Pulumi-shaped inputs out. Reader
  functions (``_read_*``) do the calls and nothing else.
- Reads run on a thread pool of ``max_workers``; each unit of work is retried with exponential
  backoff and jitter on throttling errors (on top of botocore's ``standard`` retry mode), a
  bounded number of times (:class:`RetryPolicy`). CloudWatch alarms are read 100 per call.
- A resource's region is its own ``region`` input (pulumi-aws v7), else its provider's
  ``region`` input when the provider is among the scanned resources, else ``region``.
- Lambda environment variables and secret values are never read.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mlops_infra.state.model import LiveState, StateResource

# --------------------------------------------------------------------------------------------
# Declarations shared with drift
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tracked:
    """One input property drift compares.

    ``path`` is dotted, in Pulumi input names (``versioningConfiguration.status``). ``label`` is
    the words a summary uses (``versioning``). ``kind`` says how both sides are normalised before
    comparing: ``value`` (plain; nested objects compare only the keys the prior side sets),
    ``map`` (user data such as tags or environment: every key counts), ``tags`` (a map without
    AWS-reserved ``aws:`` keys), ``set`` (order does not matter), ``json`` (a JSON document in a
    string), ``policy`` (an IAM policy document: JSON plus IAM's scalar/list equivalences) or
    ``keyed:<field>`` (a list of objects identified by ``<field>``, e.g. variants by
    ``variantName``). ``default`` is the value Pulumi assumes when the prior inputs do not set the
    property; ``computed`` properties are filled in by the provider or the cloud and are compared
    only when the prior inputs set them. ``prior_output``, when set, is the output that holds the
    prior value instead (``tagsAll`` includes provider default tags). ``sensitive`` values (such
    as container environments, which often carry tokens) are compared but drift never shows them.
    """

    path: str
    label: str
    kind: str = "value"
    default: Any = None
    computed: bool = False
    prior_output: str | None = None
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class Tracking:
    """What drift compares for one resource type and how it words it.

    ``noun`` names the thing in ML/operator terms (``endpoint``, ``alarm``, ``bucket``);
    ``gone`` is what happened when it is missing (``deleted``, ``encryption removed``);
    ``subject`` picks the name shown: ``name`` (the Pulumi logical name) or ``id`` (the physical
    id, used for bucket sub-resources so the summary names the bucket).
    """

    noun: str
    properties: tuple[Tracked, ...]
    gone: str = "deleted"
    subject: str = "name"


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reader found for one resource: Pulumi-shaped ``inputs`` plus runtime ``outputs``."""

    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


ReadOne = Callable[[Any, StateResource, "ScanContext"], Reading | None]
ReadMany = Callable[[Any, Sequence[StateResource], "ScanContext"], dict[str, Reading | None]]


@dataclass(frozen=True, slots=True)
class Reader:
    """How to read one type: a boto3 ``service``, one of ``read_one``/``read_many`` (returning
    ``None`` for a resource that is gone), and the :class:`Tracking` drift uses."""

    service: str
    tracking: Tracking
    read_one: ReadOne | None = None
    read_many: ReadMany | None = None
    batch_size: int = 1


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of one read on throttling: ``attempts`` tries in all, sleeping
    ``min(max_delay, base_delay * 2**n)`` scaled by a jitter in [0.5, 1) between tries.
    ``botocore_max_attempts`` configures botocore's own ``standard`` retry mode."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    botocore_max_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep


# --------------------------------------------------------------------------------------------
# Error classification
# --------------------------------------------------------------------------------------------

THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
     "ThrottledException", "SlowDown"}
)
NOT_FOUND_CODES = frozenset(
    {"NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException", "ResourceNotFoundException",
     "ResourceNotFound", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
     "ServerSideEncryptionConfigurationNotFoundError", "NoSuchLifecycleConfiguration",
     "RepositoryNotFoundException", "ObjectNotFoundException", "404"}
)
_NOT_FOUND_MESSAGE = re.compile(r"could not find|does not exist|not found", re.IGNORECASE)
_SCRUB = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "<access-key-id>"),
    (re.compile(r"(?i)(signature|credential|x-amz-security-token|token)=[^&\s,]+"), r"\1=<redacted>"),
    (re.compile(r"(?i)(aws_secret_access_key|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',]+"), r"\1\2<redacted>"),
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_throttling(error: BaseException) -> bool:
    return error_code(error) in THROTTLING_CODES


def is_not_found(error: BaseException) -> bool:
    """A not-found answer: a known code, or SageMaker's ValidationException "Could not find"."""
    code = error_code(error)
    if code in NOT_FOUND_CODES:
        return True
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return code == "ValidationException" and bool(_NOT_FOUND_MESSAGE.search(message))


def describe_error(error: BaseException) -> str:
    """A short, secret-free message for ``LiveState.errors``."""
    code = error_code(error)
    if code:
        message = str(error.response.get("Error", {}).get("Message", ""))  # type: ignore[attr-defined]
        text = f"{code}: {message}" if message else code
    else:
        text = f"{type(error).__name__}: {error}"
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text[:500]


def call_with_retry(call: Callable[[], Any], policy: RetryPolicy) -> Any:
    """``call()``, retried on throttling errors up to ``policy.attempts`` tries in all."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as error:
            if not is_throttling(error) or attempt == policy.attempts - 1:
                raise
            delay = min(policy.max_delay, policy.base_delay * 2**attempt)
            policy.sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable (this is a bug in mlops-infra)")


# --------------------------------------------------------------------------------------------
# Pure helpers: AWS shapes -> Pulumi shapes
# --------------------------------------------------------------------------------------------

_ACRONYM = re.compile(r"([A-Z])([A-Z]+)(?=[A-Z][a-z]|[0-9]|$)")


def pulumi_name(aws_key: str) -> str:
    """An AWS API member name in Pulumi's engine spelling: ``KMSMasterKeyID`` -> ``kmsMasterKeyId``,
    ``MemorySizeInMB`` -> ``memorySizeInMb``, ``OKActions`` -> ``okActions``."""
    key = _ACRONYM.sub(lambda m: m.group(1) + m.group(2).lower(), aws_key)
    return key[:1].lower() + key[1:]


def pulumi_shape(value: Any, *, renames: Mapping[str, str] | None = None,
                 opaque: Iterable[str] = ()) -> Any:
    """Recursively rename AWS keys to Pulumi names (``renames`` first, by AWS key) and turn
    dates into ISO strings. Keys in ``opaque`` (by AWS key) keep their value verbatim: maps of
    user data such as ``Environment`` whose keys must not be renamed."""
    renames = renames or {}
    opaque = frozenset(opaque)
    return _shape(value, renames, opaque)


def _shape(value: Any, renames: Mapping[str, str], opaque: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            renames.get(k) or pulumi_name(k): (v if k in opaque else _shape(v, renames, opaque))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_shape(v, renames, opaque) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping without ``None`` values (Pulumi omits unset inputs)."""
    return {k: v for k, v in mapping.items() if v is not None}


def tag_map(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """``[{Key|key, Value|value}]`` (AWS tag lists) -> ``{key: value}`` (Pulumi ``tags``)."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


def policy_text(document: Any) -> str | None:
    """A policy document as Pulumi stores it: a JSON string (boto3 decodes some to dicts)."""
    if document is None or isinstance(document, str):
        return document
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _bool(value: Any) -> bool | None:
    """SNS-style ``"true"``/``"false"`` attribute strings -> bool."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


# --------------------------------------------------------------------------------------------
# Pure mappers, one per response shape
# --------------------------------------------------------------------------------------------


def map_kms_key(metadata: Mapping[str, Any], rotation_enabled: bool | None, policy: str | None) -> Reading:
    """``DescribeKey.KeyMetadata`` + rotation status + key policy -> ``aws:kms/key:Key``."""
    inputs = drop_none({
        "description": metadata.get("Description", ""),
        "isEnabled": metadata.get("Enabled"),
        "keyUsage": metadata.get("KeyUsage"),
        "customerMasterKeySpec": metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec"),
        "multiRegion": metadata.get("MultiRegion"),
        "enableKeyRotation": rotation_enabled,
        "policy": policy,
    })
    outputs = drop_none({"arn": metadata.get("Arn"), "keyId": metadata.get("KeyId"),
                         "keyState": metadata.get("KeyState")})
    return Reading(inputs, outputs)


def map_bucket_versioning(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketVersioning`` -> ``versioningConfiguration`` (never enabled = ``Disabled``)."""
    config = {"status": response.get("Status") or "Disabled"}
    if response.get("MFADelete"):
        config["mfaDelete"] = response["MFADelete"]
    return {"versioningConfiguration": config}


def map_bucket_encryption(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketEncryption`` -> ``rules: [{applyServerSideEncryptionByDefault, bucketKeyEnabled}]``."""
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    return {"rules": [_sse_rule(rule) for rule in rules]}


def _sse_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    out: dict[str, Any] = {}
    if default:
        out["applyServerSideEncryptionByDefault"] = drop_none({
            "sseAlgorithm": default.get("SSEAlgorithm"),
            "kmsMasterKeyId": default.get("KMSMasterKeyID"),
        })
    if "BucketKeyEnabled" in rule:
        out["bucketKeyEnabled"] = rule["BucketKeyEnabled"]
    return out


def map_public_access_block(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetPublicAccessBlock`` -> the four booleans."""
    return pulumi_shape(response.get("PublicAccessBlockConfiguration", {}))


def map_bucket_lifecycle(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketLifecycleConfiguration`` -> ``rules`` (``ID`` -> ``id``, nested blocks as objects)."""
    return {"rules": pulumi_shape(response.get("Rules", []))}


def map_role(role: Mapping[str, Any]) -> Reading:
    """``GetRole.Role`` -> ``aws:iam/role:Role``."""
    inputs = drop_none({
        "name": role.get("RoleName"),
        "assumeRolePolicy": policy_text(role.get("AssumeRolePolicyDocument")),
        "description": role.get("Description"),
        "maxSessionDuration": role.get("MaxSessionDuration"),
        "path": role.get("Path"),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "tags": tag_map(role.get("Tags")),
    })
    return Reading(inputs, drop_none({"arn": role.get("Arn"), "uniqueId": role.get("RoleId")}))


def map_ecr_repository(repository: Mapping[str, Any]) -> Reading:
    """One ``DescribeRepositories`` entry -> ``aws:ecr/repository:Repository``."""
    inputs = drop_none({
        "name": repository.get("repositoryName"),
        "imageTagMutability": repository.get("imageTagMutability"),
        "imageScanningConfiguration": repository.get("imageScanningConfiguration"),
        "encryptionConfigurations": (
            [drop_none(repository["encryptionConfiguration"])] if repository.get("encryptionConfiguration") else None
        ),
    })
    outputs = drop_none({"arn": repository.get("repositoryArn"), "repositoryUrl": repository.get("repositoryUri")})
    return Reading(inputs, outputs)


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
    desired weights and instance counts go to ``outputs.productionVariants`` (runtime data)."""
    variants = [
        pulumi_shape({k: v[k] for k in _RUNTIME_VARIANT_KEYS if k in v})
        for v in response.get("ProductionVariants", [])
    ]
    inputs = drop_none({"name": response.get("EndpointName"),
                        "endpointConfigName": response.get("EndpointConfigName")})
    outputs = drop_none({"arn": response.get("EndpointArn"), "endpointStatus": response.get("EndpointStatus"),
                         "productionVariants": variants})
    return Reading(inputs, outputs)


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


_ALARM_RENAMES = {"EvaluateLowSampleCountPercentile": "evaluateLowSampleCountPercentiles",
                  "Metrics": "metricQueries"}
_ALARM_KEYS = ("AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
               "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Unit",
               "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
               "EvaluateLowSampleCountPercentile", "ThresholdMetricId")


def map_metric_alarm(alarm: Mapping[str, Any]) -> Reading:
    """One ``DescribeAlarms.MetricAlarms`` entry -> ``aws:cloudwatch/metricAlarm:MetricAlarm``
    (``Dimensions`` as a map, ``Metrics`` as ``metricQueries`` with their ``dimensions`` maps)."""
    inputs = pulumi_shape({k: alarm[k] for k in _ALARM_KEYS if k in alarm}, renames=_ALARM_RENAMES)
    inputs["name"] = alarm.get("AlarmName")
    inputs["dimensions"] = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    inputs["metricQueries"] = [_metric_query(q) for q in alarm.get("Metrics", [])]
    return Reading(drop_none(inputs), drop_none({"arn": alarm.get("AlarmArn"), "state": alarm.get("StateValue")}))


def _metric_query(query: Mapping[str, Any]) -> dict[str, Any]:
    out = pulumi_shape({k: v for k, v in query.items() if k != "MetricStat"})
    stat = query.get("MetricStat")
    if stat:
        metric = stat.get("Metric", {})
        out["metric"] = drop_none({
            "metricName": metric.get("MetricName"), "namespace": metric.get("Namespace"),
            "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
            "period": stat.get("Period"), "stat": stat.get("Stat"), "unit": stat.get("Unit"),
        })
    return out


def map_event_rule(rule: Mapping[str, Any]) -> Reading:
    """``DescribeRule`` -> ``aws:cloudwatch/eventRule:EventRule``."""
    inputs = drop_none({
        "name": rule.get("Name"),
        "eventBusName": rule.get("EventBusName"),
        "eventPattern": rule.get("EventPattern"),
        "scheduleExpression": rule.get("ScheduleExpression"),
        "state": rule.get("State"),
        "description": rule.get("Description"),
        "roleArn": rule.get("RoleArn"),
    })
    return Reading(inputs, drop_none({"arn": rule.get("Arn")}))


_TARGET_RENAMES = {"Id": "targetId", "SageMakerPipelineParameters": "sagemakerPipelineTarget",
                   "PipelineParameterList": "pipelineParameterLists", "InputPathsMap": "inputPaths",
                   "EcsParameters": "ecsTarget", "BatchParameters": "batchTarget",
                   "KinesisParameters": "kinesisTarget", "SqsParameters": "sqsTarget",
                   "HttpParameters": "httpTarget", "RedshiftDataParameters": "redshiftTarget",
                   "AppSyncParameters": "appsyncTarget"}
_TARGET_OPAQUE = ("InputPathsMap", "HeaderParameters", "QueryStringParameters")


def map_event_target(target: Mapping[str, Any], rule: str, bus: str | None) -> dict[str, Any]:
    """One ``ListTargetsByRule`` entry -> ``aws:cloudwatch/eventTarget:EventTarget`` inputs."""
    inputs = pulumi_shape(dict(target), renames=_TARGET_RENAMES, opaque=_TARGET_OPAQUE)
    inputs["rule"] = rule
    if bus and bus != "default":
        inputs["eventBusName"] = bus
    return inputs


def map_sns_topic(attributes: Mapping[str, str]) -> Reading:
    """``GetTopicAttributes.Attributes`` -> ``aws:sns/topic:Topic``."""
    inputs = drop_none({
        "name": attributes.get("TopicArn", "").rsplit(":", 1)[-1] or None,
        "displayName": attributes.get("DisplayName"),
        "kmsMasterKeyId": attributes.get("KmsMasterKeyId"),
        "fifoTopic": _bool(attributes.get("FifoTopic", "false")),
        "policy": attributes.get("Policy"),
        "deliveryPolicy": attributes.get("DeliveryPolicy"),
    })
    return Reading(inputs, drop_none({"arn": attributes.get("TopicArn"), "owner": attributes.get("Owner")}))


def map_sns_subscription(attributes: Mapping[str, str]) -> Reading:
    """``GetSubscriptionAttributes.Attributes`` -> ``aws:sns/topicSubscription:TopicSubscription``."""
    inputs = drop_none({
        "topic": attributes.get("TopicArn"),
        "protocol": attributes.get("Protocol"),
        "endpoint": attributes.get("Endpoint"),
        "rawMessageDelivery": _bool(attributes.get("RawMessageDelivery", "false")),
        "filterPolicy": attributes.get("FilterPolicy"),
        "filterPolicyScope": attributes.get("FilterPolicyScope"),
        "redrivePolicy": attributes.get("RedrivePolicy"),
        "subscriptionRoleArn": attributes.get("SubscriptionRoleArn"),
    })
    outputs = drop_none({"arn": attributes.get("SubscriptionArn"),
                         "pendingConfirmation": _bool(attributes.get("PendingConfirmation"))})
    return Reading(inputs, outputs)


def map_secret(response: Mapping[str, Any]) -> Reading | None:
    """``DescribeSecret`` -> ``aws:secretsmanager/secret:Secret`` metadata; ``None`` (gone) when
    the secret is scheduled for deletion. The secret value is never read."""
    if response.get("DeletedDate"):
        return None
    inputs = drop_none({"name": response.get("Name"), "description": response.get("Description"),
                        "kmsKeyId": response.get("KmsKeyId"), "tags": tag_map(response.get("Tags"))})
    return Reading(inputs, drop_none({"arn": response.get("ARN")}))


def map_slack_channel(config: Mapping[str, Any]) -> Reading:
    """One ``DescribeSlackChannelConfigurations`` entry -> ``aws:chatbot/slackChannelConfiguration``."""
    inputs = drop_none({
        "configurationName": config.get("ConfigurationName"),
        "iamRoleArn": config.get("IamRoleArn"),
        "slackChannelId": config.get("SlackChannelId"),
        "slackTeamId": config.get("SlackTeamId"),
        "snsTopicArns": config.get("SnsTopicArns"),
        "loggingLevel": config.get("LoggingLevel"),
        "guardrailPolicyArns": config.get("GuardrailPolicyArns"),
        "userAuthorizationRequired": config.get("UserAuthorizationRequired"),
    })
    return Reading(inputs, drop_none({"chatConfigurationArn": config.get("ChatConfigurationArn")}))


def map_lambda_function(response: Mapping[str, Any]) -> Reading:
    """``GetFunction`` -> ``aws:lambda/function:Function`` without ``environment`` (may hold secrets)."""
    conf = response.get("Configuration", {})
    inputs = drop_none({
        "name": conf.get("FunctionName"),
        "role": conf.get("Role"),
        "runtime": conf.get("Runtime"),
        "handler": conf.get("Handler"),
        "memorySize": conf.get("MemorySize"),
        "timeout": conf.get("Timeout"),
        "packageType": conf.get("PackageType"),
        "architectures": conf.get("Architectures"),
        "imageUri": response.get("Code", {}).get("ImageUri"),
        "kmsKeyArn": conf.get("KMSKeyArn"),
    })
    return Reading(inputs, drop_none({"arn": conf.get("FunctionArn"), "version": conf.get("Version")}))


_SCHEDULE_RENAMES = {"SageMakerPipelineParameters": "sagemakerPipelineParameters",
                     "PipelineParameterList": "pipelineParameters",
                     "EventBridgeParameters": "eventbridgeParameters"}


def map_schedule(response: Mapping[str, Any]) -> Reading:
    """``GetSchedule`` -> ``aws:scheduler/schedule:Schedule``."""
    inputs = drop_none({
        "name": response.get("Name"),
        "groupName": response.get("GroupName"),
        "scheduleExpression": response.get("ScheduleExpression"),
        "scheduleExpressionTimezone": response.get("ScheduleExpressionTimezone"),
        "state": response.get("State"),
        "description": response.get("Description"),
        "flexibleTimeWindow": pulumi_shape(response.get("FlexibleTimeWindow")),
        "target": pulumi_shape(response.get("Target"), renames=_SCHEDULE_RENAMES),
        "kmsKeyArn": response.get("KmsKeyArn"),
    })
    return Reading(inputs, drop_none({"arn": response.get("Arn")}))


# --------------------------------------------------------------------------------------------
# Scan context: clients and per-scan memos, shared by worker threads
# --------------------------------------------------------------------------------------------


class _Once:
    """A value computed once, by the first caller; concurrent callers wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None

    def get(self, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._done:
                self._value = compute()
                self._done = True
            return self._value


class ScanContext:
    """Per-scan shared state: boto3 clients per (service, region), created lazily under a lock
    (boto3 clients are thread safe, sessions are not), and memos for list calls that serve many
    resources (KMS aliases)."""

    def __init__(self, session_factory: Callable[[], Any], endpoint_url: str | None, config: Any,
                 retry: RetryPolicy) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self._endpoint_url = endpoint_url
        self._config = config
        self.retry = retry
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._memos: dict[Any, _Once] = {}

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                if self._session is None:
                    self._session = self._session_factory()
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self._endpoint_url, config=self._config)
            return self._clients[key]

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            once = self._memos.setdefault(key, _Once())
        return once.get(compute)


def _region_of(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "region_name", "") or "")


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across the pages of ``operation``."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


# --------------------------------------------------------------------------------------------
# Readers: the I/O, one per type
# --------------------------------------------------------------------------------------------


def _read_kms_key(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    metadata = client.describe_key(KeyId=res.id)["KeyMetadata"]
    if metadata.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
        return None
    rotation = client.get_key_rotation_status(KeyId=res.id).get("KeyRotationEnabled")
    policy = client.get_key_policy(KeyId=res.id, PolicyName="default").get("Policy")
    return map_kms_key(metadata, rotation, policy)


def _read_kms_alias(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    aliases = ctx.memo(("kms-aliases", _region_of(client)), lambda: {
        a["AliasName"]: a for a in _paginate(client, "list_aliases", "Aliases")})
    alias = aliases.get(res.id)
    if alias is None or not alias.get("TargetKeyId"):
        return None
    return Reading({"name": alias["AliasName"], "targetKeyId": alias["TargetKeyId"]},
                   {"arn": alias.get("AliasArn")})


def _read_bucket(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    try:
        tags = tag_map(client.get_bucket_tagging(Bucket=res.id).get("TagSet"))
    except Exception as error:
        if error_code(error) != "NoSuchTagSet":
            raise
        tags = {}
    return Reading({"bucket": res.id, "tags": tags}, {"arn": f"arn:aws:s3:::{res.id}"})


def _read_bucket_versioning(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, **map_bucket_versioning(client.get_bucket_versioning(Bucket=res.id))})


def _read_bucket_encryption(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, **map_bucket_encryption(client.get_bucket_encryption(Bucket=res.id))})


def _read_public_access_block(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    response = client.get_public_access_block(Bucket=res.id)
    return Reading({"bucket": res.id, **map_public_access_block(response)})


def _read_bucket_lifecycle(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    response = client.get_bucket_lifecycle_configuration(Bucket=res.id)
    return Reading({"bucket": res.id, **map_bucket_lifecycle(response)})


def _read_bucket_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, "policy": client.get_bucket_policy(Bucket=res.id).get("Policy")})


def _read_role(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_role(client.get_role(RoleName=res.id)["Role"])


def _read_role_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    role, _, name = (res.id or "").partition(":")
    response = client.get_role_policy(RoleName=res.inputs.get("role", role), PolicyName=res.inputs.get("name", name))
    return Reading({"role": response.get("RoleName"), "name": response.get("PolicyName"),
                    "policy": policy_text(response.get("PolicyDocument"))})


def _read_ecr_repository(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    repositories = client.describe_repositories(repositoryNames=[res.id]).get("repositories", [])
    return map_ecr_repository(repositories[0]) if repositories else None


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


def _read_metric_alarms(client: Any, resources: Sequence[StateResource],
                        ctx: ScanContext) -> dict[str, Reading | None]:
    names = [r.id for r in resources]
    found = {a["AlarmName"]: a for a in _paginate(client, "describe_alarms", "MetricAlarms",
                                                   AlarmNames=names, AlarmTypes=["MetricAlarm"])}
    return {r.urn: (map_metric_alarm(found[r.id]) if r.id in found else None) for r in resources}


def _bus_and_name(res: StateResource) -> tuple[str | None, str]:
    """An event rule's bus and name from its inputs, else from its id (``<bus>/<name>``)."""
    name = res.inputs.get("name")
    bus = res.inputs.get("eventBusName")
    if isinstance(name, str):
        return (bus if isinstance(bus, str) else None), name
    left, _, right = (res.id or "").rpartition("/")
    return (left or None), right


def _read_event_rule(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    bus, name = _bus_and_name(res)
    return map_event_rule(client.describe_rule(Name=name, **({"EventBusName": bus} if bus else {})))


def _read_event_target(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    rule, target_id, bus = res.inputs.get("rule"), res.inputs.get("targetId"), res.inputs.get("eventBusName")
    kwargs = {"Rule": rule, **({"EventBusName": bus} if isinstance(bus, str) else {})}
    targets = _paginate(client, "list_targets_by_rule", "Targets", **kwargs)
    found = [t for t in targets if t.get("Id") == target_id]
    return Reading(map_event_target(found[0], rule, bus)) if found else None


def _read_sns_topic(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sns_topic(client.get_topic_attributes(TopicArn=res.id)["Attributes"])


def _read_sns_subscription(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sns_subscription(client.get_subscription_attributes(SubscriptionArn=res.id)["Attributes"])


def _read_secret(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_secret(client.describe_secret(SecretId=res.id))


def _read_slack_channel(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    configs = client.describe_slack_channel_configurations(ChatConfigurationArn=res.id)
    found = [c for c in configs.get("SlackChannelConfigurations", []) if c.get("ChatConfigurationArn") == res.id]
    return map_slack_channel(found[0]) if found else None


def _read_lambda_function(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_lambda_function(client.get_function(FunctionName=res.id))


def _read_schedule(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    group, _, name = (res.id or "").rpartition("/")
    name = res.inputs.get("name") if isinstance(res.inputs.get("name"), str) else name
    group = res.inputs.get("groupName") if isinstance(res.inputs.get("groupName"), str) else (group or "default")
    return map_schedule(client.get_schedule(Name=name, GroupName=group))


# --------------------------------------------------------------------------------------------
# The registry: type token -> reader and tracked properties
# --------------------------------------------------------------------------------------------

T = Tracked
_TAGS = T("tags", "tags", "tags", prior_output="tagsAll")

READERS: dict[str, Reader] = {
    "aws:kms/key:Key": Reader("kms", Tracking("KMS key", (
        T("isEnabled", "enabled", default=True), T("enableKeyRotation", "key rotation", default=False),
        T("description", "description", computed=True), T("keyUsage", "key usage", computed=True),
        T("customerMasterKeySpec", "key spec", computed=True), T("policy", "key policy", "policy", computed=True),
    )), read_one=_read_kms_key),
    "aws:kms/alias:Alias": Reader("kms", Tracking("KMS alias", (
        T("targetKeyId", "target key"),
    )), read_one=_read_kms_alias),
    "aws:s3/bucket:Bucket": Reader("s3", Tracking("bucket", (_TAGS,)), read_one=_read_bucket),
    "aws:s3/bucketVersioning:BucketVersioning": Reader("s3", Tracking("bucket", (
        T("versioningConfiguration.status", "versioning"),
        T("versioningConfiguration.mfaDelete", "MFA delete", computed=True),
    ), gone="versioning configuration removed", subject="id"), read_one=_read_bucket_versioning),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Reader(
        "s3", Tracking("bucket", (T("rules", "encryption"),), gone="encryption removed", subject="id"),
        read_one=_read_bucket_encryption),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Reader("s3", Tracking("bucket", (
        T("blockPublicAcls", "block public ACLs", default=False),
        T("blockPublicPolicy", "block public policy", default=False),
        T("ignorePublicAcls", "ignore public ACLs", default=False),
        T("restrictPublicBuckets", "restrict public buckets", default=False),
    ), gone="public access block removed", subject="id"), read_one=_read_public_access_block),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Reader("s3", Tracking("bucket", (
        T("rules", "lifecycle rules", "keyed:id"),
    ), gone="lifecycle rules removed", subject="id"), read_one=_read_bucket_lifecycle),
    "aws:s3/bucketPolicy:BucketPolicy": Reader("s3", Tracking("bucket", (
        T("policy", "bucket policy", "policy"),
    ), gone="bucket policy removed", subject="id"), read_one=_read_bucket_policy),
    "aws:iam/role:Role": Reader("iam", Tracking("IAM role", (
        T("assumeRolePolicy", "trust policy", "policy"), T("maxSessionDuration", "max session", default=3600),
        T("path", "path", default="/"), T("permissionsBoundary", "permissions boundary"),
        T("description", "description", computed=True), _TAGS,
    )), read_one=_read_role),
    "aws:iam/rolePolicy:RolePolicy": Reader("iam", Tracking("IAM role policy", (
        T("policy", "permissions", "policy"),
    ), gone="removed"), read_one=_read_role_policy),
    "aws:ecr/repository:Repository": Reader("ecr", Tracking("image repository", (
        T("imageTagMutability", "tag mutability", default="MUTABLE"),
        T("imageScanningConfiguration.scanOnPush", "scan on push", default=False),
        T("encryptionConfigurations", "encryption", computed=True),
    )), read_one=_read_ecr_repository),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": Reader("sagemaker", Tracking("model registry group", (
        T("modelPackageGroupDescription", "description", computed=True),
    )), read_one=_read_model_package_group),
    "aws:sagemaker/pipeline:Pipeline": Reader("sagemaker", Tracking("pipeline", (
        T("pipelineDefinition", "pipeline definition", "json"), T("roleArn", "execution role"),
        T("pipelineDisplayName", "display name", computed=True),
        T("pipelineDescription", "description", computed=True),
        T("parallelismConfiguration.maxParallelExecutionSteps", "max parallel steps", computed=True),
    )), read_one=_read_pipeline),
    "aws:sagemaker/model:Model": Reader("sagemaker", Tracking("model", (
        T("primaryContainer.image", "image"), T("primaryContainer.modelDataUrl", "model artifact"),
        T("primaryContainer.environment", "container environment", "map", sensitive=True),
        T("primaryContainer.mode", "container mode", computed=True),
        T("containers", "containers", "keyed:containerHostname", computed=True),
        T("executionRoleArn", "execution role"), T("enableNetworkIsolation", "network isolation", default=False),
    )), read_one=_read_model),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Reader("sagemaker", Tracking("endpoint config", (
        T("productionVariants", "variants", "keyed:variantName"),
        T("shadowProductionVariants", "shadow variants", "keyed:variantName"),
        T("kmsKeyArn", "KMS key", computed=True),
        T("dataCaptureConfig.enableCapture", "data capture", computed=True),
        T("dataCaptureConfig.initialSamplingPercentage", "data capture sampling"),
        T("dataCaptureConfig.destinationS3Uri", "data capture destination"),
        T("asyncInferenceConfig", "async inference", computed=True),
    )), read_one=_read_endpoint_config),
    "aws:sagemaker/endpoint:Endpoint": Reader("sagemaker", Tracking("endpoint", (
        T("endpointConfigName", "endpoint config"),
    )), read_one=_read_endpoint),
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
    "aws:cloudwatch/metricAlarm:MetricAlarm": Reader("cloudwatch", Tracking("alarm", (
        T("metricName", "metric"), T("namespace", "namespace"), T("statistic", "statistic"),
        T("extendedStatistic", "statistic"), T("dimensions", "dimensions", "map"),
        T("comparisonOperator", "comparison"), T("threshold", "threshold"),
        T("evaluationPeriods", "evaluation periods"), T("period", "period"),
        T("datapointsToAlarm", "datapoints to alarm", computed=True),
        T("treatMissingData", "missing data", default="missing"),
        T("alarmActions", "alarm actions", "set"), T("okActions", "OK actions", "set"),
        T("insufficientDataActions", "insufficient-data actions", "set"),
        T("actionsEnabled", "actions enabled", default=True),
        T("metricQueries", "metric queries", "keyed:id"),
        T("alarmDescription", "description", computed=True),
    )), read_many=_read_metric_alarms, batch_size=100),
    "aws:cloudwatch/eventRule:EventRule": Reader("events", Tracking("event rule", (
        T("eventPattern", "event pattern", "json"), T("scheduleExpression", "schedule"),
        T("state", "state", default="ENABLED"), T("description", "description", computed=True),
        T("roleArn", "role"),
    )), read_one=_read_event_rule),
    "aws:cloudwatch/eventTarget:EventTarget": Reader("events", Tracking("event target", (
        T("arn", "target"), T("input", "input", "json"), T("inputPath", "input path"), T("roleArn", "role"),
        T("sagemakerPipelineTarget.pipelineParameterLists", "pipeline parameters", "keyed:name"),
    ), gone="removed"), read_one=_read_event_target),
    "aws:sns/topic:Topic": Reader("sns", Tracking("alert topic", (
        T("displayName", "display name"), T("kmsMasterKeyId", "KMS key"),
        T("fifoTopic", "FIFO", default=False), T("policy", "topic policy", "policy", computed=True),
    )), read_one=_read_sns_topic),
    "aws:sns/topicSubscription:TopicSubscription": Reader("sns", Tracking("alert subscription", (
        T("topic", "topic"), T("protocol", "protocol"), T("endpoint", "endpoint"),
        T("rawMessageDelivery", "raw delivery", default=False), T("filterPolicy", "filter policy", "json"),
    ), gone="removed"), read_one=_read_sns_subscription),
    "aws:secretsmanager/secret:Secret": Reader("secretsmanager", Tracking("secret", (
        T("description", "description", computed=True), T("kmsKeyId", "KMS key", computed=True),
    )), read_one=_read_secret),
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": Reader("chatbot", Tracking(
        "Slack channel", (
            T("slackChannelId", "channel"), T("slackTeamId", "workspace"), T("iamRoleArn", "role"),
            T("snsTopicArns", "topics", "set"), T("loggingLevel", "logging level", computed=True),
            T("guardrailPolicyArns", "guardrail policies", "set", computed=True),
        )), read_one=_read_slack_channel),
    "aws:lambda/function:Function": Reader("lambda", Tracking("function", (
        T("runtime", "runtime"), T("handler", "handler"), T("memorySize", "memory", default=128),
        T("timeout", "timeout", default=3), T("role", "role"), T("imageUri", "image"),
        T("packageType", "package type", default="Zip"), T("architectures", "architectures", "set", computed=True),
    )), read_one=_read_lambda_function),
    "aws:scheduler/schedule:Schedule": Reader("scheduler", Tracking("schedule", (
        T("scheduleExpression", "schedule"), T("scheduleExpressionTimezone", "timezone", default="UTC"),
        T("state", "state", default="ENABLED"), T("target.arn", "target"), T("target.roleArn", "role"),
        T("target.input", "input", "json"),
        T("target.sagemakerPipelineParameters.pipelineParameters", "pipeline parameters", "keyed:name"),
        T("flexibleTimeWindow.mode", "flexible window"),
    )), read_one=_read_schedule),
}

TRACKING: dict[str, Tracking] = {type_: reader.tracking for type_, reader in READERS.items()}


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """One unit of work for the pool: one resource, or a batch for a ``read_many`` reader."""

    reader: Reader
    region: str
    resources: tuple[StateResource, ...]


def _provider_regions(resources: Sequence[StateResource]) -> dict[str, str]:
    """Provider URN -> its ``region`` input, for providers among the scanned resources."""
    return {
        r.urn: r.inputs["region"] for r in resources
        if r.type.startswith("pulumi:providers:") and isinstance(r.inputs.get("region"), str)
    }


def _region_for(resource: StateResource, providers: Mapping[str, str], default: str) -> str:
    own = resource.inputs.get("region")
    if isinstance(own, str) and own:
        return own
    provider_urn = (resource.provider or "").rsplit("::", 1)[0]
    return providers.get(provider_urn, default)


def _readable(resource: StateResource) -> bool:
    return (resource.custom and resource.id is not None and resource.id != ""
            and not resource.type.startswith("pulumi:providers:") and resource.type in READERS)


def plan_units(resources: Sequence[StateResource], region: str) -> list[_Unit]:
    """Group the readable resources into units: one per resource, or batches of ``batch_size``
    per (type, region) for readers that read many at once. Deterministic order."""
    providers = _provider_regions(resources)
    groups: dict[tuple[str, str], list[StateResource]] = {}
    for res in sorted(filter(_readable, resources), key=lambda r: r.urn):
        groups.setdefault((res.type, _region_for(res, providers, region)), []).append(res)
    units: list[_Unit] = []
    for (type_, where), members in sorted(groups.items()):
        reader = READERS[type_]
        size = reader.batch_size if reader.read_many else 1
        units.extend(_Unit(reader, where, tuple(members[i:i + size])) for i in range(0, len(members), size))
    return units


def _read_unit(unit: _Unit, ctx: ScanContext) -> dict[str, Reading | None]:
    client = ctx.client(unit.reader.service, unit.region)
    if unit.reader.read_many is not None:
        return unit.reader.read_many(client, unit.resources, ctx)
    res = unit.resources[0]
    assert unit.reader.read_one is not None, "reader without read function (this is a bug in mlops-infra)"
    return {res.urn: unit.reader.read_one(client, res, ctx)}


def _run_unit(unit: _Unit, ctx: ScanContext) -> tuple[dict[str, Reading | None], dict[str, str]]:
    """Read one unit; returns (readings with ``None`` = missing, errors by URN)."""
    try:
        return call_with_retry(lambda: _read_unit(unit, ctx), ctx.retry), {}
    except Exception as error:
        if is_not_found(error) and len(unit.resources) == 1:
            return {unit.resources[0].urn: None}, {}
        message = describe_error(error)
        if not (error_code(error) or _is_botocore_error(error)):
            message += " (this is a bug in mlops-infra)"
        return {}, {r.urn: message for r in unit.resources}


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError

    return isinstance(error, BotoCoreError)


def _botocore_config(max_workers: int, endpoint_url: str | None, retry: RetryPolicy) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": retry.botocore_max_attempts},
        max_pool_connections=max(10, max_workers),
        connect_timeout=10, read_timeout=30,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )


def _default_session() -> Any:
    import boto3

    return boto3.Session()


def scan_aws(resources: Iterable[StateResource], *, region: str, session_factory: Callable[[], Any] | None = None,
             endpoint_url: str | None = None, max_workers: int = 8,
             retry: RetryPolicy | None = None) -> LiveState:
    """Read every readable resource live and return a :class:`LiveState` (see module docstring).

    ``session_factory`` returns a ``boto3.Session`` (called once; default ``boto3.Session()``
    with the usual credential chain); ``endpoint_url`` points every client at one endpoint (a
    moto server in tests). At most ``max_workers`` reads are in flight at once.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    retry = retry or RetryPolicy()
    units = plan_units(list(resources), region)
    ctx = ScanContext(session_factory or _default_session, endpoint_url,
                      _botocore_config(max_workers, endpoint_url, retry), retry)
    readings: dict[str, Reading | None] = {}
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aws-live") as pool:
        for found, failed in pool.map(lambda u: _run_unit(u, ctx), units):
            readings.update(found)
            errors.update(failed)
    return _live_state(units, readings, errors)


def _live_state(units: Sequence[_Unit], readings: Mapping[str, Reading | None],
                errors: Mapping[str, str]) -> LiveState:
    live: dict[str, StateResource] = {}
    missing: set[str] = set()
    for res in sorted((r for u in units for r in u.resources), key=lambda r: r.urn):
        if res.urn in errors or res.urn not in readings:
            continue
        reading = readings[res.urn]
        if reading is None:
            missing.add(res.urn)
            continue
        live[res.urn] = StateResource(urn=res.urn, type=res.type, custom=True, id=res.id, parent=res.parent,
                                      provider=res.provider, inputs=reading.inputs, outputs=reading.outputs)
    return LiveState(resources=live, missing=frozenset(missing), errors=dict(sorted(errors.items())))
