"""Alerts as Prometheus alerting rules, channels as Alertmanager receivers (prometheus-operator).

Contract:
- Alert ``<name>`` -> PrometheusRule ``alert-<name>`` with one alerting rule named exactly like the
  spec's alert (so ``rollback_on`` and ``on_alerts`` name Prometheus alerts): it fires when the
  monitor's recorded value (``mlops:monitor_value``, see monitoring.py) crosses the monitor's
  threshold for ``for``; latency and error rate are recorded per Knative revision, and the worst
  revision counts (``monitoring.unhealthy_expr``), so a canary breaching on its own share fires the
  alert the rollout controller rolls back on; a minute in which a revision served no request
  neither breaks nor ends the streak, within the hold ``monitoring.hold_seconds`` derives from the
  alert's ``for`` (``monitoring`` contract, "Sparse traffic"). Labels: ``severity``, ``namespace`` (so the namespaced
  AlertmanagerConfigs see it) and ``mlops_system``/``mlops_environment``/``mlops_alert``.
- A rollback is an alert (docs/rollout.md, "Who is told"): each endpoint of
  :func:`routing.announced_endpoints` whose rollout the runner drives gets PrometheusRule
  ``rolled-back-<endpoint>`` (:func:`compile_rollback_rule`) with one alerting rule,
  :func:`routing.rollback_alert` (``rolled_back_<endpoint>``), firing while the runner's last push of
  :data:`ROLLED_BACK_METRIC` (the notice's time, pushed to the Pushgateway under
  ``job=mlops-rollout``, system, environment, endpoint: ``rollout/scheduled.py``) is younger than
  :data:`ROLLBACK_WINDOW_SECONDS` minus its ``keep_firing_for`` (so it fires the whole window, no
  longer, as the AWS alarm holds ALARM). Labels as an alert's (``severity``: the highest of the
  ``rollback_on`` alerts'), so the channels' routes (:func:`routing.channel_route`) deliver it. The
  reason (which gate, value, step, share) is free text and stays out of the labels (each value would
  be a new series); it is the runner's log line and ``mlops-infra rollout``.
- Alerts over pushed values (drift and quality monitors, the rollback alerts) keep firing
  :data:`KEEP_FIRING_FOR` after their condition was last met (``keep_firing_for``), so a Pushgateway
  restart does not resolve them (see :data:`KEEP_FIRING_FOR`).
- Channel ``<name>`` -> AlertmanagerConfig ``channel-<name>`` (``monitoring.coreos.com/v1alpha1``)
  with one receiver and a route matching the alerts that notify it. Secrets are only ever
  referenced: ``{name: <the spec's secret name>, key: <its key, default "value">}`` of a Kubernetes
  Secret in the namespace, which the operator reads; no Secret is created and no value appears.
  Slack -> ``slackConfigs.apiURL``; webhook -> ``webhookConfigs.url`` (plain https URL) or
  ``urlSecret`` and a bearer ``httpConfig.authorization``; PagerDuty -> ``pagerdutyConfigs.routingKey``;
  email -> ``emailConfigs.to`` (SMTP server and sender come from Alertmanager's global settings).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import facts
from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.compile.kubernetes import names, routing
from mlops_infra.compile.kubernetes.monitoring import unhealthy_expr
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.spec.alerting import (
    ROLLBACK_NOTICE_SECONDS,
    Alert,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    rollback_severity,
)
from mlops_infra.spec.monitoring import DRIFT_METRICS

PROMETHEUS_RULE = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG = "monitoring.coreos.com/v1alpha1"
KEEP_FIRING_SECONDS = 600
KEEP_FIRING_FOR = f"{KEEP_FIRING_SECONDS // 60}m"
"""``keep_firing_for`` of the alerts over pushed values (drift and quality monitors, rollback notices).

