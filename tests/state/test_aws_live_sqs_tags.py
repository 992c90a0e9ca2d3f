"""The live reads added in stop 30: SQS failure queues, Lambda event invoke configs, and tags read by
ARN through the Resource Groups Tagging API (``aws_live/sqs.py``, ``lambda_.py``, ``tagging.py``).

Pure mappers first, then scans of a real moto server: each resource untouched is no drift, changed
out of band with boto3 is drift, deleted is missing; tag reads that fail are read failures (never
"tags removed"), with the AWS message scrubbed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_infra.plan.drift import find_drift
from mlops_infra.progress import NullProgress
from mlops_infra.state.aws_live import READERS, RetryPolicy, scan_aws
from mlops_infra.state.aws_live.lambda_ import map_event_invoke_config
from mlops_infra.state.aws_live.sqs import map_sqs_queue
from mlops_infra.state.aws_live.tagging import ARNS_PER_CALL, read_tags
from mlops_infra.state.model import PriorState, StateResource
from tests.state.test_aws_live_batches import CountingScan
from tests.support import fixtures
from tests.support.moto_server import REGION, client, handler_zip

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
TAGS = {"mlops-infra/system": "fraud", "mlops-infra/env": "staging", "mlops-infra/item": "channels.oncall"}
RETENTION = 14 * 86400


def res(type_: str, name: str, id_: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> StateResource:
    """A resource as a Pulumi checkpoint records it (``__defaults``, ``tagsAll`` beside ``tags``)."""
    extra = {"tagsAll": dict(inputs["tags"])} if "tags" in inputs else {}
    return StateResource(urn=f"urn:pulumi:staging::fraud::{type_}::{name}", type=type_, id=id_,
                         inputs={"__defaults": [], **inputs}, outputs={"id": id_, **inputs, **extra, **(outputs or {})})


def prior_of(*resources: StateResource) -> PriorState:
    return PriorState("test", 3, "f" * 64, "fraud", "staging", {r.urn: r for r in resources})


def drift(prior: PriorState, live: Any) -> dict[str, tuple[str, tuple[tuple[str, Any, Any], ...], str]]:
    return {d.urn.rsplit("::", 1)[-1]: (d.kind, d.changes, d.summary) for d in find_drift(prior, live)}


# ------------------------------------------------------------------------------------------
# Pure mappers
# ------------------------------------------------------------------------------------------


def test_queue_attribute_strings_become_pulumi_inputs() -> None:
    reading = map_sqs_queue({
        "QueueArn": "arn:aws:sqs:us-east-1:1:f-failed", "KmsMasterKeyId": "arn:aws:kms:us-east-1:1:key/k",
        "KmsDataKeyReusePeriodSeconds": "300", "MessageRetentionPeriod": "1209600", "VisibilityTimeout": "30",
        "DelaySeconds": "0", "SqsManagedSseEnabled": "false", "ApproximateNumberOfMessages": "3",
        "RedrivePolicy": '{"deadLetterTargetArn":"arn:x","maxReceiveCount":5}'})
    assert reading.inputs == {
        "name": "f-failed", "fifoQueue": False, "kmsMasterKeyId": "arn:aws:kms:us-east-1:1:key/k",
        "kmsDataKeyReusePeriodSeconds": 300, "messageRetentionSeconds": 1209600, "visibilityTimeoutSeconds": 30,
        "delaySeconds": 0, "sqsManagedSseEnabled": False,
        "redrivePolicy": '{"deadLetterTargetArn":"arn:x","maxReceiveCount":5}'}
    assert reading.outputs == {"arn": "arn:aws:sqs:us-east-1:1:f-failed"}
    assert map_sqs_queue({"QueueArn": "arn:aws:sqs:r:1:q.fifo", "FifoQueue": "true"}).inputs["fifoQueue"] is True


def test_invoke_config_destinations_use_pulumi_names() -> None:
    reading = map_event_invoke_config({
        "FunctionArn": "arn:aws:lambda:us-east-1:1:function:fwd:$LATEST", "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {"OnSuccess": {}, "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:fwd-failed"}}})
    assert reading.inputs == {"functionName": "fwd", "maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 21600,
                              "destinationConfig": {"onFailure": {"destination": "arn:aws:sqs:us-east-1:1:fwd-failed"}}}
    assert "destinationConfig" not in map_event_invoke_config({"FunctionArn": "arn:aws:lambda:r:1:function:f",
                                                               "DestinationConfig": {"OnFailure": {}}}).inputs


class PagedTagging:
    """A Resource Groups Tagging API client that pages its answer, as moto does."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def get_resources(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        if "PaginationToken" not in params:
            return {"ResourceTagMappingList": [{"ResourceARN": "arn:a", "Tags": [{"Key": "k", "Value": "1"}]}],
                    "PaginationToken": "next"}
        return {"ResourceTagMappingList": [{"ResourceARN": "arn:b", "Tags": []}], "PaginationToken": ""}


