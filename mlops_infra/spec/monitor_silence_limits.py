"""Drift monitors too rare for AWS's "monitor stopped measuring" alarm: warned of in AWS environments.

Contract: each drift monitor (:data:`~mlops_infra.spec.monitoring.DRIFT_METRICS`) of a system with
channels gets an alert saying that it stopped measuring (``compile/monitor_silence.py``), firing
after its horizon: two schedules, one run's deadline (at most an hour) and 5 minutes. On AWS that
alert is a CloudWatch alarm whose evaluation periods must cover the horizon
(``compile/aws/monitoring.silence_periods``), and an alarm's evaluation range is at most seven days
(botocore cloudwatch ``PutMetricAlarmInput.Period``: "Period multiplied by EvaluationPeriods can't be
more than 604,800 seconds"). A schedule over :data:`AWS_SILENCE_MAX_SCHEDULE_SECONDS` has a longer
horizon, so no such alarm is compiled, and :func:`check_silence_schedules` says so at the monitor's
``schedule`` (warning ``monitor-not-watched``; the monitor itself works: its drift job and alerts
are compiled as before). Shorter horizons cannot be had: one missed run of a 7-day schedule already
leaves no datapoint for more than seven days. Kubernetes has no such limit (a Prometheus rule on the
last success time), so Kubernetes environments are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.alarm_periods import MAX_EVALUATION_RANGE
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.monitoring import DRIFT_METRICS

AWS_ALARM_RANGE_SECONDS = MAX_EVALUATION_RANGE
"""CloudWatch's longest evaluation range (seven days, periods of an hour or more;
:mod:`mlops_infra.spec.alarm_periods`)."""
AWS_SILENCE_MAX_SCHEDULE_SECONDS = (AWS_ALARM_RANGE_SECONDS - 3600 - 300) // 2
"""Longest drift schedule whose horizon (2 x schedule + the one-hour deadline of any schedule of an
hour or more + 5 minutes; ``compile/drift_job.py``) fits :data:`AWS_ALARM_RANGE_SECONDS`: 300,450 s,
3 d 11 h 27 min 30 s (``tests/spec/test_monitor_silence_limits.py`` pins it to the compiler)."""


def check_silence_schedules(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment of a system with channels, a warning for each drift monitor whose
    schedule is longer than :data:`AWS_SILENCE_MAX_SCHEDULE_SECONDS`."""
    if environment.target.kind != "aws" or not ctx.system.channels:
        return
    for i, monitor in enumerate(ctx.system.monitors):
        if monitor.metric not in DRIFT_METRICS or monitor.schedule is None:
            continue
        if monitor.schedule.seconds > AWS_SILENCE_MAX_SCHEDULE_SECONDS:
            yield warning(
                "monitor-not-watched",
                f'Monitor "{monitor.name}" runs every {monitor.schedule}: on AWS nobody is told if it stops '
                f"measuring (environment {env})",
                "Its drift job and alerts are compiled, but not the alarm saying that the job published nothing "
                "for two schedules: that takes more than CloudWatch's seven-day evaluation range (Period x "
                "EvaluationPeriods at most 604,800 s). Set its schedule to at most 300450s (3 days 11 h 27 min "
                "30 s; for example schedule: 3d) to have it, or watch the job's runs another way.",
                ("monitors", i, "schedule"), f"monitors.{monitor.name}")
