"""The notification Lambda's behaviour, with Secrets Manager and HTTP stubbed out."""

from __future__ import annotations

import json
import sys
import types

import pytest

from mlops_infra.compile.aws import forwarder

SECRETS = {"slack-url": "https://hooks.example.test/T/B/x", "pd": json.dumps({"routing": "R0UT1NG"}),
           "slack-json": json.dumps({"value": "https://hooks.example.test/T/B/json"}),
           "hook": "https://hook.example.test/in", "tok": "s3cr3t-token"}


@pytest.fixture()
def sent(monkeypatch):
    calls: list[dict] = []

    class Client:
        def get_secret_value(self, SecretId):
            return {"SecretString": SECRETS[SecretId]}

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: Client()))

    def post(url, body, headers=None):
        calls.append({"url": url, "body": body, "headers": headers or {}})
        return 202

    monkeypatch.setattr(forwarder, "_post", post)
    for name in ("SECRET_KEY", "TOKEN_SECRET_ID", "TOKEN_SECRET_KEY", "WEBHOOK_URL", "SLACK_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    return calls


def _event(state="ALARM"):
    alarm = {"AlarmName": "sys-prod-scorer-latency", "NewStateValue": state, "NewStateReason": "p99 > 250000",
             "AlarmDescription": "mlops-infra alert scorer-latency (critical): latency_p99 above 250ms for 5m",
             "AlarmArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:sys-prod-scorer-latency"}
    return {"Records": [{"Sns": {"Message": json.dumps(alarm)}}]}


def test_slack_posts_the_alarm_to_the_webhook_read_from_the_secret(sent, monkeypatch):
    monkeypatch.setenv("CHANNEL_KIND", "slack")
    monkeypatch.setenv("SECRET_ID", "slack-url")
    monkeypatch.setenv("SLACK_CHANNEL", "#ml")
    assert forwarder.handler(_event()) == {"delivered": [202]}
    (call,) = sent
    assert call["url"] == SECRETS["slack-url"]
    assert call["body"]["channel"] == "#ml" and "[ALARM] sys-prod-scorer-latency" in call["body"]["text"]


def test_pagerduty_triggers_and_resolves_with_the_alarm_as_dedup_key(sent, monkeypatch):
    monkeypatch.setenv("CHANNEL_KIND", "pagerduty")
    monkeypatch.setenv("SECRET_ID", "pd")
    monkeypatch.setenv("SECRET_KEY", "routing")
    forwarder.handler(_event("ALARM"))
    forwarder.handler(_event("OK"))
    trigger, resolve = sent
    assert trigger["url"] == forwarder.PAGERDUTY_URL
    assert trigger["body"]["routing_key"] == "R0UT1NG" and trigger["body"]["event_action"] == "trigger"
    assert trigger["body"]["payload"]["severity"] == "critical"
    assert resolve["body"]["event_action"] == "resolve" and "payload" not in resolve["body"]
    assert trigger["body"]["dedup_key"] == resolve["body"]["dedup_key"] == "sys-prod-scorer-latency"


def test_webhook_sends_a_bearer_token_from_its_own_secret(sent, monkeypatch):
    monkeypatch.setenv("CHANNEL_KIND", "webhook")
    monkeypatch.setenv("SECRET_ID", "hook")
    monkeypatch.setenv("TOKEN_SECRET_ID", "tok")
    forwarder.handler(_event())
    (call,) = sent
    assert call["url"] == SECRETS["hook"] and call["headers"] == {"Authorization": "Bearer s3cr3t-token"}
    assert call["body"]["alarm"]["AlarmName"] == "sys-prod-scorer-latency"


def test_non_https_urls_are_refused():
    with pytest.raises(ValueError, match="non-https"):
        forwarder._post("http://example.test", {})


def test_a_secret_without_key_reads_the_same_shapes_as_on_kubernetes(sent, monkeypatch):
    """Finding B11.6: on Kubernetes a reference without ``key`` reads key ``value`` of the Secret; the
    AWS forwarder reads a plain SecretString as it is and ``{"value": ...}`` by that key, so a secret
    stored either way delivers on both targets."""
    monkeypatch.setenv("CHANNEL_KIND", "slack")
    for secret, url in (("slack-url", SECRETS["slack-url"]), ("slack-json", "https://hooks.example.test/T/B/json")):
        monkeypatch.setenv("SECRET_ID", secret)
        assert forwarder.handler(_event()) == {"delivered": [202]}
        assert sent[-1]["url"] == url
