"""Schedule expressions for EventBridge Scheduler: five-field cron -> AWS cron, durations -> rate.

Contract (pure):
- :func:`aws_cron_expressions` turns a five-field UTC cron (``0 3 * * 1``) into the AWS six-field
  form (``cron(0 3 ? * MON *)``). AWS requires ``?`` in day-of-month or day-of-week and numbers
  weekdays 1-7 from Sunday; we write weekday names, so there is no off-by-one to get wrong.
  Standard cron runs when *either* restricted day field matches (``0 0 1 * 1`` = the 1st and every
  Monday); AWS cannot say "or" in one expression, so that case yields two expressions (two
  schedules). ``?`` in a day field is read as ``*`` (crontab and robfig/cron alike). What AWS
  cannot express (:func:`mlops_infra.spec.cron.aws_problem`, also a spec check) makes
  :func:`aws_cron_expressions` raise :class:`UnsupportedCron`.
- :func:`rate_expression` turns seconds into ``rate(1 hour)``-style text, rounding up to a whole
  minute (the Scheduler's finest rate unit).
"""

from __future__ import annotations

from mlops_infra.spec.cron import CronError, aws_problem, parse_cron_expression

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAME_TO_DAY = {name: i for i, name in enumerate(DAY_NAMES)}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class UnsupportedCron(ValueError):
    """A valid five-field cron that AWS cron syntax cannot express."""


def _day(token: str) -> int:
    token = token.strip().upper()
    if token in _NAME_TO_DAY:
        return _NAME_TO_DAY[token]
    value = int(token)
    if not 0 <= value <= 7:
        raise UnsupportedCron(f"day of week {token} is out of range 0-7")
    return value % 7


def _expand_days(item: str) -> set[int]:
    """Days (0 = Sunday) of one comma-separated day-of-week item without L or #."""
    body, _, step_text = item.partition("/")
    step = int(step_text) if step_text else 1
    if body == "*":
        first, last = 0, 6
    elif "-" in body:
        start, end = body.split("-", 1)
        first, last = _day(start), _day(end)
        if end.strip() == "7":
            last = 7
    else:
        first = _day(body)
        last = 6 if step_text else first
    if last < first:  # a range across the week's end (sat-sun)
        last += 7
    return {d % 7 for d in range(first, last + 1, step)}


def _special_day(item: str) -> str:
    """``5#3`` (third Friday) and ``L5``/``5L`` (last Friday) in AWS's 1-7 numbering."""
    if "#" in item:
        day, nth = item.split("#", 1)
        return f"{_day(day) + 1}#{nth}"
    day = item.strip("L")
    return f"{_day(day) + 1}L" if day else "L"


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
    """A cron day-of-week field in AWS syntax (names; ``#``/``L`` forms renumbered)."""
    items = field.split(",")
    special = [i for i in items if "#" in i or "L" in i.upper()]
    days: set[int] = set()
    for item in items:
        if item not in special:
            days |= _expand_days(item)
    parts = ([_compress(days)] if days else []) + [_special_day(i.upper()) for i in special]
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
    if dow == "*" or (dow.startswith("*") and dom == "*" and aws_day_of_week(dow) == "*"):
        return [f"cron({minute} {hour} {dom} {month} ? *)"]
    if dom == "*":
        return [f"cron({minute} {hour} ? {month} {aws_day_of_week(dow)} *)"]
    return [f"cron({minute} {hour} {dom} {month} ? *)",
            f"cron({minute} {hour} ? {month} {aws_day_of_week(dow)} *)"]


def rate_expression(seconds: int) -> str:
    """``rate(N unit)`` for an interval, rounded up to whole minutes (at least one)."""
    minutes = max(1, -(-seconds // 60))
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise AssertionError("unreachable: every minute count divides by 1")
