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
  AlertmanagerConfigs see it) and ``mlops_system``/``mlops_environment``/``mlops_alert``. Annotations:
  ``summary`` (fixed text: Slack's first line), ``description`` (:func:`description`: the monitor,
  threshold and ``for``, and the value the alert fired on in the threshold's unit, which Prometheus
  writes: :mod:`alert_value`, audit observe-4) and ``mlops_notify``.
- A rollback is an alert (docs/rollout.md, "Who is told"): each endpoint of
  :func:`routing.announced_endpoints` whose rollout the runner drives gets PrometheusRule
  ``rolled-back-<endpoint>`` (:func:`compile_rollback_rule`) with one alerting rule,
  :func:`routing.rollback_alert` (``rolled_back_<endpoint>``), firing while the runner's last push of
  :data:`ROLLED_BACK_METRIC` (the notice's time, pushed to the Pushgateway under
  ``job=mlops-rollout``, system, environment, endpoint: ``rollout/scheduled.py``) is younger than
  :data:`ROLLBACK_WINDOW_SECONDS` minus its ``keep_firing_for`` (so it fires the whole window, no
  longer, as the AWS alarm holds ALARM). Labels as an alert's (``severity``: the highest of the
  ``rollback_on`` alerts'), so the channels' routes (:func:`routing.channel_route`) deliver it, plus
  the pushed notice's facts (:data:`NOTICE_LABELS`: versions, share, cause, which alerts with value
  and threshold; ``rollout/scheduled.py`` ``notice_facts``), which its annotations write
  (:func:`rollback_annotations`). They are the same for every push of one rollback (one series, one
  alert); the free-text reason (with a cloud or cluster answer's text) stays in the runner's log line
  and ``mlops-infra rollout``.
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
- Failed notifications: a system with channels gets PrometheusRule ``notify-failures``
  (:func:`compile_notify_failures`, under the platform), alerting when the cluster's Alertmanager
  gives up on delivering this system's notifications, told to its *other* channels, or on its retrain
  triggers' (told to the channels of the job's ``on_alerts`` alerts), and when the rollout runner's
  Jobs fail (told to the channels of the rollouts' ``rollback_on`` alerts): the audiences of the AWS
  failure alarms of a forwarder, a retrain gate and the runner (audit notify-1;
  :func:`notify_failure_rules` has the rules and the Alertmanager and kube-state-metrics sources
  they rest on).
- Failed training runs: each training job with someone to tell (``spec/training_failures.py``: its
  ``notify``, then its ``on_alerts`` alerts' channels) gets PrometheusRule ``training-failed-<job>``
  under its component (:func:`compile_training_failure_rule`), firing ``training_failed_<job>`` when
  a run or its launcher failed (:func:`training_failure_rule` has the sources).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import facts
from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.compile.kubernetes import alert_value, names, routing
from mlops_infra.compile.kubernetes.monitoring import pushed_selector, unhealthy_expr
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.spec.alerting import (
    ROLLBACK_NOTICE_SECONDS,
    Alert,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    rollback_gate_units,
    rollback_severity,
)
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor

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


def description(alert: Alert, monitor: Monitor, value: str | None = None) -> str:
    """The monitor alert's ``description``: which monitor crossed which threshold for how long, and
    the value it fired on (``(now {{ $value ... }})``, :mod:`alert_value`: Prometheus writes it in the
    threshold's unit); given ``value`` (what Prometheus writes, :func:`alert_value.render_value`), the
    text as expanded, for the rule tests (``rule_tests.py``). The ``summary`` (the first line of
    Slack's text, ``routing.SLACK_TEXT``, and the AWS forwarder's summary) stays fixed text."""
    now = alert_value.value_template(monitor) if value is None else value
    return (f"Monitor {monitor.name} ({monitor.metric}) has crossed its threshold {monitor.threshold.text} "
            f"for {alert.for_.text} (now {now}).")


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
                            "description": description(alert, monitor),
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


NOTIFY_FAILURES_RULE = "notify-failures"
"""The PrometheusRule (and rule group) of an environment's notify-failure alerts."""
FAILED_NOTIFICATIONS = "alertmanager_notifications_failed_total"
ATTEMPTED_NOTIFICATIONS = "alertmanager_notifications_total"
FAILURE_WINDOW = "15m"
"""How far back a failed notification counts (``increase(...[15m]) > 0``). Alertmanager counts a
failure once per flush of an alert group (below), and a group whose notification failed is flushed
again every ``group_interval`` (5 minutes by default), so a receiver that stays broken adds one at least
every 5 minutes while alerts wait for it: 15 minutes bridges those gaps with two to spare (a missed
scrape, a slower route), and after the last failure the alert keeps firing 15 minutes, long enough for
the other channels' routes to deliver it."""
UNOBSERVED_FOR = "15m"
"""How long Prometheus must see no Alertmanager notification metric before
:data:`~routing.NOTIFY_FAILURES_UNOBSERVED` fires (a Prometheus or Alertmanager restart, a first
scrape, are shorter)."""


RETRAIN_FAILURE_SEVERITY = "warning"
"""Severity of ``notify_failed_retrain_<job>``: the AWS retrain gate's failure alarm's (``compile/aws/gates.py``)."""
RUNNER_CRONJOB = "mlops-rollout-runner"
"""The rollout runner's CronJob (``rollout_runner.NAME``, which imports this module: a test checks they agree)."""
RUNNER_FAILURE_WINDOW_SECONDS = 900
"""How recent a failed runner Job must be (its ``kube_job_created``) to count: the CronJob keeps its last
3 failed Jobs for ever (``failedJobsHistoryLimit: 3``), so without a window one failure would fire the
alert until three more. A Job runs at most 300 s (``activeDeadlineSeconds``) and kube-state-metrics
shows it failed at the next scrape, so 15 minutes sees every failure and, with one a minute while the
runner stays broken, keeps the alert firing; it resolves 15 minutes after the last failed Job's start."""


def _rule_labels(kube: KubeTarget, name: str, severity: str, **extra: str) -> dict[str, str]:
    ctx = kube.ctx
    return dict(sorted({"mlops_alert": name, "mlops_environment": ctx.env, "mlops_system": ctx.system.metadata.name,
                        "namespace": kube.namespace, "severity": severity, **extra}.items()))


def _told(channels: list[str], which: str = "other ") -> str:
    return (f"This alert goes to the system's {which}channels: {', '.join(channels)}." if channels else
            f"The system has no {which}channel to tell: only Prometheus' alerts page and its ALERTS series show it.")


def _channel_failure_rule(kube: KubeTarget, channel, route: routing.Route) -> dict[str, Any]:
    ctx = kube.ctx
    name, receiver = routing.notify_failure_alert(channel.name), routing.receiver_name(kube.namespace, route)
    told = routing.failure_audience(ctx.system, channel.name)
    return {"alert": name,
            "expr": f'sum by (integration, receiver_name) (increase({FAILED_NOTIFICATIONS}{{receiver_name="{receiver}"}}'
                    f"[{FAILURE_WINDOW}])) > 0",
            "labels": _rule_labels(kube, name, "critical", mlops_channel=channel.name),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: channel {channel.name} ({channel.kind}) "
                                       "cannot deliver: alerts are lost",
                            "description": f"Alertmanager gave up on notifications to channel {channel.name}'s receiver "
                                           f"{receiver} in the last {FAILURE_WINDOW}: the alerts they carried did not "
                                           "reach it. Alertmanager's log says why (a revoked webhook, a wrong routing "
                                           f"key, an SMTP server down). {_told(told)}",
                            "mlops_notify": ",".join(told)}}


def _retrain_failure_rule(kube: KubeTarget, job, route: routing.Route) -> dict[str, Any]:
    ctx = kube.ctx
    name, receiver = routing.retrain_failure_alert(job.name), routing.receiver_name(kube.namespace, route)
    told = routing.retrain_audience(ctx.system, job)
    return {"alert": name,
            "expr": f'sum by (integration, receiver_name) (increase({FAILED_NOTIFICATIONS}{{receiver_name="{receiver}"}}'
                    f"[{FAILURE_WINDOW}])) > 0",
            "labels": _rule_labels(kube, name, RETRAIN_FAILURE_SEVERITY, mlops_training_job=job.name),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: the retrain trigger of training job "
                                       f"{job.name} did not take its alerts: no run started",
                            "description": f"Alertmanager gave up on notifications to training job {job.name}'s "
                                           f"retrain trigger (receiver {receiver}) in the last {FAILURE_WINDOW}: the "
                                           f"alerts {', '.join(job.triggers.on_alerts)} that start it did not. The "
                                           "trigger answers 503 while its token Secret "
                                           f"{names.TRIGGER_TOKEN_SECRET} is empty or not yet mounted, 401 when the "
                                           "token differs and 502 when the API server refuses the run; its log and "
                                           "Alertmanager's say which (with the Secret missing, prometheus-operator "
                                           "rejects this trigger's AlertmanagerConfig and nothing is sent at all: "
                                           f"docs/compile-kubernetes.md section 3.7). {_told(told, '')}",
                            "mlops_notify": ",".join(told)}}


