"""The AWS notification forwarder for real: the shipped ``forwarder.handler`` runs in its own process
with Secrets Manager on a moto server and every HTTPS endpoint (Slack, PagerDuty, a webhook) on a
local TLS receiver whose self-signed certificate is trusted through ``SSL_CERT_FILE`` (so the
handler's own ``https://`` check and certificate verification run unchanged). The SNS event is the
shape SNS gives Lambda, carrying a CloudWatch alarm state change. Asserted: what each receiver got,
the PagerDuty dedup key shared by trigger and resolve, and that no secret value appears in anything
the handler printed (its log lines)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile.aws.alerting import forwarder_source
from tests.support.moto_server import REGION, client, running_moto_server
from tests.support.prometheus import RecordingReceiver

SLACK_SECRET_PATH = "/services/T0SECRET/B0SECRET/xoxb-not-a-real-token-4242"
ROUTING_KEY = "R0UT1NGKEY0000000000000000000042"
WEBHOOK_TOKEN = "webhook-bearer-token-0042"


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography ships with moto)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "receiver.pem", directory / "receiver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsReceiver:
    """An HTTPS server on 127.0.0.1 recording every request (method, path, headers, JSON body). A path
    in ``redirects`` answers with that ``(status, Location)``, as a receiver that moved would."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.received: list[dict[str, Any]] = []
        self.redirects: dict[str, tuple[int, str]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"method": self.command, "path": self.path,
                                          "headers": dict(self.headers.items()), "json": json.loads(body or b"null")})
                if self.path in receiver.redirects:
                    status, location = receiver.redirects[self.path]
                    self.send_response(status)
                    self.send_header("Location", location)
                else:
                    self.send_response(202 if "enqueue" in self.path else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("forwarder")
    cert, key = _certificate(directory)
    receiver = TlsReceiver(cert, key)
    (directory / "forwarder.py").write_text(forwarder_source())
    with running_moto_server() as moto_url:
        secrets = client("secretsmanager", moto_url)
        secrets.create_secret(Name="slack-oncall-webhook", SecretString=receiver.url(SLACK_SECRET_PATH))
        secrets.create_secret(Name="pagerduty-key", SecretString=json.dumps({"value": ROUTING_KEY}))
        secrets.create_secret(Name="hook-token", SecretString=WEBHOOK_TOKEN)
        yield {"dir": directory, "cert": cert, "receiver": receiver, "moto": moto_url}
    receiver.close()


def _alarm_event(state: str, name: str = "fraud-detection-prod-scorer-latency") -> dict[str, Any]:
    alarm = {"AlarmName": name, "NewStateValue": state, "OldStateValue": "OK" if state == "ALARM" else "ALARM",
             "AlarmDescription": "mlops-infra alert scorer-latency (critical): latency_p99 of endpoint scorer above "
                                 "250ms for 5m (monitor latency)",
             "NewStateReason": "Threshold Crossed: 5 out of the last 5 datapoints were greater than the threshold "
                               "(250000.0).",
             "AlarmArn": f"arn:aws:cloudwatch:{REGION}:222222222222:alarm:{name}", "Region": "EU (Ireland)"}
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": {
        "Type": "Notification", "TopicArn": f"arn:aws:sns:{REGION}:222222222222:oncall",
        "Subject": f'{state}: "{name}" in EU (Ireland)', "Message": json.dumps(alarm)}}]}


def _invoke(world: dict[str, Any], variables: dict[str, str], event: dict[str, Any]) -> tuple[dict, str]:
    """Run ``forwarder.handler(event)`` in a fresh interpreter, as Lambda would; return its result
    and everything it printed."""
    done = _run_handler(world, variables, event)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return json.loads(done.stdout.strip().splitlines()[-1]), output


