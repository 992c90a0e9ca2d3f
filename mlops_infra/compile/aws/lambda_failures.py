"""Failed asynchronous invocations of mlops-infra's Lambdas: kept for a redrive, and someone is told.

SNS invokes a channel's forwarder, EventBridge rules and EventBridge Scheduler invoke a retrain gate
and the rollout runner, all asynchronously. For such an invocation "If the function returns an
error, by default Lambda attempts to run it two more times, with a one-minute wait between the first
two attempts, and two minutes between the second and third attempts"; throttled events (429) and
Lambda's own 500s go back to the queue "for up to 6 hours by default"; an event that fails every
attempt or waits too long is discarded unless a dead-letter queue or an on-failure destination keeps
it ("How Lambda handles errors and retries with asynchronous invocation",
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). The retry
policies of an EventBridge target (botocore ``events`` ``Target.RetryPolicy``) and of a schedule
(botocore ``scheduler`` ``RetryPolicy``) cover the *delivery* of the event to Lambda, which accepts
it at once (202); they never see the function's error. So before this module a forwarder that could
not deliver (a revoked Slack webhook, a wrong PagerDuty routing key, a missing secret) lost every
alert of its channel after three attempts, and a gate whose start SageMaker refused (``ResourceLimitExceeded``:
its concurrent pipeline executions) lost the run, each with one log line.

Contract of :func:`add_queue` and :func:`add_handling` (called by :func:`lambdas.add_function` for a
function given :class:`Failures`):

- **Errors alarm** ``<function>.errors`` on ``AWS/Lambda`` ``Errors`` with the dimension
  ``FunctionName``: "The number of invocations that result in a function error. Function errors
  include exceptions that your code throws and exceptions that the Lambda runtime throws. The runtime
  returns errors for issues such as timeouts and configuration errors" (throttled requests are not
  counted; "Types of metrics for Lambda functions",
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html, which also says to
  view it with the ``Sum`` statistic). ``Sum >= 1`` in any of :data:`ERRORS_PERIODS` periods of
  :data:`ERRORS_PERIOD` seconds (``datapointsToAlarm`` 1): the first failed attempt raises it within
  about a minute, and it stays raised while the retries (1 and 2 minutes later) fail, instead of
  flapping between them; missing data is ``notBreaching`` (Lambda publishes no datapoint for a
  function that was not invoked). Its alarm and OK actions are the topics of ``Failures.audience``
  (chosen by :mod:`mlops_infra.spec.lambda_failures`, which also warns when it is empty: the alarm
  is created anyway). Its description starts as an alert's (``mlops-infra alert <alarm name>
  (<severity>): ...``) so a forwarder reading it (``forwarder._DESCRIPTION_HEAD``) labels it.
- **Event invoke config** (``aws:lambda/functionEventInvokeConfig``: ``PutFunctionEventInvokeConfig``)
  with ``maximumRetryAttempts`` (botocore: 0 to 2) and ``maximumEventAgeInSeconds`` (60 to 21,600)
  chosen by the caller, and, when ``Failures.keep``, ``destinationConfig.onFailure`` the function's
  failure queue: "You can configure separate destinations for successful invocations (on-success)
  and events that fail all processing attempts (on-failure)" (botocore
  ``PutFunctionEventInvokeConfigRequest``); the record holds the request payload and the error
  ("Capturing records of Lambda asynchronous invocations",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html), which is what
  a redrive sends again.
- **Failure queue** ``<function>-failed`` (a standard SQS queue: a FIFO queue is not a supported
  destination, same page), encrypted with the platform key (``kmsMasterKeyId``), kept
  :data:`QUEUE_RETENTION_SECONDS` (14 days, SQS's maximum, botocore ``CreateQueue``
  ``MessageRetentionPeriod``). Lambda sends the record with the function's *execution role*, so
  :func:`keep_statements` gives that role ``sqs:SendMessage`` on this queue and, as a producer to a
  queue encrypted with a customer managed key, ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the
  platform key (Amazon SQS Developer Guide, "Amazon SQS key management",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html);
  the key policy lets the account grant it through IAM (``policies.key_policy``). Without them the
  record is not delivered and Lambda counts ``DestinationDeliveryFailures`` (same page). Lambda
  delivers to a destination *as the function's execution role*: "To send events to a destination,
  your function needs additional permissions. Add a policy with the required permissions to your
  function's execution role ... Amazon SQS - sqs:SendMessage" (Lambda Developer Guide, "Adding a
  destination", same page; archived source ``awsdocs/aws-lambda-developer-guide``
  ``doc_source/invocation-async.md``). The key grant names the platform key and holds only through
  SQS: ``kms:ViaService`` = ``sqs.<region>.amazonaws.com`` (:func:`via_sqs`), which "limits use of
  an KMS key to requests from specified AWS services" and is valid in IAM policies; SQS is in the
  services that support it, as ``sqs.AWS_region.amazonaws.com``, with the ``.amazonaws.com`` suffix
  "in all AWS partitions" (AWS KMS Developer Guide, "AWS KMS condition keys", ``kms:ViaService``,
  https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  SQS calls ``GenerateDataKey``/``Decrypt`` on the producer's behalf during ``SendMessage`` (SQS key
  management, "Configure KMS permissions for producers"), so the condition holds for that call and
  the role cannot use the key directly (encrypt or decrypt anything else). The key's other uses are
  other statements, unchanged: the key policy (``policies.key_policy``: the account's IAM grants,
  CloudWatch publishing to encrypted topics) and the SageMaker roles' ``UseDataKey``
  (``policies.kms_use``); a forwarder's or gate's role has no other statement on the key. The invoke
  config is created after the role's policy. That Lambda checks the role when the destination is
  configured is inferred from users' reports, not documented.
- **Dropped alarm** ``<function>.dropped``: Lambda gave up on an event. ``AsyncEventsDropped`` is
  "The number of events that are dropped without successfully executing the function. If you
  configure a dead-letter queue (DLQ) or ``OnFailure`` destination, then events are sent there
  before they're dropped. ... events can exceed the maximum event age or exhaust the maximum retry
  attempts, or reserved concurrency might be set to 0"; ``DestinationDeliveryFailures`` is "the
  number of times that Lambda attempts to send an event to a destination but fails ... permissions
  errors, incorrectly configured resources, or size limits" ("Types of metrics for Lambda
  functions", asynchronous invocation and invocation metrics, dimension ``FunctionName``). The
  Errors alarm misses both: a throttled event that outlived its age, or one dropped while reserved
  concurrency is 0, never ran (throttles are not ``Errors``), and a record the queue refused (queue
  deleted, key denied) is lost while the Errors alarm says only that the function failed, then goes
  OK as if the event were kept. With a failure queue the alarm is metric math over both,
  ``dropped + undelivered`` (``Sum`` per minute each): "Missing values in a time series are treated
  as 0" in arithmetic (CloudWatch User Guide, "Using metric math", basic arithmetic functions;
  archived source ``awsdocs/amazon-cloudwatch-user-guide`` ``doc_source/using-metric-math.md``), so
  a minute with either counts. One alarm per function, not one per metric (alarm count is money and
  each alarm is a line of every plan and promotion comment). The runner has no destination: its alarm
  is ``AsyncEventsDropped`` alone (with no retries each failed run is also dropped, so it rises with
  the Errors alarm; alone it means the runner was throttled past its 60 s). Window, threshold,
  missing data, actions and description head as the Errors alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.compile.aws import arns, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.graph import make_urn, ref

QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
QUEUE_RETENTION_SECONDS = 14 * 86400
"""How long a failed event is kept for a redrive: SQS's maximum retention."""
ERRORS_PERIOD = 60
ERRORS_PERIODS = 5
"""The Errors alarm looks at the last :data:`ERRORS_PERIODS` minutes and needs one failed minute."""
DROPPED_METRICS = ("AsyncEventsDropped", "DestinationDeliveryFailures")
"""The dropped alarm's metrics, each a query id of its metric math: ``dropped``, ``undelivered``."""
MAX_EVENT_AGE_SECONDS = 21600
"""Lambda's maximum ``maximumEventAgeInSeconds`` (its default, six hours)."""


