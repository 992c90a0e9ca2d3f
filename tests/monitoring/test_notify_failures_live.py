"""A channel that cannot deliver raises an alert to the other channels, on a real Alertmanager 0.25 + Prometheus.

What runs for real: Alertmanager and Prometheus (the Debian packages: Alertmanager 0.25, whose
notification metrics carry ``integration`` only, no ``receiver_name``), Prometheus scraping the
Alertmanager as kube-prometheus' ServiceMonitor does, the compiled PrometheusRule ``notify-failures``
(``alerting.compile_notify_failures``, durations compressed 60x: ``[15m]`` -> ``[15s]``) and the
Alertmanager configuration written from the same routes as the compiled AlertmanagerConfigs
(``routing.alertmanager_config``). Stand-ins: the Slack channel's webhook URL is a closed port on
127.0.0.1 (connection refused: a Slack outage, a dead proxy), the webhook channel a recording HTTP server.

- ``scorer-latency`` (routed to Slack only) cannot be delivered: Alertmanager retries until the flush's
  timeout (10 s at least), then counts the failure in ``alertmanager_notifications_failed_total{integration="slack"}``;
  ``notify_failed_slack_receivers`` fires and reaches the webhook channel, and the per-channel
  ``notify_failed_oncall`` (which needs ``receiver_name``) does not fire.
- Without the Alertmanager scraped, ``notify_failures_unobserved`` fires after its (compressed) ``for``
  and reaches the webhook channel: the failure rules cannot silently never fire.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.alerting import NOTIFY_FAILURES_RULE
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.prometheus import (
    PrometheusStack,
    RecordingReceiver,
    compress_time,
    free_port,
    http,
    require,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fraud-dev"
HOOK_URL = "https://hooks.example.com/ml-team"
TIMING = {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}


def _system() -> Any:
    """fraud-detection with its email channel ml-team made a webhook channel (a plain URL), so that
    every notify-failure alert about Slack has a receiver here that works."""
    doc = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    doc["channels"] = [c if c["name"] != "ml-team" else {"name": "ml-team", "kind": "webhook", "url": HOOK_URL}
                       for c in doc["channels"]]
    return parse_system(yaml.safe_dump(doc, sort_keys=False), "mlsystem.yaml", "dev").system


def _stack(tmp_path: Path, hooks: RecordingReceiver, *, scrape_alertmanager: bool) -> PrometheusStack:
    system = _system()
    [group] = [g for g in rule_file(compile_system(system, "dev"))["groups"] if g["name"] == NOTIFY_FAILURES_RULE]
    closed = f"http://127.0.0.1:{free_port()}/slack"  # nothing listens: connection refused
    secrets = {"slack-oncall-webhook": closed, "mlops-retrain-trigger-token": "t"}
    config = routing.alertmanager_config(routing.system_routes(system, "dev"), NAMESPACE,
                                         resolve_secret=lambda ref: secrets[ref.secret],
                                         urls={HOOK_URL: hooks.url("/ml-team")}, timing=TIMING)
    return PrometheusStack(tmp_path, rules=[compress_time({"groups": [group]}, 60)], alertmanager_config=config,
                           scrape_alertmanager=scrape_alertmanager)


def _told(hooks: RecordingReceiver, alertname: str) -> list[dict[str, Any]]:
    return [a for r in hooks.received("/ml-team") for a in r.json()["alerts"]
            if a["labels"]["alertname"] == alertname and a["status"] == "firing"]


@pytest.mark.timeout(240)
def test_a_slack_channel_that_cannot_deliver_is_told_to_the_other_channel(tmp_path: Path) -> None:
    require()
    with RecordingReceiver() as hooks, _stack(tmp_path, hooks, scrape_alertmanager=True) as stack:
        labels = {"alertname": "scorer-latency", "mlops_system": "fraud-detection", "mlops_environment": "dev",
                  "namespace": NAMESPACE, "severity": "critical"}
        status, _ = http("POST", f"{stack.alertmanager_url}/api/v2/alerts", json.dumps([{"labels": labels}]))
        assert status == 200
        stack.wait_for_value('sum(alertmanager_notifications_failed_total{integration="slack"})', lambda v: v >= 1,
                             timeout=90)
        hooks.wait_for(1, path="/ml-team", timeout=90,
                       where=lambda r: any(a["labels"]["alertname"] == "notify_failed_slack_receivers"
                                           for a in r.json()["alerts"]))
        [told] = _told(hooks, "notify_failed_slack_receivers")
        assert told["labels"] == {"alertname": "notify_failed_slack_receivers", "integration": "slack",
                                  "mlops_alert": "notify_failed_slack_receivers", "mlops_environment": "dev",
                                  "mlops_system": "fraud-detection", "namespace": NAMESPACE, "severity": "critical"}
        assert "which channel is unknown" in told["annotations"]["summary"]
        assert "oncall" in told["annotations"]["description"]
        firing = {a["labels"]["alertname"] for a in stack.alerts("firing")}
        assert "notify_failed_slack_receivers" in firing
        # 0.25 has no receiver_name: the per-channel alert cannot fire, and the guard sees the metrics
        assert not firing & {"notify_failed_oncall", "notify_failed_ml-team", "notify_failures_unobserved"}, firing
        assert not _told(hooks, "scorer-latency")  # routed to Slack only: lost, which is the point


@pytest.mark.timeout(180)
def test_without_the_alertmanager_scraped_the_guard_fires(tmp_path: Path) -> None:
    require()
    with RecordingReceiver() as hooks, _stack(tmp_path, hooks, scrape_alertmanager=False) as stack:
        hooks.wait_for(1, path="/ml-team", timeout=90,
                       where=lambda r: any(a["labels"]["alertname"] == "notify_failures_unobserved"
                                           for a in r.json()["alerts"]))
        [told] = _told(hooks, "notify_failures_unobserved")
        assert told["labels"]["severity"] == "warning" and told["labels"]["namespace"] == NAMESPACE
        assert "ServiceMonitor alertmanager" in told["annotations"]["description"]
        assert wait_until(lambda: stack.value("absent(alertmanager_notifications_total)") == 1.0, timeout=10,
                          what="no Alertmanager series in Prometheus")
