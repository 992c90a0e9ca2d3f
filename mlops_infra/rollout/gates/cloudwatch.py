"""Gates from CloudWatch: the rollback alarms' state and their metric over the current step.

Contract of :class:`CloudWatchGates` (any boto3-compatible CloudWatch client):
- A gate is ``firing`` when its alarm's ``StateValue`` is ``ALARM``; ``OK`` and ``INSUFFICIENT_DATA``
  are not firing (a canary at a few percent of traffic often has no datapoint in a period). An alarm
  that does not exist is ``unreadable`` ("no such CloudWatch alarm"), never ``ok``: ``DescribeAlarms``
  answers a name it does not hold with no entry rather than an error (botocore ``cloudwatch``
  2010-08-01 ``DescribeAlarms``: ``AlarmNames`` "The names of the alarms to retrieve information
  about", its only error ``InvalidNextToken``), and asked for ``AlarmTypes: [MetricAlarm]`` it leaves
  out a composite alarm of that name (``AlarmTypes``: "the operation returns only a list of metric
  alarms. It does not return any composite alarms or log alarms"), so an absent entry is the
  Prometheus gates' "rule not loaded" (audit k8srbac-7 checked both; ``tests/rollout/test_gates.py``,
  moto). Except for an alarm on the stable variant, which is judged by the canary variant's series
  alone (below, "The stable variant is not the new version").
- A period without requests is no evidence (``compile/aws/monitoring.py``, "Sparse traffic"): the
  compiled latency and error-rate metrics have no datapoint then (the error rate is ``errors /
  invocations``, which metric math drops on a division by zero), so such a period neither breaches
  nor counts as healthy here, and the value reported is the last real one.
- The alarm's metric over the step's window (from the step's start, at least one period, until now):
  for an alarm on one metric (``MetricName`` + ``Namespace``) with the alarm's statistic
  (``Statistic`` or ``ExtendedStatistic`` such as ``p99``) and period; for a metric-math alarm
  (``Metrics``) its own queries, the expression evaluated by ``GetMetricData`` (each query's ``Id``
  prefixed so that many alarms share one call: a metric-math ``Id`` starts with a lower-case letter
  and functions are upper-case, so the expression's ids are renamed as whole words). A datapoint
  breaching the alarm's threshold (by its ``ComparisonOperator``) fires the gate before the alarm's
  own ``EvaluationPeriods`` elapse: the controller is stricter than the alarm, never looser. A
  datapoint's timestamp is the start of its period (CloudWatch aggregates a period's samples under
  the period's start: "Periods", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#CloudWatchPeriods),
  so a datapoint counts when its period overlaps the window (it ends after the window's start); a
  filter on the timestamp alone dropped the period in which the window began.
- The new version's own metrics. The compiled alarms watch the stable variant (``VariantName`` =
  the rollout plan's ``variant``, ``primary``), and SageMaker publishes its invocation metrics per
  ``EndpointName`` and ``VariantName`` ("SageMaker AI endpoint invocation metrics", dimensions
  ``EndpointName, VariantName``: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html),
  while the controller serves the new version on a second variant (the plan's ``canaryVariant``,
  ``rollout/drivers/sagemaker.py``). So each alarm whose metrics name the stable variant is read a
  second time with ``VariantName`` = the canary variant, and a breach there fires the gate ("canary
  variant breached ..."). Reading only the alarm passed every step of a broken version: its errors and
  latency were published under the canary variant, which no alarm watched. The value reported is the
  canary's most recent one when it has any, else the alarm's own.
- The stable variant is not the new version. Such an alarm, its ``StateValue`` and its own datapoints
  describe the stable variant only (its ``Dimensions`` name ``VariantName`` = ``primary``: "SageMaker AI
  endpoint invocation metrics" are per variant, above), so for it the gate is ``firing`` only when
  the canary variant's series breaches; an ``ALARM`` or a breaching datapoint of the stable variant is
  reported in ``GateReading.stable`` ("variant primary = <value>, alarm in ALARM (<reason>)"), which the
  reconciler writes in the pass's message and never rolls back on (``rollout/reconcile.py`` rule 9).
  Firing on it rolled back every new version at its first step while the stable version breached (an
  incident the new version was to fix) and the notice gave the stable variant's value as the new
  version's (audit rolloutrun-3). An alarm that names no stable variant (or a plan without a canary
  variant) has no series of the new version's own: it is judged as before, by its state and its
  datapoints.
- The canary's window reaches back one period. A step's window starts when its traffic was set
  (``since``, ``rollout/runner.py`` ``gate_window``), but SageMaker publishes its invocation metrics
  "at a 1-minute frequency" ("SageMaker AI endpoint invocation metrics", above): a minute's datapoint
  exists only once the minute is over, and CloudWatch shows it in near real time, after the pass that
  ended the previous step's bake and moved on. Read from ``since``, the previous step's last minute
  (``t + period <= since``) was in no window and never judged (audit rolloutaws-8). So the canary
  variant's series is read from ``since`` minus the alarm's period: the canary series is the new
  version's alone (only that version serves on the canary variant), so the previous step's minute is
  the same version's evidence, at a smaller share. The stable variant's series and an alarm that is
  not per variant keep ``since`` (before the first step they would be the stable version's). The
  first step reaches back too: before it the canary variant was absent (after a finish) or idle at
  weight 0 with a rolled-back version (after a rollback), which serves no request, so only a start
  within a minute of a rollback could see that version's last datapoint (stricter, never looser).
  After the last step nothing reads the canary again, so every reading carries ``lag`` = two
  periods (:data:`PUBLISHED_AFTER_PERIODS`) and the finish waits that long after the last bake
  (``rollout/reconcile.py`` rule 10).
- Requests. The canary's request count in the step: ``Invocations`` ("The number of InvokeEndpoint
  requests sent to a model endpoint. To get the total number of requests ... use the Sum statistic",
  dimensions ``EndpointName, VariantName``, same page) of the plan's ``endpointName`` (else the
  endpoint its per-variant alarms name) and ``canaryVariant``, ``Sum`` per minute, summed over the periods overlapping the step (from ``since``,
  no reach-back: the count is the step's own), read in the same ``GetMetricData`` call as the gates.
  A minute without requests has no datapoint ("no evidence", above), so an absent series counts 0.
  Every reading of that rollout carries it (``GateReading.requests``); the reconciler holds a baked
  step under the plan's ``minRequestsPerStep`` (``rollout/reconcile.py`` rule 10). When the count
  cannot be read, every gate of that rollout is ``unreadable``: a count never read is never "enough".
- :meth:`CloudWatchGates.read_many` reads the gates of many rollouts at once (a fleet pass,
  :mod:`mlops_infra.rollout.fleet`) in as few calls as the API allows: ``DescribeAlarms`` with at most
  100 ``AlarmNames`` per call (botocore ``AlarmNames`` max 100; ``MaxRecords`` 100, following
  ``NextToken``), and ``GetMetricData`` with at most 500 queries per call (its documented maximum),
  over the union of the windows, each query then keeping only its own window's datapoints (by
  ``Timestamps``). CloudWatch throttles these APIs per account and region (Amazon CloudWatch "Service
  quotas", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html: a
  few to tens of transactions per second), so one call per endpoint would not scale to a fleet.
  :meth:`read` is ``read_many`` of one.
- Any ``ClientError`` or connection error makes the gates that call covered ``unreadable`` with the
  AWS error code; the reader never raises for a cloud answer.

References: botocore ``cloudwatch`` ``DescribeAlarms`` (``MetricAlarm``: ``StateValue``,
``Threshold``, ``ComparisonOperator``, ``Metrics``) and ``GetMetricData`` (``MetricStat``,
``StartTime``/``EndTime``, ``MetricDataResult.Timestamps``/``Values``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from mlops_infra.rollout.model import GateReading, RolloutSpec

COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
ALARMS_PER_CALL = 100
QUERIES_PER_CALL = 500
VARIANT = "VariantName"
REQUESTS = ""
"""The key of the canary's request count among a request's series (no alarm has an empty name)."""
PUBLISHED_AFTER_PERIODS = 2
"""``GateReading.lag`` in alarm periods: the period in which a moment falls completes at most one
period later, and CloudWatch gets one more to publish it (SageMaker: "at a 1-minute frequency", near
real time; see the contract, "The canary's window reaches back one period")."""
REQUEST_PERIOD = 60
"""The period of the ``Invocations`` query: SageMaker publishes its invocation metrics "at a 1-minute
frequency" ("SageMaker AI endpoint invocation metrics")."""