@dataclass(frozen=True)
class Failures:
    """How one function's failed asynchronous invocations are handled (module contract)."""

    audience: tuple[str, ...]
    """Channel names the Errors alarm notifies (at most 5: an alarm's AlarmActions)."""
    retries: int
    """``maximumRetryAttempts`` (0 to 2)."""
    max_age: int
    """``maximumEventAgeInSeconds`` (60 to 21,600)."""
    keep: bool
    """Whether failed events go to a failure queue (an on-failure destination)."""
    severity: str
    """The alarm's severity (``critical``, ``warning``), as an alert's."""
    what: str
    """What the function does, for the alarm's description ("forwards channel x's alerts")."""


def queue_name(function_name: str) -> str:
    """The failure queue's name (SQS: at most 80 characters; a function name has at most 64)."""
    return f"{function_name}-failed"


def alarm_name(function_name: str) -> str:
    """The Errors alarm's name, ``<function>.errors``: an alert's alarm is named ``<system>-<env>-<alert>``
    from spec names (``spec/base.NAME_PATTERN``: no ``.``), so no alert can take this name (CloudWatch
    alarm names are unique per account and region: ``PutMetricAlarm`` on a taken name overwrites)."""
    return f"{function_name}.errors"


def dropped_alarm_name(function_name: str) -> str:
    """The dropped alarm's name, ``<function>.dropped`` (no alert's alarm name has a ``.``: :func:`alarm_name`)."""
    return f"{function_name}.dropped"


