"""Alerts (CloudWatch alarms) and notification channels (SNS topics and their subscribers).

Contract:
- A channel is an ``mlops:alerting:Channel`` holding one SNS topic encrypted with the platform key
  (with an ``aws:sns/topicPolicy:TopicPolicy`` letting EventBridge rules publish when a training job's
  failures are told to it: :mod:`training_failures`) and what delivers from it, chosen by :data:`SUBSCRIBERS` on the channel kind: email -> an email
  subscription (the recipient confirms it once); Slack, PagerDuty and webhook -> a small Lambda
  forwarder (:mod:`forwarder`) subscribed to the topic (a webhook gets Alertmanager's webhook
  payload and Slack Alertmanager's message, as on Kubernetes; see ``_webhook`` for why not an SNS
  https subscription). The forwarder's environment holds secret *names* (and a webhook's plain URL;
  for Slack and webhooks, the system, environment and channel names); its role may read exactly
  those secrets (``...:secret:<name>-??????``) and write its own log group. Secret values never
  enter the graph.
- An alert owns its alarm. The monitor defines *what* is measured (metric, statistic, threshold;
  :func:`monitoring.alarm_metric`); the alert decides *how long* (``for`` -> evaluation periods, all
  datapoints breaching: :func:`~mlops_infra.spec.alarm_periods.evaluation_periods`, within CloudWatch's
  evaluation range, which ``validate`` holds every ``for`` to, error ``alert-for-too-long``) and *who is told* (alarm and OK actions to its channels' topics). Owning
  the alarm at the alert keeps one alarm per decision: two alerts on one monitor (a warning after
  30m, a page after 5m) are two alarms, and ``rollback_on`` / ``on_alerts``, which name alerts,
  name alarms. A monitor without an alert still runs (drift jobs publish their metric) but raises
  no alarm. Alarm names are ``<system>-<env>-<alert>``. A minute without requests has no latency or
  error-rate datapoint and CloudWatch skips it while the evaluation range holds ``for``'s worth of
  real ones (:mod:`monitoring`, "Sparse traffic"), so a sparse endpoint failing every request
  reaches ALARM within about ``for`` plus its gaps; the alert on Kubernetes means the same.
- Stale drift values (the same meaning as on Kubernetes, where a value older than
  ``compile/drift_job.stale_after_seconds`` stops counting): a drift alarm treats missing data as
  ``missing``, so a run that is late neither breaches nor clears it, and CloudWatch moves an alarm
  whose evaluation range holds no datapoint at all to ``INSUFFICIENT_DATA`` ("If all data points in
  the alarm evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
  So a drift job that stops publishing ends the ALARM instead of keeping it forever, and the
  alarm's ``insufficientDataActions`` tell its channels (the forwarder resolves the PagerDuty
  incident); EventBridge retrain rules match ``ALARM`` only, so no retraining starts from a stale value.
- A rollback is an alert (docs/rollout.md, "Who is told"): a canary endpoint whose ``rollback_on``
  alerts notify channels (:func:`~mlops_infra.spec.alerting.rollback_channels`: their union) gets
  one alarm, :func:`compile_rollback_alarm`, on the metric the rollout runner puts when it rolls the
  canary back on its own (:data:`ROLLOUT_NAMESPACE` / :data:`ROLLED_BACK_METRIC`, dimensions
  ``System``, ``Environment``, ``Endpoint``; ``rollout/scheduled.py``): ``Sum >= 1`` in at least 1 of
  the last 15 one-minute periods (an "M out of N" alarm, ``datapointsToAlarm`` 1 of ``evaluationPeriods``
  15: CloudWatch User Guide, "Evaluating an alarm": "The breaching data points do not have to be
  consecutive, they just must all be within the last number of data points equal to Evaluation
  Period", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation),
  missing data ``notBreaching``: the notice's minute turns it ALARM and it holds ALARM while that
  datapoint is among the last 15, :data:`ROLLBACK_HOLD_SECONDS`
  (the Kubernetes rule's window, ``compile/kubernetes/alerting.ROLLBACK_WINDOW_SECONDS``), then returns
  to OK (resolved). A 15-minute hold leaves time to read the page before PagerDuty resolves it (with
  one period it resolved a minute after paging). CloudWatch may keep a real datapoint a little longer
  ("any real data points in the evaluation range, no matter when they were reported, are included",
  same page, "How alarm state is evaluated when data is missing"), so ~15 minutes, not exactly. Limits:
  botocore ``PutMetricAlarmInput``: ``EvaluationPeriods`` and ``DatapointsToAlarm`` at least 1, and for
  a period under an hour ``Period`` x ``EvaluationPeriods`` at most 86,400 s (900 here). A repeated
  notice (at-least-once) puts another 1 in the window. The alarm has OK actions only (its channels'
  topics: the resolve after the hold, PagerDuty's ``dedup_key`` being the alarm's name): the channels
  are told by the runner, which publishes the notice to those topics itself (``rollout/scheduled.py``
  ``notice_message``: a message in the shape of this alarm's change to ALARM, with the notice's facts,
  :func:`rollback_notice` giving the runner the alarm's name, ARN, description and the topics' ARNs),
  because an alarm's notification can carry no fact of the rollback: CloudWatch writes its
  ``StateReason`` from its own evaluation, and ``SetAlarmState``'s reason lasts until the next
  evaluation, which can return the alarm to OK before the datapoint is seen (an OK, then a second
  ALARM: two pages). One paging path: a repeated notice (the record failed) is published again, which
  PagerDuty folds into the open incident (same ``dedup_key``) while Slack, email and webhooks get it
  twice. The alarms that
  ``rollback_on`` names watch the primary variant, so without this alarm the canary's own breach,
  which the gate reads from the canary variant's metrics (``rollout/gates/cloudwatch.py``), paged
  nobody. Its name, :func:`rollback_alarm_name`, is ``<system>-<env>.rolled-back.<endpoint>``: an
  alert's alarm name is a :func:`~mlops_infra.compile.naming.physical_name`, only ``a-z0-9-``, so no
  spec name can produce one with a ``.``. Its description starts as an alert's (``mlops-infra alert
  rolled_back_<endpoint> (<severity>): ...``, the alert named as on Kubernetes: the forwarder reads the alert and severity from that
  head, ``forwarder._DESCRIPTION_HEAD``), severity the highest of the ``rollback_on`` alerts; the
  facts (versions, share, cause, which alerts with value and threshold: :func:`rollback_gates` gives
  the thresholds) are in the published notice; the full reason stays in the rollout's status
  (``mlops-infra rollout`` prints it) and the log line of the pass that rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mlops_infra.compile import facts
from mlops_infra.compile.aws import (
    arns,
    iam,
    lambda_failures,
    lambdas,
    monitoring,
    policies,
    training_failures,
)
from mlops_infra.compile.aws.context import AwsContext, require
from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.graph import ResourceOptions, archive, ref
from mlops_infra.spec.alarm_periods import evaluation_periods
from mlops_infra.spec.alerting import (
    ROLLBACK_NOTICE_SECONDS,
    Alert,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    rollback_channels,
    rollback_gate_units,
    rollback_severity,
)
from mlops_infra.spec.base import SecretRef
from mlops_infra.spec.lambda_failures import forwarder_audience
from mlops_infra.spec.monitoring import DRIFT_METRICS
from mlops_infra.spec.training_failures import aws_told_channels

TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PERMISSION = "aws:lambda/permission:Permission"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@cache
def forwarder_source() -> str:
    """The Lambda forwarder's source text (a file shipped in this package)."""
    return resources.files("mlops_infra.compile.aws").joinpath("forwarder.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ChannelParts:
    """A channel being compiled: its name, component URN and topic URN."""

    name: str
    component: str
    topic: str

    @property
    def address(self) -> str:
        return f"channels.{self.name}"


def _subscribe(aws: AwsContext, ch: ChannelParts, protocol: str, endpoint, *,
               depends_on: tuple[str, ...] = ()) -> None:
    aws.add(SUBSCRIPTION, f"{ch.name}-subscription", {
        "topic": ref(ch.topic, "arn"), "protocol": protocol, "endpoint": endpoint,
    }, parent=ch.component, address=ch.address, role="subscription", depends_on=depends_on)


def _secret_env(prefix: str, secret: SecretRef) -> dict[str, str]:
    env = {f"{prefix}SECRET_ID": secret.secret}
    if secret.key:
        env[f"{prefix}SECRET_KEY"] = secret.key
    return env


def _add_forwarder(aws: AwsContext, ch: ChannelParts, env: dict[str, str], secrets: list[SecretRef]) -> None:
    """The Lambda forwarder of a channel: log group, role, function, SNS permission, subscription.
    SNS invokes it asynchronously: a failed delivery is retried twice, then kept in its failure queue,
    and its Errors alarm tells the system's other channels, never only this failing one
    (:mod:`lambda_failures`, :func:`~mlops_infra.spec.lambda_failures.forwarder_audience`)."""
    channel, address, component = ch.name, ch.address, ch.component
    spec = iam.RoleSpec(f"{channel}-forwarder", ("notify", channel), ("lambda.amazonaws.com",),
                        f"Forwards alarm notifications of channel {channel}; reads only its own secrets.")
    function, _ = lambdas.add_function(aws, f"{channel}-forwarder", aws.name("notify", channel, max_len=64), spec, [
        policies.allow("ReadChannelSecrets", ["secretsmanager:GetSecretValue"],
                       sorted({arns.secret_arn(aws.region, aws.account, s.secret) for s in secrets})),
    ], {
        "description": f"mlops-infra: forwards alarms to channel {channel}", "handler": "forwarder.handler",
        "code": archive({"forwarder.py": forwarder_source()}), "timeout": 15, "memorySize": 128,
        "environment": {"variables": env},
    }, parent=component, address=address, role="function", log_role="log-group",
        failures=lambda_failures.Failures(forwarder_audience(aws.ctx.system, channel), retries=2,
                                          max_age=lambda_failures.MAX_EVENT_AGE_SECONDS, keep=True,
                                          severity="critical", what=f"forwards channel {channel}'s alarms"))
    permission = aws.add(PERMISSION, f"{channel}-forwarder-invoke", {
        "action": "lambda:InvokeFunction", "function": ref(function, "name"), "principal": "sns.amazonaws.com",
        "sourceArn": ref(ch.topic, "arn"), "statementId": "AllowAlarmTopic",
    }, parent=component, address=address, role="function-permission",
        # every field forces replacement and the statement id must be reused on the same function.
        options=ResourceOptions(delete_before_replace=True))
    _subscribe(aws, ch, "lambda", ref(function, "arn"), depends_on=(permission,))


def _names(aws: AwsContext, item: SlackChannel | WebhookChannel) -> dict[str, str]:
    """What a forwarder writes the Kubernetes alert's labels and summary from (``forwarder``)."""
    return {"MLOPS_SYSTEM": aws.ctx.system.metadata.name, "MLOPS_ENVIRONMENT": aws.ctx.env, "MLOPS_CHANNEL": item.name}


def _email(aws: AwsContext, item: EmailChannel, ch: ChannelParts) -> None:
    _subscribe(aws, ch, "email", item.address)


def _slack(aws: AwsContext, item: SlackChannel, ch: ChannelParts) -> None:
    env = {"CHANNEL_KIND": "slack", **_names(aws, item), **_secret_env("", item.webhook_url)}
    if item.channel:
        env["SLACK_CHANNEL"] = item.channel
    _add_forwarder(aws, ch, env, [item.webhook_url])


def _pagerduty(aws: AwsContext, item: PagerDutyChannel, ch: ChannelParts) -> None:
    _add_forwarder(aws, ch, {"CHANNEL_KIND": "pagerduty", **_secret_env("", item.routing_key)},
                   [item.routing_key])


def _webhook(aws: AwsContext, item: WebhookChannel, ch: ChannelParts) -> None:
    """Every webhook through the forwarder, never an SNS ``https`` subscription: SNS first posts a
    ``SubscriptionConfirmation`` that the endpoint must confirm ("Amazon SNS doesn't send
    notifications to this endpoint until the subscription is confirmed",
    https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html), which a
    webhook receiver does not do, and then posts SNS's own envelope as ``text/plain``; so alerts
    never arrived, silently. The forwarder posts what Alertmanager posts on Kubernetes
    (:mod:`forwarder`), with or without a token."""
    env = {"CHANNEL_KIND": "webhook", **_names(aws, item)}
    secrets = []
    if isinstance(item.url, str):
        env["WEBHOOK_URL"] = item.url
    else:
        env.update(_secret_env("", item.url))
        secrets.append(item.url)
    if item.token is not None:
        env.update(_secret_env("TOKEN_", item.token))
        secrets.append(item.token)
    _add_forwarder(aws, ch, env, secrets)


SUBSCRIBERS: dict[str, Callable] = {"email": _email, "slack": _slack, "pagerduty": _pagerduty, "webhook": _webhook}
"""Channel kind -> what subscribes to the channel's topic."""


def compile_channel(aws: AwsContext, item) -> None:
    """A channel: its component, encrypted topic and subscriber."""
    component = aws.ctx.component("channels", item.name, facts.channel_facts(item))
    aws.topics[item.name] = topic = aws.add(TOPIC, f"{item.name}-topic", {
        "name": aws.name(item.name, max_len=256),
        "displayName": f"mlops-infra {aws.ctx.system.metadata.name} {aws.ctx.env} {item.name}"[:100],
        "kmsMasterKeyId": ref(aws.key, "arn"),
    }, parent=component, address=f"channels.{item.name}", role="topic")
    if item.name in aws_told_channels(aws.ctx.system):
        training_failures.add_topic_policy(aws, item.name, topic, parent=component, address=f"channels.{item.name}")
    SUBSCRIBERS[item.kind](aws, item, ChannelParts(item.name, component, topic))


def _description(item: Alert, monitor) -> str:
    """The alarm's description. The forwarder reads the alert, severity, metric, endpoint and monitor
    back from it (``forwarder._DESCRIPTION``) for a webhook's labels and summary: change both together."""
    direction = "below" if monitor.metric in monitoring.LOWER_IS_WORSE else "above"
    return (f"mlops-infra alert {item.name} ({item.severity}): {monitor.metric} of endpoint {monitor.endpoint} "
            f"{direction} {monitor.threshold.text} for {item.for_.text} (monitor {monitor.name})")


def compile_alert(aws: AwsContext, item: Alert) -> None:
    """An alert: its component and the alarm it owns (see the module docstring)."""
    component = aws.ctx.component("alerts", item.name, facts.alert_facts(item))
    monitor = require(aws.ctx.system.item("monitors", item.monitor), f"monitor {item.monitor}")
    metric = monitoring.alarm_metric(aws, monitor)
    periods = evaluation_periods(metric.period, item.for_.seconds)
    actions = [ref(aws.topics[c], "arn") for c in item.notify if c in aws.topics]
    name = aws.name(item.name, max_len=255)
    stale_actions = {"insufficientDataActions": actions} if monitor.metric in DRIFT_METRICS else {}
    aws.alarms[item.name] = aws.add(ALARM, f"{item.name}-alarm", {
        "name": name, "alarmDescription": _description(item, monitor),
        "comparisonOperator": metric.comparison, "threshold": metric.threshold,
        "evaluationPeriods": periods, "datapointsToAlarm": periods,
        "treatMissingData": metric.treat_missing_data, "actionsEnabled": True,
        "alarmActions": actions, "okActions": actions, **stale_actions, **metric.fields,
    }, parent=component, address=f"alerts.{item.name}", role="alarm",
        refs_in=actions)  # the rest, metric fields (monitoring.ALARM_METRICS) included: text, numbers, booleans
    aws.alarm_names[item.name] = name


ROLLOUT_NAMESPACE = "mlops-infra/Rollouts"
"""The CloudWatch namespace of the rollout runner's own metric (a custom namespace may not start
with ``AWS/``, botocore ``PutMetricDataInput.Namespace``)."""
ROLLED_BACK_METRIC = "RolledBack"
"""Value 1 (Count), put by the runner's rollback notice: at least once per rollback made on its own
(``rollout/scheduled.py``, "Rollback notices")."""
ROLLBACK_PERIOD = 60
ROLLBACK_HOLD_SECONDS = ROLLBACK_NOTICE_SECONDS
"""How long the rollback alarm stays in ALARM after a notice: 15 one-minute periods (see the contract),
the hold both targets share (:data:`mlops_infra.spec.alerting.ROLLBACK_NOTICE_SECONDS`)."""


def rollback_alarm_name(aws: AwsContext, endpoint: str) -> str:
    """``<system>-<env>.rolled-back.<endpoint>`` (see the module contract: no alert's alarm has a ``.``)."""
    return f"{aws.name(max_len=120)}.rolled-back.{endpoint}"


def rollback_dimensions(aws: AwsContext) -> dict[str, str]:
    """The dimensions the runner puts with every rollback of this environment (``Endpoint`` added per endpoint)."""
    return {"Environment": aws.ctx.env, "System": aws.ctx.system.metadata.name}


def rollback_description(aws: AwsContext, endpoint) -> str:
    """The rollback alarm's description (see the module contract: its head is an alert's)."""
    return (f"mlops-infra alert rolled_back_{endpoint.name} ({rollback_severity(aws.ctx.system, endpoint)}): the "
            f"rollout controller rolled back a new version of endpoint {endpoint.name} on its own (a rollback_on gate "
            "fired, or could not be read for gate_timeout). The notice says which version, share and gate; the "
            "full reason: the recorded reason `mlops-infra rollout` prints, or the rollout runner's log.")


def _rollback_topics(aws: AwsContext, endpoint) -> list[str]:
    return [c for c in rollback_channels(aws.ctx.system, endpoint) if c in aws.topics]


def rollback_notice(aws: AwsContext, endpoint) -> dict[str, object]:
    """What the runner publishes ``endpoint``'s rollback notice as (``rollout/scheduled.py``
    ``notice_message``): the rollback alarm's name, ARN and description, and the ARNs of its channels'
    topics (``arn:<partition>:sns:<region>:<account>:<topic name>``, the topic's name as
    :func:`compile_channel` sets it)."""
    name = rollback_alarm_name(aws, endpoint.name)
    return {"arn": arns.alarm_arn(aws.region, aws.account, name), "description": rollback_description(aws, endpoint),
            "name": name, "topics": [arns.arn(aws.region, aws.account, "sns", aws.name(c, max_len=256))
                                     for c in _rollback_topics(aws, endpoint)]}


def compile_rollback_alarm(aws: AwsContext, endpoint) -> bool:
    """The alarm holding ``endpoint``'s rollback notice for its channels (see the module contract): OK
    actions only, the runner publishes the notice itself; False (nothing compiled) when no channel is told."""
    channels = _rollback_topics(aws, endpoint)
    if not channels:
        return False
    actions = [ref(aws.topics[c], "arn") for c in channels]
    name = rollback_alarm_name(aws, endpoint.name)
    component = aws.ctx.builder.urn_for(COMPONENT_TYPES["endpoints"], endpoint.name, None)
    aws.add(ALARM, f"{endpoint.name}-rolled-back-alarm", {
        "name": name, "alarmDescription": rollback_description(aws, endpoint),
        "namespace": ROLLOUT_NAMESPACE, "metricName": ROLLED_BACK_METRIC,
        "dimensions": {**rollback_dimensions(aws), "Endpoint": endpoint.name},
        "statistic": "Sum", "period": ROLLBACK_PERIOD, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "threshold": 1, "evaluationPeriods": ROLLBACK_HOLD_SECONDS // ROLLBACK_PERIOD, "datapointsToAlarm": 1,
        "treatMissingData": "notBreaching",
        "actionsEnabled": True, "okActions": actions,
    }, parent=component, address=f"endpoints.{endpoint.name}", role="rollback-alarm", refs_in=actions)
    return True


MICROSECOND = 1e-6
"""Seconds per unit of a latency gate's value on AWS (SageMaker ``ModelLatency`` is in microseconds)."""


def rollback_gates(aws: AwsContext, endpoints) -> dict[str, dict[str, object]]:
    """What the runner needs to write a fired gate's value in the unit of its alert's threshold
    (``rollout/scheduled.py`` ``notice_facts``; the same facts as on Kubernetes,
    ``compile/kubernetes/alerting.rollback_gates``): per alarm of ``endpoints``' ``rollback_on``
    alerts, the alert's name (the notice names alerts, as on Kubernetes), the threshold as written, the
    comparison and ``scale`` x the gate's value = that unit. The value of a gate is its alarm metric's (``rollout/gates/cloudwatch.py``), in the alarm's unit
    (:func:`monitoring.alarm_threshold`): latency in microseconds (SageMaker ``ModelLatency``), the
    others as a fraction (``1%`` -> 0.01): :func:`~mlops_infra.spec.alerting.rollback_gate_units`, the
    rule both targets share."""
    gates = {aws.alarm_names[name]: {"alert": name, **units}
             for name, units in rollback_gate_units(aws.ctx.system, endpoints, MICROSECOND)
             if name in aws.alarm_names}
    return dict(sorted(gates.items()))
