"""On AWS the rollback notice says why, as on Kubernetes (rollout/scheduled.py ``cloudwatch_notifier``,
``notice_message``; compile/aws/alerting.py ``rollback_notice``; the forwarder's formatting).

On a moto server (tests/support/moto_server.py, through the forwarder-delivery world of
tests/compile/aws/test_forwarder_delivery.py): the runner's notifier, built from the compiled reference
prod runner document, puts the datapoint that holds the rollback alarm and publishes the notice to the
channel's topic; an SQS queue subscribed to the topic captures what SNS delivers. The shipped forwarder
then runs on that SNS message (Slack, PagerDuty, webhook: local TLS receivers) and the email body is the
message's ``email`` entry. Asserted: every channel names the versions, the share and the fired alert
with its value and threshold in the spec's units, in the words of the Kubernetes rule's annotations;
PagerDuty's summary is within its 1024 characters and its dedup key is the alarm's name (the alarm's
OK resolves it); no secret anywhere. And the compiled side: the alarm has OK actions only (one paging
path), the runner may publish to exactly those topics and use the key only through SNS.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest

from mlops_infra.compile.aws import alerting, rollout_runner
from mlops_infra.compile.kubernetes import alerting as kubernetes_alerting
from mlops_infra.compile.kubernetes.rule_tests import kube_target
from mlops_infra.rollout import scheduled
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.secrets.scan import find_secrets
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import REFERENCE, compiled, one, policy_statements
from tests.compile.aws.test_forwarder_delivery import _assert_no_secret, _invoke
from tests.compile.aws.test_forwarder_delivery import world as delivery  # noqa: F401  (the fixture)
from tests.support.moto_server import REGION

pytestmark = [pytest.mark.moto, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SUMMARY = ("fraud-detection/prod: the rollout of endpoint scorer was rolled back: version 14 at 2% "
           "(scorer-latency 310ms > 250ms)")
DESCRIPTION = ("Version 14 of endpoint scorer was rolled back at 2% of traffic; version 13 serves all traffic. "
               "Cause: alert_fired: scorer-latency 310ms > 250ms.")


@pytest.fixture(scope="module")
def graph():
    return compiled(REFERENCE, "prod")


def _document(graph) -> dict:
    function = one(graph, rollout_runner.FUNCTION, "platform")
    return json.loads(function.inputs["code"]["$archive"]["rollouts.json"])


def _facts(document: dict) -> dict[str, str]:
    """The facts of a rollback the reconciler makes when the latency alarm's canary reads 310 ms (ModelLatency
    is in microseconds) at the first step."""
    [item] = document["rollouts"]
    spec = RolloutSpec.from_graph(item["address"], item["plan"])
    latency, errors = spec.gates
    at = RolloutStatus("progressing", "14", "13", 0, time.time() - 60)
    decision = reconcile(spec, Observed("14", "13", spec.steps[0], status=at),
                         [GateReading(latency, "firing", 310000.0, "canary variant breached"),
                          GateReading(errors, "ok", 0.0)], time.time())
    return scheduled.notice_facts(spec, decision.status, scheduled.notice_gates(document))


def _published(delivery, document: dict) -> tuple[dict, list[dict]]:  # noqa: F811
    """Notify through moto: topics and a capturing queue made with the compiled names; returns the
    datapoints' metric and the SNS envelopes the queue got."""
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    sns = session.client("sns", endpoint_url=delivery["moto"])
    sqs = session.client("sqs", endpoint_url=delivery["moto"])
    cloudwatch = session.client("cloudwatch", endpoint_url=delivery["moto"])
    queue = sqs.create_queue(QueueName=f"captured-{time.time_ns()}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    notice = document["notifications"]["alarms"]["scorer"]
    made = []
    for topic in notice["topics"]:
        arn = sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        made.append(arn)
    notice["topics"] = made  # moto's account and region
    notifier = scheduled.cloudwatch_notifier(cloudwatch, document["notifications"], sns)
    notifier("scorer", time.time(), _facts(document))
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    metrics = cloudwatch.list_metrics(Namespace=alerting.ROLLOUT_NAMESPACE, MetricName=alerting.ROLLED_BACK_METRIC)
    return metrics, [json.loads(m["Body"]) for m in got]


def test_the_published_notice_carries_the_facts_to_every_channel(delivery, graph) -> None:  # noqa: F811
    document = _document(graph)
    assert _facts(document) == {"version": "14", "serving_version": "13", "share": "2%", "cause": "alert_fired",
                                "detail": "scorer-latency 310ms > 250ms"}
    metrics, [envelope] = _published(delivery, document)
    assert {"Name": "Endpoint", "Value": "scorer"} in metrics["Metrics"][0]["Dimensions"]  # the hold's datapoint
    message = json.loads(envelope["Message"])  # SQS gets the "default" entry of the JSON message structure
    assert (message["AlarmName"], message["NewStateValue"]) == ("fraud-detection-prod.rolled-back.scorer", "ALARM")
    assert message["mlopsRollback"]["summary"] == SUMMARY and message["NewStateReason"] == DESCRIPTION

    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": envelope["Message"],
                                                             "TopicArn": envelope["TopicArn"]}}]}
    receiver = delivery["receiver"]
    receiver.received.clear()
    names = {"MLOPS_SYSTEM": "fraud-detection", "MLOPS_ENVIRONMENT": "prod", "MLOPS_CHANNEL": "oncall"}
    _, slack_log = _invoke(delivery, {"CHANNEL_KIND": "slack", "SECRET_ID": "slack-oncall-webhook", **names}, event)
    _, pd_log = _invoke(delivery, {"CHANNEL_KIND": "pagerduty", "SECRET_ID": "pagerduty-key", "SECRET_KEY": "value",
                                   "PAGERDUTY_EVENTS_URL": receiver.url("/v2/enqueue")}, event)
    _, hook_log = _invoke(delivery, {"CHANNEL_KIND": "webhook", "WEBHOOK_URL": receiver.url("/hooks"), **names}, event)
    slack, page, hook = (r["json"] for r in receiver.received)

    [attachment] = slack["attachments"]
    assert attachment["title"] == "[FIRING:1] rolled_back_scorer (critical)"
    assert attachment["text"] == f"{SUMMARY}\n{DESCRIPTION}\n"
    assert (page["event_action"], page["dedup_key"]) == ("trigger", "fraud-detection-prod.rolled-back.scorer")
    assert page["payload"]["summary"] == SUMMARY and len(page["payload"]["summary"]) <= 1024
    assert {k: page["payload"]["custom_details"][k] for k in scheduled.NOTICE_FACTS} == _facts(document)
    [alert] = hook["alerts"]
    assert alert["labels"] == {"alertname": "rolled_back_scorer", "mlops_alert": "rolled_back_scorer",
                               "mlops_endpoint": "scorer", "mlops_environment": "prod",
                               "mlops_system": "fraud-detection", "severity": "critical"}
    assert alert["annotations"] == {**_facts(document), "summary": SUMMARY, "description": DESCRIPTION}

    logs = slack_log + pd_log + hook_log
    sent = json.dumps([envelope, slack, hook, {k: v for k, v in page.items() if k != "routing_key"}])
    _assert_no_secret(sent + logs)  # the routing key goes to PagerDuty only, as its API asks
    assert not find_secrets(sent + logs)


