"""Live AWS reads: pure mappers, error handling, retries, concurrency, and a scan against moto."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mlops_infra.state import aws_live
from mlops_infra.state.aws_live import (
    READERS,
    TRACKING,
    RetryPolicy,
    call_with_retry,
    describe_error,
    is_not_found,
    map_bucket_encryption,
    map_bucket_lifecycle,
    map_bucket_versioning,
    map_endpoint,
    map_endpoint_config,
    map_event_target,
    map_kms_key,
    map_lambda_function,
    map_metric_alarm,
    map_model,
    map_role,
    map_schedule,
    map_secret,
    map_slack_channel,
    map_sns_subscription,
    plan_units,
    pulumi_name,
    scan_aws,
)
from mlops_infra.state.aws_live import scan as scan_module
from mlops_infra.state.model import StateResource
from tests.support import fixtures
from tests.support.fixtures import SeededStack
from tests.support.moto_server import shared_session

moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded
REGION = "us-east-1"
NO_SLEEP = RetryPolicy(attempts=3, base_delay=0.0, botocore_max_attempts=1, sleep=lambda _: None)


def client_error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def res(type_: str, name: str, id_: str | None = None, **kwargs: Any) -> StateResource:
    return StateResource(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, id=id_ or name, **kwargs)


# ------------------------------------------------------------------------------------------
# Pure mappers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("aws", "pulumi"), [
    ("KMSMasterKeyID", "kmsMasterKeyId"), ("SSEAlgorithm", "sseAlgorithm"), ("ID", "id"),
    ("MemorySizeInMB", "memorySizeInMb"), ("OKActions", "okActions"), ("DestinationS3Uri", "destinationS3Uri"),
    ("InitialVariantWeight", "initialVariantWeight"), ("EnableSSMAccess", "enableSsmAccess"),
    ("VolumeSizeInGB", "volumeSizeInGb"), ("RoleARN", "roleArn"),
])
def test_pulumi_name_follows_engine_spelling(aws: str, pulumi: str) -> None:
    assert pulumi_name(aws) == pulumi


def test_versioning_maps_to_pulumi_block_and_never_enabled_is_disabled() -> None:
    assert map_bucket_versioning({"Status": "Suspended"}) == {"versioningConfiguration": {"status": "Suspended"}}
    assert map_bucket_versioning({}) == {"versioningConfiguration": {"status": "Disabled"}}


def test_encryption_maps_rules() -> None:
    response = {"ServerSideEncryptionConfiguration": {"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "key-1"},
        "BucketKeyEnabled": True}]}}
    assert map_bucket_encryption(response) == {"rules": [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "key-1"},
        "bucketKeyEnabled": True}]}


def test_lifecycle_rules_use_pulumi_names() -> None:
    response = {"Rules": [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                           "Transitions": [{"Days": 10, "StorageClass": "GLACIER"}],
                           "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}}]}
    assert map_bucket_lifecycle(response) == {"rules": [{
        "id": "tmp", "status": "Enabled", "filter": {"prefix": "tmp/"},
        "transitions": [{"days": 10, "storageClass": "GLACIER"}],
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 3}}]}


def test_endpoint_config_variants_and_data_capture() -> None:
    reading = map_endpoint_config({
        "EndpointConfigName": "cfg", "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
        "ProductionVariants": [{"VariantName": "a", "ModelName": "m", "InstanceType": "ml.g5.xlarge",
                                "InitialInstanceCount": 2, "InitialVariantWeight": 1.0,
                                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}],
        "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 10,
                              "DestinationS3Uri": "s3://b/capture", "CaptureOptions": [{"CaptureMode": "Input"}]},
    })
    assert reading.inputs["productionVariants"] == [{
        "variantName": "a", "modelName": "m", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2,
        "initialVariantWeight": 1.0, "routingConfigs": [{"routingStrategy": "LEAST_OUTSTANDING_REQUESTS"}]}]
    assert reading.inputs["kmsKeyArn"] == "arn:aws:kms:us-east-1:1:key/k"
    assert reading.inputs["dataCaptureConfig"] == {
        "enableCapture": True, "initialSamplingPercentage": 10, "destinationS3Uri": "s3://b/capture",
        "captureOptions": [{"captureMode": "Input"}]}


def test_endpoint_runtime_variants_go_to_outputs() -> None:
    reading = map_endpoint({"EndpointName": "e", "EndpointConfigName": "c", "EndpointStatus": "InService",
                            "ProductionVariants": [{"VariantName": "a", "CurrentWeight": 0.5, "DesiredWeight": 0.5,
                                                    "CurrentInstanceCount": 3, "DesiredInstanceCount": 4,
                                                    "DeployedImages": [{"SpecifiedImage": "x"}]}]})
    assert reading.inputs == {"name": "e", "endpointConfigName": "c"}
    assert reading.outputs["productionVariants"] == [{"variantName": "a", "currentWeight": 0.5, "desiredWeight": 0.5,
                                                      "currentInstanceCount": 3, "desiredInstanceCount": 4}]


def test_drift_never_compares_an_endpoints_tags() -> None:
    """The rollout controller keeps its state in tags on the endpoint (``mlops_infra/endpoint_tags.py``),
    which the AWS provider ignores (``ignoreTags``): drift must not report them either. It reads no tag
    of an endpoint at all: neither the reading nor what drift tracks has ``tags``."""
    from mlops_infra.state.aws_live import TRACKING

    tracked = {prop.path for prop in TRACKING["aws:sagemaker/endpoint:Endpoint"].properties}
    assert tracked == {"endpointConfigName"}
    reading = map_endpoint({"EndpointName": "e", "EndpointConfigName": "c", "EndpointArn": "arn:e",
                            "Tags": [{"Key": "mlops-infra:rollout:phase", "Value": "progressing"}]})
    assert "tags" not in reading.inputs and "tags" not in reading.outputs


def test_model_keeps_environment_keys_verbatim() -> None:
    reading = map_model({"ModelName": "m", "ExecutionRoleArn": "r", "PrimaryContainer": {
        "Image": "i", "ModelDataUrl": "s3://b/m.tar.gz", "Environment": {"SAGEMAKER_PROGRAM": "x", "HF_TASK": "y"}}})
    assert reading.inputs["primaryContainer"] == {"image": "i", "modelDataUrl": "s3://b/m.tar.gz",
                                                  "environment": {"SAGEMAKER_PROGRAM": "x", "HF_TASK": "y"}}


def test_alarm_dimensions_become_a_map_and_metrics_metric_queries() -> None:
    reading = map_metric_alarm({
        "AlarmName": "a", "OKActions": ["t"], "AlarmActions": ["t"], "Threshold": 5.0,
        "Dimensions": [{"Name": "EndpointName", "Value": "e"}], "EvaluateLowSampleCountPercentile": "ignore",
        "Metrics": [{"Id": "m1", "ReturnData": True, "MetricStat": {
            "Metric": {"MetricName": "Invocations", "Namespace": "AWS/SageMaker",
                       "Dimensions": [{"Name": "EndpointName", "Value": "e"}]}, "Period": 60, "Stat": "Sum"}}],
    })
    assert reading.inputs["dimensions"] == {"EndpointName": "e"}
    assert reading.inputs["okActions"] == ["t"]
    assert reading.inputs["evaluateLowSampleCountPercentiles"] == "ignore"
    assert reading.inputs["metricQueries"] == [{"id": "m1", "returnData": True, "metric": {
        "metricName": "Invocations", "namespace": "AWS/SageMaker", "dimensions": {"EndpointName": "e"},
        "period": 60, "stat": "Sum"}}]


def test_role_policy_documents_are_json_strings() -> None:
    reading = map_role({"RoleName": "r", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                        "MaxSessionDuration": 3600, "Path": "/", "Tags": [{"Key": "team", "Value": "ml"}]})
    assert reading.inputs["assumeRolePolicy"] == '{"Statement":[],"Version":"2012-10-17"}'
    assert reading.inputs["tags"] == {"team": "ml"}


def test_sns_attribute_strings_become_booleans() -> None:
    reading = map_sns_subscription({"TopicArn": "t", "Protocol": "email", "Endpoint": "a@b.c",
                                    "RawMessageDelivery": "true", "SubscriptionArn": "s"})
    assert reading.inputs == {"topic": "t", "protocol": "email", "endpoint": "a@b.c", "rawMessageDelivery": True}


def test_secret_scheduled_for_deletion_is_gone_and_value_never_read() -> None:
    assert map_secret({"Name": "s", "DeletedDate": "2026-01-01"}) is None
    assert "secretString" not in map_secret({"Name": "s", "ARN": "a"}).inputs


def test_kms_key_and_other_mappers() -> None:
    key = map_kms_key({"KeyId": "k", "Arn": "arn", "Enabled": True, "Description": "", "KeySpec": "SYMMETRIC_DEFAULT",
                       "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled"}, True, None)
    assert key.inputs == {"description": "", "isEnabled": True, "keyUsage": "ENCRYPT_DECRYPT",
                          "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": True}
    fn = map_lambda_function({"Configuration": {"FunctionName": "f", "Runtime": "python3.12", "MemorySize": 256,
                                                "Environment": {"Variables": {"TOKEN": "x"}}}})
    assert fn.inputs["environment"] == {"variables": {"TOKEN": "x"}} and fn.inputs["memorySize"] == 256
    slack = map_slack_channel({"ConfigurationName": "c", "SlackChannelId": "C1", "SlackTeamId": "T1",
                               "SnsTopicArns": ["t"], "IamRoleArn": "r", "ChatConfigurationArn": "arn"})
    assert slack.inputs["snsTopicArns"] == ["t"] and slack.outputs == {"chatConfigurationArn": "arn"}
    schedule = map_schedule({"Name": "s", "GroupName": "default", "ScheduleExpression": "rate(1 day)",
                             "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": {
                                 "Arn": "p", "RoleArn": "r", "SageMakerPipelineParameters": {
                                     "PipelineParameterList": [{"Name": "a", "Value": "1"}]}}})
    assert schedule.inputs["target"]["sagemakerPipelineParameters"] == {"pipelineParameters": [{"name": "a", "value": "1"}]}
    target = map_event_target({"Id": "t1", "Arn": "a", "InputTransformer": {
        "InputPathsMap": {"Status": "$.detail.status"}, "InputTemplate": "<Status>"}}, "rule", "default")
    assert target == {"targetId": "t1", "arn": "a", "rule": "rule",
                      "inputTransformer": {"inputPaths": {"Status": "$.detail.status"}, "inputTemplate": "<Status>"}}


def test_registry_tracks_every_requested_type() -> None:
    requested = {
        "aws:kms/key:Key", "aws:kms/alias:Alias", "aws:s3/bucket:Bucket", "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketPolicy:BucketPolicy",
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:ecr/repository:Repository",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:sagemaker/pipeline:Pipeline",
        "aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/endpoint:Endpoint", "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy",
        "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget", "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription",
        "aws:secretsmanager/secret:Secret", "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
        "aws:lambda/function:Function", "aws:scheduler/schedule:Schedule", "aws:sqs/queue:Queue",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        # audit refresh-2: the alert path's permissions and log groups, dashboards, image lifecycle policies
        "aws:lambda/permission:Permission", "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/dashboard:Dashboard",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        # ab61d85: EventBridge's publish grant on a told channel's topic
        "aws:sns/topicPolicy:TopicPolicy",
        # 6339c45 (audit limits-1): the drift job's contract file
        "aws:s3/bucketObjectv2:BucketObjectv2",
    }
    assert set(READERS) == requested == set(TRACKING)
    assert all((r.read_one is None) != (r.read_many is None) for r in READERS.values())


# ------------------------------------------------------------------------------------------
# Errors, retries, concurrency (fake clients, no network)
# ------------------------------------------------------------------------------------------


def test_not_found_classification() -> None:
    assert is_not_found(client_error("NoSuchBucket"))
    assert is_not_found(client_error("ValidationException", "Could not find endpoint 'arn:...'."))
    assert not is_not_found(client_error("ValidationException", "Value 'x' at 'instanceType' failed"))
    assert not is_not_found(client_error("AccessDenied", "not authorized"))


def test_error_messages_are_scrubbed() -> None:
    text = describe_error(client_error("AccessDenied", "user AKIAABCDEFGHIJKLMNOP denied, Signature=abc123&x=1"))
    assert "AKIA" not in text and "abc123" not in text and text.startswith("AccessDenied: ")


def test_throttling_is_retried_with_backoff_then_succeeds() -> None:
    calls, sleeps = [], []
    policy = RetryPolicy(attempts=4, base_delay=0.1, max_delay=1.0, sleep=sleeps.append)

    def flaky() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise client_error("ThrottlingException", "Rate exceeded")
        return "ok"

    assert call_with_retry(flaky, policy) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2  # exponential with jitter in [0.5, 1)


def test_non_throttling_errors_are_not_retried() -> None:
    calls: list[int] = []

    def denied() -> None:
        calls.append(1)
        raise client_error("AccessDenied")

    with pytest.raises(ClientError):
        call_with_retry(denied, NO_SLEEP)
    assert len(calls) == 1


class FakeSageMaker:
    """Stands in for a boto3 SageMaker client: scripted failures, in-flight accounting."""

    def __init__(self, failures: dict[str, list[Exception]] | None = None, delay: float = 0.0) -> None:
        self.failures = failures or {}
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.calls: list[str] = []
        self.tag_calls: list[list[str]] = []

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        with self.lock:
            self.calls.append(ModelName)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)
            pending = self.failures.get(ModelName)
            if pending:
                raise pending.pop(0)
            return {"ModelName": ModelName, "ModelArn": f"arn:aws:sagemaker:{REGION}:1:model/{ModelName}",
                    "ExecutionRoleArn": "r", "PrimaryContainer": {"Image": "i"}}
        finally:
            with self.lock:
                self.in_flight -= 1

    def get_resources(self, ResourceARNList: list[str]) -> dict[str, Any]:
        """The Resource Groups Tagging API's answer for untagged resources (none listed)."""
        with self.lock:
            self.tag_calls.append(list(ResourceARNList))
        return {"ResourceTagMappingList": []}


