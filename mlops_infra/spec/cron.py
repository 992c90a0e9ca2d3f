"""Five-field cron expressions: one parser, and the dialect of each target.

The spec language takes standard five-field cron in UTC (``minute hour day-of-month month
day-of-week``, as crontab(5)), plus the ``L``, ``W`` and ``#`` day forms AWS understands.
:func:`parse_cron_expression` reads it into :class:`CronExpression` and refuses what no target can
run or what does not mean what it seems to: a value out of its field's range, a reversed range
(``5-1``), a step of 0 or longer than the field (``*/61`` would only ever run at minute 0), ``?``
outside the day fields, dates that never happen (``0 3 30 2 *``), and a weekday step whose count
reaches 7 from a lone start (``1/2``: with Sunday in crontab(5), without it in robfig/cron and
croniter).

Each target then takes a dialect of its own:

- Kubernetes CronJob: ``spec.schedule`` is parsed by ``cron.ParseStandard`` of robfig/cron v3
  (kubernetes pkg/apis/batch/validation/validation.go, ``validateScheduleFormat``; the CronJob
  docs: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax).
  It has no ``L``, ``W`` or ``#`` (:func:`kubernetes_problem` refuses them) and numbers weekdays
  0-6 (robfig's ``dow`` bounds), so :func:`kubernetes_schedule` writes Sunday as 0, never 7.
- EventBridge Scheduler: six fields with a year, ``?`` required in one day field, weekdays 1-7
  from Sunday, no ``/`` in day-of-week, one ``#`` expression at most
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based and
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html). The
  conversion lives in ``compile/aws/schedules.py``; :func:`aws_problem` says what it cannot
  express.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mlops_infra.spec.patterns import WHITESPACE

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""Most days each month can have (February in a leap year)."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One field of a cron expression: its name, bounds and the names its values may have."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


FIELDS = (
    FieldRule("minute", 0, 59),
    FieldRule("hour", 0, 23),
    FieldRule("day-of-month", 1, 31),
    FieldRule("month", 1, 12, MONTH_NAMES, 1),
    FieldRule("day-of-week", 0, 7, DAY_NAMES, 0),
)
MINUTE, HOUR, DOM, MONTH, DOW = range(5)


@dataclass(frozen=True, slots=True)
class CronItem:
    """One comma-separated item of a field.

    ``kind`` is ``any`` (``*`` or ``?``, with ``step``), ``range`` (``start``-``end`` with
    ``step``; a single value has ``start == end``; a weekday range across the weekend such as
    ``SAT-SUN`` ends past 6, its days taken modulo 7), or a day form: ``last`` (``L`` in
    day-of-month; ``<day>L`` in day-of-week, the last such weekday), ``weekday`` (``<n>W``, the
    weekday nearest day n; ``LW``, the last weekday), ``nth`` (``<day>#<n>``).
    """

    kind: str
    start: int = 0
    end: int = 0
    step: int = 1
    text: str = ""

    @property
    def special(self) -> bool:
        return self.kind in ("last", "weekday", "nth")

    def values(self, rule: FieldRule) -> range:
        """The values a plain item selects (not for day forms)."""
        if self.kind == "any":
            return range(rule.low, rule.high + 1, self.step)
        return range(self.start, self.end + 1, self.step)


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed five-field cron expression; ``text`` is the expression with single spaces."""

    text: str
    fields: tuple[tuple[CronItem, ...], ...]

    def restricted(self, index: int) -> bool:
        """Whether a field restricts anything: not when one of its items is ``*``/``?`` with no step or
        a step of 1 (``*``, ``*/1``, ``*,MON``), which selects every value and keeps robfig/cron's star
        (parser.go ``getRange`` sets ``starBit`` for such an item, ``getField`` ORs the items' bits, and
        spec.go ``dayMatches`` then needs both day fields: audits triggers-1, closing-34a-2). A step above
        1 (``*/2``) counts as a restriction."""
        return not any(item.kind == "any" and item.step == 1 for item in self.fields[index])

    def specials(self, index: int) -> list[CronItem]:
        return [item for item in self.fields[index] if item.special]

    def days_of_week(self) -> set[int]:
        """Weekdays (0 = Sunday) the plain items of day-of-week select; 7 is Sunday too."""
        rule = FIELDS[DOW]
        return {v % 7 for item in self.fields[DOW] if not item.special for v in item.values(rule)}


_WHITESPACE_RUN = re.compile(f"[{WHITESPACE}]+")


class CronError(ValueError):
    """A cron expression that is malformed, or that means something other than it seems."""


def parse_cron_expression(text: str) -> CronExpression:
    """Parse five-field cron ``text``; raise :class:`CronError` saying what is wrong and the fix.

    Fields are separated by any run of :data:`~mlops_infra.spec.patterns.WHITESPACE` (the set the
    schema's ``CRON_PATTERN`` uses too; Python's ``str.split`` alone would not split at U+FEFF)."""
    return _parse(" ".join(part for part in _WHITESPACE_RUN.split(text) if part))


@lru_cache(maxsize=1024)
def _parse(text: str) -> CronExpression:
    parts = text.split(" ") if text else []
    if len(parts) != 5:
        raise CronError(f'"{_cut(text)}" has {len(parts)} field{"s" * (len(parts) != 1)}; a cron expression has '
                        'five: minute hour day-of-month month day-of-week (for example "0 3 * * 1")')
    fields = tuple(_field(part, index) for index, part in enumerate(parts))
    expression = CronExpression(text, fields)
    _check_reachable(expression)
    return expression


def _field(text: str, index: int) -> tuple[CronItem, ...]:
    rule = FIELDS[index]
    items = tuple(_item(part, rule, index) for part in text.upper().split(","))
    if not all(items) or not text:
        raise CronError(f'the {rule.name} field "{text}" has an empty item; separate values with single commas')
    return items


def _item(text: str, rule: FieldRule, index: int) -> CronItem:
    if not text:
        return None  # type: ignore[return-value]  # reported by _field
    special = _day_form(text, rule, index)
    if special is not None:
        return special
    base, slash, step_text = text.partition("/")
    step = _number(step_text, rule, "step") if slash else 1
    if slash and step < 1:
        raise CronError(f'the step in {rule.name} "{text}" is 0; a step is at least 1')
    if base in ("*", "?"):
        if base == "?" and index not in (DOM, DOW):
            raise CronError(f'"?" is only for day-of-month and day-of-week, not {rule.name}; write "*"')
        _check_step(text, step, rule.low, rule.high, rule)
        return CronItem("any", rule.low, rule.high, step, text)
    first, dash, last = base.partition("-")
    start = _value(first, rule)
    end = _value(last, rule) if dash else (rule.high if slash else start)
    if end < start and index == DOW:
        end += 7  # a weekday range across the weekend (SAT-SUN, FRI-MON): the days in between
    if end < start:
        raise CronError(f'the {rule.name} range "{base}" runs backwards; cron ranges go up (write '
                        f"{start}-{rule.high},{rule.low}-{end} to wrap around)")
    _check_step(text, step, start, end, rule)
    if index == DOW and slash and not dash and start > 0 and (rule.high - start) % step == 0:
        _refuse_open_weekday_step(text, start, step)
    return CronItem("range", start, end, step, text)


def _refuse_open_weekday_step(text: str, start: int, step: int) -> None:
    """``<day>/<step>`` in day-of-week whose count reaches 7 (``1/2``, ``2/1``, ``7/1``) means two things.

    crontab(5) (cronie, ``get_range``: a lone start with a step runs to the field's last value)
    counts on to 7, Sunday; robfig/cron, which runs Kubernetes CronJobs (parser.go ``getRange``: a
    lone start with a step ends at the field's max, 6 for ``dow``), and croniter stop at 6. So
    ``1/2`` is MON,WED,FRI,SUN to one and MON,WED,FRI to the other, and every target here would
    have to pick one silently; it is refused with the days to list instead. A count that never
    reaches 7 (``2/2``: 2,4,6) and ``0/<step>`` (Sunday either way) mean the same everywhere."""
    without = ",".join(str(d) for d in range(start, 7, step))
    if not without:  # 7/<step>: Sunday to crontab(5), beyond robfig/cron's last weekday (6)
        raise CronError(f'day-of-week "{text}" is Sunday in crontab(5) but beyond the last weekday (6) of '
                        'Kubernetes CronJobs (robfig/cron); write "0" for Sunday')
    raise CronError(f'day-of-week "{text}" counts on to 7 (Sunday) in crontab(5) but stops at 6 in Kubernetes '
                    f"CronJobs (robfig/cron) and croniter, so it runs on Sunday in one and not in the other; list the "
                    f'weekdays instead: "{without}" or "0,{without}"')


def _check_step(text: str, step: int, start: int, end: int, rule: FieldRule) -> None:
    if step > 1 and step > end - start:
        raise CronError(f'the step in {rule.name} "{text}" is larger than the range it divides ({start}-{end}), so '
                        f"it would run only at {rule.name} {start}; cron cannot say 'every {step} {rule.name}s'. "
                        "Use a smaller step or list the values")


def _day_form(text: str, rule: FieldRule, index: int) -> CronItem | None:
    """``L``, ``LW``, ``<n>W`` (day-of-month); ``L``, ``<d>L``, ``L<d>``, ``<d>#<n>`` (day-of-week)."""
    if index == DOM:
        if text == "L":
            return CronItem("last", text=text)
        if text == "LW":
            return CronItem("weekday", 0, text=text)
        if text.endswith("W") and text[:-1].isdigit():
            return CronItem("weekday", _value(text[:-1], rule), text=text)
    elif index == DOW:
        if text == "L":
            return CronItem("last", 6, text=text)  # the last day of the week: Saturday
        if len(text) > 1 and (text.startswith("L") or text.endswith("L")):
            return CronItem("last", _value(text.strip("L"), rule) % 7, text=text)
        if "#" in text:
            day, _, nth = text.partition("#")
            number = _number(nth, rule, "occurrence")
            if not 1 <= number <= 5:
                raise CronError(f'"{text}": the occurrence after # is 1 to 5 (the first to fifth such weekday)')
            return CronItem("nth", _value(day, rule) % 7, number, text=text)
    return None


def _value(text: str, rule: FieldRule) -> int:
    if rule.names and text in rule.names:
        return rule.names.index(text) + rule.name_base
    value = _number(text, rule, "value")
    if not rule.low <= value <= rule.high:
        names = f" or {rule.names[0]}-{rule.names[-1]}" if rule.names else ""
        raise CronError(f"{rule.name} {value} is out of range: {rule.name} is {rule.low}-{rule.high}{names}")
    return value


def _number(text: str, rule: FieldRule, what: str) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 3:
        raise CronError(f'"{_cut(text)}" is not a valid {rule.name} {what}: write a number from {rule.low} to '
                        f"{rule.high}" + (f" or a name such as {rule.names[0]}" if rule.names else ""))
    return int(text)


def _check_reachable(expression: CronExpression) -> None:
    """Refuse days of month that none of the chosen months has (``30 2``: February 30th)."""
    if expression.restricted(DOW) or expression.specials(DOM):
        return  # with a weekday restriction cron runs on either match; L and W always resolve
    rule = FIELDS[DOM]
    days = {v for item in expression.fields[DOM] for v in item.values(rule)}
    months = {v for item in expression.fields[MONTH] for v in item.values(FIELDS[MONTH])}
    if days and min(days) > max(MONTH_DAYS[m - 1] for m in months):
        chosen = ", ".join(MONTH_NAMES[m - 1] for m in sorted(months))
        raise CronError(f'"{expression.text}" never runs: no day {min(days)} in {chosen}; pick a day the month has')


def ambiguous_days(expression: CronExpression) -> str | None:
    """Why the day fields of ``expression`` mean different things to different crons, or None.

    crontab(5) reads a day field that starts with ``*`` (``*/2``) next to a restricted other day
    field as "both must match"; robfig/cron, which runs Kubernetes CronJobs, clears its star for a
    step above 1 (parser.go, ``getRange``: ``if step > 1 { extra = 0 }``) and reads "either"; AWS
    cron cannot say "both" at all. No target can be trusted with it, so it is refused everywhere.
    """
    dom, dow = expression.fields[DOM], expression.fields[DOW]
    dom_step = len(dom) == 1 and dom[0].kind == "any" and dom[0].step > 1
    dow_step = len(dow) == 1 and dow[0].kind == "any" and dow[0].step > 1
    if dom_step and expression.restricted(DOW):
        first, other = f'day-of-month "{dom[0].text}"', f'day-of-week "{_field_text(expression, DOW)}"'
        fix = "list the days of month explicitly (1,3,5,...) or keep only one day field"
    elif dow_step and expression.restricted(DOM):
        first, other = f'day-of-week "{dow[0].text}"', f'day-of-month "{_field_text(expression, DOM)}"'
        fix = "list the weekdays explicitly (MON,WED,FRI) or keep only one day field"
    else:
        return None
    return (f'{first} with {other} means "both" in crontab(5) but "either" on Kubernetes, and AWS schedules '
            f"cannot say \"both\"; {fix}")


def kubernetes_problem(expression: CronExpression) -> str | None:
    """Why a Kubernetes CronJob cannot run ``expression`` (robfig/cron's standard syntax), or None."""
    ambiguous = ambiguous_days(expression)
    if ambiguous:
        return ambiguous
    for index in (DOM, DOW):
        special = expression.specials(index)
        if special:
            return (f'{FIELDS[index].name} "{special[0].text}" uses {_form_name(special[0])}, which Kubernetes CronJobs '
                    "do not understand (their schedule is standard cron: numbers, names, *, -, , and /); list the "
                    "days instead, or run this job in an AWS environment")
    return None


def kubernetes_schedule(expression: CronExpression) -> str:
    """``expression`` as a Kubernetes CronJob takes it: ``?`` written ``*``, Sunday 0 (robfig/cron's
    day-of-week bounds are 0-6, so ``7`` or ``5-7`` would be refused), names in capitals, and a day
    field that restricts nothing (``*/1``, ``?/1``: :meth:`CronExpression.restricted`) written ``*``.

    The last is what every reader of the text agrees on: robfig/cron keeps a ``*`` field's star for a
    step of 1 (parser.go ``getRange``: ``if step > 1 { extra = 0 }``), so ``0 3 1 * */1`` runs on the
    1st only (spec.go ``dayMatches``: with a star, both day fields must match), as crontab(5) reads a
    field starting with ``*``; croniter, which prices the runs (plan/cost), reads ``*/1`` as a
    restriction and runs it every day (audit triggers-1)."""
    parts = []
    for index, items in enumerate(expression.fields):
        if index in (DOM, DOW) and not expression.restricted(index):
            parts.append("*")
        elif index == DOW and any(item.kind == "range" and item.end >= 7 for item in items):
            days = expression.days_of_week()
            parts.append("*" if days == set(range(7)) else ",".join(str(d) for d in sorted(days)))
        else:
            parts.append(",".join("*" + item.text[1:] if item.text.startswith("?") else item.text for item in items))
    return " ".join(parts)


def aws_problem(expression: CronExpression) -> str | None:
    """Why EventBridge Scheduler cannot run ``expression``, or None: "both" day fields
    (:func:`ambiguous_days`), or a ``#`` expression next to other weekdays (AWS takes one alone)."""
    ambiguous = ambiguous_days(expression)
    if ambiguous:
        return ambiguous
    dow = expression.fields[DOW]
    nth = [item for item in dow if item.kind == "nth"]
    if nth and len(dow) > 1:
        return (f'day-of-week "{_field_text(expression, DOW)}" combines a # expression with other days; AWS takes '
                "one # expression alone in day-of-week")
    return None


def _field_text(expression: CronExpression, index: int) -> str:
    return expression.text.split(" ")[index]


def _form_name(item: CronItem) -> str:
    return {"last": "L (last)", "weekday": "W (nearest weekday)", "nth": "# (nth weekday)"}[item.kind]


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
