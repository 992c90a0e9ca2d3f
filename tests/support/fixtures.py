"""pytest fixtures around :mod:`tests.support.moto_server`, and a small seeded ML stack.

Import them into a test module or a conftest (``from tests.support.fixtures import moto_server,
moto_url``); no ``pytest_plugins`` needed.

- ``moto_server`` (module scope): the URL of a patched moto server on 127.0.0.1, stopped when
  the module's tests are done.
- ``moto_url`` (function scope): the same URL with every moto backend reset before and after the
  test (moto's backends are in process memory, shared by every server of the process, so a test that
  starts its own server never sees what a ``moto_url`` test made).
- :func:`seed_ml_stack` creates, with boto3, what the compiled AWS stack of a small fraud-scoring
  system would create (KMS key and alias; a data bucket with versioning, KMS encryption, public
  access block, lifecycle and policy; an artifacts bucket; a SageMaker role with an inline
  policy; model, endpoint config on ``ml.g5.xlarge`` and endpoint; autoscaling target and
  policy; two alarms; an alert topic and an email subscription; an EventBridge rule and target;
  an ECR repository, a model package group, a pipeline, a schedule and a secret) and returns
  :class:`SeededStack`: the physical names plus a hand-built :class:`PriorState` whose inputs
  are shaped the way Pulumi stores them (camelCase, ``__defaults``, ``tagsAll`` outputs), with
  a component, a provider and a secret input among them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlops_infra.cli.commands.plan import BOUNDED_READ
from mlops_infra.graph import make_urn
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, PriorState, StateResource
from tests.support.moto_server import REGION, client, reset, running_moto_server

PROJECT, STACK = "fraud", "dev"
ACCOUNT = "123456789012"
PROVIDER_URN = make_urn(STACK, PROJECT, ["pulumi:providers:aws"], "aws-us-east-1")
COMPONENT_TYPE = "mlops:serving:Endpoint"
COMPONENT_URN = make_urn(STACK, PROJECT, [COMPONENT_TYPE], "scorer")


STRAY_READ_WAIT = 30.0


@pytest.fixture()
def no_stray_reads() -> Iterator[dict[str, float]]:
    """After the test, wait (at most :data:`STRAY_READ_WAIT` s in all) for the bounded reads' threads
    the test's commands gave up on: such a read runs on until its client gives up, retrying with
    random jitter (botocore, the Kubernetes client), and inside a later test of the same worker that
    moves the ``random`` module under Hypothesis's generation (its ``HypothesisDeprecationWarning``).
    Yields a dict where it records how long it waited (``waited``), for tests of the fixture."""
    record: dict[str, float] = {}
    yield record
    started = time.monotonic()
    for thread in threading.enumerate():
        if thread.name.startswith(BOUNDED_READ + ":"):  # cli/commands/plan._within's threads
            thread.join(max(0.0, started + STRAY_READ_WAIT - time.monotonic()))
    record["waited"] = time.monotonic() - started


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with running_moto_server() as url:
        yield url


@pytest.fixture()
def moto_url(moto_server: str) -> Iterator[str]:
    reset(moto_server)
    yield moto_server
    reset(moto_server)  # the backends outlive this server: a later test's own server would see them


@pytest.fixture
def default_keys(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's test keys (account 123456789012) through the default credential chain."""
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_url


@dataclass
class SeededStack:
    """Names of what :func:`seed_ml_stack` created and the matching prior state."""

    url: str
    prior: PriorState
    data_bucket: str
    artifacts_bucket: str
    endpoint: str
    topic_arn: str
    subscription_arn: str
    alarms: tuple[str, ...]

    def urn(self, type_: str, name: str) -> str:
        """The URN of a seeded resource (children of the ``scorer`` component for serving)."""
        for urn, res in self.prior.resources.items():
            if res.type == type_ and urn.endswith(f"::{name}"):
                return urn
        raise KeyError(f"{type_}::{name}")

    def client(self, service: str) -> Any:
        return client(service, self.url)


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


TRUST = _policy([{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                  "Action": "sts:AssumeRole"}])
INLINE = _policy([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                   "Resource": ["arn:aws:s3:::fraud-dev-data/*"]}])
EVENT_PATTERN = json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
                            "detail": {"ModelApprovalStatus": ["Approved"]}})
PIPELINE_DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})


