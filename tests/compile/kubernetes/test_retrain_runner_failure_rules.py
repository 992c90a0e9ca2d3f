"""Kubernetes: the retrain trigger's receiver and the rollout runner's Jobs have failure alerts, told to whom
AWS tells (audit notify-1; ``alerting.notify_failure_rules``, ``routing.retrain_audience``/``runner_audience``).

The rules are run by ``promtool test rules`` over the compiled fraud-detection dev rule file, fed:
Alertmanager's failed-notification counters as Prometheus scrapes them (0.27+ with ``receiver_name``
and 0.26's ``reason``; 0.25 with ``integration`` only: ``notify/notify.go`` ``NewMetrics``,
``notify/metrics.go`` ``InitializeFor``), and kube-state-metrics' Job series (``kube_job_owner``,
``kube_job_failed{condition}``, ``kube_job_created``: kubernetes/kube-state-metrics
``docs/metrics/workload/job-metrics.md``, STABLE; ``internal/store/job.go``: one ``kube_job_failed``
series per condition status, 1 for the Job's ``Failed`` condition's own). A CronJob's Job is named
``<cronjob>-<scheduled minute>`` and owned by the CronJob as its controller (kubernetes
``pkg/controller/cronjob/utils.go`` ``getJobFromTemplate2``: ``metav1.NewControllerRef(cj, controllerKind)``).
The same failures on a real Alertmanager: tests/monitoring/test_retrain_and_runner_failures_live.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import alerting, rollout_runner, routing
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import load_system, parse_system
from tests.support.kube_cases import by_kind
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[3]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE = "fraud-dev"
RETRAIN_RECEIVER = "fraud-dev/retrain-retrain/retrain-retrain"
KSM = {"instance": "10.0.0.9:8080", "job": "kube-state-metrics"}
"""The target labels of kube-state-metrics' series (kube-prometheus scrapes it with honorLabels: its
``namespace`` label is the Job's)."""
AM = {"instance": "10.0.0.7:9093", "job": "alertmanager-main", "namespace": "monitoring"}


def _rules() -> dict[str, dict[str, Any]]:
    """The notify-failure rules: PrometheusRule notify-failures, and each retrain trigger's in its own
    (notify-failures-retrain-<job>: notify-failures must not grow with the jobs)."""
    graph = compile_system(load_system(FRAUD, "dev").system, "dev")
    names = {alerting.NOTIFY_FAILURES_RULE, alerting.retrain_failures_rule_name("retrain")}
    objects = {o["metadata"]["name"]: o for o in by_kind(graph, "PrometheusRule") if o["metadata"]["name"] in names}
    assert set(objects) == names
    [retrain] = objects[alerting.retrain_failures_rule_name("retrain")]["spec"]["groups"][0]["rules"]
    assert retrain["alert"] == "notify_failed_retrain_retrain"
    return {r["alert"]: r for o in objects.values() for r in o["spec"]["groups"][0]["rules"]}


def _routes(text: str) -> dict[str, set[str]]:
    system = parse_system(text, "mlsystem.yaml", "dev").system
    return {r.receiver.name: set(r.alertnames) for r in routing.system_routes(system, "dev")}


