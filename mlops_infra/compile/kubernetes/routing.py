"""Alert routing: one model of who is told about which alert, and the two files written from it.

Contract:
- :func:`system_routes` is the model: one :class:`Route` per channel that some alert notifies or
  not (a channel with no alert still gets its receiver; it also routes the rollback alert,
  :func:`rollback_alert`, of each endpoint whose staged rollout's ``rollback_on`` alerts notify it:
  :func:`announced_endpoints`, and the notify-failure alerts it is told of: :func:`failure_alerts_told`,
  every other channel's :func:`notify_failure_alert`, the :func:`retrain_failure_alert` of each training
  job whose :func:`retrain_audience` it is in, the :func:`integration_failure_alert` of each kind
  :func:`integration_audience` gives it, :data:`RUNNER_FAILED` when it is in :func:`runner_audience`, the
  :func:`training_failure_alert` of each training job whose :func:`training_audience` it is in, and
  :data:`NOTIFY_FAILURES_UNOBSERVED`; and the
  ``monitor_silent_<monitor>`` alert of each drift monitor whose audience it is in:
  ``compile/monitor_silence.py``; so every channel has a route) and one per training job with
  ``triggers.on_alerts`` (its alerts -> the platform's retrain trigger webhook). A route matches its
  alerts by name plus the system's ``mlops_system``/``mlops_environment`` labels.
- :func:`config_spec` writes a route as the ``spec`` of a prometheus-operator
  ``AlertmanagerConfig`` (``monitoring.coreos.com/v1alpha1``); the compiler emits those objects.
- :func:`alertmanager_config` writes the same routes as a plain Alertmanager configuration, the
  way prometheus-operator merges AlertmanagerConfig objects into the configuration it generates
  (prometheus-operator v0.89.0 ``pkg/alertmanager/amcfg.go``): each object's route becomes a
  first-level route whose receiver is named ``<namespace>/<object>/<receiver>``
  (``makeNamespacedString``), with ``continue: true`` forced (``continueToNextRoute``) and a
  ``namespace="<namespace>"`` matcher added (``namespaceEnforcer.processRoute``, the default
  matcher strategy ``OnNamespace``); the top route goes to a receiver that does nothing. Secret
  references are resolved by the caller (``resolve_secret``: the real value in a test, a
  placeholder for ``amtool check-config``), in-cluster URLs may be replaced (``urls``) and the
  grouping timers set (``timing``) so a test runs in seconds. Because both files come from one
  list of routes, the routing a test exercises on a real Alertmanager is the routing the cluster
  gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.compile import monitor_silence as silence
from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.kubernetes import names
from mlops_infra.graph import GraphBuilder
from mlops_infra.spec.alerting import (
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    notified_channels,
    rollback_channels,
)
from mlops_infra.spec.base import SecretRef
from mlops_infra.spec.system import MLSystem
from mlops_infra.spec.training import TrainingJob
from mlops_infra.spec.training_failures import training_failure_audience

DEFAULT_SECRET_KEY = "value"
RETRAIN_REPEAT = "24h"
"""How often Alertmanager repeats a still-firing retrain alert to the trigger. A repeat of a firing a run
already served starts nothing (launcher.py, "One run per firing"); the repeat matters only for a firing
first notified while another run was active, which it retries a day later."""
NULL_RECEIVER = "null"
SLACK_TITLE = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] ' \
              '{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})'
SLACK_TEXT = '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}'
"""Slack message: status, alert and severity as the title; each alert's summary and description
(Alertmanager's Go templates, https://prometheus.io/docs/alerting/latest/notifications/)."""
PAGERDUTY_SEVERITY = '{{ or .CommonLabels.severity "error" }}'
"""The PagerDuty event's severity: the alert's (info, warning, critical: Events API v2 values). Without
it Alertmanager sends ``error`` for every alert (``if n.conf.Severity == "" { n.conf.Severity =
"error" }``, alertmanager notify/pagerduty/pagerduty.go ``notifyV2``), so an ``info`` alert paged at the
urgency of an error on Kubernetes and at its own on AWS (compile/aws/forwarder.py). ``error`` stays the
fallback of an alert without the label."""

FOLLOW_REDIRECTS = False
"""A webhook receiver with a bearer token sets ``httpConfig.followRedirects: false`` beside its
``authorization`` (prometheus-operator v1alpha1 ``HTTPConfig.FollowRedirects``,
``pkg/apis/monitoring/v1alpha1/alertmanager_config_types.go``, in the v0.89.0 AlertmanagerConfig CRD;
``pkg/alertmanager/amcfg.go`` ``convertHTTPConfig`` copies it to ``http_config.follow_redirects``).
Alertmanager's HTTP client follows redirects by default (prometheus/common ``config/http_config.go``,
``DefaultHTTPClientConfig`` ``FollowRedirects: true``), and prometheus/common before v0.69.0
(Alertmanager <= v0.33) re-sends the bearer token to the redirect target, another host included
(commit 0d8de87, "config: strip credentials on cross-host redirects"; audit secrets-3). With ``false``
the client returns the 3xx itself (``CheckRedirect`` returns ``http.ErrUseLastResponse``), which the
notifier counts as a failed notification (alertmanager ``notify/util.go`` ``Retrier.Check``: only 2xx
succeeds), so ``alertmanager_notifications_failed_total`` says so.

Slack, PagerDuty and token-less webhook receivers set no ``httpConfig``: Alertmanager gives the global
``http_config`` (a proxy, a CA) only to a receiver without its own (alertmanager ``config/config.go``:
``if wh.HTTPConfig == nil { wh.HTTPConfig = c.Global.HTTPConfig }``, the same for Slack and PagerDuty),
and prometheus-operator writes only the fields the object sets, so setting one there would drop the
platform's proxy for them. They send no ``Authorization`` header, so a redirect carries no token, but
Go still turns a POST answered 301/302/303 into a body-less GET (net/http ``redirectBehavior``): such a
receiver gets no alert (docs/compile-kubernetes.md). A receiver with a token already has its own
``httpConfig`` (the token), so the setting costs it nothing more. The AWS forwarder refuses every
redirect (``compile/aws/forwarder.py``)."""


@dataclass(frozen=True)
class Matcher:
    """An Alertmanager label matcher (``=`` or ``=~``)."""

    name: str
    op: str
    value: str

    def text(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Receiver:
    """Where a route delivers: one Alertmanager integration.

    Fields (by ``kind``): ``slack``: ``url_secret`` (incoming-webhook URL), ``channel``; ``email``:
    ``to``; ``pagerduty``: ``routing_key``; ``webhook``: ``url`` or ``url_secret``, optional bearer
    ``token``. ``send_resolved``: whether resolved notifications are sent too. ``channel`` and ``to``
    are Alertmanager templates (:func:`template_text` of the user's text).
    """

    name: str
    kind: str
    send_resolved: bool = True
    url: str | None = None
    url_secret: SecretRef | None = None
    token: SecretRef | None = None
    routing_key: SecretRef | None = None
    to: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Route:
    """One AlertmanagerConfig object: its name, receiver and the alerts it routes."""

    config: str
    address: str
    receiver: Receiver
    alertnames: tuple[str, ...]
    matchers: tuple[Matcher, ...]
    repeat_interval: str | None = None
    group_by: tuple[str, ...] = field(default=("alertname",))


def secret_key_ref(ref: SecretRef) -> dict[str, str]:
    """A reference to key ``ref.key`` (default ``value``) of the Secret named ``ref.secret``."""
    return {"key": ref.key or DEFAULT_SECRET_KEY, "name": ref.secret}


def system_matchers(ctx: CompileContext) -> tuple[Matcher, ...]:
    """Matchers selecting this system's and environment's alerts."""
    return (Matcher("mlops_environment", "=", ctx.env), Matcher("mlops_system", "=", ctx.system.metadata.name))


TEMPLATE_OPEN = "{{"
TEMPLATE_OPEN_LITERAL = '{{ "{{" }}'


def template_text(text: str) -> str:
    """``text`` as an Alertmanager template that renders exactly ``text``.

    Slack ``channel`` and email ``to`` are ``<tmpl_string>`` fields: Alertmanager runs them through
    Go's text/template for every notification (https://prometheus.io/docs/alerting/latest/configuration/,
    ``slack_config``/``email_config``; notify/slack/slack.go ``tmplText(n.conf.Channel)``). In a Go
    template only ``{{`` starts an action (text/template/parse lex.go, ``leftDelim``); everything else is
    copied as is, so writing each ``{{`` as the action ``{{ "{{" }}`` (a string constant) keeps user text
    literal: ``#ml-{{ .Unclosed`` is sent as it is written instead of failing to render, and
    ``{{ template "__alertmanager" . }}`` is not run.
    """
    return text.replace(TEMPLATE_OPEN, TEMPLATE_OPEN_LITERAL)


def _channel_receiver(channel: SlackChannel | EmailChannel | WebhookChannel | PagerDutyChannel) -> Receiver:
    if isinstance(channel, SlackChannel):
        return Receiver(channel.name, "slack", url_secret=channel.webhook_url,
                        channel=None if channel.channel is None else template_text(channel.channel))
    if isinstance(channel, EmailChannel):
        return Receiver(channel.name, "email", to=template_text(channel.address))
    if isinstance(channel, PagerDutyChannel):
        return Receiver(channel.name, "pagerduty", routing_key=channel.routing_key)
    url = channel.url
    return Receiver(channel.name, "webhook", url=url if isinstance(url, str) else None,
                    url_secret=url if isinstance(url, SecretRef) else None, token=channel.token)


ROLLED_OUT = ("canary", "blue_green")
"""The strategies whose rollouts the rollout runner drives on Kubernetes (``serving.rollout_plan``)."""


def rollback_alert(endpoint: str) -> str:
    """The alert announcing that the runner rolled ``endpoint``'s rollout back: ``rolled_back_<endpoint>``
    (a spec name is ``a-z0-9-`` only, so no alert of the spec has this name; ``_`` means nothing in
    the ``alertname=~`` regex of a route, so it matches nothing else; and it is a valid Kubernetes
    label value, as the rule's ``mlops_alert`` label must be; ``compile/kubernetes/alerting.py``)."""
    return f"rolled_back_{endpoint}"


def announced_endpoints(system: MLSystem) -> list[tuple[Any, list[str]]]:
    """``(endpoint, channels)`` of each endpoint with a staged rollout whose rollbacks some channel is told
    (:func:`~mlops_infra.spec.alerting.rollback_channels`), in spec order."""
    out = []
    for endpoint in system.endpoints:
        if endpoint.rollout.strategy in ROLLED_OUT:
            channels = rollback_channels(system, endpoint)
            if channels:
                out.append((endpoint, channels))
    return out


NOTIFY_FAILURES_UNOBSERVED = "notify_failures_unobserved"
"""The alert saying that Prometheus sees no Alertmanager notification metrics, so the notify-failure
alerts cannot fire (``compile/kubernetes/alerting.py``, "Failed notifications")."""


def notify_failure_alert(channel: str) -> str:
    """The alert saying that Alertmanager gave up on notifications to ``channel``'s receiver:
    ``notify_failed_<channel>`` (``_`` is in no spec name, as in :func:`rollback_alert`)."""
    return f"notify_failed_{channel}"


def integration_failure_alert(kind: str) -> str:
    """The alert saying that Alertmanager gave up on notifications of integration ``kind`` (``slack``,
    ``email``, ``pagerduty``, ``webhook``: a channel's ``kind`` is Alertmanager's integration name)
    without naming the receiver: ``notify_failed_<kind>_receivers`` (a channel named ``<kind>`` has
    :func:`notify_failure_alert` ``notify_failed_<kind>``: no spec name holds ``_``)."""
    return f"notify_failed_{kind}_receivers"


def failure_audience(system: MLSystem, channel: str) -> list[str]:
    """Who hears that ``channel`` cannot deliver: the system's other channels, in spec order; never
    the failing channel itself (empty when it is the only one)."""
    return [c.name for c in system.channels if c.name != channel]


def integration_audience(system: MLSystem, kind: str) -> list[str]:
    """Who hears that some receiver of integration ``kind`` cannot deliver (which one is unknown): the
    system's channels of other kinds, in spec order; when all of its channels are of this kind, all of
    them (the failing receiver may be one of them, or another system's: each working one delivers)."""
    others = [c.name for c in system.channels if c.kind != kind]
    return others or [c.name for c in system.channels if c.kind == kind]


def retrain_failure_alert(job: str) -> str:
    """The alert saying that Alertmanager gave up on notifications to training job ``job``'s retrain
    trigger receiver (:func:`retrain_route`): ``notify_failed_retrain_<job>`` (``_`` is in no spec name,
    so no channel's :func:`notify_failure_alert` has it)."""
    return f"notify_failed_retrain_{job}"


def training_failure_alert(job: str) -> str:
    """The alert saying that a run of training job ``job`` failed, or its launcher could not start one:
    ``training_failed_<job>`` (``_`` is in no spec name, as in :func:`rollback_alert`;
    ``alerting.training_failure_rule``)."""
    return f"training_failed_{job}"


def training_audience(system: MLSystem, job: TrainingJob) -> list[str]:
    """Who hears that a run of ``job`` failed: the rule both targets share
    (:func:`~mlops_infra.spec.training_failures.training_failure_audience`: the job's ``notify``, then its
    ``on_alerts`` alerts' channels; nobody else), uncapped (an Alertmanager route has no limit)."""
    return training_failure_audience(system, job)


RUNNER_FAILED = "rollout_runner_failed"
"""The alert saying that Jobs of the rollout runner's CronJob failed (``alerting.notify_failure_rules``)."""


def retrain_jobs(system: MLSystem) -> list[TrainingJob]:
    """The training jobs with ``triggers.on_alerts``: each has a retrain route (:func:`retrain_route`)."""
    return [j for j in system.training_jobs if j.triggers.on_alerts]


def _or_every_channel(system: MLSystem, channels: list[str]) -> list[str]:
    return channels or [c.name for c in system.channels]


def retrain_audience(system: MLSystem, job: TrainingJob) -> list[str]:
    """Who hears that ``job``'s retrain trigger did not take an alert: the channels of the job's
    ``on_alerts`` alerts (who watches the drift must know the retrain did not start), else the system's
    channels; as the AWS retrain gate's failure alarm (``spec/lambda_failures.py`` ``gate_audience``,
    without its cap of 5: an Alertmanager route has no such limit)."""
    return _or_every_channel(system, notified_channels(system, job.triggers.on_alerts))


def runner_audience(system: MLSystem) -> list[str]:
    """Who hears that the rollout runner fails: the channels of the ``rollback_on`` alerts of the endpoints
    it drives (:data:`ROLLED_OUT`: a failing runner neither advances nor rolls them back), else the system's
    channels; none without such an endpoint (no runner). As the AWS runner's failure alarm
    (``spec/lambda_failures.py`` ``runner_audience``, uncapped)."""
    driven = [e for e in system.endpoints if e.rollout.strategy in ROLLED_OUT]
    if not driven:
        return []
    return _or_every_channel(system, notified_channels(system, [a for e in driven for a in e.rollout.rollback_on]))


def failure_kinds(system: MLSystem) -> list[str]:
    """The integrations whose receivers the system has: its channels' kinds, and ``webhook`` when a
    training job has a retrain trigger receiver (each gets ``integration_failure_alert``)."""
    return sorted({c.kind for c in system.channels} | ({"webhook"} if retrain_jobs(system) else set()))


def failure_alerts_told(system: MLSystem, channel: str) -> list[str]:
    """The notify-failure alerts routed to ``channel`` (see ``alerting.notify_failure_rules``)."""
    told = [notify_failure_alert(c.name) for c in system.channels if channel in failure_audience(system, c.name)]
    told += [retrain_failure_alert(j.name) for j in retrain_jobs(system) if channel in retrain_audience(system, j)]
    told += [integration_failure_alert(kind) for kind in failure_kinds(system)
             if channel in integration_audience(system, kind)]
    told += [RUNNER_FAILED] if channel in runner_audience(system) else []
    told += [training_failure_alert(j.name) for j in system.training_jobs if channel in training_audience(system, j)]
    return [*told, NOTIFY_FAILURES_UNOBSERVED]


def channel_route(ctx: CompileContext, channel: SlackChannel | EmailChannel | WebhookChannel | PagerDutyChannel) -> Route:
    alerts = tuple(sorted([a.name for a in ctx.system.alerts if channel.name in a.notify]
                          + [rollback_alert(e.name) for e, told in announced_endpoints(ctx.system) if channel.name in told]
                          + failure_alerts_told(ctx.system, channel.name)
                          + [silence.silent_alert(m) for m, told in ctx.silent_channels().items()
                             if channel.name in told]))
    return Route(names.item("channel", channel.name), f"channels.{channel.name}", _channel_receiver(channel),
                 alerts, system_matchers(ctx))


def trigger_url(ctx: CompileContext, job: TrainingJob) -> str:
    """The in-cluster URL of the retrain trigger for ``job``."""
    return names.service_url(ctx, names.RETRAIN_TRIGGER, names.TRIGGER_PORT, f"/v1/alerts/{job.name}")


TRIGGER_TOKEN = SecretRef(secret=names.TRIGGER_TOKEN_SECRET)
"""The bearer token the retrain trigger requires (finding C5, ``compile/kubernetes/ingress.py``)."""


def retrain_route(ctx: CompileContext, job: TrainingJob) -> Route:
    receiver = Receiver(names.item("retrain", job.name), "webhook", send_resolved=False, url=trigger_url(ctx, job),
                        token=TRIGGER_TOKEN)
    return Route(receiver.name, f"training_jobs.{job.name}", receiver, tuple(sorted(job.triggers.on_alerts)),
                 system_matchers(ctx), repeat_interval=RETRAIN_REPEAT)


def routes_of(ctx: CompileContext) -> list[Route]:
    """Every route of the system in ``ctx`` (channels, then retrain triggers), by object name."""
    routes = [channel_route(ctx, c) for c in ctx.system.channels]
    routes += [retrain_route(ctx, j) for j in ctx.system.training_jobs if j.triggers.on_alerts]
    return sorted(routes, key=lambda r: r.config)


def system_routes(system: MLSystem, env: str) -> list[Route]:
    """The routes of environment ``env`` of the effective ``system`` (a Kubernetes environment)."""
    ctx = CompileContext(system, env, system.environments[env], system.metadata.name, env,
                         GraphBuilder(system.metadata.name, env))
    return routes_of(ctx)


# --- writer 1: AlertmanagerConfig objects (prometheus-operator) ------------------------------------


def _receiver_spec(receiver: Receiver) -> dict[str, Any]:
    if receiver.kind == "slack":
        config: dict[str, Any] = {"apiURL": secret_key_ref(receiver.url_secret), "sendResolved": receiver.send_resolved,
                                  "text": SLACK_TEXT, "title": SLACK_TITLE}
        if receiver.channel:
            config["channel"] = receiver.channel
        return {"slackConfigs": [config]}
    if receiver.kind == "email":
        return {"emailConfigs": [{"sendResolved": receiver.send_resolved, "to": receiver.to}]}
    if receiver.kind == "pagerduty":
        return {"pagerdutyConfigs": [{"routingKey": secret_key_ref(receiver.routing_key),
                                      "sendResolved": receiver.send_resolved, "severity": PAGERDUTY_SEVERITY}]}
    webhook: dict[str, Any] = {"sendResolved": receiver.send_resolved}
    if receiver.url_secret is not None:
        webhook["urlSecret"] = secret_key_ref(receiver.url_secret)
    else:
        webhook["url"] = receiver.url
    if receiver.token is not None:
        webhook["httpConfig"] = {"authorization": {"credentials": secret_key_ref(receiver.token), "type": "Bearer"},
                                 "followRedirects": FOLLOW_REDIRECTS}
    return {"webhookConfigs": [webhook]}


def config_spec(route: Route) -> dict[str, Any]:
    """The ``spec`` of the route's AlertmanagerConfig: its receiver and (with alerts) its route."""
    spec: dict[str, Any] = {"receivers": [{"name": route.receiver.name, **_receiver_spec(route.receiver)}]}
    if route.alertnames:
        body: dict[str, Any] = {"groupBy": list(route.group_by), "matchers": [
            {"matchType": "=~", "name": "alertname", "value": "|".join(route.alertnames)},
            *({"matchType": m.op, "name": m.name, "value": m.value} for m in route.matchers)],
            "receiver": route.receiver.name}
        if route.repeat_interval:
            body["repeatInterval"] = route.repeat_interval
        spec["route"] = body
    return spec


# --- writer 2: an Alertmanager configuration (what the operator generates) -------------------------


def receiver_name(namespace: str, route: Route) -> str:
    """The name Alertmanager knows the route's receiver by once the operator merged its object:
    ``<namespace>/<object>/<receiver>`` (prometheus-operator ``pkg/alertmanager/amcfg.go``
    ``makeNamespacedString``: ``crKey.Namespace + "/" + crKey.Name + "/" + in``); Alertmanager's
    ``receiver_name`` metric label carries it (``alerting.notify_failure_rules``)."""
    return f"{namespace}/{route.config}/{route.receiver.name}"

SecretResolver = Callable[[SecretRef], str]


def placeholder_secret(ref: SecretRef) -> str:
    """A stand-in value naming the secret (for ``amtool check-config``; never a real value)."""
    return f"https://secret.invalid/{ref.secret}/{ref.key or DEFAULT_SECRET_KEY}"


def _receiver_config(receiver: Receiver, resolve: SecretResolver, urls: Mapping[str, str]) -> dict[str, Any]:
    if receiver.kind == "slack":
        config: dict[str, Any] = {"api_url": resolve(receiver.url_secret), "send_resolved": receiver.send_resolved,
                                  "title": SLACK_TITLE, "text": SLACK_TEXT}
        if receiver.channel:
            config["channel"] = receiver.channel
        return {"slack_configs": [config]}
    if receiver.kind == "email":
        return {"email_configs": [{"to": receiver.to, "send_resolved": receiver.send_resolved}]}
    if receiver.kind == "pagerduty":
        return {"pagerduty_configs": [{"routing_key": resolve(receiver.routing_key),
                                       "send_resolved": receiver.send_resolved, "severity": PAGERDUTY_SEVERITY}]}
    url = resolve(receiver.url_secret) if receiver.url_secret is not None else str(receiver.url)
    webhook: dict[str, Any] = {"url": urls.get(url, url), "send_resolved": receiver.send_resolved}
    if receiver.token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": resolve(receiver.token)},
                                  "follow_redirects": FOLLOW_REDIRECTS}
    return {"webhook_configs": [webhook]}


def alertmanager_config(routes: list[Route], namespace: str, *, resolve_secret: SecretResolver = placeholder_secret,
                        urls: Mapping[str, str] | None = None, timing: Mapping[str, str] | None = None,
                        global_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Alertmanager configuration prometheus-operator generates from the routes' objects (see
    the module contract). ``timing`` (``group_wait``, ``group_interval``, ``repeat_interval``) is set
    on the top route, which routes inherit unless they set their own; ``global_config`` is Alertmanager's
    ``global`` section (an SMTP smarthost and sender are needed when a route emails)."""
    urls, timing = urls or {}, dict(timing or {})
    receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    children: list[dict[str, Any]] = []
    for route in routes:
        name = receiver_name(namespace, route)
        receivers.append({"name": name, **_receiver_config(route.receiver, resolve_secret, urls)})
        if not route.alertnames:
            continue
        child: dict[str, Any] = {"receiver": name, "group_by": list(route.group_by), "matchers": [
            Matcher("alertname", "=~", "|".join(route.alertnames)).text(),
            *(m.text() for m in route.matchers), Matcher("namespace", "=", namespace).text()], "continue": True}
        if route.repeat_interval:
            child["repeat_interval"] = route.repeat_interval
        children.append(child)
    config: dict[str, Any] = {"route": {"receiver": NULL_RECEIVER, "group_by": ["alertname"], **timing,
                                        "routes": children}, "receivers": receivers}
    if global_config:
        config = {"global": dict(global_config), **config}
    return config