class FakeSession:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.clients: list[tuple[str, str]] = []

    def client(self, service: str, region_name: str, endpoint_url: str | None, config: Any) -> Any:
        self.clients.append((service, region_name))
        return self.fake


def models(count: int) -> list[StateResource]:
    return [res("aws:sagemaker/model:Model", f"m{i:03d}") for i in range(count)]


def test_scan_retries_throttling_and_reports_exhausted_retries_as_errors() -> None:
    fake = FakeSageMaker({
        "m000": [client_error("ThrottlingException"), client_error("TooManyRequestsException")],
        "m001": [client_error("Throttling")] * 5,
        "m002": [client_error("ValidationException", "Could not find model 'm002'.")],
        "m003": [client_error("AccessDeniedException", "no sagemaker:DescribeModel for AKIAABCDEFGHIJKLMNOP")],
        "m004": [EndpointConnectionError(endpoint_url="http://x")],
    })
    live = scan_aws(models(5), region=REGION, session_factory=lambda: FakeSession(fake), retry=NO_SLEEP)
    assert set(live.resources) == {models(5)[0].urn}
    assert live.missing == {models(5)[2].urn}
    assert live.errors[models(5)[1].urn].startswith("Throttling")
    assert "AKIA" not in live.errors[models(5)[3].urn]
    assert live.errors[models(5)[4].urn].startswith("EndpointConnectionError")
    assert fake.calls.count("m000") == 3 and fake.calls.count("m001") == NO_SLEEP.attempts