class _Prior:
    """Builds StateResource objects the way a Pulumi checkpoint records them."""

    def __init__(self) -> None:
        self.resources: dict[str, StateResource] = {}

    def add(self, type_: str, name: str, id_: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None,
            *, parent: str | None = None) -> str:
        chain = [COMPONENT_TYPE, type_] if parent else [type_]
        urn = make_urn(STACK, PROJECT, chain, name)
        self.resources[urn] = StateResource(
            urn=urn, type=type_, custom=True, id=id_, parent=parent, provider=PROVIDER_URN,
            inputs={"__defaults": [], **inputs}, outputs={"id": id_, **inputs, **(outputs or {})},
        )
        return urn

    def build(self) -> PriorState:
        self.resources[PROVIDER_URN] = StateResource(
            urn=PROVIDER_URN, type="pulumi:providers:aws", id="prov-id", inputs={"region": REGION})
        self.resources[COMPONENT_URN] = StateResource(
            urn=COMPONENT_URN, type=COMPONENT_TYPE, custom=False,
            inputs={"modelVersion": "3", "instanceType": "ml.g5.xlarge", "replicas": 2})
        return PriorState("test", 3, "f" * 64, PROJECT, STACK, dict(sorted(self.resources.items())))


def _seed_kms_and_buckets(url: str, prior: _Prior, tags: dict[str, str]) -> str:
    kms, s3 = client("kms", url), client("s3", url)
    key = kms.create_key(Description="fraud-dev data key")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/fraud-dev-data", TargetKeyId=key["KeyId"])
    prior.add("aws:kms/key:Key", "data-key", key["KeyId"],
              {"description": "fraud-dev data key", "enableKeyRotation": True, "isEnabled": True,
               "deletionWindowInDays": 30}, {"arn": key["Arn"], "keyId": key["KeyId"]})
    prior.add("aws:kms/alias:Alias", "data-key-alias", "alias/fraud-dev-data",
              {"name": "alias/fraud-dev-data", "targetKeyId": key["Arn"]})
    for bucket in ("fraud-dev-data", "fraud-dev-artifacts"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
            "BucketKeyEnabled": True}]})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        short = bucket.removeprefix("fraud-dev-")
        prior.add("aws:s3/bucket:Bucket", short, bucket, {"bucket": bucket, "forceDestroy": False, "tags": tags},
                  {"arn": f"arn:aws:s3:::{bucket}", "tagsAll": tags})
        prior.add("aws:s3/bucketVersioning:BucketVersioning", f"{short}-versioning", bucket,
                  {"bucket": bucket, "versioningConfiguration": {"__defaults": [], "status": "Enabled"}})
        prior.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                  f"{short}-encryption", bucket, {"bucket": bucket, "rules": [{
                      "__defaults": [], "bucketKeyEnabled": True,
                      "applyServerSideEncryptionByDefault": {"__defaults": [], "sseAlgorithm": "aws:kms",
                                                             "kmsMasterKeyId": key["Arn"]}}]})
        prior.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{short}-public-access", bucket,
                  {"bucket": bucket, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
                   "restrictPublicBuckets": True, "skipDestroy": False})
    _seed_data_bucket_extras(s3, prior)
    return key["Arn"]


