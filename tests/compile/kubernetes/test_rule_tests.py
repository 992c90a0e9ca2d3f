"""Alert rules with their own proof: promtool checks and runs the generated rule tests.

For every example and environment: Kubernetes environments' rules pass ``promtool check rules``,
their generated tests pass ``promtool test rules`` and the Alertmanager configuration written from
the routing model passes ``amtool check-config``; AWS environments are refused by ``test-alerts``
with a clear message. A wrong threshold or a wrong ``for`` in the rules makes the tests fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.alerting import NOTIFY_FAILURES_RULE, notify_failure_rules
from mlops_infra.compile.kubernetes.rule_tests import (
    RULE_FILE,
    alert_test_bundle,
    kube_target,
    rule_test_files,
    values_text,
)
from mlops_infra.spec import load_system, parse_system
from tests.support.cli import run_cli
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*/mlsystem.yaml"))
CASES = [(path, env) for path in EXAMPLES
         for env in sorted(yaml.safe_load(path.read_text())["environments"])]

EVERY_KIND = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: kinds, owner: a@example.com}
data_sources:
  - {name: base, kind: object_store}
models:
  - {name: m, framework: sklearn, approval: manual}
endpoints:
  - name: api
    model: {name: m, version: 1}
    instance_type: ml.m5.xlarge
    replicas: {min: 1, max: 2}
    capture: {sample_percent: 10}
monitors:
  - {name: acc, endpoint: api, metric: accuracy, threshold: 0.9, schedule: 30m}
  - {name: pred, endpoint: api, metric: prediction_drift, threshold: 0.3, schedule: 2h}
  - {name: quality, endpoint: api, metric: data_quality, threshold: 0.05}
  - {name: slow, endpoint: api, metric: latency_p99, threshold: 2s}
  - {name: errs, endpoint: api, metric: error_rate, threshold: 0.5%}
alerts:
  - {name: acc-low, monitor: acc, for: 1h, severity: critical, notify: [hook]}
  - {name: pred-drift, monitor: pred, for: 4h, severity: warning, notify: [hook]}
  - {name: quality-bad, monitor: quality, for: 30m, severity: info, notify: [hook]}
  - {name: slow-page, monitor: slow, for: 1m, severity: critical, notify: [pager, hook]}
  - {name: slow-warn, monitor: slow, for: 15m, severity: warning, notify: [hook]}
  - {name: errs-page, monitor: errs, for: 10m, severity: critical, notify: [pager]}
channels:
  - {name: hook, kind: webhook, url: {secret: hook-url}, token: {secret: hook-token, key: token}}
  - {name: pager, kind: pagerduty, routing_key: {secret: pd-key}}
environments:
  dev:
    target: {kind: kubernetes, context: kind, namespace: kinds-dev}
"""


def _kind(path: Path, env: str) -> str:
    return yaml.safe_load(path.read_text())["environments"][env]["target"]["kind"]


def _run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which(tool), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def _write_bundle(system, env: str, directory: Path) -> dict[str, str]:
    files = alert_test_bundle(system, env, compile_system(system, env))
    for name, text in files.items():
        (directory / name).write_text(text)
    return files


def _check_bundle(directory: Path, files: dict[str, str]) -> None:
    checked = _run("promtool", "check", "rules", RULE_FILE, cwd=directory)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for name in sorted(n for n in files if n.startswith("tests-")):
        tested = _run("promtool", "test", "rules", name, cwd=directory)
        assert tested.returncode == 0, f"{name}:\n{tested.stdout}{tested.stderr}"
    config = _run("amtool", "check-config", "alertmanager.yml", cwd=directory)
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.parametrize(("path", "env"), CASES, ids=[f"{p.parent.name}-{e}" for p, e in CASES])
def test_every_example_and_environment(path: Path, env: str, tmp_path: Path) -> None:
    if _kind(path, env) != "kubernetes":
        result = run_cli("test-alerts", str(path), "--env", env, "--out", str(tmp_path))
        assert result.code == 1
        assert f"environment {env} targets aws" in result.stderr
        assert "--env dev" in result.stderr
        assert "Traceback" not in result.output
        return
    require("promtool", "amtool")
    system = load_system(path, env).system
    files = _write_bundle(system, env, tmp_path)
    assert {"rules.yml", "alertmanager.yml", "tests-serving.yml"} <= set(files)
    _check_bundle(tmp_path, files)


