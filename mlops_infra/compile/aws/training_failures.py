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
  ``warning``); an email recipient reads the JSON.
- The resolve is a CloudWatch alarm's OK, as for a rollback notice (``compile/aws/alerting.py``
  ``compile_rollback_alarm``): alarm :func:`alarm_name` (the message's ``AlarmName``, so the forwarder's
  PagerDuty ``dedup_key`` of the resolve is the trigger's, and a webhook's labels, read from the same
  description head, give the same fingerprint) on SageMaker's own ``ExecutionFailed`` of the job's
  pipeline (namespace ``AWS/Sagemaker/ModelBuildingPipeline``, "The number of pipeline executions that
  failed", statistic ``Sum``, dimension ``PipelineName``, "Metrics are available at a 1-minute frequency":
  SageMaker Developer Guide, "Monitor Amazon SageMaker with Amazon CloudWatch", "SageMaker Pipelines
  Metrics"; archived source ``awsdocs/amazon-sagemaker-developer-guide`` ``doc_source/monitoring-cloudwatch.md``):
  ``Sum >= 1`` in at least 1 of the last :data:`HOLD_PERIODS` one-minute periods, missing data
  ``notBreaching`` (an "M out of N" alarm, as the rollback alarm's). It holds ALARM while a failed
  execution's minute is among the last 15, then returns to OK, and its ``okActions`` (the told channels'
  topics; no ``alarmActions``: the rule's message is the trigger, with the execution's ARN) resolve it:
  :data:`HOLD_SECONDS`, the Kubernetes rule's window (``compile/kubernetes/alerting.TRAINING_FAILURE_WINDOW_SECONDS``:
  ``training_failed_<job>`` fires for 15 minutes after a run failed, then resolves; a test checks they agree).
  So on both targets one alert per job: a failure opens it, another failure within the window folds into
  it, 15 minutes without one resolve it. A new alarm's first move, INSUFFICIENT_DATA to OK, resolves
  nothing and the forwarder drops it (``forwarder.resolves_nothing``). If SageMaker never puts the
  datapoint, the alarm stays OK and nothing resolves (as before it existed); if the rule's message is
  lost, the resolve closes nothing in PagerDuty.
- Permissions: EventBridge publishes to an SNS target with the topic's resource policy, never a role ("For
  Lambda, Amazon SNS, Amazon SQS, and Amazon CloudWatch Logs resources, EventBridge uses resource-based
  policies", and "do not specify a ``RoleArn`` in the target configuration": Amazon EventBridge User
  Guide, "Using resource-based policies for Amazon EventBridge", "Amazon SNS permissions",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html): each told channel's
  topic gets an ``aws:sns/topicPolicy:TopicPolicy`` (:func:`add_topic_policy`, from
  ``compile/aws/alerting.py`` :func:`~mlops_infra.compile.aws.alerting.compile_channel`; :func:`topic_policy`)
  keeping the statement SNS gives every new topic (the account's principals manage and publish) and
  allowing ``events.amazonaws.com`` ``sns:Publish`` from this account's rules. The topics are encrypted
  with the platform key, whose policy then lets ``events.amazonaws.com`` use it
  (``policies.key_policy(events_publish=True)``: the same page, "If your Amazon SNS topic is encrypted ...
  you must include the following section in your KMS key policy": ``kms:Decrypt``,
  ``kms:GenerateDataKey``), as it lets CloudWatch for the alarms.
- Why a TopicPolicy and not the Topic's own ``policy`` input: that input is optional *and computed*
  (terraform-provider-aws ``internal/service/sns/topic.go``, ``topicSchema`` ``"policy"``: ``Optional: true,
  Computed: true``), so when a channel stops being told and the input is dropped the provider sees no
  change and keeps the policy it last set, and even an empty value is never written (``putTopicAttributes``:
  "Ignore an empty policy"): the plan said "policy removed" while ``events.amazonaws.com`` kept its
  ``sns:Publish``. Deleting a TopicPolicy puts the default policy back ("It is impossible to delete a policy
  or set to empty ... so we instead set it back to the default one": ``topic_policy.go``
  ``resourceTopicPolicyDelete``, ``defaultTopicPolicy``), so a channel no longer told plans the
  TopicPolicy's delete and loses the grant. A stack applied with the Topic's ``policy`` (stop 36) plans
  that input's removal once, which changes nothing on AWS, and creates the TopicPolicy with the same
  document.
- De-duplication. SageMaker "may send multiple events to EventBridge for each state change" (above),
  and EventBridge retries a target whose delivery failed ("By default, EventBridge retries sending the
  event for 24 hours and up to 185 times": Amazon EventBridge User Guide, "How EventBridge retries
  delivering events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
  The ``dedup_key`` is the job's (``AlarmName``), not the execution's: a resolve from the alarm can name
  only the alarm, and on Kubernetes too it is one alert per job (``by (namespace)``). PagerDuty folds a
  repeated trigger with an open incident's ``dedup_key`` into it (as for the rollback notice,
  ``compile/aws/alerting.py``), and a webhook receiver gets the same fingerprint; Slack and email get each
  copy. A copy delivered after the resolve would open an incident nothing closes, so the targets stop
  retrying an event after :data:`NOTICE_MAX_AGE_SECONDS` (``RetryPolicy.MaximumEventAgeInSeconds``, "The
  maximum amount of time, in seconds, to continue to make retry attempts", 60 to 86,400: EventBridge API
  Reference, ``RetryPolicy``; botocore ``events`` ``RetryPolicy``), less than :data:`HOLD_SECONDS`: a
  retried delivery reaches the channel before the alarm, whose failed minute is the event's, can go OK.
  A duplicate that SageMaker itself sends later than that is not covered (the page gives no bound).
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
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
FAILED_METRIC = "ExecutionFailed"
HOLD_PERIOD = 60
HOLD_PERIODS = 15
HOLD_SECONDS = HOLD_PERIOD * HOLD_PERIODS
"""How long the alarm holds ALARM after a failed execution's minute (module contract): the Kubernetes
window, ``compile/kubernetes/alerting.TRAINING_FAILURE_WINDOW_SECONDS`` (a test checks they agree)."""
NOTICE_MAX_AGE_SECONDS = 600
"""``maximumEventAgeInSeconds`` of the rule's targets: below :data:`HOLD_SECONDS` (module contract)."""
RETRY_POLICY = {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": NOTICE_MAX_AGE_SECONDS}


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
            "retryPolicy": dict(RETRY_POLICY),
        }, parent=parent, address=address, role="training-failure-target")
    add_resolve_alarm(aws, job.name, [ref(aws.topics[c], "arn") for c in told], parent=parent, address=address)
    return rule


def pipeline_name(aws: AwsContext, job: str) -> str:
    """The job's pipeline's ``pipelineName``, as ``compile/aws/training.compile_training_job`` gives it
    (a test checks they agree): the alarm's ``PipelineName`` dimension."""
    return aws.name("train", job)


def alarm_description(aws: AwsContext, job: str) -> str:
    """The alarm's description: the message's (the same head: alert and severity), and when it resolves."""
    return (f"{description(aws, job)} Resolved when no run has failed for {HOLD_SECONDS // 60} minutes "
            f"({PIPELINE_NAMESPACE} {FAILED_METRIC}).")


def add_resolve_alarm(aws: AwsContext, job: str, actions: list, *, parent: str, address: str) -> str:
    """The alarm whose OK resolves ``training_failed_<job>`` on the told channels' topics ``actions``
    (module contract); OK actions only."""
    return aws.add(ALARM, f"{job}.failed-alarm", {  # "." in no item name: unique
        "name": alarm_name(aws, job), "alarmDescription": alarm_description(aws, job)[:1024],
        "namespace": PIPELINE_NAMESPACE, "metricName": FAILED_METRIC,
        "dimensions": {"PipelineName": pipeline_name(aws, job)},
        "statistic": "Sum", "period": HOLD_PERIOD, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "threshold": 1, "evaluationPeriods": HOLD_PERIODS, "datapointsToAlarm": 1,
        "treatMissingData": "notBreaching", "actionsEnabled": True, "okActions": actions,
    }, parent=parent, address=address, role="training-failure-alarm", refs_in=actions)


def topic_arn(aws: AwsContext, channel: str) -> str:
    """The ARN of ``channel``'s topic, from its name (``alerting.compile_channel`` names it ``aws.name(channel)``),
    as its policy's ``Resource``."""
    return arns.arn(aws.region, aws.account, "sns", aws.name(channel, max_len=256))


def add_topic_policy(aws: AwsContext, channel: str, topic: str, *, parent: str, address: str) -> str:
    """The TopicPolicy of told channel ``channel``'s topic ``topic`` (URN; module contract)."""
    return aws.add(TOPIC_POLICY, f"{channel}-topic-policy", {
        "arn": ref(topic, "arn"), "policy": json_of(topic_policy(aws, channel)),
    }, parent=parent, address=address, role="topic-policy")


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
