"""A failed training run is told on AWS: an EventBridge rule on the job's pipeline execution failing.

Contract:
- A training job runs as its SageMaker pipeline (``compile/aws/training.py``), started by its schedule,
  its alarm rules (both through the retrain gate) or by hand. SageMaker sends EventBridge a
  "SageMaker Model Building Pipeline Execution Status Change" event (source ``aws.sagemaker``) whenever an
  execution's status changes; its ``detail`` has ``pipelineArn``, ``pipelineExecutionArn``,
  ``pipelineExecutionDisplayName``, ``currentPipelineExecutionStatus`` (``Executing``, ``Stopping``,
  ``Stopped``, ``Failed``, ``Succeeded``: botocore ``sagemaker`` ``PipelineExecutionStatus``),
  ``previousPipelineExecutionStatus``, ``executionStartTime``, ``executionEndTime`` (SageMaker Developer
  Guide, "Events that Amazon SageMaker AI sends to Amazon EventBridge", "Pipeline execution state change",
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html; the fields as
  the AWS CDK's ``aws_sagemaker.events.SageMakerModelBuildingPipelineExecutionStatusChange`` pattern lists
  them). The page warns: "SageMaker AI may send multiple events to EventBridge for each state change", so a
  channel may be told twice of one failure.
- Each job whose :func:`~mlops_infra.spec.training_failures.aws_training_failure_audience` is not empty gets
  rule :func:`rule_name` (``<system>-<env>-train-<job>.failed``: a ``.``, which rule names allow, botocore
  ``events`` ``RuleName`` ``[\\.\\-_A-Za-z0-9]+`` at most 64, and item names never hold, so no alarm-trigger
  rule ``...-train-<job>-on-<alert>`` can have it) matching :func:`failure_pattern`: that source and
  detail-type, ``currentPipelineExecutionStatus`` ``Failed`` and the job's ``pipelineArn``; one target per
  channel (at most :data:`~mlops_infra.spec.training_failures.EVENTBRIDGE_TARGETS_MAX`), its SNS topic.
- What the topic carries is a CloudWatch alarm's change to ALARM (:func:`message_template`, an
  ``InputTransformer``: botocore ``InputTransformer.InputTemplate`` at most 8,192 characters, placeholders
  ``<name>`` filled from ``InputPathsMap``): the shape every channel's forwarder reads (``AlarmName``,
  ``AlarmDescription`` headed ``mlops-infra alert training_failed_<job> (warning): ``, ``NewStateValue``,
  ``OldStateValue``, ``NewStateReason``, ``StateChangeTime``: ``compile/aws/forwarder.py``), as the rollout
  runner's rollback notice is (``rollout/scheduled.py`` ``notice_message``); the execution's ARN is in the
  reason. The alert is named and has the severity of the Kubernetes rule (``training_failed_<job>``,
  ``warning``). There is no resolve: a PagerDuty incident (``dedup_key`` = ``AlarmName``) stays open
  until someone resolves it, and later failures fold into it meanwhile; an email recipient reads the JSON.
- Permissions: EventBridge publishes to an SNS target with the topic's resource policy, never a role ("For
  Lambda, Amazon SNS, Amazon SQS, and Amazon CloudWatch Logs resources, EventBridge uses resource-based
  policies", and "do not specify a ``RoleArn`` in the target configuration": Amazon EventBridge User
  Guide, "Using resource-based policies for Amazon EventBridge", "Amazon SNS permissions",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html): each told channel's
  topic gets a ``policy`` (the Topic's own input, ``compile/aws/alerting.py``
  :func:`~mlops_infra.compile.aws.alerting.compile_channel`; :func:`topic_policy`) keeping the statement SNS gives every new topic (the account's principals manage
  and publish) and allowing ``events.amazonaws.com`` ``sns:Publish`` from this account's rules. The topics
  are encrypted with the platform key, whose policy then lets ``events.amazonaws.com`` use it
  (``policies.key_policy(events_publish=True)``: the same page, "If your Amazon SNS topic is encrypted ...
  you must include the following section in your KMS key policy": ``kms:Decrypt``,
  ``kms:GenerateDataKey``), as it lets CloudWatch for the alarms.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_infra.compile.aws import arns, pipelines
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import json_of, ref
from mlops_infra.spec.training_failures import aws_training_failure_audience

DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"
SEVERITY = "warning"
"""As ``compile/kubernetes/alerting.TRAINING_FAILURE_SEVERITY`` (a test checks they agree)."""
DEFAULT_TOPIC_ACTIONS = ("SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                         "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                         "SNS:Publish")
"""The actions of the statement SNS puts in a new topic's policy (``__default_statement_ID``: principal
``AWS: *`` with ``AWS:SourceOwner`` = the account; moto's ``_create_default_topic_policy`` copies it)."""
PATHS = {"execution": "$.detail.pipelineExecutionArn", "time": "$.time"}