def _integration_failure_rule(kube: KubeTarget, kind: str) -> dict[str, Any]:
    ctx = kube.ctx
    name = routing.integration_failure_alert(kind)
    mine = [c.name for c in ctx.system.channels if c.kind == kind]
    if kind == "webhook" and routing.retrain_jobs(ctx.system):  # a fixed text: the rule must not grow per job
        mine.append("the retrain trigger of each training job with on_alerts")
    told = routing.integration_audience(ctx.system, kind)
    return {"alert": name,
            "expr": f'sum by (integration) (increase({FAILED_NOTIFICATIONS}{{integration="{kind}", receiver_name=""}}'
                    f"[{FAILURE_WINDOW}])) > 0",
            "labels": _rule_labels(kube, name, "critical"),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: Alertmanager cannot deliver {kind} "
                                       "notifications; which channel is unknown",
                            "description": f"Alertmanager gave up on {kind} notifications in the last {FAILURE_WINDOW}. "
                                           "It does not label its failures by receiver (Alertmanager 0.27 or later "
                                           "started with --enable-feature=receiver-name-in-metrics does), so the "
                                           f"failing receiver may be this system's {kind} receiver(s) "
                                           f"({', '.join(mine)}) or any other {kind} receiver of the cluster: "
                                           f"Alertmanager's log names it. {_told(told, '')}",
                            "mlops_notify": ",".join(told)}}


