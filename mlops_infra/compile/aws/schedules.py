"""Schedule expressions for EventBridge Scheduler: five-field cron -> AWS cron, durations -> rate.

Contract (pure):
- :func:`aws_cron_expressions` turns a five-field UTC cron (``0 3 * * 1``) into the AWS six-field
  form (``cron(0 3 ? * MON *)``). AWS requires ``?`` in day-of-month or day-of-week and numbers
  weekdays 1-7 from Sunday; we write weekday names, so there is no off-by-one to get wrong.
  Standard cron runs when *either* restricted day field matches (``0 0 1 * 1`` = the 1st and every
  Monday); AWS cannot say "or" in one expression, so that case yields two expressions (two
  schedules). ``?`` in a day field is read as ``*`` (crontab and robfig/cron alike), and so is a day
  field that restricts nothing (``*/1``): both keep its star, so ``0 3 1 * */1`` is the 1st only. What AWS
  cannot express (:func:`mlops_infra.spec.cron.aws_problem`, also a spec check) makes
  :func:`aws_cron_expressions` raise :class:`UnsupportedCron`.
- :func:`rate_expression` turns seconds into ``rate(1 hour)``-style text, rounding up to a whole
  minute (the Scheduler's finest rate unit).
"""

from __future__ import annotations

import re

from mlops_infra.spec.cron import DOM, DOW, CronError, CronItem, aws_problem, parse_cron_expression

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class UnsupportedCron(ValueError):
    """A valid five-field cron that AWS cron syntax cannot express."""


def _special_day(item: CronItem) -> str:
    """``5#3`` (third Friday) and ``L5``/``5L`` (last Friday) in AWS's 1-7 numbering; ``L`` alone is AWS's
    own ``L`` (the week's last day, Saturday)."""
    if item.kind == "nth":
        return f"{item.start + 1}#{item.end}"
    return "L" if item.text == "L" else f"{item.start + 1}L"


def _compress(days: set[int]) -> str:
    """Weekday names with consecutive runs of three or more as ranges (``MON-FRI``)."""
    if days == set(range(7)):
        return "*"
    ordered, runs = sorted(days), []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ",".join(parts)


def aws_day_of_week(field: str) -> str:
    """A cron day-of-week field in AWS syntax (names; ``#``/``L`` forms renumbered).

    The days are the ones the spec's parser reads (:meth:`CronExpression.days_of_week`), the same set
    :func:`~mlops_infra.spec.cron.kubernetes_schedule` writes for a Kubernetes CronJob, so both targets
    run a schedule on the same weekdays (audit triggers#4). Reading the field again here gave other
    days for the step and Sunday forms: ``1/2`` (the parser: from 1 to the field's end, 7, so
    MON,WED,FRI and Sunday) became MON,WED,FRI only, ``2/1``..``6/1`` lost Sunday, and ``7-7`` and
    ``7/1`` (Sunday) became every day."""
    expression = parse_cron_expression(f"0 0 * * {field}")
    days = expression.days_of_week()
    parts = ([_compress(days)] if days else []) + [_special_day(item) for item in expression.specials(DOW)]
    return ",".join(parts)


def _any(field: str) -> str:
    """``?`` (any) written as ``*``, so that the rules below see one spelling of "any"."""
    return "*" + field[1:] if field.startswith("?") else field


def _month(field: str) -> str:
    upper = field.upper()
    return upper if any(m in upper for m in _MONTHS) else field


def cron_problem(text: str) -> str | None:
    """Why AWS schedules cannot run five-field cron ``text``, or None."""
    try:
        return aws_problem(parse_cron_expression(text))
    except CronError as exc:
        return str(exc)


def aws_cron_expressions(text: str) -> list[str]:
    """AWS ``cron(...)`` expressions that together fire exactly when ``text`` does (UTC)."""
    problem = cron_problem(text)
    if problem:
        raise UnsupportedCron(problem)
    minute, hour, dom, month, dow = (_any(field) for field in text.split())
    month = _month(month)
    expression = parse_cron_expression(text)
    # A day field that restricts nothing (``*/1``) is "any" (audit triggers-1): crontab(5) and robfig/cron
    # (parser.go getRange keeps the star for a step of 1) run ``0 3 1 * */1`` on the 1st only, not also daily.
    dom = dom if expression.restricted(DOM) else "*"
    dow = dow if expression.restricted(DOW) else "*"
    if dow == "*" or (dow.startswith("*") and dom == "*" and aws_day_of_week(dow) == "*"):
        return [f"cron({minute} {hour} {dom} {month} ? *)"]
    if dom == "*":
        return [f"cron({minute} {hour} ? {month} {aws_day_of_week(dow)} *)"]
    return [f"cron({minute} {hour} {dom} {month} ? *)",
            f"cron({minute} {hour} ? {month} {aws_day_of_week(dow)} *)"]


def rate_minutes(seconds: int) -> int:
    """The minutes between two runs of an interval of ``seconds``: rounded up to whole minutes, at least
    one. EventBridge Scheduler's rate expressions count whole minutes ("rate(value unit)", unit
    ``minutes | hours | days``, https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html;
    aws/aws-cdk ``packages/aws-cdk-lib/aws-scheduler`` ``Schedule.rate``: "The minimum interval is 1
    minute"), so this is the interval the schedule runs at; the plan's cost prices it (``plan/cost.py``
    ``drift_interval``, audit pricing45-1)."""
    return max(1, -(-seconds // 60))


RATE_UNITS = (("day", 1440), ("hour", 60), ("minute", 1))
"""The units of a rate expression and their minutes, largest first."""
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")


def rate_expression(seconds: int) -> str:
    """``rate(N unit)`` for an interval, rounded up to whole minutes (at least one: :func:`rate_minutes`)."""
    minutes = rate_minutes(seconds)
    for unit, size in RATE_UNITS:
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise AssertionError("unreachable: every minute count divides by 1")


def minutes_of_rate(expression: str) -> int | None:
    """The minutes between runs of a ``rate(N unit)`` expression (what :func:`rate_expression` writes, any of
    EventBridge's units, singular or plural), or None for any other expression (a ``cron(...)``)."""
    match = _RATE.fullmatch(expression.strip())
    return int(match[1]) * dict(RATE_UNITS)[match[2].rstrip("s")] if match else None