def test_tags_follow_pages_with_the_token_alone_and_an_unlisted_arn_is_untagged() -> None:
    """An ARN list cannot be sent with a PaginationToken (botocore GetResourcesInput.ResourceARNList),
    so a next page is asked for with the token alone; an ARN not in the answer has no tags."""
    fake = PagedTagging()
    assert read_tags(fake, ["arn:a", "arn:b", "arn:c"]) == {"arn:a": {"k": "1"}, "arn:b": {}, "arn:c": {}}
    assert fake.requests == [{"ResourceARNList": ["arn:a", "arn:b", "arn:c"]}, {"PaginationToken": "next"}]


def test_the_failure_handling_types_are_read_and_tags_come_by_arn_where_the_read_has_none() -> None:
    assert READERS[QUEUE].tags and READERS[QUEUE].service == "sqs"
    assert READERS[INVOKE_CONFIG].service == "lambda" and not READERS[INVOKE_CONFIG].tags
    tagged = {t for t, r in READERS.items() if any(p.path == "tags" for p in r.tracking.properties)}
    assert tagged == {
        "aws:s3/bucket:Bucket", "aws:iam/role:Role", "aws:secretsmanager/secret:Secret", QUEUE,
        "aws:kms/key:Key", "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:sagemaker/pipeline:Pipeline",
        "aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/eventRule:EventRule", "aws:sns/topic:Topic",
        "aws:lambda/function:Function", "aws:ecr/repository:Repository",
        "aws:cloudwatch/logGroup:LogGroup",  # read with its own ListTagsForResource (audit refresh-2)
        "aws:s3/bucketObjectv2:BucketObjectv2"}  # read with its own GetObjectTagging (the drift contract file)
    assert not READERS["aws:cloudwatch/eventRule:EventRule"].tags  # read with the rule (ListTagsForResource)
    # the endpoint's tags are the rollout controller's (the provider ignores them): never compared
    assert "aws:sagemaker/endpoint:Endpoint" not in tagged


# ------------------------------------------------------------------------------------------
# On the moto server
# ------------------------------------------------------------------------------------------