def test_a_mapper_bug_is_an_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_live.sagemaker, "map_model", lambda response: 1 / 0)
    live = scan_aws(models(1), region=REGION, session_factory=lambda: FakeSession(FakeSageMaker()), retry=NO_SLEEP)
    assert "this is a bug in mlops-infra" in live.errors[models(1)[0].urn]


def test_the_default_deadline_grows_with_the_stack_and_a_given_one_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """30 s plus 20 ms per readable resource (a 1,000-endpoint stack is not cut off at 30 s); reads
    still running at the deadline fail as timeout/DeadlineExceeded and the scan returns at once."""
    assert scan_module.default_deadline(0) == 30 and scan_module.default_deadline(18_000) == pytest.approx(390)
    seen: list[float] = []
    real = scan_module._run_with_deadline
    monkeypatch.setattr(scan_module, "_run_with_deadline", lambda *a: seen.append(a[-1]) or real(*a))
    scan_aws(models(50), region=REGION, session_factory=lambda: FakeSession(FakeSageMaker()), retry=NO_SLEEP)
    # the resource reads get the deadline, the tag reads after them (tagging.py) what is left of it
    assert seen[0] == pytest.approx(31.0) and len(seen) == 2 and 30.0 < seen[1] <= 31.0
    start = time.monotonic()
    live = scan_aws(models(4), region=REGION, session_factory=lambda: FakeSession(FakeSageMaker(delay=30)),
                    retry=NO_SLEEP, max_workers=2, deadline=0.5)
    assert time.monotonic() - start < 5 and not live.resources
    assert {urn: f[:2] for urn, f in live.failures.items()} == {m.urn: ("timeout", "DeadlineExceeded") for m in models(4)}


