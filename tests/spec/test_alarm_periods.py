"""alert-for-too-long: on AWS an alert's ``for`` longer than its monitor's CloudWatch alarm can evaluate is an
error (audit limits-5; spec/alarm_periods.py says why), and the compiler's alarms use the spec's one rule.

The reference document's dev environment is Kubernetes, staging and prod AWS; its latency and error-rate alerts
have ``for: 5m`` (1-minute periods: at most 24h on AWS), its drift alert ``for: 2h`` on a 1h schedule (1-hour
periods: at most 7d).
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system, parse_system
from mlops_infra.spec.alarm_periods import (
    ENDPOINT_ALARM_PERIOD,
    alarm_period,
    evaluation_periods,
    evaluation_range,
    longest_for,
)
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

CODE = "alert-for-too-long"
LATENCY_FOR = "    monitor: latency\n    for: 5m"
DRIFT_FOR = "    monitor: drift\n    for: 2h"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == CODE]


def _latency_for(text: str, value: str) -> str:
    return edit(text, LATENCY_FOR, f"    monitor: latency\n    for: {value}")


def test_the_reference_fits() -> None:
    from tests.support.shared_files import REFERENCE

    assert _found(Path(REFERENCE).read_text()) == []


def test_the_ranges_are_cloudwatchs() -> None:
    """botocore cloudwatch ``PutMetricAlarmInput.Period``: one day under an hour, seven days from an hour on."""
    assert (evaluation_range(60), evaluation_range(3540), evaluation_range(3600), evaluation_range(86400)) == \
        (86400, 86400, 604800, 604800)
    assert (longest_for(60), longest_for(3600), longest_for(7000)) == (86400, 604800, 86 * 7000)


def test_a_36h_latency_alert_is_an_error_in_each_aws_environment_at_its_for(reference_text: str,
                                                                             tmp_path: Path) -> None:
    text = _latency_for(reference_text, "36h")
    found = _found(text)
    assert [d.summary.rsplit("; ", 1)[1] for d in found] == ["environment prod)", "environment staging)"]  # not dev
    d = found[0]
    assert d.severity == "error" and d.path == ("alerts", 1, "for") and d.address == "alerts.scorer-latency"
    assert d.summary == ('Alert "scorer-latency" has for 36h, longer than CloudWatch can wait on monitor "latency" '
                         "(at most 24h; environment prod)")
    assert d.detail.startswith("In environment prod (AWS) the alert is a CloudWatch alarm over 1-minute periods "
                               "(latency_p99)")
    assert "fire once the condition has held for 24h, not 36h" in d.detail
    assert d.detail.endswith("Set its for to at most 24h.")
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec))
    assert result.code == 1 and "Traceback" not in result.output
    line = line_of(text, "    for: 36h")
    assert f"{spec}:{line}:10: error: Alert \"scorer-latency\" has for 36h" in result.stderr
    assert "Set its for to at most 24h." in result.stderr


def test_kubernetes_accepts_it(reference_text: str) -> None:
    """dev (Kubernetes: a Prometheus rule's ``for:``, no such bound) validates; only AWS refuses."""
    text = _latency_for(reference_text, "36h")
    dev = parse_system(text, env="dev")
    assert dev.ok and [d for d in dev.diagnostics if d.code == CODE] == []
    assert not parse_system(text, env="prod").ok


def test_the_longest_for_fits_and_one_minute_more_does_not(reference_text: str) -> None:
    assert _found(_latency_for(reference_text, "24h")) == []
    assert _found(_latency_for(reference_text, "1440m")) == []
    assert len(_found(_latency_for(reference_text, "1441m"))) == 2
    assert len(_found(_latency_for(reference_text, "86401s"))) == 2  # one more period: 24h1m


def test_an_override_in_prod_is_reported_at_the_override(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.replicas: {min: 3, max: 20}",
                "      endpoints.scorer.replicas: {min: 3, max: 20}\n      alerts.scorer-latency.for: 2d")
    [d] = _found(text)
    assert d.summary.endswith("(at most 24h; environment prod)")
    assert d.path[:3] == ("environments", "prod", "overrides")


def test_a_drift_alert_is_bounded_by_its_schedules_period(reference_text: str) -> None:
    [d, _] = _found(edit(reference_text, DRIFT_FOR, "    monitor: drift\n    for: 10d"))
    assert d.path == ("alerts", 0, "for")
    assert d.summary.endswith('monitor "drift" (at most 7d; environment prod)')
    assert "periods of 1h (feature_drift, its schedule: 1h)" in d.detail
    assert _found(edit(reference_text, DRIFT_FOR, "    monitor: drift\n    for: 7d")) == []
    # a 30-minute schedule: 30-minute periods, one day at most, and the schedule named as the other fix
    short = edit(reference_text, "    schedule: 1h", "    schedule: 30m")
    assert _found(edit(short, DRIFT_FOR, "    monitor: drift\n    for: 24h")) == []
    [d, _] = _found(edit(short, DRIFT_FOR, "    monitor: drift\n    for: 25h"))
    assert d.summary.endswith("(at most 24h; environment prod)")
    assert d.detail.endswith('Set its for to at most 24h, or give monitor "drift" a schedule of 1h or more '
                             "(its alarm's range is then seven days).")


def test_an_unknown_monitor_is_not_checked_twice(reference_text: str) -> None:
    text = edit(reference_text, LATENCY_FOR, "    monitor: latenzy\n    for: 36h")
    assert _found(text) == []


def _alarm_period(inputs: dict) -> int:
    if "period" in inputs:
        return inputs["period"]
    [returned] = [q for q in inputs["metricQueries"] if q.get("returnData")]
    assert "expression" in returned
    periods = {q["metric"]["period"] for q in inputs["metricQueries"] if "metric" in q}
    [period] = periods
    return period


def test_the_compiled_alarms_use_the_spec_rule(reference_text: str, tmp_path: Path) -> None:
    """Each alert's alarm in prod: the period :func:`alarm_period` says, and evaluation periods covering ``for``
    exactly up to the longest ``for`` validate allows (so nothing valid is clamped)."""
    text = _latency_for(reference_text, "24h")
    text = edit(text, DRIFT_FOR, "    monitor: drift\n    for: 7d")
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    loaded = load_system(spec, "prod")
    assert loaded.ok, loaded.diagnostics
    graph = compile_system(loaded.system, "prod")
    alarms = {r.address: r.inputs for r in graph.resources if r.type == ALARM and r.role == "alarm"}
    assert sorted(alarms) == ["alerts.fraud-drift", "alerts.scorer-errors", "alerts.scorer-latency"]
    for alert in loaded.system.alerts:
        inputs = alarms[f"alerts.{alert.name}"]
        period = alarm_period(loaded.system.item("monitors", alert.monitor))
        assert _alarm_period(inputs) == period
        assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == evaluation_periods(
            period, alert.for_.seconds) == -(-alert.for_.seconds // period)
    assert alarms["alerts.scorer-latency"]["evaluationPeriods"] * ENDPOINT_ALARM_PERIOD == longest_for(60) == 86400
    assert alarms["alerts.fraud-drift"]["evaluationPeriods"] == 168
