"""Gates from CloudWatch: the rollback alarms' state and their metric over the current step.

Contract of :class:`CloudWatchGates` (any boto3-compatible CloudWatch client):
- A gate is ``firing`` when its alarm's ``StateValue`` is ``ALARM``; ``OK`` and ``INSUFFICIENT_DATA``
  are not firing (a canary at a few percent of traffic often has no datapoint in a period; the
  compiled alarms treat missing data as not breaching). An alarm that does not exist is ``unreadable``.
- For alarms on one metric (``MetricName`` + ``Namespace``; metric-math alarms use their state only),
  the metric over the step's window (from the step's start, at least one period, until now) with the
  alarm's statistic (``Statistic`` or ``ExtendedStatistic`` such as ``p99``) and period. A datapoint
  breaching the alarm's threshold (by its ``ComparisonOperator``) fires the gate before the alarm's
  own ``EvaluationPeriods`` elapse: the controller is stricter than the alarm, never looser. The most
  recent value is reported either way.
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

from collections.abc import Sequence
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


class CloudWatchGates:
    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, spec: RolloutSpec, since: float, now: float) -> list[GateReading]:
        return self.read_many([(spec, since)], now)[0]

    def read_many(self, requests: Sequence[tuple[RolloutSpec, float]], now: float) -> list[list[GateReading]]:
        """The readings of each ``(spec, step start)`` in ``requests``, in order (see the contract)."""
        names = sorted({name for spec, _ in requests for name in spec.gates})
        alarms, failed = self._alarms(names)
        queries = []  # (request index, gate name, alarm, window start)
        for index, (spec, since) in enumerate(requests):
            for name in spec.gates:
                alarm = alarms.get(name)
                if alarm is not None and alarm.get("MetricName") and alarm.get("Namespace"):
                    queries.append((index, name, alarm, min(since, now - int(alarm.get("Period") or 60))))
        windows = self._windows(queries, now)
        out = []
        for index, (spec, _) in enumerate(requests):
            readings = []
            for name in spec.gates:
                if name in failed:
                    readings.append(GateReading(name, "unreadable", detail=failed[name]))
                else:
                    readings.append(_reading(name, alarms.get(name), windows.get((index, name))))
            out.append(readings)
        return out

    def _alarms(self, names: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        found: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        for start in range(0, len(names), ALARMS_PER_CALL):
            chunk = names[start:start + ALARMS_PER_CALL]
            try:
                token = None
                while True:
                    extra = {"NextToken": token} if token else {}
                    answer = self.client.describe_alarms(AlarmNames=chunk, AlarmTypes=["MetricAlarm"],
                                                         MaxRecords=ALARMS_PER_CALL, **extra)
                    found.update({a["AlarmName"]: a for a in answer.get("MetricAlarms", [])})
                    token = answer.get("NextToken")
                    if not token:
                        break
            except Exception as exc:  # botocore ClientError, connection errors: these gates cannot be read
                failed.update(dict.fromkeys(chunk, _cause(exc)))
        return found, failed

    def _windows(self, queries: list[tuple[int, str, dict[str, Any], float]], now: float
                 ) -> dict[tuple[int, str], tuple[float | None, bool] | str]:
        """(request index, gate) -> (latest value, breached in the window), or the error text."""
        out: dict[tuple[int, str], tuple[float | None, bool] | str] = {}
        for start in range(0, len(queries), QUERIES_PER_CALL):
            chunk = queries[start:start + QUERIES_PER_CALL]
            try:
                series = self._metric_data(chunk, now)
            except Exception as exc:  # the metric cannot be read: the alarm state alone cannot be trusted
                out.update({(index, name): f"GetMetricData: {_cause(exc)}" for index, name, _, _ in chunk})
                continue
            for number, (index, name, alarm, since) in enumerate(chunk):
                points = [(t, v) for t, v in series.get(f"q{number}", []) if t >= since]
                points.sort(key=lambda p: p[0], reverse=True)
                compare = COMPARE.get(alarm.get("ComparisonOperator", ""))
                threshold = alarm.get("Threshold")
                breach = bool(compare and threshold is not None and any(compare(v, threshold) for _, v in points))
                out[(index, name)] = (points[0][1] if points else None, breach)
        return out

    def _metric_data(self, chunk: list[tuple[int, str, dict[str, Any], float]], now: float
                     ) -> dict[str, list[tuple[float, float]]]:
        queries = []
        for number, (_, _, alarm, _) in enumerate(chunk):
            stat = alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average"
            queries.append({"Id": f"q{number}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                           "Dimensions": alarm.get("Dimensions") or []},
                "Period": int(alarm.get("Period") or 60), "Stat": stat}})
        series: dict[str, list[tuple[float, float]]] = {}
        token = None
        while True:
            extra = {"NextToken": token} if token else {}
            answer = self.client.get_metric_data(MetricDataQueries=queries, StartTime=_utc(min(q[3] for q in chunk)),
                                                 EndTime=_utc(now), ScanBy="TimestampDescending", **extra)
            for result in answer.get("MetricDataResults", []):
                stamps = [_epoch(t) for t in result.get("Timestamps", [])]
                series.setdefault(result["Id"], []).extend(zip(stamps, result.get("Values", []), strict=False))
            token = answer.get("NextToken")
            if not token:
                return series


def _reading(name: str, alarm: dict[str, Any] | None, window: tuple[float | None, bool] | str | None) -> GateReading:
    if alarm is None:
        return GateReading(name, "unreadable", detail="no such CloudWatch alarm")
    if isinstance(window, str):
        return GateReading(name, "unreadable", detail=window)
    value, breach = window if window is not None else (None, False)
    if alarm.get("StateValue") == "ALARM":
        return GateReading(name, "firing", value, f"alarm in ALARM: {alarm.get('StateReason', '')}"[:200])
    if breach:
        return GateReading(name, "firing", value, f"metric breached {alarm.get('Threshold')} in this step")
    return GateReading(name, "ok", value, alarm.get("StateValue", ""))


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