def failed_cronjob_jobs(namespace: str, cronjob: str, window_seconds: int) -> str:
    """PromQL: ``{namespace}`` while a Job of CronJob ``cronjob`` created in the last ``window_seconds`` has
    failed (kube-state-metrics ``kube_job_owner``, ``kube_job_failed``, ``kube_job_created``: see
    :func:`notify_failure_rules`, "The rollout runner")."""
    owned = f'kube_job_owner{{namespace="{namespace}", owner_kind="CronJob", owner_name="{cronjob}"}}'
    failed = f'kube_job_failed{{namespace="{namespace}", condition="true"}} == 1'
    recent = f'time() - kube_job_created{{namespace="{namespace}"}} < {window_seconds}'
    return (f"count by (namespace) ({owned} and on (namespace, job_name) ({failed}) "
            f"and on (namespace, job_name) ({recent})) > 0")


def _runner_failure_rule(kube: KubeTarget) -> dict[str, Any]:
    ctx = kube.ctx
    name, namespace = routing.RUNNER_FAILED, kube.namespace
    told = routing.runner_audience(ctx.system)
    window = f"{RUNNER_FAILURE_WINDOW_SECONDS // 60}m"
    return {"alert": name,
            "expr": failed_cronjob_jobs(namespace, RUNNER_CRONJOB, RUNNER_FAILURE_WINDOW_SECONDS),
            "labels": _rule_labels(kube, name, "critical"),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: the rollout runner fails: rollouts "
                                       "neither advance nor roll back",
                            "description": f"Jobs of CronJob {RUNNER_CRONJOB} in namespace {namespace} created in the "
                                           f"last {window} failed. While the runner fails, "
                                           "every canary and blue/green rollout stays at its step (a new version "
                                           "with part of the traffic stays there) and a rollback it should make, or "
                                           "its notice, does not happen. The failed Jobs' pod logs say why (a Role "
                                           "not applied, Prometheus not reachable); mlops-infra rollout shows the "
                                           f"rollouts. {_told(told, '')}",
                            "mlops_notify": ",".join(told)}}


def _unobserved_rule(kube: KubeTarget) -> dict[str, Any]:
    ctx = kube.ctx
    name = routing.NOTIFY_FAILURES_UNOBSERVED
    told = [c.name for c in ctx.system.channels]
    return {"alert": name, "expr": f"absent({ATTEMPTED_NOTIFICATIONS})", "for": UNOBSERVED_FOR,
            "labels": _rule_labels(kube, name, "warning"),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: Prometheus sees no Alertmanager "
                                       "notification metrics: a channel that cannot deliver goes unnoticed",
                            "description": f"No {ATTEMPTED_NOTIFICATIONS} series for {UNOBSERVED_FOR}. Prometheus must "
                                           "scrape the Alertmanager (kube-prometheus: ServiceMonitor alertmanager), "
                                           "and with enforcedNamespaceLabel set this rule must be excluded "
                                           f"(prometheusRulesExcludedFromEnforce: PrometheusRule {NOTIFY_FAILURES_RULE} "
                                           f"in namespace {kube.namespace}).",
                            "mlops_notify": ",".join(told)}}


