"""Kubernetes monitoring: what is scraped (B6), what latency and errors measure, stale drift values
(B11.7), and the one routing model both Alertmanager files are written from."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system, drift_job
from mlops_infra.compile.kubernetes import monitoring, routing
from mlops_infra.compile.kubernetes.scripts import drift_job as drift_script
from mlops_infra.spec import load_system
from tests.support import crds

REPO = Path(__file__).resolve().parents[3]
KUBE_CASES = [(p, env) for p in sorted((REPO / "examples").glob("*/mlsystem.yaml"))
              for env, e in yaml.safe_load(p.read_text())["environments"].items()
              if e["target"]["kind"] == "kubernetes"]
IDS = [f"{p.parent.name}-{e}" for p, e in KUBE_CASES]


def _compiled(path: Path, env: str):
    system = load_system(path, env).system
    return system, compile_system(system, env)


def _objects(graph, kind: str) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in graph.resources if r.type.endswith(f":{kind}")}


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_every_endpoint_has_a_pod_monitor_on_the_queue_proxy_user_metrics_port(path: Path, env: str) -> None:
    system, graph = _compiled(path, env)
    monitors = _objects(graph, "PodMonitor")
    assert set(monitors) == {f"metrics-{e.name}" for e in system.endpoints}
    for endpoint in system.endpoints:
        obj = monitors[f"metrics-{endpoint.name}"]
        assert crds.errors(obj) == []
        # KServe Serverless names the predictor's Knative Service <isvc>-predictor; Knative labels its pods
        # serving.knative.dev/service and names the queue-proxy's user metrics port http-usermetric (9091).
        assert obj["spec"]["selector"] == {"matchLabels": {"serving.knative.dev/service": f"{endpoint.name}-predictor"}}
        assert obj["spec"]["podMetricsEndpoints"] == [{"interval": "15s", "path": "/metrics", "port": "http-usermetric"}]
        parent = next(r for r in graph.resources if r.inputs is obj).parent
        assert parent.endswith(f"mlops:serving:Endpoint::{endpoint.name}")


def _recording(graph, monitor: str) -> str:
    rule = _objects(graph, "PrometheusRule")[f"monitor-{monitor}"]
    return rule["spec"]["groups"][0]["rules"][0]["expr"]


def test_latency_and_errors_measure_the_model_container_per_minute_and_revision() -> None:
    _, graph = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    latency = _recording(graph, "latency")
    assert latency == ('histogram_quantile(0.99, sum by (le, revision_name) (rate(revision_app_request_latencies_bucket'
                       '{namespace_name="fraud-dev", service_name="scorer-predictor"}[1m]))) / 1000 >= 0')
    errors = _recording(graph, "errors")
    requests = ('sum by (revision_name) (rate(revision_app_request_count'
                '{namespace_name="fraud-dev", service_name="scorer-predictor"}[1m]))')
    failed = ('sum by (revision_name) (rate(revision_app_request_count'
              '{namespace_name="fraud-dev", service_name="scorer-predictor", response_code_class="5xx"}[1m]))')
    # a revision with no 5xx series counts 0 errors (its request rate times 0), per revision; one without
    # requests records no sample (">= 0" drops the NaN of 0/0): a minute without requests is no evidence
    assert errors == f"({failed} or {requests} * 0) / {requests} >= 0"
    assert "revision_request_" not in latency + errors  # queue-proxy totals include queueing: not the span


def _alert_expr(graph, alert: str) -> str:
    rule = _objects(graph, "PrometheusRule")[f"alert-{alert}"]
    return rule["spec"]["groups"][0]["rules"][0]["expr"]


def test_an_alert_fires_on_its_worst_revision_without_a_revision_label() -> None:
    _, graph = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    series = ('mlops:monitor_value{namespace="fraud-dev", mlops_system="fraud-detection", mlops_environment="dev", '
              'mlops_monitor="%s"}')
    # latency and error rate: the latest value within the hold (for 5m - 1m window - 15s scrape = 225s)
    held = "max without (revision_name) (last_over_time(%s[225s]))"
    assert _alert_expr(graph, "scorer-latency") == f"{held % (series % 'latency')} > 0.25"
    assert _alert_expr(graph, "scorer-errors") == f"{held % (series % 'errors')} > 0.01"
    assert _alert_expr(graph, "fraud-drift") == f"max without (revision_name) ({series % 'drift'}) > 0.2"


def test_the_hold_is_for_minus_window_and_scrape_at_most_five_minutes_and_none_for_pushed_values() -> None:
    system, _ = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    latency, drift = system.item("monitors", "latency"), system.item("monitors", "drift")
    assert [monitoring.hold_seconds(latency, s) for s in (60, 75, 90, 120, 300, 375, 376, 3600)] == [
        0, 0, 15, 45, 225, 300, 300, 300]
    assert monitoring.hold_seconds(drift, 3600) == 0


def test_a_drift_value_counts_only_while_its_push_is_fresh() -> None:
    system, graph = _compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    monitor = system.item("monitors", "drift")
    assert drift_job.stale_after_seconds(monitor) == 3600 + 3600 + 300
    assert _recording(graph, "drift") == (
        'max(mlops_monitor_value{namespace="fraud-dev", system="fraud-detection", environment="dev", monitor="drift"}) '
        'and on () (time() - max(push_time_seconds{namespace="fraud-dev", job="mlops-monitor", '
        'system="fraud-detection", environment="dev", monitor="drift"}) < 7500)')
    # the job pushes to the group the rule reads push_time_seconds of
    labels = {"system": "fraud-detection", "environment": "dev", "monitor": "drift"}
    assert drift_script.push_path(labels) == "/metrics/job/mlops-monitor/system/fraud-detection/environment/dev/monitor/drift"


@pytest.mark.parametrize(("path", "env"), KUBE_CASES, ids=IDS)
def test_alertmanager_configs_and_the_alertmanager_file_come_from_one_model(path: Path, env: str) -> None:
    system, graph = _compiled(path, env)
    routes = routing.system_routes(system, env)
    compiled = {name: obj["spec"] for name, obj in _objects(graph, "AlertmanagerConfig").items()}
    assert compiled == {r.config: routing.config_spec(r) for r in routes}
    namespace = system.environments[env].target.namespace
    config = routing.alertmanager_config(routes, namespace, resolve_secret=lambda ref: f"https://x.invalid/{ref.secret}")
    children = {c["receiver"]: c for c in config["route"]["routes"]}
    for route in routes:
        receiver = f"{namespace}/{route.config}/{route.receiver.name}"
        assert receiver in {r["name"] for r in config["receivers"]}
        if not route.alertnames:
            continue
        spec_route = compiled[route.config]["route"]
        child = children[receiver]
        assert child["continue"] is True
        assert f'namespace="{namespace}"' in child["matchers"]
        assert [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in spec_route["matchers"]] == child["matchers"][:-1]
        assert child.get("repeat_interval") == spec_route.get("repeatInterval")
