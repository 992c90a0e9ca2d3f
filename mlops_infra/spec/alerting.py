"""Alerts and the channels they notify."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlops_infra.spec.base import Name, SecretRef, SpecModel
from mlops_infra.spec.quantities import DurationField


class Alert(SpecModel):
    """Fires when a monitor stays unhealthy for a while; notifies channels."""

    name: Name = Field(description="Unique name of the alert.")
    monitor: Name = Field(description="Monitor watched.")
    for_: DurationField = Field(alias="for", description="How long the monitor must be unhealthy (5m).")
    severity: Literal["info", "warning", "critical"] = Field(description="info, warning or critical.")
    notify: list[Name] = Field(default_factory=list, description="Channels notified.")


SLACK_CHANNEL_PATTERN = r"^[#@]?[\w.-]{1,80}$"
r"""A Slack channel as an incoming webhook's ``channel`` takes it: ``#name``, ``@user`` or an ID. Slack
channel names are at most 80 lowercase letters, digits, ``-`` and ``_``
(https://api.slack.com/methods/conversations.create, "Naming"; ``\w`` is Unicode, as Slack names
may be); user names may hold ``.``. No space, quote, brace or ``$``: the value also reaches
Alertmanager's ``channel``, a template (compile/kubernetes/routing.py escapes it anyway)."""


class SlackChannel(SpecModel):
    """Slack through an incoming webhook."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["slack"] = Field(description="slack")
    webhook_url: SecretRef = Field(description="Incoming-webhook URL, as a secret reference.")
    channel: str | None = Field(default=None, pattern=SLACK_CHANNEL_PATTERN,
                                description="Slack channel, e.g. #ml-oncall (or @user, or a channel ID).")


class EmailChannel(SpecModel):
    """Email to an address or list."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["email"] = Field(description="email")
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Recipient address.")


class WebhookChannel(SpecModel):
    """An HTTPS webhook; the URL may itself be a secret."""

    name: Name = Field(description="Unique name of the channel.")
    kind: Literal["webhook"] = Field(description="webhook")
    url: SecretRef | Annotated[str, Field(pattern=r"^https://[^\s@?]+$")] = Field(
        description="https:// URL without credentials or query, or a secret reference when it holds a token."
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