def _failure_handling(url: str) -> tuple[list[StateResource], dict[str, str]]:
    """A forwarder's failure queue and invoke config, and the runner's invoke config (no queue), as
    ``compile/aws/lambda_failures.py`` makes them, created in moto; their prior state."""
    key = client("kms", url).create_key()["KeyMetadata"]["Arn"]
    sqs, lam = client("sqs", url), client("lambda", url)
    queue_url = sqs.create_queue(QueueName="fraud-staging-notify-oncall-failed", tags=TAGS, Attributes={
        "KmsMasterKeyId": key, "MessageRetentionPeriod": str(RETENTION)})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = client("iam", url).create_role(RoleName="fraud-staging-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    for name in ("fraud-staging-notify-oncall", "fraud-staging-rollout-runner"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="h.handler",
                            Code={"ZipFile": handler_zip()})
    lam.put_function_event_invoke_config(FunctionName="fraud-staging-notify-oncall", MaximumRetryAttempts=2,
                                         MaximumEventAgeInSeconds=21600,
                                         DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    lam.put_function_event_invoke_config(FunctionName="fraud-staging-rollout-runner", MaximumRetryAttempts=0,
                                         MaximumEventAgeInSeconds=60)
    resources = [
        # pulumi-aws keeps the queue URL as its id ("url: Same as `id`")
        res(QUEUE, "oncall-forwarder-failed", queue_url, {
            "name": "fraud-staging-notify-oncall-failed", "kmsMasterKeyId": key,
            "messageRetentionSeconds": RETENTION, "tags": TAGS}, {"arn": queue_arn, "url": queue_url}),
        res(INVOKE_CONFIG, "oncall-forwarder-async", "fraud-staging-notify-oncall", {
            "functionName": "fraud-staging-notify-oncall", "maximumRetryAttempts": 2,
            "maximumEventAgeInSeconds": 21600,
            "destinationConfig": {"__defaults": [], "onFailure": {"__defaults": [], "destination": queue_arn}}}),
        res(INVOKE_CONFIG, "rollout-runner-async", "fraud-staging-rollout-runner", {
            "functionName": "fraud-staging-rollout-runner", "maximumRetryAttempts": 0,
            "maximumEventAgeInSeconds": 60}),
    ]
    return resources, {"queue_url": queue_url, "queue_arn": queue_arn, "key": key}


@pytest.mark.moto
def test_an_untouched_failure_queue_and_invoke_configs_are_no_drift(moto_url: str) -> None:
    resources, _ = _failure_handling(moto_url)
    counting = CountingScan(moto_url)
    live = counting.scan(resources)
    assert not live.errors and not live.missing and set(live.resources) == {r.urn for r in resources}
    queue = live.resources[resources[0].urn]
    assert queue.inputs["tags"] == TAGS and queue.inputs["messageRetentionSeconds"] == RETENTION
    assert find_drift(prior_of(*resources), live) == []
    assert counting.calls == {"GetQueueAttributes": 1, "GetFunctionEventInvokeConfig": 2, "GetResources": 1}


@pytest.mark.moto
def test_a_queue_changed_in_the_console_is_drift(moto_url: str) -> None:
    resources, made = _failure_handling(moto_url)
    sqs = client("sqs", moto_url)
    other_key = client("kms", moto_url).create_key()["KeyMetadata"]["Arn"]
    sqs.set_queue_attributes(QueueUrl=made["queue_url"], Attributes={
        "KmsMasterKeyId": other_key, "MessageRetentionPeriod": "345600", "KmsDataKeyReusePeriodSeconds": "600"})
    sqs.tag_queue(QueueUrl=made["queue_url"], Tags={"mlops-infra/item": "moved", "owner": "someone"})
    found = drift(prior_of(*resources), CountingScan(moto_url).scan(resources))
    kind, changes, summary = found["oncall-forwarder-failed"]
    key_id, other_id = (made["key"].rsplit("/", 1)[-1], other_key.rsplit("/", 1)[-1])
    assert kind == "changed" and set(changes) == {
        ("kmsMasterKeyId", key_id, other_id), ("messageRetentionSeconds", RETENTION, 345600),
        ("kmsDataKeyReusePeriodSeconds", 300, 600), ("tags.mlops-infra/item", "channels.oncall", "moved"),
        ("tags.owner", None, "someone")}
    assert summary.startswith("queue oncall-forwarder-failed: ") and "retention 1209600 -> 345600" in summary
    assert set(found) == {"oncall-forwarder-failed"}


@pytest.mark.moto
def test_invoke_configs_changed_or_deleted_by_hand_are_drift(moto_url: str) -> None:
    """Deleted: Lambda is back to 2 retries and no destination (failed alerts are discarded again)."""
    resources, _ = _failure_handling(moto_url)
    lam = client("lambda", moto_url)
    lam.delete_function_event_invoke_config(FunctionName="fraud-staging-notify-oncall")
    # Put overwrites on AWS (botocore PutFunctionEventInvokeConfig); moto appends and reads the first
    # (moto/awslambda/models.py put_function_event_invoke_config), so the overwrite is a delete + put here
    lam.delete_function_event_invoke_config(FunctionName="fraud-staging-rollout-runner")
    lam.put_function_event_invoke_config(FunctionName="fraud-staging-rollout-runner", MaximumRetryAttempts=2,
                                         MaximumEventAgeInSeconds=60)
    live = CountingScan(moto_url).scan(resources)
    assert live.missing == {resources[1].urn} and not live.errors
    found = drift(prior_of(*resources), live)
    assert found["oncall-forwarder-async"] == (
        "deleted", (), "async invocation config oncall-forwarder-async deleted outside Pulumi")
    assert found["rollout-runner-async"] == (
        "changed", (("maximumRetryAttempts", 0, 2),),
        "async invocation config rollout-runner-async: retries 0 -> 2 changed outside Pulumi")


@pytest.mark.moto
def test_a_deleted_queue_is_missing(moto_url: str) -> None:
    resources, made = _failure_handling(moto_url)
    client("sqs", moto_url).delete_queue(QueueUrl=made["queue_url"])
    live = CountingScan(moto_url).scan(resources)
    assert live.missing == {resources[0].urn} and not live.errors
    assert drift(prior_of(*resources), live)["oncall-forwarder-failed"][0] == "deleted"


def _tagged_stack(url: str) -> tuple[list[StateResource], dict[str, Any]]:
    """One resource of each type whose tags come by ARN, tagged as compile tags them, and its prior."""
    sns, cw, kms, sm = client("sns", url), client("cloudwatch", url), client("kms", url), client("sagemaker", url)
    events, aws_tags = client("events", url), [{"Key": k, "Value": v} for k, v in TAGS.items()]
    topic = sns.create_topic(Name="fraud-staging-oncall", Tags=aws_tags)["TopicArn"]
    cw.put_metric_alarm(AlarmName="fraud-staging-latency", MetricName="ModelLatency", Namespace="AWS/SageMaker",
                        Statistic="Average", Period=60, EvaluationPeriods=3, Threshold=1.0,
                        ComparisonOperator="GreaterThanThreshold", Tags=aws_tags)
    alarm_arn = cw.describe_alarms(AlarmNames=["fraud-staging-latency"])["MetricAlarms"][0]["AlarmArn"]
    key = kms.create_key(Description="platform", Tags=[{"TagKey": k, "TagValue": v} for k, v in TAGS.items()])
    role = "arn:aws:iam::123456789012:role/fraud-staging-sagemaker"
    model_arn = sm.create_model(ModelName="fraud-scorer-v3", ExecutionRoleArn=role, Tags=aws_tags,
                                PrimaryContainer={"Image": "img:3"})["ModelArn"]
    rule_arn = events.put_rule(Name="fraud-staging-approved", ScheduleExpression="rate(1 day)", Tags=aws_tags)["RuleArn"]
    variant = {"VariantName": "primary", "ModelName": "fraud-scorer-v3", "InstanceType": "ml.g5.xlarge",
               "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
    config_arn = sm.create_endpoint_config(EndpointConfigName="fraud-scorer-cfg", ProductionVariants=[variant],
                                           Tags=aws_tags)["EndpointConfigArn"]
    group_arn = sm.create_model_package_group(ModelPackageGroupName="fraud-scorer", Tags=aws_tags)[
        "ModelPackageGroupArn"]
    definition = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})
    pipeline_arn = sm.create_pipeline(PipelineName="fraud-train", PipelineDefinition=definition, RoleArn=role,
                                      Tags=aws_tags)["PipelineArn"]
    lambda_role = client("iam", url).create_role(RoleName="fraud-staging-forwarder", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    function_arn = client("lambda", url).create_function(
        FunctionName="fraud-staging-forwarder", Runtime="python3.12", Role=lambda_role, Handler="h.handler",
        Code={"ZipFile": handler_zip()}, Tags=TAGS)["FunctionArn"]
    resources = [
        res("aws:sns/topic:Topic", "oncall-topic", topic, {"name": "fraud-staging-oncall", "tags": TAGS}),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "latency", "fraud-staging-latency", {
            "name": "fraud-staging-latency", "metricName": "ModelLatency", "namespace": "AWS/SageMaker",
            "statistic": "Average", "period": 60, "evaluationPeriods": 3, "threshold": 1,
            "comparisonOperator": "GreaterThanThreshold", "tags": TAGS}, {"arn": alarm_arn}),
        res("aws:kms/key:Key", "platform-key", key["KeyMetadata"]["KeyId"], {"description": "platform", "tags": TAGS},
            {"arn": key["KeyMetadata"]["Arn"]}),
        res("aws:sagemaker/model:Model", "scorer-model", "fraud-scorer-v3", {
            "name": "fraud-scorer-v3", "executionRoleArn": role, "primaryContainer": {"image": "img:3"},
            "tags": TAGS}, {"arn": model_arn}),
        res("aws:cloudwatch/eventRule:EventRule", "approved", "fraud-staging-approved", {
            "name": "fraud-staging-approved", "scheduleExpression": "rate(1 day)", "tags": TAGS}, {"arn": rule_arn}),
        res("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "scorer-config", "fraud-scorer-cfg", {
            "name": "fraud-scorer-cfg", "productionVariants": [{
                "variantName": "primary", "modelName": "fraud-scorer-v3", "instanceType": "ml.g5.xlarge",
                "initialInstanceCount": 1, "initialVariantWeight": 1}], "tags": TAGS}, {"arn": config_arn}),
        res("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "scorer-registry", "fraud-scorer", {
            "modelPackageGroupName": "fraud-scorer", "tags": TAGS}, {"arn": group_arn}),
        res("aws:sagemaker/pipeline:Pipeline", "train", "fraud-train", {
            "pipelineName": "fraud-train", "pipelineDefinition": definition, "roleArn": role, "tags": TAGS},
            {"arn": pipeline_arn}),
        res("aws:lambda/function:Function", "forwarder", "fraud-staging-forwarder", {
            "name": "fraud-staging-forwarder", "role": lambda_role, "runtime": "python3.12", "handler": "h.handler",
            "tags": TAGS}, {"arn": function_arn}),
    ]
    return resources, {"topic": topic, "alarm": alarm_arn, "key": key["KeyMetadata"]["KeyId"], "model": model_arn,
                       "rule": rule_arn, "config": config_arn, "group": group_arn, "pipeline": pipeline_arn,
                       "function": function_arn}


@pytest.mark.moto
def test_tags_changed_with_each_service_s_own_api_are_drift_read_in_one_call(moto_url: str) -> None:
    resources, arns = _tagged_stack(moto_url)
    counting = CountingScan(moto_url)
    live = counting.scan(resources)
    assert not live.errors and find_drift(prior_of(*resources), live) == []
    # 8 types, one region: one call for all their tags; the rule's come with its read (events.py)
    assert counting.calls["GetResources"] == 1 and counting.calls["ListTagsForResource"] == 1
    client("sns", moto_url).tag_resource(ResourceArn=arns["topic"], Tags=[{"Key": "owner", "Value": "x"}])
    client("cloudwatch", moto_url).untag_resource(ResourceARN=arns["alarm"], TagKeys=["mlops-infra/item"])
    client("kms", moto_url).tag_resource(KeyId=arns["key"], Tags=[{"TagKey": "mlops-infra/env", "TagValue": "prod"}])
    client("sagemaker", moto_url).delete_tags(ResourceArn=arns["model"], TagKeys=list(TAGS))
    client("events", moto_url).tag_resource(ResourceARN=arns["rule"], Tags=[{"Key": "mlops-infra/system", "Value": "y"}])
    client("sagemaker", moto_url).add_tags(ResourceArn=arns["config"], Tags=[{"Key": "cost", "Value": "1"}])
    client("sagemaker", moto_url).add_tags(ResourceArn=arns["group"], Tags=[{"Key": "cost", "Value": "2"}])
    client("sagemaker", moto_url).delete_tags(ResourceArn=arns["pipeline"], TagKeys=["mlops-infra/env"])
    client("lambda", moto_url).tag_resource(Resource=arns["function"], Tags={"mlops-infra/item": "other"})
    found = drift(prior_of(*resources), CountingScan(moto_url).scan(resources))
    assert {name: changes for name, (_, changes, _) in found.items()} == {
        "oncall-topic": (("tags.owner", None, "x"),),
        "latency": (("tags.mlops-infra/item", "channels.oncall", None),),
        "platform-key": (("tags.mlops-infra/env", "staging", "prod"),),
        "scorer-model": (("tags", TAGS, None),),  # every tag removed
        "approved": (("tags.mlops-infra/system", "fraud", "y"),),
        "scorer-config": (("tags.cost", None, "1"),),
        "scorer-registry": (("tags.cost", None, "2"),),
        "train": (("tags.mlops-infra/env", "staging", None),),
        "forwarder": (("tags.mlops-infra/item", "channels.oncall", "other"),),
    }
    assert found["oncall-topic"][2] == "alert topic oncall-topic: tags owner (none) -> x changed outside Pulumi"


