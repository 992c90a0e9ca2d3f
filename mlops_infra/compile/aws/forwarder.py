"""SNS -> Slack / PagerDuty / webhook forwarder: the source of the notification Lambda.

This file is shipped as the Lambda's code (``forwarder.handler``, python3.12); the compiler reads
its text, it is never imported by mlops-infra itself at compile time. Contract:
- configuration comes from environment variables holding secret *names* only: ``SECRET_ID`` (the
  Slack/webhook URL or the PagerDuty routing key), optional ``SECRET_KEY`` (a key inside a JSON
  secret), optional ``TOKEN_SECRET_ID``/``TOKEN_SECRET_KEY`` (a webhook bearer token), optional
  ``WEBHOOK_URL`` (a webhook's plain https URL), optional ``SLACK_CHANNEL``; a webhook's and a
  Slack channel's also ``MLOPS_SYSTEM``, ``MLOPS_ENVIRONMENT`` and ``MLOPS_CHANNEL`` (names, for
  their messages);
- secret values are read from Secrets Manager at invocation and never logged: each delivery logs one
  line (state, alarm, channel kind, HTTP status), and a failed one logs the error's type only and
  fails the invocation without the original exception (whose message could carry a URL), so Lambda
  retries it (asynchronous invocations from SNS are retried twice);
- a receiver's redirect is never followed: a 3xx answer fails the delivery (:class:`RedirectRefused`,
  an ``HTTPError`` with the status), so Lambda retries it and the Errors alarm and the failure queue
  see it (``compile/aws/lambda_failures.py``). urllib's default opener follows 301/302/303 and
  re-sends every header but Content-Length and Content-Type, the ``Authorization`` bearer token
  included, to the new URL, ``http://`` too, as a body-less GET (CPython 3.12 ``Lib/urllib/request.py``
  ``HTTPRedirectHandler.redirect_request`` and ``http_error_302``; Python docs, ``Request.add_header``:
  "headers added using this method are also added to redirected requests"): the token left for
  another host in clear text, the receiver never got the alert, and the log said "delivered HTTP 200"
  (audit secrets-3). :data:`_OPENER` has :class:`_RefuseRedirects`, whose ``redirect_request`` raises
  (the documented way to refuse: "raise HTTPError if no-one else should try to handle this url");
- a secret value is used without surrounding whitespace (:func:`_secret`): a value stored from a
  file keeps the file's trailing newline (``--secret-string file://``), and http.client refuses a
  header value holding ``\n`` (``putheader``: "Invalid header value"), so a token stored that way
  failed every delivery (audit secrets-1); a URL, token or routing key never has surrounding
  whitespace;
- ``PAGERDUTY_EVENTS_URL`` overrides the Events API v2 URL (tests point it at a local receiver);
- a rollback notice (the rollout runner publishes it in the shape of its rollback alarm's change to
  ALARM, with ``mlopsRollback``: the facts, summary and description; ``rollout/scheduled.py``
  ``notice_message``) is delivered with that summary and description (the Kubernetes rollback alert's
  annotations, word for word): Slack's text, PagerDuty's ``payload.summary`` (at most 1024
  characters, Events API v2) with the facts as ``custom_details``, a webhook's ``summary`` and
  ``description`` annotations with the facts as annotations too. Not as labels (on Kubernetes they are):
  the resolve is the alarm's own OK, which cannot carry them, and a firing and a resolved alert must
  have the same labels to share a fingerprint. A rollback alarm's name (``<system>-<env>.rolled-back.<endpoint>``)
  gives both its ``mlops_endpoint`` label;
- ``INSUFFICIENT_DATA`` (a drift job stopped publishing, see compile/aws/alerting.py) resolves the
  PagerDuty incident like ``OK``;
- each SNS record is a CloudWatch alarm state change; ALARM triggers, OK resolves (PagerDuty
  ``dedup_key`` = alarm name, so a resolve closes the incident the trigger opened);
- a change to OK or INSUFFICIENT_DATA from a state other than ALARM resolves nothing and is not
  delivered (:func:`resolves_nothing`; logged as skipped). CloudWatch sets a new alarm to
  INSUFFICIENT_DATA, evaluates it, and "Any actions associated with the new state are then
  executed" (PutMetricAlarm, CloudWatch API reference), and ``OKActions`` run on a change to OK
  "from any other state" (botocore ``PutMetricAlarmInput``): without this, every alarm of a first
  apply, and every alarm created again, posted an OK to its channels for an alert that never
  fired (one per alarm: thousands for a large system), and a drift alarm posted each move between
  OK and INSUFFICIENT_DATA. Alertmanager sends a resolved notification only for an alert that fired;
- Slack gets the message Alertmanager posts on Kubernetes (:func:`_slack`), from the same labels
  and annotations as a webhook's payload;
- a webhook receives what Alertmanager's ``webhook_config`` sends on Kubernetes, so one receiver
  serves both targets (and a system promoted from one to the other): the JSON of Alertmanager's
  webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config),
  one alert per state change, built by :func:`alertmanager_payload` from the alarm and
  ``MLOPS_SYSTEM``, ``MLOPS_ENVIRONMENT`` and ``MLOPS_CHANNEL``. ALARM is ``firing``; OK and
  ``INSUFFICIENT_DATA`` are ``resolved``. The labels are the Kubernetes alert's (``alertname``,
  ``mlops_alert``, ``mlops_endpoint``, ``mlops_environment``, ``mlops_metric``, ``mlops_monitor``,
  ``mlops_system``, ``severity``) but ``namespace``, read from the alarm description the compiler
  writes (``compile/aws/alerting.py``, ``_description``; a silence alarm's, ``compile/aws/monitoring.py``,
  gives ``mlops_endpoint`` and ``mlops_monitor`` as its Kubernetes rule has them; an alarm described
  otherwise gets its name as the alert, and the severity only if the description starts as ours);
  the ``summary`` annotation is the Kubernetes rule's, the ``description`` is CloudWatch's state
  reason. What differs, and why: ``receiver`` is the channel's name (prometheus-operator prefixes it
  with ``<namespace>/<object>/``); ``externalURL`` and ``generatorURL`` link the alarm in the
  CloudWatch console; a resolved alert's ``startsAt`` is its resolution time too (the alarm's message
  does not carry when it started firing).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.error
import urllib.parse
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
    reference without key reads key ``value`` of the Secret; docs/semantics.md). Surrounding
    whitespace is dropped (see the module contract)."""
    import boto3  # available in the Lambda runtime; imported here so tests can stub it

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    if key:
        return str(json.loads(value)[key]).strip()
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.strip()
    return str(parsed[DEFAULT_KEY]).strip() if isinstance(parsed, dict) and DEFAULT_KEY in parsed else value.strip()


