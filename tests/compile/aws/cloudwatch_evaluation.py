"""CloudWatch's documented evaluation, for tests (moto evaluates neither metric math nor alarms).

- :func:`metric_math`: the compiled alarms' expression forms, ``a / b`` and ``IF(a > S, b / a, S)``,
  per period, as the CloudWatch User Guide "Use metric math" documents them
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
  arithmetic treats a missing value as 0 and drops a datapoint that divides by zero; a period where
  no input has a datapoint has none; ``IF(TS > S, x, S3)`` has ``x`` where the condition holds (0
  when ``x`` is missing), ``S3`` where it does not, and no datapoint where ``TS`` has none.
- :func:`alarm_state`: "How alarm state is evaluated when data is missing"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html): over
  the evaluation range, when at least ``EvaluationPeriods`` datapoints exist the most recent of them
  are evaluated (missing ones skipped); when fewer exist the rest are filled as ``TreatMissingData``
  says (``notBreaching`` / ``breaching``; ``missing`` and ``ignore`` only for an all-missing range,
  the documented tables' other ``missing`` rows follow no rule stated there); ALARM when at least
  ``DatapointsToAlarm`` of them breach. :func:`test_the_evaluator_reproduces_the_documented_tables`
  (test_aws_sparse_alarms.py) pins it to the two tables of that page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Series = list[float | None]

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t, "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t, "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _divide(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    a, b = a or 0.0, b or 0.0
    return None if b == 0 else a / b


def metric_math(expression: str, series: dict[str, Series]) -> Series:
    """The expression's value per period (None: no datapoint); see the module."""
    length = len(next(iter(series.values())))
    ratio = re.fullmatch(r"(\w+) / (\w+)", expression)
    if ratio:
        a, b = (series[name] for name in ratio.groups())
        return [_divide(a[t], b[t]) for t in range(length)]
    guarded = re.fullmatch(r"IF\((\w+) > ([\d.]+), (\w+) / (\w+), ([\d.]+)\)", expression)
    assert guarded, f"not an expression form this stand-in knows: {expression}"
    cond, floor, num, den, otherwise = guarded.groups()
    out: Series = []
    for t in range(length):
        if series[cond][t] is None:
            out.append(None)
        elif series[cond][t] > float(floor):
            value = _divide(series[num][t], series[den][t])
            out.append(0.0 if value is None else value)
        else:
            out.append(float(otherwise))
    return out


def alarm_state(window: Sequence[float | None], *, periods: int, to_alarm: int, threshold: float,
                comparison: str, treat_missing: str, current: str = "INSUFFICIENT_DATA") -> str:
    """The state CloudWatch sets from the evaluation range ``window`` (oldest first; see the module)."""
    breaches = COMPARE[comparison]
    real = [v for v in window if v is not None]
    if not real:
        return {"missing": "INSUFFICIENT_DATA", "ignore": current, "breaching": "ALARM", "notBreaching": "OK"}[
            treat_missing]
    if len(real) >= periods:
        evaluated = [breaches(v, threshold) for v in real[-periods:]]
    else:
        assert treat_missing in ("notBreaching", "breaching"), "partial ranges: only the documented fills"
        evaluated = [breaches(v, threshold) for v in real] + [treat_missing == "breaching"] * (periods - len(real))
    return "ALARM" if sum(evaluated) >= to_alarm else "OK"


def states(values: Series, alarm: dict, evaluation_range: int) -> list[str]:
    """The state after each period of ``values`` (one datapoint per period), ``alarm`` in Pulumi's
    inputs (``evaluationPeriods``, ``datapointsToAlarm``, ``threshold``, ``comparisonOperator``,
    ``treatMissingData``), over the last ``evaluation_range`` periods each time."""
    out, current = [], "INSUFFICIENT_DATA"
    for end in range(1, len(values) + 1):
        current = alarm_state(values[max(0, end - evaluation_range):end], periods=alarm["evaluationPeriods"],
                              to_alarm=alarm["datapointsToAlarm"], threshold=alarm["threshold"],
                              comparison=alarm["comparisonOperator"], treat_missing=alarm["treatMissingData"],
                              current=current)
        out.append(current)
    return out