@pytest.mark.moto
def test_the_rollout_controllers_tags_and_aws_tags_are_not_drift(moto_url: str) -> None:
    """The provider ignores the controller's tags on every resource (``ignoreTags``); ``aws:`` keys are AWS's."""
    resources, arns = _tagged_stack(moto_url)
    client("sagemaker", moto_url).add_tags(ResourceArn=arns["model"], Tags=[
        {"Key": "mlops-infra:rollout:phase", "Value": "progressing"},
        {"Key": "mlops-infra:kept:model:fraud-scorer-v2", "Value": "1"},
        {"Key": "mlops-infra:autoscaling:restore", "Value": "2-4"}])
    assert find_drift(prior_of(*resources), CountingScan(moto_url).scan(resources)) == []


@pytest.mark.moto
def test_tags_are_read_100_arns_per_call_across_moto_s_pages(moto_url: str) -> None:
    """150 queues with 3 tags each: two GetResources (100 + 50 ARNs); moto pages each answer at 100
    tags, and every queue's tags are still read."""
    sqs = client("sqs", moto_url)
    resources = []
    for i in range(150):
        url = sqs.create_queue(QueueName=f"q{i:03d}", tags=TAGS)["QueueUrl"]
        resources.append(res(QUEUE, f"q{i:03d}", url, {"name": f"q{i:03d}", "tags": TAGS},
                             {"arn": f"arn:aws:sqs:{REGION}:123456789012:q{i:03d}"}))
    counting = CountingScan(moto_url)
    live = counting.scan(resources, max_workers=4)
    assert not live.errors and all(r.inputs["tags"] == TAGS for r in live.resources.values())
    assert find_drift(prior_of(*resources), live) == []
    lists = [len(p["ResourceARNList"]) for p in counting.params["GetResources"] if "ResourceARNList" in p]
    assert sorted(lists) == [150 - ARNS_PER_CALL, ARNS_PER_CALL]
    assert counting.calls["GetResources"] > 2  # the token-only pages moto adds


