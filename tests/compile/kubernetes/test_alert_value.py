"""A Kubernetes monitor alert's description carries the value it fired on, in the monitor's unit (audit observe-4).

- Every compiled monitor alert (``alert-<name>`` PrometheusRules) of every Kubernetes environment of
  the reference document, the examples and the variety document writes ``$value`` in its description
  with the Prometheus template function of its threshold's unit; its ``summary`` stays fixed text.
- ``alert_value.render_value`` writes what Prometheus v2.42.0 writes: the expected outputs are
  those of Prometheus' own ``template/template_test.go`` at v2.42.0 (``humanizeDuration``,
  ``humanizePercentage``) and of Go's ``%.4g``. The live test (tests/monitoring/test_alert_values_live.py)
  and the generated promtool tests (tests/compile/kubernetes/test_rule_tests.py) check it against
  Prometheus itself.
"""

from __future__ import annotations

import math

import pytest

from mlops_infra.compile.kubernetes import alert_value
from mlops_infra.spec.monitoring import Monitor
from mlops_infra.spec.quantities import parse_quantity
from tests.support.kube_cases import CASE_IDS, graph_of, system_of

FUNCTION = {"latency_p99": "humanizeDuration", "error_rate%": "humanizePercentage", "error_rate": 'printf "%.4g"',
            "feature_drift": 'printf "%.4g"', "prediction_drift": 'printf "%.4g"', "data_quality": 'printf "%.4g"',
            "accuracy": 'printf "%.4g"'}
"""Metric (``%``: with a percentage threshold) -> the template function writing its value."""


def _monitor_alerts(case_id: str) -> list[dict]:
    return [rule for r in graph_of(case_id).resources if r.type.endswith(":PrometheusRule")
            and r.inputs["metadata"]["name"].startswith("alert-")
            for g in r.inputs["spec"]["groups"] for rule in g["rules"]]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_every_monitor_alert_writes_its_value_in_its_unit(case_id: str) -> None:
    system = system_of(case_id)
    rules = _monitor_alerts(case_id)
    assert sorted(r["alert"] for r in rules) == sorted(a.name for a in system.alerts)
    for rule in rules:
        alert = system.item("alerts", rule["alert"])
        monitor = system.item("monitors", alert.monitor)
        key = monitor.metric + ("%" if monitor.threshold.is_percent else "")
        description = rule["annotations"]["description"]
        assert description == (f"Monitor {monitor.name} ({monitor.metric}) has crossed its threshold "
                                f"{monitor.threshold.text} for {alert.for_.text} "
                                f"(now {{{{ $value | {FUNCTION[key]} }}}})."), rule["alert"]
        assert "$value" in description and "{{" not in rule["annotations"]["summary"], rule["alert"]


def _monitor(metric: str, threshold: str) -> Monitor:
    return Monitor(name="m", endpoint="e", metric=metric, threshold=parse_quantity(threshold))


@pytest.mark.parametrize(("value", "text"), [
    # template_test.go v2.42.0, "HumanizeDuration - seconds - float64" and "- fractional seconds - float64"
    (0, "0s"), (1, "1s"), (60, "1m 0s"), (3600, "1h 0m 0s"), (86400, "1d 0h 0m 0s"), (86400 + 3600, "1d 1h 0m 0s"),
    (-(86400 * 2 + 3600 * 3 + 60 * 4 + 5), "-2d 3h 4m 5s"), (899.99, "14m 59s"),
    (.1, "100ms"), (.0001, "100us"), (.12345, "123.5ms"), (60.1, "1m 0s"), (60.5, "1m 0s"), (1.2345, "1.234s"),
    (12.345, "12.35s"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
    # a p99 the recording rule gives in seconds
    (0.4916666666666667, "491.7ms"), (0.2995, "299.5ms"),
])
def test_latency_is_written_as_humanize_duration_writes_it(value: float, text: str) -> None:
    assert alert_value.render_value(_monitor("latency_p99", "250ms"), value) == text


@pytest.mark.parametrize(("value", "text"), [
    # template_test.go v2.42.0, "HumanizePercentage - model.SampleValue input - float64"
    (-0.22222, "-22.22%"), (0.0, "0%"), (0.1234567, "12.35%"), (1.23456, "123.5%"),
    (0.03, "3%"), (1.0, "100%"), (0.019925, "1.992%"),
])
def test_an_error_rate_with_a_percentage_threshold_is_a_percentage(value: float, text: str) -> None:
    assert alert_value.render_value(_monitor("error_rate", "1%"), value) == text


@pytest.mark.parametrize(("metric", "threshold", "value", "text"), [
    ("error_rate", "0.01", 0.03, "0.03"), ("feature_drift", "0.2", 0.4321, "0.4321"),
    ("accuracy", "0.9", 0.45, "0.45"), ("data_quality", "0.05", 0.525, "0.525"),
    ("prediction_drift", "0.3", 0.123456, "0.1235"), ("feature_drift", "0.2", 0.00001234, "1.234e-05"),
])
def test_plain_numbers_are_written_with_four_significant_digits(metric: str, threshold: str, value: float,
                                                                 text: str) -> None:
    """``printf "%.4g"`` is Go's ``fmt.Sprintf``: a score, not ``humanize``'s ``432.1m``."""
    assert alert_value.render_value(_monitor(metric, threshold), value) == text
