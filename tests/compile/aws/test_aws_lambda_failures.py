"""Failed asynchronous invocations of the compiled Lambdas are kept and told (compile/aws/lambda_failures.py).

Audits notifications#2 and triggers#3: SNS invokes a channel's forwarder and EventBridge a retrain
gate asynchronously; Lambda retries a function error twice and then discards the event unless a
destination keeps it (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
and nothing watched the functions' ``AWS/Lambda`` ``Errors``. Checked here: every compiled Lambda
has an Errors alarm (dimension ``FunctionName``, ``Sum >= 1``, missing data not breaching) and an
event invoke config; forwarders and gates send failed events to a KMS-encrypted SQS queue their
execution role may write; a forwarder's alarm never goes only to its own channel; the alarm and the
invoke config made from the graph's arguments are accepted by the moto server (the values moto
refuses, e.g. 3 retries, are refused there too); ``validate`` warns where nobody would hear.
Since stop 30: the role's grant on the platform key holds only through SQS (``kms:ViaService``),
and every Lambda has a dropped alarm (``AsyncEventsDropped``, plus ``DestinationDeliveryFailures``
where a failure queue keeps events) told to the Errors alarm's audience.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest

from mlops_infra.compile.aws import forwarder, lambda_failures, lambdas
from mlops_infra.graph import DesiredGraph, DesiredResource, is_json, is_ref
from mlops_infra.spec import parse_system
from mlops_infra.spec.lambda_failures import forwarder_audience
from mlops_infra.spec.limits import AWS_ALARM_ACTIONS_MAX
from mlops_infra.state.aws_live.cloudwatch import map_metric_alarm
from tests.compile.aws.api_shapes import pascal, problems
from tests.compile.aws.cases import REFERENCE, compile_text, compiled, of_type, placeholder, policy_statements
from tests.support.moto_server import client, handler_zip, running_moto_server
from tests.support.text_edits import line_of

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def reference_text() -> str:
    return REFERENCE.read_text()


@pytest.fixture(scope="module")
def graph() -> DesiredGraph:
    return compiled(REFERENCE, "prod")


def _by_urn(graph: DesiredGraph) -> dict[str, DesiredResource]:
    return {r.urn: r for r in graph.resources}


def _handling(graph: DesiredGraph, function: DesiredResource) -> dict[str, DesiredResource | None]:
    """The invoke config, Errors alarm, dropped alarm and failure queue compiled for ``function`` (None
    when absent)."""
    configs = [c for c in of_type(graph, lambda_failures.INVOKE_CONFIG)
               if c.inputs["functionName"] == {"$ref": function.urn, "output": "name"}]
    name = function.inputs["name"]
    alarms = [a for a in of_type(graph, lambda_failures.ALARM) if a.inputs.get("dimensions") == {"FunctionName": name}
              and a.inputs["metricName"] == "Errors"]
    dropped = [a for a in of_type(graph, lambda_failures.ALARM) if a.inputs["name"] == f"{name}.dropped"]
    assert len(configs) <= 1 and len(alarms) <= 1 and len(dropped) <= 1
    config = configs[0] if configs else None
    queue = None
    if config is not None and "destinationConfig" in config.inputs:
        queue = _by_urn(graph)[config.inputs["destinationConfig"]["onFailure"]["destination"]["$ref"]]
    return {"config": config, "alarm": alarms[0] if alarms else None, "dropped": dropped[0] if dropped else None,
            "queue": queue}


def _topic_channels(graph: DesiredGraph, actions: list[Any]) -> list[str]:
    """The channels whose topics ``actions`` (refs) name, in order."""
    by_urn = _by_urn(graph)
    assert all(is_ref(a) and a["output"] == "arn" for a in actions)
    return [by_urn[a["$ref"]].address.removeprefix("channels.") for a in actions]


def test_every_compiled_lambda_has_an_errors_alarm_and_an_invoke_config(graph: DesiredGraph) -> None:
    functions = of_type(graph, lambdas.FUNCTION)
    assert {f.role for f in functions} == {"function", "retrain-gate", "rollout-runner"}
    for function in functions:
        parts = _handling(graph, function)
        alarm, config = parts["alarm"], parts["config"]
        assert alarm is not None and config is not None, function.name
        assert {k: alarm.inputs[k] for k in ("namespace", "metricName", "statistic", "comparisonOperator",
                                               "threshold", "treatMissingData", "datapointsToAlarm")} == {
            "namespace": "AWS/Lambda", "metricName": "Errors", "statistic": "Sum",
            "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 1,
            "treatMissingData": "notBreaching", "datapointsToAlarm": 1}
        assert alarm.inputs["period"] * alarm.inputs["evaluationPeriods"] == 300
        assert alarm.inputs["name"] == function.inputs["name"] + ".errors"
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"]
        assert 0 < len(alarm.inputs["alarmActions"]) <= AWS_ALARM_ACTIONS_MAX
        assert alarm.address == function.address


def test_forwarders_and_gates_keep_failed_events_in_an_encrypted_queue_their_role_may_write(
        graph: DesiredGraph) -> None:
    by_urn = _by_urn(graph)
    key = next(r for r in graph.resources if r.type == "aws:kms/key:Key")
    for function in of_type(graph, lambdas.FUNCTION):
        parts = _handling(graph, function)
        config, queue = parts["config"].inputs, parts["queue"]
        if function.role == "rollout-runner":  # the next tick is the retry: nothing kept, no retries
            assert queue is None and config["maximumRetryAttempts"] == 0 and config["maximumEventAgeInSeconds"] == 60
            continue
        assert config["maximumRetryAttempts"] == 2 and config["maximumEventAgeInSeconds"] == 21600
        assert queue.inputs["name"] == function.inputs["name"] + "-failed"
        assert queue.inputs["kmsMasterKeyId"] == {"$ref": key.urn, "output": "arn"}
        assert queue.inputs["messageRetentionSeconds"] == 14 * 86400
        role = by_urn[function.inputs["role"]["$ref"]]
        # the function's role's inline policy, which the invoke config waits for
        policy = next(by_urn[d] for d in parts["config"].dependencies
                      if by_urn[d].type == "aws:iam/rolePolicy:RolePolicy")
        assert role.urn in policy.dependencies and policy.urn in function.dependencies
        assert is_json(policy.inputs["policy"])
        statements = {s["Sid"]: s for s in policy.inputs["policy"]["$json"]["Statement"]}
        assert statements["KeepFailedEvents"]["Action"] == ["sqs:SendMessage"]
        assert statements["KeepFailedEvents"]["Resource"] == [
            f"arn:aws:sqs:{REGION}:222222222222:{queue.inputs['name']}"]  # the queue's ARN (SQS: by name)
        assert statements["EncryptFailedEvents"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert statements["EncryptFailedEvents"]["Resource"] == [{"$ref": key.urn, "output": "arn"}]


def allowed(statements: list[dict], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's answer for one request from a role with only these identity statements (no Deny, no
    boundary: the roles compiled here have neither). A statement applies when the action and the
    resource match and every condition holds; ``StringEquals`` holds when the request context has
    the key with one of the values, and a key the request does not carry does not match (IAM User
    Guide, "IAM JSON policy elements: Condition" and "Conditions with multiple context keys or
    values": keys AND, values OR; only the ``...IfExists`` operators match an absent key). The
    compiled grants use ``StringEquals`` only; any other operator fails this helper loudly."""
    def holds(condition: dict) -> bool:
        assert set(condition) <= {"StringEquals"}, condition
        return all(context.get(k) in (v if isinstance(v, list) else [v]) for k, v in condition["StringEquals"].items())
    return any(s["Effect"] == "Allow" and action in s["Action"] and resource in s["Resource"]
               and holds(s.get("Condition") or {"StringEquals": {}}) for s in statements)


