"""AWS: the CloudWatch alarm period of each monitor, the evaluation range it allows, and the alerts
whose ``for`` does not fit that range (audit limits-5).

Contract: on AWS an alert is a CloudWatch alarm on its monitor's metric (``compile/aws/alerting.py``
``compile_alert``), ``evaluationPeriods`` = ``datapointsToAlarm`` = ``for`` / the period, rounded up.
:func:`alarm_period` is that period, the one definition the compiler reads
(``compile/aws/monitoring.py``): :data:`ENDPOINT_ALARM_PERIOD` (one minute) for ``latency_p99`` and
``error_rate``, :func:`drift_alarm_period` (the job's schedule in whole minutes, at most a day) for the
drift kinds. CloudWatch bounds the evaluation range, ``Period`` x ``EvaluationPeriods``
(:func:`evaluation_range`): botocore ``cloudwatch/2010-08-01`` ``PutMetricAlarmInput.Period``, "An
alarm's total current evaluation period can be no longer than seven days, so Period multiplied by
EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than one hour
(3,600 seconds), the total evaluation period can't be longer than one day (86,400 seconds)" (the same
text on the PutMetricAlarm API reference page,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html). The compiler
keeps its alarms within that range (:func:`evaluation_periods`), so an alert whose ``for`` needs more
periods would fire once the condition has held for the range, not for ``for`` (``for: 36h`` on a
latency monitor fired after 24h), while its description still says ``for 36h`` and Kubernetes (a
Prometheus rule's ``for:``, no such bound) waits the full 36h.

:func:`check_alert_for` refuses that in AWS environments: error ``alert-for-too-long`` at the alert's
``for``, naming the monitor's period, the longest ``for`` it allows (:func:`longest_for`: the range in
whole periods) and the fix. Kubernetes environments are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor, schedule_seconds

ENDPOINT_ALARM_PERIOD = 60
"""The period of the ``latency_p99`` and ``error_rate`` alarms: one minute, SageMaker's endpoint metrics'
resolution (the finest standard-resolution period; botocore ``PutMetricAlarmInput.Period``: 10, 20 and 30
only for high-resolution metrics)."""
MAX_ALARM_PERIOD = 86400
"""The longest period a drift alarm gets (a day), whatever its schedule."""
LONG_PERIOD = 3600
"""From this period on (an hour), an alarm's evaluation range may be :data:`MAX_EVALUATION_RANGE`."""
MAX_EVALUATION_RANGE = 604_800
"""Longest evaluation range (``Period`` x ``EvaluationPeriods``) of an alarm whose period is an hour or
more: seven days (module docstring)."""
SHORT_RANGE = 86_400
"""Longest evaluation range of an alarm whose period is under an hour: one day (module docstring)."""


def drift_alarm_period(monitor: Monitor) -> int:
    """A drift alarm's period: the monitor's schedule (:func:`~mlops_infra.spec.monitoring.schedule_seconds`)
    rounded up to whole minutes, at least a minute and at most :data:`MAX_ALARM_PERIOD`."""
    return min(MAX_ALARM_PERIOD, max(60, -(-schedule_seconds(monitor) // 60) * 60))


def alarm_period(monitor: Monitor) -> int:
    """The period of the alarms on ``monitor`` (module docstring)."""
    return drift_alarm_period(monitor) if monitor.metric in DRIFT_METRICS else ENDPOINT_ALARM_PERIOD


def evaluation_range(period: int) -> int:
    """The longest ``Period`` x ``EvaluationPeriods`` CloudWatch accepts for ``period``."""
    return SHORT_RANGE if period < LONG_PERIOD else MAX_EVALUATION_RANGE


def evaluation_periods(period: int, for_seconds: int) -> int:
    """Periods covering ``for`` (rounded up, at least one), within :func:`evaluation_range`: what the
    compiler gives an alert's alarm (``evaluationPeriods`` and ``datapointsToAlarm``)."""
    return max(1, min(-(-for_seconds // period), evaluation_range(period) // period))


def longest_for(period: int) -> int:
    """The longest ``for`` (seconds) an alarm of ``period`` honours: its range in whole periods."""
    return evaluation_range(period) // period * period


def _text(seconds: int) -> str:
    """``24h``, ``7d``, ``6d23h``: a duration as a document writes one, largest units first (days from
    two days on: ``24h`` reads next to ``36h``)."""
    parts = []
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)) if seconds >= 2 * 86400 else \
        (("h", 3600), ("m", 60), ("s", 1))
    for unit, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _period_text(monitor: Monitor, period: int) -> str:
    if monitor.metric not in DRIFT_METRICS:
        return f"1-minute periods ({monitor.metric})"
    return f"periods of {_text(period)} ({monitor.metric}, its schedule: {_text(schedule_seconds(monitor))})"


def _fix(monitor: Monitor, period: int, longest: str) -> str:
    if monitor.metric in DRIFT_METRICS and period < LONG_PERIOD:
        return (f"Set its for to at most {longest}, or give monitor \"{monitor.name}\" a schedule of 1h or more "
                f"(its alarm's range is then seven days).")
    return f"Set its for to at most {longest}."


def check_alert_for(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, an error for each alert whose ``for`` needs more evaluation periods than its
    monitor's alarm can have (module docstring)."""
    if environment.target.kind != "aws":
        return
    for i, alert in enumerate(ctx.system.alerts):
        monitor = ctx.item("monitors", alert.monitor)
        if monitor is None:
            continue  # an unknown reference, reported as such
        period = alarm_period(monitor)
        if -(-alert.for_.seconds // period) * period <= evaluation_range(period):
            continue
        longest = _text(longest_for(period))
        yield error(
            "alert-for-too-long",
            f'Alert "{alert.name}" has for {alert.for_}, longer than CloudWatch can wait on monitor "{monitor.name}" '
            f"(at most {longest}; environment {env})",
            f'In environment {env} (AWS) the alert is a CloudWatch alarm over {_period_text(monitor, period)}, '
            f"and an alarm evaluates at most one day of periods under an hour, seven days of longer ones "
            f"(Period x EvaluationPeriods at most 86,400 s or 604,800 s): it would fire once the condition has "
            f"held for {longest}, not {alert.for_} (Kubernetes waits the full for). {_fix(monitor, period, longest)}",
            ("alerts", i, "for"), f"alerts.{alert.name}")