class RedirectRefused(urllib.error.HTTPError):
    """A receiver answered with a redirect, which is never followed (see the module contract)."""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handler, refusing every redirect instead of building the next request."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        raise RedirectRefused(req.full_url, code, msg, headers, fp)


_OPENER = urllib.request.build_opener(_RefuseRedirects)
"""The opener of every delivery: urllib's default handlers, with :class:`_RefuseRedirects` in place of
``HTTPRedirectHandler`` (``build_opener`` leaves out a default handler when a subclass of it is given)."""


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    """POST ``body`` as JSON to ``url`` (https only); the HTTP status. A status other than 2xx raises
    ``HTTPError`` (a redirect :class:`RedirectRefused`)."""
    if not url.startswith("https://"):
        raise ValueError("refusing to send a notification over a non-https URL")
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:  # https only, checked above
        return response.status


def _severity(alarm: dict[str, Any]) -> str:
    match = _SEVERITY.search(alarm.get("AlarmDescription") or "")
    return match.group(1) if match else "warning"


def _summary(alarm: dict[str, Any]) -> str:
    state = alarm.get("NewStateValue", "UNKNOWN")
    return f"[{state}] {alarm.get('AlarmName', 'alarm')}: {alarm.get('AlarmDescription') or ''}".strip()


def _slack(alarm: dict[str, Any]) -> int:
    """The message Alertmanager posts for the same alert on Kubernetes, from the compiled Slack
    templates (``compile/kubernetes/routing.py`` ``SLACK_TITLE``, ``SLACK_TEXT``; one alert per
    message): ``[FIRING:1] <alert> (<severity>)`` or ``[RESOLVED] ...`` as the attachment's title,
    the alert's summary and description as its text, Alertmanager's default colours (``danger``
    firing, ``good`` resolved)."""
    payload = alertmanager_payload(alarm)
    [alert] = payload["alerts"]
    firing = payload["status"] == "firing"
    labels, annotations = alert["labels"], alert["annotations"]
    title = f"[{payload['status'].upper()}{':1' if firing else ''}] {labels['alertname']} ({labels['severity']})"
    body: dict[str, Any] = {"attachments": [{
        "title": title, "text": f"{annotations['summary']}\n{annotations['description']}\n",
        "color": "danger" if firing else "good", "fallback": title}]}
    if os.environ.get("SLACK_CHANNEL"):
        body["channel"] = os.environ["SLACK_CHANNEL"]
    return _post(_secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None), body)


