"""Alerts and the channels they notify."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from pydantic import Field

from mlops_infra.spec.base import Name, SecretRef, SpecModel, empty_list
from mlops_infra.spec.monitoring import LOWER_IS_WORSE
from mlops_infra.spec.patterns import WHITESPACE
from mlops_infra.spec.quantities import DurationField, parse_quantity


class Alert(SpecModel):
    """Fires when a monitor stays unhealthy for a while; notifies channels."""

    name: Name = Field(description="Unique name of the alert.")
    monitor: Name = Field(description="Monitor watched.")
    for_: DurationField = Field(alias="for", examples=["5m", "15m", "1h"], description="How long the monitor must be unhealthy (5m).")
    severity: Literal["info", "warning", "critical"] = Field(description="info, warning or critical.")
    notify: list[Name] = Field(default_factory=empty_list, description="Channels notified.")


SEVERITIES = ("info", "warning", "critical")
"""The values of :attr:`Alert.severity`, least to most severe."""


def notified_channels(system: Any, alert_names: Iterable[str]) -> list[str]:
    """The channels the named alerts notify, each once, in the order of the alerts and then of their
    ``notify`` lists; alerts and channels the system does not declare are skipped (spec checks
    report them)."""
    known = {c.name for c in system.channels}
    out: list[str] = []
    for name in alert_names:
        alert = system.item("alerts", name)
        for channel in alert.notify if alert is not None else ():
            if channel in known and channel not in out:
                out.append(channel)
    return out


def rollback_channels(system: Any, endpoint: Any) -> list[str]:
    """Who is told when the controller rolls ``endpoint``'s rollout back on its own, on both targets:
    the channels that the endpoint's ``rollout.rollback_on`` alerts notify, sorted. A rollback is an
    alert, so it reaches whoever the alerts that caused it reach."""
    return sorted(notified_channels(system, endpoint.rollout.rollback_on))


ROLLBACK_NOTICE_SECONDS = 900
"""How long a rollback notice stays raised, on both targets: the AWS rollback alarm holds ALARM this
long after the runner's datapoint (``compile/aws/alerting.py`` ``ROLLBACK_HOLD_SECONDS``), the
Kubernetes rollback alert fires this long after the pushed notice (``compile/kubernetes/alerting.py``
``ROLLBACK_WINDOW_SECONDS``). 15 minutes covers a few rule evaluations and Alertmanager's
``group_wait`` (so the notice is sent) and a restart of Prometheus, leaves time to read the page, and
then resolves (PagerDuty gets its resolve) instead of paging for a rollback that is over."""


def rollback_gate_units(system: Any, endpoints: Iterable[Any], value_seconds: float) -> Iterator[tuple[str, dict]]:
    """What the rollout runner needs to write a fired gate's value in the unit of its alert's threshold
    (``rollout/scheduled.py`` ``notice_facts``), the same on both targets: per ``rollback_on`` alert of
    ``endpoints`` whose monitor exists, ``(alert name, {"compare", "scale", "threshold", "unit"})``: the
    comparison, ``scale`` x the gate's value = the value in that unit, the threshold as written and its
    unit. ``value_seconds`` is what one unit of a gate's value is, in seconds, for a time threshold
    (SageMaker's ``ModelLatency`` is in microseconds: 1e-6; the Kubernetes recorded latency is in
    seconds: 1); a percentage's gate value is a fraction (scale 100), any other is as written (1)."""
    for endpoint in endpoints:
        for name in endpoint.rollout.rollback_on:
            alert = system.item("alerts", name)
            monitor = system.item("monitors", alert.monitor) if alert is not None else None
            if monitor is None:
                continue
            threshold = monitor.threshold
            scale = value_seconds / parse_quantity(f"1{threshold.unit}").seconds if threshold.is_time else (
                100.0 if threshold.is_percent else 1.0)
            yield name, {"compare": "<" if monitor.metric in LOWER_IS_WORSE else ">", "scale": scale,
                         "threshold": threshold.text, "unit": threshold.unit}


def rollback_severity(system: Any, endpoint: Any) -> str:
    """The severity of ``endpoint``'s rollback notice, on both targets: the highest of its
    ``rollback_on`` alerts' (``critical`` when it names none the system declares)."""
    alerts = [a for a in (system.item("alerts", n) for n in endpoint.rollout.rollback_on) if a is not None]
    return max((a.severity for a in alerts), key=SEVERITIES.index, default="critical")


SLACK_CHANNEL_CHARACTERS = (r"A-Za-z0-9_.\-"
                            r"\u00A1-\u00AC\u00AE-\u061B\u061D-\u167F\u1681-\u180D\u180F-\u1FFF"
                            r"\u2010-\u2027\u2030-\u205E\u2070-\u2FFF\u3001-\uD7FF\uE000-\uFEFE\uFF00-\uFFFF")