def notify_failure_rules(kube: KubeTarget) -> list[dict[str, Any]]:
    """The environment's notify-failure alerting rules (empty without channels).

    Alertmanager counts, per integration, each notification it gave up on in
    ``alertmanager_notifications_failed_total`` ("The total number of failed notifications") next to
    ``alertmanager_notifications_total`` (attempted) and, per attempt, ``alertmanager_notification_requests_total``
    / ``..._failed_total`` (alertmanager ``notify/notify.go`` ``NewMetrics``, ``notify/metrics.go`` on main).
    ``RetryStage.Exec`` increments the failed counter once when its ``exec`` returns an error: a
    non-retryable answer (a 4xx: ``notify/util.go`` ``Retrier.Check``, only 2xx succeeds, 5xx is retried)
    or retries until the flush's context ends (``dispatch/dispatch.go``: ``context.WithTimeout(...,
    ag.timeout(ag.opts.GroupInterval))``, at least ``notify.MinTimeout`` 10 s, ``cmd/alertmanager/main.go``
    ``timeoutFunc``). A failed attempt that a retry repairs is no lost alert, so the rules read the
    notifications counter, not the requests one. Labels by version:

    - 0.25 (Debian's, used by the tests here): ``integration`` only, every integration pre-set to 0;
    - 0.26: ``reason`` added to the failed counter only (PR #3094, commit 7923bc5), pre-set per reason;
    - 0.27: ``receiver_name`` added to all of them, but only with ``--enable-feature=receiver-name-in-metrics``
      (PR #3045, commit cfe4411, ``featurecontrol.FeatureReceiverNameInMetrics``; still a flag on main),
      pre-set to 0 for each configured receiver (``Metrics.InitializeFor``). prometheus-operator names
      an AlertmanagerConfig's receiver ``<namespace>/<object>/<receiver>`` (:func:`routing.receiver_name`).

    So each channel gets ``notify_failed_<channel>`` over its own receiver's series (it names the
    channel), and each integration the system's channels use gets ``notify_failed_<kind>_receivers``
    over the series without ``receiver_name`` (``receiver_name=""`` matches a series lacking the
    label: Prometheus "Querying basics", "Label matchers"): it fires on an Alertmanager without the
    label, per integration, and says it cannot tell which channel (or system) fails; with the label
    it never fires, so one failure raises one of the two, never both. Both are ``critical`` (the AWS
    forwarder's Errors alarm is too) and fire from the first lost notification for :data:`FAILURE_WINDOW`.
    A channel's alert goes to the other channels (:func:`routing.failure_audience`; a system with one
    channel has nobody to tell, docs/compile-kubernetes.md); an integration's to the channels of other
    kinds (:func:`routing.integration_audience`). ``notify_failures_unobserved`` (``warning``) fires when
    Prometheus has had no ``alertmanager_notifications_total`` series for :data:`UNOBSERVED_FOR`: the
    Alertmanager is not scraped (kube-prometheus scrapes it: ServiceMonitor ``alertmanager``), or
    ``enforcedNamespaceLabel`` adds ``namespace="<this namespace>"`` to every selector of the rule
    (prometheus-operator ``PrometheusSpec.EnforcedNamespaceLabel``), which the Alertmanager's series,
    scraped in its own namespace, never match; without it the rules above would silently never fire.
    Labels as an alert's (``mlops_system``, ``mlops_environment``, ``namespace``, ``severity``), so the
    channels' routes deliver them; no ``keep_firing_for`` (the counters are scraped, not pushed).

    Retrain triggers (audit notify-1): each training job with ``on_alerts`` has a webhook receiver
    ``<ns>/retrain-<job>/retrain-<job>`` (:func:`routing.retrain_route`) whose failures nobody heard: it
    is no channel, and ``webhook`` had an integration rule only with a webhook channel. It gets
    ``notify_failed_retrain_<job>`` (as a channel's, over its receiver; :data:`RETRAIN_FAILURE_SEVERITY`)
    told to :func:`routing.retrain_audience`, and the system gets ``notify_failed_webhook_receivers``
    whenever it has one (:func:`routing.failure_kinds`), its description naming the retrain triggers.

    The rollout runner (when an endpoint's rollout is driven, :func:`routing.runner_audience`):
    ``rollout_runner_failed`` (``critical``, as the AWS runner's alarm) counts the Jobs of CronJob
    :data:`RUNNER_CRONJOB` that failed and were created within :data:`RUNNER_FAILURE_WINDOW_SECONDS`.
    kube-state-metrics exposes ``kube_job_owner{owner_kind, owner_name}``, ``kube_job_failed{condition}``
    (a series per condition status, 1 for the status of the Job's ``Failed`` condition) and
    ``kube_job_created`` (kubernetes/kube-state-metrics ``docs/metrics/workload/job-metrics.md``, all
    STABLE; ``internal/store/job.go``); the CronJob controller names its Jobs ``<cronjob>-<minute>`` and
    makes the CronJob their controlling owner (kubernetes ``pkg/controller/cronjob/utils.go``
    ``getJobFromTemplate2``). Without kube-state-metrics the rule cannot fire (as ``monitor_silent_*``).
    """
    system = kube.ctx.system
    if not system.channels:
        return []
    routes = {route.address: route for route in routing.routes_of(kube.ctx)}
    rules = [_channel_failure_rule(kube, c, routes[f"channels.{c.name}"]) for c in system.channels]
    rules += [_retrain_failure_rule(kube, j, routes[f"training_jobs.{j.name}"]) for j in routing.retrain_jobs(system)]
    rules += [_integration_failure_rule(kube, kind) for kind in routing.failure_kinds(system)]
    rules += [_runner_failure_rule(kube)] if routing.runner_audience(system) else []
    return [*rules, _unobserved_rule(kube)]


