"""A canary rolled back on its own is announced on AWS (rollout/scheduled.py "Rollback notices",
compile/aws/alerting.py ``compile_rollback_alarm``), on a moto server (tests/support/moto_server.py):
by the runner's pass that rolls back, and by the runner's next pass when the rollback was made from a
terminal (``mlops-infra rollout``, which has no notifier) or completed by a later pass (the pass that
wrote it was killed before its traffic write); recorded in the rollout status (tag
``mlops-infra:rollout:notice``: pending, then sent), so no later pass sends it again.

The compiled Lambda archive runs as Lambda runs it (``tests/rollout/test_scheduled.py``): start, first
step, then a rollback alarm in ALARM fires the gate and the pass rolls back; that pass puts the metric.
moto stores metric data but never evaluates an alarm (moto ``cloudwatch/models.py``: ``put_metric_data``
only appends datums; an alarm changes state only through ``SetAlarmState``), so the test creates the
compiled alarm from the graph's arguments and evaluates it the way CloudWatch does: the alarm's
statistic over its period, for its metric and dimensions, compared with its threshold by its operator
("Using Amazon CloudWatch alarms", "Evaluating an alarm": "Period", "Evaluation Periods", "Datapoints
to Alarm", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
"Datapoints to Alarm" of the last "Evaluation Periods" datapoints breaching, "they just must all be within
the last number of data points equal to Evaluation Period". The compiled alarm is 1 of 15 one-minute
periods, so it holds ALARM for 15 minutes after the notice (as the Kubernetes rule fires for 15 minutes);
CloudWatch may keep a real datapoint a little longer (its evaluation range is wider than the periods),
so "back to OK" is checked well after the window.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from mlops_infra.compile.aws import alerting, rollout_runner
from mlops_infra.compile.kubernetes import alerting as kubernetes_alerting
from mlops_infra.endpoint_tags import ROLLOUT_TAG_PREFIX
from mlops_infra.rollout import scheduled
from mlops_infra.rollout.fleet import reconcile_fleet
from mlops_infra.rollout.runner import rolls_back_on_its_own
from mlops_infra.spec import parse_system
from mlops_infra.spec.alerting import rollback_channels
from tests.compile.aws.cases import REFERENCE, compiled, one, policy_statements
from tests.rollout.aws_world import canary_percent, status_tags
from tests.rollout.test_scheduled import deploy_previous_version, invoke
from tests.support.cli import run_cli
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import client, reset

pytestmark = [pytest.mark.moto, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

COMPARE = {"GreaterThanOrEqualToThreshold": lambda v, t: v >= t}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The reference prod graph: its runner archive written out as Lambda unpacks it, and the graph."""
    graph = compiled(REFERENCE, "prod")
    function = one(graph, rollout_runner.FUNCTION, "platform")
    root = tmp_path_factory.mktemp("lambda-code")
    for name, text in function.inputs["code"]["$archive"].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root, function, graph, json.loads((root / "rollouts.json").read_text())


def rollback_alarm(graph) -> dict:
    """The compiled rollback alarm of endpoint scorer as ``PutMetricAlarm`` arguments (Pulumi inputs ->
    botocore ``PutMetricAlarmInput`` names), its actions as the topics' placeholders."""
    [alarm] = [r for r in graph.resources if r.type == alerting.ALARM and r.role == "rollback-alarm"]
    i = alarm.inputs
    return {"AlarmName": i["name"], "AlarmDescription": i["alarmDescription"], "Namespace": i["namespace"],
            "MetricName": i["metricName"], "Dimensions": [{"Name": k, "Value": v} for k, v in i["dimensions"].items()],
            "Statistic": i["statistic"], "Period": i["period"], "EvaluationPeriods": i["evaluationPeriods"],
            "DatapointsToAlarm": i["datapointsToAlarm"], "Threshold": float(i["threshold"]),
            "ComparisonOperator": i["comparisonOperator"], "TreatMissingData": i["treatMissingData"],
            "ActionsEnabled": i["actionsEnabled"],
            "OKActions": ["arn:aws:sns:eu-west-1:123456789012:fraud-detection-prod-oncall"]}  # OK only: the runner pages


