"""A channel means the same on both targets: a webhook receives the same payload (one receiver serves a
system promoted from Kubernetes to AWS), PagerDuty pages at the alert's severity, Slack reads the same.

What runs for real: on Kubernetes, Prometheus with the compiled rules (time compressed) and
Alertmanager with the routing written from the same model as the compiled AlertmanagerConfigs; the
drift value is pushed to the real Pushgateway under the drift monitor's grouping key. On AWS, the
shipped forwarder's ``handler``, with the environment of the compiled forwarder Lambda, on SNS events
carrying the compiled alarm's state changes (CloudWatch and SNS themselves are not run: their message
shape is the one the AWS documentation shows). Stand-ins: the webhook, PagerDuty and Slack receivers
(a recording HTTP server for Alertmanager, which posts PagerDuty events to ``global.pagerduty_url``;
the forwarder's ``_post`` for AWS) and Secrets Manager (a stub client returning the channels' secrets).

Asserted for the webhook: the same keys at every level of the payload, firing then resolved on both,
the same labels but the ones that name the target (``namespace``, ``mlops_environment``), the same
summary, and Alertmanager's own fingerprint of the Kubernetes labels computed by the forwarder's
function; the same for a silence alert (``monitor_silent_<monitor>``, its labels ``mlops_endpoint`` and
``mlops_monitor`` included). For PagerDuty: trigger then resolve on both, with the alert's severity (``info``). For
Slack: the same title, colour and summary line, firing then resolved.
"""

from __future__ import annotations

import json
import re
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import forwarder
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.monitoring import LAST_SUCCESS, PUSH_JOB
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.prometheus import PrometheusStack, Received, RecordingReceiver, compress_time, require

REPO = Path(__file__).resolve().parents[2]
FACTOR = 60
"""The alert's ``for: 5m`` holds for 5 s."""
HOOK = "https://hooks.example.com/ml"
NAMESPACE = "fraud-dev"
DRIFT_GROUP = {"system": "fraud-detection", "environment": "dev", "monitor": "drift"}
ROUTING_KEY = "R0UT1NGKEY0000000000000000000042"
SECRETS = {"pd-key": ROUTING_KEY, "slack-oncall-webhook": "https://hooks.slack.example/services/T0/B0/x"}
PATHS = ("/hooks", "/pagerduty", "/slack")


def _spec() -> str:
    """fraud-detection with a webhook and a PagerDuty channel told when the drift monitor's value is
    high for 5m, at severity info."""
    doc = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    doc["channels"] += [{"name": "hooks", "kind": "webhook", "url": HOOK},
                        {"name": "pd", "kind": "pagerduty", "routing_key": {"secret": "pd-key"}}]
    doc["alerts"].append({"name": "drift-hook", "monitor": "drift", "for": "5m", "severity": "info",
                          "notify": ["hooks", "pd", "oncall"]})
    return yaml.safe_dump(doc, sort_keys=False)


def _about(alert: str) -> Callable[[Received], bool]:
    """A notification of group ``alert`` (the webhook's ``groupLabels``; the alert name opening Slack's
    title and PagerDuty's summary, ``[FIRING:1] drift-hook ...``): the channels also hear the notify-failure
    alerts (the email channel ml-team cannot deliver here, and Prometheus does not scrape this Alertmanager),
    which are not compared."""
    def about(request: Received) -> bool:
        body = request.json()
        if request.path == "/hooks":
            return body["groupLabels"] == {"alertname": alert}
        title = body["attachments"][0]["title"] if request.path == "/slack" else body["payload"]["summary"]
        return re.match(rf"\[[A-Z]+(:\d+)?\] {re.escape(alert)} ", title) is not None

    return about


_about_drift_hook = _about("drift-hook")


def _stack(directory: Path, receiver: RecordingReceiver) -> PrometheusStack:
    """Prometheus with dev's compiled rules (time compressed) and Alertmanager with its routes, the channels
    pointed at ``receiver``."""
    system = parse_system(_spec(), "mlsystem.yaml", "dev").system
    config = routing.alertmanager_config(
        routing.system_routes(system, "dev"), NAMESPACE, urls={HOOK: receiver.url("/hooks")},
        resolve_secret=lambda ref: SECRETS[ref.secret] if ref.secret == "pd-key" else receiver.url("/slack"),
        timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        global_config={"smtp_smarthost": "127.0.0.1:9", "smtp_from": "alerts@example.com",  # ml-team is email
                       "pagerduty_url": receiver.url("/pagerduty")})
    return PrometheusStack(directory, pushgateway_namespace=NAMESPACE, rules=[compress_time(rule_file(compile_system(system, "dev")), FACTOR)],
                           alertmanager_config=config)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """What Alertmanager posts to each channel (path -> bodies): the alert firing, then resolved."""
    require()
    receiver = RecordingReceiver()
    try:
        with _stack(tmp_path_factory.mktemp("stack"), receiver) as stack:
            stack.push(PUSH_JOB, 'mlops_monitor_value{endpoint="scorer",metric="feature_drift"} 0.35\n', DRIFT_GROUP)
            for path in PATHS:
                receiver.wait_for(1, path=path, timeout=60, where=_about_drift_hook)
            stack.push(PUSH_JOB, 'mlops_monitor_value{endpoint="scorer",metric="feature_drift"} 0.05\n', DRIFT_GROUP)
            return {path: [r.json() for r in receiver.wait_for(2, path=path, timeout=60, where=_about_drift_hook)[:2]]
                    for path in PATHS}
    finally:
        receiver.close()


