"""A sparse canary: a minute without requests is no evidence, on a real Prometheus.

What runs for real: Prometheus (tests/support/prometheus.py) with the compiled rules of the
fraud-detection example's dev environment, time compressed 15x so the ratio of a canary's gap to
the rate window stays as it is (``for: 5m`` -> 20s, the 1m rate window -> 4s, one request per 75 s
-> one per 5 s; the alerts' hold, 225 s, -> 15 s). A stand-in plays two Knative revisions'
queue-proxies (tests/support/queue_proxy.py): the stable revision serves a steady healthy stream,
the canary one request every 5 s (2 % of a low-traffic endpoint). Each canary request is visible
to ``rate`` over the window for under a window, so the canary's recorded value has a gap after
every request (the compiled recording rule writes no sample then, ``compile/kubernetes/monitoring.py``,
"Sparse traffic").

- A canary failing every request fires ``scorer-errors`` and ``scorer-latency`` within about
  ``for`` plus the gap. Before, the canary recorded NaN in each gap, the alert's expression had no
  sample for it and Prometheus reset the pending alert (prometheus ``rules/alerting.go``
  ``AlertingRule.Eval``), so the alert never fired and the rollout gates, which read it, never
  rolled the canary back.
- The same canary healthy fires nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import load_system
from tests.support.prometheus import PrometheusStack, compress_time, require, wait_until
from tests.support.queue_proxy import QueueProxies

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
NS, SERVICE = "fraud-dev", "scorer-predictor"
STABLE, CANARY = f"{SERVICE}-00001", f"{SERVICE}-00002"
FACTOR = 15
GAP = 75 / FACTOR
"""Seconds between the canary's requests (75 s compressed)."""
FOR = 300 / FACTOR
ALERTS = ("scorer-errors", "scorer-latency")


class SparseCanary(QueueProxies):
    """The stable revision's steady traffic and the canary's one request every :data:`GAP` seconds,
    failing (a 5xx, slow) while :attr:`failing`."""

    def __init__(self, stack: PrometheusStack) -> None:
        super().__init__(stack, NS, SERVICE, (STABLE, CANARY), buckets=(50, 100, 250, 500, 1000, 5000),
                         fast_ms=40, slow_ms=1500)
        self.failing = False
        self.next_request = 0.0
        self.requests = 0

    def tick(self) -> None:
        self.add(STABLE, 100)
        now = time.monotonic()
        if now >= self.next_request:
            bad = 1.0 if self.failing else 0.0
            self.add(CANARY, 1, slow_share=bad, error_share=bad)
            self.next_request, self.requests = now + GAP, self.requests + 1
        self.push()


def compiled_rules() -> dict[str, Any]:
    graph = compile_system(load_system(EXAMPLE, "dev").system, "dev")
    return compress_time(rule_file(graph), FACTOR, floor=4)


def _active(stack: PrometheusStack, state: str | None = None) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in stack.alerts(state) if a["labels"]["alertname"] in ALERTS)


def _canary_series(stack: PrometheusStack) -> int:
    return len(stack.query(f'mlops:monitor_value{{mlops_monitor="errors", revision_name="{CANARY}"}}'))


def test_a_sparse_canary_failing_every_request_fires_and_a_healthy_one_does_not(tmp_path: Path) -> None:
    require()
    with PrometheusStack(tmp_path, rules=[compiled_rules()]) as stack, SparseCanary(stack) as canary:
        # healthy: for longer than ``for`` no alert is even pending, and the canary's value has gaps
        seen, deadline = [], time.monotonic() + FOR + 2 * GAP
        while time.monotonic() < deadline:
            assert _active(stack) == [], stack.alerts()
            seen.append(_canary_series(stack))
            time.sleep(0.25)
        assert canary.requests >= FOR / GAP

        # failing every request: both alerts fire within about ``for`` plus the gap (and some evaluations)
        canary.failing, started = True, time.monotonic()
        wait_until(lambda: _active(stack, "firing") == list(ALERTS), timeout=FOR + 3 * GAP,
                   what="scorer-errors and scorer-latency firing", logs=stack.logs)
        assert time.monotonic() - started >= FOR - 1  # not before ``for``
        firing = {a["labels"]["alertname"]: a for a in stack.alerts("firing")}
        assert "revision_name" not in firing["scorer-errors"]["labels"]
        assert float(firing["scorer-errors"]["value"]) == 1.0  # the canary's own share of 5xx
        # while healthy, the canary's value had gaps: a sample after each request, none (no NaN) between
        assert 1 in seen and 0 in seen[seen.index(1):]