def via_sqs(region: str) -> dict:
    """The condition that holds only for a request SQS makes to KMS in ``region`` (module contract)."""
    return {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}}


def topic_ref(aws: AwsContext, channel: str):
    """A ref to channel ``channel``'s topic, also before that channel is compiled (a forwarder's
    alarm names channels later in the spec; the graph checks dependencies when it is built): the URN
    ``alerting.compile_channel`` gives it, ``<channel>-topic`` under the channel's component."""
    builder = aws.ctx.builder
    urn = aws.topics.get(channel) or make_urn(builder.stack, builder.project, (COMPONENT_TYPES["channels"], TOPIC),
                                              f"{channel}-topic")
    return ref(urn, "arn")


def add_queue(aws: AwsContext, logical: str, function_name: str, *, parent: str, address: str) -> str:
    """The failure queue of function ``function_name`` (module contract); returns its URN."""
    return aws.add(QUEUE, f"{logical}-failed", {
        "name": queue_name(function_name), "kmsMasterKeyId": ref(aws.key, "arn"),
        "messageRetentionSeconds": QUEUE_RETENTION_SECONDS,
    }, parent=parent, address=address, role="failure-queue")


def keep_statements(aws: AwsContext, function_name: str) -> list:
    """What the function's execution role needs to send its failed events to its failure queue, named
    by its ARN ``arn:<partition>:sqs:<region>:<account>:<name>`` (the policy need not wait for the
    queue: IAM grants on resources that do not exist yet), and the platform key through SQS only."""
    queue_arn = arns.arn(aws.region, aws.account, "sqs", queue_name(function_name))
    return [policies.allow("KeepFailedEvents", ["sqs:SendMessage"], [queue_arn]),
            policies.allow("EncryptFailedEvents", ["kms:Decrypt", "kms:GenerateDataKey"], [ref(aws.key, "arn")],
                           via_sqs(aws.region))]


