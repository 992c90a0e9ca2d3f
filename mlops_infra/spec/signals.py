"""Monitoring semantics: what a monitor needs from its endpoint, threshold units, rollback alerts.

Contract:
- drift and quality monitors (:data:`~mlops_infra.spec.monitoring.DRIFT_METRICS`) need request
  capture on their endpoint; ``feature_drift`` also needs a ``baseline``; a ``baseline`` on a live
  metric, or on ``prediction_drift`` (which compares the previous window of captured predictions: a
  baseline is training data, with no ``prediction`` column, so the job could never score it; audit
  contract-3), is an unused field;
- a threshold's unit fits its metric: latency_p99 a time, error_rate a percentage or a fraction in
  0..1, drift and quality metrics a plain number in 0..1;
- alerts that roll a rollout back should be warning or critical and watch the same endpoint
  (warnings: the rollout still works, but probably not as meant);
- every alert notifies at least one channel: an alert nobody hears about is found out at 3 a.m.
  (one that starts a retraining run or rolls a rollout back too: people must know it happened).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mlops_infra.diagnostics import Diagnostic, error, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor
from mlops_infra.spec.quantities import Quantity


def check_monitor_inputs(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Drift and quality monitors have capture on their endpoint and, for feature_drift, a baseline;
    prediction_drift and live metrics use none."""
    for i, monitor in enumerate(ctx.system.monitors):
        drift = monitor.metric in DRIFT_METRICS
        if drift:
            endpoint = ctx.item("endpoints", monitor.endpoint)
            if endpoint is not None and endpoint.capture is None:
                yield error(
                    "capture-required", f'Monitor "{monitor.name}" needs request capture on endpoint "{endpoint.name}"',
                    f"{monitor.metric} is computed from captured requests and responses. Add "
                    f"capture: {{sample_percent: 20}} to endpoint \"{endpoint.name}\".",
                    ("monitors", i, "endpoint"), f"monitors.{monitor.name}")
        if monitor.metric == "feature_drift" and monitor.baseline is None:
            yield error("baseline-required", f'Monitor "{monitor.name}" needs a baseline',
                        "feature_drift compares live features with a baseline data set. Add baseline: <data source "
                        "name> (the data the model was trained on).", ("monitors", i, "baseline"),
                        f"monitors.{monitor.name}")
        elif monitor.baseline is not None and not drift:
            yield warning("unused-field", f'Monitor "{monitor.name}" does not use its baseline',
                          f"{monitor.metric} is measured on live traffic only; remove baseline.",
                          ("monitors", i, "baseline"), f"monitors.{monitor.name}")
        elif monitor.metric == "prediction_drift" and monitor.baseline is not None:
            yield warning("unused-field", f'Monitor "{monitor.name}" does not use its baseline',
                          "prediction_drift compares the previous window of captured predictions (a baseline data "
                          "source holds features and labels, not the model's predictions); remove baseline.",
                          ("monitors", i, "baseline"), f"monitors.{monitor.name}")
        if monitor.baseline is not None:
            continue
        for bound in ("baseline_prefix", "baseline_window"):
            if getattr(monitor, bound) is not None:
                yield warning("unused-field", f'Monitor "{monitor.name}" has {bound} but no baseline',
                              f"{bound} narrows what the drift job reads of its baseline data source; add "
                              f"baseline: <data source name> or remove {bound}.", ("monitors", i, bound),
                              f"monitors.{monitor.name}")


