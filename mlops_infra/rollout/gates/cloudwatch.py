"""Gates from CloudWatch: the rollback alarms' state and their metric over the current step.

Contract of :class:`CloudWatchGates` (any boto3-compatible CloudWatch client):
- ``DescribeAlarms(AlarmNames=gates)`` once per pass. A gate is ``firing`` when its alarm's
  ``StateValue`` is ``ALARM``; ``OK`` and ``INSUFFICIENT_DATA`` are not firing (a canary at a few
  percent of traffic often has no datapoint in a period; the compiled alarms treat missing data as
  not breaching). An alarm that does not exist is ``unreadable``.
- For alarms on one metric (``MetricName`` + ``Namespace``; metric-math alarms use their state only),
  ``GetMetricData`` over the step's window (from the step's start, at least one period, until now)
  with the alarm's statistic (``Statistic`` or ``ExtendedStatistic`` such as ``p99``) and period. A
  datapoint breaching the alarm's threshold (by its ``ComparisonOperator``) fires the gate before the
  alarm's own ``EvaluationPeriods`` elapse: the controller is stricter than the alarm, never looser.
  The most recent value is reported either way.
- Any ``ClientError`` or connection error makes the gates of that call ``unreadable`` with the AWS
  error code; the reader never raises for a cloud answer.

References: botocore ``cloudwatch`` ``DescribeAlarms`` (``MetricAlarm``: ``StateValue``,
``Threshold``, ``ComparisonOperator``, ``Metrics``) and ``GetMetricData`` (``MetricStat``,
``StartTime``/``EndTime``; at most 500 queries per call).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops_infra.rollout.model import GateReading, RolloutSpec

COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


class CloudWatchGates:
    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, spec: RolloutSpec, since: float, now: float) -> list[GateReading]:
        if not spec.gates:
            return []
        try:
            alarms = {a["AlarmName"]: a for a in self.client.describe_alarms(
                AlarmNames=list(spec.gates), AlarmTypes=["MetricAlarm"])["MetricAlarms"]}
        except Exception as exc:  # botocore ClientError, connection errors: the gate cannot be read
            return [GateReading(name, "unreadable", detail=_cause(exc)) for name in spec.gates]
        return [self._reading(name, alarms.get(name), since, now) for name in spec.gates]

    def _reading(self, name: str, alarm: dict[str, Any] | None, since: float, now: float) -> GateReading:
        if alarm is None:
            return GateReading(name, "unreadable", detail="no such CloudWatch alarm")
        state = alarm.get("StateValue", "")
        value, breach = None, False
        if alarm.get("MetricName") and alarm.get("Namespace"):
            try:
                value, breach = self._window(alarm, since, now)
            except Exception as exc:  # the metric cannot be read: the alarm state alone cannot be trusted
                return GateReading(name, "unreadable", detail=f"GetMetricData: {_cause(exc)}")
        if state == "ALARM":
            return GateReading(name, "firing", value, f"alarm in ALARM: {alarm.get('StateReason', '')}"[:200])
        if breach:
            return GateReading(name, "firing", value, f"metric breached {alarm.get('Threshold')} in this step")
        return GateReading(name, "ok", value, state)

    def _window(self, alarm: dict[str, Any], since: float, now: float) -> tuple[float | None, bool]:
        period = int(alarm.get("Period") or 60)
        start = min(since, now - period)
        stat = alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average"
        query = {"Id": "gate", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                       "Dimensions": alarm.get("Dimensions") or []},
            "Period": period, "Stat": stat}}
        answer = self.client.get_metric_data(MetricDataQueries=[query], StartTime=_utc(start), EndTime=_utc(now),
                                             ScanBy="TimestampDescending")
        values = [v for result in answer.get("MetricDataResults", []) for v in result.get("Values", [])]
        compare = COMPARE.get(alarm.get("ComparisonOperator", ""))
        threshold = alarm.get("Threshold")
        breach = bool(compare and threshold is not None and any(compare(v, threshold) for v in values))
        return (values[0] if values else None), breach


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _cause(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code', '')}: {error.get('Message', '')}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]
