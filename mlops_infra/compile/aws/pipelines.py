"""SageMaker pipelines and what starts them: definitions, Pipeline resources, schedules, rules.

Contract:
- Definitions follow the SageMaker pipeline definition schema, version ``2020-12-01``: each step's
  ``Arguments`` is the request of the API the step calls (``CreateTrainingJob``,
  ``CreateModelPackage``, ``CreateProcessingJob``) minus the job name, which the pipeline sets
  (jobs are named ``pipelines-<execution>-<step>-...``; roles are scoped to that prefix).
  ``{"Get": "Parameters.TriggeredBy"}`` passes what started a run (``schedule``, ``alert:<name>``,
  ``manual``) into the job environment, so a run says why it ran.
- Every pipeline runs as the platform's pipeline role (:func:`platform.pipelines_role`) and waits
  for that role's policy; every schedule and rule starts pipelines as the scheduler role and waits
  for its policy.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_infra.compile.aws import gates, platform
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import json_of, ref

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DEFINITION_VERSION = "2020-12-01"
TRIGGER_PARAMETER = "TriggeredBy"
TRIGGERED_BY = {"Get": f"Parameters.{TRIGGER_PARAMETER}"}
RETRY_POLICY = {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}


def definition(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A pipeline definition with the ``TriggeredBy`` parameter and ``steps``."""
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [{"Name": TRIGGER_PARAMETER, "Type": "String", "DefaultValue": "manual"}],
        "Steps": steps,
    }


def add_pipeline(aws: AwsContext, logical: str, name: str, body: dict[str, Any], *, parent: str, address: str,
                 description: str, depends_on: list[str] = (), body_refs_in: Any = None) -> str:
    """Add a Pipeline running as the platform pipeline role; return its URN. ``body_refs_in``, when
    given, holds every ref of ``body`` (``refs_in`` of :meth:`GraphBuilder.add`)."""
    role_arn = ref(platform.pipelines_role(aws), "arn")
    pipeline = aws.add(PIPELINE, logical, {
        "pipelineName": name, "pipelineDisplayName": name, "pipelineDescription": description,
        "roleArn": role_arn, "pipelineDefinition": json_of(body),
    }, parent=parent, address=address, role="pipeline",
        depends_on=[platform.pipelines_policy(aws), *depends_on],
        refs_in=None if body_refs_in is None else [role_arn, body_refs_in])
    aws.pipelines.append(pipeline)
    return pipeline


def _pipeline_parameters(trigger: str) -> list[dict[str, str]]:
    return [{"name": TRIGGER_PARAMETER, "value": trigger}]


def add_schedule(aws: AwsContext, logical: str, name: str, expression: str, pipeline: str, *, parent: str,
                 address: str, description: str, gate: str | None = None) -> str:
    """An EventBridge Scheduler schedule (UTC) that starts ``pipeline``, or invokes its retrain
    ``gate`` (a Lambda, :mod:`gates`) with ``{"triggeredBy": "schedule"}``."""
    target: dict[str, Any] = {"arn": ref(pipeline, "arn"), "roleArn": ref(platform.scheduler_role(aws), "arn"),
                              "sagemakerPipelineParameters": {"pipelineParameters": _pipeline_parameters("schedule")},
                              "retryPolicy": dict(RETRY_POLICY)}
    if gate is not None:
        target = {"arn": ref(gate, "arn"), "roleArn": ref(platform.scheduler_role(aws), "arn"),
                  "input": '{"triggeredBy": "schedule"}', "retryPolicy": dict(RETRY_POLICY)}
    return aws.add(SCHEDULE, logical, {
        "name": name, "groupName": "default", "description": description,
        "scheduleExpression": expression, "scheduleExpressionTimezone": "UTC",
        "flexibleTimeWindow": {"mode": "OFF"}, "state": "ENABLED", "target": target,
    }, parent=parent, address=address, role="schedule", depends_on=[platform.scheduler_policy(aws)],
        refs_in=[target["arn"], target["roleArn"]])  # the rest: names, expressions, numbers


def alarm_pattern(alarm: str) -> dict[str, Any]:
    """An EventBridge pattern matching ``alarm`` (URN) entering ALARM."""
    return {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
            "resources": [ref(alarm, "arn")], "detail": {"state": {"value": ["ALARM"]}}}


def add_alarm_trigger(aws: AwsContext, logical: str, name: str, alert: str, pipeline: str, *, parent: str,
                      address: str, gate: str | None = None, permission: str | None = None) -> str:
    """An EventBridge rule on the alert's alarm entering ALARM, with a target starting ``pipeline``, or
    invoking its retrain ``gate`` (a Lambda, :mod:`gates`: the alarm event carries the alarm name)
    through its own permission, or through ``permission`` when the job's rules share one
    (:func:`gates.allow_rules`)."""
    rule = aws.add(EVENT_RULE, logical, {
        "name": name, "description": f"Start {address} when alert {alert} fires",
        "eventPattern": json_of(alarm_pattern(aws.alarms[alert])), "state": "ENABLED",
    }, parent=parent, address=address, role="alert-trigger-rule")
    if gate is not None:
        permission = permission or gates.allow_rule(aws, logical, gate, rule, parent=parent, address=address)
        aws.add(EVENT_TARGET, f"{logical}-target", {
            "rule": ref(rule, "name"), "targetId": "retrain-gate", "arn": ref(gate, "arn"),
            "input": json.dumps({"triggeredBy": f"alert:{alert}"}), "retryPolicy": dict(RETRY_POLICY),
        }, parent=parent, address=address, role="alert-trigger-target", depends_on=[permission])
        return rule
    aws.add(EVENT_TARGET, f"{logical}-target", {
        "rule": ref(rule, "name"), "targetId": "start-pipeline", "arn": ref(pipeline, "arn"),
        "roleArn": ref(platform.scheduler_role(aws), "arn"),
        "sagemakerPipelineTarget": {"pipelineParameterLists": _pipeline_parameters(f"alert:{alert}")},
        "retryPolicy": dict(RETRY_POLICY),
    }, parent=parent, address=address, role="alert-trigger-target", depends_on=[platform.scheduler_policy(aws)])
    return rule
