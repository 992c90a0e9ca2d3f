"""``training_failed_<job>`` resolves on AWS as on Kubernetes (``compile/aws/training_failures.py``).

Before this alarm nothing resolved the alert on AWS: the EventBridge rule's message opened a PagerDuty
incident (``dedup_key`` = the message's ``AlarmName``) that stayed open until resolved by hand, while the
Kubernetes rule resolves 15 minutes after the failure. Checked here: the compiled alarm (the message's
name, OK actions only to the told topics, SageMaker's ``ExecutionFailed`` of the job's own pipeline,
botocore's ``PutMetricAlarm`` shape); CloudWatch's documented evaluation of it (``cloudwatch_evaluation``:
moto evaluates no alarm) holding ALARM for the Kubernetes window after a failed minute, then OK; the
shipped forwarder turning the rule's message and the alarm's OK into one PagerDuty trigger and its
resolve (one ``dedup_key``) and a webhook's firing and resolved alert with one fingerprint, a repeated
message folding into the same key; and the targets' retry age below the window.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.compile.aws import forwarder, training_failures
from mlops_infra.compile.kubernetes.alerting import TRAINING_FAILURE_WINDOW_SECONDS
from tests.compile.aws.api_shapes import problems
from tests.compile.aws.cases import compile_text, compiled, of_type, placeholder
from tests.compile.aws.cloudwatch_evaluation import alarm_state
from tests.compile.aws.pulumi_schema import check_inputs
from tests.compile.aws.test_aws_forwarder import sent  # noqa: F401  (fixture)

FRAUD = Path(__file__).resolve().parents[3] / "examples" / "fraud-detection" / "mlsystem.yaml"
EXECUTION = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/fraud-detection-staging-train-retrain/execution/x1"


def _graph():
    return compiled(FRAUD, "staging")


def _by_role(graph, role: str):
    return [r for r in graph.resources if r.role == role]


def _alarm(graph):
    [alarm] = _by_role(graph, "training-failure-alarm")
    return alarm


def _notice(graph) -> dict:
    """The message EventBridge publishes for a failed execution: the compiled template, filled."""
    [target] = _by_role(graph, "training-failure-target")
    template = target.inputs["inputTransformer"]["inputTemplate"]
    return json.loads(template.replace("<execution>", EXECUTION).replace("<time>", "2026-12-06T09:00:00Z"))


def _ok(graph) -> dict:
    """What CloudWatch publishes when the compiled alarm goes from ALARM to OK (the fields the forwarder reads)."""
    i = _alarm(graph).inputs
    return {"AlarmName": i["name"], "AlarmDescription": i["alarmDescription"], "NewStateValue": "OK",
            "OldStateValue": "ALARM", "StateChangeTime": "2026-12-06T09:16:00.000+0000",
            "NewStateReason": "Threshold Crossed: no datapoints were received for 15 periods and 15 missing "
                              "datapoints were treated as [NonBreaching].",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:111111111111:alarm:{i['name']}"}


def _records(*messages: dict) -> dict:
    return {"Records": [{"Sns": {"Message": json.dumps(m)}} for m in messages]}


def test_each_told_job_gets_an_ok_only_alarm_named_as_its_message():
    graph = _graph()
    alarm, notice = _alarm(graph), _notice(graph)
    [pipeline] = [r for r in of_type(graph, "aws:sagemaker/pipeline:Pipeline") if r.name == "retrain-pipeline"]
    topics = {r.name: r.urn for r in of_type(graph, "aws:sns/topic:Topic")}
    i = alarm.inputs
    assert alarm.address == "training_jobs.retrain" and alarm.type == training_failures.ALARM
    # the message's AlarmName: the forwarder's PagerDuty dedup_key of the resolve is the trigger's
    assert i["name"] == notice["AlarmName"] == "fraud-detection-staging.training-failed.retrain"
    assert (i["namespace"], i["metricName"], i["dimensions"]) == (
        "AWS/Sagemaker/ModelBuildingPipeline", "ExecutionFailed", {"PipelineName": pipeline.inputs["pipelineName"]})
    assert (i["statistic"], i["period"], i["comparisonOperator"], i["threshold"], i["evaluationPeriods"],
            i["datapointsToAlarm"], i["treatMissingData"]) == (
        "Sum", 60, "GreaterThanOrEqualToThreshold", 1, 15, 1, "notBreaching")
    # OK actions only, to the channels the rule tells: the rule's message is the trigger (with the execution)
    assert i["okActions"] == [{"$ref": topics["ml-team-topic"], "output": "arn"}] and "alarmActions" not in i
    assert i["alarmDescription"].startswith("mlops-infra alert training_failed_retrain (warning): ")
    assert training_failures.HOLD_SECONDS == TRAINING_FAILURE_WINDOW_SECONDS
    assert check_inputs(alarm.type, i) == []
    params = {k[:1].upper() + k[1:]: v for k, v in placeholder(i).items() if k not in ("tags", "name")}
    params["AlarmName"], params["OKActions"] = i["name"], params.pop("OkActions")
    params["Dimensions"] = [{"Name": k, "Value": v} for k, v in i["dimensions"].items()]
    assert problems("cloudwatch", "PutMetricAlarm", params) == []


def test_a_job_told_to_nobody_has_no_alarm():
    text = FRAUD.read_text().replace("      on_alerts: [fraud-drift]      # retrain when this alert fires\n", "")
    graph = compile_text(text, "staging")
    assert not _by_role(graph, "training-failure-rule") and not _by_role(graph, "training-failure-alarm")


def test_cloudwatch_holds_the_alarm_for_the_kubernetes_window_after_a_failed_minute():
    i = _alarm(_graph()).inputs
    series: list[float | None] = [None] * 30 + [1.0] + [None] * 30  # one failed execution at minute 30
    states = []
    for now in range(len(series)):
        window = series[max(0, now + 1 - i["evaluationPeriods"]):now + 1]
        window = [None] * (i["evaluationPeriods"] - len(window)) + window
        states.append(alarm_state(window, periods=i["evaluationPeriods"], to_alarm=i["datapointsToAlarm"],
                                  threshold=i["threshold"], comparison=i["comparisonOperator"],
                                  treat_missing=i["treatMissingData"]))
    assert set(states[:30]) == {"OK"}
    held = [now for now, state in enumerate(states) if state == "ALARM"]
    assert held == list(range(30, 30 + TRAINING_FAILURE_WINDOW_SECONDS // 60))  # 15 minutes, then OK
    assert set(states[held[-1] + 1:]) == {"OK"}


def test_the_targets_stop_retrying_before_the_alarm_can_resolve():
    """A retried delivery after the resolve would open an incident that nothing closes (module contract)."""
    for target in _by_role(_graph(), "training-failure-target"):
        age = target.inputs["retryPolicy"]["maximumEventAgeInSeconds"]
        assert 60 <= age < training_failures.HOLD_SECONDS


def test_pagerduty_gets_a_trigger_and_its_resolve_and_a_repeated_message_folds_in(sent, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CHANNEL_KIND", "pagerduty")
    monkeypatch.setenv("SECRET_ID", "pd")
    monkeypatch.setenv("SECRET_KEY", "routing")
    graph = _graph()
    forwarder.handler(_records(_notice(graph), _notice(graph)))  # SageMaker may send the event twice
    forwarder.handler(_records(_ok(graph)))
    first, again, resolve = (call["body"] for call in sent)
    assert [first["event_action"], again["event_action"], resolve["event_action"]] == ["trigger", "trigger", "resolve"]
    assert first["dedup_key"] == again["dedup_key"] == resolve["dedup_key"] == \
        "fraud-detection-staging.training-failed.retrain"
    assert EXECUTION in first["payload"]["custom_details"]["reason"]


def test_a_webhook_gets_the_alert_firing_then_resolved_with_one_fingerprint(sent, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CHANNEL_KIND", "webhook")
    monkeypatch.setenv("WEBHOOK_URL", "https://hook.example.test/in")
    for name, value in (("MLOPS_SYSTEM", "fraud-detection"), ("MLOPS_ENVIRONMENT", "staging"),
                        ("MLOPS_CHANNEL", "ml-team")):
        monkeypatch.setenv(name, value)
    graph = _graph()
    forwarder.handler(_records(_notice(graph)))
    forwarder.handler(_records(_ok(graph)))
    [firing], [resolved] = (call["body"]["alerts"] for call in sent)
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert firing["labels"] == resolved["labels"] and firing["fingerprint"] == resolved["fingerprint"]
    assert firing["labels"]["alertname"] == "training_failed_retrain"