def _rollback(alarm: dict[str, Any]) -> dict[str, Any] | None:
    """The rollback notice the rollout runner published (``mlopsRollback``: its facts, summary and
    description; ``rollout/scheduled.py`` ``notice_message``), or None for any other message."""
    told = alarm.get("mlopsRollback")
    if not isinstance(told, dict) or not isinstance(told.get("facts"), dict):
        return None
    return told


def _pagerduty(alarm: dict[str, Any]) -> int:
    """PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
    ``payload.summary`` at most 1024 characters; a rollback notice's summary is its own (which version,
    share and cause) and its facts are ``custom_details``."""
    firing = alarm.get("NewStateValue") == "ALARM"
    body: dict[str, Any] = {
        "routing_key": _secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None),
        "event_action": "trigger" if firing else "resolve",
        "dedup_key": alarm.get("AlarmName", "alarm"),
    }
    if firing:
        told = _rollback(alarm)
        details = {"reason": alarm.get("NewStateReason", ""), **({k: str(v) for k, v in told["facts"].items()}
                                                                  if told else {})}
        summary = str(told["summary"]) if told else _summary(alarm)
        body["payload"] = {"summary": summary[:1024], "source": alarm.get("AlarmArn", "cloudwatch"),
                           "severity": _PAGERDUTY_SEVERITY[_severity(alarm)], "custom_details": details}
    return _post(os.environ.get("PAGERDUTY_EVENTS_URL") or PAGERDUTY_URL, body)


_DESCRIPTION = re.compile(r"^mlops-infra alert (?P<alert>\S+) \((?P<severity>info|warning|critical)\): "
                          r"(?P<metric>\S+) of endpoint (?P<endpoint>\S+) (?:above|below) .+ "
                          r"\(monitor (?P<monitor>[^\s()]+)\)$")
"""The alarm description the compiler writes: ``mlops-infra alert <alert> (<severity>): <metric> of
endpoint <endpoint> above|below <threshold> for <for> (monitor <monitor>)``
(``compile/aws/alerting.py``, ``_description``)."""
_SILENCE_DESCRIPTION = re.compile(r"^mlops-infra alert (?P<alert>\S+) \((?P<severity>info|warning|critical)\): "
                                  r"monitor (?P<monitor>[^\s()]+) \((?P<metric>\S+) of endpoint (?P<endpoint>[^\s,]+), ")
