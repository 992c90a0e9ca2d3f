"""``training_failed_<job>``: a failed training run (or its launcher) is told, on Kubernetes.

Before this rule a scheduled or triggered run that failed was told to nobody. The rule's behaviour
over kube-state-metrics' series is pinned by its promtool tests (``rule_tests.training_failure_tests``,
run here and in test_rule_tests.py) and on a real Prometheus + Alertmanager in
tests/monitoring/test_training_failures_live.py; here: the object, who it tells, its routing, its
schema, the kube-state-metrics configuration the docs give, and a wrong window failing its tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from mlops_infra.compile.kubernetes import alerting, routing
from mlops_infra.compile.kubernetes.rule_tests import (
    RULE_FILE,
    TRAINING_FAILURES_FILE,
    kube_target,
    rule_file,
    to_yaml,
    training_failure_tests,
)
from mlops_infra.spec import parse_system
from tests.support import crds
from tests.support.kube_cases import REFERENCE, by_kind, compile_text
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[3]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

JOBS = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: trains, owner: a@example.com}
clusters:
  - {name: gpu, accelerator: {type: T4, count: 1}, nodes: {min: 0, max: 2}, spot: false}
training_jobs:
  - name: nightly
    cluster: gpu
    image: registry.example.com/train:1.0
    triggers: {schedule: "0 3 * * *"}
    notify: [owners]
  - name: silent
    cluster: gpu
    image: registry.example.com/train:1.0
    triggers: {schedule: "0 4 * * *"}
  - name: by-hand
    cluster: gpu
    image: registry.example.com/train:1.0
channels:
  - {name: owners, kind: email, address: owners@example.com}
  - {name: pager, kind: pagerduty, routing_key: {secret: pd-key}}
environments:
  dev:
    target: {kind: kubernetes, context: kind, namespace: trains-dev}
"""


def _rules(graph) -> dict[str, dict]:
    out = {}
    for obj in by_kind(graph, "PrometheusRule"):
        for group in obj["spec"]["groups"]:
            for rule in (r for r in group["rules"] if "alert" in r):  # not the recording rules
                out[rule["alert"]] = {**rule, "_object": obj["metadata"]["name"]}
    return out


def test_the_reference_tells_the_channels_of_the_retrain_alerts() -> None:
    rules = _rules(compile_text(REFERENCE.read_text()))
    rule = rules["training_failed_retrain"]
    assert rule["_object"] == "training-failed-retrain"
    assert rule["annotations"]["mlops_notify"] == "ml-team"  # fraud-drift's channel
    assert rule["labels"] == {"mlops_alert": "training_failed_retrain", "mlops_environment": "dev",
                              "mlops_system": "fraud-detection", "mlops_training_job": "retrain",
                              "namespace": "fraud-dev", "severity": "warning"}
    expr = rule["expr"]
    assert 'owner_kind="CronJob", owner_name="train-retrain"' in expr
    assert 'mlops_pytorchjob_condition_time{namespace="fraud-dev", training_job="retrain", type="Failed", ' \
           'status="True"}' in expr
    assert "for" not in rule and "keep_firing_for" not in rule


def test_notify_names_channels_and_a_job_nobody_hears_gets_no_rule() -> None:
    graph = compile_text(JOBS)
    rules = _rules(graph)
    assert rules["training_failed_nightly"]["annotations"]["mlops_notify"] == "owners"
    assert "training_failed_silent" not in rules and "training_failed_by-hand" not in rules
    [obj] = [o for o in by_kind(graph, "PrometheusRule") if o["metadata"]["name"] == "training-failed-nightly"]
    assert obj["metadata"]["labels"]["mlops-infra/address"] == "training_jobs.nightly"
    assert crds.errors(obj) == []
    system = parse_system(JOBS, "mlsystem.yaml", "dev").system
    told = {r.receiver.name: set(r.alertnames) for r in routing.system_routes(system, "dev")}
    assert "training_failed_nightly" in told["owners"] and "training_failed_nightly" not in told["pager"]


def test_notify_comes_first_then_the_on_alerts_channels() -> None:
    text = FRAUD.read_text().replace("      on_alerts: [fraud-drift]      # retrain when this alert fires\n",
                                     "      on_alerts: [fraud-drift]\n    notify: [oncall]\n")
    assert "notify: [oncall]" in text
    rule = _rules(compile_text(text))["training_failed_retrain"]
    assert rule["annotations"]["mlops_notify"] == "oncall,ml-team"


def test_the_docs_give_the_kube_state_metrics_configuration_the_rule_reads() -> None:
    text = (REPO / "docs" / "compile-kubernetes.md").read_text()
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in text.split("```yaml\n")[1:]]
    assert alerting.RUN_STATE_METRICS in blocks


def _promtool(tmp_path: Path, rules: dict) -> subprocess.CompletedProcess:
    system = parse_system(JOBS, "mlsystem.yaml", "dev").system
    kube = kube_target(system, "dev")
    job = system.item("training_jobs", "nightly")
    tests = {"rule_files": [RULE_FILE], "evaluation_interval": "30s",
             "tests": training_failure_tests(kube, job, routing.training_audience(system, job))}
    (tmp_path / RULE_FILE).write_text(to_yaml(rules))
    (tmp_path / TRAINING_FAILURES_FILE).write_text(to_yaml(tests))
    return subprocess.run(["promtool", "test", "rules", TRAINING_FAILURES_FILE], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_promtool_runs_the_training_failure_tests_and_a_wrong_window_fails_them(tmp_path: Path) -> None:
    require("promtool")
    rules = rule_file(compile_text(JOBS))
    passed = _promtool(tmp_path, rules)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    text = to_yaml(rules)
    for right, wrong in ((f"< {alerting.TRAINING_FAILURE_WINDOW_SECONDS})", "< 3600)"),  # the run's window
                         (f"< {alerting.LAUNCH_FAILURE_WINDOW_SECONDS})", "< 900)"),  # the launcher's
                         ('type="Failed"', 'type=~"Failed|Succeeded"')):
        assert right in text
        failed = _promtool(tmp_path, yaml.safe_load(text.replace(right, wrong)))
        assert failed.returncode != 0, (right, failed.stdout)