def test_every_metric_kind_and_channel_kind(tmp_path: Path) -> None:
    require("promtool", "amtool")
    system = parse_system(EVERY_KIND, "kinds.yaml", "dev").system
    files = _write_bundle(system, "dev", tmp_path)
    names = [t["name"] for n, f in files.items() if n.startswith("tests-") for t in yaml.safe_load(f)["tests"]]
    for alert in ("acc-low", "pred-drift", "quality-bad", "slow-page", "slow-warn", "errs-page"):
        assert f"{alert}: healthy never fires" in names
        assert any(n.startswith(f"{alert}: unhealthy longer than for") for n in names)
        assert f"{alert}: recovery resolves" in names
    for alert in ("acc-low", "pred-drift", "quality-bad"):
        assert f"{alert}: a value the job stopped pushing goes stale and resolves" in names
    for alert in ("slow-page", "slow-warn", "errs-page"):  # measured per Knative revision
        assert f"{alert}: the canary revision unhealthy, the stable one healthy, fires" in names
        assert f"{alert}: the stable revision unhealthy, the canary healthy, fires" in names
    assert not any("canary" in n for n in names if n.split(":")[0] in ("acc-low", "pred-drift", "quality-bad"))
    for alert in ("slow-warn", "errs-page"):  # a hold that bridges a 75 s canary's gaps
        assert f"{alert}: a canary failing every request at one per 75s fires" in names
        assert f"{alert}: a healthy canary at one request per 75s never fires" in names
        assert f"{alert}: one failed request and then silence never fires" in names
    assert not any("one per 75s" in n for n in names if n.startswith("slow-page:"))  # for: 1m holds nothing
    assert "slow-warn: a spike shorter than for does not fire" in names
    assert "slow-page: a spike shorter than for does not fire" not in names  # for: 1m is the window itself
    _check_bundle(tmp_path, files)