@dataclass(frozen=True)
class _Series:
    """One series read: a gate's alarm metric (``canary`` False), the same on the canary variant, or
    (``gate`` "", :data:`REQUESTS`) the canary variant's request count."""

    index: int
    gate: str
    alarm: dict[str, Any]
    since: float
    canary: bool
    queries: tuple[dict[str, Any], ...]
    """``MetricDataQuery`` entries without the call's id prefix; the one with ``ReturnData`` is read."""


class CloudWatchGates:
    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]:
        """``read_many`` of one; ``canary`` (a Knative revision) means nothing here: the canary variant is
        the plan's ``canaryVariant``."""
        return self.read_many([(spec, since)], now)[0]

    def read_many(self, requests: Sequence[tuple[RolloutSpec, float]], now: float) -> list[list[GateReading]]:
        """The readings of each ``(spec, step start)`` in ``requests``, in order (see the contract)."""
        names = sorted({name for spec, _ in requests for name in spec.gates})
        alarms, failed = self._alarms(names)
        series: list[_Series] = []
        for index, (spec, since) in enumerate(requests):
            stable, canary = spec.option("variant"), spec.option("canaryVariant")
            endpoint = spec.resource or spec.option("endpointName")
            for name in spec.gates:
                alarm = alarms.get(name)
                queries = _queries(alarm) if alarm is not None else ()
                if not queries:
                    continue
                period = _period(alarm)
                series.append(_Series(index, name, alarm, min(since, now - period), False, queries))
                moved = _on_variant(queries, stable, canary) if stable and canary else None
                if moved is not None:  # the new version's own series: from the previous step's last period
                    series.append(_Series(index, name, alarm, min(since - period, now - period), True, moved))
                    endpoint = endpoint or _endpoint(moved)
            counted = _invocations(str(endpoint), str(canary)) if endpoint and canary else None
            if counted is not None:
                series.append(_Series(index, REQUESTS, {"Period": REQUEST_PERIOD}, since, True, counted))
        windows = self._windows(series, now)
        out = []
        for index, (spec, _) in enumerate(requests):
            served = windows.get((index, REQUESTS))
            count = served.count if isinstance(served, _Window) else None
            readings = []
            for name in spec.gates:
                if name in failed:
                    readings.append(GateReading(name, "unreadable", detail=failed[name]))
                elif isinstance(served, str):
                    readings.append(GateReading(name, "unreadable", detail=served))
                else:
                    alarm = alarms.get(name)
                    reading = _reading(name, alarm, windows.get((index, name)), spec.option("variant"))
                    if reading.state != "unreadable" and alarm is not None:
                        reading = replace(reading, requests=count, lag=PUBLISHED_AFTER_PERIODS * _period(alarm))
                    readings.append(reading)
            out.append(readings)
        return out

    def _alarms(self, names: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        found: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        for chunk in alarm_name_chunks(names):
            try:
                found.update(describe_alarm_chunk(self.client, chunk))
            except Exception as exc:  # botocore ClientError, connection errors: these gates cannot be read
                failed.update(dict.fromkeys(chunk, _cause(exc)))
        return found, failed


    def _windows(self, series: list[_Series], now: float) -> dict[tuple[int, str], _Window | str]:
        """(request index, gate) -> what its series showed in the window, or the error text."""
        out: dict[tuple[int, str], _Window | str] = {}
        for chunk in _chunks(series):
            try:
                found = self._metric_data(chunk, now)
            except Exception as exc:  # the metric cannot be read: the alarm state alone cannot be trusted
                out.update({(one.index, one.gate): f"GetMetricData: {_cause(exc)}" for one in chunk})
                continue
            for number, one in enumerate(chunk):
                period = _period(one.alarm)
                points = sorted(((t, v) for t, v in found.get(number, []) if t + period > one.since), reverse=True)
                if one.gate == REQUESTS:
                    out[(one.index, REQUESTS)] = _Window(count=sum(v for _, v in points))
                    continue
                compare = COMPARE.get(one.alarm.get("ComparisonOperator", ""))
                threshold = one.alarm.get("Threshold")
                breach = bool(compare and threshold is not None and any(compare(v, threshold) for _, v in points))
                window = out.get((one.index, one.gate))
                window = window if isinstance(window, _Window) else _Window()
                out[(one.index, one.gate)] = window.with_series(one.canary, points[0][1] if points else None, breach)
        return out

    def _metric_data(self, chunk: list[_Series], now: float) -> dict[int, list[tuple[float, float]]]:
        """Series number in ``chunk`` -> its (epoch, value) points, from as few GetMetricData calls as the
        chunk needs (one, following ``NextToken``)."""
        queries, returned = [], {}
        for number, one in enumerate(chunk):
            prefix = f"g{number}_"
            for query in one.queries:
                queries.append(_prefixed(query, prefix, one.queries))
                if query.get("ReturnData", True):
                    returned[prefix + query["Id"]] = number
        series: dict[int, list[tuple[float, float]]] = {}
        token = None
        while True:
            extra = {"NextToken": token} if token else {}
            answer = self.client.get_metric_data(MetricDataQueries=queries, StartTime=_utc(min(q.since for q in chunk)),
                                                 EndTime=_utc(now), ScanBy="TimestampDescending", **extra)
            for result in answer.get("MetricDataResults", []):
                if result["Id"] not in returned:
                    continue
                stamps = [_epoch(t) for t in result.get("Timestamps", [])]
                series.setdefault(returned[result["Id"]], []).extend(zip(stamps, result.get("Values", []), strict=False))
            token = answer.get("NextToken")
            if not token:
                return series


def alarm_name_chunks(names: Sequence[str]) -> list[list[str]]:
    """``names`` in calls of at most :data:`ALARMS_PER_CALL` (botocore ``DescribeAlarmsInput.AlarmNames``:
    max 100)."""
    return [list(names[start:start + ALARMS_PER_CALL]) for start in range(0, len(names), ALARMS_PER_CALL)]


def describe_alarm_chunk(client: Any, chunk: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Alarm name -> ``MetricAlarm`` of the metric alarms named in ``chunk`` (at most
    :data:`ALARMS_PER_CALL` names), following ``NextToken``; an alarm that does not exist is absent.
    Raises what the client raises (the callers decide what an unreadable chunk means)."""
    found: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        extra = {"NextToken": token} if token else {}
        answer = client.describe_alarms(AlarmNames=list(chunk), AlarmTypes=["MetricAlarm"],
                                        MaxRecords=ALARMS_PER_CALL, **extra)
        found.update({a["AlarmName"]: a for a in answer.get("MetricAlarms", [])})
        token = answer.get("NextToken")
        if not token:
            return found


@dataclass(frozen=True)
class _Window:
    """What a gate's series showed in the step's window: the alarm's own and the canary variant's."""

    value: float | None = None
    breach: bool = False
    canary_value: float | None = None
    canary_breach: bool = False
    per_variant: bool = False
    """The canary variant's series was read (the alarm names the stable variant)."""
    count: float | None = None
    """:data:`REQUESTS` only: the canary variant's ``Invocations`` over the step."""

    def with_series(self, canary: bool, value: float | None, breach: bool) -> _Window:
        if canary:
            return _Window(self.value, self.breach, value, breach, True)
        return _Window(value, breach, self.canary_value, self.canary_breach, self.per_variant)


def _period(alarm: dict[str, Any]) -> int:
    periods = [q.get("MetricStat", {}).get("Period") for q in alarm.get("Metrics") or ()]
    return int(alarm.get("Period") or max([p for p in periods if p] or [60]))


def _queries(alarm: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The alarm's metric as ``MetricDataQuery`` entries (botocore ``MetricAlarm``: ``MetricName``,
    ``Namespace``, ``Dimensions``, ``Statistic``/``ExtendedStatistic``, ``Period``; or ``Metrics``),
    or none when it has neither."""
    if alarm.get("MetricName") and alarm.get("Namespace"):
        stat = alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average"
        return ({"Id": "m", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                       "Dimensions": list(alarm.get("Dimensions") or [])},
            "Period": _period(alarm), "Stat": stat}},)
    metrics = alarm.get("Metrics") or []
    if not metrics or not any(q.get("ReturnData") for q in metrics):
        return ()
    keep = ("Id", "MetricStat", "Expression", "Label", "ReturnData", "Period")
    return tuple({k: q[k] for k in keep if k in q} for q in metrics)


def _endpoint(queries: tuple[dict[str, Any], ...]) -> str | None:
    """The ``EndpointName`` a per-variant alarm's queries name (the endpoint when the plan gives none)."""
    for query in queries:
        for dimension in (query.get("MetricStat") or {}).get("Metric", {}).get("Dimensions") or []:
            if dimension.get("Name") == "EndpointName" and dimension.get("Value"):
                return str(dimension["Value"])
    return None


def _invocations(endpoint: str, canary: str) -> tuple[dict[str, Any], ...]:
    """The query of the canary variant's request count: ``Invocations``, ``Sum`` per minute, on
    ``EndpointName`` = the plan's ``endpointName`` (else the one its per-variant alarms name) and
    ``VariantName`` = its ``canaryVariant`` (see the contract, "Requests")."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": VARIANT, "Value": canary}]
    return ({"Id": "n", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": dimensions},
        "Period": REQUEST_PERIOD, "Stat": "Sum"}},)


def _on_variant(queries: tuple[dict[str, Any], ...], stable: str, canary: str) -> tuple[dict[str, Any], ...] | None:
    """``queries`` with every ``VariantName`` = ``stable`` dimension set to ``canary``; None when no
    query names the stable variant (an alarm that is not per variant)."""
    moved, changed = [], False
    for query in queries:
        stat = query.get("MetricStat")
        dimensions = (stat or {}).get("Metric", {}).get("Dimensions") or []
        if any(d.get("Name") == VARIANT and d.get("Value") == stable for d in dimensions):
            changed = True
            swapped = [{"Name": VARIANT, "Value": canary} if d.get("Name") == VARIANT and d.get("Value") == stable
                       else d for d in dimensions]
            query = {**query, "MetricStat": {**stat, "Metric": {**stat["Metric"], "Dimensions": swapped}}}
        moved.append(query)
    return tuple(moved) if changed else None


def _prefixed(query: dict[str, Any], prefix: str, group: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """``query`` with its ``Id`` prefixed, and in an expression every id of its ``group`` renamed alike."""
    out = {**query, "Id": prefix + query["Id"]}
    if "Expression" in query:
        ids = sorted((q["Id"] for q in group), key=len, reverse=True)
        pattern = r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, ids)) + r")(?![A-Za-z0-9_])"
        out["Expression"] = re.sub(pattern, lambda m: prefix + m.group(1), query["Expression"])
    return out


def _chunks(series: list[_Series]) -> list[list[_Series]]:
    """``series`` in order, cut so that no call carries more than :data:`QUERIES_PER_CALL` queries."""
    chunks: list[list[_Series]] = [[]]
    size = 0
    for one in series:
        if chunks[-1] and size + len(one.queries) > QUERIES_PER_CALL:
            chunks.append([])
            size = 0
        chunks[-1].append(one)
        size += len(one.queries)
    return [c for c in chunks if c]


def _reading(name: str, alarm: dict[str, Any] | None, window: _Window | str | None,
             stable: str | None = None) -> GateReading:
    if alarm is None:
        return GateReading(name, "unreadable", detail="no such CloudWatch alarm")
    if isinstance(window, str):
        return GateReading(name, "unreadable", detail=window)
    window = window or _Window()
    if window.per_variant:
        return _canary_reading(name, alarm, window, stable or "")
    value = window.canary_value if window.canary_value is not None else window.value
    if alarm.get("StateValue") == "ALARM":
        return GateReading(name, "firing", value, f"alarm in ALARM: {alarm.get('StateReason', '')}"[:200])
    if window.canary_breach:
        return GateReading(name, "firing", window.canary_value,
                           f"canary variant breached {alarm.get('Threshold')} in this step")
    if window.breach:
        return GateReading(name, "firing", window.value, f"metric breached {alarm.get('Threshold')} in this step")
    return GateReading(name, "ok", value, alarm.get("StateValue", ""))


def _canary_reading(name: str, alarm: dict[str, Any], window: _Window, stable: str) -> GateReading:
    """The reading of an alarm on the stable variant whose canary series was read (see the contract,
    "The stable variant is not the new version"): the canary's own series decides; what the alarm and
    the stable variant's datapoints show is reported in ``stable``."""
    threshold = alarm.get("Threshold")
    seen = []
    if alarm.get("StateValue") == "ALARM":
        seen.append(f"alarm in ALARM ({alarm.get('StateReason', '')})")
    elif window.breach:
        seen.append(f"breached {threshold} in this step")
    shown = f" = {window.value:g}" if window.value is not None else ""
    note = f"variant {stable}{shown}, {seen[0]}"[:200] if seen else ""
    if window.canary_breach:
        return GateReading(name, "firing", window.canary_value, f"canary variant breached {threshold} in this step",
                           stable=note)
    value = window.canary_value if window.canary_value is not None else window.value
    return GateReading(name, "ok", value, alarm.get("StateValue", ""), stable=note)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(stamp: Any) -> float:
    return stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)


def _cause(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code', '')}: {error.get('Message', '')}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]