DRIFT_HOOK_REASONS = (("ALARM", "Threshold Crossed: 1 out of the last 1 datapoints [0.35 (05/12/26 07:00:00)] "
                                "was greater than the threshold (0.2)."),
                      ("OK", "Threshold Crossed: 1 out of the last 1 datapoints [0.05 (05/12/26 08:00:00)] "
                             "was not greater than the threshold (0.2)."))


def _aws_payloads(monkeypatch: pytest.MonkeyPatch, text: str, channel: str, address: str = "alerts.drift-hook",
                  reasons: tuple[tuple[str, str], ...] = DRIFT_HOOK_REASONS) -> list[dict[str, Any]]:
    """What the compiled forwarder of ``channel`` posts for the compiled alarm of ``address`` going to ALARM,
    then OK."""
    graph = compile_system(parse_system(text, "mlsystem.yaml", "prod").system, "prod")
    [function] = [r for r in graph.resources if r.type == "aws:lambda/function:Function"
                  and r.address == f"channels.{channel}"]
    [alarm] = [r.inputs for r in graph.resources
               if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and r.address == address]
    for name, value in function.inputs["environment"]["variables"].items():
        monkeypatch.setenv(name, value)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(forwarder, "_post", lambda url, body, headers=None: sent.append(
        {"url": url, "body": body, "headers": headers}) or 200)
    secrets = types.SimpleNamespace(get_secret_value=lambda SecretId: {"SecretString": SECRETS[SecretId]})
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: secrets))
    arn = f"arn:aws:cloudwatch:eu-west-1:222222222222:alarm:{alarm['name']}"
    for state, reason in reasons:
        message = {"AlarmName": alarm["name"], "AlarmDescription": alarm["alarmDescription"], "NewStateValue": state,
                   "NewStateReason": reason, "StateChangeTime": "2026-12-05T08:00:00.123+0000", "AlarmArn": arn,
                   "OldStateValue": "OK" if state == "ALARM" else "ALARM"}
        forwarder.handler({"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification",
                                                                          "Message": json.dumps(message)}}]})
    assert len(sent) == 2 and len({call["url"] for call in sent}) == 1
    return [call["body"] for call in sent]


def _shape(value: Any) -> Any:
    """The keys at every level (lists by their first item), without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items() if key not in ("labels", "commonLabels",
                                                                                  "annotations", "commonAnnotations",
                                                                                  "groupLabels")}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.timeout(180)
def test_a_webhook_receives_alertmanagers_payload_on_both_targets(kube, monkeypatch) -> None:
    kube, aws = kube["/hooks"], _aws_payloads(monkeypatch, _spec(), "hooks")

    assert [p["status"] for p in kube] == [p["status"] for p in aws] == ["firing", "resolved"]
    for k8s_payload, aws_payload in zip(kube, aws, strict=True):
        assert _shape(aws_payload) == _shape(k8s_payload)
        assert aws_payload["version"] == k8s_payload["version"] == "4"
        assert aws_payload["groupLabels"] == k8s_payload["groupLabels"] == {"alertname": "drift-hook"}
        [k8s_alert], [aws_alert] = k8s_payload["alerts"], aws_payload["alerts"]
        assert k8s_alert["status"] == aws_alert["status"] == k8s_payload["status"]
        target_labels = {"namespace": NAMESPACE, "mlops_environment": "dev"}
        assert k8s_alert["labels"] == {**aws_alert["labels"], **target_labels}
        assert aws_alert["labels"] == {"alertname": "drift-hook", "mlops_alert": "drift-hook",
                                       "mlops_endpoint": "scorer", "mlops_environment": "prod",
                                       "mlops_metric": "feature_drift", "mlops_monitor": "drift",
                                       "mlops_system": "fraud-detection", "severity": "info"}
        assert aws_alert["annotations"]["summary"] == k8s_alert["annotations"]["summary"].replace("/dev:", "/prod:")
        assert aws_alert["annotations"]["summary"] == \
            "fraud-detection/prod: drift-hook (feature_drift of endpoint scorer)"
        # the forwarder computes a fingerprint as Alertmanager does
        assert forwarder.fingerprint(k8s_alert["labels"]) == k8s_alert["fingerprint"]
        assert forwarder.fingerprint(aws_alert["labels"]) == aws_alert["fingerprint"]
    # a firing alert has not ended: Alertmanager writes Go's zero time, and so does the forwarder
    assert kube[0]["alerts"][0]["endsAt"] == aws[0]["alerts"][0]["endsAt"] == forwarder.ZERO_TIME
    assert kube[1]["alerts"][0]["endsAt"] != forwarder.ZERO_TIME
    assert aws[1]["alerts"][0]["endsAt"] == "2026-12-05T08:00:00.123Z"


@pytest.mark.timeout(180)
def test_pagerduty_pages_at_the_alerts_severity_on_both_targets(kube, monkeypatch) -> None:
    """An ``info`` alert is an ``info`` event on both (Alertmanager alone would send ``error``), and
    the trigger is resolved by the same key it opened the incident with."""
    kube, aws = kube["/pagerduty"], _aws_payloads(monkeypatch, _spec(), "pd")
    for events in (kube, aws):
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        assert events[0]["routing_key"] == ROUTING_KEY
        assert events[0]["payload"]["severity"] == "info"
        assert events[0]["dedup_key"] == events[1]["dedup_key"]


@pytest.mark.timeout(180)
def test_slack_reads_the_same_on_both_targets(kube, monkeypatch) -> None:
    """The title and colour of Alertmanager's message, and its first line (the alert's summary, but the
    environment); the second line is each target's own account of the crossing."""
    kube, aws = kube["/slack"], _aws_payloads(monkeypatch, _spec(), "oncall")
    for k8s_message, aws_message in zip(kube, aws, strict=True):
        [k8s_attachment], [aws_attachment] = k8s_message["attachments"], aws_message["attachments"]
        assert aws_attachment["title"] == k8s_attachment["title"]
        assert aws_attachment["color"] == k8s_attachment["color"]
        k8s_summary, aws_summary = (a["text"].split("\n", 1)[0] for a in (k8s_attachment, aws_attachment))
        assert aws_summary == k8s_summary.replace("/dev:", "/prod:")
    assert [m["attachments"][0]["title"] for m in aws] == ["[FIRING:1] drift-hook (info)", "[RESOLVED] drift-hook (info)"]