"""A silence alarm's description (``compile/aws/monitoring.py`` ``silence_alarms``: ``mlops-infra alert
monitor_silent_<monitor> (warning): monitor <monitor> (<metric> of endpoint <endpoint>, run every ...``):
the Kubernetes rule ``monitor_silent_<monitor>`` (``compile/kubernetes/monitoring.py`` ``silence_rule``)
labels it with ``mlops_endpoint`` and ``mlops_monitor`` (no ``mlops_metric``) and sums it up as
:func:`_silence_summary` does (audit notify-3)."""
_DESCRIPTION_HEAD = re.compile(r"^mlops-infra alert (?P<alert>\S+) \((?P<severity>info|warning|critical)\): ")
"""Its head, for a description edited by hand: the alert and severity, nothing more."""
_ROLLBACK_ALARM = re.compile(r"\.rolled-back\.(?P<endpoint>[^.]+)$")
"""A rollback alarm's name ends ``.rolled-back.<endpoint>`` (``compile/aws/alerting.py``
``rollback_alarm_name``): its alert's ``mlops_endpoint``, on the firing and the resolved message alike."""
ZERO_TIME = "0001-01-01T00:00:00Z"
"""The ``endsAt`` Alertmanager writes for an alert still firing (Go's zero ``time.Time``)."""
_CONSOLES = {"aws": "console.aws.amazon.com", "aws-cn": "console.amazonaws.cn",
             "aws-us-gov": "console.amazonaws-us-gov.com"}
_FNV_OFFSET, _FNV_PRIME, _LABEL_SEPARATOR = 14695981039346656037, 1099511628211, 0xFF


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of an alert's labels: 64-bit FNV-1a over each name and value, names
    sorted, each followed by the byte 0xff, written as 16 hex digits (prometheus/common
    ``model.labelSetToFingerprint`` and ``hashAdd``, ``Fingerprint.String``)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for data in (name.encode(), labels[name].encode()):
            for byte in (*data, _LABEL_SEPARATOR):
                digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def _rfc3339(stamp: Any) -> str:
    """CloudWatch's ``StateChangeTime`` (``2019-10-01T13:56:40.987+0000``) as Alertmanager writes a
    time (RFC 3339, UTC); now, when the message has none that reads."""
    try:
        moment = dt.datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        moment = dt.datetime.now(dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _console_url(alarm: dict[str, Any]) -> str:
    """The alarm in the CloudWatch console (from its ARN: ``arn:<partition>:cloudwatch:<region>:...``)."""
    parts = str(alarm.get("AlarmArn") or "").split(":")
    if len(parts) < 4 or parts[1] not in _CONSOLES or not parts[3]:
        return ""
    name = urllib.parse.quote(str(alarm.get("AlarmName") or ""), safe="")
    return f"https://{parts[3]}.{_CONSOLES[parts[1]]}/cloudwatch/home?region={parts[3]}#alarmsV2:alarm/{name}"


def _silence_summary(system: str, env: str, silent: re.Match[str]) -> str:
    """The summary of the Kubernetes rule ``monitor_silent_<monitor>`` (``compile/kubernetes/monitoring.py``
    ``silence_rule``)."""
    return (f"{system}/{env}: monitor {silent.group('monitor')} is not measuring "
            f"({silent.group('metric')} of endpoint {silent.group('endpoint')})")


def alertmanager_payload(alarm: dict[str, Any]) -> dict[str, Any]:
    """The webhook body for one alarm state change (see the module contract)."""
    system, env = os.environ.get("MLOPS_SYSTEM", ""), os.environ.get("MLOPS_ENVIRONMENT", "")
    description = str(alarm.get("AlarmDescription") or "")
    match = _DESCRIPTION.match(description)
    head = match or _DESCRIPTION_HEAD.match(description)
    alert = head.group("alert") if head else str(alarm.get("AlarmName") or "alarm")
    labels = {"alertname": alert, "mlops_alert": alert, "mlops_environment": env, "mlops_system": system,
              "severity": head.group("severity") if head else _severity(alarm)}
    silent = None if match else _SILENCE_DESCRIPTION.match(description)
    if match:
        labels.update(mlops_endpoint=match.group("endpoint"), mlops_metric=match.group("metric"),
                      mlops_monitor=match.group("monitor"))
    elif silent:
        labels.update(mlops_endpoint=silent.group("endpoint"), mlops_monitor=silent.group("monitor"))
    elif (rolled := _ROLLBACK_ALARM.search(str(alarm.get("AlarmName") or ""))) is not None and head:
        labels["mlops_endpoint"] = rolled.group("endpoint")
    labels = {name: value for name, value in sorted(labels.items()) if value}
    summary = (f"{system}/{env}: {alert} ({match.group('metric')} of endpoint {match.group('endpoint')})" if match
               else _silence_summary(system, env, silent) if silent else _summary(alarm))
    annotations = {"summary": summary, "description": str(alarm.get("NewStateReason") or "")}
    told = _rollback(alarm)
    if told is not None:  # the facts as annotations: the resolve (CloudWatch's OK) cannot carry them as labels
        annotations = {**{k: str(v) for k, v in sorted(told["facts"].items())},
                       "summary": str(told["summary"]), "description": str(told["description"])}
    status = "firing" if alarm.get("NewStateValue") == "ALARM" else "resolved"
    changed, url = _rfc3339(alarm.get("StateChangeTime")), _console_url(alarm)
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{alert}"}}', "truncatedAlerts": 0, "status": status,
            "receiver": os.environ.get("MLOPS_CHANNEL", ""), "groupLabels": {"alertname": alert},
            "commonLabels": labels, "commonAnnotations": annotations, "externalURL": url,
            "alerts": [{"status": status, "labels": labels, "annotations": annotations, "startsAt": changed,
                        "endsAt": ZERO_TIME if status == "firing" else changed, "generatorURL": url,
                        "fingerprint": fingerprint(labels)}]}


