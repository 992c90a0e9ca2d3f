"""CloudWatch dashboards as code (issue 10 item 5), AWS side.

For the reference and every example's AWS environments: one ``aws:cloudwatch/dashboard:Dashboard``
per endpoint and per training job under the item's component; its name fits PutDashboard's rule and
its body CloudWatch's documented structure ("Dashboard body structure and syntax",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html);
every metric is one SageMaker publishes (dashboards.SAGEMAKER_METRICS) or the drift job's; every
alarm of the graph is drawn (its metric in a widget, its threshold as a line); a moto server accepts
the bodies through PutDashboard and returns them unchanged. That the drift widget names the metric
the drift job really publishes is checked in tests/monitoring/test_drift_loop.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile.aws.dashboards import DASHBOARD, SAGEMAKER_METRICS
from mlops_infra.compile.aws.monitoring import DRIFT_METRIC_NAMES, METRIC_NAMESPACE
from tests.compile.aws.cases import CASES, compiled, system
from tests.support.moto_server import client, running_moto_server

IDS = [c[0] for c in CASES]
NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
"""PutDashboard: "can contain only alphanumerics, dash (-), and underscore (_)", at most 255."""
WIDGET_KEYS = {"type", "x", "y", "width", "height", "properties"}
STATS = re.compile(r"^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?)$")
_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
PUBLISHED = {ns: set(names) for ns, names in SAGEMAKER_METRICS.items()} | {METRIC_NAMESPACE: set(DRIFT_METRIC_NAMES.values())}


def _dashboards(graph) -> list[Any]:
    return [r for r in graph.resources if r.type == DASHBOARD]


def body_errors(body: dict[str, Any]) -> list[str]:
    """What in ``body`` breaks CloudWatch's documented dashboard body structure (metric widgets)."""
    errors = []
    if set(body) != {"widgets"} or not isinstance(body["widgets"], list) or not body["widgets"]:
        return ["a body is an object with a non-empty widgets list"]
    for n, widget in enumerate(body["widgets"]):
        where = f"widgets[{n}]"
        if set(widget) - WIDGET_KEYS or widget.get("type") != "metric":
            errors.append(f"{where}: only {sorted(WIDGET_KEYS)}, type metric")
        if not (1 <= widget["width"] <= 24 and 1 <= widget["height"] <= 1000 and 0 <= widget["x"] <= 23
                and widget["x"] + widget["width"] <= 24 and widget["y"] >= 0):
            errors.append(f"{where}: outside the 24-column grid")
        props = widget["properties"]
        if props.get("view") != "timeSeries" or not props.get("region") or not STATS.match(props.get("stat", "")):
            errors.append(f"{where}: view, region and stat")
        ids = []
        for row in props["metrics"]:
            options = row[-1] if isinstance(row[-1], dict) else {}
            if "expression" in options:
                ids.append(options["id"])
                continue
            strings = row[:-1] if options else row
            if len(strings) < 2 or len(strings) % 2 or not all(isinstance(s, str) for s in strings):
                errors.append(f"{where}: a metric row is [namespace, name, (dimension, value)...] + options")
            if "stat" in options and not STATS.match(options["stat"]):
                errors.append(f"{where}: stat {options['stat']}")
            if "id" in options:
                ids.append(options["id"])
        if any(not _ID.match(i) for i in ids) or len(ids) != len(set(ids)):
            errors.append(f"{where}: ids are unique and start with a lowercase letter: {ids}")
        for line in props.get("annotations", {}).get("horizontal", []):
            if not isinstance(line.get("value"), int | float) or not line.get("label"):
                errors.append(f"{where}: a horizontal annotation has a value and a label")
    return errors


