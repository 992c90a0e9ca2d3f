"""Kubernetes monitoring reads one namespace's series only (audit k8smon-3).

Two namespaces of one cluster may hold the same system and environment; a shared Prometheus sees
both. Every selector over a pushed series and over ``mlops:monitor_value`` in the compiled rules and
dashboards names the environment's namespace (the Pushgateway scrape's target label,
``monitoring.pushed_labels``), and the real ``promtool`` shows that another namespace's values do not
fire, hold off or roll back this namespace's alerts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import alerting, monitoring
from mlops_infra.compile.kubernetes.rule_tests import RULE_FILE, rule_file, to_yaml
from mlops_infra.spec import load_system
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[3]
KUBE_CASES = [(p, env) for p in sorted((REPO / "examples").glob("*/mlsystem.yaml"))
              for env, e in yaml.safe_load(p.read_text())["environments"].items()
              if e["target"]["kind"] == "kubernetes"]
IDS = [f"{p.parent.name}-{e}" for p, e in KUBE_CASES]
NAMESPACED = ("mlops_monitor_value", "push_time_seconds", "mlops_monitor_last_success_timestamp_seconds",
              "mlops_rollout_rolled_back_timestamp_seconds", "mlops:monitor_value")
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])(?P<name>" + "|".join(re.escape(n) for n in NAMESPACED)
                      + r")(?![A-Za-z0-9_:])(?P<matchers>\{[^}]*\})?")


def _compiled(path: Path, env: str):
    return compile_system(load_system(path, env).system, env)


def _namespace(graph) -> str:
    [namespace] = {r.inputs["metadata"]["namespace"] for r in graph.resources if r.type.endswith(":PrometheusRule")}
    return namespace


def _selectors(expr: str) -> list[tuple[str, str]]:
    return [(m["name"], m["matchers"] or "") for m in SELECTOR.finditer(expr)]


def _dashboard_exprs(graph) -> list[str]:
    exprs = []
    for resource in graph.resources:
        if resource.type.endswith(":ConfigMap") and resource.inputs["metadata"]["name"].startswith("dashboard-"):
            for text in resource.inputs["data"].values():
                exprs += [t["expr"] for p in json.loads(text)["panels"] for t in p.get("targets", [])]
    return exprs


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_every_selector_of_a_pushed_or_recorded_series_names_the_namespace(path: Path, env: str) -> None:
    graph = _compiled(path, env)
    namespace = _namespace(graph)
    rules = [r for g in rule_file(graph)["groups"] for r in g["rules"]]
    found = [(where, name, matchers) for where, expr in [("rule", r["expr"]) for r in rules]
             + [("dashboard", e) for e in _dashboard_exprs(graph)] for name, matchers in _selectors(expr)]
    assert found, "no rule or dashboard reads a monitor series: the example changed"
    assert [f for f in found if f'namespace="{namespace}"' not in f[2]] == []
    for rule in (r for r in rules if r.get("record") == monitoring.RECORD):
        assert rule["labels"]["namespace"] == namespace
    for expr in (e for e in _dashboard_exprs(graph) if "ALERTS{" in e):
        assert f'namespace="{namespace}"' in expr


def test_the_reference_reads_all_five_series_names() -> None:
    # the per-example test above is only as wide as what the examples compile: fraud-detection dev has
    # a drift monitor (pushed value, push time, last success), latency/error alerts and rollback notices
    graph = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    rules = [r["expr"] for g in rule_file(graph)["groups"] for r in g["rules"]]
    assert {name for expr in rules for name, _ in _selectors(expr)} == set(NAMESPACED)


# --- the real promtool: a second namespace with the same system and environment ------------------

HERE, THERE = "fraud-dev", "team-b"
SAME = 'system="fraud-detection", environment="dev"'


def _pushed(namespace: str, metric: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f'{metric}{{namespace="{namespace}", instance="", {SAME}, {labels}}}', "values": values}


def _drift(namespace: str, value: float) -> list[dict[str, str]]:
    """What Prometheus scrapes from ``namespace``'s Pushgateway: a drift value pushed every minute."""
    group = 'job="mlops-monitor", monitor="drift"'
    return [_pushed(namespace, "mlops_monitor_value", f'{group}, endpoint="scorer", metric="feature_drift"',
                    f"{value}x300"),
            _pushed(namespace, "push_time_seconds", group, "0+60x300")]


def _last_success(namespace: str, values: str) -> dict[str, str]:
    return _pushed(namespace, "mlops_monitor_last_success_timestamp_seconds",
                   'job="mlops-monitor", monitor="drift", endpoint="scorer", metric="feature_drift"', values)


def _notice(namespace: str) -> dict[str, str]:
    labels = (f'job="{alerting.ROLLOUT_PUSH_JOB}", endpoint="scorer", version="14", serving_version="13", '
              'share="10%", cause="alert_fired", detail="scorer-errors"')
    return _pushed(namespace, alerting.ROLLED_BACK_METRIC, labels, "_ 60x30")


def _firing(alert: str, at: str, count: int | None) -> dict:
    return {"expr": f'count(ALERTS{{alertname="{alert}", alertstate="firing"}})', "eval_time": at,
            "exp_samples": [{"labels": "{}", "value": count}] if count else []}


TESTS = [
    {"name": "another namespace's drift does not become this namespace's value or alert", "interval": "1m",
     "input_series": [*_drift(HERE, 0.05), *_drift(THERE, 0.9)],
     "promql_expr_test": [
         {"expr": 'max(mlops:monitor_value{mlops_monitor="drift"})', "eval_time": "3h",
          "exp_samples": [{"labels": "{}", "value": 0.05}]},
         _firing("fraud-drift", "4h59m", None)]},
    {"name": "another namespace's successes do not hold off this namespace's silent-monitor alert", "interval": "1m",
     "input_series": [_last_success(HERE, "0x300"), _last_success(THERE, "0+60x300")],
     "promql_expr_test": [_firing("monitor_silent_drift", "3h10m", 1)]},
    {"name": "another namespace's rollback notice does not fire this namespace's", "interval": "1m",
     "input_series": [_notice(THERE)],
     "promql_expr_test": [_firing("rolled_back_scorer", "3m", None), _firing("rolled_back_scorer", "10m", None)]},
    {"name": "this namespace's rollback notice fires it", "interval": "1m", "input_series": [_notice(HERE)],
     "promql_expr_test": [_firing("rolled_back_scorer", "3m", 1)]},
]


def test_another_namespace_with_the_same_system_and_environment_fires_nothing_here(tmp_path: Path) -> None:
    require("promtool")
    graph = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    assert _namespace(graph) == HERE
    (tmp_path / RULE_FILE).write_text(to_yaml(rule_file(graph)))
    (tmp_path / "tests.yml").write_text(to_yaml({"rule_files": [RULE_FILE], "evaluation_interval": "1m",
                                                 "tests": TESTS}))
    done = subprocess.run([shutil.which("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