r"""What a Slack channel name or user name may hold, spelled out so that it means the same in every
regex engine that reads it: ASCII letters, digits, ``_``, ``.``, ``-``, and the letters of other
scripts (a channel may be named in Japanese), as explicit ranges of the Basic Multilingual Plane.

Left out on purpose: every other ASCII character (space, quotes, braces, ``$``, ``#``, ``@``...),
the C1 controls and every Unicode space, soft hyphen, zero-width and bidirectional-control
character (U+00A0, U+00AD, U+061C, U+1680, U+180E, U+2000-U+200F, U+2028-U+202F, U+205F-U+206F,
U+3000, U+FEFF: invisible in a review), the surrogates (U+D800-U+DFFF) and everything past U+FFFF
(emoji), so that an ECMA-262 engine with or without the ``u`` flag (without it, such a character is
two surrogates) and Python (one code point) refuse the same strings and count the same length.

Why not ``\w``: JSON Schema patterns are ECMA-262 regular expressions (JSON Schema 2020-12 Core,
section 6.4 "Regular Expressions", and Validation, section 6.3.3 "pattern"), where ``\w`` is
``[A-Za-z0-9_]`` with or without the ``u`` flag; in Python's ``re`` and pydantic's Rust ``regex`` it
is Unicode. With ``\w`` an editor refused ``#données``, which ``validate`` accepted; and pydantic
compiled Unicode ``\w{1,80}`` into a large automaton at every start of the CLI."""

SLACK_CHANNEL_PATTERN = rf"^[#@]?[{SLACK_CHANNEL_CHARACTERS}]{{1,80}}$"
"""A Slack channel as an incoming webhook's ``channel`` takes it: ``#name``, ``@user`` or an ID. Slack
channel names are at most 80 lowercase letters, digits, ``-`` and ``_``
(https://api.slack.com/methods/conversations.create, "Naming"); user names may hold ``.``. No
space, quote, brace or ``$``: the value also reaches Alertmanager's ``channel``, a template
(compile/kubernetes/routing.py escapes it anyway)."""


class SlackChannel(SpecModel):
    """Slack through an incoming webhook."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["slack"] = Field(description="slack")
    webhook_url: SecretRef = Field(description="Incoming-webhook URL, as a secret reference.")
    channel: str | None = Field(default=None, pattern=SLACK_CHANNEL_PATTERN,
                                description="Slack channel, e.g. #ml-oncall (or @user, or a channel ID). Honoured only by legacy "
                                            "custom-integration webhooks: a Slack app's incoming webhook always posts "
                                            "to the channel it was created for.")


class EmailChannel(SpecModel):
    """Email to an address or list."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["email"] = Field(description="email")
    address: str = Field(pattern=rf"^[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}]+$",
                         description="Recipient address.")


def _any_case(text: str) -> str:
    """``text`` as an ECMA-262 pattern matching it in any ASCII case, without flags (a JSON Schema
    ``pattern`` has none): ``a.B`` -> ``[aA]\\.[bB]``."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\." if c == "." else c for c in text)


TOKEN_WEBHOOK_URL = "|".join((
    _any_case("hooks.slack.com/") + "(?:" + "|".join(map(_any_case, ("workflows", "triggers", "services")))
    + ")/[A-Za-z0-9_/-]{8,}",
    _any_case("discord") + "(?:" + _any_case("app") + ")?" + _any_case(".com/api/webhooks/")
    + "[0-9]+/[A-Za-z0-9_-]{10,}",
    _any_case(".webhook.office.com/webhookb2/") + "[A-Za-z0-9_@/-]{10,}",
))
"""Webhook URLs that carry their token in the path, which ``validate``'s secret scan refuses as plaintext
(:mod:`mlops_infra.secrets.rules`, the rules "a Slack webhook URL" and "a Discord or Teams webhook URL"):
the same patterns with their ``(?i)`` spelled as ``[aA]`` classes and their digit and word escapes as
ASCII classes, so each matches a subset of what the scan matches and the schema never refuses a URL
``validate`` accepts (tests/spec/test_schema.py runs both, and Node's RegExp). Published as the ``not``
of the plain-URL branch of a webhook ``url`` (audit schemas-2: the editor took them without a word).
Other token shapes in a URL (``sk_live_...``, ``ghp_...``) are left to ``validate`` (docs/spec.md)."""


class WebhookChannel(SpecModel):
    """An HTTPS webhook; the URL may itself be a secret."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["webhook"] = Field(description="webhook")
    url: SecretRef | Annotated[str, Field(pattern=rf"^https://[^{WHITESPACE}@?]+$",
                                          json_schema_extra={"not": {"pattern": TOKEN_WEBHOOK_URL}})] = Field(
        description="https:// URL without credentials or query, or a secret reference when it holds a token "
                    "(a Slack, Discord or Teams webhook URL always does: {secret: name})."
    )
    token: SecretRef | None = Field(default=None, description="Bearer token, as a secret reference.")


class PagerDutyChannel(SpecModel):
    """PagerDuty Events API v2."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["pagerduty"] = Field(description="pagerduty")
    routing_key: SecretRef = Field(description="Events API v2 integration (routing) key, as a secret reference.")


Channel = Annotated[
    SlackChannel | EmailChannel | WebhookChannel | PagerDutyChannel, Field(discriminator="kind")
]
CHANNEL_KINDS = ("slack", "email", "webhook", "pagerduty")