def retrain_failures_rule_name(job: str) -> str:
    """The PrometheusRule of training job ``job``'s ``notify_failed_retrain_<job>``: one per job, so that
    :data:`NOTIFY_FAILURES_RULE` does not grow with the number of jobs (prometheus-operator refuses a
    PrometheusRule over 512 KiB, tests/compile/test_scale_limits.py ``rule-file``), cut and hashed to a
    63-character DNS-1123 label like every per-item object (:func:`~mlops_infra.compile.kubernetes.names.item`:
    a 63-character job name made a 94-character name, tests/cli/test_redteam_names.py M3)."""
    return names.item(f"{NOTIFY_FAILURES_RULE}-retrain", job)


def compile_notify_failures(kube: KubeTarget) -> str:
    """PrometheusRule :data:`NOTIFY_FAILURES_RULE` of :func:`notify_failure_rules`, under the platform, but the
    retrain triggers' rules: each in its own PrometheusRule (:func:`retrain_failures_rule_name`)."""
    retrain = {routing.retrain_failure_alert(j.name): j.name for j in routing.retrain_jobs(kube.ctx.system)}
    rules = notify_failure_rules(kube)
    for rule in (r for r in rules if r["alert"] in retrain):
        name = retrain_failures_rule_name(retrain[rule["alert"]])
        obj = kube.obj(PROMETHEUS_RULE, "PrometheusRule", name, "platform", {"spec": {"groups": [
            {"name": name, "rules": [rule]}]}})
        kube.add(obj, parent=kube.platform, address="platform", role="retrain-failure-rule")
    spec = {"groups": [{"name": NOTIFY_FAILURES_RULE, "rules": [r for r in rules if r["alert"] not in retrain]}]}
    obj = kube.obj(PROMETHEUS_RULE, "PrometheusRule", NOTIFY_FAILURES_RULE, "platform", {"spec": spec})
    return kube.add(obj, parent=kube.platform, address="platform", role="notify-failure-rule")


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


NOTICE_LABELS = ("version", "serving_version", "share", "cause", "detail")
"""The labels of the runner's pushed notice: its facts (``rollout/scheduled.py`` ``NOTICE_FACTS``), which
the rollback alert keeps (``max by``) so that its annotations can say them."""


def rollback_gates(kube: KubeTarget) -> dict[str, dict[str, Any]]:
    """What the runner needs to write a fired ``rollback_on`` alert's value in the unit of its
    threshold (``rollout/scheduled.py`` ``notice_facts``): per alert of the announced endpoints, the
    threshold as written, the comparison and ``scale`` x the alert's value = that unit. The value of
    an alert is its expression's (Prometheus ``GET /api/v1/alerts``, ``value``), here the worst
    revision's recorded monitor value (``monitoring.unhealthy_expr``): seconds for a time threshold,
    the fraction for a percentage (``monitoring.threshold_value``):
    :func:`~mlops_infra.spec.alerting.rollback_gate_units`, the rule both targets share."""
    endpoints = [endpoint for endpoint, _ in routing.announced_endpoints(kube.ctx.system)]
    gates = dict(rollback_gate_units(kube.ctx.system, endpoints, 1.0))  # recorded latency is in seconds
    return dict(sorted(gates.items()))


ROLLBACK_UNTOLD = ("The rollout controller rolled a new version back on its own (a rollback_on alert fired, or could "
                   "not be read for the gate timeout). Which alert, value, step and share: the rollout runner's log "
                   "(CronJob mlops-rollout-runner) or `mlops-infra rollout`.")
