"""Grafana dashboards as code (issue 10 item 5), Kubernetes side.

For every example and Kubernetes environment: one dashboard ConfigMap per endpoint and per training
job, labelled for Grafana's sidecar and parented to the item's component; the dashboard JSON is
accepted by grafana-foundation-sdk's typed model (it reads back to the same JSON); every query parses
as PromQL (``promtool check rules``) and every series it names is recorded by a rule of the same
graph or published by a stated prerequisite; thresholds are drawn at the monitors' thresholds.
The queries are also evaluated on a real Prometheus: tests/monitoring/test_dashboards_live.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.dashboards import PUBLISHED_ELSEWHERE, SIDECAR_LABEL
from mlops_infra.compile.kubernetes.scripts import launcher
from mlops_infra.compile.kubernetes.training import run_prefix
from mlops_infra.spec import load_system, parse_system
from tests.support.prometheus import binary, require

REPO = Path(__file__).resolve().parents[3]
KUBE_CASES = [(p, env) for p in sorted((REPO / "examples").glob("*/mlsystem.yaml"))
              for env, e in yaml.safe_load(p.read_text())["environments"].items()
              if e["target"]["kind"] == "kubernetes"]
IDS = [f"{p.parent.name}-{e}" for p, e in KUBE_CASES]

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                       "bool", "offset", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression selects (functions, label names and keywords left out)."""
    text = _STRINGS.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        end = match.end()
        if text[end:end + 1] == "(" or text[end:].lstrip().startswith("("):
            continue
        if match.group(0).lower() not in _KEYWORDS:
            names.add(match.group(0))
    return names


def _dashboards(graph) -> dict[str, tuple[Any, dict[str, Any]]]:
    out = {}
    for resource in graph.resources:
        if resource.role == "dashboard":
            ((_, text),) = resource.inputs["data"].items()
            out[resource.inputs["metadata"]["name"]] = (resource, json.loads(text))
    return out


