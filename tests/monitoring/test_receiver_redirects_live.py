"""A receiver that answers with a redirect, on a real Alertmanager (audit secrets-3).

What runs for real: Alertmanager (the Debian package) with the configuration written from the same
routes as the compiled AlertmanagerConfigs (``routing.alertmanager_config``), so the webhook receiver with
a bearer token has ``http_config.follow_redirects: false`` (``routing.FOLLOW_REDIRECTS``) and the Slack and
PagerDuty receivers keep the global ``http_config``. Stand-ins: the webhook, Slack and PagerDuty endpoints
(a recording HTTP receiver on 127.0.0.1) answering 302 with a ``Location`` on a second recording server,
as a receiver that moved, or one that wants the token, would.

Without the setting Alertmanager followed the webhook's 302: the second server got a body-less GET (the
alert never arrived) carrying the bearer token (Alertmanager 0.25 re-adds it to every request), and the
notification counted as sent. Asserted: the webhook got the POST with its token, the second server got
nothing for it, and ``alertmanager_notifications_failed_total{integration="webhook"}`` counts the failure.
Slack and PagerDuty, which send no token, still follow (the documented trade-off, docs/compile-kubernetes.md):
the second server gets their body-less GETs, with no ``Authorization`` header.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_infra.compile.kubernetes import routing
from mlops_infra.spec import parse_system
from tests.support.prometheus import PrometheusStack, RecordingReceiver, http, require, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fraud-dev"
TOKEN = "redirect-test-bearer-token-0042"
ALERT = "scorer-latency"
INTEGRATIONS = {"webhook": "/hooks", "slack": "/slack", "pagerduty": "/pagerduty"}


class RedirectingReceiver(RecordingReceiver):
    """A :class:`RecordingReceiver` whose every answer is ``status`` with ``Location: <location><path>``."""

    def __init__(self, location: str, status: int = 302) -> None:
        self.location = location
        super().__init__(status=status)

    def _handler(self) -> Any:
        base, receiver = super()._handler(), self

        class Handler(base):  # type: ignore[misc, valid-type]
            def send_response(self, code: int, message: str | None = None) -> None:
                super().send_response(code, message)
                self.send_header("Location", receiver.location + self.path)

        return Handler


def _system() -> Any:
    """fraud-detection with a webhook (secret URL, bearer token) and a PagerDuty channel told of
    ``scorer-latency`` besides the on-call Slack channel."""
    doc = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    doc["channels"] += [{"name": "hooks", "kind": "webhook", "url": {"secret": "hook-url"},
                         "token": {"secret": "hook-token"}},
                        {"name": "pd", "kind": "pagerduty", "routing_key": {"secret": "pd-key"}}]
    [alert] = [a for a in doc["alerts"] if a["name"] == ALERT]
    alert["notify"] = ["oncall", "hooks", "pd"]
    return parse_system(yaml.safe_dump(doc, sort_keys=False), "mlsystem.yaml", "dev").system


def _failed(stack: PrometheusStack) -> dict[str, float]:
    """``alertmanager_notifications_failed_total`` per integration, from Alertmanager's /metrics."""
    _, body = http("GET", f"{stack.alertmanager_url}/metrics")
    out: dict[str, float] = {}
    for line in body.decode().splitlines():
        match = re.match(r'alertmanager_notifications_failed_total\{[^}]*integration="([a-z]+)"[^}]*\} (\S+)', line)
        if match:
            out[match.group(1)] = out.get(match.group(1), 0.0) + float(match.group(2))
    return out


@pytest.mark.timeout(180)
def test_a_webhook_with_a_token_does_not_follow_a_redirect(tmp_path: Path) -> None:
    require("alertmanager")
    with RecordingReceiver() as elsewhere:
        redirector = RedirectingReceiver(elsewhere.url("/collected"))
        secrets = {"hook-url": redirector.url(INTEGRATIONS["webhook"]), "hook-token": TOKEN, "pd-key": "R0UT1NGKEY42",
                   "slack-oncall-webhook": redirector.url(INTEGRATIONS["slack"]), "mlops-retrain-trigger-token": "t"}
        config = routing.alertmanager_config(
            routing.system_routes(_system(), "dev"), NAMESPACE, resolve_secret=lambda ref: secrets[ref.secret],
            timing={"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"},
            global_config={"smtp_smarthost": "127.0.0.1:9", "smtp_from": "alerts@example.com",
                           "pagerduty_url": redirector.url(INTEGRATIONS["pagerduty"])})
        try:
            with PrometheusStack(tmp_path, alertmanager_config=config) as stack:
                labels = {"alertname": ALERT, "mlops_system": "fraud-detection", "mlops_environment": "dev",
                          "namespace": NAMESPACE, "severity": "critical"}
                status, _ = http("POST", f"{stack.alertmanager_url}/api/v2/alerts", json.dumps([{"labels": labels}]))
                assert status == 200
                for path in INTEGRATIONS.values():
                    redirector.wait_for(1, path=path, timeout=60)
                followed = {path: elsewhere.wait_for(1, path=f"/collected{path}", timeout=60)[0]
                            for path in (INTEGRATIONS["slack"], INTEGRATIONS["pagerduty"])}
                time.sleep(2)  # a followed webhook redirect would have arrived too (group_interval 1s)
                hook_elsewhere = elsewhere.received(f"/collected{INTEGRATIONS['webhook']}")
                assert hook_elsewhere == [], [(r.method, r.headers.get("Authorization")) for r in hook_elsewhere]
                wait_until(lambda: _failed(stack).get("webhook", 0) >= 1, timeout=60,
                           what="a failed webhook notification", logs=stack.logs)
        finally:
            redirector.close()
    hook = redirector.received(INTEGRATIONS["webhook"])[0]
    assert hook.method == "POST" and hook.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hook.json()["alerts"][0]["labels"]["alertname"] == ALERT
    for request in followed.values():  # the trade-off: no token, and no alert either
        assert request.method == "GET" and request.body == b"" and "Authorization" not in request.headers