KEY_ARN = "arn:aws:kms:eu-west-1:222222222222:key/platform"


def test_the_failure_queue_key_grant_holds_only_through_sqs(graph: DesiredGraph) -> None:
    """SQS key management: a producer to a CMK queue needs kms:GenerateDataKey and kms:Decrypt, which
    SQS calls on its behalf (kms:ViaService sqs.<region>.amazonaws.com, KMS condition keys); Lambda
    sends the failure record as the function's execution role. The role may not use the key itself,
    nor through another service. The key's other grants (the SageMaker roles' UseDataKey) are not
    restricted by this."""
    by_urn = _by_urn(graph)
    key = next(r for r in graph.resources if r.type == "aws:kms/key:Key")
    kept = 0
    for function in of_type(graph, lambdas.FUNCTION):
        parts = _handling(graph, function)
        if parts["queue"] is None:
            continue
        kept += 1
        policy = next(by_urn[d] for d in parts["config"].dependencies
                      if by_urn[d].type == "aws:iam/rolePolicy:RolePolicy")
        statements = placeholder(policy.inputs["policy"], {key.urn: KEY_ARN})["Statement"]
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert allowed(statements, action, KEY_ARN, {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"})
            assert not allowed(statements, action, KEY_ARN, {}), (function.name, action)  # a direct call
            for other in ("s3", "lambda", "sns", "secretsmanager"):
                assert not allowed(statements, action, KEY_ARN, {"kms:ViaService": f"{other}.{REGION}.amazonaws.com"})
            assert not allowed(statements, action, KEY_ARN, {"kms:ViaService": "sqs.us-east-1.amazonaws.com"})
        assert not allowed(statements, "kms:Encrypt", KEY_ARN, {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"})
        # SQS itself is still reachable: only the failure queue, and without a condition
        queue_arn = f"arn:aws:sqs:{REGION}:222222222222:{parts['queue'].inputs['name']}"
        assert allowed(statements, "sqs:SendMessage", queue_arn, {})
    assert kept == 2  # the reference's forwarder (oncall) and gate (retrain)
    # the other users of the key keep their grants: SageMaker roles use it directly (volumes, outputs, S3)
    direct = [s for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy")
              for s in placeholder(policy_statements(p), {key.urn: KEY_ARN}) if s.get("Sid") == "UseDataKey"]
    assert direct and all(allowed([s], "kms:Decrypt", KEY_ARN, {}) for s in direct)


def _put_metric_alarm(inputs: dict[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm request pulumi-aws sends for these inputs (botocore PutMetricAlarmInput names:
    ``Dimensions`` and ``MetricStat.Metric.Dimensions`` as Name/Value lists, ``metricQueries`` as
    ``Metrics``)."""
    def dims(values: dict[str, str]) -> list[dict[str, str]]:
        return [{"Name": k, "Value": v} for k, v in values.items()]
    request = pascal({k: v for k, v in inputs.items() if k not in ("name", "dimensions", "metricQueries")})
    request["AlarmName"] = inputs["name"]
    if "dimensions" in inputs:
        request["Dimensions"] = dims(inputs["dimensions"])
    for query in inputs.get("metricQueries", []):
        item = pascal({k: v for k, v in query.items() if k != "metric"})
        if "metric" in query:
            m = query["metric"]
            item["MetricStat"] = {"Metric": {"Namespace": m["namespace"], "MetricName": m["metricName"],
                                             "Dimensions": dims(m["dimensions"])}, "Period": m["period"], "Stat": m["stat"]}
        request.setdefault("Metrics", []).append(item)
    return request


def test_every_lambda_has_a_dropped_alarm_told_as_its_errors_alarm(graph: DesiredGraph) -> None:
    """AsyncEventsDropped (retries exhausted, too old, no concurrency) and, where a failure queue keeps
    events, DestinationDeliveryFailures (the record could not be kept): one alarm per function, metric
    math ``dropped + undelivered`` (missing values count 0), else the one metric; same window,
    threshold, audience and description head as the Errors alarm."""
    seen = set()
    for function in of_type(graph, lambdas.FUNCTION):
        parts = _handling(graph, function)
        errors, dropped = parts["alarm"].inputs, parts["dropped"]
        name = function.inputs["name"]
        assert dropped is not None and dropped.address == function.address and dropped.role == "dropped-alarm"
        alarm = dropped.inputs
        assert alarm["name"] == f"{name}.dropped"
        for field in ("evaluationPeriods", "datapointsToAlarm", "threshold", "comparisonOperator",
                      "treatMissingData", "actionsEnabled", "alarmActions", "okActions"):
            assert alarm[field] == errors[field], (name, field)
        metric = {"namespace": "AWS/Lambda", "dimensions": {"FunctionName": name}, "period": 60, "stat": "Sum"}
        if parts["queue"] is not None:
            assert "metricName" not in alarm and "period" not in alarm
            assert alarm["metricQueries"] == [
                {"id": "dropped", "returnData": False, "metric": {**metric, "metricName": "AsyncEventsDropped"}},
                {"id": "undelivered", "returnData": False,
                 "metric": {**metric, "metricName": "DestinationDeliveryFailures"}},
                {"id": "lost", "expression": "dropped + undelivered", "returnData": True}]
            assert parts["queue"].inputs["name"] in alarm["alarmDescription"]
        else:  # the runner: no destination, nothing to fail delivering to
            assert "metricQueries" not in alarm
            assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"], alarm["statistic"], alarm["period"]) \
                == ("AWS/Lambda", "AsyncEventsDropped", {"FunctionName": name}, "Sum", 60)
        severity = forwarder._DESCRIPTION_HEAD.match(errors["alarmDescription"]).group("severity")
        assert alarm["alarmDescription"].startswith(f"mlops-infra alert {name}.dropped ({severity}): Lambda {name}, ")
        request = _put_metric_alarm(placeholder({k: v for k, v in alarm.items() if k != "tags"}))
        assert problems("cloudwatch", "PutMetricAlarm", request) == [], name
        seen.add(function.role)
    assert seen == {"function", "retrain-gate", "rollout-runner"}


def test_a_forwarder_labels_a_dropped_alarm_as_its_own_alert(graph: DesiredGraph, monkeypatch) -> None:
    """The SNS message of the gate's dropped alarm, as a webhook channel's forwarder would send it."""
    monkeypatch.setenv("MLOPS_SYSTEM", "fraud-detection")
    gate = next(f for f in of_type(graph, lambdas.FUNCTION) if f.role == "retrain-gate")
    alarm = _handling(graph, gate)["dropped"].inputs
    body = forwarder.alertmanager_payload({"AlarmName": alarm["name"], "AlarmDescription": alarm["alarmDescription"],
                                           "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed"})
    labels = body["alerts"][0]["labels"]
    assert (labels["alertname"], labels["severity"], body["status"]) == (alarm["name"], "warning", "firing")


def test_who_hears_each_failure_in_the_reference(graph: DesiredGraph) -> None:
    """oncall (Slack) -> ml-team; the gate (on_alerts: fraud-drift, notifying ml-team) -> ml-team;
    the runner (the scorer's rollback_on alerts notify oncall) -> oncall."""
    heard = {f.role: _topic_channels(graph, _handling(graph, f)["alarm"].inputs["alarmActions"])
             for f in of_type(graph, lambdas.FUNCTION)}
    assert heard == {"function": ["ml-team"], "retrain-gate": ["ml-team"], "rollout-runner": ["oncall"]}


def _with_channels(text: str, channels: list[tuple[str, str]]) -> str:
    """The reference with its channels replaced by ``channels`` ((name, kind)), every alert notifying
    the first one."""
    def block(name: str, kind: str) -> str:
        field = {"slack": "    webhook_url: {secret: s}\n", "email": f"    address: {name}@example.com\n",
                 "pagerduty": "    routing_key: {secret: k}\n", "webhook": "    url: https://example.com/hook\n"}
        return f"  - name: {name}\n    kind: {kind}\n{field[kind]}"
    head, rest = text.split("\nchannels:\n", 1)
    tail = rest[rest.index("\n# One system"):]
    head = head.replace("notify: [ml-team]", f"notify: [{channels[0][0]}]").replace(
        "notify: [oncall]", f"notify: [{channels[0][0]}]")
    return head + "\nchannels:\n" + "".join(block(n, k) for n, k in channels) + tail


def test_a_forwarder_is_never_heard_only_through_its_own_channel(reference_text: str) -> None:
    """Seven channels: each forwarder's alarm names five others, emails first, never itself."""
    channels = [("pager", "pagerduty"), ("chat", "slack"), ("hook", "webhook"), ("a", "email"),
                ("chat-2", "slack"), ("b", "email"), ("c", "email")]
    graph = compile_text(_with_channels(reference_text, channels))
    for function in of_type(graph, lambdas.FUNCTION):
        if function.role != "function":
            continue
        own = function.address.removeprefix("channels.")
        heard = _topic_channels(graph, _handling(graph, function)["alarm"].inputs["alarmActions"])
        others = [n for n, _ in channels if n != own]
        emails = [n for n, k in channels if k == "email" and n != own]
        assert heard == (emails + [n for n in others if n not in emails])[:AWS_ALARM_ACTIONS_MAX]
        assert own not in heard and len(heard) == AWS_ALARM_ACTIONS_MAX


def test_the_only_channel_s_forwarder_still_gets_its_alarm_and_validate_warns(reference_text: str) -> None:
    text = _with_channels(reference_text, [("oncall", "slack")])
    graph = compile_text(text)
    forwarder = next(f for f in of_type(graph, lambdas.FUNCTION) if f.role == "function")
    assert forwarder_audience(parse_system(text, "mlsystem.yaml", "prod").system, "oncall") == ()
    alarm = _handling(graph, forwarder)["alarm"]
    assert alarm is not None and alarm.inputs["alarmActions"] == []
    found = [d for d in parse_system(text, "mlsystem.yaml", "prod").diagnostics if d.code == "unheard-lambda-failures"]
    assert [(d.severity, d.path, d.address) for d in found] == [("warning", ("channels", 0), "channels.oncall")]
    assert found[0].location.line == line_of(text, "  - name: oncall")
    # Kubernetes (dev): Alertmanager delivers, no Lambda, no warning
    assert not [d for d in parse_system(text, "mlsystem.yaml", "dev").diagnostics
                if d.code == "unheard-lambda-failures"]
    # a second channel, email: heard, no warning
    two = _with_channels(reference_text, [("oncall", "slack"), ("ml-team", "email")])
    assert not [d for d in parse_system(two, "mlsystem.yaml", "prod").diagnostics
                if d.code == "unheard-lambda-failures"]


def test_a_system_without_channels_warns_at_its_triggered_job_and_first_canary(reference_text: str) -> None:
    """Without alerts (an alert must notify a channel) and channels, the gate and runner alarms are unheard."""
    head, rest = reference_text.split("\nalerts:\n", 1)
    text = (head.replace("      on_alerts: [fraud-drift]      # retrain when this alert fires\n", "")
            .replace("      rollback_on: [scorer-latency, scorer-errors]  # alerts that roll the rollout back\n", "")
            + rest[rest.index("\n# One system"):])
    loaded = parse_system(text, "mlsystem.yaml", "prod")
    found = [(d.severity, d.path, d.address) for d in loaded.diagnostics if d.code == "unheard-lambda-failures"]
    assert found == [("warning", ("training_jobs", 0, "triggers"), "training_jobs.retrain"),
                     ("warning", ("endpoints", 0, "rollout"), "endpoints.scorer")], [
        d.summary for d in loaded.diagnostics]
    graph = compile_text(text)
    alarms = [_handling(graph, f)["alarm"] for f in of_type(graph, lambdas.FUNCTION)]
    assert len(alarms) == 2 and all(a.inputs["alarmActions"] == [] for a in alarms)


# --- on the moto server, from the graph's arguments ----------------------------------------------

def _arn_of(graph: DesiredGraph, value: Any, arns: dict[str, str]) -> Any:
    return arns[value["$ref"]] if is_ref(value) else value


def test_the_forwarder_s_alarm_queue_and_invoke_config_are_accepted_by_the_moto_server(graph: DesiredGraph) -> None:
    forwarder = next(f for f in of_type(graph, lambdas.FUNCTION) if f.role == "function")
    parts = _handling(graph, forwarder)
    by_urn = _by_urn(graph)
    suffix = "-lf1"  # moto's backends persist across servers in one test process: names of this test only
    with running_moto_server() as url:
        arns: dict[str, str] = {}
        key = client("kms", url, REGION).create_key()["KeyMetadata"]["Arn"]
        arns[parts["queue"].inputs["kmsMasterKeyId"]["$ref"]] = key
        sns = client("sns", url, REGION)
        for action in parts["alarm"].inputs["alarmActions"]:
            topic = by_urn[action["$ref"]]
            arns[topic.urn] = sns.create_topic(Name=topic.inputs["name"] + suffix)["TopicArn"]
        sqs = client("sqs", url, REGION)
        queue = parts["queue"].inputs
        queue_url = sqs.create_queue(QueueName=queue["name"] + suffix, Attributes={
            "KmsMasterKeyId": _arn_of(graph, queue["kmsMasterKeyId"], arns),
            "MessageRetentionPeriod": str(queue["messageRetentionSeconds"])})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["KmsMasterKeyId"])["Attributes"] == {
            "KmsMasterKeyId": key}
        arns[parts["queue"].urn] = queue_arn
        role = client("iam", url).create_role(RoleName=f"lf-role{suffix}", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
        lam = client("lambda", url, REGION)
        name = forwarder.inputs["name"] + suffix
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="h.handler",
                            Code={"ZipFile": handler_zip()})
        config = parts["config"].inputs
        lam.put_function_event_invoke_config(
            FunctionName=name, MaximumRetryAttempts=config["maximumRetryAttempts"],
            MaximumEventAgeInSeconds=config["maximumEventAgeInSeconds"],
            DestinationConfig={"OnFailure": {"Destination": _arn_of(
                graph, config["destinationConfig"]["onFailure"]["destination"], arns)}})
        kept = lam.get_function_event_invoke_config(FunctionName=name)
        assert (kept["MaximumRetryAttempts"], kept["MaximumEventAgeInSeconds"]) == (2, 21600)
        assert kept["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
        with pytest.raises(botocore.exceptions.ClientError):  # Lambda's range: 0 to 2 retries
            lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=3)
        alarm = parts["alarm"].inputs
        cw = client("cloudwatch", url, REGION)
        actions = [_arn_of(graph, a, arns) for a in alarm["alarmActions"]]
        cw.put_metric_alarm(
            AlarmName=alarm["name"] + suffix, AlarmDescription=alarm["alarmDescription"],
            Namespace=alarm["namespace"], MetricName=alarm["metricName"],
            Dimensions=[{"Name": k, "Value": v + suffix} for k, v in alarm["dimensions"].items()],
            Statistic=alarm["statistic"], Period=alarm["period"], EvaluationPeriods=alarm["evaluationPeriods"],
            DatapointsToAlarm=alarm["datapointsToAlarm"], Threshold=alarm["threshold"],
            ComparisonOperator=alarm["comparisonOperator"], TreatMissingData=alarm["treatMissingData"],
            ActionsEnabled=alarm["actionsEnabled"], AlarmActions=actions, OKActions=actions)
        made = cw.describe_alarms(AlarmNames=[alarm["name"] + suffix])["MetricAlarms"]
        assert [(a["Namespace"], a["MetricName"], a["Dimensions"], a["AlarmActions"]) for a in made] == [
            ("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": name}], actions)]
        # one failed invocation (Sum 1 in a minute) is what the alarm counts
        assert made[0]["Threshold"] == 1.0 and made[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        # its dropped alarm: metric math over the two asynchronous-delivery metrics of the same function
        dropped = _put_metric_alarm({k: (v + suffix if k == "name" else v) for k, v in parts["dropped"].inputs.items()
                                     if k not in ("tags", "alarmActions", "okActions")})
        for query in dropped["Metrics"]:
            for dim in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
                dim["Value"] += suffix
        cw.put_metric_alarm(**dropped, AlarmActions=actions, OKActions=actions)
        [made] = cw.describe_alarms(AlarmNames=[dropped["AlarmName"]])["MetricAlarms"]
        assert [(q["Id"], q.get("Expression"), q.get("MetricStat", {}).get("Metric", {}).get("MetricName"))
                for q in made["Metrics"]] == [("dropped", None, "AsyncEventsDropped"),
                                              ("undelivered", None, "DestinationDeliveryFailures"),
                                              ("lost", "dropped + undelivered", None)]
        assert made["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": name}]
        assert made["AlarmActions"] == actions and made["EvaluationPeriods"] == 5


def test_the_dropped_alarms_read_back_as_compiled(graph: DesiredGraph) -> None:
    """Made on the moto server from the graph's arguments and read back by the live reader
    (``state/aws_live/cloudwatch.map_metric_alarm``), each dropped alarm has the compiled inputs: a
    refresh after apply finds no drift in them."""
    with running_moto_server() as url:
        cw = client("cloudwatch", url, REGION)
        for function in of_type(graph, lambdas.FUNCTION):
            alarm = _handling(graph, function)["dropped"].inputs
            request = _put_metric_alarm(placeholder({k: v for k, v in alarm.items() if k != "tags"}))
            request["AlarmName"] += "-lf2"  # moto's backends persist across servers in one test process
            cw.put_metric_alarm(**request)
            [made] = cw.describe_alarms(AlarmNames=[request["AlarmName"]])["MetricAlarms"]
            read = map_metric_alarm(made).inputs
            assert {k: read.get(k) for k in alarm if k not in ("tags", "name", "alarmActions", "okActions")} == {
                k: v for k, v in alarm.items() if k not in ("tags", "name", "alarmActions", "okActions")}, function.name
