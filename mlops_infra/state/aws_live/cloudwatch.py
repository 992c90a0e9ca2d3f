"""CloudWatch metric alarms: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS`
entries.

Alarms are read in batches of up to :data:`ALARMS_PER_CALL` names per ``DescribeAlarms`` call
(``read_many``): botocore ``DescribeAlarmsInput.AlarmNames`` holds at most 100 names and
``MaxRecords`` is 1-100 (default 50; CloudWatch API Reference, DescribeAlarms), so a call asks for
100 records and one batch is one page; ``NextToken`` pages are still followed. A name not in the
answer is a deleted alarm.

An alarm's warm-up (``warmUpConfiguration``: botocore ``cloudwatch`` ``MetricAlarm.WarmUpConfiguration``,
what ``DescribeAlarms`` answers, ``WarmUpPeriodDurationInMinutes`` and
``OnlyStartEvaluatingAfterWarmUpPeriodEnds``; pulumi-aws 7.51.1 ``cloudwatch.MetricAlarm``
``warm_up_configuration``, ``only_start_evaluating_after_warm_up_period_ends`` "Defaults to
``false``") is compared: the drift monitors' "stopped measuring" alarm has one of the monitor's
horizon (``compile/aws/monitoring.silence_alarms``). ``PutMetricAlarm`` replaces an alarm's whole
configuration, so a ``put-metric-alarm`` or console edit that leaves it out removes it, and the state
no longer says what runs; removed while it runs (within a horizon, at most two days, of the apply that
created or updated the alarm), the alarm evaluates at once, finds the periods before the first run
missing, hence breaching, and tells every channel that the monitor stopped measuring when it did not
("During the warm-up period, the alarm stays in INSUFFICIENT_DATA and does not perform alarm
actions"). Not computed: a warm-up added by hand to another alarm (no compiled alarm but the silence
alarm has one) delays its evaluation after each update, by up to two days, and is drift too.

A dashboard (``aws:cloudwatch/dashboard:Dashboard``; pulumi-aws keeps its name as the id) is read with
``GetDashboard`` (botocore ``cloudwatch``: ``DashboardBody``; a deleted one answers
``DashboardNotFoundError``, code ``ResourceNotFound``: gone). Drift compares the body as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext, paginate
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource

ALARMS_PER_CALL = 100
"""Names per ``DescribeAlarms`` call and its ``MaxRecords`` (both at most 100)."""

_ALARM_RENAMES = {"EvaluateLowSampleCountPercentile": "evaluateLowSampleCountPercentiles",
                  "Metrics": "metricQueries"}

_ALARM_KEYS = ("AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
               "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Unit",
               "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
               "EvaluateLowSampleCountPercentile", "ThresholdMetricId", "WarmUpConfiguration")


def map_metric_alarm(alarm: Mapping[str, Any]) -> Reading:
    """One ``DescribeAlarms.MetricAlarms`` entry -> ``aws:cloudwatch/metricAlarm:MetricAlarm``
    (``Dimensions`` as a map, ``Metrics`` as ``metricQueries`` with their ``dimensions`` maps)."""
    inputs = pulumi_shape({k: alarm[k] for k in _ALARM_KEYS if k in alarm}, renames=_ALARM_RENAMES)
    inputs["name"] = alarm.get("AlarmName")
    inputs["dimensions"] = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    inputs["metricQueries"] = [_metric_query(q) for q in alarm.get("Metrics", [])]
    return Reading(drop_none(inputs), drop_none({"arn": alarm.get("AlarmArn"), "state": alarm.get("StateValue")}))


def _metric_query(query: Mapping[str, Any]) -> dict[str, Any]:
    out = pulumi_shape({k: v for k, v in query.items() if k != "MetricStat"})
    stat = query.get("MetricStat")
    if stat:
        metric = stat.get("Metric", {})
        out["metric"] = drop_none({
            "metricName": metric.get("MetricName"), "namespace": metric.get("Namespace"),
            "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
            "period": stat.get("Period"), "stat": stat.get("Stat"), "unit": stat.get("Unit"),
        })
    return out


def _read_metric_alarms(client: Any, resources: Sequence[StateResource],
                        ctx: ScanContext) -> dict[str, Reading | None]:
    names = [r.id for r in resources]
    found = {a["AlarmName"]: a for a in paginate(client, "describe_alarms", "MetricAlarms",
                                                   AlarmNames=names, AlarmTypes=["MetricAlarm"],
                                                   PaginationConfig={"PageSize": ALARMS_PER_CALL})}
    return {r.urn: (map_metric_alarm(found[r.id]) if r.id in found else None) for r in resources}


def map_dashboard(response: Mapping[str, Any]) -> Reading:
    """``GetDashboard`` -> ``aws:cloudwatch/dashboard:Dashboard``."""
    inputs = drop_none({"dashboardName": response.get("DashboardName"), "dashboardBody": response.get("DashboardBody")})
    return Reading(inputs, drop_none({"dashboardArn": response.get("DashboardArn")}))


def _read_dashboard(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_dashboard(client.get_dashboard(DashboardName=str(res.inputs.get("dashboardName") or res.id)))


READERS: dict[str, Reader] = {
    "aws:cloudwatch/dashboard:Dashboard": Reader("cloudwatch", Tracking("dashboard", (
        T("dashboardBody", "body", "json"),
    )), read_one=_read_dashboard),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Reader("cloudwatch", Tracking("alarm", (
        T("metricName", "metric"), T("namespace", "namespace"), T("statistic", "statistic"),
        T("extendedStatistic", "statistic"), T("dimensions", "dimensions", "map"),
        T("comparisonOperator", "comparison"), T("threshold", "threshold"),
        T("evaluationPeriods", "evaluation periods"), T("period", "period"),
        T("datapointsToAlarm", "datapoints to alarm", computed=True),
        T("treatMissingData", "missing data", default="missing"),
        T("alarmActions", "alarm actions", "set"), T("okActions", "OK actions", "set"),
        T("insufficientDataActions", "insufficient-data actions", "set"),
        T("actionsEnabled", "actions enabled", default=True),
        T("metricQueries", "metric queries", "keyed:id"),
        T("alarmDescription", "description", computed=True),
        T("warmUpConfiguration.warmUpPeriodDurationInMinutes", "warm-up minutes"),
        T("warmUpConfiguration.onlyStartEvaluatingAfterWarmUpPeriodEnds", "warm-up before any evaluation",
          default=False), TAGS,
    )), read_many=_read_metric_alarms, batch_size=ALARMS_PER_CALL, tags=True),
}