SILENT = "monitor_silent_drift"
SILENCE_REASONS = (("ALARM", "Threshold Crossed: no datapoints were received for 185 periods and 185 missing "
                             "datapoints were treated as [Breaching]."),
                   ("OK", "Threshold Crossed: 1 out of the last 185 datapoints [1.0 (05/12/26 08:00:00)] was not "
                          "less than the threshold (1.0)."))


@pytest.fixture(scope="module")
def kube_silence(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What Alertmanager posts to the webhook for ``monitor_silent_drift``: the drift job's last success
    pushed long ago (the rule's horizon is a number, not compressed: a success at 1 s after the epoch is
    past it), so it fires after its ``for``; then a success now, so it resolves."""
    require()
    receiver = RecordingReceiver()
    try:
        with _stack(tmp_path_factory.mktemp("silence"), receiver) as stack:
            stack.push(PUSH_JOB, f"{LAST_SUCCESS} 1\n", DRIFT_GROUP)
            receiver.wait_for(1, path="/hooks", timeout=60, where=_about(SILENT))
            stack.push(PUSH_JOB, f"{LAST_SUCCESS} {time.time():.0f}\n", DRIFT_GROUP)
            return [r.json() for r in receiver.wait_for(2, path="/hooks", timeout=60, where=_about(SILENT))[:2]]
    finally:
        receiver.close()


@pytest.mark.timeout(180)
def test_a_silence_alert_has_the_same_labels_and_summary_on_both_targets(kube_silence, monkeypatch) -> None:
    """The AWS silence alarm (``<system>-<env>.monitor-silent.<monitor>``) reaches a webhook with the labels
    of the Kubernetes rule ``monitor_silent_<monitor>`` but ``namespace`` (``mlops_endpoint`` and
    ``mlops_monitor`` included: a receiver routes by them) and its summary (audit notify-3)."""
    aws = _aws_payloads(monkeypatch, _spec(), "hooks", "monitors.drift", SILENCE_REASONS)
    assert aws[0]["externalURL"].endswith("alarm/fraud-detection-prod.monitor-silent.drift")
    assert [p["status"] for p in kube_silence] == [p["status"] for p in aws] == ["firing", "resolved"]
    for k8s_payload, aws_payload in zip(kube_silence, aws, strict=True):
        assert _shape(aws_payload) == _shape(k8s_payload)
        [k8s_alert], [aws_alert] = k8s_payload["alerts"], aws_payload["alerts"]
        assert k8s_alert["labels"] == {**aws_alert["labels"], "namespace": NAMESPACE, "mlops_environment": "dev"}
        assert aws_alert["labels"] == {"alertname": SILENT, "mlops_alert": SILENT, "mlops_endpoint": "scorer",
                                       "mlops_environment": "prod", "mlops_monitor": "drift",
                                       "mlops_system": "fraud-detection", "severity": "warning"}
        assert aws_alert["annotations"]["summary"] == k8s_alert["annotations"]["summary"].replace("/dev:", "/prod:")
        assert aws_alert["annotations"]["summary"] == \
            "fraud-detection/prod: monitor drift is not measuring (feature_drift of endpoint scorer)"
        assert forwarder.fingerprint(aws_alert["labels"]) == aws_alert["fingerprint"]
