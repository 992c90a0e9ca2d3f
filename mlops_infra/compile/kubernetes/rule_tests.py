"""Alert rules with their own proof: a ``promtool test rules`` file for every compiled alert.

Contract: :func:`rule_file` gathers the rule groups of every PrometheusRule in a compiled
Kubernetes graph into one Prometheus rule file; :func:`rule_test_file` writes, for every alert the
compiler emits, unit tests in the format of ``promtool test rules``
(https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/) over that file.
The input series are the *source* metrics the monitor reads (Knative's queue-proxy histogram and
counters for latency and errors, the drift job's pushes as the Pushgateway exposes them), so a test
exercises the recording rule and the alerting rule together, with their real thresholds, windows
and ``for``:

- ``fires``: healthy for a while, then unhealthy: no alert while it has been unhealthy for less
  than ``for``, the alert firing (exact labels and annotations) once it has been unhealthy longer.
  The annotations are expected as Prometheus expands them: the description with the value the
  alert fired on (``alerting.description``), the value the scenario's unhealthy series make the
  recording rule compute (:func:`unhealthy_value`) written as Prometheus writes it
  (``alert_value.render_value``), so promtool checks the unit and the number of every alert's
  message too;
- ``recovers``: the same, then healthy again: the alert is gone (a measured value's trouble lasts
  one sample past the firing check, whose value promtool may read from the recording of that
  evaluation or of the one before: it evaluates the rule groups in Go map order,
  ``cmd/promtool/unittest.go`` ``orderedGroups``);
- ``canary`` and ``stable`` (latency and error rate, measured per Knative revision): two revisions
  serve the endpoint, the stable one :data:`CANARY_SHARE` less than all the requests, the canary
  that share; one of them turns unhealthy while the other stays healthy, and the alert fires as in
  ``fires`` (the same labels: no ``revision_name``). The canary's share is small enough that its
  trouble, diluted over the whole endpoint, stays under the threshold, so a rule measuring the
  endpoint instead of each revision fails the ``canary`` test;
- ``short spike`` (where a spike shorter than ``for`` can happen: shorter than ``for`` minus the
  rate window, or one drift run shorter than ``for``): the alert never fires
  (``ALERTS{alertstate="firing"}`` stays empty over the whole test);
- ``sparse`` (latency and error rate, when the alert's hold, ``monitoring.hold_seconds``, bridges
  the gaps of a canary at one request per :data:`SPARSE_GAP` seconds): next to a healthy stable
  revision, a canary revision serving one request every :data:`SPARSE_GAP` seconds and failing
  every one (a 5xx, or slow) fires as in ``fires``, within ``for`` plus the gap; the same canary
  healthy never fires; one failed request followed by silence never fires (a minute without
  requests is no evidence: ``monitoring`` contract, "Sparse traffic");
- ``another namespace`` (drift and quality monitors, where an unhealthy score exists): this
  namespace's job pushes healthy values while another namespace's Pushgateway exposes unhealthy
  ones under the same grouping key (same system, environment and monitor; only the scrape's
  ``namespace`` differs, ``monitoring.pushed_labels``): the alert never fires (audit k8smon-3);
- ``stale`` (drift and quality monitors): the job stops pushing while the alert fires; once the last
  push is older than the staleness horizon the alert keeps firing for the rule's ``keep_firing_for``
  (``alerting.KEEP_FIRING_FOR``, read from the compiled rule), then it is gone.

- ``rollback notice`` (each endpoint whose rollbacks are announced, ``alerting.rollback_rule``; file
  :data:`ROLLBACK_FILE`): the runner's push as the Pushgateway exposes it (the notice's time, labelled
  with its facts: ``rollout/scheduled.py`` ``notice_facts``) fires the rollback alert with the facts as
  labels and written in its annotations, for the whole window (``alerting.ROLLBACK_WINDOW_SECONDS``:
  firing just before it ends, gone after); the same notice pushed again later (at-least-once) is still
  one alert; a push without facts (a runner compiled before them) fires with the annotations of old;
  the same notice scraped from another namespace's Pushgateway never fires it.

- ``exactness`` (latency): for longer than ``for``, 0.9 % of the requests just over the threshold
  and the rest just under it: no alert ever; 1.1 %: the alert fires as in ``fires``. At a bucket
  bound the p99 is above the threshold exactly when more than 1 % of the requests are slower
  (``spec/latency_buckets.py``), so these pin the rules' comparison to the real buckets.

- ``notify failures`` (a system with channels, file :data:`NOTIFY_FAILURES_FILE`, the rules of
  ``alerting.notify_failure_rules``, fed Alertmanager's own counters as Prometheus scrapes them):
  for each channel, an Alertmanager labelling its metrics by receiver (``receiver_name``, 0.27+ with
  the feature flag, ``reason`` too) giving up on the channel's receiver fires
  ``notify_failed_<channel>`` (exact labels and annotations) and not the integration's alert, and it
  resolves :data:`~alerting.FAILURE_WINDOW` after the last failure; another namespace's receiver of
  the same kind failing never fires it; for each kind, an Alertmanager without ``receiver_name``
  (0.25) giving up on that integration fires ``notify_failed_<kind>_receivers`` and no channel's
  alert (``webhook`` too when only a retrain trigger has such a receiver); each training job's retrain
  trigger receiver as a channel's (``notify_failed_retrain_<job>``); counters that do not grow fire
  nothing; no Alertmanager series at all fires ``notify_failures_unobserved`` after its ``for`` and not
  before; with a driven rollout, kube-state-metrics' series of a failed Job of the rollout runner's
  CronJob fire ``rollout_runner_failed`` until the Job is older than
  :data:`~alerting.RUNNER_FAILURE_WINDOW_SECONDS`, and a failed Job of another CronJob never does.
- ``training failures`` (:data:`TRAINING_FAILURES_FILE`, each training job with someone to tell,
  ``alerting.training_failure_rule``): kube-state-metrics' series of a failed launcher Job of the job's
  CronJob fire ``training_failed_<job>`` from the failure until the Job is older than
  :data:`~alerting.LAUNCH_FAILURE_WINDOW_SECONDS`; the custom-resource-state series of a run's ``Failed``
  condition (:data:`~alerting.RUN_STATE_METRICS`) fire it for :data:`~alerting.TRAINING_FAILURE_WINDOW_SECONDS`
  after the failure; a run that succeeded, another job's failed run or launcher, the runner's failed Job never do.

Latency is fed on Knative's own histogram buckets (:data:`KNATIVE_LATENCY_BUCKETS_MS`, the one list
``validate`` checks thresholds against): healthy requests in the bucket ending at the threshold,
slow ones in the bucket starting at it (the closest values on either side the histogram can show).
Other healthy and unhealthy values sit clearly on either side of the threshold (half and double,
or halfway to the end of a score's range); a threshold that admits no unhealthy value (a latency
of 100 s or more, a score above 1, an error rate of 100 %) gets no firing tests. Everything here is pure: same input, same files.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import yaml

from mlops_infra.compile import drift_job
from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.kubernetes import alert_value, alerting, monitoring, names, routing
from mlops_infra.compile.kubernetes.alerting import alert_rule
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.graph import DesiredGraph, GraphBuilder
from mlops_infra.spec.alerting import Alert
from mlops_infra.spec.latency_buckets import KNATIVE_LATENCY_BUCKETS_MS
from mlops_infra.spec.monitoring import LOWER_IS_WORSE, Monitor
from mlops_infra.spec.quantities import parse_duration
from mlops_infra.spec.system import MLSystem

RULE_FILE = "rules.yml"
ROLLBACK_FILE = "tests-rollback.yml"
ROLLBACK_FACTS = {"version": "14", "serving_version": "13", "share": "10%", "cause": "alert_fired",
                  "detail": "scorer-latency 310ms > 250ms"}
"""The facts of the rollback notice tests (the shape ``rollout/scheduled.py`` ``notice_facts`` writes)."""
ALERTMANAGER_FILE = "alertmanager.yml"
TRAFFIC_INTERVAL = 15
"""Seconds between samples (and rule evaluations) of the serving tests: the PodMonitor's interval."""
PUSH_SAMPLE_INTERVAL = 60
"""Shortest time between samples (and rule evaluations) of the drift tests; a drift monitor's tests
sample 60 times per schedule period at most (their scenarios last several periods)."""
MAX_SAMPLE_INTERVAL = 240
"""Samples must be closer than Prometheus' lookback delta (5 minutes), or a series vanishes between
two samples and a pending alert starts over."""
WARM_UP = 120
"""Healthy seconds before a scenario turns unhealthy."""
REQUESTS = 1000
"""Requests per sample interval in the serving scenarios."""
CANARY_SHARE = 0.005
"""The canary revision's share of the requests in the two-revision scenarios: its unhealthy
latency (every request slow) or error share (twice the threshold, at most 100 %) diluted by the
stable revision's healthy traffic stays under the threshold (p99 of the endpoint still fast: 0.5 %
of requests are slow; 5xx share about half the threshold plus 1 %)."""
SLOW_SHARES = (0.009, 0.011)
"""Shares of slow requests on either side of the p99's 1 % in the latency exactness tests (a
share of exactly 1 % would put the p99 on the threshold itself, where float rounding decides)."""
SPARSE_GAP = 75
"""Seconds between a sparse canary's requests: 2 % of an endpoint serving 40 requests a minute
(every fifth sample of the serving tests)."""
STABLE_REVISION = "00001"
CANARY_REVISION = "00002"
"""Suffixes of the revisions' names (Knative names a revision ``<configuration>-<generation>``,
five digits)."""