@pytest.mark.parametrize("workers", [1, 3])
def test_concurrency_is_bounded_by_max_workers(workers: int) -> None:
    fake = FakeSageMaker(delay=0.01)
    live = scan_aws(models(12), region=REGION, session_factory=lambda: FakeSession(fake), max_workers=workers)
    assert len(live.resources) == 12
    assert fake.peak == workers


def test_skips_components_providers_unknown_types_and_uncreated_resources() -> None:
    resources = [
        StateResource(urn="urn:pulumi:dev::p::mlops:serving:Endpoint::scorer", type="mlops:serving:Endpoint",
                      custom=False),
        res("pulumi:providers:aws", "default"),
        res("aws:ec2/vpc:Vpc", "vpc"),
        StateResource(urn="urn:pulumi:dev::p::aws:sagemaker/model:Model::pending", type="aws:sagemaker/model:Model"),
        *models(1),
    ]
    fake_session = FakeSession(FakeSageMaker())
    live = scan_aws(resources, region=REGION, session_factory=lambda: fake_session)
    assert list(live.resources) == [models(1)[0].urn] and not live.missing and not live.errors


def test_region_comes_from_resource_then_provider_then_default() -> None:
    provider = res("pulumi:providers:aws", "eu", inputs={"region": "eu-west-1"})
    resources = [
        provider,
        res("aws:sagemaker/model:Model", "own", inputs={"region": "ap-south-1"}),
        res("aws:sagemaker/model:Model", "via-provider", provider=provider.urn),  # a URN, as the reader keeps it
        res("aws:sagemaker/model:Model", "default"),
    ]
    regions = {u.resources[0].id: u.region for u in plan_units(resources, REGION)}
    assert regions == {"own": "ap-south-1", "via-provider": "eu-west-1", "default": REGION}


