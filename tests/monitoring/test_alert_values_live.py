"""The value an alert fired on reaches the receiver, in the monitor's unit, on real servers (audit observe-4).

What runs for real: Prometheus and Alertmanager (tests/support/prometheus.py) with the compiled rules of
the fraud-detection example's dev environment; Alertmanager posts every alert to the harness'
recording webhook (the JSON a ``webhook`` channel receives; Slack's text is the same ``summary`` and
``description``, ``routing.SLACK_TEXT``). Time is compressed: the serving rules 20x (``for: 5m`` ->
15s, the 1m rate window -> 4s), the drift rules 720x (``for: 2h`` and ``keep_firing_for: 10m`` -> 20s).
Stand-ins: one Knative revision's queue-proxy counters (tests/support/queue_proxy.py) and the drift
job's own ``publish`` (the compiled CronJob's environment, as test_pushgateway_restart does).

The scorer turns bad: 30 % of its requests take 400 ms (the rest 40 ms) and 3 % fail. On Knative-like
buckets ``..., 250, 500, ...`` ms the p99 is 250 + 250 x (0.99 - 0.70) / 0.30 = 491.67 ms; the 5xx
share is 0.03; the drift job pushes a score of 0.4321. Each alert's description, as Alertmanager
delivers it, says so in the threshold's unit (``humanizeDuration``, ``humanizePercentage``,
``printf "%.4g"``), and agrees with what ``alert_value.render_value`` says Prometheus writes for
the value Prometheus reports for the alert.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import alert_value
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.compile.kubernetes.scripts import drift_job as drift_script
from mlops_infra.spec import load_system
from tests.support.prometheus import PrometheusStack, compress_time, require, wait_until
from tests.support.queue_proxy import QueueProxies

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
NS, SERVICE = "fraud-dev", "scorer-predictor"
REVISION = f"{SERVICE}-00001"
SERVING = {"monitor-latency", "monitor-errors", "alert-scorer-latency", "alert-scorer-errors"}
DRIFT = {"monitor-drift", "alert-fraud-drift"}
EXPECTED = {"scorer-latency": ("latency", "Monitor latency (latency_p99) has crossed its threshold 250ms for 5m "
                                          "(now 491.7ms)."),
            "scorer-errors": ("errors", "Monitor errors (error_rate) has crossed its threshold 1% for 5m (now 3%)."),
            "fraud-drift": ("drift", "Monitor drift (feature_drift) has crossed its threshold 0.2 for 2h "
                                     "(now 0.4321).")}
"""Alert -> (monitor, the description the receiver gets), worked out by hand (module docstring)."""


class Scorer(QueueProxies):
    """One revision's queue-proxy: 1,000 requests a tick, healthy (all 40 ms, no 5xx) until ``bad``."""

    def __init__(self, stack: PrometheusStack) -> None:
        super().__init__(stack, NS, SERVICE, (REVISION,), buckets=(50, 100, 250, 500, 1000, 5000),
                         fast_ms=40, slow_ms=400)
        self.bad = False

    def tick(self) -> None:
        self.add(REVISION, 1000, slow_share=0.3 if self.bad else 0.0, error_share=0.03 if self.bad else 0.0)
        self.push()


def _documents(graph) -> list[dict[str, Any]]:
    """The compiled rule file split in the serving and the drift groups, each compressed (module docstring)."""
    groups = rule_file(graph)["groups"]
    assert {g["name"] for g in groups} >= SERVING | DRIFT
    serving = compress_time({"groups": [g for g in groups if g["name"] in SERVING]}, 20, floor=4)
    drift = compress_time({"groups": [g for g in groups if g["name"] in DRIFT]}, 720, floor=20)
    return [serving, drift]


def _publish_drift(stack: PrometheusStack, graph, score: float) -> None:
    """The drift job's push of ``score``, with the compiled CronJob's environment."""
    cronjob = next(r.inputs for r in graph.resources
                   if r.type.endswith(":CronJob") and r.inputs["metadata"]["name"] == "monitor-drift")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    drift_script.publish({**env, "PUSHGATEWAY_URL": stack.pushgateway_url}, score, dt.datetime.now(dt.UTC))


def _delivered(stack: PrometheusStack) -> dict[str, dict[str, Any]]:
    """Alert name -> the last firing alert of that name the webhook received."""
    seen: dict[str, dict[str, Any]] = {}
    for message in stack.receiver.received("/alerts"):
        for alert in message.json()["alerts"]:
            if alert["status"] == "firing" and alert["labels"]["alertname"] in EXPECTED:
                seen[alert["labels"]["alertname"]] = alert
    return seen


def test_each_alert_tells_the_receiver_its_value_in_the_monitors_unit(tmp_path: Path) -> None:
    require()
    system = load_system(EXAMPLE, "dev").system
    graph = compile_system(system, "dev")
    with PrometheusStack(tmp_path, pushgateway_namespace="fraud-dev", rules=_documents(graph)) as stack, Scorer(stack) as scorer:
        stack.wait_for_value(f'mlops:monitor_value{{mlops_monitor="latency", revision_name="{REVISION}"}}',
                             lambda v: v < 0.25, timeout=30)
        scorer.bad = True
        _publish_drift(stack, graph, 0.4321)
        delivered = wait_until(lambda: (lambda d: d if set(d) == set(EXPECTED) else None)(_delivered(stack)),
                               timeout=120, what="the three alerts at the webhook", logs=stack.logs)

        firing = {a["labels"]["alertname"]: a for a in stack.alerts("firing")}
        for name, (monitor_name, description) in EXPECTED.items():
            alert = delivered[name]
            assert alert["annotations"]["description"] == description, name
            assert alert["annotations"]["summary"] == \
                f"fraud-detection/dev: {name} ({system.item('monitors', monitor_name).metric} of endpoint scorer)"
            # the same text as what the project says Prometheus writes for the value Prometheus reports
            monitor = system.item("monitors", monitor_name)
            rendered = alert_value.render_value(monitor, float(firing[name]["value"]))
            assert description.endswith(f"(now {rendered}).") and firing[name]["annotations"]["description"] == \
                description, (name, firing[name])