def rule_name(aws: AwsContext, job: str) -> str:
    """``<system>-<env>-train-<job>.failed`` (module contract), at most 64 characters."""
    return f"{aws.name('train', job, max_len=57)}.failed"


def alarm_name(aws: AwsContext, job: str) -> str:
    """The ``AlarmName`` of the message: ``<system>-<env>.training-failed.<job>`` (no alarm has a ``.``)."""
    return f"{aws.name(max_len=120)}.training-failed.{job}"


def failure_pattern(pipeline: str) -> dict[str, Any]:
    """The pattern of ``pipeline``'s (URN) executions failing."""
    return {"source": ["aws.sagemaker"], "detail-type": [DETAIL_TYPE],
            "detail": {"currentPipelineExecutionStatus": ["Failed"], "pipelineArn": [ref(pipeline, "arn")]}}


def description(aws: AwsContext, job: str) -> str:
    return (f"mlops-infra alert training_failed_{job} ({SEVERITY}): a run of training job {job} "
            f"({aws.ctx.system.metadata.name}/{aws.ctx.env}) failed: no new model version from it.")


def message_template(aws: AwsContext, job: str) -> str:
    """The topic's message (module contract): a CloudWatch alarm's change to ALARM; ``<execution>`` and
    ``<time>`` are filled by EventBridge (an ARN and a timestamp: nothing to escape)."""
    reason = (f"SageMaker pipeline execution <execution> of training job {job} failed. Its steps and their "
              "failure reasons: aws sagemaker list-pipeline-execution-steps --pipeline-execution-arn <execution>")
    message = {"AlarmName": alarm_name(aws, job), "AlarmDescription": description(aws, job),
               "NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": reason, "StateChangeTime": "<time>",
               "mlopsTrainingFailure": {"environment": aws.ctx.env, "execution": "<execution>", "job": job,
                                        "system": aws.ctx.system.metadata.name}}
    return json.dumps(message, sort_keys=True)


def add_failure_rule(aws: AwsContext, job, pipeline: str, *, parent: str, address: str) -> str | None:
    """The job's failure rule and its targets (module contract); None when nobody would be told
    (``validate`` warns for a scheduled job: ``spec/training_failures.py``)."""
    told = [c for c in aws_training_failure_audience(aws.ctx.system, job) if c in aws.topics]
    if not told:
        return None
    rule = aws.add(pipelines.EVENT_RULE, f"{job.name}.failed", {  # "." in no item name: unique
        "name": rule_name(aws, job.name), "description": f"Tell {', '.join(told)} that a run of {address} failed"[:512],
        "eventPattern": json_of(failure_pattern(pipeline)), "state": "ENABLED",
    }, parent=parent, address=address, role="training-failure-rule")
    template = message_template(aws, job.name)
    for index, channel in enumerate(told, start=1):
        aws.add(pipelines.EVENT_TARGET, f"{job.name}.failed.{channel}", {
            "rule": ref(rule, "name"), "targetId": f"notify-{index}", "arn": ref(aws.topics[channel], "arn"),
            "inputTransformer": {"inputPaths": dict(PATHS), "inputTemplate": template},
            "retryPolicy": dict(pipelines.RETRY_POLICY),
        }, parent=parent, address=address, role="training-failure-target")
    return rule


def topic_arn(aws: AwsContext, channel: str) -> str:
    """The ARN of ``channel``'s topic, from its name (``alerting.compile_channel`` names it ``aws.name(channel)``):
    the topic's own ``policy`` input names it, so it cannot be a reference to the topic."""
    return arns.arn(aws.region, aws.account, "sns", aws.name(channel, max_len=256))


def topic_policy(aws: AwsContext, channel: str) -> dict[str, Any]:
    """The ``policy`` of a told channel's topic: SNS's default statement, and EventBridge's ``sns:Publish``
    from this account's rules (module contract)."""
    arn = topic_arn(aws, channel)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountOwnerUsesTopic", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": list(DEFAULT_TOPIC_ACTIONS), "Resource": arn,
         "Condition": {"StringEquals": {"AWS:SourceOwner": aws.account}}},
        {"Sid": "EventBridgeRulesPublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sns:Publish", "Resource": arn,
         "Condition": {"ArnLike": {"aws:SourceArn": arns.arn(aws.region, aws.account, "events", "rule/*")}}}]}