def _fraud_dev(tmp_path: Path) -> dict[str, str]:
    system = load_system(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev").system
    return _write_bundle(system, "dev", tmp_path)


def test_a_wrong_threshold_makes_the_rule_tests_fail(tmp_path: Path) -> None:
    require("promtool")
    files = _fraud_dev(tmp_path)
    rules = (tmp_path / RULE_FILE).read_text()
    assert "> 0.25\n" in rules  # scorer-latency: 250ms
    (tmp_path / RULE_FILE).write_text(rules.replace("> 0.25\n", "> 2.5\n"))
    tested = _run("promtool", "test", "rules", "tests-serving.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "scorer-latency: unhealthy longer than for (5m) fires" in tested.stdout + tested.stderr
    assert "scorer-errors" not in tested.stdout + tested.stderr  # only the broken alert fails
    assert "tests-drift-60s.yml" in files


def test_a_wrong_for_makes_the_rule_tests_fail(tmp_path: Path) -> None:
    require("promtool")
    _fraud_dev(tmp_path)
    document = yaml.safe_load((tmp_path / RULE_FILE).read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "scorer-errors":
                rule["for"] = "30s"
    (tmp_path / RULE_FILE).write_text(yaml.safe_dump(document))
    tested = _run("promtool", "test", "rules", "tests-serving.yml", cwd=tmp_path)
    assert tested.returncode != 0
    failures = tested.stdout + tested.stderr
    assert "name: scorer-errors: unhealthy longer than for (5m) fires" in failures  # fires too early


def test_rules_measuring_the_whole_endpoint_fail_the_canary_tests(tmp_path: Path) -> None:
    """The canary's trouble diluted by the stable revision's traffic: summed over the endpoint the
    value stays under the threshold, so the canary tests fail. The stable revision's errors diluted
    by the healthy canary still fire, but the description's value (audit observe-4) reads 1.992 %,
    not the stable revision's 2 %; its latency dilutes to a p99 that is written alike (299.5ms)."""
    require("promtool")
    _fraud_dev(tmp_path)
    rules = (tmp_path / RULE_FILE).read_text()
    whole = rules.replace("sum by (le, revision_name)", "sum by (le)").replace("sum by (revision_name)", "sum")
    assert whole != rules
    (tmp_path / RULE_FILE).write_text(whole)
    tested = _run("promtool", "test", "rules", "tests-serving.yml", cwd=tmp_path)
    assert tested.returncode != 0
    failed = set(re.findall(r"name: (.*),\n", tested.stdout + tested.stderr))
    assert failed == {"scorer-errors: the canary revision unhealthy, the stable one healthy, fires",
                      "scorer-errors: the stable revision unhealthy, the canary healthy, fires",
                      "scorer-latency: the canary revision unhealthy, the stable one healthy, fires",
                      "scorer-errors: a canary failing every request at one per 75s fires",
                      "scorer-latency: a canary failing every request at one per 75s fires"}


def _sparse_failures(tmp_path: Path, rewrite) -> set[str]:
    _fraud_dev(tmp_path)
    rules = (tmp_path / RULE_FILE).read_text()
    changed = rewrite(rules)
    assert changed != rules
    (tmp_path / RULE_FILE).write_text(changed)
    tested = _run("promtool", "test", "rules", "tests-serving.yml", cwd=tmp_path)
    assert tested.returncode != 0
    return set(re.findall(r"name: (.*),\n", tested.stdout + tested.stderr))


def test_rules_that_read_a_minute_without_requests_as_nan_fail_the_sparse_canary_tests(tmp_path: Path) -> None:
    """The rules before the hold: a revision without requests recorded NaN (no ``>= 0``) and the
    alert read only the current value, so each gap of a canary at one request per 75 s reset the
    pending alert (rules/alerting.go) and it never fired; only the sparse ``fires`` tests fail."""
    require("promtool")

    def before(rules: str) -> str:
        rules = re.sub(r"last_over_time\((mlops:monitor_value\{[^}]*\})\[\d+s\]\)", r"\1", rules)
        return rules.replace(") / 1000 >= 0", ") / 1000").replace("[1m])) >= 0", "[1m]))")

    assert _sparse_failures(tmp_path, before) == {"scorer-errors: a canary failing every request at one per 75s fires",
                                                  "scorer-latency: a canary failing every request at one per 75s fires"}


def test_a_hold_as_long_as_for_fires_on_one_failed_request(tmp_path: Path) -> None:
    """Holding the last value for the whole ``for`` (5m) would count the silence after one failed
    request as unhealthy until the alert fires: the lone-request tests fail."""
    require("promtool")
    failed = _sparse_failures(tmp_path, lambda rules: re.sub(r"\[225s\]", "[300s]", rules))
    assert failed == {"scorer-errors: one failed request and then silence never fires",
                      "scorer-latency: one failed request and then silence never fires"}


def test_a_drift_value_that_never_goes_stale_fails_its_test(tmp_path: Path) -> None:
    require("promtool")
    _fraud_dev(tmp_path)
    rules = (tmp_path / RULE_FILE).read_text()
    fresh = re.sub(r"\) *\n? *< \d+\)", ") < 1e12)", rules)
    assert fresh != rules
    (tmp_path / RULE_FILE).write_text(fresh)
    tested = _run("promtool", "test", "rules", "tests-drift-60s.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "fraud-drift: a value the job stopped pushing goes stale and resolves" in tested.stdout + tested.stderr


def test_values_text_uses_promtool_expanding_notation() -> None:
    assert values_text([0, 100, 200, 300]) == "0+100x3"
    assert values_text([5, 5, 5, 7]) == "5+0x2 7"
    assert values_text([None, None, 1, 2]) == "_x2 1+1x1"
    assert values_text([3, 1]) == "3-2x1"


def test_rule_tests_are_deterministic_and_cover_every_alert() -> None:
    system = load_system(REPO / "examples" / "llm-platform" / "mlsystem.yaml", "dev").system
    first, second = rule_test_files(system, "dev"), rule_test_files(system, "dev")
    assert first == second
    covered = {t["name"].split(":")[0] for f in first.values() for t in f["tests"]}
    notify_failures = {r["alert"] for r in notify_failure_rules(kube_target(system, "dev"))}
    assert {"notify_failed_llm-team", "notify_failures_unobserved"} <= notify_failures
    # every alert, each notify-failure alert, the notify-failures group as a whole (nothing fires), and the
    # rollback alert of each endpoint whose rollbacks are announced (rule_tests.rollback_tests), and the
    # training_failed_<job> of each training job with someone to tell (rule_tests.training_failure_tests)
    assert covered == ({a.name for a in system.alerts} | notify_failures | {NOTIFY_FAILURES_RULE}
                       | {"rolled_back_chat", "rolled_back_embeddings", "training_failed_train-embedder",
                          "training_failed_finetune-chat"})
    assert {n: f["evaluation_interval"] for n, f in first.items()} == {
        "tests-drift-240s.yml": "240s", "tests-drift-60s.yml": "60s", "tests-notify-failures.yml": "30s",
        "tests-rollback.yml": "15s",
        "tests-serving.yml": "15s", "tests-training-failures.yml": "30s"}
