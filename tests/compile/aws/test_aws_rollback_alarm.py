"""A canary's rollback is an alert on AWS (compile/aws/alerting.py ``compile_rollback_alarm``,
compile/aws/rollout_runner.py "Rollback notices"): one alarm per canary endpoint whose ``rollback_on``
alerts notify channels, on the runner's own metric, to the union of those channels; the runner's
document names what to put, and its role may put exactly that."""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile.aws import alerting, rollout_runner
from tests.compile.aws.api_shapes import problems
from tests.compile.aws.cases import compile_text, of_type, placeholder, policy_statements
from tests.compile.aws.test_aws_rollout_runner import runner_doc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _doc(strategy: str = "canary", rollback_on: str = "[api-latency, api-errors]") -> str:
    return runner_doc(strategy, replicas_max=2, rollout_extra=f", rollback_on: {rollback_on}", extra="""\
monitors:
  - {name: latency, endpoint: api, metric: latency_p99, threshold: 500ms}
  - {name: errors, endpoint: api, metric: error_rate, threshold: 1%}
alerts:
  - {name: api-latency, monitor: latency, for: 5m, severity: warning, notify: [team]}
  - {name: api-errors, monitor: errors, for: 5m, severity: critical, notify: [pager, team]}
  - {name: other, monitor: errors, for: 1h, severity: info, notify: [extra]}
channels:
  - {name: team, kind: email, address: team@example.com}
  - {name: pager, kind: email, address: pager@example.com}
  - {name: extra, kind: email, address: extra@example.com}
""")


def _rollback_alarms(graph):
    return [r for r in of_type(graph, alerting.ALARM) if r.role == "rollback-alarm"]


def _runner_document(graph) -> dict:
    [function] = [r for r in of_type(graph, rollout_runner.FUNCTION) if r.name == "rollout-runner"]
    return json.loads(function.inputs["code"]["$archive"]["rollouts.json"])


def _runner_statements(graph) -> dict:
    [policy] = [r for r in graph.resources if r.name == "rollout-runner-policy"]
    return {s["Sid"]: s for s in policy_statements(policy)}


def test_a_canary_gets_one_alarm_on_the_runners_metric_told_to_its_rollback_channels():
    graph = compile_text(_doc())
    [alarm] = _rollback_alarms(graph)
    topics = {r.name: r.urn for r in of_type(graph, alerting.TOPIC)}
    actions = [{"$ref": topics["pager-topic"], "output": "arn"}, {"$ref": topics["team-topic"], "output": "arn"}]
    i = alarm.inputs
    assert alarm.address == "endpoints.api" and alarm.name == "api-rolled-back-alarm"
    assert (i["name"], i["namespace"], i["metricName"], i["dimensions"]) == (
        "runs-prod.rolled-back.api", "mlops-infra/Rollouts", "RolledBack",
        {"Endpoint": "api", "Environment": "prod", "System": "runs"})
    assert (i["statistic"], i["period"], i["comparisonOperator"], i["threshold"], i["evaluationPeriods"],
            i["datapointsToAlarm"], i["treatMissingData"]) == (
        "Sum", 60, "GreaterThanOrEqualToThreshold", 1, 15, 1, "notBreaching")
    # the union, each once; not "extra". OK actions only: the runner publishes the notice itself (one paging path)
    assert i["okActions"] == actions and "alarmActions" not in i
    # the forwarder reads the alert and severity from the head (forwarder._DESCRIPTION_HEAD); highest severity
    assert i["alarmDescription"].startswith("mlops-infra alert rolled_back_api (critical): ")
    params = {k[:1].upper() + k[1:]: v for k, v in placeholder(i).items() if k not in ("tags", "name")}
    params["AlarmName"], params["OKActions"] = i["name"], params.pop("OkActions")
    params["Dimensions"] = [{"Name": k, "Value": v} for k, v in i["dimensions"].items()]
    assert problems("cloudwatch", "PutMetricAlarm", params) == []


def test_its_name_cannot_be_an_alerts_alarm_name():
    """Alert alarms are ``<system>-<env>-<alert>``, physical names of ``a-z0-9-`` only: a ``.`` never is one."""
    graph = compile_text(_doc())
    names = [r.inputs["name"] for r in of_type(graph, alerting.ALARM)
             if r.role not in ("errors-alarm", "dropped-alarm")]  # a Lambda's "<function>.errors" and
    # "<function>.dropped" alarms: test_aws_lambda_failures.py
    [notice] = [n for n in names if "." in n]
    assert sorted(n for n in names if n != notice) == ["runs-prod-api-errors", "runs-prod-api-latency", "runs-prod-other"]


def test_the_runner_puts_in_its_namespace_only_and_its_document_says_what_to_put():
    graph = compile_text(_doc())
    statement = _runner_statements(graph)["AnnounceRollbacks"]
    assert (statement["Action"], statement["Resource"], statement["Condition"]) == (
        ["cloudwatch:PutMetricData"], ["*"], {"StringEquals": {"cloudwatch:namespace": "mlops-infra/Rollouts"}})
    document = _runner_document(graph)
    notice = document["notifications"].pop("alarms")
    assert notice == {"api": {
        "arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:runs-prod.rolled-back.api",
        "description": _rollback_alarms(graph)[0].inputs["alarmDescription"], "name": "runs-prod.rolled-back.api",
        "topics": [f"arn:aws:sns:us-east-1:123456789012:runs-prod-{c}" for c in ("pager", "team")]}}
    gates = document["notifications"].pop("gates")
    assert gates == {"runs-prod-api-errors": {"alert": "api-errors", "compare": ">", "scale": 100.0, "threshold": "1%",
                                              "unit": "%"},
                     "runs-prod-api-latency": {"alert": "api-latency", "compare": ">", "scale": 0.001,
                                               "threshold": "500ms", "unit": "ms"}}
    assert document["notifications"] == {"dimensions": {"Environment": "prod", "System": "runs"},
                                         "metric": "RolledBack", "namespace": "mlops-infra/Rollouts"}
    assert [(r["address"], r.get("notify")) for r in document["rollouts"]] == [("endpoints.api", True)]


def test_no_channel_no_alarm_no_grant():
    """A canary without rollback_on alerts tells nobody (every alert notifies a channel: validate)."""
    graph = compile_text(_doc(rollback_on="[]"))
    assert _rollback_alarms(graph) == [] and len(_rollback_alarms(compile_text(_doc()))) == 1
    assert "AnnounceRollbacks" not in _runner_statements(graph)
    document = _runner_document(graph)
    assert "notifications" not in document and "notify" not in document["rollouts"][0]


@pytest.mark.parametrize("strategy", ["blue_green", "rolling", "all_at_once"])
def test_sagemaker_rolled_back_strategies_get_no_rollback_alarm(strategy):
    """SageMaker rolls those back itself, on the rollback_on alarms, which already notify."""
    assert _rollback_alarms(compile_text(_doc(strategy))) == []
    assert len(_rollback_alarms(compile_text(_doc("canary")))) == 1
