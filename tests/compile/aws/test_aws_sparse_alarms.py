"""AWS alarms on sparse traffic: a minute without requests is no evidence (compile/aws/monitoring.py).

The compiled alarms of the fraud-detection example's prod environment (``scorer-errors``: error rate
over 1 % for 5m; ``scorer-latency``: p99 over 250 ms for 5m) are evaluated by CloudWatch's documented
rules (tests/compile/aws/cloudwatch_evaluation.py; moto evaluates neither metric math nor alarms) over
a low-traffic endpoint: one request every 75 s (2 % of 40 a minute), so four minutes in five have a
request. CloudWatch's evaluation range is longer than the evaluation periods (5 datapoints for 3 in the
documented example); these tests take evaluation periods + 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.compile.aws.cloudwatch_evaluation import Series, alarm_state, metric_math, states

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fraud-detection" / "mlsystem.yaml"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GAP = 75
MINUTES = 30
BEFORE = "IF(invocations > 0, errors / invocations, 0)"
"""The error-rate expression before: 0 in a minute without traffic."""


def _alarms() -> dict[str, dict]:
    graph = compile_system(load_system(EXAMPLE, "prod").system, "prod")
    return {r.address.split(".", 1)[1]: r.inputs for r in graph.resources
            if r.type == ALARM and r.address in ("alerts.scorer-errors", "alerts.scorer-latency")}


def _requests_per_minute(gap: int = GAP, minutes: int = MINUTES, last: int | None = None) -> list[int]:
    """Requests in each minute when one arrives every ``gap`` seconds (the first at 0; none after ``last``)."""
    times = [t for t in range(0, minutes * 60, gap) if last is None or t <= last]
    return [sum(60 * m <= t < 60 * (m + 1) for t in times) for m in range(minutes)]


def _sums(counts: list[int], share: float, zeros: bool) -> dict[str, Series]:
    """Per-minute Sum of Invocations and Invocation5XXErrors; a minute without requests publishes 0
    (``zeros``) or nothing."""
    def one(n: float) -> float | None:
        return float(n) if n or zeros else None
    return {"invocations": [one(n) for n in counts], "errors": [one(n * share) if n else one(0) for n in counts]}


def _compiled_expression() -> str:
    [expression] = [q["expression"] for q in _alarms()["scorer-errors"]["metricQueries"] if "expression" in q]
    return expression


def _error_states(expression: str, counts: list[int], share: float, zeros: bool) -> list[str]:
    alarm = _alarms()["scorer-errors"]
    values = metric_math(expression, _sums(counts, share, zeros))
    return states(values, alarm, alarm["evaluationPeriods"] + 2)


def test_the_evaluator_reproduces_the_documented_tables() -> None:
    """The two tables of "How alarm state is evaluated when data is missing" (3 of 3, then 2 of 3; the
    ``missing`` column where the page states its rule: enough real datapoints, or none)."""
    x, o, _ = 2.0, 0.0, None
    rows = [  # (datapoints, to_alarm, MISSING or None, BREACHING, NOT BREACHING)
        ([o, _, x, _, x], 3, "OK", "OK", "OK"), ([o, _, _, _, _], 3, None, "OK", "OK"),
        ([_, _, _, _, _], 3, "INSUFFICIENT_DATA", "ALARM", "OK"), ([o, x, x, _, x], 3, "ALARM", "ALARM", "ALARM"),
        ([_, _, _, _, x], 3, None, "ALARM", "OK"), ([x, _, _, _, _], 3, None, "ALARM", "OK"),
        ([o, _, x, _, x], 2, "ALARM", "ALARM", "ALARM"), ([o, o, x, o, x], 2, "ALARM", "ALARM", "ALARM"),
        ([o, _, x, _, _], 2, None, "ALARM", "OK"), ([_, _, _, _, o], 2, None, "ALARM", "OK"),
        ([_, _, _, _, x], 2, None, "ALARM", "OK")]
    for window, to_alarm, missing, breaching, not_breaching in rows:
        def state(treat: str, window=window, to_alarm=to_alarm) -> str:
            return alarm_state(window, periods=3, to_alarm=to_alarm, threshold=1.0,
                               comparison="GreaterThanThreshold", treat_missing=treat)
        assert (state("breaching"), state("notBreaching")) == (breaching, not_breaching), window
        if missing:
            assert state("missing") == missing, window
    assert metric_math("IF(m > 0, n / m, 5)", {"m": [1.0, 0.0, None], "n": [None, 3.0, 3.0]}) == [0.0, 5.0, None]
    assert metric_math("n / m", {"m": [2.0, 0.0, None, None], "n": [1.0, 1.0, 1.0, None]}) == [0.5, None, None, None]


@pytest.mark.parametrize("zeros", [True, False], ids=["silent-minutes-publish-0", "silent-minutes-publish-nothing"])
def test_a_low_traffic_endpoint_failing_every_request_goes_to_alarm_within_for_plus_the_gap(zeros: bool) -> None:
    """Before, a minute without traffic read 0 (a real datapoint that does not breach), so when SageMaker
    publishes 0 for it the 5-of-5 alarm never saw five breaching minutes in a row."""
    counts = _requests_per_minute()
    assert counts[:5] == [1, 1, 1, 1, 0]  # four minutes in five have a request
    seen = _error_states(_compiled_expression(), counts, 1.0, zeros)
    assert "ALARM" in seen, seen
    first = seen.index("ALARM")
    assert 5 - 1 <= first <= 5 - 1 + 2  # 5m of breaching minutes, plus the silent one(s) between
    assert set(seen[first:]) == {"ALARM"}  # the silent minutes do not break it
    alarm = _alarms()["scorer-errors"]
    assert _compiled_expression() == "errors / invocations"
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"], alarm["treatMissingData"]) == (5, 5, "notBreaching")


def test_a_healthy_low_traffic_endpoint_and_one_failed_request_stay_ok() -> None:
    counts = _requests_per_minute()
    for zeros in (True, False):
        assert set(_error_states(_compiled_expression(), counts, 0.0, zeros)) == {"OK"}
        lone = _requests_per_minute(last=0)  # one request, failed, then silence
        assert lone[:2] == [1, 0]
        assert set(_error_states(_compiled_expression(), lone, 1.0, zeros)) == {"OK"}


def test_dense_traffic_reads_and_alarms_exactly_as_before() -> None:
    counts = [40] * MINUTES
    for share in (0.0, 0.05):
        sums = _sums(counts, share, zeros=True)
        assert metric_math(_compiled_expression(), sums) == metric_math(BEFORE, sums)
        assert _error_states(_compiled_expression(), counts, share, True) == _error_states(BEFORE, counts, share, True)
    assert _error_states(_compiled_expression(), counts, 0.05, True).index("ALARM") == 4  # the fifth minute


def test_latency_of_a_low_traffic_endpoint_answering_slowly_goes_to_alarm() -> None:
    """``ModelLatency`` has no datapoint in a minute without invocations: the p99 alarm skips it too."""
    alarm = _alarms()["scorer-latency"]
    assert (alarm["metricName"], alarm["extendedStatistic"], alarm["treatMissingData"]) == (
        "ModelLatency", "p99", "notBreaching")
    assert "evaluateLowSampleCountPercentiles" not in alarm  # a p99 of one request is evaluated (the default)
    slow = [1_500_000.0 if n else None for n in _requests_per_minute()]
    seen = states(slow, alarm, alarm["evaluationPeriods"] + 2)
    assert "ALARM" in seen and set(seen[seen.index("ALARM"):]) == {"ALARM"}
    fast = [40_000.0 if n else None for n in _requests_per_minute()]
    assert set(states(fast, alarm, alarm["evaluationPeriods"] + 2)) == {"OK"}
