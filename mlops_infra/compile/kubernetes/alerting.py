"""Alerts as Prometheus alerting rules, channels as Alertmanager receivers (prometheus-operator).

Contract:
- Alert ``<name>`` -> PrometheusRule ``alert-<name>`` with one alerting rule named exactly like the
  spec's alert (so ``rollback_on`` and ``on_alerts`` name Prometheus alerts): it fires when the
  monitor's recorded value (``mlops:monitor_value``, see monitoring.py) crosses the monitor's
  threshold for ``for``; latency and error rate are recorded per Knative revision, and the worst
  revision counts (``monitoring.unhealthy_expr``), so a canary breaching on its own share fires the
  alert the rollout controller rolls back on. Labels: ``severity``, ``namespace`` (so the namespaced
  AlertmanagerConfigs see it) and ``mlops_system``/``mlops_environment``/``mlops_alert``.
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
from mlops_infra.compile.kubernetes import names, routing
from mlops_infra.compile.kubernetes.monitoring import unhealthy_expr
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.spec.alerting import Alert, EmailChannel, PagerDutyChannel, SlackChannel, WebhookChannel

PROMETHEUS_RULE = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG = "monitoring.coreos.com/v1alpha1"


def alert_rule(kube: KubeTarget, alert: Alert) -> dict[str, Any] | None:
    monitor = kube.ctx.system.item("monitors", alert.monitor)
    if monitor is None:
        return None
    ctx = kube.ctx
    return {"alert": alert.name, "expr": unhealthy_expr(kube, monitor), "for": alert.for_.text,
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
