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
    [attachment] = call["body"]["attachments"]
    assert call["body"]["channel"] == "#ml" and attachment["title"] == "[FIRING:1] scorer-latency (critical)"


def test_slack_gets_alertmanagers_message_for_the_alert(sent, monkeypatch):
    """The title and text the compiled Slack templates render on Kubernetes (routing.SLACK_TITLE,
    SLACK_TEXT), Alertmanager's colours; the resolution follows the firing."""
    _webhook_env(monkeypatch)
    monkeypatch.setenv("CHANNEL_KIND", "slack")
    monkeypatch.setenv("SECRET_ID", "slack-url")
    forwarder.handler(_stamped("ALARM"))
    forwarder.handler(_stamped("OK"))
    firing, resolved = (call["body"] for call in sent)
    assert "channel" not in firing
    assert firing["attachments"] == [{
        "title": "[FIRING:1] scorer-latency (critical)", "fallback": "[FIRING:1] scorer-latency (critical)",
        "text": "sys/prod: scorer-latency (latency_p99 of endpoint scorer)\np99 > 250000\n", "color": "danger"}]
    assert resolved["attachments"][0]["title"] == "[RESOLVED] scorer-latency (critical)"
    assert resolved["attachments"][0]["color"] == "good"


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
    assert call["body"]["version"] == "4" and call["body"]["status"] == "firing"
    assert call["body"]["alerts"][0]["labels"]["alertname"] == "scorer-latency"


def _webhook_env(monkeypatch):
    for name, value in {"CHANNEL_KIND": "webhook", "WEBHOOK_URL": "https://hook.example.test/plain",
                        "MLOPS_SYSTEM": "sys", "MLOPS_ENVIRONMENT": "prod", "MLOPS_CHANNEL": "hooks"}.items():
        monkeypatch.setenv(name, value)


def _stamped(state, when="2026-12-05T07:41:23.456+0000"):
    event = _event(state)
    alarm = json.loads(event["Records"][0]["Sns"]["Message"])
    alarm.update(StateChangeTime=when, AlarmDescription="mlops-infra alert scorer-latency (critical): latency_p99 "
                                                        "of endpoint scorer above 250ms for 5m (monitor latency)")
    event["Records"][0]["Sns"]["Message"] = json.dumps(alarm)
    return event


def test_a_webhook_gets_alertmanagers_payload_from_the_alarm(sent, monkeypatch):
    """The payload Alertmanager's webhook_config sends on Kubernetes (version 4), from the alarm:
    labels and summary as the Kubernetes rule has them (but ``namespace``), CloudWatch's reason as
    the description, the change time in RFC 3339, the alarm's console page as the links."""
    _webhook_env(monkeypatch)
    forwarder.handler(_stamped("ALARM"))
    (call,) = sent
    assert call["url"] == "https://hook.example.test/plain" and call["headers"] == {}
    labels = {"alertname": "scorer-latency", "mlops_alert": "scorer-latency", "mlops_endpoint": "scorer",
              "mlops_environment": "prod", "mlops_metric": "latency_p99", "mlops_monitor": "latency",
              "mlops_system": "sys", "severity": "critical"}
    annotations = {"summary": "sys/prod: scorer-latency (latency_p99 of endpoint scorer)",
                   "description": "p99 > 250000"}
    console = ("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
               "#alarmsV2:alarm/sys-prod-scorer-latency")
    assert call["body"] == {
        "version": "4", "groupKey": '{}:{alertname="scorer-latency"}', "truncatedAlerts": 0, "status": "firing",
        "receiver": "hooks", "groupLabels": {"alertname": "scorer-latency"}, "commonLabels": labels,
        "commonAnnotations": annotations, "externalURL": console,
        "alerts": [{"status": "firing", "labels": labels, "annotations": annotations,
                    "startsAt": "2026-12-05T07:41:23.456Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": console, "fingerprint": forwarder.fingerprint(labels)}]}


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_ok_and_insufficient_data_resolve_the_webhooks_alert(sent, monkeypatch, state):
    """OK resolves; so does INSUFFICIENT_DATA (a drift job that stopped publishing: its value no longer
    counts, as a stale value stops counting on Kubernetes). A resolved alert ends when it changed."""
    _webhook_env(monkeypatch)
    forwarder.handler(_stamped(state, when="2026-12-05T09:00:00.000+0200"))
    (call,) = sent
    [alert] = call["body"]["alerts"]
    assert call["body"]["status"] == alert["status"] == "resolved"
    assert alert["startsAt"] == alert["endsAt"] == "2026-12-05T07:00:00.000Z"