def _run_handler(world: dict[str, Any], variables: dict[str, str], event: dict[str, Any]) -> subprocess.CompletedProcess:
    runner = ("import json, sys, forwarder\n"
              "print(json.dumps(forwarder.handler(json.loads(sys.stdin.read()))))\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **variables,
           "SSL_CERT_FILE": str(world["cert"]), "AWS_ENDPOINT_URL": world["moto"], "AWS_REGION": REGION,
           "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "PYTHONPATH": str(world["dir"])}
    return subprocess.run([sys.executable, "-c", runner], input=json.dumps(event), capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def _assert_no_secret(output: str) -> None:
    for secret in (SLACK_SECRET_PATH, "xoxb-not-a-real-token", ROUTING_KEY, WEBHOOK_TOKEN):
        assert secret not in output


def test_an_alarm_becomes_the_slack_message(world) -> None:
    receiver = world["receiver"]
    receiver.received.clear()
    result, output = _invoke(world, {"CHANNEL_KIND": "slack", "SECRET_ID": "slack-oncall-webhook",
                                     "SLACK_CHANNEL": "#oncall", "MLOPS_SYSTEM": "fraud-detection",
                                     "MLOPS_ENVIRONMENT": "prod", "MLOPS_CHANNEL": "oncall"}, _alarm_event("ALARM"))
    assert result == {"delivered": [200]}
    [post] = receiver.received
    assert post["path"] == SLACK_SECRET_PATH
    assert post["json"]["channel"] == "#oncall"
    [attachment] = post["json"]["attachments"]
    assert attachment["title"] == "[FIRING:1] scorer-latency (critical)"
    assert attachment["text"].startswith("fraud-detection/prod: scorer-latency (latency_p99 of endpoint scorer)\n"
                                         "Threshold Crossed: 5 out of the last 5 datapoints")
    assert "delivered ALARM fraud-detection-prod-scorer-latency to slack: HTTP 200" in output
    _assert_no_secret(output)


def test_pagerduty_triggers_and_resolves_one_incident(world) -> None:
    receiver = world["receiver"]
    receiver.received.clear()
    variables = {"CHANNEL_KIND": "pagerduty", "SECRET_ID": "pagerduty-key", "SECRET_KEY": "value",
                 "PAGERDUTY_EVENTS_URL": receiver.url("/v2/enqueue")}
    _, fired = _invoke(world, variables, _alarm_event("ALARM"))
    _, resolved = _invoke(world, variables, _alarm_event("OK"))
    trigger, resolve = (r["json"] for r in receiver.received)
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "fraud-detection-prod-scorer-latency"
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY  # read from the JSON secret's key
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("[ALARM] fraud-detection-prod-scorer-latency")
    assert "payload" not in resolve
    _assert_no_secret(fired + resolved)


def test_a_stale_drift_alarm_resolves_the_incident(world) -> None:
    receiver = world["receiver"]
    receiver.received.clear()
    variables = {"CHANNEL_KIND": "pagerduty", "SECRET_ID": "pagerduty-key", "SECRET_KEY": "value",
                 "PAGERDUTY_EVENTS_URL": receiver.url("/v2/enqueue")}
    _invoke(world, variables, _alarm_event("INSUFFICIENT_DATA", "fraud-detection-prod-fraud-drift"))
    [event] = receiver.received
    assert event["json"]["event_action"] == "resolve"
    assert event["json"]["dedup_key"] == "fraud-detection-prod-fraud-drift"


def test_a_webhook_gets_the_alarm_with_its_bearer_token(world) -> None:
    receiver = world["receiver"]
    receiver.received.clear()
    result, output = _invoke(world, {"CHANNEL_KIND": "webhook", "WEBHOOK_URL": receiver.url("/hooks/ml"),
                                     "TOKEN_SECRET_ID": "hook-token"}, _alarm_event("ALARM"))
    assert result == {"delivered": [200]}
    [post] = receiver.received
    assert post["path"] == "/hooks/ml"
    assert post["headers"]["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert post["headers"]["Content-Type"] == "application/json"
    [alert] = post["json"]["alerts"]
    assert post["json"]["status"] == alert["status"] == "firing"
    assert alert["labels"]["alertname"] == "scorer-latency" and alert["labels"]["severity"] == "critical"
    _assert_no_secret(output)


def test_a_plain_webhook_gets_the_alert_then_its_resolution(world) -> None:
    """A webhook with a plain URL and no token goes through the forwarder too (an SNS https
    subscription would wait for a confirmation no webhook gives): Alertmanager's payload, firing then
    resolved, with the system's labels the compiler puts in the forwarder's environment."""
    receiver = world["receiver"]
    receiver.received.clear()
    variables = {"CHANNEL_KIND": "webhook", "WEBHOOK_URL": receiver.url("/hooks/plain"),
                 "MLOPS_SYSTEM": "fraud-detection", "MLOPS_ENVIRONMENT": "prod", "MLOPS_CHANNEL": "hooks"}
    for state in ("ALARM", "OK"):
        result, _ = _invoke(world, variables, _alarm_event(state))
        assert result == {"delivered": [200]}
    firing, resolved = receiver.received
    assert firing["path"] == resolved["path"] == "/hooks/plain" and "Authorization" not in firing["headers"]
    assert [firing["json"]["status"], resolved["json"]["status"]] == ["firing", "resolved"]
    labels = {"alertname": "scorer-latency", "mlops_alert": "scorer-latency", "mlops_endpoint": "scorer",
              "mlops_environment": "prod", "mlops_metric": "latency_p99", "mlops_monitor": "latency",
              "mlops_system": "fraud-detection", "severity": "critical"}
    assert firing["json"]["commonLabels"] == resolved["json"]["commonLabels"] == labels
    assert firing["json"]["receiver"] == "hooks"
    assert firing["json"]["alerts"][0]["annotations"]["summary"] == \
        "fraud-detection/prod: scorer-latency (latency_p99 of endpoint scorer)"
    assert firing["json"]["alerts"][0]["fingerprint"] == resolved["json"]["alerts"][0]["fingerprint"]


def test_a_failed_delivery_is_logged_without_the_secret(world) -> None:
    # the Slack URL's host refuses connections: the error names the channel, never the URL
    secrets = client("secretsmanager", world["moto"])
    secrets.put_secret_value(SecretId="slack-oncall-webhook", SecretString="https://127.0.0.1:9/" + SLACK_SECRET_PATH)
    try:
        done = _run_handler(world, {"CHANNEL_KIND": "slack", "SECRET_ID": "slack-oncall-webhook"},
                            _alarm_event("ALARM"))
    finally:
        secrets.put_secret_value(SecretId="slack-oncall-webhook",
                                 SecretString=world["receiver"].url(SLACK_SECRET_PATH))
    output = done.stdout + done.stderr
    assert done.returncode != 0  # Lambda retries a failed invocation
    assert "delivery of ALARM fraud-detection-prod-scorer-latency to slack failed: URLError" in output
    _assert_no_secret(output)


@pytest.mark.parametrize(("status", "scheme"), [(302, "http"), (301, "http"), (303, "https"), (302, "https")])
def test_a_redirecting_webhook_fails_the_delivery_and_gets_no_token_elsewhere(world, status, scheme) -> None:
    """A receiver answering 301/302/303 (audit secrets-3): urllib's default opener re-sent the bearer
    token to the ``Location`` (plain http too) as a body-less GET and the log said delivered. Now the
    invocation fails with the status (Lambda retries; the Errors alarm and the failure queue see it),
    the redirect target gets nothing, and the log holds no secret."""
    receiver = world["receiver"]
    receiver.received.clear()
    with RecordingReceiver() as collector:
        target = collector.url("/collected") if scheme == "http" else receiver.url("/collected")
        receiver.redirects["/hooks/moved"] = (status, target)
        try:
            done = _run_handler(world, {"CHANNEL_KIND": "webhook", "WEBHOOK_URL": receiver.url("/hooks/moved"),
                                        "TOKEN_SECRET_ID": "hook-token"}, _alarm_event("ALARM"))
        finally:
            del receiver.redirects["/hooks/moved"]
        output = done.stdout + done.stderr
        assert done.returncode != 0, output  # Lambda retries a failed invocation
        assert collector.received() == []
    assert [(r["method"], r["path"]) for r in receiver.received] == [("POST", "/hooks/moved")]
    assert receiver.received[0]["headers"]["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"  # the receiver's own
    assert f"delivery of ALARM fraud-detection-prod-scorer-latency to webhook failed: RedirectRefused {status}" in output
    assert "delivered" not in output
    _assert_no_secret(output)


def test_secret_values_are_read_without_surrounding_whitespace(world) -> None:
    """Values stored from a file keep its trailing newline (audit secrets-1): a bearer token ``tok\\n``
    made http.client refuse the header, so every delivery failed; a URL or a JSON key's value with
    surrounding whitespace is used trimmed too."""
    receiver = world["receiver"]
    receiver.received.clear()
    secrets = client("secretsmanager", world["moto"])
    secrets.create_secret(Name="hook-token-newline", SecretString=WEBHOOK_TOKEN + "\n")
    secrets.create_secret(Name="hook-url-newline", SecretString=f" {receiver.url('/hooks/nl')}\r\n")
    secrets.create_secret(Name="hook-token-json", SecretString=json.dumps({"tok": f"\t{WEBHOOK_TOKEN}\n"}))
    for variables in ({"WEBHOOK_URL": receiver.url("/hooks/nl"), "TOKEN_SECRET_ID": "hook-token-newline"},
                      {"SECRET_ID": "hook-url-newline", "TOKEN_SECRET_ID": "hook-token-json", "TOKEN_SECRET_KEY": "tok"}):
        result, output = _invoke(world, {"CHANNEL_KIND": "webhook", **variables}, _alarm_event("ALARM"))
        assert result == {"delivered": [200]}
        _assert_no_secret(output)
    assert [(r["path"], r["headers"]["Authorization"]) for r in receiver.received] == \
        [("/hooks/nl", f"Bearer {WEBHOOK_TOKEN}")] * 2