def _seed_data_bucket_extras(s3: Any, prior: _Prior) -> None:
    bucket = "fraud-dev-data"
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire-scratch", "Status": "Enabled", "Filter": {"Prefix": "scratch/"}, "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}]})
    prior.add("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data-lifecycle", bucket,
              {"bucket": bucket, "rules": [{"__defaults": [], "id": "expire-scratch", "status": "Enabled",
                                            "filter": {"prefix": "scratch/"}, "expiration": {"days": 30},
                                            "noncurrentVersionExpiration": {"noncurrentDays": 90}}]})
    policy = _policy([{"Sid": "DenyUnencryptedPuts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}])
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    # Pulumi keeps the string it was given; a different spacing must not be drift.
    prior.add("aws:s3/bucketPolicy:BucketPolicy", "data-policy", bucket,
              {"bucket": bucket, "policy": json.dumps(json.loads(policy), indent=2)})


def _seed_serving(url: str, prior: _Prior, role_arn: str) -> None:
    sm, aas = client("sagemaker", url), client("application-autoscaling", url)
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/fraud-scorer:3"
    sm.create_model(ModelName="fraud-scorer-v3", ExecutionRoleArn=role_arn, PrimaryContainer={
        "Image": image, "ModelDataUrl": "s3://fraud-dev-data/models/v3/model.tar.gz",
        "Environment": {"MODEL_VERSION": "3", "API_TOKEN": "s3cr3t-token"}})
    prior.add("aws:sagemaker/model:Model", "scorer-model", "fraud-scorer-v3", {
        "name": "fraud-scorer-v3", "executionRoleArn": role_arn,
        "primaryContainer": {"__defaults": [], "image": image,
                             "modelDataUrl": "s3://fraud-dev-data/models/v3/model.tar.gz",
                             "environment": {"MODEL_VERSION": "3",
                                             "API_TOKEN": {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}}}},
        parent=COMPONENT_URN)
    variant = {"VariantName": "primary", "ModelName": "fraud-scorer-v3", "InstanceType": "ml.g5.xlarge",
               "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}
    sm.create_endpoint_config(EndpointConfigName="fraud-scorer-cfg-1a2b", ProductionVariants=[variant])
    prior.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "scorer-config", "fraud-scorer-cfg-1a2b", {
        "name": "fraud-scorer-cfg-1a2b", "productionVariants": [{
            "__defaults": [], "variantName": "primary", "modelName": "fraud-scorer-v3", "instanceType": "ml.g5.xlarge",
            "initialInstanceCount": 2, "initialVariantWeight": 1}]}, parent=COMPONENT_URN)
    sm.create_endpoint(EndpointName="fraud-scorer", EndpointConfigName="fraud-scorer-cfg-1a2b")
    prior.add("aws:sagemaker/endpoint:Endpoint", "scorer", "fraud-scorer",
              {"name": "fraud-scorer", "endpointConfigName": "fraud-scorer-cfg-1a2b"}, parent=COMPONENT_URN)
    resource_id, dimension = "endpoint/fraud-scorer/variant/primary", "sagemaker:variant:DesiredInstanceCount"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=dimension,
                                 MinCapacity=2, MaxCapacity=4)
    prior.add("aws:appautoscaling/target:Target", "scorer-scaling", resource_id, {
        "resourceId": resource_id, "scalableDimension": dimension, "serviceNamespace": "sagemaker",
        "minCapacity": 2, "maxCapacity": 4}, parent=COMPONENT_URN)
    tracking = {"TargetValue": 70.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
    aas.put_scaling_policy(PolicyName="fraud-scorer-invocations", ServiceNamespace="sagemaker", ResourceId=resource_id,
                           ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration=tracking)
    prior.add("aws:appautoscaling/policy:Policy", "scorer-scaling-policy", "fraud-scorer-invocations", {
        "name": "fraud-scorer-invocations", "policyType": "TargetTrackingScaling", "resourceId": resource_id,
        "scalableDimension": dimension, "serviceNamespace": "sagemaker",
        "targetTrackingScalingPolicyConfiguration": {
            "__defaults": [], "targetValue": 70, "scaleInCooldown": 300, "scaleOutCooldown": 60,
            "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}},
        parent=COMPONENT_URN)


def _seed_alerting(url: str, prior: _Prior) -> tuple[str, str, tuple[str, ...]]:
    sns, cw, events = client("sns", url), client("cloudwatch", url), client("events", url)
    topic = sns.create_topic(Name="fraud-dev-alerts", Attributes={"DisplayName": "fraud alerts"})["TopicArn"]
    prior.add("aws:sns/topic:Topic", "alerts", topic, {"name": "fraud-dev-alerts", "displayName": "fraud alerts"})
    sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    prior.add("aws:sns/topicSubscription:TopicSubscription", "alerts-oncall", sub,
              {"topic": topic, "protocol": "email", "endpoint": "oncall@example.com"})
    alarms = ("fraud-scorer-latency-p99", "fraud-scorer-5xx")
    for name, metric, threshold in ((alarms[0], "ModelLatency", 250000.0), (alarms[1], "Invocation5XXErrors", 5.0)):
        cw.put_metric_alarm(AlarmName=name, MetricName=metric, Namespace="AWS/SageMaker", Statistic="Average",
                            Dimensions=[{"Name": "EndpointName", "Value": "fraud-scorer"},
                                        {"Name": "VariantName", "Value": "primary"}],
                            Period=60, EvaluationPeriods=3, Threshold=threshold,
                            ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic], OKActions=[topic],
                            TreatMissingData="notBreaching")
        prior.add("aws:cloudwatch/metricAlarm:MetricAlarm", name.removeprefix("fraud-"), name, {
            "name": name, "metricName": metric, "namespace": "AWS/SageMaker", "statistic": "Average",
            "dimensions": {"EndpointName": "fraud-scorer", "VariantName": "primary"}, "period": 60,
            "evaluationPeriods": 3, "threshold": threshold, "comparisonOperator": "GreaterThanThreshold",
            "alarmActions": [topic], "okActions": [topic], "treatMissingData": "notBreaching",
            "actionsEnabled": True}, parent=COMPONENT_URN)
    events.put_rule(Name="fraud-dev-model-approved", EventPattern=EVENT_PATTERN, State="ENABLED")
    prior.add("aws:cloudwatch/eventRule:EventRule", "model-approved", "fraud-dev-model-approved",
              {"name": "fraud-dev-model-approved", "eventPattern": EVENT_PATTERN, "state": "ENABLED"})
    events.put_targets(Rule="fraud-dev-model-approved", Targets=[{"Id": "notify", "Arn": topic}])
    prior.add("aws:cloudwatch/eventTarget:EventTarget", "model-approved-notify", "fraud-dev-model-approved-notify",
              {"rule": "fraud-dev-model-approved", "targetId": "notify", "arn": topic})
    return topic, sub, alarms


def _seed_ml_platform(url: str, prior: _Prior, role_arn: str) -> None:
    ecr, sm = client("ecr", url), client("sagemaker", url)
    scheduler, secrets = client("scheduler", url), client("secretsmanager", url)
    ecr.create_repository(repositoryName="fraud-scorer", imageScanningConfiguration={"scanOnPush": True},
                          imageTagMutability="IMMUTABLE")
    prior.add("aws:ecr/repository:Repository", "scorer-images", "fraud-scorer", {
        "name": "fraud-scorer", "imageTagMutability": "IMMUTABLE", "forceDelete": False,
        "imageScanningConfiguration": {"__defaults": [], "scanOnPush": True}})
    sm.create_model_package_group(ModelPackageGroupName="fraud-scorer", ModelPackageGroupDescription="fraud scorer")
    prior.add("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "scorer-registry", "fraud-scorer", {
        "modelPackageGroupName": "fraud-scorer", "modelPackageGroupDescription": "fraud scorer"})
    sm.create_pipeline(PipelineName="fraud-train", PipelineDefinition=PIPELINE_DEFINITION, RoleArn=role_arn,
                       PipelineDisplayName="fraud-train")
    prior.add("aws:sagemaker/pipeline:Pipeline", "train-pipeline", "fraud-train", {
        "pipelineName": "fraud-train", "pipelineDisplayName": "fraud-train", "roleArn": role_arn,
        "pipelineDefinition": json.dumps(json.loads(PIPELINE_DEFINITION), separators=(",", ":"))})
    pipeline_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/fraud-train"
    scheduler.create_schedule(Name="fraud-retrain-weekly", ScheduleExpression="cron(0 3 ? * MON *)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": pipeline_arn, "RoleArn": role_arn})
    prior.add("aws:scheduler/schedule:Schedule", "retrain-weekly", "default/fraud-retrain-weekly", {
        "name": "fraud-retrain-weekly", "groupName": "default", "scheduleExpression": "cron(0 3 ? * MON *)",
        "flexibleTimeWindow": {"mode": "OFF"}, "target": {"arn": pipeline_arn, "roleArn": role_arn}})
    arn = secrets.create_secret(Name="fraud-dev-slack-webhook", SecretString="https://hooks.example/x")["ARN"]
    prior.add("aws:secretsmanager/secret:Secret", "slack-webhook", arn, {"name": "fraud-dev-slack-webhook"})


def seed_ml_stack(url: str) -> SeededStack:
    """Create the stack in moto and return its names and prior state (see module docstring)."""
    prior = _Prior()
    tags = {"mlops:system": "fraud", "mlops:env": "dev"}
    _seed_kms_and_buckets(url, prior, tags)
    iam = client("iam", url)
    role_arn = iam.create_role(RoleName="fraud-dev-sagemaker", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    prior.add("aws:iam/role:Role", "sagemaker-role", "fraud-dev-sagemaker", {
        "name": "fraud-dev-sagemaker", "assumeRolePolicy": TRUST, "forceDetachPolicies": False,
        "maxSessionDuration": 3600, "path": "/"}, {"arn": role_arn})
    iam.put_role_policy(RoleName="fraud-dev-sagemaker", PolicyName="data-access", PolicyDocument=INLINE)
    prior.add("aws:iam/rolePolicy:RolePolicy", "sagemaker-data-access", "fraud-dev-sagemaker:data-access",
              {"role": "fraud-dev-sagemaker", "name": "data-access", "policy": INLINE})
    _seed_serving(url, prior, role_arn)
    topic, sub, alarms = _seed_alerting(url, prior)
    _seed_ml_platform(url, prior, role_arn)
    return SeededStack(url, prior.build(), "fraud-dev-data", "fraud-dev-artifacts", "fraud-scorer", topic, sub, alarms)


@pytest.fixture()
def seeded(moto_url: str) -> SeededStack:
    """A freshly seeded stack on a reset moto server."""
    return seed_ml_stack(moto_url)