def test_alertmanagers_fingerprint():
    """prometheus/common model/signature_test.go's vector (``LabelsToSignature``, the same hash as
    ``labelSetToFingerprint``) and the empty set's signature (``emptyLabelSignature``, FNV-1a's
    offset basis)."""
    assert forwarder.fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == \
        f"{5799056148416392346:016x}"
    assert forwarder.fingerprint({}) == f"{14695981039346656037:016x}"


def test_a_description_edited_by_hand_keeps_the_alert_and_severity(sent, monkeypatch):
    _webhook_env(monkeypatch)
    event = _stamped("ALARM")
    alarm = json.loads(event["Records"][0]["Sns"]["Message"])
    alarm["AlarmDescription"] = "mlops-infra alert scorer-latency (critical): slow, see the runbook"
    event["Records"][0]["Sns"]["Message"] = json.dumps(alarm)
    forwarder.handler(event)
    (call,) = sent
    assert call["body"]["commonLabels"] == {"alertname": "scorer-latency", "mlops_alert": "scorer-latency",
                                            "mlops_environment": "prod", "mlops_system": "sys",
                                            "severity": "critical"}


def test_an_alarm_not_written_by_the_compiler_still_reaches_the_webhook(sent, monkeypatch):
    """An alarm someone else pointed at the channel's topic: its name is the alert, no summary of ours."""
    _webhook_env(monkeypatch)
    alarm = {"AlarmName": "hand-made", "NewStateValue": "ALARM", "AlarmDescription": "disk full",
             "AlarmArn": "arn:aws-cn:cloudwatch:cn-north-1:1:alarm:hand-made", "StateChangeTime": "yesterday"}
    forwarder.handler({"Records": [{"Sns": {"Message": json.dumps(alarm)}}]})
    (call,) = sent
    [alert] = call["body"]["alerts"]
    assert alert["labels"] == {"alertname": "hand-made", "mlops_alert": "hand-made", "mlops_environment": "prod",
                               "mlops_system": "sys", "severity": "warning"}
    assert alert["annotations"]["summary"] == "[ALARM] hand-made: disk full"
    assert alert["generatorURL"].startswith("https://cn-north-1.console.amazonaws.cn/cloudwatch/")
    assert alert["startsAt"].endswith("Z") and alert["endsAt"] == forwarder.ZERO_TIME


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


@pytest.mark.parametrize(("old", "new", "delivered"), [
    ("INSUFFICIENT_DATA", "OK", False),  # a new alarm's first evaluation: resolves no alert
    ("OK", "INSUFFICIENT_DATA", False),  # a drift job late while all is well
    ("OK", "ALARM", True), ("INSUFFICIENT_DATA", "ALARM", True),
    ("ALARM", "OK", True), ("ALARM", "INSUFFICIENT_DATA", True),
    (None, "OK", True),  # not a CloudWatch state change (no OldStateValue): delivered
])
@pytest.mark.parametrize("kind", ["slack", "pagerduty", "webhook"])
def test_only_changes_to_or_from_alarm_are_delivered(sent, monkeypatch, capsys, kind, old, new, delivered):
    """CloudWatch runs a new alarm's actions after its first evaluation (PutMetricAlarm: "Any actions
    associated with the new state are then executed"), and OKActions on a change to OK "from any other
    state": an OK from INSUFFICIENT_DATA is no resolution, and is not sent."""
    _webhook_env(monkeypatch)
    monkeypatch.setenv("CHANNEL_KIND", kind)
    monkeypatch.setenv("SECRET_ID", "pd" if kind == "pagerduty" else "slack-url")
    monkeypatch.setenv("SECRET_KEY", "routing" if kind == "pagerduty" else "")
    alarm = {"AlarmName": "sys-prod-scorer-latency", "NewStateValue": new, "NewStateReason": "r",
             "AlarmDescription": "mlops-infra alert scorer-latency (critical): latency_p99 of endpoint scorer above "
                                 "250ms for 5m (monitor latency)",
             "AlarmArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:sys-prod-scorer-latency"}
    if old is not None:
        alarm["OldStateValue"] = old
    result = forwarder.handler({"Records": [{"Sns": {"Message": json.dumps(alarm)}}]})
    assert (len(sent), result) == ((1, {"delivered": [202]}) if delivered else (0, {"delivered": []}))
    if not delivered:
        assert capsys.readouterr().out == (f"skipped {new} sys-prod-scorer-latency to {kind}: from {old}, "
                                           "it resolves no alert\n")