def _rows(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    out = []
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            options = row[-1] if isinstance(row[-1], dict) else {}
            strings = row[:-1] if options else row
            if "expression" not in options:
                out.append((strings[0], strings[1], dict(zip(strings[2::2], strings[3::2], strict=True)), options))
    return out


def _searches(body: dict[str, Any]) -> list[str]:
    return [row[0]["expression"] for w in body["widgets"] for row in w["properties"]["metrics"]
            if isinstance(row[0], dict) and row[0]["expression"].startswith("SEARCH(")]


@pytest.mark.parametrize(("case", "path", "env"), CASES, ids=IDS)
def test_a_dashboard_per_endpoint_and_training_job(case: str, path: Path, env: str) -> None:
    spec, graph = system(path, env), compiled(path, env)
    boards = {r.name: r for r in _dashboards(graph)}
    assert set(boards) == {f"{i.name}-dashboard" for i in [*spec.endpoints, *spec.training_jobs]}
    for item, component in [*((e, "mlops:serving:Endpoint") for e in spec.endpoints),
                            *((j, "mlops:training:Job") for j in spec.training_jobs)]:
        resource = boards[f"{item.name}-dashboard"]
        assert resource.parent.endswith(f"{component}::{item.name}")
        assert NAME.match(resource.inputs["dashboardName"])
        assert set(resource.inputs) == {"dashboardName", "dashboardBody"}  # no tags: the type has none
        assert body_errors(json.loads(resource.inputs["dashboardBody"])) == []


@pytest.mark.parametrize(("case", "path", "env"), CASES, ids=IDS)
def test_every_metric_is_one_cloudwatch_publishes(case: str, path: Path, env: str) -> None:
    graph = compiled(path, env)
    for resource in _dashboards(graph):
        body = json.loads(resource.inputs["dashboardBody"])
        for namespace, name, _, _ in _rows(body):
            assert name in PUBLISHED.get(namespace, set()), f"{resource.name}: {namespace} {name} is not published"
        for search in _searches(body):
            namespace = re.search(r"\{([^,}]+)", search).group(1)
            metric = re.search(r'MetricName=\\?"(\w+)\\?"', search).group(1)
            assert metric in PUBLISHED[namespace], search


@pytest.mark.parametrize(("case", "path", "env"), CASES, ids=IDS)
def test_every_alarm_is_drawn_with_its_threshold(case: str, path: Path, env: str) -> None:
    graph = compiled(path, env)
    bodies = [json.loads(r.inputs["dashboardBody"]) for r in _dashboards(graph)]
    drawn = {(ns, name, json.dumps(dims, sort_keys=True)) for b in bodies for ns, name, dims, _ in _rows(b)}
    lines = {(line["value"], line["label"].split(" (")[0]) for b in bodies for w in b["widgets"]
             for line in w["properties"].get("annotations", {}).get("horizontal", [])}
    alarms = [r for r in graph.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
              and r.address.startswith("alerts.")]  # not a canary's rollback alarm (test_aws_rollback_alarm.py) nor
    # a Lambda's Errors or dropped-events alarm (test_aws_lambda_failures.py)
    for alarm in alarms:
        inputs = alarm.inputs
        metrics = ([q["metric"] for q in inputs["metricQueries"] if "metric" in q] if "metricQueries" in inputs
                   else [inputs])
        for metric in metrics:
            key = (metric["namespace"], metric["metricName"], json.dumps(metric["dimensions"], sort_keys=True))
            assert key in drawn, f"{alarm.name} watches {key}, which no dashboard shows"
        alert = alarm.address.removeprefix("alerts.")
        assert (inputs["threshold"], alert) in lines, f"{alarm.name}: no line at {inputs['threshold']}"


def test_latency_lines_are_in_the_alarms_unit() -> None:
    graph = compiled(*next((p, e) for c, p, e in CASES if c == "fraud-detection-prod"))
    body = json.loads(next(r for r in _dashboards(graph) if r.name == "scorer-dashboard").inputs["dashboardBody"])
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    latency = widgets["Model latency (microseconds)"]
    assert latency["annotations"]["horizontal"] == [{"color": "#d62728", "label": "scorer-latency (critical)",
                                                     "value": 250000}]
    assert [row[-1]["stat"] for row in latency["metrics"]] == ["p50", "p99"]
    split = widgets["Rollout traffic split (invocations per variant)"]["metrics"][0][0]["expression"]
    assert split.startswith("SEARCH('{AWS/SageMaker,EndpointName,VariantName} EndpointName=\"fraud-detection-prod-scorer\"")


def test_the_body_check_catches_a_broken_widget() -> None:
    good = {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
            "properties": {"metrics": [["AWS/SageMaker", "Invocations", "EndpointName", "e"]], "view": "timeSeries",
                           "region": "eu-west-1", "stat": "Sum"}}
    assert body_errors({"widgets": [good]}) == []
    wide = {**good, "x": 16}
    odd = {**good, "properties": {**good["properties"], "metrics": [["AWS/SageMaker", "Invocations", "EndpointName"]]}}
    assert body_errors({"widgets": [wide]}) and body_errors({"widgets": [odd]})


def test_put_dashboard_accepts_every_body() -> None:
    bodies = {r.inputs["dashboardName"]: r.inputs["dashboardBody"]
              for _, path, env in CASES for r in _dashboards(compiled(path, env))}
    with running_moto_server() as url:
        cloudwatch = client("cloudwatch", url)
        for name, body in bodies.items():
            assert cloudwatch.put_dashboard(DashboardName=name, DashboardBody=body)["DashboardValidationMessages"] == []
        for name, body in bodies.items():
            assert json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]) == json.loads(body)


