"""The rollout runner compiled into AWS graphs (compile/aws/rollout_runner.py): who gets it, its schedule
against botocore's ``scheduler`` shapes, and roles naming exactly what one pass calls."""

from __future__ import annotations

import json
import re

import pytest

from mlops_infra.compile.aws import rollout_runner
from mlops_infra.graph import is_archive, is_ref
from tests.compile.aws.api_shapes import pascal, problems
from tests.compile.aws.cases import (
    REFERENCE,
    compile_text,
    compiled,
    of_type,
    one,
    placeholder,
    policy_statements,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUNCTION, SCHEDULE = rollout_runner.FUNCTION, rollout_runner.SCHEDULE
RATE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$")
"""EventBridge Scheduler rate expressions: ``rate(value unit)``, a positive whole value, the singular unit
for 1 (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html)."""


def runner_doc(strategy: str, *, replicas_max: int = 4, rollout_extra: str = "", extra: str = "") -> str:
    """One AWS endpoint ``api`` with a ``strategy`` rollout (canary steps 5, 50, 100), in prod; the
    rollout's extra fields and extra top-level items (monitors, alerts, channels) as given."""
    steps = ", steps: [5, 50, 100]" if strategy == "canary" else ""
    return f"""
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {{name: runs}}
models: [{{name: m, framework: sklearn, approval: automatic, artifacts_uri: "s3://imports-123456789012/m/"}}]
endpoints:
  - name: api
    model: {{name: m, version: 3}}
    instance_type: ml.m5.large
    replicas: {{min: 2, max: {replicas_max}}}
    rollout: {{strategy: {strategy}, bake: 10m{steps}{rollout_extra}}}
{extra}environments:
  prod: {{target: {{kind: aws, region: us-east-1, account: "123456789012"}}}}
"""


_doc = runner_doc


def _runner(graph):
    return [r for r in graph.resources if r.address == "platform" and r.name.startswith("rollout-")]


@pytest.mark.parametrize("strategy", ["all_at_once", "blue_green", "rolling"])
def test_an_environment_without_a_canary_gets_no_runner(strategy):
    graph = compile_text(_doc(strategy))
    assert graph.rollouts == {} and _runner(graph) == []


def test_a_canary_environment_gets_function_schedule_and_two_roles():
    graph = compile_text(_doc("canary"))
    assert sorted((r.type, r.name) for r in _runner(graph)) == [
        ("aws:cloudwatch/logGroup:LogGroup", "rollout-runner-logs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "rollout-runner-dropped-alarm"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "rollout-runner-errors-alarm"), ("aws:iam/role:Role", "rollout-runner"),
        ("aws:iam/role:Role", "rollout-schedule"), ("aws:iam/rolePolicy:RolePolicy", "rollout-runner-policy"),
        ("aws:iam/rolePolicy:RolePolicy", "rollout-schedule-policy"), (FUNCTION, "rollout-runner"),
        ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "rollout-runner-async"),
        (SCHEDULE, "rollout-runner-schedule")]


def test_the_schedule_is_a_valid_create_schedule_request_with_a_minute_rate():
    graph = compile_text(_doc("canary"))
    schedule = one(graph, SCHEDULE, "platform").inputs
    assert RATE.match(schedule["scheduleExpression"]) and schedule["scheduleExpression"] == "rate(1 minute)"
    params = pascal(placeholder(schedule))
    params["Target"]["RoleArn"] = "arn:aws:iam::123456789012:role/runs-prod-rollout-schedule"
    assert problems("scheduler", "CreateSchedule", params) == []
    function = one(graph, FUNCTION, "platform")
    assert schedule["target"]["arn"] == {"$ref": function.urn, "output": "arn"}
    retry = schedule["target"]["retryPolicy"]
    assert retry == {"maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 60}  # the next tick is the retry


def test_the_schedule_role_may_invoke_exactly_the_runner():
    graph = compile_text(_doc("canary"))
    function = one(graph, FUNCTION, "platform")
    role = next(r for r in _runner(graph) if r.name == "rollout-schedule")
    (trust,) = role.inputs["assumeRolePolicy"]["$json"]["Statement"]
    assert trust["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    policy = next(r for r in _runner(graph) if r.name == "rollout-schedule-policy")
    assert [(s["Action"], s["Resource"]) for s in policy_statements(policy)] == [
        (["lambda:InvokeFunction"], [{"$ref": function.urn, "output": "arn"}])]
    schedule = one(graph, SCHEDULE, "platform")
    assert schedule.inputs["target"]["roleArn"] == {"$ref": role.urn, "output": "arn"}
    assert policy.urn in schedule.dependencies  # never fires before it may invoke


def test_the_runner_role_names_exactly_what_one_pass_calls():
    graph = compile_text(_doc("canary"))
    policy = next(r for r in _runner(graph) if r.name == "rollout-runner-policy")
    arn = "arn:aws:sagemaker:us-east-1:123456789012"
    config = one(graph, "aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs["name"]
    granted = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy_statements(policy)}
    assert granted == {
        "ObserveAndStepEndpoints": (["sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:DescribeEndpoint",
                                     "sagemaker:ListTags", "sagemaker:UpdateEndpoint",
                                     "sagemaker:UpdateEndpointWeightsAndCapacities"],
                                    [f"{arn}:endpoint/runs-prod-api"]),
        "SwitchEndpointConfigs": (["sagemaker:UpdateEndpoint"], [f"{arn}:endpoint-config/{config}",
                                                                  f"{arn}:endpoint-config/runs-prod-api-rollout-v*"]),
        "CreateRolloutConfigs": (["sagemaker:CreateEndpointConfig"], [f"{arn}:endpoint-config/runs-prod-api-rollout-v*"]),
        "ReadEndpointConfigs": (["sagemaker:DescribeEndpointConfig"], [f"{arn}:endpoint-config/runs-prod-api*"]),
        "ObserveEndpointsInBatches": (["sagemaker:Search"], ["*"]),  # Search has no resource types
        # the cleanup of what a finished rollout kept: configs named after the endpoint, its models
        "DeleteKeptConfigs": (["sagemaker:DeleteEndpointConfig"], [f"{arn}:endpoint-config/runs-prod-api*"]),
        "DeleteKeptModels": (["sagemaker:DeleteModel"], [f"{arn}:model/runs-prod-api-v*"]),
        # ml.m5.large has no local NVMe: its config is encrypted with the platform key; the grant statement
        # holds CreateGrant alone (its condition key is only in grant requests: audit iam-1)
        "UseKeyForEncryptedConfigs": (["kms:CreateGrant"],
                                      [{"$ref": one(graph, "aws:kms/key:Key").urn, "output": "arn"}]),
        "DescribeKeyOfEncryptedConfigs": (["kms:DescribeKey"],
                                          [{"$ref": one(graph, "aws:kms/key:Key").urn, "output": "arn"}]),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/runs-prod-rollout-runner",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/runs-prod-rollout-runner:*"]),
    }  # no rollback_on: no alarm to read, no metric; no autoscaling: no scalable target to keep


def test_the_reference_runner_reads_its_rollback_alarms_and_keeps_autoscaling():
    graph = compiled(REFERENCE, "prod")
    policy = next(r for r in _runner(graph) if r.name == "rollout-runner-policy")
    granted = {s["Sid"]: s for s in policy_statements(policy)}
    alarms = graph.rollouts["endpoints.scorer"]["rollbackAlarms"]
    assert alarms and granted["ReadRollbackAlarms"]["Resource"] == sorted(
        f"arn:aws:cloudwatch:eu-west-1:222222222222:alarm:{name}" for name in alarms)
    assert granted["ReadGateMetrics"]["Action"] == ["cloudwatch:GetMetricData"]
    assert granted["KeepAutoscalingAcrossInstanceTypeChange"]["Resource"] == ["*"]
    endpoint = graph.rollouts["endpoints.scorer"]["endpointName"]
    assert granted["KeepTargetTrackingAlarms"]["Resource"] == [
        f"arn:aws:cloudwatch:eu-west-1:222222222222:alarm:TargetTracking-endpoint/{endpoint}/variant/primary-*"]


def test_the_function_ships_the_rollout_code_and_the_document_of_its_rollouts():
    graph = compiled(REFERENCE, "prod")
    function = one(graph, FUNCTION, "platform")
    assert function.inputs["handler"] == "mlops_infra.rollout.scheduled.handler"
    assert function.inputs["runtime"] == "python3.12" and function.inputs["timeout"] == 300
    assert is_archive(function.inputs["code"])
    files = function.inputs["code"]["$archive"]
    assert set(files) == {f"mlops_infra/{p}" for p in rollout_runner.CODE} | {"rollouts.json"}
    document = json.loads(files["rollouts.json"])
    (item,) = document["rollouts"]
    assert document["target"] == "aws" and document["region"] == "eu-west-1"
    assert item["plan"] == graph.rollouts["endpoints.scorer"]
    config = one(graph, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    model = one(graph, "aws:sagemaker/model:Model")
    target = one(graph, "aws:appautoscaling/target:Target").inputs
    policy = one(graph, "aws:appautoscaling/policy:Policy").inputs
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert item["endpoint"] == {"endpoint": item["plan"]["endpointName"], "version": "12",
                                "finalConfig": config.inputs["name"], "model": model.inputs["name"],
                                # the rollout configs' name prefix: the endpoint name, which fits in 40 (limits-3)
                                "configPrefix": item["plan"]["endpointName"],
                                "autoscaling": {  # what a killed finish puts back (rollout/drivers/sagemaker.py)
                                    "target": {"MinCapacity": target["minCapacity"],
                                               "MaxCapacity": target["maxCapacity"]},
                                    "policies": [{
                                        "PolicyName": policy["name"], "PolicyType": "TargetTrackingScaling",
                                        "TargetTrackingScalingPolicyConfiguration": {
                                            "TargetValue": tracking["targetValue"], "ScaleInCooldown": 300,
                                            "ScaleOutCooldown": 60, "PredefinedMetricSpecification": {
                                                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}]}}
    role = next(r for r in _runner(graph) if r.name == "rollout-runner")
    assert function.inputs["role"] == {"$ref": role.urn, "output": "arn"}
    assert not any(is_ref(v) for v in files.values())


def test_kubernetes_environments_get_no_lambda():
    graph = compiled(REFERENCE, "dev")
    assert graph.metadata["cloud"] != "aws" and of_type(graph, FUNCTION) == []