def test_the_email_body_and_the_kubernetes_annotations_say_the_same(graph) -> None:
    document = _document(graph)
    facts = _facts(document)
    message = scheduled.notice_message(document["notifications"], "scorer", time.time(), facts)
    assert (message["mlopsRollback"]["summary"], message["mlopsRollback"]["description"]) == (SUMMARY, DESCRIPTION)
    body = json.loads(scheduled.notice_body(message))  # an email subscriber gets the "email" entry
    assert body["email"] == f"{SUMMARY}\n\n{DESCRIPTION}\n" and json.loads(body["default"]) == message
    system = parse_system(REFERENCE.read_text(), str(REFERENCE), "prod").system
    kube = kube_target(system, "prod")
    said = kubernetes_alerting.rollback_annotations(kube, system.item("endpoints", "scorer"), facts)
    assert (said["summary"], said["description"]) == (SUMMARY, DESCRIPTION)


def test_one_paging_path_and_the_runner_may_publish_to_exactly_those_topics(graph) -> None:
    [alarm] = [r for r in graph.resources if r.type == alerting.ALARM and r.role == "rollback-alarm"]
    assert "alarmActions" not in alarm.inputs and alarm.inputs["okActions"]  # the runner pages; the OK resolves
    [policy] = [r for r in graph.resources if r.name == "rollout-runner-policy"]
    statements = {s["Sid"]: s for s in policy_statements(policy)}
    topics = _document(graph)["notifications"]["alarms"]["scorer"]["topics"]
    assert (statements["PublishRollbackNotices"]["Action"], statements["PublishRollbackNotices"]["Resource"]) == (
        ["sns:Publish"], topics)
    key = statements["EncryptRollbackNotices"]
    assert key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}}


def test_a_topic_that_refuses_fails_the_notice_so_the_next_pass_sends_it_again(delivery, graph) -> None:  # noqa: F811
    document = _document(graph)
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    notifier = scheduled.cloudwatch_notifier(session.client("cloudwatch", endpoint_url=delivery["moto"]),
                                             document["notifications"],
                                             session.client("sns", endpoint_url=delivery["moto"]))
    document["notifications"]["alarms"]["scorer"]["topics"] = [f"arn:aws:sns:{REGION}:123456789012:no-such-topic"]
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        notifier("scorer", time.time(), _facts(document))
