"""Knative queue-proxies as far as their request metrics go: a stand-in for tests on the real
Prometheus harness (tests/support/prometheus.py).

Each revision's counters are exported as the queue-proxy exports them (knative/docs
docs/serving/metrics.md, "Queue proxy"): ``revision_app_request_latencies`` (a histogram in
milliseconds: ``_bucket`` by ``le``, ``_count``, ``_sum``) and ``revision_app_request_count`` by
``response_code_class``, labelled ``namespace_name``, ``service_name`` and ``revision_name``, and
pushed through the Pushgateway (job ``kserve``). A request is fast (``fast_ms``) or slow
(``slow_ms``) and may be a 5xx. A subclass says what each tick adds (:meth:`tick`); the counters
are pushed every 0.2 s from a thread while the object is entered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from tests.support.prometheus import PrometheusStack


class QueueProxies:
    """The counters of ``revisions`` of one Knative Service (see the module)."""

    def __init__(self, stack: PrometheusStack, namespace: str, service: str, revisions: Sequence[str], *,
                 buckets: Sequence[int], fast_ms: float, slow_ms: float) -> None:
        self.stack, self.namespace, self.service = stack, namespace, service
        self.buckets, self.fast_ms, self.slow_ms = tuple(buckets), fast_ms, slow_ms
        self.counts = {rev: {"fast": 0.0, "slow": 0.0, "5xx": 0.0} for rev in revisions}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def add(self, revision: str, requests: float, *, slow_share: float = 0.0, error_share: float = 0.0) -> None:
        """``requests`` more requests of ``revision``, ``slow_share`` of them slow, ``error_share`` 5xx."""
        counts = self.counts[revision]
        counts["slow"] += requests * slow_share
        counts["fast"] += requests * (1 - slow_share)
        counts["5xx"] += requests * error_share

    def tick(self) -> None:
        """Add one tick's requests (:meth:`add`), then :meth:`push`."""
        raise NotImplementedError

    def push(self) -> None:
        self.stack.push("kserve", self.text())

    def text(self) -> str:
        """The counters in the Prometheus text format."""
        lines = ["# TYPE revision_app_request_latencies histogram", "# TYPE revision_app_request_count counter"]
        for revision, c in self.counts.items():
            labels = f'namespace_name="{self.namespace}",service_name="{self.service}",revision_name="{revision}"'
            total = c["fast"] + c["slow"]
            for le in self.buckets:
                below = c["fast"] * (le >= self.fast_ms) + c["slow"] * (le >= self.slow_ms)
                lines.append(f'revision_app_request_latencies_bucket{{{labels},le="{le}"}} {below:.3f}')
            lines.append(f'revision_app_request_latencies_bucket{{{labels},le="+Inf"}} {total:.3f}')
            lines.append(f'revision_app_request_latencies_count{{{labels}}} {total:.3f}')
            lines.append(f'revision_app_request_latencies_sum{{{labels}}} '
                         f'{c["fast"] * self.fast_ms + c["slow"] * self.slow_ms:.3f}')
            lines.append(f'revision_app_request_count{{{labels},response_code_class="2xx"}} {total - c["5xx"]:.3f}')
            lines.append(f'revision_app_request_count{{{labels},response_code_class="5xx"}} {c["5xx"]:.3f}')
        return "\n".join(lines) + "\n"

    def run(self) -> None:
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(0.2)

    def __enter__(self) -> QueueProxies:
        self.tick()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


class CanaryRouter(QueueProxies):
    """KServe's router over two revisions of one InferenceService: each tick reads its
    ``canaryTrafficPercent`` from the Kubernetes stand-in ``api`` (``isvc``: the arguments of
    ``api.get``), records each share it moves to in :attr:`percents`, and sends that share of
    ``per_tick`` requests to the ``new`` revision and the rest to the ``stable`` one. ``new_slow``
    gives the slow share of the new revision's requests at a share (a function of the percent: a
    canary slow only at some steps); ``stable_slow`` is that of the stable revision's."""

    def __init__(self, stack: PrometheusStack, api: Any, isvc: Sequence[str], service: str, stable: str, new: str, *,
                 buckets: Sequence[int], fast_ms: float, slow_ms: float, new_slow: Callable[[int], float],
                 stable_slow: float = 0.0) -> None:
        super().__init__(stack, isvc[-1], service, (stable, new), buckets=buckets, fast_ms=fast_ms, slow_ms=slow_ms)
        self.api, self.isvc, self.stable, self.new = api, tuple(isvc), stable, new
        self.new_slow, self.stable_slow = new_slow, stable_slow
        self.percents: list[int] = []

    def share(self) -> int:
        """The new revision's share now, recorded in :attr:`percents` when it moved."""
        percent = int(self.api.get(*self.isvc)["spec"]["predictor"]["canaryTrafficPercent"])
        if not self.percents or self.percents[-1] != percent:
            self.percents.append(percent)
        return percent

    def tick(self, per_tick: int = 500) -> None:
        percent = self.share()
        new = per_tick * percent / 100
        self.add(self.stable, per_tick - new, slow_share=self.stable_slow)
        self.add(self.new, new, slow_share=self.new_slow(percent))
        self.push()
