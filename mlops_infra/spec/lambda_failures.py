"""Who hears that one of the system's own AWS Lambdas failed, and the warning when nobody would.

On AWS three kinds of mlops-infra Lambda are invoked asynchronously: a channel's forwarder (by its
SNS topic), a training job's retrain gate (by its schedule and its alarm rules) and the rollout
runner (by its schedule). Lambda retries a failed asynchronous invocation twice, then discards the
event unless a destination keeps it ("How Lambda handles errors and retries with asynchronous
invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), so
each gets a CloudWatch alarm on its ``AWS/Lambda`` ``Errors`` and one on the events Lambda dropped
or could not keep (``AsyncEventsDropped``, ``DestinationDeliveryFailures``; ``compile/aws/lambda_failures.py``).
This module decides whom both alarms notify, from the spec alone (the compiler and the check below
share it), at most :data:`~mlops_infra.spec.limits.AWS_ALARM_ACTIONS_MAX` channels (an alarm's
``AlarmActions``):

- :func:`forwarder_audience`: a forwarder's failure is never told through its own channel, which is
  the one failing: the system's *other* channels, those SNS delivers itself first (email: no Lambda
  between the topic and the recipient, so the same fault cannot silence them), then the others,
  each group in spec order;
- :func:`gate_audience`: the channels the job's ``on_alerts`` alerts notify (whoever watches the
  drift that should retrain the model is who must know the retraining did not start), in the order
  of ``on_alerts`` then ``notify``; a job without them (a schedule only) has no owner in the spec,
  so the system's channels in spec order;
- :func:`runner_audience`: the channels the canary endpoints' ``rollback_on`` alerts notify (a
  runner that fails neither advances nor rolls back a canary), else the system's channels.

:func:`check_lambda_failures` warns (``unheard-lambda-failures``), in AWS environments only, where
such an alarm would notify nobody: a forwarded channel (Slack, PagerDuty, webhook) that is the
system's only channel, a triggered training job or a canary endpoint in a system without channels.
The alarm is still created (its state is visible in the console and to ``DescribeAlarms``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.alerting import notified_channels
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.limits import AWS_ALARM_ACTIONS_MAX

FORWARDED = frozenset({"slack", "pagerduty", "webhook"})
"""Channel kinds delivered by a Lambda forwarder on AWS (``compile/aws/alerting.SUBSCRIBERS``)."""
SNS_DELIVERED = frozenset({"email"})
"""Channel kinds SNS delivers itself (an email subscription)."""


def _or_everyone(system, channels: list[str]) -> tuple[str, ...]:
    return tuple((channels or [c.name for c in system.channels])[:AWS_ALARM_ACTIONS_MAX])


def forwarder_audience(system, channel: str) -> tuple[str, ...]:
    """Who hears that channel ``channel``'s forwarder failed (module docstring)."""
    others = [c for c in system.channels if c.name != channel]
    ordered = [c for c in others if c.kind in SNS_DELIVERED] + [c for c in others if c.kind not in SNS_DELIVERED]
    return tuple(c.name for c in ordered[:AWS_ALARM_ACTIONS_MAX])


def gate_audience(system, job) -> tuple[str, ...]:
    """Who hears that training job ``job``'s retrain gate failed (module docstring)."""
    return _or_everyone(system, notified_channels(system, job.triggers.on_alerts))


def runner_audience(system, canaries: Iterable[str]) -> tuple[str, ...]:
    """Who hears that the rollout runner failed; ``canaries`` names the canary endpoints it drives."""
    alerts = [a for name in canaries if (e := system.item("endpoints", name)) is not None
              for a in e.rollout.rollback_on]
    return _or_everyone(system, notified_channels(system, alerts))


def check_lambda_failures(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, warn where a Lambda's failure alarm would notify nobody (module docstring)."""
    if environment.target.kind != "aws":
        return
    system = ctx.system
    for i, channel in enumerate(system.channels):
        if channel.kind in FORWARDED and not forwarder_audience(system, channel.name):
            yield warning(
                "unheard-lambda-failures",
                f'Nobody would hear that channel "{channel.name}" cannot deliver',
                f"In environment {env} (AWS) a Lambda forwards this channel's alerts; when it fails (a revoked "
                "webhook, a wrong routing key, a missing secret) Lambda retries twice and the alert is lost. "
                "Its failure alarm tells the system's other channels, and there is none. Add a second "
                "channel, best an email one (SNS delivers it without a Lambda).",
                ("channels", i), f"channels.{channel.name}")
    if system.channels:
        return
    for i, job in enumerate(system.training_jobs):
        if job.triggers.schedule or job.triggers.on_alerts:
            yield warning(
                "unheard-lambda-failures",
                f'Nobody would hear that training job "{job.name}" failed to start',
                f"In environment {env} (AWS) the job's triggers start it through a Lambda (its retrain gate); "
                "when it fails (e.g. SageMaker's limit on concurrent pipeline executions) Lambda retries twice "
                "over about three minutes and the run is not started. The gate's failure alarm tells the "
                "system's channels, and there is none. Add a channel.",
                ("training_jobs", i, "triggers"), f"training_jobs.{job.name}")
    canaries = [(i, e) for i, e in enumerate(system.endpoints) if e.rollout.strategy == "canary"]
    if canaries:  # one runner for all of them: one warning, at the first
        i, endpoint = canaries[0]
        yield warning(
            "unheard-lambda-failures",
            f'Nobody would hear that the rollout runner of canary endpoint "{endpoint.name}" fails',
            f"In environment {env} (AWS) a Lambda advances and rolls back the canary rollouts once a minute; "
            "when it fails, every canary stays where it is. Its failure alarm tells the channels of the "
            "canaries' rollback_on alerts, or the system's, and there is none. Add a channel.",
            ("endpoints", i, "rollout"), f"endpoints.{endpoint.name}")