"""The description of a notice pushed without facts (by a runner compiled before they were pushed)."""


ROUTE_BLOCKED_CAUSE = "traffic_not_in_effect"
"""The notice cause of a rollback through a Knative route that cannot be programmed (``rollout/reconcile.py``
rule 8): its description does not say the previous version serves all traffic (:func:`rollback_annotations`)."""


def rollback_annotations(kube: KubeTarget, endpoint, facts: dict[str, str] | None = None) -> dict[str, str]:
    """The rollback alert's ``summary`` and ``description``: Go templates over the alert's labels
    (``{{ $labels.<fact> }}``, :data:`NOTICE_LABELS`; with no ``cause`` label the text of a notice
    without facts); given ``facts`` (the labels of one notice), what Prometheus expands them to, for
    the rule tests (``rule_tests.py``).

    Cause :data:`ROUTE_BLOCKED_CAUSE` (closing-41a-4): the rollback was written because Knative's route
    could not program the step, and it cannot program the rollback either: knative/serving
    ``pkg/reconciler/route/route.go`` ``configureTraffic`` (l.468-480) marks a bad traffic target and
    returns ("Traffic targets aren't ready, no need to configure Route"), so the Ingress keeps the last
    split it was given and the rolled-back version keeps its share of it. The description says so
    instead of "version N serves all traffic" (Go ``text/template`` ``eq``, which Prometheus alert
    templates run)."""
    head = f"{kube.ctx.system.metadata.name}/{kube.ctx.env}: the rollout of endpoint {endpoint.name} was rolled back"

    def told(label: dict[str, str] | None) -> tuple[str, str]:
        fact = (lambda k: label.get(k, "")) if label is not None else (lambda k: "{{ $labels." + k + " }}")
        rolled = f"Version {fact('version')} of endpoint {endpoint.name} was rolled back at {fact('share')} of traffic"
        cause = f" Cause: {fact('cause')}: {fact('detail')}."
        done = f"{rolled}; version {fact('serving_version')} serves all traffic.{cause}"
        blocked = (f"{rolled}, but the rollback is not in effect: Knative's route cannot be programmed and keeps "
                   f"the last split it applied (version {fact('version')} keeps its share of it) until what the "
                   f"route's reason names is fixed; only then does version {fact('serving_version')} serve all "
                   f"traffic.{cause}")
        if label is not None:
            return (f": version {fact('version')} at {fact('share')} ({fact('detail')})",
                    blocked if label.get("cause") == ROUTE_BLOCKED_CAUSE else done)
        return (f": version {fact('version')} at {fact('share')} ({fact('detail')})",
                '{{ if eq $labels.cause "' + ROUTE_BLOCKED_CAUSE + '" }}' + blocked + "{{ else }}" + done + "{{ end }}")
    if facts is not None:
        said = told(facts) if facts.get("cause") else ("", ROLLBACK_UNTOLD)
        return {"description": said[1], "summary": head + said[0]}
    summary, description = told(None)
    return {"description": "{{ if $labels.cause }}" + description + "{{ else }}" + ROLLBACK_UNTOLD + "{{ end }}",
            "summary": head + "{{ if $labels.cause }}" + summary + "{{ end }}"}


def rollback_rule(kube: KubeTarget, endpoint, channels: list[str]) -> dict[str, Any]:
    """The endpoint's rollback alert (module contract). It keeps the pushed notice's facts
    (:data:`NOTICE_LABELS`) as labels and writes them in its annotations (:func:`rollback_annotations`;
    ``$labels``: Prometheus "Alerting rules", "Templating"), so the on-call reads which versions,
    share and cause in the notification itself. One notice is one series: a repeated notice of the
    same rollback pushes the same facts (the alert goes on firing: one notification); the next
    rollback's push replaces the group (Pushgateway ``PUT``), its series is new and so is its alert;
    the replaced series' alert goes on firing for ``keep_firing_for`` (Prometheus "Alerting rules":
    it keeps firing after its condition stops being met), so for up to 10 minutes both notices fire
    (closing audit closing-c-3, cosmetic: the hold through a Pushgateway restart is worth more)."""
    ctx = kube.ctx
    series = pushed_selector(kube, {**rollback_push_group(kube), "endpoint": endpoint.name})  # this namespace's
    severity = rollback_severity(ctx.system, endpoint)
    name = routing.rollback_alert(endpoint.name)
    met = ROLLBACK_WINDOW_SECONDS - KEEP_FIRING_SECONDS  # then kept firing: the window in all
    return {"alert": name,
            "expr": f"time() - max by ({', '.join(NOTICE_LABELS)}) ({ROLLED_BACK_METRIC}{{{series}}}) < {met}",
            "keep_firing_for": KEEP_FIRING_FOR,
            "labels": {"mlops_alert": name, "mlops_endpoint": endpoint.name, "mlops_environment": ctx.env,
                       "mlops_system": ctx.system.metadata.name, "namespace": kube.namespace, "severity": severity},
            "annotations": {**rollback_annotations(kube, endpoint), "mlops_notify": ",".join(channels)}}