def channel_topics(moto_url: str, root, document: dict):
    """What ``pulumi up`` left for the notice: the rollback channels' topics (moto's account in their ARNs,
    written into the archive's document as the compiled ones are), each with a queue capturing what SNS
    delivers; returns a reader of the notices published so far (the ``default`` message, as JSON)."""
    sns, sqs = client("sns", moto_url, document["region"]), client("sqs", moto_url, document["region"])
    queue = sqs.create_queue(QueueName="captured-notices")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for notice in document["notifications"]["alarms"].values():
        notice["topics"] = [sns.create_topic(Name=t.rsplit(":", 1)[1])["TopicArn"] for t in notice["topics"]]
        for topic in notice["topics"]:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    (root / "rollouts.json").write_text(json.dumps(document), encoding="utf-8")

    def published() -> list[dict]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in got]
    return published


def evaluate(cw, alarm: dict, now: dt.datetime) -> str:
    """What CloudWatch decides for ``alarm`` at ``now`` over its last ``EvaluationPeriods`` periods: ALARM
    when ``DatapointsToAlarm`` of them breach; a period without data is not breaching (notBreaching)."""
    periods = alarm["EvaluationPeriods"] * alarm["Period"]
    answer = cw.get_metric_statistics(Namespace=alarm["Namespace"], MetricName=alarm["MetricName"],
                                      Dimensions=alarm["Dimensions"], StartTime=now - dt.timedelta(seconds=periods),
                                      EndTime=now, Period=alarm["Period"], Statistics=[alarm["Statistic"]])
    breaching = [p for p in answer["Datapoints"]
                 if COMPARE[alarm["ComparisonOperator"]](p[alarm["Statistic"]], alarm["Threshold"])]
    return "ALARM" if len(breaching) >= alarm["DatapointsToAlarm"] else "OK"


def allows(statements: list[dict], action: str, namespace: str) -> bool:
    """IAM's answer for ``action`` on ``*`` with ``cloudwatch:namespace`` = ``namespace`` (Allow statements
    with ``StringEquals`` only, which is all the runner's policy has; moto does not evaluate IAM conditions,
    moto ``iam/access_control.py``)."""
    def matches(s: dict) -> bool:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        equals = (s.get("Condition") or {}).get("StringEquals", {})
        return (action in actions and "*" in s["Resource"]
                and all(namespace == v for k, v in equals.items() if k == "cloudwatch:namespace"))
    return any(matches(s) for s in statements if s["Effect"] == "Allow")


def test_a_canary_rolled_back_by_the_runner_puts_the_metric_its_alarm_goes_to_alarm_on(world, moto_url):
    root, function, graph, document = world
    reset(moto_url)
    sm, endpoint = deploy_previous_version(moto_url, document)
    published = channel_topics(moto_url, root, document)
    cw = client("cloudwatch", moto_url, document["region"])
    alarm = rollback_alarm(graph)
    cw.put_metric_alarm(**alarm)
    invoke(root, function.inputs["handler"], moto_url)  # start
    invoke(root, function.inputs["handler"], moto_url)  # step 1: 2%
    assert evaluate(cw, alarm, dt.datetime.now(dt.UTC)) == "OK"  # nothing rolled back yet
    gate = document["rollouts"][0]["plan"]["rollbackAlarms"][0]
    cw.set_alarm_state(AlarmName=gate, StateValue="ALARM", StateReason="p99 812 ms > 500 ms")

    answer = invoke(root, function.inputs["handler"], moto_url)
    (line,) = answer["log"]
    assert (line["action"], line["acted"], line["lost"], line["notice"]) == ("rollback", True, False, "sent")
    assert line["message"] == (f"roll back: {gate} (alarm in ALARM: p99 812 ms > 500 ms) fired at step 1 "
                               "(2% on version 12)")  # the reason reaches the human: the log line
    assert answer["result"] == {"endpoints": [line]}
    assert status_tags(sm, endpoint)["phase"] == "rolled_back"
    now = dt.datetime.now(dt.UTC)
    assert evaluate(cw, alarm, now + dt.timedelta(seconds=1)) == "ALARM"
    # held like the Kubernetes rule (15 min), not resolved the next minute: PagerDuty keeps the incident
    assert [evaluate(cw, alarm, now + dt.timedelta(minutes=m)) for m in (2, 8, 14)] == ["ALARM"] * 3
    assert evaluate(cw, alarm, now + dt.timedelta(minutes=45)) == "OK"
    assert alerting.ROLLBACK_HOLD_SECONDS == kubernetes_alerting.ROLLBACK_WINDOW_SECONDS
    assert status_tags(sm, endpoint)["notice"] == "sent"  # recorded: no later pass sends it again
    assert "blind-since" not in status_tags(sm, endpoint)
    # the channels' one notification: published by the runner with the rollback's facts (the alarm has no ALARM action)
    [notice] = published()
    assert (notice["AlarmName"], notice["NewStateValue"]) == (alarm["AlarmName"], "ALARM")
    assert notice["mlopsRollback"]["facts"] == {"version": "12", "serving_version": "11", "share": "2%",
                                                "cause": "alert_fired", "detail": "scorer-latency fired"}
    [metric] = cw.list_metrics(Namespace=alerting.ROLLOUT_NAMESPACE)["Metrics"]
    assert sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]) == [
        ("Endpoint", "scorer"), ("Environment", "prod"), ("System", "fraud-detection")]

    again = invoke(root, function.inputs["handler"], moto_url)  # rolled back: nothing to announce again
    assert again["log"][0]["action"] == "none" and "notice" not in again["log"][0]

    # the role allows exactly this put: the namespace put, not another one
    statements = [s for r in graph.resources if r.type == "aws:iam/rolePolicy:RolePolicy"
                  and r.name == "rollout-runner-policy" for s in policy_statements(r)]
    assert allows(statements, "cloudwatch:PutMetricData", alerting.ROLLOUT_NAMESPACE)
    assert not allows(statements, "cloudwatch:PutMetricData", "AWS/SageMaker")
    assert not allows(statements, "cloudwatch:PutMetricData", "mlops-infra/Other")


def test_a_notice_that_fails_neither_fails_nor_undoes_the_rollback(world, moto_url, monkeypatch):
    _, _, _, document = world
    reset(moto_url)
    sm, endpoint = deploy_previous_version(moto_url, document)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    members = scheduled.aws_members(document)
    notify, _ = scheduled.notice_plan(document)
    assert notify == {"scorer"}

    def refused(endpoint: str, when: float, facts: dict[str, str]) -> None:
        raise RuntimeError("AccessDenied: not authorized to perform cloudwatch:PutMetricData")

    scheduled.run_pass(members)
    scheduled.run_pass(members)
    cw = client("cloudwatch", moto_url, document["region"])
    cw.set_alarm_state(AlarmName=document["rollouts"][0]["plan"]["rollbackAlarms"][0], StateValue="ALARM",
                       StateReason="breach")
    results, [line] = scheduled.logged_pass(members, None, notify, refused)
    done = results[0].result
    assert done is not None and done.acted and not done.lost and rolls_back_on_its_own(done.decision)
    assert line["action"] == "rollback" and line["acted"] is True
    assert line["notice"].startswith("failed: RuntimeError: AccessDenied") and "error" not in line
    assert status_tags(sm, endpoint)["phase"] == "rolled_back"
    assert status_tags(sm, endpoint)["notice"] == "pending"  # not lost: the next pass tries again

    sent: list[str] = []
    _, [retried] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append(e))
    assert (retried["action"], retried["notice"], sent) == ("none", "sent", ["scorer"])
    assert status_tags(sm, endpoint)["notice"] == "sent"
    _, [quiet] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append(e))
    assert "notice" not in quiet and sent == ["scorer"]


@pytest.fixture
def aws_env(moto_url, monkeypatch):
    """The CLI's and the in-process runner's credentials and endpoint: the moto server."""
    for key, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    return moto_url


def test_a_rollback_made_from_a_terminal_is_announced_by_the_runners_next_tick(world, aws_env, monkeypatch):
    """``mlops-infra rollout`` (the user's command, no notifier) wins the race to the gate and rolls the
    canary back: it prints who the runner will tell; the runner's next tick finds the rollout rolled
    back, sends the notice and records it; the tick after sends nothing."""
    root, function, graph, document = world
    reset(aws_env)
    sm, endpoint = deploy_previous_version(aws_env, document)
    published = channel_topics(aws_env, root, document)
    cw = client("cloudwatch", aws_env, document["region"])
    alarm = rollback_alarm(graph)
    cw.put_metric_alarm(**alarm)
    # this world is seeded with moto's test keys (account 123456789012) under the reference's prod (222222222222),
    # as channel_topics says; the terminal's credentials stand for prod's (rollout/connect.py checks the account)
    caller_is(monkeypatch, "222222222222")
    for _ in range(2):  # start, then the first step's 2%
        assert run_cli("rollout", "scorer", str(REFERENCE), "--env", "prod").code == 0
    cw.set_alarm_state(AlarmName=document["rollouts"][0]["plan"]["rollbackAlarms"][0], StateValue="ALARM",
                       StateReason="p99 812 ms > 500 ms")

    terminal = run_cli("rollout", "scorer", str(REFERENCE), "--env", "prod")
    assert terminal.code == 0 and "roll back: " in terminal.stdout, terminal.output
    assert status_tags(sm, endpoint)["phase"] == "rolled_back"
    assert cw.list_metrics(Namespace=alerting.ROLLOUT_NAMESPACE)["Metrics"] == []  # the terminal told nobody

    tick = invoke(root, function.inputs["handler"], aws_env)
    (line,) = tick["log"]
    assert (line["action"], line["acted"], line.get("notice")) == ("none", False, "sent")
    assert status_tags(sm, endpoint)["notice"] == "sent"
    assert evaluate(cw, alarm, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == "ALARM"

    again = invoke(root, function.inputs["handler"], aws_env)
    assert "notice" not in again["log"][0]
    points = cw.get_metric_statistics(Namespace=alarm["Namespace"], MetricName=alarm["MetricName"],
                                      Dimensions=alarm["Dimensions"], Statistics=["SampleCount"], Period=3600,
                                      StartTime=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
                                      EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))["Datapoints"]
    assert sum(p["SampleCount"] for p in points) == 1  # one notice, once
    [notice] = published()  # published once, by the tick that sent it, with the facts the terminal's pass recorded
    assert notice["mlopsRollback"]["facts"]["version"] == "12" and notice["mlopsRollback"]["facts"]["share"] == "2%"
    # what the terminal said: who will be told, and by whom
    system = parse_system(REFERENCE.read_text(), str(REFERENCE), "prod").system
    channels = rollback_channels(system, system.item("endpoints", "scorer"))
    assert channels and (f"rollback notice: pending; the scheduled rollout runner sends it to {', '.join(channels)} "
                         "on its next pass") in terminal.stdout


def test_a_rollback_completed_by_a_later_pass_is_announced(world, aws_env):
    """The runner is killed right after writing the rolled-back status, before the traffic moves (Lambda
    timeout, a crash): the next pass completes the rollback (reconcile rule 4) and announces it."""
    _, _, _, document = world
    reset(aws_env)
    sm, endpoint = deploy_previous_version(aws_env, document)
    members = scheduled.aws_members(document)
    notify, _ = scheduled.notice_plan(document)
    sent: list[tuple[str, float]] = []
    scheduled.run_pass(members, None, notify, lambda e, when, facts: sent.append((e, when)))
    scheduled.run_pass(members, None, notify, lambda e, when, facts: sent.append((e, when)))
    cw = client("cloudwatch", aws_env, document["region"])
    cw.set_alarm_state(AlarmName=document["rollouts"][0]["plan"]["rollbackAlarms"][0], StateValue="ALARM",
                       StateReason="breach")
    object.__setattr__(members[0].driver, "crash_at", "status")
    _, [killed] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append((e, when)))
    assert killed["error"].startswith("Crash: ") and "notice" not in killed and sent == []
    assert status_tags(sm, endpoint)["phase"] == "rolled_back" and canary_percent(sm, endpoint) == 2

    object.__setattr__(members[0].driver, "crash_at", None)
    _, [completed] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append((e, when)))
    assert (completed["action"], completed["acted"], completed.get("notice")) == ("rollback", True, "sent")
    assert completed["message"] == "completing the rollback of version 12"
    assert canary_percent(sm, endpoint) == 0 and status_tags(sm, endpoint)["notice"] == "sent"
    assert [e for e, _ in sent] == ["scorer"]


def test_a_notice_recorded_by_another_pass_first_is_at_least_once(world, aws_env):
    """Two ticks at once both see the notice pending and both send it (at-least-once); the second record
    finds the status changed and says so; a later pass sends nothing. A status written before notices
    were recorded (no notice field) sends nothing: an upgrade does not page for an old rollback."""
    _, _, _, document = world
    reset(aws_env)
    sm, endpoint = deploy_previous_version(aws_env, document)
    members = scheduled.aws_members(document)
    notify, _ = scheduled.notice_plan(document)
    scheduled.run_pass(members)
    scheduled.run_pass(members)
    cw = client("cloudwatch", aws_env, document["region"])
    cw.set_alarm_state(AlarmName=document["rollouts"][0]["plan"]["rollbackAlarms"][0], StateValue="ALARM",
                       StateReason="breach")
    scheduled.run_pass(members)  # rolled back with no notifier: pending
    assert status_tags(sm, endpoint)["notice"] == "pending"

    now = time.time()
    first = reconcile_fleet(members, now)  # both ticks observe before either records
    second = reconcile_fleet(members, now)
    sent: list[str] = []
    assert scheduled.send_notices(members, first, notify, lambda e, when, facts: sent.append(e), now) == {"scorer": "sent"}
    other = scheduled.send_notices(members, second, notify, lambda e, when, facts: sent.append(e), now)
    assert other["scorer"].startswith("sent, not recorded: ") and sent == ["scorer", "scorer"]
    assert status_tags(sm, endpoint)["notice"] == "sent"
    _, [line] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append(e))
    assert "notice" not in line and sent == ["scorer", "scorer"]

    arn = sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    sm.delete_tags(ResourceArn=arn, TagKeys=[f"{ROLLOUT_TAG_PREFIX}notice"])  # as an earlier runner left it
    _, [legacy] = scheduled.logged_pass(members, None, notify, lambda e, when, facts: sent.append(e))
    assert legacy["action"] == "none" and "notice" not in legacy and sent == ["scorer", "scorer"]



def test_a_notice_that_fails_fails_the_invocation_after_the_pass(world, moto_url, monkeypatch):
    """The Lambda entry point: the rollback is made and its notice left pending (the pass stands), then
    the invocation raises naming the notice, so the function's ``Errors`` metric (the compiled
    ``rollout-runner.errors`` alarm, to the ``rollback_on`` channels) tells someone; the next
    invocation sends the notice and returns."""
    _, _, _, document = world
    reset(moto_url)
    sm, endpoint = deploy_previous_version(moto_url, document)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setattr(scheduled, "load_document", lambda *_: document)
    sent: list[str] = []

    def refused(endpoint: str, when: float, facts: dict[str, str]) -> None:
        raise RuntimeError("KMSAccessDenied: the topic's key refuses sns.amazonaws.com")

    notify, _ = scheduled.notice_plan(document)
    monkeypatch.setattr(scheduled, "notice_plan", lambda doc: (notify, refused))
    assert scheduled.handler()["endpoints"][0]["action"] == "set_traffic"  # the canary starts
    scheduled.handler()  # as in the test above: the second pass sees the first step's traffic
    cw = client("cloudwatch", moto_url, document["region"])
    cw.set_alarm_state(AlarmName=document["rollouts"][0]["plan"]["rollbackAlarms"][0], StateValue="ALARM",
                       StateReason="breach")
    with pytest.raises(RuntimeError, match=r"^the rollback notice of scorer could not be sent \(the next pass"):
        scheduled.handler()
    assert status_tags(sm, endpoint)["phase"] == "rolled_back"  # the pass stood
    assert status_tags(sm, endpoint)["notice"] == "pending"

    monkeypatch.setattr(scheduled, "notice_plan", lambda doc: (notify, lambda e, when, facts: sent.append(e)))
    [line] = scheduled.handler()["endpoints"]
    assert (line["notice"], sent) == ("sent", ["scorer"])