def _duration(seconds: int) -> str:
    return f"{seconds}s"


def _number(value: float) -> str:
    return format(value, ".10g")


def values_text(values: list[float | None]) -> str:
    """promtool's expanding notation for ``values``: runs of equal steps as ``a+bxn``, ``_`` for
    missing samples (``None``)."""
    out: list[str] = []
    i = 0
    while i < len(values):
        if values[i] is None:
            j = i
            while j + 1 < len(values) and values[j + 1] is None:
                j += 1
            out.append("_" if j == i else f"_x{j - i + 1}")
            i = j + 1
            continue
        j = i
        step = values[i + 1] - values[i] if i + 1 < len(values) and values[i + 1] is not None else 0.0
        while j + 1 < len(values) and values[j + 1] is not None and math.isclose(
                values[j + 1] - values[j], step, rel_tol=0, abs_tol=1e-9):
            j += 1
        start = _number(values[i])
        out.append(start if j == i else f"{start}{'+' if step >= 0 else '-'}{_number(abs(step))}x{j - i}")
        i = j + 1
    return " ".join(out)


def _labels_text(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


# --- how a monitor's source metrics look when healthy or unhealthy --------------------------------


@dataclass(frozen=True)
class Traffic:
    """Which revision serves a scenario's requests, and how many per sample interval."""

    revision: str = STABLE_REVISION
    requests: float = REQUESTS
    slow_share: float = 1.0
    """Latency: the share of the requests that are slow while the scenario is unhealthy."""
    error_share: float | None = None
    """Error rate: the share of the requests that fail while unhealthy (None: twice the threshold,
    :func:`_error_shares`)."""


@dataclass(frozen=True)
class Timeline:
    """A scenario as states per sample: True unhealthy, False healthy, None nothing happens
    (no traffic; for pushed metrics no push)."""

    interval: int
    states: list[bool | None]

    @property
    def end(self) -> int:
        return (len(self.states) - 1) * self.interval


def _serving_labels(kube: KubeTarget, monitor: Monitor, traffic: Traffic) -> dict[str, str]:
    """The queue-proxy labels the recording rules select and group by (see monitoring.py)."""
    service = f"{monitor.endpoint}-predictor"
    return {"namespace_name": kube.namespace, monitoring.REVISION: f"{service}-{traffic.revision}",
            "service_name": service}


def _latency_buckets(monitor: Monitor) -> tuple[tuple[float, ...], int, int]:
    """Knative's bucket bounds (ms, ``inf`` last) and the indexes of the buckets healthy and slow
    requests fall in: the last bucket ending at or under the threshold (the first when none does),
    and the first starting at or over it."""
    bounds = (*KNATIVE_LATENCY_BUCKETS_MS, math.inf)
    threshold_ms = monitoring.threshold_value(monitor) * 1000
    healthy = max(0, bisect.bisect_right(bounds, threshold_ms * (1 + 1e-12)) - 1)
    slow = bisect.bisect_left(bounds, threshold_ms * (1 - 1e-12)) + 1
    return bounds, healthy, slow


def _latency_series(kube: KubeTarget, monitor: Monitor, timeline: Timeline,
                    traffic: Traffic = Traffic()) -> list[dict[str, str]]:
    """The queue-proxy histogram on Knative's own buckets (:data:`KNATIVE_LATENCY_BUCKETS_MS`):
    healthy requests in the bucket that ends at the threshold (p99 just under it), slow ones in the
    bucket that starts there (p99 just over it); while unhealthy, ``traffic.slow_share`` of the
    requests are slow."""
    bounds, healthy, slow = _latency_buckets(monitor)
    base = _serving_labels(kube, monitor, traffic)
    series = []
    for k, bound in enumerate(bounds):
        counts, total = [], 0.0
        for state in timeline.states:
            if state is not None:
                slow_requests = round(traffic.requests * traffic.slow_share, 6) if state else 0.0
                total += (traffic.requests - slow_requests if k >= healthy else 0.0) + (slow_requests if k >= slow else 0.0)
            counts.append(total)
        le = "+Inf" if math.isinf(bound) else _number(bound)
        series.append({"series": _labels_text("revision_app_request_latencies_bucket", {**base, "le": le}),
                       "values": values_text(counts)})
    return series


def _error_shares(monitor: Monitor) -> tuple[float, float] | None:
    threshold = monitoring.threshold_value(monitor)
    if threshold >= 1:
        return None
    return threshold / 2, min(1.0, max(threshold * 2, threshold + 0.01))


def _error_series(kube: KubeTarget, monitor: Monitor, timeline: Timeline,
                  traffic: Traffic = Traffic()) -> list[dict[str, str]]:
    """Knative's request counter: healthy half the threshold's share of 5xx, unhealthy twice it."""
    healthy, unhealthy = _error_shares(monitor) or (0.0, 0.0)
    unhealthy = unhealthy if traffic.error_share is None else traffic.error_share
    base = _serving_labels(kube, monitor, traffic)
    ok, failed = [], []
    ok_total = failed_total = 0.0
    for state in timeline.states:
        if state is not None:
            errors = round(traffic.requests * (unhealthy if state else healthy), 6)
            failed_total += errors
            ok_total += traffic.requests - errors
        ok.append(ok_total)
        failed.append(failed_total)
    return [{"series": _labels_text("revision_app_request_count", {**base, "response_code_class": "2xx"}),
             "values": values_text(ok)},
            {"series": _labels_text("revision_app_request_count", {**base, "response_code_class": "5xx"}),
             "values": values_text(failed)}]


def _score_values(monitor: Monitor) -> tuple[float, float] | None:
    """(healthy, unhealthy) scores in 0..1, or None when no score is unhealthy."""
    threshold = monitoring.threshold_value(monitor)
    if monitor.metric in LOWER_IS_WORSE:
        return (None if threshold <= 0 else ((1 + threshold) / 2, threshold / 2))
    return None if threshold >= 1 else (threshold / 2, (1 + threshold) / 2)


def _pushed_series(kube: KubeTarget, monitor: Monitor, timeline: Timeline,
                   traffic: Traffic = Traffic()) -> list[dict[str, str]]:
    """What Prometheus scrapes from the Pushgateway: the last pushed value and ``push_time_seconds``
    of the group (absent before the first push, kept after the last); no revision (``traffic`` is
    not used)."""
    healthy, unhealthy = _score_values(monitor) or (0.0, 0.0)
    group = monitoring.push_group(kube, monitor)
    labels = {**group, "endpoint": monitor.endpoint, "metric": monitor.metric}
    values: list[float | None] = []
    times: list[float | None] = []
    value: float | None = None
    pushed: float | None = None
    for n, state in enumerate(timeline.states):
        if state is not None:
            value, pushed = (unhealthy if state else healthy), float(n * timeline.interval)
        values.append(value)
        times.append(pushed)
    return [{"series": _labels_text(monitoring.PUSHED, monitoring.pushed_labels(kube, labels)),
             "values": values_text(values)},
            {"series": _labels_text("push_time_seconds", monitoring.pushed_labels(kube, {**group, "instance": ""})),
             "values": values_text(times)}]


def bucket_quantile(q: float, bounds: tuple[float, ...], cumulative: list[float]) -> float:
    """Prometheus' ``histogram_quantile`` over cumulative bucket counts (upper ``bounds`` ascending,
    ``inf`` last): prometheus/prometheus v2.42.0 ``promql/quantile.go`` ``bucketQuantile`` (the rank's
    bucket by ``sort.Search``, the bound below the ``+Inf`` bucket when the rank falls in it, linear
    interpolation within the bucket from the previous bound, 0 below the first)."""
    rank = q * cumulative[-1]
    b = next((i for i in range(len(bounds) - 1) if cumulative[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, count = (bounds[b - 1], cumulative[b] - cumulative[b - 1]) if b else (0.0, cumulative[0])
    rank -= cumulative[b - 1] if b else 0.0
    return start + (bounds[b] - start) * (rank / count)


def unhealthy_value(monitor: Monitor, traffic: Traffic = Traffic()) -> float:
    """The recorded value of a revision unhealthy as the series writers feed it (``traffic``): the p99
    in seconds of a window of its requests (:func:`bucket_quantile`, ``rate`` scales every bucket
    alike), its 5xx share, or the unhealthy pushed score. An alert's value when that revision is the
    worst (module contract: the other revision, if any, is healthy)."""
    if monitor.metric == "latency_p99":
        bounds, healthy, slow = _latency_buckets(monitor)
        slow_requests = round(traffic.requests * traffic.slow_share, 6)
        cumulative = [(traffic.requests - slow_requests if k >= healthy else 0.0) + (slow_requests if k >= slow else 0.0)
                      for k in range(len(bounds))]
        return bucket_quantile(0.99, bounds, cumulative) / 1000
    if monitor.metric == "error_rate":
        share = (_error_shares(monitor) or (0.0, 0.0))[1] if traffic.error_share is None else traffic.error_share
        return round(traffic.requests * share, 6) / traffic.requests
    return (_score_values(monitor) or (0.0, 0.0))[1]


@dataclass(frozen=True)
class Signal:
    """How a monitor kind is fed: its test file, sample interval (= evaluation interval), series
    writer, whether an unhealthy value exists for a monitor, and whether values are pushed runs."""

    file: str
    interval: int
    series: Callable[[KubeTarget, Monitor, Timeline, Traffic], list[dict[str, str]]]
    possible: Callable[[Monitor], bool]
    pushed: bool = False


SIGNALS: dict[str, Signal] = {
    "latency_p99": Signal("tests-serving.yml", TRAFFIC_INTERVAL, _latency_series,
                          lambda m: 0 < monitoring.threshold_value(m) * 1000 < KNATIVE_LATENCY_BUCKETS_MS[-1]),
    "error_rate": Signal("tests-serving.yml", TRAFFIC_INTERVAL, _error_series, lambda m: _error_shares(m) is not None),
    **{kind: Signal("tests-drift.yml", PUSH_SAMPLE_INTERVAL, _pushed_series, lambda m: _score_values(m) is not None,
                    pushed=True) for kind in sorted(monitoring.DRIFT_METRICS)},
}
"""Monitor metric -> how its tests feed it."""


def signal_of(monitor: Monitor) -> Signal:
    """The monitor's signal; drift monitors sample ``schedule / 60`` apart (1 to 4 minutes) and
    share a test file with the monitors sampled alike (``tests-drift-<seconds>s.yml``)."""
    signal = SIGNALS[monitor.metric]
    if not signal.pushed:
        return signal
    interval = min(MAX_SAMPLE_INTERVAL, max(PUSH_SAMPLE_INTERVAL, drift_job.schedule_seconds(monitor) // 60 // 60 * 60))
    return replace(signal, interval=interval, file=f"tests-drift-{interval}s.yml")


# --- scenarios -------------------------------------------------------------------------------------


def _states(signal: Signal, monitor: Monitor, phases: list[tuple[bool | None, int]]) -> list[bool | None]:
    """States per sample for phases of (state, seconds), plus one closing sample. A pushed signal
    pushes at the first sample of each schedule period (and at 0); its other samples are None."""
    every = drift_job.schedule_seconds(monitor)
    states: list[bool | None] = []
    t = 0
    for state, seconds in phases:
        for _ in range(max(1, -(-seconds // signal.interval))):
            due = t == 0 or t // every != (t - signal.interval) // every
            states.append(state if not signal.pushed or (state is not None and due) else None)
            t += signal.interval
    states.append(None if signal.pushed else phases[-1][0])
    return states


ELSEWHERE = "-elsewhere"
"""Suffix of the other namespace in the ``another namespace`` tests."""


def elsewhere(kube: KubeTarget, series: list[dict[str, str]]) -> list[dict[str, str]]:
    """``series`` as another namespace's Pushgateway exposes them: the same system, environment and
    grouping key, scraped with ``namespace`` ``<this namespace>-elsewhere`` (``monitoring.pushed_labels``)."""
    mine, theirs = f'namespace="{kube.namespace}"', f'namespace="{kube.namespace}{ELSEWHERE}"'
    return [{**s, "series": s["series"].replace(mine, theirs)} for s in series]


def _round_up(seconds: int, step: int) -> int:
    return -(-seconds // step) * step


def _alert_check(name: str, at: int, alert: dict[str, Any] | None) -> dict[str, Any]:
    return {"eval_time": _duration(at), "alertname": name, "exp_alerts": [alert] if alert else []}


def _never_fired(name: str, at: int) -> dict[str, Any]:
    return {"expr": f'max_over_time(ALERTS{{alertname="{name}", alertstate="firing"}}[{_duration(at + 60)}])',
            "eval_time": _duration(at), "exp_samples": []}


def _kept_seconds(kube: KubeTarget, alert: Alert) -> int:
    """The compiled rule's ``keep_firing_for`` in seconds (0 without one)."""
    kept = alert_rule(kube, alert).get("keep_firing_for")
    return parse_duration(kept).seconds if kept else 0


def _expected(kube: KubeTarget, alert: Alert, monitor: Monitor, traffic: Traffic = Traffic()) -> dict[str, Any]:
    """The firing alert as promtool sees it: the rule's labels and its annotations as Prometheus
    expands them, the description with the value of the unhealthy ``traffic``
    (:func:`unhealthy_value`, written as :func:`alert_value.render_value` says Prometheus writes it)."""
    rule = alert_rule(kube, alert)
    labels = {**monitoring.series_labels(kube, monitor), **rule["labels"]}
    value = alert_value.render_value(monitor, unhealthy_value(monitor, traffic))
    annotations = {**rule["annotations"], "description": alerting.description(alert, monitor, value)}
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(annotations.items()))}


def _test(name: str, interval: int, series: list[dict[str, str]], checks: list[dict[str, Any]],
          never: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    test: dict[str, Any] = {"name": name, "interval": _duration(interval), "input_series": series}
    if checks:
        test["alert_rule_test"] = checks
    if never:
        test["promql_expr_test"] = list(never)
    return test


@dataclass(frozen=True)
class Scenarios:
    """The timing of one alert's scenarios (seconds from the start of a test)."""

    signal: Signal
    monitor: Monitor
    hold: int
    """The alert's ``for``."""

    @property
    def step(self) -> int:
        """How often the source changes: each sample, or each run of a drift job."""
        return drift_job.schedule_seconds(self.monitor) if self.signal.pushed else self.signal.interval

    @property
    def window(self) -> int:
        """Seconds an unhealthy sample keeps the value unhealthy (the rate window; 0 when pushed)."""
        return 0 if self.signal.pushed else monitoring.WINDOW_SECONDS

    @property
    def warm(self) -> int:
        """Healthy traffic before the trouble starts (a pushed scenario starts with its first push)."""
        return 0 if self.signal.pushed else WARM_UP

    @property
    def lag(self) -> int:
        """Longest time from the source turning unhealthy or healthy to the value following."""
        return self.window + self.signal.interval

    @property
    def unhealthy(self) -> int:
        return _round_up(self.hold + self.lag + 2 * self.signal.interval, self.step)

    @property
    def fire_at(self) -> int:
        return self.warm + self.hold + self.lag + 2 * self.signal.interval

    @property
    def spike(self) -> int | None:
        """A spike shorter than ``for`` (its unhealthy value too), or None when none fits."""
        spike = self.step if self.signal.pushed else (self.hold - self.window - 2 * self.signal.interval) // 2
        return spike if self.signal.interval <= spike and spike + self.window < self.hold else None

    def lead(self) -> list[tuple[bool | None, int]]:
        return [(False, self.warm)] if self.warm else []

    def feed(self, kube: KubeTarget, phases: list[tuple[bool | None, int]],
             traffic: Traffic = Traffic()) -> tuple[list[dict[str, str]], int]:
        """Input series of the phases, and the time of their last push."""
        states = _states(self.signal, self.monitor, self.lead() + phases)
        pushes = [n for n, state in enumerate(states) if state is not None]
        series = self.signal.series(kube, self.monitor, Timeline(self.signal.interval, states), traffic)
        return series, (pushes[-1] * self.signal.interval if pushes else 0)

    def feed_revisions(self, kube: KubeTarget, unhealthy: str) -> list[dict[str, str]]:
        """Input series of two revisions (stable and canary, see :data:`CANARY_SHARE`) healthy for
        the warm-up, then revision ``unhealthy`` unhealthy and the other healthy."""
        series = []
        for revision in (STABLE_REVISION, CANARY_REVISION):
            states = _states(self.signal, self.monitor, [*self.lead(), (revision == unhealthy, self.unhealthy)])
            series += self.signal.series(kube, self.monitor, Timeline(self.signal.interval, states),
                                         revision_traffic(revision))
        return series


def revision_traffic(revision: str) -> Traffic:
    """The traffic of ``revision`` in the two-revision scenarios (:data:`CANARY_SHARE`)."""
    return Traffic(revision, REQUESTS * (CANARY_SHARE if revision == CANARY_REVISION else 1 - CANARY_SHARE))


SPARSE_CANARY = Traffic(CANARY_REVISION, 1, slow_share=1.0, error_share=1.0)
"""The sparse canary's traffic: one request per sample it serves, failing (slow, a 5xx) while unhealthy."""


def _sparse_tests(kube: KubeTarget, at: Scenarios, name: str, expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``sparse`` tests (module contract): a stable revision healthy throughout and a canary
    revision serving one request every :data:`SPARSE_GAP` seconds after the warm-up."""
    interval = at.signal.interval
    fire_by = at.warm + at.hold + SPARSE_GAP + at.lag + 2 * interval
    length = _round_up(fire_by - at.warm + interval, SPARSE_GAP)

    def feed(canary: list[bool | None]) -> list[dict[str, str]]:
        stable = [False] * (len(canary))
        return [*at.signal.series(kube, at.monitor, Timeline(interval, stable), Traffic(STABLE_REVISION)),
                *at.signal.series(kube, at.monitor, Timeline(interval, canary), SPARSE_CANARY)]

    every = SPARSE_GAP // interval
    warm = at.warm // interval

    def sparse(state: bool, requests: int | None = None) -> list[bool | None]:
        steps = length // interval + 1
        return [None] * warm + [state if n % every == 0 and (requests is None or n // every < requests) else None
                                for n in range(steps)]

    checks = [_alert_check(name, at.warm + at.hold - interval, None), _alert_check(name, fire_by, expected)]
    end = warm * interval + length
    return [
        _test(f"{name}: a canary failing every request at one per {SPARSE_GAP}s fires", interval,
              feed(sparse(True)), checks),
        _test(f"{name}: a healthy canary at one request per {SPARSE_GAP}s never fires", interval,
              feed(sparse(False)), [_alert_check(name, end, None)], (_never_fired(name, end),)),
        _test(f"{name}: one failed request and then silence never fires", interval, feed(sparse(True, requests=1)),
              [_alert_check(name, at.warm + at.hold + 2 * interval, None), _alert_check(name, end, None)],
              (_never_fired(name, end),)),
    ]


def _exactness_tests(kube: KubeTarget, at: Scenarios, name: str,
                     checks: Callable[[Traffic], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """At a bucket bound the p99 is above the threshold exactly when more than 1 % of the requests
    are slower (spec/latency_buckets.py): :data:`SLOW_SHARES` of them just over it, the rest just
    under it, for longer than ``for``."""
    under, over = SLOW_SHARES
    series, _ = at.feed(kube, [(True, at.unhealthy)], Traffic(slow_share=under))
    end = at.fire_at
    quiet = _test(f"{name}: {under:.1%} of the requests slower than the threshold does not fire", at.signal.interval,
                  series, [_alert_check(name, end, None)], (_never_fired(name, end),))
    series, _ = at.feed(kube, [(True, at.unhealthy)], Traffic(slow_share=over))
    loud = _test(f"{name}: {over:.1%} of the requests slower than the threshold fires", at.signal.interval,
                 series, checks(Traffic(slow_share=over)))
    return [quiet, loud]


def alert_tests(kube: KubeTarget, alert: Alert, monitor: Monitor) -> list[dict[str, Any]]:
    """The unit tests of one alert (see the module contract)."""
    at = Scenarios(signal_of(monitor), monitor, alert.for_.seconds)
    interval, name = at.signal.interval, alert.name
    tests = []
    if at.signal.possible(monitor):
        def checks_for(traffic: Traffic) -> list[dict[str, Any]]:
            fired = [_alert_check(name, at.fire_at, _expected(kube, alert, monitor, traffic))]
            return [_alert_check(name, at.warm + at.hold - at.lag, None), *fired] if at.hold > at.lag else fired

        expected = _expected(kube, alert, monitor)
        checks = checks_for(Traffic())
        series, _ = at.feed(kube, [(True, at.unhealthy)])
        tests.append(_test(f"{name}: unhealthy longer than for ({alert.for_.text}) fires", interval, series, checks))
        recover = _round_up(at.lag + 2 * interval, at.step)
        # the alert's value at fire_at is the recording of that evaluation or of the one before (promtool
        # evaluates the rule groups in map order: cmd/promtool/unittest.go orderedGroups), so a measured
        # value stays unhealthy one sample past fire_at: every window either reads holds only the trouble
        sick = at.unhealthy if at.signal.pushed else at.unhealthy + interval
        series, _ = at.feed(kube, [(True, sick), (False, recover + at.step)])
        gone = _alert_check(name, at.warm + sick + recover, None)
        tests.append(_test(f"{name}: recovery resolves", interval, series, [*checks, gone]))
        if not at.signal.pushed:
            for revision, text in ((CANARY_REVISION, "the canary revision unhealthy, the stable one healthy"),
                                   (STABLE_REVISION, "the stable revision unhealthy, the canary healthy")):
                tests.append(_test(f"{name}: {text}, fires", interval, at.feed_revisions(kube, revision),
                                   checks_for(revision_traffic(revision))))
        if monitor.metric == "latency_p99":
            tests += _exactness_tests(kube, at, name, checks_for)
        if not at.signal.pushed and monitoring.hold_seconds(monitor, at.hold) >= SPARSE_GAP - at.window + interval:
            tests += _sparse_tests(kube, at, name, _expected(kube, alert, monitor, SPARSE_CANARY))
        if at.spike is not None:
            after = at.hold + at.lag + 2 * at.step
            end = at.warm + at.spike + after
            series, _ = at.feed(kube, [(True, at.spike), (False, after)])
            tests.append(_test(f"{name}: a spike shorter than for does not fire", interval, series,
                               [_alert_check(name, end, None)], (_never_fired(name, end),)))
        if at.signal.pushed:
            stale = drift_job.stale_after_seconds(monitor)
            kept = _kept_seconds(kube, alert)
            # kept counts from the first evaluation without the value, and ends at an evaluation: one more interval
            after = stale + kept + 3 * interval if kept else stale + 2 * interval
            series, last_push = at.feed(kube, [(True, at.unhealthy), (None, after)])
            held = [_alert_check(name, last_push + stale + 2 * interval, expected)] if kept > 2 * interval else []
            tests.append(_test(f"{name}: a value the job stopped pushing goes stale and resolves", interval, series,
                               [*checks, *held, _alert_check(name, last_push + after, None)]))
    if at.signal.pushed and at.signal.possible(monitor):
        mine, _ = at.feed(kube, [(False, at.unhealthy)])
        theirs, _ = at.feed(kube, [(True, at.unhealthy)])
        tests.append(_test(f"{name}: another namespace's unhealthy values (same system and environment) never fire",
                           interval, [*mine, *elsewhere(kube, theirs)], [_alert_check(name, at.fire_at, None)],
                           (_never_fired(name, at.fire_at),)))
    quiet = at.warm + at.hold + at.lag + 2 * at.step
    series, _ = at.feed(kube, [(False, at.hold + at.lag + 2 * at.step)])
    tests.append(_test(f"{name}: healthy never fires", interval, series, [_alert_check(name, quiet, None)],
                       (_never_fired(name, quiet),)))
    return tests


# --- notify failures -------------------------------------------------------------------------------

NOTIFY_FAILURES_FILE = "tests-notify-failures.yml"
ALERTMANAGER_SCRAPE = 30
"""Seconds between samples of Alertmanager's counters: kube-prometheus' ServiceMonitor ``alertmanager``
scrapes it every 30s (``manifests/alertmanager-serviceMonitor.yaml``)."""
FLUSH_EVERY = 300
"""Seconds between two failures of a broken receiver: Alertmanager flushes a group whose notification
failed again after ``group_interval`` (5m by default)."""
ALERTMANAGER_LABELS = {"instance": "10.0.0.7:9093", "job": "alertmanager-main", "namespace": "monitoring"}
"""The target labels Alertmanager's series carry when scraped (its own namespace, not the system's)."""
FAILURE_REASONS = ("clientError", "other", "serverError")
"""The ``reason`` values Alertmanager 0.26+ pre-sets on the failed counter (``possibleFailureReasonCategory``)."""


def _counter(increments: list[int], samples: int) -> list[float]:
    """A counter sampled every :data:`ALERTMANAGER_SCRAPE` seconds, 0 at first, +1 at each time of ``increments``."""
    return [float(sum(1 for t in increments if t <= n * ALERTMANAGER_SCRAPE)) for n in range(samples)]


def _am_series(metric: str, labels: dict[str, str], values: list[float]) -> dict[str, str]:
    return {"series": _labels_text(metric, {**ALERTMANAGER_LABELS, **labels}), "values": values_text(values)}


def _receiver_series(integration: str, receiver: str | None, failures: list[int], samples: int) -> list[dict[str, str]]:
    """Alertmanager's attempted and failed counters of one receiver (``receiver`` None: 0.25's label set,
    ``integration`` only; else 0.27's with ``receiver_name`` and 0.26's ``reason``, failures as ``other``)."""
    if receiver is None:
        return [_am_series(alerting.ATTEMPTED_NOTIFICATIONS, {"integration": integration},
                           [float(n) for n in range(samples)]),
                _am_series(alerting.FAILED_NOTIFICATIONS, {"integration": integration}, _counter(failures, samples))]
    labels = {"integration": integration, "receiver_name": receiver}
    series = [_am_series(alerting.ATTEMPTED_NOTIFICATIONS, labels, [float(n) for n in range(samples)])]
    for reason in FAILURE_REASONS:
        values = _counter(failures if reason == "other" else [], samples)
        series.append(_am_series(alerting.FAILED_NOTIFICATIONS, {**labels, "reason": reason}, values))
    return series


def _firing(rule: dict[str, Any], **series_labels: str) -> dict[str, Any]:
    return {"exp_labels": dict(sorted({**series_labels, **rule["labels"]}.items())),
            "exp_annotations": dict(sorted(rule["annotations"].items()))}


def notify_failure_tests(kube: KubeTarget) -> list[dict[str, Any]]:
    """The ``notify failures`` tests (module contract) of the environment's channels."""
    system = kube.ctx.system
    rules = {r["alert"]: r for r in alerting.notify_failure_rules(kube)}
    window = int(parse_duration(alerting.FAILURE_WINDOW).seconds)
    start = WARM_UP + 3 * ALERTMANAGER_SCRAPE
    failures = [start, start + FLUSH_EVERY]
    gone_at = failures[-1] + window + 2 * ALERTMANAGER_SCRAPE
    samples = gone_at // ALERTMANAGER_SCRAPE + 2
    fire_at = start + 2 * ALERTMANAGER_SCRAPE
    routes = {route.address: route for route in routing.routes_of(kube.ctx)}
    tests = []
    receivers = [(routing.notify_failure_alert(c.name), c.kind, routes[f"channels.{c.name}"], f"channel {c.name}")
                 for c in system.channels]
    receivers += [(routing.retrain_failure_alert(j.name), "webhook", routes[f"training_jobs.{j.name}"],
                   f"training job {j.name}'s retrain trigger") for j in routing.retrain_jobs(system)]
    for name, kind, route, whose in receivers:
        receiver = routing.receiver_name(kube.namespace, route)
        other_kind = routing.integration_failure_alert(kind)
        expected = _firing(rules[name], integration=kind, receiver_name=receiver)
        tests.append(_test(
            f"{name}: Alertmanager (receiver_name) giving up on {whose}'s receiver fires",
            ALERTMANAGER_SCRAPE, _receiver_series(kind, receiver, failures, samples),
            [_alert_check(name, start - ALERTMANAGER_SCRAPE, None), _alert_check(name, fire_at, expected),
             _alert_check(other_kind, fire_at, None), _alert_check(name, gone_at - 4 * ALERTMANAGER_SCRAPE, expected),
             _alert_check(name, gone_at, None)]))
        stranger = f"{kube.namespace}-other/{route.config}/{route.receiver.name}"
        tests.append(_test(
            f"{name}: another namespace's {kind} receiver failing never fires", ALERTMANAGER_SCRAPE,
            [*_receiver_series(kind, receiver, [], samples), *_receiver_series(kind, stranger, failures, samples)],
            [_alert_check(name, fire_at, None)], (_never_fired(name, gone_at),)))
    for kind in routing.failure_kinds(system):
        name = routing.integration_failure_alert(kind)
        mine = [routing.notify_failure_alert(c.name) for c in system.channels if c.kind == kind]
        tests.append(_test(
            f"{name}: Alertmanager without receiver_name giving up on {kind} fires, naming no channel",
            ALERTMANAGER_SCRAPE, _receiver_series(kind, None, failures, samples),
            [_alert_check(name, fire_at, _firing(rules[name], integration=kind)),
             *(_alert_check(n, fire_at, None) for n in mine), _alert_check(name, gone_at, None)]))
    quiet = [s for kind in routing.failure_kinds(system) for s in _receiver_series(kind, None, [], samples)]
    quiet += [s for _, kind, route, _ in receivers
              for s in _receiver_series(kind, routing.receiver_name(kube.namespace, route), [], samples)]
    end = gone_at
    tests.append(_test(f"{alerting.NOTIFY_FAILURES_RULE}: counters that do not grow fire nothing", ALERTMANAGER_SCRAPE, quiet,
                       [_alert_check(n, end, None) for n in rules], tuple(_never_fired(n, end) for n in rules)))
    unobserved = routing.NOTIFY_FAILURES_UNOBSERVED
    hold = int(parse_duration(alerting.UNOBSERVED_FOR).seconds)
    nothing = [{"series": _labels_text("up", {"job": "kubelet"}), "values": values_text([1.0] * samples)}]
    tests.append(_test(f"{unobserved}: no Alertmanager series fires after {alerting.UNOBSERVED_FOR}",
                       ALERTMANAGER_SCRAPE, nothing,
                       [_alert_check(unobserved, hold - ALERTMANAGER_SCRAPE, None),
                        _alert_check(unobserved, hold + 2 * ALERTMANAGER_SCRAPE, _firing(rules[unobserved]))]))
    if routing.RUNNER_FAILED in rules:
        tests.append(_runner_test(kube, rules[routing.RUNNER_FAILED], start, samples))
    return tests


KUBE_STATE_METRICS_LABELS = {"instance": "10.0.0.9:8080", "job": "kube-state-metrics"}
"""The target labels of kube-state-metrics' series (kube-prometheus scrapes it with ``honorLabels``, so
``namespace`` is the object's)."""


def _job_series(kube: KubeTarget, cronjob: str, created: int, failed_from: int, samples: int) -> list[dict[str, str]]:
    """kube-state-metrics' series of a Job of ``cronjob`` created at ``created`` and failed from ``failed_from``
    (seconds): ``kube_job_owner``, ``kube_job_failed`` per condition status, ``kube_job_created``
    (``alerting.notify_failure_rules`` cites them)."""
    job = {**KUBE_STATE_METRICS_LABELS, "namespace": kube.namespace, "job_name": f"{cronjob}-29420000"}
    failed = [float(n * ALERTMANAGER_SCRAPE >= failed_from) for n in range(samples)]
    owner = {**job, "owner_kind": "CronJob", "owner_name": cronjob, "owner_is_controller": "true"}
    return [{"series": _labels_text("kube_job_owner", owner), "values": values_text([1.0] * samples)},
            {"series": _labels_text("kube_job_failed", {**job, "condition": "true"}), "values": values_text(failed)},
            {"series": _labels_text("kube_job_failed", {**job, "condition": "false"}),
             "values": values_text([1.0 - f for f in failed])},
            {"series": _labels_text("kube_job_created", job), "values": values_text([float(created)] * samples)}]


def _runner_test(kube: KubeTarget, rule: dict[str, Any], start: int, samples: int) -> dict[str, Any]:
    """A failed Job of the runner's CronJob fires until it is older than the window; one of another CronJob
    (a training job's) never does."""
    name, cronjob = rule["alert"], alerting.RUNNER_CRONJOB
    failed_at, gone = start + ALERTMANAGER_SCRAPE, start + alerting.RUNNER_FAILURE_WINDOW_SECONDS
    series = [*_job_series(kube, cronjob, start, failed_at, samples),
              *_job_series(kube, "train-other", start, failed_at, samples)]
    return _test(f"{name}: a failed Job of CronJob {cronjob} fires for {alerting.RUNNER_FAILURE_WINDOW_SECONDS}s "
                 "after its creation, another CronJob's never", ALERTMANAGER_SCRAPE, series,
                 [_alert_check(name, start, None), _alert_check(name, failed_at + ALERTMANAGER_SCRAPE, _firing(rule)),
                  _alert_check(name, gone - 2 * ALERTMANAGER_SCRAPE, _firing(rule)),
                  _alert_check(name, gone + 2 * ALERTMANAGER_SCRAPE, None)])


TRAINING_FAILURES_FILE = "tests-training-failures.yml"


def _run_series(kube: KubeTarget, job: str, run: str, condition: str, since: int, samples: int) -> dict[str, str]:
    """kube-state-metrics' series of condition ``condition`` (status ``True``) of PyTorchJob ``run`` of training
    job ``job``, as :data:`alerting.RUN_STATE_METRICS` makes it: absent until ``since``, then that time (the
    condition's ``lastTransitionTime``), with the ``customresource_*`` labels kube-state-metrics adds."""
    labels = {**KUBE_STATE_METRICS_LABELS, "customresource_group": "kubeflow.org", "customresource_kind": "PyTorchJob",
              "customresource_version": "v1", "name": run, "namespace": kube.namespace, "status": "True",
              "training_job": job, "type": condition}
    values = [float(since) if n * ALERTMANAGER_SCRAPE >= since else None for n in range(samples)]
    return {"series": _labels_text(alerting.RUN_CONDITION_METRIC, labels), "values": values_text(values)}


def training_failure_tests(kube: KubeTarget, job, told: list[str]) -> list[dict[str, Any]]:
    """The tests of ``training_failed_<job>`` (``alerting.training_failure_rule``): a failed launcher Job fires
    until it is older than the launch window, a failed run for the run window after its failure; another
    job's failures, another CronJob's and a run that succeeded never fire."""
    rule = alerting.training_failure_rule(kube, job, told)
    name, step = rule["alert"], ALERTMANAGER_SCRAPE
    cronjob = names.cronjob("train", job.name)
    start = WARM_UP + 3 * step
    launch_gone = start + alerting.LAUNCH_FAILURE_WINDOW_SECONDS
    run_gone = start + alerting.TRAINING_FAILURE_WINDOW_SECONDS
    samples = launch_gone // step + 4
    other = f"{job.name}-other"
    return [
        _test(f"{name}: a failed launcher Job of CronJob {cronjob} fires until "
              f"{alerting.LAUNCH_FAILURE_WINDOW_SECONDS}s after its creation", step,
              [*_job_series(kube, cronjob, start, start + alerting.LAUNCHER_DEADLINE_SECONDS, samples),
               *_job_series(kube, alerting.RUNNER_CRONJOB, start, start + step, samples)],
              [_alert_check(name, start + alerting.LAUNCHER_DEADLINE_SECONDS - step, None),
               _alert_check(name, start + alerting.LAUNCHER_DEADLINE_SECONDS + step, _firing(rule)),
               _alert_check(name, launch_gone - 2 * step, _firing(rule)),
               _alert_check(name, launch_gone + 2 * step, None)]),
        _test(f"{name}: a failed run fires for {alerting.TRAINING_FAILURE_WINDOW_SECONDS}s after it failed", step,
              [_run_series(kube, job.name, "run-a", "Running", WARM_UP, samples),
               _run_series(kube, job.name, "run-a", "Failed", start, samples)],
              [_alert_check(name, start - step, None), _alert_check(name, start + step, _firing(rule)),
               _alert_check(name, run_gone - 2 * step, _firing(rule)),
               _alert_check(name, run_gone + 2 * step, None)]),
        _test(f"{name}: a run that succeeded, another job's failed run and launcher never fire", step,
              [_run_series(kube, job.name, "run-b", "Succeeded", start, samples),
               _run_series(kube, other, "run-c", "Failed", start, samples),
               *_job_series(kube, names.cronjob("train", other), start, start + step, samples)],
              [_alert_check(name, start + 2 * step, None)], (_never_fired(name, launch_gone),)),
    ]


def rollback_tests(kube: KubeTarget, endpoint, channels: list[str]) -> list[dict[str, Any]]:
    """The ``rollback notice`` tests of ``endpoint``'s rollback alert (see the module contract)."""
    rule = alerting.rollback_rule(kube, endpoint, channels)
    name, interval = rule["alert"], TRAFFIC_INTERVAL
    window = alerting.ROLLBACK_WINDOW_SECONDS
    group = {**alerting.rollback_push_group(kube), "endpoint": endpoint.name}
    pushed, samples = 60, (alerting.ROLLBACK_WINDOW_SECONDS + 300) // interval

    def series(facts: dict[str, str], values: list[float | None]) -> dict[str, str]:
        return {"series": _labels_text(alerting.ROLLED_BACK_METRIC,
                                       monitoring.pushed_labels(kube, {**group, "instance": "", **facts})),
                "values": values_text(values)}

    def fired(facts: dict[str, str]) -> dict[str, Any]:
        kept = {k: v for k, v in facts.items() if k in alerting.NOTICE_LABELS}
        return {"exp_labels": dict(sorted({**rule["labels"], **kept}.items())),
                "exp_annotations": dict(sorted({**alerting.rollback_annotations(kube, endpoint, facts),
                                                "mlops_notify": rule["annotations"]["mlops_notify"]}.items()))}

    before = [None] * (pushed // interval)
    once = before + [float(pushed)] * (samples - len(before))
    again_at = 300
    again = before + [float(pushed) if i * interval < again_at else float(again_at)
                      for i in range(len(before), samples)]
    ends = pushed + window  # the last push's window, kept firing included
    return [
        _test(f"{name}: a rollback notice fires with its facts for the window", interval,
              [series(ROLLBACK_FACTS, once)],
              [_alert_check(name, pushed - interval, None), _alert_check(name, pushed + 60, fired(ROLLBACK_FACTS)),
               _alert_check(name, ends - 2 * interval, fired(ROLLBACK_FACTS)),
               _alert_check(name, ends + 2 * interval, None)]),
        _test(f"{name}: the same notice pushed again is one alert", interval, [series(ROLLBACK_FACTS, again)],
              [_alert_check(name, again_at + 60, fired(ROLLBACK_FACTS)),
               _alert_check(name, again_at + window - 2 * interval, fired(ROLLBACK_FACTS))]),
        _test(f"{name}: a notice without facts fires as before", interval, [series({}, once)],
              [_alert_check(name, pushed + 60, fired({}))]),
        _test(f"{name}: another namespace's notice (same system and environment) never fires", interval,
              elsewhere(kube, [series(ROLLBACK_FACTS, once)]),
              [_alert_check(name, pushed + 60, None)], (_never_fired(name, ends),)),
    ]


# --- files -----------------------------------------------------------------------------------------


def rule_file(graph: DesiredGraph) -> dict[str, Any]:
    """Every rule group of the graph's PrometheusRules, in one rule file (sorted by object name)."""
    rules = sorted((r for r in graph.resources if r.type.endswith(":PrometheusRule")),
                   key=lambda r: r.inputs["metadata"]["name"])
    return {"groups": [group for r in rules for group in r.inputs["spec"]["groups"]]}


def kube_target(system: MLSystem, env: str) -> KubeTarget:
    """A KubeTarget of environment ``env`` for naming and expressions (nothing is compiled)."""
    ctx = CompileContext(system, env, system.environments[env], system.metadata.name, env,
                         GraphBuilder(system.metadata.name, env))
    return KubeTarget(ctx)


def rule_test_files(system: MLSystem, env: str, rule_file_name: str = RULE_FILE) -> dict[str, dict[str, Any]]:
    """The ``promtool test rules`` files of every alert of Kubernetes environment ``env``: file name
    -> content (serving alerts evaluated every 15s, drift alerts every minute; no file without tests)."""
    kube = kube_target(system, env)
    files: dict[str, dict[str, Any]] = {}
    for alert in sorted(system.alerts, key=lambda a: a.name):
        monitor = system.item("monitors", alert.monitor)
        if monitor is None:
            continue
        signal = signal_of(monitor)
        test_file = files.setdefault(signal.file, {"rule_files": [rule_file_name],
                                                   "evaluation_interval": _duration(signal.interval), "tests": []})
        test_file["tests"] += alert_tests(kube, alert, monitor)
    if system.channels:
        files[NOTIFY_FAILURES_FILE] = {"rule_files": [rule_file_name],
                                       "evaluation_interval": _duration(ALERTMANAGER_SCRAPE),
                                       "tests": notify_failure_tests(kube)}
    for job in system.training_jobs:
        told = routing.training_audience(system, job)
        if told:
            test_file = files.setdefault(TRAINING_FAILURES_FILE, {
                "rule_files": [rule_file_name], "evaluation_interval": _duration(ALERTMANAGER_SCRAPE), "tests": []})
            test_file["tests"] += training_failure_tests(kube, job, told)
    for endpoint, channels in routing.announced_endpoints(system):
        test_file = files.setdefault(ROLLBACK_FILE, {"rule_files": [rule_file_name],
                                                     "evaluation_interval": _duration(TRAFFIC_INTERVAL), "tests": []})
        test_file["tests"] += rollback_tests(kube, endpoint, channels)
    return dict(sorted(files.items()))


class _PlainDumper(yaml.SafeDumper):
    """A YAML dumper that repeats shared values instead of writing anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, width=120, allow_unicode=True)


SMTP_PLACEHOLDER = {"smtp_smarthost": "smtp.invalid:25", "smtp_from": "alertmanager@smtp.invalid"}
"""Global SMTP settings for checking email receivers (the cluster's Alertmanager has its own)."""


def alert_test_bundle(system: MLSystem, env: str, graph: DesiredGraph) -> dict[str, str]:
    """File name -> text: the environment's rule file, its rule test files and the Alertmanager
    configuration its AlertmanagerConfigs amount to (secrets as placeholders), all written from
    the compiled ``graph`` and the same routing model (see :mod:`routing`)."""
    files = {RULE_FILE: to_yaml(rule_file(graph))}
    files.update({name: to_yaml(content) for name, content in rule_test_files(system, env).items()})
    routes = routing.system_routes(system, env)
    namespace = system.environments[env].target.namespace
    files[ALERTMANAGER_FILE] = to_yaml(routing.alertmanager_config(routes, namespace, global_config=SMTP_PLACEHOLDER))
    return files
