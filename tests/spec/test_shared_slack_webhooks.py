"""Two Slack channels on one incoming webhook but with different ``channel`` values are a warning (audit observe-2).

Slack, "Sending messages using incoming webhooks": "You cannot override the default channel (chosen by the user who
installed your app) ... when you're using Incoming Webhooks"; only legacy custom-integration webhooks honoured
``channel``. So two spec channels on one webhook secret post where the webhook was created, whatever they name.
"""

from __future__ import annotations

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

TEAM = "  - name: ml-team\n    kind: email\n    address: ml-team@example.com\n"


def with_second_slack(text: str, channel: str, secret: str = "slack-oncall-webhook") -> str:
    second = f"  - name: llm-team\n    kind: slack\n    webhook_url: {{secret: {secret}}}\n    channel: \"{channel}\"\n"
    text = edit(text, "    webhook_url: {secret: slack-oncall-webhook}   # a reference to a secret, never the value\n",
                "    webhook_url: {secret: slack-oncall-webhook}   # a reference to a secret, never the value\n"
                "    channel: \"#ml-oncall\"\n")
    return edit(text, TEAM, TEAM + second)


def found(text: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml", env).diagnostics if d.code == "slack-channels-share-a-webhook"]


def test_one_webhook_two_slack_channels_is_a_warning_at_the_second_webhook_url(reference_text: str) -> None:
    text = with_second_slack(reference_text, "#llm-team")
    [diagnostic] = found(text)
    assert (diagnostic.severity, diagnostic.path, diagnostic.address) == (
        "warning", ("channels", 2, "webhook_url"), "channels.llm-team")
    assert diagnostic.location.line == line_of(text, "    webhook_url: {secret: slack-oncall-webhook}\n")
    assert diagnostic.summary == ('Slack channels "oncall" and "llm-team" use one webhook but name different '
                                  'Slack channels')
    assert "ignores `channel`" in diagnostic.detail and "one webhook per Slack channel" in diagnostic.detail
    assert len(found(text, "prod")) == 1  # in an environment too, once


def test_own_webhooks_or_the_same_channel_say_nothing(reference_text: str) -> None:
    assert found(reference_text) == []
    assert found(with_second_slack(reference_text, "#llm-team", secret="slack-llm-webhook")) == []
    assert found(with_second_slack(reference_text, "#ml-oncall")) == []