def compile_rollback_rule(kube: KubeTarget, endpoint, channels: list[str]) -> str:
    """The endpoint's rollback alert (see the module contract), under the endpoint's component."""
    address = f"endpoints.{endpoint.name}"
    name = names.item("rolled-back", endpoint.name)
    spec = {"groups": [{"name": name, "rules": [rollback_rule(kube, endpoint, channels)]}]}
    parent = kube.ctx.builder.urn_for(COMPONENT_TYPES["endpoints"], endpoint.name, None)
    return kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", name, address, {"spec": spec}),
                    parent=parent, address=address, role="rollback-alert-rule")


TRAINING_JOB_LABEL = "mlops-infra/training-job"
"""The label of a training job's runs and launcher Jobs (``training.JOB_LABEL``, which imports this module)."""
TRAINING_FAILURE_SEVERITY = "warning"
"""Severity of ``training_failed_<job>``: a failed run is work for the day, not a page (the AWS rule's
message says the same, ``compile/aws/training_failures.py``)."""
LAUNCHER_DEADLINE_SECONDS = 600
"""``activeDeadlineSeconds`` of a launcher Job (``training.launcher_cronjob``, which imports this module)."""
TRAINING_FAILURE_WINDOW_SECONDS = 900
"""How long ``training_failed_<job>`` fires after a run failed (its ``Failed`` condition's
``lastTransitionTime``): long enough to be evaluated and routed, short enough that one failure is one
notification; the run stays listed, so without a window one failure would fire until it is deleted."""
LAUNCH_FAILURE_WINDOW_SECONDS = LAUNCHER_DEADLINE_SECONDS + TRAINING_FAILURE_WINDOW_SECONDS
"""How recent (``kube_job_created``) a failed launcher Job must be to count: it fails at the latest at its
deadline, and then fires for :data:`TRAINING_FAILURE_WINDOW_SECONDS` (the CronJob keeps 3 failed Jobs)."""
RUN_STATE_PREFIX = "mlops_pytorchjob"
RUN_CONDITION_METRIC = f"{RUN_STATE_PREFIX}_condition_time"
"""The series kube-state-metrics exposes for each condition of each PyTorchJob, given
:data:`RUN_STATE_METRICS` (its value: the condition's ``lastTransitionTime``, Unix seconds)."""
RUN_STATE_METRICS = {
    "kind": "CustomResourceStateMetrics",
    "spec": {"resources": [{
        "groupVersionKind": {"group": "kubeflow.org", "kind": "PyTorchJob", "version": "v1"},
        "metricNamePrefix": RUN_STATE_PREFIX,
        "labelsFromPath": {"name": ["metadata", "name"], "namespace": ["metadata", "namespace"],
                           "training_job": ["metadata", "labels", "mlops-infra/training-job"]},
        "metrics": [{"name": "condition_time",
                     "help": "lastTransitionTime of each condition of a PyTorchJob (mlops-infra training runs)",
                     "each": {"type": "Gauge", "gauge": {"path": ["status", "conditions"],
                                                         "labelsFromPath": {"status": ["status"], "type": ["type"]},
                                                         "valueFrom": ["lastTransitionTime"]}}}]}]},
}
"""kube-state-metrics' custom-resource-state configuration (``--custom-resource-state-config``) that makes
a training run's conditions observable (docs/compile-kubernetes.md gives it as YAML; see
:func:`training_failure_rule`)."""


