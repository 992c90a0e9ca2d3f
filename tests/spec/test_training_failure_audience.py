"""Who hears that a training run failed, and the warning when nobody would (spec/training_failures.py)."""

from __future__ import annotations

from mlops_infra.spec import parse_system
from mlops_infra.spec.training_failures import (
    EVENTBRIDGE_TARGETS_MAX,
    aws_training_failure_audience,
    training_failure_audience,
)
from tests.support.cli import run_cli
from tests.support.kube_cases import REFERENCE

BASE = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: trains, owner: a@example.com}
clusters:
  - {name: gpu, accelerator: {type: T4, count: 1}, nodes: {min: 0, max: 2}, spot: false}
endpoints:
  - name: scorer
    model: {name: m, version: 1}
    accelerator: {type: T4, count: 1}
    replicas: {min: 1, max: 1}
models:
  - {name: m, framework: sklearn}
monitors:
  - {name: latency, endpoint: scorer, metric: latency_p99, threshold: 250ms}
alerts:
  - {name: slow, monitor: latency, for: 5m, severity: warning, notify: [team]}
channels:
  - {name: team, kind: email, address: team@example.com}
  - {name: owners, kind: email, address: owners@example.com}
training_jobs:
  - name: nightly
    cluster: gpu
    image: registry.example.com/train:1.0
    triggers: {schedule: "0 3 * * *"}
environments:
  dev:
    target: {kind: kubernetes, context: kind, namespace: trains-dev}
"""


def _findings(tmp_path, text: str) -> tuple[int, str]:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(text)
    result = run_cli("validate", str(path))
    return result.code, result.output


def _job(text: str):
    system = parse_system(text, "mlsystem.yaml", "dev").system
    return system, system.item("training_jobs", "nightly")


def test_a_scheduled_job_nobody_hears_is_warned_about(tmp_path) -> None:
    code, output = _findings(tmp_path, BASE)
    assert code == 0 and 'Nobody would hear that a scheduled run of training job "nightly" failed' in output, output
    assert "Add notify: [<channel>] to the job." in output


def test_notify_or_on_alerts_channels_hear_it_and_nothing_is_warned(tmp_path) -> None:
    told = BASE.replace('    triggers: {schedule: "0 3 * * *"}\n',
                        '    triggers: {schedule: "0 3 * * *", on_alerts: [slow]}\n    notify: [owners]\n')
    system, job = _job(told)
    assert training_failure_audience(system, job) == ["owners", "team"]  # notify first, then on_alerts'
    _, output = _findings(tmp_path, told)
    assert "Nobody would hear" not in output, output
    by_hand = BASE.replace('    triggers: {schedule: "0 3 * * *"}\n', "")
    _, output = _findings(tmp_path, by_hand)
    assert "Nobody would hear" not in output, output  # a job run by hand: whoever starts it watches it


def test_an_unknown_notify_channel_is_an_error(tmp_path) -> None:
    code, output = _findings(tmp_path, BASE.replace('    triggers: {schedule: "0 3 * * *"}\n',
                                                     '    triggers: {schedule: "0 3 * * *"}\n    notify: [nobody]\n'))
    assert code == 1
    assert 'Unknown channel "nobody"' in output and "notify" in output


def test_aws_tells_at_most_five_channels_and_warns_of_the_rest(tmp_path) -> None:
    channels = "".join(f"  - {{name: c{i}, kind: email, address: c{i}@example.com}}\n" for i in range(7))
    text = BASE.replace("  - {name: team, kind: email, address: team@example.com}\n", channels + "  - {name: team, kind: email, address: team@example.com}\n")
    text = text.replace('    triggers: {schedule: "0 3 * * *"}\n',
                        '    triggers: {schedule: "0 3 * * *"}\n    notify: [c0, c1, c2, c3, c4, c5, c6]\n')
    system, job = _job(text)
    assert aws_training_failure_audience(system, job) == ["c0", "c1", "c2", "c3", "c4"][:EVENTBRIDGE_TARGETS_MAX]
    _, output = _findings(tmp_path, text)
    assert "Only 5 of the 7 channels" not in output  # no AWS environment
    aws = text + '  prod:\n    target: {kind: aws, region: us-east-1, account: "111111111111"}\n'
    _, output = _findings(tmp_path, aws)
    assert 'Only 5 of the 7 channels of training job "nightly" hear that a run failed on AWS' in output, output
    assert "c5, c6 would not be told" in output


def test_the_reference_is_not_warned() -> None:
    result = run_cli("validate", str(REFERENCE))
    assert "Nobody would hear that a scheduled run" not in result.output