class Counted(NullProgress):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(self, label: str, n: int = 1) -> None:
        self.counts[label] = self.counts.get(label, 0) + n


@pytest.mark.moto
def test_a_tag_read_refused_is_a_read_failure_never_tags_removed(moto_url: str) -> None:
    resources, _ = _tagged_stack(moto_url)
    resources = [r for r in resources if r.type != "aws:cloudwatch/eventRule:EventRule"]
    denied = CountingScan(moto_url, deny=("GetResources",))
    counted = Counted()
    live = denied.scan(resources, progress=counted)
    assert not live.resources and not live.missing
    assert counted.counts == {"failed": len(resources)}  # the summary line's "(n failed)"
    assert {urn: f for urn, f in live.failures.items()} == {r.urn: ("access-denied", "AccessDenied") for r in resources}
    assert all(e.startswith("tags: AccessDenied") for e in live.errors.values())
    assert find_drift(prior_of(*resources), live) == []


@pytest.mark.moto
def test_tag_read_errors_are_scrubbed(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from mlops_infra.state.aws_live import tagging

    def leaky(client: Any, arns: Any) -> Any:
        raise ClientError({"Error": {"Code": "UnrecognizedClientException",
                                     "Message": "bad key AKIAABCDEFGHIJKLMNOP Signature=abc123"}}, "GetResources")

    monkeypatch.setattr(tagging, "read_tags", leaky)
    resources, _ = _tagged_stack(moto_url)
    resources = [r for r in resources if r.type != "aws:cloudwatch/eventRule:EventRule"]
    live = scan_aws(resources, region=REGION, session_factory=lambda: CountingScan(moto_url).session,
                    endpoint_url=moto_url, retry=RetryPolicy(botocore_max_attempts=1))
    text = " ".join(live.errors.values())
    assert len(live.errors) == len(resources) and "AKIA" not in text and "abc123" not in text
    assert set(live.failures.values()) == {("credentials-rejected", "UnrecognizedClientException")}


@pytest.mark.moto
def test_the_stand_in_lists_an_endpoint_config_by_its_arn_in_get_resources(moto_url: str) -> None:
    """moto_server.py patch 15: moto kept an endpoint config's ARN as a tuple, so GetResources never
    matched it; AWS lists sagemaker:endpoint-config there."""
    sm = client("sagemaker", moto_url)
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"})
    arn = sm.create_endpoint_config(EndpointConfigName="c1", Tags=[{"Key": "k", "Value": "v"}], ProductionVariants=[{
        "VariantName": "primary", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])[
        "EndpointConfigArn"]
    assert client("resourcegroupstaggingapi", moto_url).get_resources(ResourceARNList=[arn])[
        "ResourceTagMappingList"] == [{"ResourceARN": arn, "Tags": [{"Key": "k", "Value": "v"}]}]
    assert sm.describe_endpoint_config(EndpointConfigName="c1")["EndpointConfigArn"] == arn


@pytest.mark.moto
def test_an_image_repository_s_tags_come_with_its_read(moto_url: str) -> None:
    """ECR: DescribeRepositories has no tags, ListTagsForResource gives them (ecr.py)."""
    ecr = client("ecr", moto_url)
    arn = ecr.create_repository(repositoryName="fraud-scorer", tags=[{"Key": k, "Value": v} for k, v in TAGS.items()])[
        "repository"]["repositoryArn"]
    repo = res("aws:ecr/repository:Repository", "scorer-images", "fraud-scorer", {"name": "fraud-scorer", "tags": TAGS},
               {"arn": arn})
    counting = CountingScan(moto_url)
    live = counting.scan([repo])
    assert live.resources[repo.urn].inputs["tags"] == TAGS and find_drift(prior_of(repo), live) == []
    assert counting.calls == {"DescribeRepositories": 1, "ListTagsForResource": 1}
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "mlops-infra/env", "Value": "prod"}])
    assert drift(prior_of(repo), CountingScan(moto_url).scan([repo]))["scorer-images"][1] == (
        ("tags.mlops-infra/env", "staging", "prod"),)
