"""The rate expression the compiler writes is read back by the one parser beside it (plan/quotas reads the compiled
schedules with it): every interval round-trips to the minutes EventBridge runs it at."""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws.schedules import minutes_of_rate, rate_expression, rate_minutes


@pytest.mark.parametrize("seconds", [1, 30, 59, 60, 61, 90, 3600, 5400, 7200, 86400, 90000, 604800])
def test_written_rates_read_back(seconds: int) -> None:
    assert minutes_of_rate(rate_expression(seconds)) == rate_minutes(seconds)


def test_other_expressions_are_not_rates() -> None:
    assert minutes_of_rate("cron(0 3 * * ? *)") is None
    assert minutes_of_rate("rate(2 hours)") == 120 and minutes_of_rate(" rate(1 day) ") == 1440
