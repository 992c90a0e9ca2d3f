"""A canary's trouble fires the compiled alerts although the stable revision dilutes it.

What runs for real: Prometheus (tests/support/prometheus.py) with the compiled rules of the
fraud-detection example's dev environment (time compressed 20x: ``for: 5m`` -> 15s, the 1m rate
window -> 4s at a 1s scrape). A stand-in plays two Knative revisions' queue-proxies
(``revision_app_request_count`` / ``revision_app_request_latencies``, labelled ``revision_name`` as
the queue-proxy labels them, knative/docs docs/serving/metrics.md), pushed through the Pushgateway
every 0.2s: the stable revision takes 98% of the requests, answers in 40 ms and never fails; the
canary takes 2%. Scenarios, in order: a healthy canary fires neither alert; a canary answering 30%
of its requests with a 5xx fires ``scorer-errors`` (1%) while the endpoint-wide 5xx share is 0.6%,
which an endpoint-wide rule would never alert on; the canary then also answering 30% of its
requests in 1.5 s fires ``scorer-latency`` (250 ms) while the endpoint-wide p99 stays fast. The
alerts keep their labels (no ``revision_name``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import load_system
from tests.support.prometheus import PrometheusStack, compress_time, require, wait_until
from tests.support.queue_proxy import QueueProxies

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
NS, SERVICE = "fraud-dev", "scorer-predictor"
STABLE, CANARY = f"{SERVICE}-00001", f"{SERVICE}-00002"
CANARY_SHARE = 0.02
BUCKETS = (50, 100, 250, 500, 1000, 5000)
FAST_MS, SLOW_MS = 40, 1500
SELECTOR = f'namespace_name="{NS}", service_name="{SERVICE}"'
ENDPOINT_ERRORS = (f'sum(rate(revision_app_request_count{{{SELECTOR}, response_code_class="5xx"}}[4s])) '
                   f"/ sum(rate(revision_app_request_count{{{SELECTOR}}}[4s]))")
ENDPOINT_P99 = (f"histogram_quantile(0.99, sum by (le) (rate(revision_app_request_latencies_bucket"
                f"{{{SELECTOR}}}[4s]))) / 1000")
"""The endpoint-wide values (what the rules measured before they were per revision)."""


class Revisions(QueueProxies):
    """Two revisions' queue-proxies; the canary's share of 5xx and of slow requests is set by the test.
    Every tick adds 500 requests split 98/2 and pushes all counters."""

    def __init__(self, stack: PrometheusStack) -> None:
        super().__init__(stack, NS, SERVICE, (STABLE, CANARY), buckets=BUCKETS, fast_ms=FAST_MS, slow_ms=SLOW_MS)
        self.canary_errors = self.canary_slow = 0.0

    def tick(self, per_tick: float = 500) -> None:
        self.add(STABLE, per_tick * (1 - CANARY_SHARE))
        self.add(CANARY, per_tick * CANARY_SHARE, slow_share=self.canary_slow, error_share=self.canary_errors)
        self.push()


def compiled_rules() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The compressed rule file and the compiled alerting rules by name."""
    graph = compile_system(load_system(EXAMPLE, "dev").system, "dev")
    document = compress_time(rule_file(graph), 20, floor=4)
    alerts = {r["alert"]: r for g in document["groups"] for r in g["rules"] if "alert" in r}
    return document, alerts


def _firing(stack: PrometheusStack, name: str) -> list[dict[str, Any]]:
    return [a for a in stack.alerts("firing") if a["labels"]["alertname"] == name]


def _active(stack: PrometheusStack, *names: str) -> list[str]:
    return [a["labels"]["alertname"] for a in stack.alerts() if a["labels"]["alertname"] in names]


def _canary_value(stack: PrometheusStack, monitor: str) -> float | None:
    return stack.value(f'mlops:monitor_value{{mlops_monitor="{monitor}", revision_name="{CANARY}"}}')


def test_a_canary_breaching_at_two_percent_fires_the_alert_the_stable_revision_would_dilute(tmp_path: Path) -> None:
    require()
    document, alerts = compiled_rules()
    with PrometheusStack(tmp_path, rules=[document]) as stack, Revisions(stack) as revisions:
        # healthy canary: the alert conditions hold for no revision
        for monitor, threshold in (("latency", 0.25), ("errors", 0.01)):
            stack.wait_for_value(f'max without (revision_name) (mlops:monitor_value{{mlops_monitor="{monitor}"}})',
                                 lambda v, threshold=threshold: v < threshold, timeout=30)
        for name in ("scorer-errors", "scorer-latency"):
            assert stack.query(alerts[name]["expr"]) == [], name
        assert _active(stack, "scorer-errors", "scorer-latency") == []

        # the canary fails 30% of its requests: 0.6% of the endpoint's, under the 1% threshold
        revisions.canary_errors = 0.3
        wait_until(lambda: _firing(stack, "scorer-errors"), timeout=90, what="scorer-errors firing", logs=stack.logs)
        assert stack.value(ENDPOINT_ERRORS) == pytest.approx(0.006, abs=0.002)  # diluted: would not fire
        assert _canary_value(stack, "errors") == pytest.approx(0.3, abs=0.05)
        assert stack.value(f'mlops:monitor_value{{mlops_monitor="errors", revision_name="{STABLE}"}}') == 0
        assert stack.value(f'mlops:monitor_value{{mlops_monitor="latency", revision_name="{STABLE}"}}') < 0.25
        assert _canary_value(stack, "latency") < 0.25
        [alert] = _firing(stack, "scorer-errors")
        assert alert["labels"] == {"alertname": "scorer-errors", **alerts["scorer-errors"]["labels"],
                                   "mlops_endpoint": "scorer", "mlops_metric": "error_rate", "mlops_monitor": "errors"}
        assert stack.query(alerts["scorer-latency"]["expr"]) == []  # the canary is still fast
        assert _active(stack, "scorer-latency") == []

        # the canary also answers 30% of its requests in 1.5 s: the endpoint's p99 is still 40 ms-ish
        revisions.canary_slow = 0.3
        wait_until(lambda: _firing(stack, "scorer-latency"), timeout=90, what="scorer-latency firing", logs=stack.logs)
        assert stack.value(ENDPOINT_P99) < 0.25  # diluted: would not fire
        assert _canary_value(stack, "latency") > 0.25
        [alert] = _firing(stack, "scorer-latency")
        assert "revision_name" not in alert["labels"]
