"""A failed training run, and a failed launcher, are told to the job's channels, on a real Prometheus +
Alertmanager 0.25.

What runs for real: Prometheus and Alertmanager (the Debian packages), the compiled rules of
fraud-detection's dev environment with ``notify: [oncall]`` added to its training job (so the Slack
channel hears it; ``ml-team``, the channel of its ``on_alerts`` alert, is email) and the Alertmanager
configuration written from the same routes as the compiled AlertmanagerConfigs. Stand-ins: Slack (a
recording HTTP server) and kube-state-metrics, whose series are pushed to the Pushgateway, which
Prometheus scrapes with ``honor_labels`` as kube-prometheus scrapes kube-state-metrics: the
custom-resource-state series of a PyTorchJob's ``Failed`` condition (``alerting.RUN_STATE_METRICS``:
``mlops_pytorchjob_condition_time``, the condition's ``lastTransitionTime``) and the Job series of a
failed launcher Job (``kube_job_owner``, ``kube_job_failed``, ``kube_job_created``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.alerting import RUN_CONDITION_METRIC
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.prometheus import PrometheusStack, RecordingReceiver, compress_time, free_port, require

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE = "fraud-dev"
TIMING = {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}


def _system():
    text = FRAUD.read_text().replace("      on_alerts: [fraud-drift]      # retrain when this alert fires\n",
                                     "      on_alerts: [fraud-drift]\n    notify: [oncall]\n")
    assert "notify: [oncall]" in text
    return parse_system(text, "mlsystem.yaml", "dev").system


def _series(name: str, labels: dict[str, str], value: float) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "} " + str(value)


def _stack(tmp_path: Path, system, slack: RecordingReceiver) -> PrometheusStack:
    graph = compile_system(system, "dev")
    config = routing.alertmanager_config(
        routing.system_routes(system, "dev"), NAMESPACE, timing=TIMING, resolve_secret=lambda ref: slack.url("/slack"),
        global_config={"smtp_smarthost": f"127.0.0.1:{free_port()}", "smtp_from": "am@test.invalid",
                       "smtp_require_tls": False})
    return PrometheusStack(tmp_path / "stack", rules=[compress_time(rule_file(graph), 60)], alertmanager_config=config)


def _told(slack: RecordingReceiver) -> dict:
    [message] = [r.json() for r in slack.wait_for(
        1, path="/slack", timeout=120,
        where=lambda r: r.json()["attachments"][0]["title"].startswith("[FIRING:1] training_failed_retrain "))][:1]
    return message["attachments"][0]


@pytest.mark.timeout(300)
def test_a_failed_training_run_reaches_the_jobs_channel(tmp_path: Path) -> None:
    require()
    with RecordingReceiver() as slack, _stack(tmp_path, _system(), slack) as stack:
        run = {"namespace": NAMESPACE, "name": "retrain-0a1b2c3d4e", "training_job": "retrain",
               "customresource_group": "kubeflow.org", "customresource_kind": "PyTorchJob",
               "customresource_version": "v1"}
        now = int(time.time())
        stack.push("kube-state-metrics", "\n".join([
            _series(RUN_CONDITION_METRIC, {**run, "type": "Created", "status": "True"}, now - 3600),
            _series(RUN_CONDITION_METRIC, {**run, "type": "Failed", "status": "True"}, now - 30)]))
        told = _told(slack)
        assert told["title"] == "[FIRING:1] training_failed_retrain (warning)"
        assert "a run of training job retrain failed" in told["text"]
        assert "This alert goes to the system's channels: oncall, ml-team." in told["text"]


@pytest.mark.timeout(300)
def test_a_failed_launcher_job_reaches_the_jobs_channel(tmp_path: Path) -> None:
    require()
    with RecordingReceiver() as slack, _stack(tmp_path, _system(), slack) as stack:
        job = {"namespace": NAMESPACE, "job_name": "train-retrain-29420000"}
        stack.push("kube-state-metrics", "\n".join([
            _series("kube_job_owner", {**job, "owner_kind": "CronJob", "owner_name": "train-retrain",
                                       "owner_is_controller": "true"}, 1),
            _series("kube_job_failed", {**job, "condition": "true"}, 1),
            _series("kube_job_failed", {**job, "condition": "false"}, 0),
            _series("kube_job_created", job, int(time.time()) - 120)]))
        told = _told(slack)
        assert "launcher Job of CronJob train-retrain" in told["text"]