def test_the_region_of_a_provider_named_in_a_state_file(tmp_path) -> None:
    """End to end: a state file names the provider ``<urn>::<id>``; the reader keeps its URN and the
    scan reads the resource in that provider's region (it cut the URN again: the default region)."""
    from mlops_infra.graph import GraphBuilder
    from mlops_infra.state.pulumi_state import load_state
    from tests.support.applied_state import applied_state, dumps

    b = GraphBuilder("p", "dev")
    eu = b.add("pulumi:providers:aws", "eu", {"region": "eu-west-1"})
    b.add("aws:sagemaker/model:Model", "m", {"name": "m"}, provider=eu)
    path = tmp_path / "prior.json"
    path.write_text(dumps(applied_state(b.build(), account="111111111111", region="eu-west-1")))
    resources = list(load_state(path).resources.values())
    assert [u.region for u in plan_units(resources, "us-east-1") if u.resources[0].type.endswith("Model")] \
        == ["eu-west-1"]


def test_alarms_are_read_in_batches_of_100() -> None:
    alarms = [res("aws:cloudwatch/metricAlarm:MetricAlarm", f"a{i:03d}") for i in range(250)]
    assert [len(u.resources) for u in plan_units(alarms, REGION)] == [100, 100, 50]


# ------------------------------------------------------------------------------------------
# Against a real moto server
# ------------------------------------------------------------------------------------------


def scan(stack: SeededStack, **kwargs: Any) -> Any:
    """Scan the seeded stack; these tests are about what is read, so the deadline (tested in
    tests/faults) is set far beyond a loaded CI machine's worst case."""
    return scan_aws(stack.prior.resources.values(), region=REGION, session_factory=shared_session,
                    endpoint_url=stack.url, retry=RetryPolicy(botocore_max_attempts=1), **{"deadline": 600, **kwargs})