def training_failure_rule(kube: KubeTarget, job, told: list[str]) -> dict[str, Any]:
    """Training job ``job``'s ``training_failed_<job>`` (``warning``), told to ``told``
    (:func:`routing.training_audience`). It fires when either part of a run failed:

    - **the launcher**: a Job of the job's CronJob ``train-<job>`` (scheduled, or ``kubectl create job
      --from=cronjob/...``, whose Job kubectl gives an owner reference to the CronJob, not as controller:
      kubernetes/kubectl ``pkg/cmd/create/create_job.go`` ``createJobFromCronJob``; ``kube_job_owner`` has a
      series per owner reference, so the rule does not filter on ``owner_is_controller``) failed and was created in the last
      :data:`LAUNCH_FAILURE_WINDOW_SECONDS`: no run started (the API server refused it, the template's
      name is taken; ``scripts/launcher.py`` exits 1). kube-state-metrics' Job series, as for the rollout
      runner (:func:`failed_cronjob_jobs`).
    - **the run**: a PyTorchJob labelled ``mlops-infra/training-job=<job>`` (every run the launcher or the
      retrain trigger creates) got condition ``Failed`` = ``True`` in the last
      :data:`TRAINING_FAILURE_WINDOW_SECONDS`. The training-operator sets it when the backoff limit is
      reached or ``activeDeadlineSeconds`` passed (kubeflow/training-operator v1.9.0
      ``pkg/controller.v1/common/job.go`` ``ReconcileJobs``: ``UpdateJobConditions(..., JobFailed, ...)``;
      ``commonutil.UpdateJobConditions`` stamps ``lastTransitionTime``) or a replica with restart policy
      ``Never`` failed (``pytorchjob_controller.go`` ``UpdateJobStatus``). Its own counter
      ``training_operator_jobs_failed_total{job_namespace, framework}`` (``pkg/common/metrics.go``) cannot
      be used: it has no job label and ``ReconcileJobs`` does not increment it, so a run of ours (restart
      policy ``OnFailure``) failing past its backoff limit never counts. kube-state-metrics exposes no
      PyTorchJob by itself, only what its custom-resource-state configuration describes
      (kubernetes/kube-state-metrics ``docs/metrics/extend/customresourcestate-metrics.md``: a Gauge over
      ``[status, conditions]`` with ``labelsFromPath`` and ``valueFrom``, RFC3339 times parsed to Unix
      seconds, ``pkg/customresourcestate/registry_factory.go``; the name is ``<metricNamePrefix>_<name>``,
      ``fullName``): :data:`RUN_STATE_METRICS`, which the platform team adds (docs/compile-kubernetes.md).
      Without it this part never fires, and the launcher part still does.

    One expression, ``or``-ed, ``by (namespace)``: one alert per job (its labels name it). No ``for``:
    a failure is a fact, not a level that may recover."""
    ctx, namespace = kube.ctx, kube.namespace
    name = routing.training_failure_alert(job.name)
    cronjob = names.cronjob("train", job.name)
    run = (f'{RUN_CONDITION_METRIC}{{namespace="{namespace}", training_job="{job.name}", type="Failed", '
           f'status="True"}}')
    window = f"{TRAINING_FAILURE_WINDOW_SECONDS // 60}m"
    return {"alert": name,
            "expr": f"({failed_cronjob_jobs(namespace, cronjob, LAUNCH_FAILURE_WINDOW_SECONDS)}) or "
                    f"(count by (namespace) (time() - {run} < {TRAINING_FAILURE_WINDOW_SECONDS}) > 0)",
            "labels": _rule_labels(kube, name, TRAINING_FAILURE_SEVERITY, mlops_training_job=job.name),
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: a run of training job {job.name} "
                                       "failed: no new model version from it",
                            "description": f"In namespace {namespace}, a training run (PyTorchJob labelled "
                                           f"{TRAINING_JOB_LABEL}={job.name}) failed in the last {window}, or a "
                                           f"launcher Job of CronJob {cronjob} failed to start one. See kubectl get "
                                           f"pytorchjobs,jobs -l {TRAINING_JOB_LABEL}={job.name} and the failed "
                                           f"pods' logs. {_told(told, '')}",
                            "mlops_notify": ",".join(told)}}


def training_failure_rule_name(job: str) -> str:
    """The PrometheusRule of ``training_failed_<job>``: one per job, cut and hashed to a 63-character label
    (:func:`~mlops_infra.compile.kubernetes.names.item`)."""
    return names.item("training-failed", job)


def compile_training_failure_rule(kube: KubeTarget, job, parent: str) -> str | None:
    """The job's ``training_failed_<job>`` in PrometheusRule :func:`training_failure_rule_name`, under the job's
    component; none when nobody would be told (``validate`` warns for a scheduled job:
    ``spec/training_failures.py``)."""
    told = routing.training_audience(kube.ctx.system, job)
    if not told:
        return None
    name, address = training_failure_rule_name(job.name), f"training_jobs.{job.name}"
    spec = {"groups": [{"name": name, "rules": [training_failure_rule(kube, job, told)]}]}
    return kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", name, address, {"spec": spec}),
                    parent=parent, address=address, role="training-failure-rule")
