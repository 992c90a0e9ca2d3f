"""SNS -> Slack / PagerDuty / webhook forwarder: the source of the notification Lambda.

This file is shipped as the Lambda's code (``forwarder.handler``, python3.12); the compiler reads
its text, it is never imported by mlops-infra itself at compile time. Contract:
- configuration comes from environment variables holding secret *names* only: ``SECRET_ID`` (the
  Slack/webhook URL or the PagerDuty routing key), optional ``SECRET_KEY`` (a key inside a JSON
  secret), optional ``TOKEN_SECRET_ID``/``TOKEN_SECRET_KEY`` (a webhook bearer token), optional
  ``WEBHOOK_URL`` (a plain https URL used with a token), optional ``SLACK_CHANNEL``;
- secret values are read from Secrets Manager at invocation and never logged: each delivery logs one
  line (state, alarm, channel kind, HTTP status), and a failed one logs the error's type only and
  fails the invocation without the original exception (whose message could carry a URL), so Lambda
  retries it (asynchronous invocations from SNS are retried twice);
- ``PAGERDUTY_EVENTS_URL`` overrides the Events API v2 URL (tests point it at a local receiver);
- ``INSUFFICIENT_DATA`` (a drift job stopped publishing, see compile/aws/alerting.py) resolves the
  PagerDuty incident like ``OK``;
- each SNS record is a CloudWatch alarm state change; ALARM triggers, OK resolves (PagerDuty
  ``dedup_key`` = alarm name, so a resolve closes the incident the trigger opened).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from typing import Any

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
"""PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/)."""
TIMEOUT_SECONDS = 5
_SEVERITY = re.compile(r"\((info|warning|critical)\)")
_PAGERDUTY_SEVERITY = {"info": "info", "warning": "warning", "critical": "critical"}


DEFAULT_KEY = "value"
"""The key a reference without ``key`` reads from a JSON secret: the Kubernetes target's default key
(``compile/kubernetes/alerting.py``), so one secret shape means the same on both targets (B11.6)."""


def _secret(secret_id: str, key: str | None) -> str:
    """The secret's value: field ``key`` of a JSON SecretString; without ``key``, the SecretString
    itself, or its field ``value`` when it is a JSON object holding one (as on Kubernetes, where a
    reference without key reads key ``value`` of the Secret; docs/semantics.md)."""
    import boto3  # available in the Lambda runtime; imported here so tests can stub it

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    if key:
        return str(json.loads(value)[key])
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return str(parsed[DEFAULT_KEY]) if isinstance(parsed, dict) and DEFAULT_KEY in parsed else value


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    if not url.startswith("https://"):
        raise ValueError("refusing to send a notification over a non-https URL")
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # https only, checked above
        return response.status


def _severity(alarm: dict[str, Any]) -> str:
    match = _SEVERITY.search(alarm.get("AlarmDescription") or "")
    return match.group(1) if match else "warning"


def _summary(alarm: dict[str, Any]) -> str:
    state = alarm.get("NewStateValue", "UNKNOWN")
    return f"[{state}] {alarm.get('AlarmName', 'alarm')}: {alarm.get('AlarmDescription') or ''}".strip()


def _slack(alarm: dict[str, Any]) -> int:
    body: dict[str, Any] = {"text": f"{_summary(alarm)}\n{alarm.get('NewStateReason', '')}".strip()}
    if os.environ.get("SLACK_CHANNEL"):
        body["channel"] = os.environ["SLACK_CHANNEL"]
    return _post(_secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None), body)


def _pagerduty(alarm: dict[str, Any]) -> int:
    firing = alarm.get("NewStateValue") == "ALARM"
    body: dict[str, Any] = {
        "routing_key": _secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None),
        "event_action": "trigger" if firing else "resolve",
        "dedup_key": alarm.get("AlarmName", "alarm"),
    }
    if firing:
        body["payload"] = {"summary": _summary(alarm)[:1024], "source": alarm.get("AlarmArn", "cloudwatch"),
                           "severity": _PAGERDUTY_SEVERITY[_severity(alarm)],
                           "custom_details": {"reason": alarm.get("NewStateReason", "")}}
    return _post(os.environ.get("PAGERDUTY_EVENTS_URL") or PAGERDUTY_URL, body)


def _webhook(alarm: dict[str, Any]) -> int:
    url = os.environ.get("WEBHOOK_URL") or _secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None)
    headers = {}
    if os.environ.get("TOKEN_SECRET_ID"):
        token = _secret(os.environ["TOKEN_SECRET_ID"], os.environ.get("TOKEN_SECRET_KEY") or None)
        headers["Authorization"] = f"Bearer {token}"
    return _post(url, {"alarm": alarm, "summary": _summary(alarm), "severity": _severity(alarm)}, headers)


SENDERS = {"slack": _slack, "pagerduty": _pagerduty, "webhook": _webhook}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Forward every SNS record of ``event``; return the HTTP status of each delivery."""
    kind = os.environ["CHANNEL_KIND"]
    send = SENDERS[kind]
    statuses = []
    for record in event.get("Records", []):
        message = record.get("Sns", {}).get("Message", "{}")
        try:
            alarm = json.loads(message)
        except ValueError:
            alarm = {"AlarmName": "notification", "NewStateValue": "ALARM", "AlarmDescription": message[:500]}
        what = f"{alarm.get('NewStateValue', 'UNKNOWN')} {alarm.get('AlarmName', 'alarm')} to {kind}"
        try:
            status = send(alarm)
        except Exception as exc:  # log the type only: a message may carry the secret URL
            code = f" {exc.code}" if isinstance(getattr(exc, "code", None), int) else ""
            print(f"delivery of {what} failed: {type(exc).__name__}{code}", flush=True)
            raise RuntimeError(f"delivery of {what} failed: {type(exc).__name__}{code}") from None
        print(f"delivered {what}: HTTP {status}", flush=True)
        statuses.append(status)
    return {"delivered": statuses}
