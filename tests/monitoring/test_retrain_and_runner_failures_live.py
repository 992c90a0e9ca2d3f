"""A retrain trigger that refuses alerts, and a rollout runner whose Jobs fail, are told to the channels
(audit notify-1), on a real Alertmanager 0.25 + Prometheus.

What runs for real: Alertmanager and Prometheus (the Debian packages; Alertmanager 0.25 labels its
notification metrics with ``integration`` only), Prometheus scraping the Alertmanager as kube-prometheus'
ServiceMonitor does, the compiled rules of fraud-detection's dev environment as shipped (no webhook
channel: ``oncall`` is Slack, ``ml-team`` email; durations compressed 60x) and the Alertmanager
configuration written from the same routes as the compiled AlertmanagerConfigs; the shipped retrain
trigger (``scripts/launcher.py serve``, from the compiled ConfigMap) without its token Secret, which
answers 503 (docs/compile-kubernetes.md: the first apply does not wait for the Secret).
Stand-ins: Slack (a recording HTTP server), the SMTP server (a closed port: ml-team's email fails
too, which the other rules report, not compared here), and kube-state-metrics, whose series
(``kube_job_owner``, ``kube_job_failed``, ``kube_job_created``: kubernetes/kube-state-metrics
``docs/metrics/workload/job-metrics.md``, ``internal/store/job.go``) are pushed to the Pushgateway,
which Prometheus scrapes with ``honor_labels`` as kube-prometheus' ServiceMonitor scrapes
kube-state-metrics.

- ``fraud-drift`` reaches the retrain trigger, which answers 503; Alertmanager gives up
  (``alertmanager_notifications_failed_total{integration="webhook"}``), and
  ``notify_failed_webhook_receivers``, naming the retrain triggers among the webhook receivers, reaches
  the Slack channel. Before the fix the system had no webhook channel, so no rule read that counter.
- A failed Job of CronJob ``mlops-rollout-runner`` fires ``rollout_runner_failed``, which reaches
  ``oncall`` (the channel of the canary's ``rollback_on`` alerts, as the AWS runner's failure alarm).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.alerting import RUNNER_CRONJOB
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import load_system
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
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE = "fraud-dev"
TIMING = {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}


def _compiled(graph, kind: str, name: str) -> dict[str, Any]:
    return next(r.inputs for r in graph.resources if r.type.endswith(f":{kind}") and r.inputs["metadata"]["name"] == name)


def _trigger(graph, workdir: Path) -> tuple[subprocess.Popen, str]:
    """The compiled retrain trigger with its routes, but no token file (its Secret not created yet)."""
    (workdir / "launcher.py").write_text(_compiled(graph, "ConfigMap", "mlops-scripts")["data"]["launcher.py"])
    templates = workdir / "templates"
    templates.mkdir()
    (templates / "retrain.json").write_text(_compiled(graph, "ConfigMap", "train-retrain")["data"]["pytorchjob.json"])
    port = free_port()
    argv = [sys.executable, str(workdir / "launcher.py"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--templates", str(templates), "--routes", json.dumps({"retrain": ["fraud-drift"]}),
            "--token-file", str(workdir / "absent-token")]
    with (workdir / "trigger.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http("GET", url + "/healthz", timeout=1)[0] == 200, timeout=20, what="the retrain trigger")
    return process, url


def _firing_to_slack(slack: RecordingReceiver, alertname: str) -> Any:
    return slack.wait_for(1, path="/slack", timeout=120,
                          where=lambda r: r.json()["attachments"][0]["title"].startswith(f"[FIRING:1] {alertname} "))


def _stack(tmp_path: Path, graph, routes, slack: RecordingReceiver, urls: dict[str, str]) -> PrometheusStack:
    config = routing.alertmanager_config(
        routes, NAMESPACE, urls=urls, timing=TIMING,
        resolve_secret=lambda ref: TOKEN if ref.secret == "mlops-retrain-trigger-token" else slack.url("/slack"),
        global_config={"smtp_smarthost": f"127.0.0.1:{free_port()}", "smtp_from": "am@test.invalid",
                       "smtp_require_tls": False})
    return PrometheusStack(tmp_path / "stack", rules=[compress_time(rule_file(graph), 60)], alertmanager_config=config,
                           scrape_alertmanager=True)


TOKEN = "the-token-alertmanager-sends"


@pytest.mark.timeout(300)
def test_a_retrain_trigger_that_refuses_alerts_is_told_to_the_channels(tmp_path: Path) -> None:
    require()
    system = load_system(FRAUD, "dev").system
    assert {c.kind for c in system.channels} == {"slack", "email"}  # no webhook channel
    graph = compile_system(system, "dev")
    routes = routing.system_routes(system, "dev")
    in_cluster = next(r.receiver.url for r in routes if r.config == "retrain-retrain")
    trigger, trigger_url = _trigger(graph, tmp_path)
    try:
        with RecordingReceiver() as slack, _stack(tmp_path, graph, routes, slack,
                                                  {in_cluster: f"{trigger_url}/v1/alerts/retrain"}) as stack:
            labels = {"alertname": "fraud-drift", "mlops_alert": "fraud-drift", "mlops_system": "fraud-detection",
                      "mlops_environment": "dev", "namespace": NAMESPACE, "severity": "warning"}
            status, _ = http("POST", f"{stack.alertmanager_url}/api/v2/alerts", json.dumps([{"labels": labels}]))
            assert status == 200
            stack.wait_for_value('sum(alertmanager_notifications_failed_total{integration="webhook"})',
                                 lambda v: v >= 1, timeout=90)
            [message] = [r.json() for r in _firing_to_slack(slack, "notify_failed_webhook_receivers")][:1]
            text = message["attachments"][0]["text"]
            assert "the retrain trigger of each training job with on_alerts" in text, text
            assert b'" 503 ' in (tmp_path / "trigger.log").read_bytes()
    finally:
        trigger.terminate()
        trigger.wait(timeout=10)


@pytest.mark.timeout(300)
def test_a_failed_rollout_runner_job_is_told_to_the_rollback_channels(tmp_path: Path) -> None:
    require()
    system = load_system(FRAUD, "dev").system
    graph = compile_system(system, "dev")
    with RecordingReceiver() as slack, _stack(tmp_path, graph, routing.system_routes(system, "dev"), slack, {}) as stack:
        job = {"namespace": NAMESPACE, "job_name": f"{RUNNER_CRONJOB}-29420000"}
        stack.push("kube-state-metrics", "\n".join([
            _series("kube_job_owner", {**job, "owner_kind": "CronJob", "owner_name": RUNNER_CRONJOB,
                                       "owner_is_controller": "true"}, 1),
            _series("kube_job_failed", {**job, "condition": "true"}, 1),
            _series("kube_job_failed", {**job, "condition": "false"}, 0),
            _series("kube_job_failed", {**job, "condition": "unknown"}, 0),
            _series("kube_job_created", job, int(time.time()) - 60)]))
        [runner] = [r.json() for r in _firing_to_slack(slack, "rollout_runner_failed")][:1]
        assert runner["attachments"][0]["title"] == "[FIRING:1] rollout_runner_failed (critical)"
        assert f"Jobs of CronJob {RUNNER_CRONJOB} in namespace {NAMESPACE}" in runner["attachments"][0]["text"]


def _series(name: str, labels: dict[str, str], value: float) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "} " + str(value)