def check_thresholds(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A monitor's threshold has a unit and a range that fit its metric."""
    for i, monitor in enumerate(ctx.system.monitors):
        rule = THRESHOLD_RULES.get(monitor.metric, _fraction)
        problem = rule(monitor.threshold)
        if problem:
            yield error("invalid-threshold",
                        f'Threshold {monitor.threshold} does not fit metric {monitor.metric}',
                        problem, ("monitors", i, "threshold"), f"monitors.{monitor.name}")


def _time(q: Quantity) -> str:
    if not q.is_time:
        return (f"latency_p99 is a time: write the unit, for example {q.value:g}ms or "
                f"{q.value:g}s." if not q.is_percent else "latency_p99 is a time such as 250ms or 2s, not a percentage.")
    return "" if q.value > 0 else "A latency threshold must be greater than zero."


def _rate(q: Quantity) -> str:
    if q.is_time:
        return "error_rate is a share of requests: write a percentage (1%) or a fraction from 0 to 1 (0.01)."
    if q.is_percent:
        return "" if 0 <= q.value <= 100 else "A percentage must be from 0% to 100%."
    return "" if 0 <= q.value <= 1 else (
        f"A plain error_rate is a fraction from 0 to 1; for {q.value:g} percent write {q.value:g}%.")


def _fraction(q: Quantity) -> str:
    if q.is_time:
        return "Drift and quality scores are plain numbers from 0 to 1 (for example 0.2), not times."
    if q.is_percent:
        return f"Drift and quality scores are plain numbers from 0 to 1: write {q.value / 100:g} instead of {q.text}."
    return "" if 0 <= q.value <= 1 else "Drift and quality scores are plain numbers from 0 to 1, for example 0.2."


THRESHOLD_RULES: dict[str, Callable[[Quantity], str]] = {"latency_p99": _time, "error_rate": _rate}
"""Metric -> rule returning '' or what is wrong and how to fix it; other metrics are scores in 0..1."""


def check_alert_channels(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Every alert notifies a channel."""
    channels = sorted(c.name for c in ctx.system.channels)
    for i, alert in enumerate(ctx.system.alerts):
        if alert.notify:
            continue
        which = (f"one of the channels ({', '.join(channels)})" if channels
                 else "a channel declared under channels: (slack, email, webhook or pagerduty)")
        yield error("alert-without-channel", f'Alert "{alert.name}" notifies no channel',
                    f'Nobody would hear when "{alert.name}" fires. Add notify: [<channel>] with {which}, '
                    f"or remove the alert.", ("alerts", i, "notify"), f"alerts.{alert.name}")


def check_shared_slack_webhooks(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Slack channels that share one incoming webhook but name different ``channel`` values post to one
    place (audit observe-2).

    Slack, "Sending messages using incoming webhooks" (https://api.slack.com/messaging/webhooks): "You
    cannot override the default channel (chosen by the user who installed your app), username, or icon
    when you're using Incoming Webhooks"; only the legacy custom-integration webhooks honoured a
    ``channel`` field (https://api.slack.com/legacy/custom-integrations/incoming-webhooks). Both
    targets send ``channel`` (the AWS forwarder's ``SLACK_CHANNEL``, the Kubernetes slackConfig's
    ``channel``), so with a webhook made the current way two spec channels on one webhook secret land
    in the channel it was created for. One warning per channel after the first of each webhook (the
    same secret and key) whose ``channel`` differs from that first one's, at its ``webhook_url``."""
    first: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    for i, channel in enumerate(ctx.system.channels):
        if channel.kind != "slack":
            continue
        webhook = (channel.webhook_url.secret, channel.webhook_url.key)
        if webhook not in first:
            first[webhook] = (channel.name, channel.channel)
            continue
        other, other_target = first[webhook]
        if channel.channel == other_target:
            continue
        yield warning(
            "slack-channels-share-a-webhook",
            f'Slack channels "{other}" and "{channel.name}" use one webhook but name different Slack channels',
            f'Both post with the webhook in secret "{channel.webhook_url.secret}". A Slack app\'s incoming webhook '
            "always posts to the channel it was created for and ignores `channel` (only legacy custom-integration "
            f'webhooks honour it), so "{channel.name}" would post where "{other}" does. Create one webhook per '
            "Slack channel and give each its own secret.",
            ("channels", i, "webhook_url"), f"channels.{channel.name}")


def check_rollback_alerts(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Rollback alerts are warning or critical and watch a monitor of the same endpoint."""
    alerts, monitors = ctx.system.alerts, ctx.system.monitors
    alert_at, monitor_at, endpoint_names = ctx.names["alerts"], ctx.names["monitors"], ctx.names["endpoints"]
    for i, endpoint in enumerate(ctx.system.endpoints):
        for j, name in enumerate(endpoint.rollout.rollback_on):
            at = alert_at.get(name)
            if at is None:
                continue  # reported as an unknown reference
            alert = alerts[at]
            at = monitor_at.get(alert.monitor)
            monitor: Monitor | None = None if at is None else monitors[at]
            if alert.severity != "info" and (monitor is None or monitor.endpoint == endpoint.name
                                             or monitor.endpoint not in endpoint_names):
                continue  # the common case: nothing to say
            path, address = ("endpoints", i, "rollout", "rollback_on", j), f"endpoints.{endpoint.name}"
            if alert.severity == "info":
                yield warning("rollback-alert-severity", f'Rollback alert "{name}" has severity info',
                              f'An alert that rolls back endpoint "{endpoint.name}" should be warning or critical; '
                              f'raise the severity of alert "{name}" or remove it from rollback_on.', path, address)
            if monitor is not None and monitor.endpoint != endpoint.name and monitor.endpoint in endpoint_names:
                yield warning("rollback-alert-endpoint",
                              f'Rollback alert "{name}" watches endpoint "{monitor.endpoint}", not "{endpoint.name}"',
                              f'Alert "{name}" fires on monitor "{monitor.name}" of endpoint "{monitor.endpoint}", so '
                              f'it says nothing about a rollout of "{endpoint.name}". Use an alert on a monitor of '
                              f'"{endpoint.name}".', path, address)
