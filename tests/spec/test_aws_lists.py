"""AWS-only caps on spec lists (``spec/aws_lists.py`` ``check_aws_lists``): errors in AWS
environments, nothing on Kubernetes.

- An alert's alarm gets one action per channel: ``PutMetricAlarm`` takes at most
  :data:`~mlops_infra.spec.limits.AWS_ALARM_ACTIONS_MAX` (audit finding L6).
- An endpoint SageMaker rolls back itself gets the ``rollback_on`` alarms as
  ``AutoRollbackConfiguration.Alarms``, at most
  :data:`~mlops_infra.spec.limits.SAGEMAKER_ROLLBACK_ALARMS_MAX` (audit finding L7).
- A training job gets one ``InputDataConfig`` channel per input, at most
  :data:`~mlops_infra.spec.limits.SAGEMAKER_INPUT_CHANNELS_MAX` (audit finding L10).
"""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.limits import (
    AWS_ALARM_ACTIONS_MAX,
    SAGEMAKER_INPUT_CHANNELS_MAX,
    SAGEMAKER_ROLLBACK_ALARMS_MAX,
)
from mlops_infra.spec.serving import SAGEMAKER_ROLLED_BACK
from tests.support.text_edits import edit, line_of

ROLLOUT = ("      strategy: canary              # canary | blue_green | rolling | all_at_once\n"
           "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n"
           "      bake: 10m                     # time at each step before the next\n"
           "      rollback_on: [scorer-latency, scorer-errors]  # alerts that roll the rollout back\n")


def with_channels(text: str, count: int) -> str:
    """The reference with alert ``scorer-latency`` notifying ``count`` channels (2 + extra ones)."""
    extra = [f"team-{i}" for i in range(count - 2)]
    text = edit(text, "channels:\n", "channels:\n" + "".join(
        f"  - name: {name}\n    kind: email\n    address: {name}@example.com\n" for name in extra))
    return edit(text, "    notify: [oncall]", f"    notify: [{', '.join(['oncall', 'ml-team', *extra])}]")


def with_rollback_alerts(text: str, count: int, strategy: str) -> str:
    """The reference with endpoint ``scorer`` on ``strategy``, rolling back on ``count`` alerts."""
    extra = [f"slow-{i}" for i in range(count - 2)]
    text = edit(text, "\nchannels:\n", "".join(
        f"  - name: {name}\n    monitor: latency\n    for: 5m\n    severity: critical\n    notify: [oncall]\n"
        for name in extra) + "\nchannels:\n")
    steps = "      steps: [5, 100]\n" if strategy == "canary" else ""
    names = ", ".join(["scorer-latency", "scorer-errors", *extra])
    return edit(text, ROLLOUT, f"      strategy: {strategy}\n{steps}      rollback_on: [{names}]\n")


def errors(text: str, code: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml", env).diagnostics if d.code == code]


def test_an_alert_notifying_six_channels_is_an_error_on_aws(reference_text: str) -> None:
    text = with_channels(reference_text, AWS_ALARM_ACTIONS_MAX + 1)
    found = errors(text, "too-many-alarm-actions")
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("alerts", 1, "notify", AWS_ALARM_ACTIONS_MAX), "alerts.scorer-latency")]
    assert found[0].location.line == line_of(text, "    notify: [oncall, ml-team, team-0")
    assert found[0].summary == 'Alert "scorer-latency" notifies 6 channels; an AWS alarm takes at most 5'
    assert "(AWS)" in found[0].detail and "PutMetricAlarm" in found[0].detail and "remove 1" in found[0].detail
    assert not parse_system(text, "mlsystem.yaml", "prod").ok


def test_six_channels_are_fine_on_kubernetes(reference_text: str) -> None:
    """Alertmanager routes an alert to any number of receivers: dev (Kubernetes) stays valid."""
    text = with_channels(reference_text, AWS_ALARM_ACTIONS_MAX + 1)
    result = parse_system(text, "mlsystem.yaml", "dev")
    assert result.ok and not errors(text, "too-many-alarm-actions", "dev")


def test_five_channels_fit(reference_text: str) -> None:
    assert not errors(with_channels(reference_text, AWS_ALARM_ACTIONS_MAX), "too-many-alarm-actions")


@pytest.mark.parametrize("strategy", sorted(SAGEMAKER_ROLLED_BACK))
def test_eleven_rollback_alerts_are_an_error_where_sagemaker_rolls_back(reference_text: str, strategy: str) -> None:
    text = with_rollback_alerts(reference_text, SAGEMAKER_ROLLBACK_ALARMS_MAX + 1, strategy)
    found = errors(text, "too-many-rollback-alarms")
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("endpoints", 0, "rollout", "rollback_on", SAGEMAKER_ROLLBACK_ALARMS_MAX), "endpoints.scorer")]
    assert found[0].location.line == line_of(text, "      rollback_on: [scorer-latency")
    assert found[0].summary == 'Endpoint "scorer" rolls back on 11 alerts; SageMaker watches at most 10'
    assert f"a {strategy} rollout" in found[0].detail and "strategy: canary" in found[0].detail
    assert parse_system(text, "mlsystem.yaml", "dev").ok  # KServe on Kubernetes: no such list


def test_a_canary_reads_any_number_of_rollback_alerts(reference_text: str) -> None:
    """The canary's controller reads the alarms itself (compile/aws/serving.py): no SageMaker list."""
    text = with_rollback_alerts(reference_text, SAGEMAKER_ROLLBACK_ALARMS_MAX + 1, "canary")
    assert not errors(text, "too-many-rollback-alarms")
    assert parse_system(text, "mlsystem.yaml", "prod").ok


def test_ten_rollback_alerts_fit(reference_text: str) -> None:
    text = with_rollback_alerts(reference_text, SAGEMAKER_ROLLBACK_ALARMS_MAX, "blue_green")
    assert not errors(text, "too-many-rollback-alarms")


def with_inputs(text: str, count: int) -> str:
    """The reference with training job ``retrain`` reading ``count`` data sources (1 + extra ones)."""
    extra = [f"extra-{i:02d}" for i in range(count - 1)]
    text = edit(text, "\nclusters:\n", "\n" + "".join(
        f"  - name: {name}\n    kind: object_store\n    encryption: kms\n    retention: 90d\n" for name in extra)
        + "\nclusters:\n")
    return edit(text, "    inputs: [transactions]", f"    inputs: [{', '.join(['transactions', *extra])}]")


def test_a_job_reading_twenty_one_sources_is_an_error_on_aws(reference_text: str) -> None:
    text = with_inputs(reference_text, SAGEMAKER_INPUT_CHANNELS_MAX + 1)
    found = errors(text, "too-many-input-channels")
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("training_jobs", 0, "inputs", SAGEMAKER_INPUT_CHANNELS_MAX), "training_jobs.retrain")]
    assert found[0].location.line == line_of(text, "    inputs: [transactions, extra-00")
    assert found[0].summary == ('Training job "retrain" reads 21 data sources; a SageMaker training job takes '
                                "at most 20")
    assert "(AWS)" in found[0].detail and "InputDataConfig" in found[0].detail
    assert parse_system(text, "mlsystem.yaml", "dev").ok  # a Kubernetes training job has no such list


def test_twenty_sources_fit(reference_text: str) -> None:
    assert not errors(with_inputs(reference_text, SAGEMAKER_INPUT_CHANNELS_MAX), "too-many-input-channels")