def _webhook(alarm: dict[str, Any]) -> int:
    url = os.environ.get("WEBHOOK_URL") or _secret(os.environ["SECRET_ID"], os.environ.get("SECRET_KEY") or None)
    headers = {}
    if os.environ.get("TOKEN_SECRET_ID"):
        token = _secret(os.environ["TOKEN_SECRET_ID"], os.environ.get("TOKEN_SECRET_KEY") or None)
        headers["Authorization"] = f"Bearer {token}"
    return _post(url, alertmanager_payload(alarm), headers)


SENDERS = {"slack": _slack, "pagerduty": _pagerduty, "webhook": _webhook}


def resolves_nothing(alarm: dict[str, Any]) -> bool:
    """Whether the change is to OK or INSUFFICIENT_DATA from a state other than ALARM (see the module
    contract). A message without ``OldStateValue`` (not CloudWatch's) is delivered."""
    return alarm.get("NewStateValue") != "ALARM" and alarm.get("OldStateValue", "ALARM") != "ALARM"


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Forward every SNS record of ``event`` that is not :func:`resolves_nothing`; return the HTTP
    status of each delivery."""
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
        if resolves_nothing(alarm):
            print(f"skipped {what}: from {alarm.get('OldStateValue')}, it resolves no alert", flush=True)
            continue
        try:
            status = send(alarm)
        except Exception as exc:  # log the type only: a message may carry the secret URL
            code = f" {exc.code}" if isinstance(getattr(exc, "code", None), int) else ""
            print(f"delivery of {what} failed: {type(exc).__name__}{code}", flush=True)
            raise RuntimeError(f"delivery of {what} failed: {type(exc).__name__}{code}") from None
        print(f"delivered {what}: HTTP {status}", flush=True)
        statuses.append(status)
    return {"delivered": statuses}
