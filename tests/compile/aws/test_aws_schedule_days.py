"""An AWS schedule runs on the weekdays the Kubernetes CronJob of the same cron runs on (audit triggers#4).

The AWS day-of-week field is built from the spec parser's set of days, the set
``kubernetes_schedule`` writes for a CronJob. Each form is checked against croniter walking the
compiled Kubernetes schedule (plain numbers and ``*`` only, which every cron reads alike), and the
AWS field is read back with AWS's own day names (SUN-SAT, ranges, lists:
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based). On the old
code ``1/2`` ran MON,WED,FRI on AWS but also Sunday on Kubernetes, ``2/1``..``6/1`` lost Sunday on
AWS, and ``7-7``/``7/1`` ran every day on AWS but only Sunday on Kubernetes.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from croniter import croniter

from mlops_infra.compile.aws.schedules import DAY_NAMES, aws_cron_expressions
from mlops_infra.spec.cron import kubernetes_schedule, parse_cron_expression

FORMS = ["0/1", "0/2", "2/2", "7-7", "7", "0,7", "5-7", "6-7/1", "*/2",
         "*/3", "1-7/2", "0-7/3", "SAT-SUN", "FRI-MON/2", "mon-fri", "SUN/2", "1,3-5", "*"]
REFUSED = ["1/2", "2/1", "3/1", "4/1", "5/1", "6/1", "7/1"]
"""Lone-start steps whose count reaches 7: Sunday in crontab(5), not in robfig/cron or croniter, so
validate refuses them (``spec/cron.py``); before that, AWS and Kubernetes disagreed on them."""


def kubernetes_days(dow: str) -> set[int]:
    """Weekdays (0 = Sunday) croniter runs the compiled Kubernetes schedule on, over four weeks."""
    schedule = kubernetes_schedule(parse_cron_expression(f"0 3 * * {dow}"))
    assert "/" not in schedule.split()[-1] or schedule.split()[-1].startswith("*/"), schedule  # no N/step left
    it = croniter(schedule, datetime(2026, 11, 1))  # a Sunday
    return {it.get_next(datetime).isoweekday() % 7 for _ in range(28)}


def aws_days(expression: str) -> set[int]:
    """Weekdays an AWS ``cron(m h ? * <dow> *)`` runs on: ``*``, names, ``A-B`` ranges, lists."""
    dow = expression.removeprefix("cron(").removesuffix(")").split()[4]
    if dow in ("*", "?"):  # "?": the day-of-month field decides; here it is "*"
        return set(range(7))
    days: set[int] = set()
    for part in dow.split(","):
        first, _, last = part.partition("-")
        days |= set(range(DAY_NAMES.index(first), DAY_NAMES.index(last or first) + 1))
    return days


@pytest.mark.parametrize("dow", FORMS)
def test_the_aws_schedule_runs_on_the_weekdays_the_kubernetes_cronjob_runs_on(dow):
    expressions = aws_cron_expressions(f"0 3 * * {dow}")
    days = set().union(*(aws_days(e) for e in expressions))
    assert days == kubernetes_days(dow) == parse_cron_expression(f"0 3 * * {dow}").days_of_week()


@pytest.mark.parametrize(("dow", "expected"), [("7-7", "SUN"), ("2/2", "TUE,THU,SAT")])
def test_the_forms_the_audit_found(dow, expected):
    assert aws_cron_expressions(f"0 3 * * {dow}") == [f"cron(0 3 ? * {expected} *)"]


@pytest.mark.parametrize("dow", REFUSED)
def test_the_ambiguous_forms_the_audit_found_are_refused_before_any_target(dow):
    from mlops_infra.spec.cron import CronError

    with pytest.raises(CronError, match="Sunday"):
        parse_cron_expression(f"0 3 * * {dow}")
