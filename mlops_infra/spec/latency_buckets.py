"""Latency thresholds Kubernetes can compare exactly: the bounds of Knative's latency buckets.

On Kubernetes a ``latency_p99`` monitor reads the p99 from the histogram Knative's queue-proxy
keeps of every request's latency (``revision_app_request_latencies``, ``compile/kubernetes/monitoring.py``).
Its buckets are fixed in the queue-proxy, not configurable: :data:`KNATIVE_LATENCY_BUCKETS_MS`
(knative/serving ``pkg/queue/request_metric.go``, ``defaultLatencyDistribution``, the same list from
release ``knative-v1.13.0`` to ``knative-v1.18.0``; ``v0.44.0``, the release the docs pin, is
``knative-v1.17.0``). Knative 1.19 moved to OpenTelemetry with other buckets and other metric names,
which the compiled rules do not read (docs/compile-kubernetes.md).

``histogram_quantile`` "assumes a linear distribution of values within a bucket"
(https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile). So:

- at a bucket bound ``T`` the comparison is exact: the p99 is above ``T`` if and only if more than
  1 % of the requests were not counted in the bucket ``le="T"``, i.e. took ``T`` or longer (the
  queue-proxy records whole milliseconds, ``latency.Milliseconds()``, into OpenCensus buckets
  ``[bounds[i-1], bounds[i])``: go.opencensus.io v0.24.0 ``stats/view/aggregation.go``
  ``Distribution``);
- between two bounds the p99 is a guess inside the bucket and the alert is wrong both ways: with a
  4 s threshold (inside 2 s..5 s), every request at 2.5 s reads 4.97 s (a false page, and a
  rollback of every healthy canary when the alert gates a rollout), and 2.5 % of the requests at
  4.5 s read 3.8 s (missed);
- above the last finite bound (100 s) ``histogram_quantile`` returns that bound ("If the quantile
  falls into the highest bucket, the upper bound of the 2nd highest bucket is returned", same page),
  so a threshold of 100 s or more can never be exceeded.

:func:`check_latency_buckets` refuses, in Kubernetes environments, a ``latency_p99`` threshold
that is not one of :data:`EXACT_LATENCY_THRESHOLDS_MS` (every bound but the last), naming the two
nearest. An error, not a warning: the document would apply cleanly, and its alert would then
neither mean what the spec says (``p99 > threshold for ...``) nor err on a known side, and a
rollout gated by it rolls back healthy versions; a bound close to the intended value always
exists. On AWS CloudWatch computes ``p99`` from the samples themselves: any threshold is exact.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment

KNATIVE_LATENCY_BUCKETS_MS: tuple[int, ...] = (
    5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600,
    700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
"""Upper bounds (milliseconds) of Knative queue-proxy's latency buckets (the ``le`` labels of
``revision_app_request_latencies_bucket``; ``+Inf`` follows): knative/serving v0.44.0
``pkg/queue/request_metric.go`` ``defaultLatencyDistribution``."""

EXACT_LATENCY_THRESHOLDS_MS: tuple[int, ...] = KNATIVE_LATENCY_BUCKETS_MS[:-1]
"""Thresholds a p99 read from those buckets compares exactly (the last bound is the largest p99
``histogram_quantile`` returns, so it is never exceeded)."""


def latency_text(milliseconds: float) -> str:
    """``250ms``, ``2s``: how a bound is written in a document."""
    return f"{milliseconds / 1000:g}s" if milliseconds >= 1000 else f"{milliseconds:g}ms"


def is_exact(milliseconds: float) -> bool:
    """Whether a threshold of ``milliseconds`` is one of :data:`EXACT_LATENCY_THRESHOLDS_MS`."""
    i = bisect.bisect_left(EXACT_LATENCY_THRESHOLDS_MS, round(milliseconds))
    return i < len(EXACT_LATENCY_THRESHOLDS_MS) and math.isclose(
        EXACT_LATENCY_THRESHOLDS_MS[i], milliseconds, rel_tol=1e-9, abs_tol=1e-9)


def nearest_thresholds(milliseconds: float) -> tuple[int, ...]:
    """The exact thresholds on either side of ``milliseconds`` (one at either end)."""
    bounds = EXACT_LATENCY_THRESHOLDS_MS
    i = bisect.bisect_left(bounds, milliseconds)
    return tuple(bounds[j] for j in (i - 1, i) if 0 <= j < len(bounds))


def _why(milliseconds: float) -> tuple[str, str]:
    """(where the threshold lies, why that breaks the comparison)."""
    last = KNATIVE_LATENCY_BUCKETS_MS[-1]
    if milliseconds >= last:
        return (f"is at or past Knative's last latency bucket ({latency_text(last)})",
                f"histogram_quantile returns at most the last finite bound, {latency_text(last)}, so the p99 "
                "never exceeds this threshold and the alert never fires")
    low, high = _bucket(milliseconds)
    reading = latency_text(round(low + (high - low) * 0.99, 3))
    return (f"falls between Knative's latency buckets {latency_text(low)} and {latency_text(high)}",
            f"inside that bucket histogram_quantile reads the p99 as if its requests were spread evenly across "
            f"it, not from their real times (every request just over {latency_text(low)} reads {reading}): the "
            "alert can fire on traffic no slower than the threshold, rolling back the healthy versions it gates, "
            "and miss traffic slower than it")


def _bucket(milliseconds: float) -> tuple[float, float]:
    bounds = KNATIVE_LATENCY_BUCKETS_MS
    i = bisect.bisect_left(bounds, milliseconds)
    return (bounds[i - 1] if i else 0.0), bounds[i]


def check_latency_buckets(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In a Kubernetes environment, every latency_p99 threshold is an exact one (module docstring)."""
    if environment.target.kind != "kubernetes":
        return
    for i, monitor in enumerate(ctx.system.monitors):
        threshold = monitor.threshold
        if monitor.metric != "latency_p99" or not threshold.is_time or threshold.value <= 0:
            continue  # a threshold that is not a positive time is invalid-threshold already
        milliseconds = threshold.milliseconds
        if is_exact(milliseconds):
            continue
        choices = " or ".join(latency_text(b) for b in nearest_thresholds(milliseconds))
        where, why = _why(milliseconds)
        yield error(
            "latency-threshold-off-bucket",
            f'Latency threshold {threshold} of monitor "{monitor.name}" {where}',
            f"In environment {env} (Kubernetes) the p99 is read from the Knative queue-proxy's latency histogram, "
            f"whose buckets end at fixed bounds ({', '.join(latency_text(b) for b in KNATIVE_LATENCY_BUCKETS_MS)}); "
            f"{why}. At a bound up to {latency_text(EXACT_LATENCY_THRESHOLDS_MS[-1])} the comparison is exact: "
            f"the p99 is above it exactly when more than 1% of the requests took that long. Did you mean {choices}?",
            ("monitors", i, "threshold"), f"monitors.{monitor.name}")