@pytest.mark.moto
def test_scan_reads_every_custom_resource_in_pulumi_shapes(seeded: SeededStack) -> None:
    live = scan(seeded)
    custom = {u for u, r in seeded.prior.resources.items() if r.custom and not r.type.startswith("pulumi:")}
    assert set(live.resources) == custom and not live.missing and not live.errors
    get = live.resources.__getitem__
    versioning = get(seeded.urn("aws:s3/bucketVersioning:BucketVersioning", "data-versioning"))
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    sse = get(seeded.urn("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                         "data-encryption"))
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    config = get(seeded.urn("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "scorer-config"))
    assert config.inputs["productionVariants"][0]["instanceType"] == "ml.g5.xlarge"
    endpoint = get(seeded.urn("aws:sagemaker/endpoint:Endpoint", "scorer"))
    assert endpoint.inputs["endpointConfigName"] == "fraud-scorer-cfg-1a2b"
    assert endpoint.outputs["productionVariants"] == [{"variantName": "primary", "currentWeight": 1.0,
                                                       "desiredWeight": 1.0, "currentInstanceCount": 2,
                                                       "desiredInstanceCount": 2}]
    assert endpoint.id == "fraud-scorer" and endpoint.parent == seeded.prior.resources[endpoint.urn].parent


@pytest.mark.moto
def test_scan_marks_deleted_resources_missing(seeded: SeededStack) -> None:
    seeded.client("sagemaker").delete_endpoint(EndpointName=seeded.endpoint)
    seeded.client("cloudwatch").delete_alarms(AlarmNames=[seeded.alarms[0]])
    seeded.client("sns").unsubscribe(SubscriptionArn=seeded.subscription_arn)
    live = scan(seeded, max_workers=4)
    assert live.missing == {
        seeded.urn("aws:sagemaker/endpoint:Endpoint", "scorer"),
        # AWS deregisters an endpoint's scalable targets, and with them their policies, when it deletes the
        # endpoint (endpoint-delete-with-scaling.html; the moto stand-in's patch 21, a91eea8)
        seeded.urn("aws:appautoscaling/target:Target", "scorer-scaling"),
        seeded.urn("aws:appautoscaling/policy:Policy", "scorer-scaling-policy"),
        seeded.urn("aws:cloudwatch/metricAlarm:MetricAlarm", "scorer-latency-p99"),
        seeded.urn("aws:sns/topicSubscription:TopicSubscription", "alerts-oncall"),
    }
    assert not live.errors


@pytest.mark.moto
def test_patched_moto_accepts_modern_instances_and_update_endpoint(moto_url: str) -> None:
    from tests.support.moto_server import client

    sm = client("sagemaker", moto_url)
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "i"})
    for name, instance in (("c1", "ml.g5.xlarge"), ("c2", "ml.p5.48xlarge")):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "v", "ModelName": "m", "InstanceType": instance, "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c1")
    sm.update_endpoint(EndpointName="e", EndpointConfigName="c2")
    assert sm.describe_endpoint(EndpointName="e")["EndpointConfigName"] == "c2"
    with pytest.raises(ClientError):
        sm.create_endpoint_config(EndpointConfigName="bad", ProductionVariants=[{
            "VariantName": "v", "ModelName": "m", "InstanceType": "g5.xlarge", "InitialInstanceCount": 1}])


# -- clients: one per service and region, made one at a time, never blocking readers of another ----


def test_clients_are_made_once_each_and_a_slow_one_does_not_hold_up_the_others() -> None:
    from mlops_infra.state.aws_live.context import ScanContext
    from mlops_infra.state.aws_live.retry import RetryPolicy

    made: list[str] = []
    sessions: list[object] = []
    release = threading.Event()

    class Session:
        def client(self, service: str, **_: Any) -> object:
            if service == "slow":
                assert release.wait(10)
            made.append(service)
            return object()

    def factory() -> Session:
        sessions.append(Session())
        return sessions[-1]

    ctx = ScanContext(factory, None, None, RetryPolicy())
    fast = ctx.client("fast", "us-east-1")
    slow = threading.Thread(target=ctx.client, args=("slow", "us-east-1"))
    slow.start()
    time.sleep(0.05)  # the slow client is being made
    started = time.monotonic()
    again = [ctx.client("fast", "us-east-1") for _ in range(3)]
    waited = time.monotonic() - started
    release.set()
    slow.join(10)
    pool = [threading.Thread(target=ctx.client, args=(s, "eu-west-1")) for s in ("a", "b") * 8]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(10)

    assert all(client is fast for client in again) and waited < 1.0
    assert sorted(made) == ["a", "b", "fast", "slow"] and len(sessions) == 1
