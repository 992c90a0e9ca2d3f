"""The endpoint dashboard's queries on a real Prometheus (issue 10 item 5).

Prometheus runs the compiled rules of fraud-detection dev and scrapes the stand-in queue-proxy of
test_alert_loop (50 requests/s at 50 ms, Knative's metric names and labels); a drift result is pushed
to the real Pushgateway under the drift monitor's grouping key. Every query of the compiled
``dashboard-endpoint-scorer`` must be accepted by Prometheus' query API as written, and each panel that reads
the queue-proxy, the recording rule or the Pushgateway must show the values the traffic implies (read with the rate windows time-compressed, as in
test_alert_loop, so seconds of traffic fill them).
What is absent here is absent on purpose: no DCGM exporter (GPU panel empty) and no pod labels on
the stand-in's scrape target (replicas read 0), and no alert fires.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.monitoring import PUSH_JOB
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.monitoring.test_alert_loop import FakeQueueProxy
from tests.support.prometheus import PrometheusStack, compress_time, require

REPO = Path(__file__).resolve().parents[2]
FACTOR = 10
"""The panels' 1m rate windows read as 6s, so a few seconds of scrapes fill them (the rules too)."""


def _panels(graph) -> dict[str, list[str]]:
    data = next(r.inputs["data"] for r in graph.resources if r.role == "dashboard"
                and r.inputs["metadata"]["name"] == "dashboard-endpoint-scorer")
    board = json.loads(data[f"{graph.project}.{graph.stack}.endpoint.scorer.json"])
    return {p["title"]: [t["expr"] for t in p["targets"]] for p in board["panels"]}


def _fast(expr: str) -> str:
    document = compress_time({"groups": [{"name": "q", "rules": [{"record": "q", "expr": expr}]}]}, FACTOR)
    return document["groups"][0]["rules"][0]["expr"]


@pytest.mark.timeout(120)
def test_every_endpoint_panel_query_runs_and_reads_what_the_traffic_implies(tmp_path: Path) -> None:
    require()
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    graph = compile_system(parse_system(text, "mlsystem.yaml", "dev").system, "dev")
    panels = _panels(graph)
    proxy = FakeQueueProxy()
    try:
        with PrometheusStack(tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[compress_time(rule_file(graph), FACTOR)], scrape_targets=[proxy.target],
                             scrape_interval="500ms", evaluation_interval="500ms") as stack:
            labels = {"system": "fraud-detection", "environment": "dev", "monitor": "drift"}
            stack.push(PUSH_JOB, 'mlops_monitor_value{endpoint="scorer",metric="feature_drift"} 0.35\n', labels)
            stack.wait_for_value('mlops:monitor_value{mlops_monitor="latency"}', lambda v: v < 0.25, timeout=40)
            stack.wait_for_value('mlops:monitor_value{mlops_monitor="drift"}', lambda v: v == 0.35, timeout=20)
            traffic = _fast(panels["Traffic"][0])
            stack.wait_for_value(traffic, lambda v: 0.5 * FakeQueueProxy.RATE < v < 1.5 * FakeQueueProxy.RATE,
                                 timeout=40)
            for exprs in panels.values():  # the queries exactly as Grafana sends them
                for expr in exprs:
                    stack.query(expr)
            results = {title: [stack.query(_fast(expr)) for expr in exprs] for title, exprs in panels.items()}
    finally:
        proxy.close()

    def values(title: str) -> list[list[float]]:
        return [[float(s["value"][1]) for s in result] for result in results[title]]

    [[traffic]] = values("Traffic")
    assert traffic == pytest.approx(FakeQueueProxy.RATE, rel=0.5)
    [[p50], [p99]] = values("Latency")
    assert 0.005 < p50 <= p99 <= 0.1  # 50 ms requests, histogram buckets 5/100/500 ms
    assert values("Errors (5xx share)") == [[0.0]]
    assert values("Replicas") == [[0.0]]
    assert values("feature_drift (drift)") == [[0.35]]
    split = results["Rollout traffic split"][0]
    assert [s["metric"]["revision_name"] for s in split] == ["scorer-predictor-00001"]
    assert values("GPU use") == [[]] and values("Alerts firing") == [[]]
    assert set(results) == set(panels)