Prometheus "Alerting rules": "an optional keep_firing_for clause that tells Prometheus to keep this
alert firing for the specified duration after the firing condition was last met" (since 2.42; the
PrometheusRule CRD has the field, prometheus-operator v0.89.0). Needed because a Pushgateway restart
(``monitoring.ensure_pushgateway``: a ``Recreate`` Deployment, so a gap) leaves its target without
samples: "If a target scrape or rule evaluation no longer returns a sample for a time series that was
previously present, this time series will be marked as stale. If a target is removed, the previously
retrieved time series will be marked as stale soon after removal" (Prometheus "Querying basics",
"Staleness"). The pushed value is then missing for a few evaluations, and without this clause the
alert resolves and, once the value is back from the persistence file, starts again (a new
``activeAt``/``startsAt``, its ``for`` anew): a second notification, and for an ``on_alerts`` job a
second firing the retrain trigger takes as new. 10 minutes covers a restart with the volume moving to
another node (detach, attach, readiness, a 30 s scrape). The cost: such an alert resolves up to 10
minutes after its condition ends; the rollback alert's condition is shortened by it
(:func:`rollback_rule`), so it still fires :data:`ROLLBACK_WINDOW_SECONDS` in all."""


def alert_rule(kube: KubeTarget, alert: Alert) -> dict[str, Any] | None:
    monitor = kube.ctx.system.item("monitors", alert.monitor)
    if monitor is None:
        return None
    ctx = kube.ctx
    kept = {"keep_firing_for": KEEP_FIRING_FOR} if monitor.metric in DRIFT_METRICS else {}
    return {"alert": alert.name, "expr": unhealthy_expr(kube, monitor, alert.for_.seconds), "for": alert.for_.text,
            **kept,
            "labels": {"mlops_alert": alert.name, "mlops_environment": ctx.env, "mlops_system": ctx.system.metadata.name,
                       "namespace": kube.namespace, "severity": alert.severity},
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: {alert.name} "
                                       f"({monitor.metric} of endpoint {monitor.endpoint})",
                            "description": f"Monitor {monitor.name} ({monitor.metric}) has crossed its threshold "
                                           f"{monitor.threshold.text} for {alert.for_.text}.",
                            "mlops_notify": ",".join(alert.notify)}}


def compile_alert(kube: KubeTarget, alert: Alert) -> None:
    """The alert's component and its PrometheusRule."""
    address = f"alerts.{alert.name}"
    parent = kube.ctx.component("alerts", alert.name, facts.alert_facts(alert))
    rule = alert_rule(kube, alert)
    if rule is None:  # an unknown monitor is reported by spec checks
        return
    spec = {"groups": [{"name": names.item("alert", alert.name), "rules": [rule]}]}
    kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", names.item("alert", alert.name), address, {"spec": spec}),
             parent=parent, address=address, role="alert-rule")


def compile_channel(kube: KubeTarget, channel: SlackChannel | EmailChannel | WebhookChannel | PagerDutyChannel) -> None:
    """The channel's component and its AlertmanagerConfig (receiver + route of its alerts)."""
    route = routing.channel_route(kube.ctx, channel)
    parent = kube.ctx.component("channels", channel.name, facts.channel_facts(channel))
    address = route.address
    obj = kube.obj(ALERTMANAGER_CONFIG, "AlertmanagerConfig", route.config, address, {"spec": routing.config_spec(route)})
    kube.add(obj, parent=parent, address=address, role="alert-routing")


ROLLOUT_PUSH_JOB = "mlops-rollout"
"""The Pushgateway job of the rollout runner's rollback notices."""
ROLLED_BACK_METRIC = "mlops_rollout_rolled_back_timestamp_seconds"
"""Gauge: when the runner last sent the endpoint's rollback notice (Unix seconds; Prometheus'
``_timestamp_seconds`` naming for a time): the pass that rolled back, or the next pass when the rollback
was made from a terminal or completed later (``rollout/scheduled.py``, "Rollback notices"), so the
alert fires for the whole window after the notice, however late it is sent."""
ROLLBACK_WINDOW_SECONDS = ROLLBACK_NOTICE_SECONDS
"""How long the rollback alert fires after a notice: the hold both targets share
(:data:`mlops_infra.spec.alerting.ROLLBACK_NOTICE_SECONDS`, which says why 15 minutes)."""


def rollback_push_group(kube: KubeTarget) -> dict[str, str]:
    """The grouping key of the runner's pushes, ``endpoint`` added per endpoint (job first)."""
    return {"job": ROLLOUT_PUSH_JOB, "system": kube.ctx.system.metadata.name, "environment": kube.ctx.env}


def rollback_rule(kube: KubeTarget, endpoint, channels: list[str]) -> dict[str, Any]:
    ctx = kube.ctx
    series = ", ".join(f'{k}="{v}"' for k, v in {**rollback_push_group(kube), "endpoint": endpoint.name}.items())
    severity = rollback_severity(ctx.system, endpoint)
    name = routing.rollback_alert(endpoint.name)
    met = ROLLBACK_WINDOW_SECONDS - KEEP_FIRING_SECONDS  # then kept firing: the window in all
    return {"alert": name, "expr": f"time() - max({ROLLED_BACK_METRIC}{{{series}}}) < {met}",
            "keep_firing_for": KEEP_FIRING_FOR,
            "labels": {"mlops_alert": name, "mlops_endpoint": endpoint.name, "mlops_environment": ctx.env,
                       "mlops_system": ctx.system.metadata.name, "namespace": kube.namespace, "severity": severity},
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: the rollout of endpoint "
                                       f"{endpoint.name} was rolled back",
                            "description": "The rollout controller rolled a new version back on its own (a "
                                           "rollback_on alert fired, or could not be read for the gate timeout). "
                                           "Which alert, value, step and share: the rollout runner's log "
                                           "(CronJob mlops-rollout-runner) or `mlops-infra rollout`.",
                            "mlops_notify": ",".join(channels)}}


def compile_rollback_rule(kube: KubeTarget, endpoint, channels: list[str]) -> str:
    """The endpoint's rollback alert (see the module contract), under the endpoint's component."""
    address = f"endpoints.{endpoint.name}"
    name = names.item("rolled-back", endpoint.name)
    spec = {"groups": [{"name": name, "rules": [rollback_rule(kube, endpoint, channels)]}]}
    parent = kube.ctx.builder.urn_for(COMPONENT_TYPES["endpoints"], endpoint.name, None)
    return kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", name, address, {"spec": spec}),
                    parent=parent, address=address, role="rollback-alert-rule")