def test_the_retrain_receiver_has_its_own_alert_told_to_the_jobs_alert_channels() -> None:
    """AWS: the retrain gate's failure alarm tells the channels of the job's ``on_alerts`` alerts
    (docs/compile-aws.md); fraud-drift notifies ml-team."""
    system = load_system(FRAUD, "dev").system
    rule = _rules()["notify_failed_retrain_retrain"]
    assert rule["expr"] == ('sum by (integration, receiver_name) (increase(alertmanager_notifications_failed_total'
                            f'{{receiver_name="{RETRAIN_RECEIVER}"}}[15m])) > 0')
    config = routing.alertmanager_config(routing.system_routes(system, "dev"), NAMESPACE)
    assert RETRAIN_RECEIVER in {r["name"] for r in config["receivers"]}  # as the operator names it (amcfg.go)
    assert rule["labels"] == {"mlops_alert": "notify_failed_retrain_retrain", "mlops_environment": "dev",
                              "mlops_system": "fraud-detection", "mlops_training_job": "retrain",
                              "namespace": NAMESPACE, "severity": "warning"}
    assert rule["annotations"]["mlops_notify"] == "ml-team"
    assert "fraud-drift" in rule["annotations"]["description"]
    assert "mlops-retrain-trigger-token" in rule["annotations"]["description"]
    # A missing Secret gives no 503: the operator rejects the AlertmanagerConfig (audits k8smon-5, secrets-4).
    assert "mlops-retrain-trigger-token is missing" not in rule["annotations"]["description"]
    assert "is empty or not yet mounted" in rule["annotations"]["description"]
    assert "prometheus-operator rejects this trigger's AlertmanagerConfig" in rule["annotations"]["description"]
    routes = _routes(FRAUD.read_text())
    assert "notify_failed_retrain_retrain" in routes["ml-team"] and "notify_failed_retrain_retrain" not in routes["oncall"]
    assert not any(n.startswith("notify_fail") for n in routes["retrain-retrain"])


def test_a_retrain_receiver_makes_the_webhook_integration_watched_without_a_webhook_channel() -> None:
    rules = _rules()
    assert {c.kind for c in load_system(FRAUD, "dev").system.channels} == {"slack", "email"}
    rule = rules["notify_failed_webhook_receivers"]
    assert 'integration="webhook", receiver_name=""' in rule["expr"]
    assert "the retrain trigger of each training job with on_alerts" in rule["annotations"]["description"]
    routes = _routes(FRAUD.read_text())
    assert {name for name, told in routes.items() if "notify_failed_webhook_receivers" in told} == {"oncall", "ml-team"}


def test_the_runner_alert_reads_its_cronjobs_failed_jobs_and_goes_to_the_rollback_channels() -> None:
    """AWS: the runner's failure alarm tells the channels of the canaries' ``rollback_on`` alerts; scorer's
    (scorer-latency, scorer-errors) notify oncall."""
    assert alerting.RUNNER_CRONJOB == rollout_runner.NAME
    graph = compile_system(load_system(FRAUD, "dev").system, "dev")
    assert [o["metadata"]["name"] for o in by_kind(graph, "CronJob") if o["metadata"]["name"] == rollout_runner.NAME]
    rule = _rules()["rollout_runner_failed"]
    assert rule["labels"]["severity"] == "critical" and rule["annotations"]["mlops_notify"] == "oncall"
    assert f'owner_kind="CronJob", owner_name="{rollout_runner.NAME}"' in rule["expr"]
    routes = _routes(FRAUD.read_text())
    assert {name for name, told in routes.items() if "rollout_runner_failed" in told} == {"oncall"}


def test_without_a_driven_rollout_there_is_no_runner_alert() -> None:
    text = FRAUD.read_text().replace("      strategy: canary ", "      strategy: all_at_once ", 1)
    text = text.replace("      steps: [2, 5, 10, 25, 75, 100]", "", 1)
    assert "rollout_runner_failed" not in {a for told in _routes(text).values() for a in told}


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    text = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{text}}}", "values": values}


def _job(job_name: str, owner: str, failed: bool, created: int, namespace: str = NAMESPACE) -> list[dict[str, str]]:
    """kube-state-metrics' series of one Job, sampled 60 times: failed from the 3rd sample on, or succeeded."""
    job = {**KSM, "namespace": namespace, "job_name": job_name}
    status = "0 0 1x57" if failed else "0x59"
    return [_series("kube_job_owner", {**job, "owner_kind": "CronJob", "owner_name": owner,
                                       "owner_is_controller": "true"}, "1x59"),
            _series("kube_job_failed", {**job, "condition": "true"}, status),
            _series("kube_job_failed", {**job, "condition": "false"}, "0x59"),
            _series("kube_job_created", job, f"{created}x59")]