def add_handling(aws: AwsContext, logical: str, function: str, function_name: str, failures: Failures,
                 queue: str | None, *, parent: str, address: str, policy: str) -> None:
    """The event invoke config (after the role's policy ``policy``), the Errors alarm and the dropped
    alarm of ``function`` (module contract)."""
    destination = {"destinationConfig": {"onFailure": {"destination": ref(queue, "arn")}}} if queue else {}
    aws.add(INVOKE_CONFIG, f"{logical}-async", {
        "functionName": ref(function, "name"), "maximumRetryAttempts": failures.retries,
        "maximumEventAgeInSeconds": failures.max_age, **destination,
    }, parent=parent, address=address, role="async-invoke-config", depends_on=[policy])
    actions = [topic_ref(aws, c) for c in failures.audience]
    name = alarm_name(function_name)
    kept = f"; failed events are kept 14 days in SQS queue {queue_name(function_name)}" if queue else ""
    aws.add(ALARM, f"{logical}-errors-alarm", {
        "name": name,
        "alarmDescription": (f"mlops-infra alert {name} ({failures.severity}): Lambda {function_name}, which "
                             f"{failures.what}, failed (AWS/Lambda Errors){kept}")[:1024],
        "namespace": "AWS/Lambda", "metricName": "Errors", "dimensions": {"FunctionName": function_name},
        "statistic": "Sum", "period": ERRORS_PERIOD, "evaluationPeriods": ERRORS_PERIODS, "datapointsToAlarm": 1,
        "threshold": 1, "comparisonOperator": "GreaterThanOrEqualToThreshold", "treatMissingData": "notBreaching",
        "actionsEnabled": True, "alarmActions": actions, "okActions": actions,
    }, parent=parent, address=address, role="errors-alarm", refs_in=actions)
    _add_dropped_alarm(aws, logical, function_name, failures, bool(queue), actions, parent=parent, address=address)


def _dropped_metric(function_name: str, metric: str) -> dict:
    return {"namespace": "AWS/Lambda", "metricName": metric, "dimensions": {"FunctionName": function_name}}


def _add_dropped_alarm(aws: AwsContext, logical: str, function_name: str, failures: Failures, kept: bool,
                       actions: list, *, parent: str, address: str) -> None:
    """The dropped alarm (module contract): metric math over :data:`DROPPED_METRICS` when the function
    keeps failed events, else ``AsyncEventsDropped`` alone."""
    name = dropped_alarm_name(function_name)
    if kept:
        queries = [{"id": query_id, "returnData": False,
                    "metric": {**_dropped_metric(function_name, metric), "period": ERRORS_PERIOD, "stat": "Sum"}}
                   for query_id, metric in zip(("dropped", "undelivered"), DROPPED_METRICS, strict=True)]
        metric_fields: dict = {"metricQueries": [
            *queries, {"id": "lost", "expression": "dropped + undelivered", "returnData": True}]}
        what = (f"gave up on an event (AsyncEventsDropped: kept 14 days in SQS queue {queue_name(function_name)} "
                "for a redrive) or could not keep it there (DestinationDeliveryFailures: lost)")
    else:
        metric_fields = {**_dropped_metric(function_name, DROPPED_METRICS[0]), "statistic": "Sum",
                         "period": ERRORS_PERIOD}
        what = f"dropped an event (AsyncEventsDropped: it failed or waited over {failures.max_age} s, e.g. throttled)"
    aws.add(ALARM, f"{logical}-dropped-alarm", {
        "name": name,
        "alarmDescription": f"mlops-infra alert {name} ({failures.severity}): Lambda {function_name}, which "
                            f"{failures.what}, {what}"[:1024],
        **metric_fields, "evaluationPeriods": ERRORS_PERIODS, "datapointsToAlarm": 1, "threshold": 1,
        "comparisonOperator": "GreaterThanOrEqualToThreshold", "treatMissingData": "notBreaching",
        "actionsEnabled": True, "alarmActions": actions, "okActions": actions,
    }, parent=parent, address=address, role="dropped-alarm", refs_in=actions)