def _queries(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def _recorded(graph) -> set[str]:
    return {rule["record"] for r in graph.resources if r.type.endswith(":PrometheusRule")
            for group in r.inputs["spec"]["groups"] for rule in group["rules"] if "record" in rule}


def test_metric_names_finds_series_and_skips_functions_labels_and_keywords() -> None:
    expr = ('histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b", c=~"d|e"}[1m]))) / 1000 '
            'or count by (alertname) (ALERTS{alertstate="firing"}) and on () up{job="j"} > bool 0')
    assert metric_names(expr) == {"x_bucket", "ALERTS", "up"}
    assert metric_names('mlops:monitor_value{m="latency"} > 0.25') == {"mlops:monitor_value"}


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_a_dashboard_per_endpoint_and_training_job_for_grafanas_sidecar(path: Path, env: str) -> None:
    system = load_system(path, env).system
    graph = compile_system(system, env)
    boards = _dashboards(graph)
    expected = {f"dashboard-endpoint-{e.name}": f"mlops:serving:Endpoint::{e.name}" for e in system.endpoints}
    expected |= {f"dashboard-training-{j.name}": f"mlops:training:Job::{j.name}" for j in system.training_jobs}
    assert set(boards) == set(expected)
    for name, (resource, board) in boards.items():
        assert resource.parent.endswith(expected[name])
        assert resource.type == "kubernetes:core/v1:ConfigMap"
        assert resource.inputs["metadata"]["labels"][SIDECAR_LABEL] == "1"
        assert resource.inputs["metadata"]["namespace"] == graph.metadata["namespace"]
        assert board["uid"].startswith("mlops-") and 8 <= len(board["uid"]) <= 40
        assert all(p["gridPos"]["w"] <= 24 for p in board["panels"])


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_dashboard_json_is_accepted_by_the_sdks_typed_model(path: Path, env: str) -> None:
    graph = compile_system(load_system(path, env).system, env)
    for _, board in _dashboards(graph).values():
        model = Dashboard.from_json(board)
        assert json.loads(json.dumps(model, cls=JSONEncoder, sort_keys=True)) == board
        assert all(p.type_val == "timeseries" and p.targets for p in model.panels)


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_every_query_names_a_series_the_rules_or_a_prerequisite_publish(path: Path, env: str) -> None:
    graph = compile_system(load_system(path, env).system, env)
    known = _recorded(graph) | set(PUBLISHED_ELSEWHERE)
    for name, (_, board) in _dashboards(graph).items():
        for expr in _queries(board):
            unknown = metric_names(expr) - known
            assert not unknown, f"{name}: {expr} reads {unknown}, which nothing publishes"


def test_the_check_catches_a_series_nothing_publishes() -> None:
    graph = compile_system(load_system(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev").system, "dev")
    known = _recorded(graph) | set(PUBLISHED_ELSEWHERE)
    assert metric_names("sum(rate(revision_request_count[1m]))") - known == {"revision_request_count"}


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_every_query_parses_as_promql(path: Path, env: str, tmp_path: Path) -> None:
    require("promtool")
    graph = compile_system(load_system(path, env).system, env)
    rules = [{"record": f"dashboard:query_{n}", "expr": expr}
             for n, expr in enumerate(q for _, board in _dashboards(graph).values() for q in _queries(board))]
    file = tmp_path / "queries.yaml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([binary("promtool"), "check", "rules", str(file)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_thresholds_are_drawn_where_the_monitors_fire() -> None:
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    system = parse_system(text, "mlsystem.yaml", "dev").system
    board = _dashboards(compile_system(system, "dev"))["dashboard-endpoint-scorer"][1]
    panels = {p["title"]: p for p in board["panels"]}
    latency = panels["Latency"]["fieldConfig"]["defaults"]
    assert latency["custom"]["thresholdsStyle"] == {"mode": "line"}
    assert [s["value"] for s in latency["thresholds"]["steps"]] == [None, 0.25]  # 250ms, in seconds
    errors = panels["Errors (5xx share)"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in errors] == [None, 0.01]  # 1%
    drift = panels["feature_drift (drift)"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in drift] == [None, 0.2]
    assert [t["legendFormat"] for t in panels["Latency"]["targets"]] == ["p50", "p99"]
    assert "sum by (revision_name)" in panels["Rollout traffic split"]["targets"][0]["expr"]
    assert set(panels) >= {"Traffic", "Replicas", "GPU use", "Alerts firing"}


def _valid(loaded):
    assert loaded.ok, [d.message for d in loaded.diagnostics if d.is_error]
    return loaded.system


def test_dashboard_files_are_unique_across_environments_and_kinds() -> None:
    """Finding collisions-1: Grafana's sidecar writes each ConfigMap *key* as a file into one folder
    (kiwigrid/k8s-sidecar ``resources._process_config_map``, ``UNIQUE_FILENAMES`` off by default), so
    two dashboards with one key are one file. Dev and staging of the reference system in one cluster,
    and an endpoint and a training job of one name, each keep a file of their own."""
    document = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    document["environments"]["staging"]["target"] = {"kind": "kubernetes", "context": "kind-mlops",
                                                     "namespace": "fraud-staging"}
    document["environments"]["staging"].pop("guardrails", None)
    text = yaml.safe_dump(document)
    keys = [key for env in ("dev", "staging")
            for resource in compile_system(_valid(parse_system(text, "two-envs.yaml", env)), env).resources
            if resource.role == "dashboard" for key in resource.inputs["data"]]
    assert len(keys) == 4 and len(set(keys)) == 4, keys
    assert "fraud-detection.dev.endpoint.scorer.json" in keys

    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    same = yaml.safe_load(text)
    same["endpoints"][0]["name"] = "retrain"  # an endpoint named like the training job
    for monitor in same.get("monitors", []):
        if monitor.get("endpoint") == "scorer":
            monitor["endpoint"] = "retrain"
    for key in list(same["environments"]):
        overrides = same["environments"][key].get("overrides") or {}
        for path in [p for p in overrides if p.startswith("endpoints.scorer.")]:
            overrides[path.replace("endpoints.scorer.", "endpoints.retrain.")] = overrides.pop(path)
    keys = [key for resource in compile_system(_valid(parse_system(yaml.safe_dump(same), "same.yaml", "dev")), "dev").resources
            if resource.role == "dashboard" for key in resource.inputs["data"]]
    assert sorted(keys) == ["fraud-detection.dev.endpoint.retrain.json", "fraud-detection.dev.training.retrain.json"]


def test_a_training_dashboard_shows_its_own_runs_pods_and_no_other_jobs() -> None:
    """Audit k8smon-4: the runs are named ``training.run_prefix(job)`` + the launcher's 10 hex digits
    (``run-<job>`` for a name starting with a digit, cut and hashed when long), and PromQL regexes are
    fully anchored, so the pattern of job ``fraud`` must match its runs' pods and not ``fraud-big``'s."""
    document = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    [job] = document["training_jobs"]
    names = ["7day-retrain", "fraud", "fraud-big", "nightly-retraining-of-the-fraud-model-on-all-regions"]
    document["training_jobs"] = [{**job, "name": name, "nodes": 1, "triggers": {"schedule": "0 3 * * 1"}}
                                 for name in names]
    document["environments"]["dev"]["overrides"].pop("training_jobs.retrain.nodes")
    system = _valid(parse_system(yaml.safe_dump(document), "jobs.yaml", "dev"))
    graph = compile_system(system, "dev")
    boards = {key: json.loads(text) for r in graph.resources if r.role == "dashboard"
              for key, text in r.inputs["data"].items()}
    pods = {}
    for name in names:
        template = {"metadata": {"generateName": f"{run_prefix(system.item('training_jobs', name))}-"}}
        run = launcher.run_name(template, name, launcher.NO_RUN)
        pods[name] = [f"{run}-master-0", f"{run}-worker-3"]
    assert pods["7day-retrain"][0].startswith("run-7day-retrain-")
    assert not pods[names[3]][0].startswith(names[3])  # the long name is cut
    for name in names:
        panels = {p["title"]: p for p in boards[f"fraud-detection.dev.training.{name}.json"]["panels"]}
        for title in ("Run pods by phase", "GPU use"):
            [expr] = [t["expr"] for t in panels[title]["targets"]]
            [pattern] = re.findall(r'pod=~"([^"]*)"', expr)
            for other, its_pods in pods.items():
                assert all(bool(re.fullmatch(pattern, pod)) == (other == name) for pod in its_pods), (name, other)