def _firing(rule: dict[str, Any], **extra: str) -> list[dict[str, Any]]:
    return [{"exp_labels": {**rule["labels"], **extra}, "exp_annotations": rule["annotations"]}]


def _promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess:
    graph = compile_system(load_system(FRAUD, "dev").system, "dev")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule_file(graph), sort_keys=False))
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": tests}, sort_keys=False))
    return subprocess.run([shutil.which("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)


def test_promtool_the_runner_and_retrain_alerts_fire_on_their_failures_only(tmp_path: Path) -> None:
    require("promtool")
    rules = _rules()
    runner, retrain = rules["rollout_runner_failed"], rules["notify_failed_retrain_retrain"]
    webhook = rules["notify_failed_webhook_receivers"]
    window = alerting.RUNNER_FAILURE_WINDOW_SECONDS // 60  # minutes
    runner_job = f"{rollout_runner.NAME}-29420000"
    failures = "0 0 1 1 2x56"  # the counter, sampled every minute: failures at 2m and 4m
    tests = [
        {"name": "a failed runner Job fires until it is older than the window", "interval": "1m",
         "input_series": _job(runner_job, rollout_runner.NAME, True, 60),
         "alert_rule_test": [
             {"eval_time": "1m", "alertname": "rollout_runner_failed", "exp_alerts": []},
             {"eval_time": "3m", "alertname": "rollout_runner_failed", "exp_alerts": _firing(runner)},
             {"eval_time": f"{window}m", "alertname": "rollout_runner_failed", "exp_alerts": _firing(runner)},
             {"eval_time": f"{window + 2}m", "alertname": "rollout_runner_failed", "exp_alerts": []}]},
        {"name": "a runner Job that succeeds, a failed Job of another CronJob or namespace fire nothing",
         "interval": "1m",
         "input_series": [*_job(f"{rollout_runner.NAME}-29420001", rollout_runner.NAME, False, 60),
                          *_job("train-retrain-29420000", "train-retrain", True, 60),
                          *_job(runner_job, rollout_runner.NAME, True, 60, namespace="other-dev")],
         "alert_rule_test": [{"eval_time": "5m", "alertname": "rollout_runner_failed", "exp_alerts": []}]},
        {"name": "Alertmanager (receiver_name) giving up on the retrain receiver fires its alert", "interval": "1m",
         "input_series": [
             _series("alertmanager_notifications_total",
                     {**AM, "integration": "webhook", "receiver_name": RETRAIN_RECEIVER}, "0+1x59"),
             _series("alertmanager_notifications_failed_total",
                     {**AM, "integration": "webhook", "receiver_name": RETRAIN_RECEIVER, "reason": "serverError"},
                     failures)],
         "alert_rule_test": [
             {"eval_time": "3m", "alertname": "notify_failed_retrain_retrain",
              "exp_alerts": _firing(retrain, integration="webhook", receiver_name=RETRAIN_RECEIVER)},
             {"eval_time": "3m", "alertname": "notify_failed_webhook_receivers", "exp_alerts": []}]},
        {"name": "Alertmanager 0.25 giving up on a webhook (the retrain receiver) fires the integration's alert",
         "interval": "1m",
         "input_series": [
             _series("alertmanager_notifications_total", {**AM, "integration": "webhook"}, "0+1x59"),
             _series("alertmanager_notifications_failed_total", {**AM, "integration": "webhook"}, failures)],
         "alert_rule_test": [
             {"eval_time": "3m", "alertname": "notify_failed_webhook_receivers",
              "exp_alerts": _firing(webhook, integration="webhook")},
             {"eval_time": "3m", "alertname": "notify_failed_retrain_retrain", "exp_alerts": []}]},
    ]
    tested = _promtool(tmp_path, tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr
