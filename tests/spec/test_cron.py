"""The cron parser and the dialect of each target (mlops_infra.spec.cron)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from croniter import croniter

from mlops_infra.spec.cron import (
    CronError,
    aws_problem,
    kubernetes_problem,
    kubernetes_schedule,
    parse_cron_expression,
)

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday


def _fires(text: str, count: int = 40) -> list[datetime]:
    it = croniter(text, START)
    return [it.get_next(datetime) for _ in range(count)]


@pytest.mark.parametrize(("text", "message"), [
    ("5-1 * * * *", 'minute range "5-1" runs backwards'),
    ("0 23-2 * * *", 'hour range "23-2" runs backwards'),
    ("*/61 * * * *", "larger than the range it divides (0-59)"),
    ("0 */24 * * *", "larger than the range it divides (0-23)"),
    ("10-20/11 * * * *", "larger than the range it divides (10-20)"),
    ("*/0 * * * *", "is 0"),
    ("0 3 30 2 *", "never runs: no day 30 in FEB"),
    ("0 3 31 4,6,9,11 *", "never runs: no day 31 in APR, JUN, SEP, NOV"),
    ("60 * * * *", "minute 60 is out of range"),
    ("0 24 * * *", "hour 24 is out of range"),
    ("0 0 0 * *", "day-of-month 0 is out of range"),
    ("0 0 * 13 *", "month 13 is out of range"),
    ("0 0 * * 8", "day-of-week 8 is out of range"),
    ("? * * * *", '"?" is only for day-of-month and day-of-week'),
    ("0 0 * * 1#6", "the occurrence after # is 1 to 5"),
    ("0 0 1,,2 * *", "has an empty item"),
    ("0 0 * * MON-", "is not a valid day-of-week value"),
    ("0 0 * * 1 2", "has 6 fields"),
    ("@daily", "has 1 field"),
    ("0 0 * * 1²", "is not a valid day-of-week value"),
    ("0 3 * * 1/2", 'day-of-week "1/2" counts on to 7 (Sunday) in crontab(5) but stops at 6'),
    ("0 3 * * 2/1", 'list the weekdays instead: "2,3,4,5,6" or "0,2,3,4,5,6"'),
    ("0 3 * * MON/2", 'list the weekdays instead: "1,3,5" or "0,1,3,5"'),
    ("0 3 * * 7/1", 'write "0" for Sunday'),
])
def test_what_no_target_runs_as_written_is_refused(text: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron_expression(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("0 3 * * 1", "0 3 * * 1"),
    ("0 3 ? * 1", "0 3 * * 1"),
    ("0 3 * * ?", "0 3 * * *"),
    ("0 0 * * 7", "0 0 * * 0"),
    ("0 0 * * 5-7", "0 0 * * 0,5,6"),
    ("0 0 * * 0-7", "0 0 * * *"),
    ("0 0 * * sat-sun", "0 0 * * 0,6"),
    ("0 0 * * FRI-MON", "0 0 * * 0,1,5,6"),
    ("30 2 * jan-mar mon", "30 2 * JAN-MAR MON"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("0 0 1 * 1", "0 0 1 * 1"),
])
def test_kubernetes_schedules_are_in_robfig_cron_syntax_and_fire_as_written(text: str, expected: str) -> None:
    expression = parse_cron_expression(text)
    assert kubernetes_problem(expression) is None
    converted = kubernetes_schedule(expression)
    assert converted == expected
    assert all(not part.isdigit() or int(part) <= 6 for part in converted.split()[4].replace("-", ",").split(","))
    reference = text.replace("?", "*").replace("sat-sun", "sat,sun").replace("FRI-MON", "FRI,SAT,SUN,MON")
    assert _fires(converted) == _fires(reference)


@pytest.mark.parametrize(("text", "form"), [
    ("0 3 L * *", "L (last)"), ("0 3 15W * *", "W (nearest weekday)"), ("0 3 LW * *", "W (nearest weekday)"),
    ("0 3 * * 5L", "L (last)"), ("0 3 * * L5", "L (last)"), ("0 3 * * 1#2", "# (nth weekday)"),
])
def test_kubernetes_refuses_the_day_forms_robfig_cron_lacks(text: str, form: str) -> None:
    expression = parse_cron_expression(text)
    problem = kubernetes_problem(expression)
    assert problem and form in problem
    assert aws_problem(expression) is None  # AWS runs them (compile/aws/schedules.py converts)


@pytest.mark.parametrize("text", ["0 0 */2 * 1", "0 0 1 * */2", "0 0 */2 * */3"])
def test_star_step_day_fields_are_ambiguous_on_every_target(text: str) -> None:
    expression = parse_cron_expression(text)
    for problem in (aws_problem(expression), kubernetes_problem(expression)):
        assert problem and '"both" in crontab(5) but "either" on Kubernetes' in problem


def test_aws_takes_one_nth_weekday_alone() -> None:
    problem = aws_problem(parse_cron_expression("0 3 * * 1#2,3#1"))
    assert problem and "one # expression alone" in problem


def test_reachable_dates_with_a_weekday_are_kept() -> None:
    # Feb 30 never comes, but with a weekday cron runs on either match: every Monday in February
    assert kubernetes_problem(parse_cron_expression("0 3 30 2 1")) is None


@pytest.mark.parametrize("dow", ["2/2", "0/2", "SUN/3", "1-7/2", "*/2", "3-7/2"])
def test_weekday_steps_that_mean_the_same_everywhere_are_kept(dow: str) -> None:
    """A lone-start weekday step is refused only when its count reaches 7: crontab(5) (cronie) counts on
    to 7, robfig/cron (Kubernetes) and croniter stop at 6. ``2/2`` (2,4,6) and ``0/2`` agree everywhere;
    a range names its end."""
    expression = parse_cron_expression(f"0 3 * * {dow}")
    schedule = kubernetes_schedule(expression)
    assert {d.isoweekday() % 7 for d in _fires(schedule, 28)} == expression.days_of_week()
