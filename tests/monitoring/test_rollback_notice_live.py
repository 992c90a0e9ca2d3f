"""A rollback the runner makes on Kubernetes reaches the channels of its rollback_on alerts, on real
servers (tests/support/prometheus.py): Prometheus with every compiled rule of the reference dev graph,
Alertmanager with the routing written from the same model as the compiled AlertmanagerConfigs
(``routing.alertmanager_config``), the Pushgateway, and the runner's own notifier
(``rollout/scheduled.py`` ``notice_plan``) built from the compiled runner document, its Pushgateway URL
moved to the test's. Slack is a recording HTTP receiver.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import alerting, routing
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.rollout import scheduled
from tests.support.kube_cases import REFERENCE, compiled
from tests.support.prometheus import PrometheusStack, RecordingReceiver, require

NAMESPACE = "fraud-dev"
ALERT = "rolled_back_scorer"


def _reference(env: str = "dev"):
    from mlops_infra.spec import parse_system

    return parse_system(REFERENCE.read_text(), str(REFERENCE), env).system, compiled(REFERENCE, env)


def _runner_document(graph) -> dict:
    [code] = [r for r in graph.resources if r.type.endswith(":ConfigMap")
              and r.inputs["metadata"]["name"] == "mlops-rollout-runner"]
    return json.loads(code.inputs["data"]["rollouts.json"])


@pytest.fixture()
def world(tmp_path: Path):
    require()
    system, graph = _reference()
    slack = RecordingReceiver()
    config = routing.alertmanager_config(
        routing.system_routes(system, "dev"), NAMESPACE, resolve_secret=lambda ref: slack.url(f"/slack/{ref.secret}"),
        timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        global_config={"smtp_smarthost": "127.0.0.1:1", "smtp_from": "alertmanager@test.invalid"})
    stack = PrometheusStack(tmp_path / "stack", pushgateway_namespace=NAMESPACE, rules=[rule_file(graph)], alertmanager_config=config,
                            scrape_interval="500ms", evaluation_interval="500ms").start()
    try:
        yield stack, slack, _runner_document(graph)
    finally:
        stack.stop()
        slack.close()


def test_a_rollback_push_fires_the_compiled_alert_and_reaches_the_oncall_channel(world) -> None:
    stack, slack, document = world
    assert document["notifications"]["pushgatewayUrl"] == "http://mlops-pushgateway.fraud-dev.svc.cluster.local:9091"
    document["notifications"]["pushgatewayUrl"] = stack.pushgateway_url
    notify, notifier = scheduled.notice_plan(document)
    assert notify == {"scorer"}
    assert stack.value(f'ALERTS{{alertname="{ALERT}"}}') is None  # nothing pushed: nothing fires

    notifier("scorer", time.time())
    stack.wait_for_value(f'ALERTS{{alertname="{ALERT}", alertstate="firing"}}', lambda v: v == 1, timeout=30)
    [alert] = [a for a in stack.alerts("firing") if a["labels"]["alertname"] == ALERT]
    assert alert["labels"] == {"alertname": ALERT, "mlops_alert": ALERT, "mlops_endpoint": "scorer",
                               "mlops_environment": "dev", "mlops_system": "fraud-detection",
                               "namespace": NAMESPACE, "severity": "critical"}
    # the on-call channel (scorer-latency and scorer-errors notify it) hears it; ml-team does not route it
    [message] = slack.wait_for(1, path="/slack/slack-oncall-webhook", timeout=30)
    attachment = message.json()["attachments"][0]
    assert attachment["title"] == f"[FIRING:1] {ALERT} (critical)"
    assert "fraud-detection/dev: the rollout of endpoint scorer was rolled back" in attachment["text"]


def test_an_old_rollback_does_not_fire(world) -> None:
    """The gauge is the notice's time (the runner's pass that sent it): one older than the window fires nothing (and resolves)."""
    stack, _, document = world
    document["notifications"]["pushgatewayUrl"] = stack.pushgateway_url
    _, notifier = scheduled.notice_plan(document)
    notifier("scorer", time.time() - alerting.ROLLBACK_WINDOW_SECONDS - 60)
    metric = f'{alerting.ROLLED_BACK_METRIC}{{endpoint="scorer", job="mlops-rollout"}}'
    stack.wait_for_value(metric, lambda v: v > 0, timeout=30)
    time.sleep(2)  # a few evaluations
    assert stack.value(f'ALERTS{{alertname="{ALERT}"}}') is None


def test_a_pushgateway_that_cannot_be_reached_raises_for_the_runner_to_log(world) -> None:
    _, _, document = world
    document["notifications"]["pushgatewayUrl"] = "http://127.0.0.1:9"
    _, notifier = scheduled.notice_plan(document)
    with pytest.raises(OSError):
        notifier("scorer", time.time())
