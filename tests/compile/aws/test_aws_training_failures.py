"""A failed training run is told on AWS (``compile/aws/training_failures.py``).

Before this rule a SageMaker pipeline execution that failed was told to nobody. Checked here: the
compiled rule, targets, TopicPolicy and key policy (pulumi_aws's inputs, the shapes the docstring
cites); on the moto server, the compiled pattern matches a failed execution of the job's pipeline and
no other event, and the compiled input transformer turns it into an alarm-shaped message the forwarder
reads as alert ``training_failed_<job>`` (``warning``). moto delivers rule targets to SQS, not SNS
(``moto/events/models.py`` ``Rule.send_to_targets`` raises NotImplementedError for an SNS target), so
the compiled SNS target is put and listed, then removed before the events, and an SQS queue with the
same input transformer stands in for the topic; the topic itself takes the compiled key and the compiled
TopicPolicy's document.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import forwarder, training_failures
from mlops_infra.compile.kubernetes.alerting import TRAINING_FAILURE_SEVERITY
from mlops_infra.graph import DesiredGraph, is_ref
from mlops_infra.spec import parse_system
from tests.compile.aws.pulumi_schema import check_inputs
from tests.support.kube_cases import REFERENCE
from tests.support.moto_server import REGION, client, running_moto_server

ACCOUNT = "123456789012"  # moto's


def _graph(text: str, env: str) -> DesiredGraph:
    loaded = parse_system(text, "mlsystem.yaml", env)
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics]
    return compile_system(loaded.system, env)


def _reference(env: str = "staging") -> DesiredGraph:
    text = REFERENCE.read_text().replace('account: "111111111111"', f'account: "{ACCOUNT}"')
    return _graph(text, env)


def _one(graph: DesiredGraph, token: str, name: str) -> Any:
    [resource] = [r for r in graph.resources if r.type == token and r.urn.endswith(f"::{name}")]
    return resource


def _resolve(value: Any, arns: dict[str, str]) -> Any:
    """``value`` with each ``{"$ref": urn, "output": "arn"}`` replaced by ``arns[urn]`` and ``$json`` written."""
    if is_ref(value):
        return arns[value["$ref"]]
    if isinstance(value, dict) and set(value) == {"$json"}:
        return json.dumps(_resolve(value["$json"], arns))
    if isinstance(value, dict):
        return {k: _resolve(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, arns) for v in value]
    return value


def test_the_reference_tells_ml_team_of_a_failed_pipeline_execution() -> None:
    graph = _reference()
    rule = _one(graph, "aws:cloudwatch/eventRule:EventRule", "retrain.failed")
    pipeline = _one(graph, "aws:sagemaker/pipeline:Pipeline", "retrain-pipeline")
    pattern = rule.inputs["eventPattern"]["$json"]
    assert pattern == {"source": ["aws.sagemaker"],
                       "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
                       "detail": {"currentPipelineExecutionStatus": ["Failed"],
                                  "pipelineArn": [{"$ref": pipeline.urn, "output": "arn"}]}}
    assert rule.inputs["name"] == "fraud-detection-staging-train-retrain.failed"
    [target] = [r for r in graph.resources if r.type == "aws:cloudwatch/eventTarget:EventTarget"
                and r.urn.endswith("::retrain.failed.ml-team")]
    topic = _one(graph, "aws:sns/topic:Topic", "ml-team-topic")
    assert target.inputs["arn"] == {"$ref": topic.urn, "output": "arn"} and "roleArn" not in target.inputs
    topic_policy = _one(graph, training_failures.TOPIC_POLICY, "ml-team-topic-policy")
    assert topic_policy.inputs["arn"] == {"$ref": topic.urn, "output": "arn"} and "policy" not in topic.inputs
    for resource in (rule, target, topic, topic_policy, _one(graph, "aws:kms/key:Key", "data-key")):
        assert check_inputs(resource.type, resource.inputs) == []
    # the oncall topic is told of nothing here: no policy, as before
    assert [r.name for r in graph.resources if r.type == training_failures.TOPIC_POLICY] == ["ml-team-topic-policy"]
    statements = {s["Sid"]: s for s in _one(graph, "aws:kms/key:Key", "data-key").inputs["policy"]["$json"]["Statement"]}
    assert statements["EventBridgeRulesPublishToEncryptedTopics"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert training_failures.SEVERITY == TRAINING_FAILURE_SEVERITY


def test_a_system_whose_failures_nobody_hears_keeps_its_key_policy() -> None:
    text = REFERENCE.read_text().replace("      on_alerts: [fraud-drift]      # retrain when this alert fires\n", "")
    graph = _graph(text, "staging")
    assert not [r for r in graph.resources if r.urn.endswith("::retrain.failed")]
    sids = [s["Sid"] for s in _one(graph, "aws:kms/key:Key", "data-key").inputs["policy"]["$json"]["Statement"]]
    assert sids == ["AccountAdministersKeyThroughIam", "CloudWatchAlarmsPublishToEncryptedTopics"]
    assert not [r for r in graph.resources if r.type == training_failures.TOPIC_POLICY]


def _event(pipeline_arn: str, status: str) -> dict[str, Any]:
    execution = f"{pipeline_arn}/execution/abc123"
    return {"Source": "aws.sagemaker", "DetailType": training_failures.DETAIL_TYPE, "Detail": json.dumps({
        "pipelineArn": pipeline_arn, "pipelineExecutionArn": execution, "pipelineExecutionDisplayName": "execution-1",
        "currentPipelineExecutionStatus": status, "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": "2026-12-06T08:00:00Z", "executionEndTime": "2026-12-06T09:00:00Z"})}


def test_moto_matches_a_failed_execution_and_the_message_reads_as_the_alert() -> None:
    graph = _reference()
    rule = _one(graph, "aws:cloudwatch/eventRule:EventRule", "retrain.failed")
    [target] = [r for r in graph.resources if r.urn.endswith("::retrain.failed.ml-team")]
    topic = _one(graph, "aws:sns/topic:Topic", "ml-team-topic")
    topic_policy = _one(graph, training_failures.TOPIC_POLICY, "ml-team-topic-policy")
    key = _one(graph, "aws:kms/key:Key", "data-key")
    pipeline = _one(graph, "aws:sagemaker/pipeline:Pipeline", "retrain-pipeline")
    pipeline_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{pipeline.inputs['pipelineName']}"
    with running_moto_server() as url:
        kms, sns, sqs, events = (client(s, url) for s in ("kms", "sns", "sqs", "events"))
        key_arn = kms.create_key(Policy=_resolve(key.inputs["policy"], {}))["KeyMetadata"]["Arn"]
        topic_arn = sns.create_topic(Name=topic.inputs["name"], Attributes={"KmsMasterKeyId": key_arn})["TopicArn"]
        # what the provider's TopicPolicy does (terraform-provider-aws topic_policy.go putTopicPolicy)
        sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy",
                                 AttributeValue=_resolve(topic_policy.inputs["policy"], {}))
        policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
        assert {s["Resource"] for s in policy["Statement"]} == {topic_arn}  # the ARN computed from the name
        arns = {pipeline.urn: pipeline_arn, topic.urn: topic_arn}
        events.put_rule(Name=rule.inputs["name"], EventPattern=_resolve(rule.inputs["eventPattern"], arns),
                        State="ENABLED")
        transformer = {"InputPathsMap": target.inputs["inputTransformer"]["inputPaths"],
                       "InputTemplate": target.inputs["inputTransformer"]["inputTemplate"]}
        queue = sqs.create_queue(QueueName="trainfail-observer")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=rule.inputs["name"], Targets=[
            {"Id": target.inputs["targetId"], "Arn": topic_arn, "InputTransformer": transformer,
             "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}},
            {"Id": "observer", "Arn": queue_arn, "InputTransformer": transformer}])
        listed = events.list_targets_by_rule(Rule=rule.inputs["name"])["Targets"]
        assert {t["Id"]: t["Arn"] for t in listed} == {"notify-1": topic_arn, "observer": queue_arn}
        events.remove_targets(Rule=rule.inputs["name"], Ids=["notify-1"])  # moto cannot deliver to SNS (docstring)
        other = pipeline_arn.replace("retrain", "other")
        events.put_events(Entries=[_event(pipeline_arn, "Succeeded"), _event(other, "Failed"),
                                   _event(pipeline_arn, "Failed")])
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1, messages  # only the job's own failed execution
    alarm = json.loads(messages[0]["Body"])
    assert alarm["AlarmName"] == "fraud-detection-staging.training-failed.retrain"
    assert alarm["NewStateValue"] == "ALARM" and alarm["OldStateValue"] == "OK"
    assert f"{pipeline_arn}/execution/abc123" in alarm["NewStateReason"]
    assert alarm["mlopsTrainingFailure"]["execution"] == f"{pipeline_arn}/execution/abc123"
    payload = forwarder.alertmanager_payload(alarm)
    assert payload["status"] == "firing"
    assert payload["commonLabels"]["alertname"] == "training_failed_retrain"
    assert payload["commonLabels"]["severity"] == "warning"
