"""Typed scalars of the spec language: durations, thresholds with units, cron expressions.

Each type validates the text the user wrote, keeps it (so round trips and messages show what was
written) and exposes the parsed value. Each publishes a JSON Schema with a pattern and an example
so editors can check it as the user types.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from mlops_infra.spec.cron import CronExpression, parse_cron_expression
from mlops_infra.spec.limits import MAX_DURATION_DIGITS, MAX_DURATION_SECONDS
from mlops_infra.spec.patterns import WHITESPACE

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"([0-9]+)(s|m|h|d|w)")
DURATION_PATTERN = r"^0*[1-9][0-9]*(s|m|h|d|w)$"
"""The JSON Schema twin of the parser: a positive whole number and a unit."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration written as ``<integer><unit>`` with unit s, m, h, d or w (``10m``, ``400d``)."""

    text: str
    seconds: int

    def __str__(self) -> str:
        return self.text


def parse_duration(value: Any) -> Duration:
    """Parse ``10m``-style text; raise ValueError with a fix hint otherwise."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"expected a duration such as 30s, 10m, 6h or 90d, got {_repr(value)}; write the unit after the number"
        )
    return _duration_from_text(value)


@lru_cache(maxsize=4096)
def _duration_from_text(value: str) -> Duration:
    """Parse duration text; cached because large documents repeat the same few durations."""
    match = _DURATION_RE.fullmatch(value)
    if not match:
        raise ValueError(
            f'"{_shown(value)}" is not a duration; write a whole number and a unit s, m, h, d or w (for example '
            "10m, 6h, 90d)"
        )
    digits = match.group(1).lstrip("0")
    if not digits:
        raise ValueError(f'"{value}" is zero; a duration must be positive')
    seconds = int(digits) * _DURATION_UNITS[match.group(2)] if len(digits) <= MAX_DURATION_DIGITS else None
    if seconds is None or seconds > MAX_DURATION_SECONDS:
        raise ValueError(f'"{_shown(value)}" is too long; a duration is at most {MAX_DURATION_SECONDS:,} seconds '
                         f"(about {MAX_DURATION_SECONDS // (365 * 86400)} years, the largest the targets store)")
    return Duration(value, seconds)


def _shown(text: str, limit: int = 40) -> str:
    """``text`` for a message, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}..."


def _repr(value: Any) -> str:
    """A short representation of any parsed YAML value (a 5,000-digit number has no ``repr``)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return _shown(repr(value))


DurationField = Annotated[
    Duration,
    PlainValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),  # examples: per field (each valid there)
]

_QUANTITY_RE = re.compile(rf"(-?[0-9]+(?:\.[0-9]+)?)[{WHITESPACE}]*(ms|s|m|h|%)?")
QUANTITY_PATTERN = rf"^-?[0-9]+(\.[0-9]+)?[{WHITESPACE}]*(ms|s|m|h|%)?$"
_TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A threshold: a plain number, a time (``250ms``, ``4s``) or a percentage (``1%``).

    ``unit`` is '' for plain numbers, 'ms'/'s'/'m'/'h' for times and '%' for percentages.
    """

    text: str
    value: float
    unit: str

    @property
    def is_time(self) -> bool:
        return self.unit in _TIME_UNITS

    @property
    def is_percent(self) -> bool:
        return self.unit == "%"

    @property
    def seconds(self) -> float:
        """The value in seconds (only for times)."""
        return self.value * _TIME_UNITS[self.unit]

    @property
    def milliseconds(self) -> float:
        return self.seconds * 1000.0

    @property
    def fraction(self) -> float:
        """A percentage as a fraction (1% -> 0.01); plain numbers as they are."""
        return self.value / 100.0 if self.is_percent else self.value

    def __str__(self) -> str:
        return self.text


def parse_quantity(value: Any) -> Quantity:
    """Parse a threshold: number, ``250ms``, ``4s``, ``1%``; raise ValueError with a hint otherwise."""
    if isinstance(value, Quantity):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a number, a time (250ms) or a percentage (1%), got {value!r}")
    if isinstance(value, int | float):
        number = _finite(value)
        return Quantity(repr(value) if isinstance(value, float) else str(value), number, "")
    if isinstance(value, str):
        return _quantity_from_text(value)
    raise ValueError(f"expected a number, a time (250ms) or a percentage (1%), got {_repr(value)}")


def _finite(value: float | int | str) -> float:
    """``value`` as a finite float; NaN, infinity and numbers past the float range are refused."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError("a threshold must be a finite number; NaN, infinity and numbers beyond 1.8e308 "
                         "reach no target (CloudWatch and Prometheus compare finite doubles)")
    return number


@lru_cache(maxsize=4096)
def _quantity_from_text(value: str) -> Quantity:
    match = _QUANTITY_RE.fullmatch(value)
    if match:
        return Quantity(value, _finite(match.group(1)), match.group(2) or "")
    raise ValueError(
        f'"{_shown(value)}" is not a threshold; write a number (0.2), a time with ms, s, m or h (250ms) '
        "or a percentage (1%)"
    )


QuantityField = Annotated[
    Quantity,
    PlainValidator(parse_quantity),
    PlainSerializer(lambda q: q.value if q.unit == "" else q.text),
    WithJsonSchema({
        "oneOf": [{"type": "number"}, {"type": "string", "pattern": QUANTITY_PATTERN}],
        "examples": [0.2, "250ms", "1%"],
    }),
]


CRON_PATTERN = rf"^[{WHITESPACE}]*[^{WHITESPACE}]+([{WHITESPACE}]+[^{WHITESPACE}]+){{4}}[{WHITESPACE}]*$"
"""Five whitespace-separated fields (what JSON Schema can check of a cron expression), whitespace
as :func:`~mlops_infra.spec.cron.parse_cron_expression` splits on it."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A five-field cron expression, evaluated in UTC (``0 3 * * 1``), and its parsed fields."""

    text: str
    expression: CronExpression

    def __str__(self) -> str:
        return self.text


def parse_cron(value: Any) -> Cron:
    """Validate a five-field cron expression (:mod:`mlops_infra.spec.cron`); raise ValueError with a hint."""
    if isinstance(value, Cron):
        return value
    if not isinstance(value, str):
        raise ValueError(f'expected a cron expression in quotes such as "0 3 * * 1", got {_repr(value)}')
    return _cron_from_text(value)


@lru_cache(maxsize=1024)
def _cron_from_text(value: str) -> Cron:
    expression = parse_cron_expression(value)  # CronError is a ValueError: pydantic reports it
    return Cron(expression.text, expression)


CronField = Annotated[
    Cron,
    PlainValidator(parse_cron),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": CRON_PATTERN, "description": "Five-field cron expression, UTC",
                    "examples": ["0 3 * * 1"]}),
]
