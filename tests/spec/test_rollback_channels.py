"""A canary's rollback notice is one CloudWatch alarm on AWS whose actions are the union of the channels its
``rollback_on`` alerts notify (``spec/alerting.py`` ``rollback_channels``; compile/aws/alerting.py
``compile_rollback_alarm``): ``PutMetricAlarm`` takes at most 5 actions, so a union over 5 is the
``too-many-alarm-actions`` error at the endpoint's ``rollback_on``, in AWS environments only."""

from __future__ import annotations

from mlops_infra.spec import parse_system
from mlops_infra.spec.alerting import rollback_channels
from mlops_infra.spec.limits import AWS_ALARM_ACTIONS_MAX
from tests.support.text_edits import edit, line_of


def spread(text: str, count: int) -> str:
    """The reference with ``count`` channels in all: scorer-latency notifies oncall and half the new ones,
    scorer-errors ml-team and the rest (each alert within 5)."""
    extra = [f"team-{i}" for i in range(count - 2)]
    half = len(extra) // 2
    text = edit(text, "channels:\n", "channels:\n" + "".join(
        f"  - name: {name}\n    kind: email\n    address: {name}@example.com\n" for name in extra))
    text = edit(text, "    severity: critical\n    notify: [oncall]\n  - name: scorer-errors",
                f"    severity: critical\n    notify: [{', '.join(['oncall', *extra[:half]])}]\n  - name: scorer-errors")
    return edit(text, "    severity: critical\n    notify: [oncall]\n\nchannels:",
                f"    severity: critical\n    notify: [{', '.join(['ml-team', *extra[half:]])}]\n\nchannels:")


def errors(text: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml", env).diagnostics if d.code == "too-many-alarm-actions"]


def test_six_rollback_channels_of_a_canary_are_an_error_on_aws(reference_text: str) -> None:
    text = spread(reference_text, AWS_ALARM_ACTIONS_MAX + 1)
    system = parse_system(text, "mlsystem.yaml", "dev").system
    assert len(rollback_channels(system, system.item("endpoints", "scorer"))) == 6
    found = errors(text)
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("endpoints", 0, "rollout", "rollback_on"), "endpoints.scorer")]
    assert found[0].location.line == line_of(text, "      rollback_on: [scorer-latency")
    assert found[0].summary == 'Endpoint "scorer" tells 6 channels of a rollback; an AWS alarm takes at most 5'
    assert "PutMetricAlarm" in found[0].detail and "ml-team, oncall, team-0" in found[0].detail
    assert not parse_system(text, "mlsystem.yaml", "prod").ok
    assert parse_system(text, "mlsystem.yaml", "dev").ok  # Alertmanager routes to any number of receivers


def test_five_rollback_channels_fit(reference_text: str) -> None:
    assert not errors(spread(reference_text, AWS_ALARM_ACTIONS_MAX))
    assert errors(spread(reference_text, AWS_ALARM_ACTIONS_MAX + 1))


def test_the_reference_tells_its_oncall_channel(reference_text: str) -> None:
    system = parse_system(reference_text, "mlsystem.yaml", "prod").system
    assert rollback_channels(system, system.item("endpoints", "scorer")) == ["oncall"]


def test_the_severity_order_is_the_alert_model_s_and_a_notice_takes_the_highest(reference_text: str) -> None:
    """One order of severities (``spec/alerting.SEVERITIES``) for both targets' rollback notices: it lists
    exactly the values ``Alert.severity`` takes, least to most severe; a notice takes the highest of the
    endpoint's rollback_on alerts."""
    from typing import get_args

    from mlops_infra.spec.alerting import SEVERITIES, Alert, rollback_severity

    assert set(get_args(Alert.model_fields["severity"].annotation)) == set(SEVERITIES)
    assert SEVERITIES == ("info", "warning", "critical")
    system = parse_system(reference_text, "mlsystem.yaml", "dev").system
    assert rollback_severity(system, system.item("endpoints", "scorer")) == "critical"
    text = edit(reference_text, "    severity: critical\n    notify: [oncall]\n  - name: scorer-errors",
                "    severity: warning\n    notify: [oncall]\n  - name: scorer-errors")
    text = edit(text, "    severity: critical\n    notify: [oncall]\n\nchannels:", "    severity: info\n    notify: [oncall]\n\nchannels:")
    system = parse_system(text, "mlsystem.yaml", "dev").system
    assert rollback_severity(system, system.item("endpoints", "scorer")) == "warning"