def _bodies_both_ways(spec, env: str, names: dict[str, str] | None = None) -> int:
    """Compile ``spec``; for each endpoint, :func:`dashboards.endpoint_body` (its widgets written once
    per place, the name put in) against :func:`dashboards.body` of its widgets. ``names`` overrides
    physical endpoint names. Returns how many bodies were compared."""
    from mlops_infra.compile import compile_system
    from mlops_infra.compile.aws import dashboards

    compared = []
    real = dashboards.compile_dashboards

    def compare(aws) -> None:
        aws.endpoint_names.update(names or {})
        for endpoint in aws.ctx.system.endpoints:
            fast = dashboards.endpoint_body(aws, endpoint)
            assert fast == dashboards.body(aws, dashboards.endpoint_widgets(aws, endpoint)), endpoint.name
            assert json.loads(fast) == json.loads(dashboards.body(aws, dashboards.endpoint_widgets(aws, endpoint)))
            compared.append(endpoint.name)
        real(aws)

    dashboards.compile_dashboards = compare
    try:
        compile_system(spec, env)
    finally:
        dashboards.compile_dashboards = real
    return len(compared)


@pytest.mark.parametrize(("path", "env"), [(p, e) for _, p, e in CASES], ids=IDS)
def test_endpoint_bodies_written_once_per_place_are_the_bodies_of_their_widgets(path: Path, env: str) -> None:
    _bodies_both_ways(system(path, env), env)


def test_endpoint_bodies_of_the_benchmark_system_and_of_names_outside_the_plain_ones() -> None:
    """The 12-endpoint benchmark system (drift monitors, alerts on every kind), and the same with
    physical names that are not :data:`dashboards._PLAIN_NAME` (quote, backslash, capitals, the mark
    itself): those take the widgets' own path."""
    import sys

    from mlops_infra.spec import parse_system

    root = Path(__file__).resolve().parents[3]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(root / "benchmarks"))
    for env in ("staging", "prod"):  # dev is a Kubernetes environment
        loaded = parse_system(generate(12), "bench.yaml", env)
        assert loaded.system is not None
        assert _bodies_both_ways(loaded.system, env) == 12
        odd = {e.name: f'{e.name}-"q\\<endpoint>Ü' for e in loaded.system.endpoints}
        assert _bodies_both_ways(loaded.system, env, odd) == 12
