"""``promote`` into prod (staging -> prod, AWS to AWS, another account and region): gates, skips, the
release record, and ``releases``."""

from __future__ import annotations

import json

import pytest

from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import DIGEST_V14, prod_view, promoted_to_staging, write_view

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url


def test_failed_gates_refuse_and_leave_the_file_byte_identical(tmp_path):
    file, registries = promoted_to_staging(tmp_path)
    before = file.read_bytes()
    # the preview evaluates the gates too: a version not registered in prod fails model_approved
    result = run_cli("promote", str(file), "--to", "prod", *registries)
    assert result.code == 1, result.output
    assert "FAIL    model_approved: 1 pinned version(s) not Approved in prod's registry" in result.stdout
    assert "fraud-model v1 (" + DIGEST_V14 + ") is not registered in group fraud-detection-prod-fraud-model" in result.stdout
    assert "FAIL    no_drift: cannot be evaluated: no applied state of staging was found" in result.stdout
    assert "PASS    progressive_rollout" in result.stdout and "PASS    alerts_routed" in result.stdout
    assert "the promotion into prod is refused: gate(s) failed: model_approved, no_drift" in result.stderr
    # --write (the artifact steps have registered it, pending approval, as v1): the gates refuse the write
    write_view(tmp_path / "registry-prod.json", prod_view({1: DIGEST_V14}, approval="PendingManualApproval"))
    result = run_cli("promote", str(file), "--to", "prod", "--write", *registries)
    assert result.code == 1, result.output
    assert "FAIL    model_approved: 1 pinned version(s) not Approved in prod's registry" in result.stdout
    assert "FAIL    no_drift: cannot be evaluated: no applied state of staging was found" in result.stdout
    assert "the promotion into prod is refused: gate(s) failed: model_approved, no_drift" in result.stderr
    assert "Not written: a gate failed" in result.stdout
    assert file.read_bytes() == before
    assert not (tmp_path / "releases.jsonl").exists()


def test_gates_pass_when_approved_and_skips_are_recorded(tmp_path):
    file, registries = promoted_to_staging(tmp_path)
    write_view(tmp_path / "registry-prod.json", prod_view({1: "sha256:" + "13" * 32, 2: DIGEST_V14}))
    before = file.read_text()
    result = run_cli("promote", str(file), "--to", "prod", "--write", "--skip-gate", "no_drift",
                     "--reason", "staging state is checked by the nightly refresh", *registries)
    assert result.code == 0, result.output
    assert "PASS    model_approved" in result.stdout
    assert "SKIPPED no_drift: skipped: staging state is checked by the nightly refresh" in result.stdout
    assert file.read_text() == before.replace(
        "      endpoints.scorer.replicas: {min: 3, max: 20}\n",
        "      endpoints.scorer.replicas: {min: 3, max: 20}\n      endpoints.scorer.model.version: 2\n")
    (record,) = [json.loads(line) for line in (tmp_path / "releases.jsonl").read_text().splitlines()]
    assert (record["src"], record["dst"]) == ("staging", "prod")
    assert record["versions"][0]["srcVersion"] == 3 and record["versions"][0]["dstVersion"] == 2
    assert record["versions"][0]["digest"] == DIGEST_V14
    assert record["skippedGates"] == [{"name": "no_drift", "reason": "staging state is checked by the nightly refresh"}]
    assert [g["status"] for g in record["gates"]] == ["pass", "skipped", "pass", "pass"]
    assert record["planDigest"].startswith("sha256:") and record["who"]
    listed = run_cli("releases", str(file), "--env", "prod")
    assert listed.code == 0 and "staging -> prod" in listed.stdout and "scorer: fraud-model v3 -> v2" in listed.stdout
    assert "no_drift skipped: staging state is checked by the nightly refresh" in listed.stdout
    assert "No promotions recorded" in run_cli("releases", str(file), "--env", "staging").stdout
    again = run_cli("promote", str(file), "--to", "prod", "--write", "--skip-gate", "no_drift", "--reason", "r",
                    *registries)
    assert again.code == 0 and "No edit" in again.stdout
    assert len((tmp_path / "releases.jsonl").read_text().splitlines()) == 1  # nothing written, nothing recorded


def test_skip_gate_needs_a_declared_gate_and_a_reason(tmp_path):
    file, registries = promoted_to_staging(tmp_path)
    unknown = run_cli("promote", str(file), "--to", "prod", "--skip-gate", "no_drfit", "--reason", "x", *registries)
    assert unknown.code == 1 and 'Did you mean "no_drift"?' in unknown.stderr
    bare = run_cli("promote", str(file), "--to", "prod", "--skip-gate", "no_drift", *registries)
    assert bare.code == 1 and "--skip-gate needs --reason TEXT" in bare.stderr


def test_no_drift_reads_staging_live_and_fails_closed_when_it_cannot(tmp_path, monkeypatch):
    file, registries = promoted_to_staging(tmp_path)
    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system
    from tests.support.applied_state import applied_state, dumps

    graph = compile_system(load_system(file, "staging").system, "staging")
    state = tmp_path / "staging-state.json"
    state.write_text(dumps(applied_state(graph)))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: reads fail
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    result = run_cli("promote", str(file), "--to", "prod", "--src-state", str(state), *registries)
    assert result.code == 1
    assert "FAIL    no_drift: " in result.stdout
    no_drift = next(line for line in result.stdout.splitlines() if "no_drift:" in line)
    assert "cannot be evaluated" in no_drift or "could not be read" in no_drift, no_drift


@pytest.mark.moto
@pytest.mark.timeout(120)
def test_no_drift_fails_while_staging_drift_alarm_is_in_alarm(tmp_path, moto_url, monkeypatch):
    """Audit finding 2: staging's compiled drift alarm (fraud-detection-staging-fraud-drift, the alert
    that triggers the retrain) in ALARM on CloudWatch (moto, SetAlarmState) fails no_drift staging ->
    prod, read with staging's credentials; the reason says it is the drift-alert part."""
    from tests.support.moto_server import client

    file, registries = promoted_to_staging(tmp_path)
    write_view(tmp_path / "registry-prod.json", prod_view({1: "sha256:" + "13" * 32, 2: DIGEST_V14}))
    cloudwatch = client("cloudwatch", moto_url)
    name = "fraud-detection-staging-fraud-drift"
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="feature_drift", Namespace="mlops-infra/drift",
                                Statistic="Maximum", Period=3600, EvaluationPeriods=2, Threshold=0.2,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="feature drift 0.31 > 0.2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "prod", "--write", *registries)
    assert result.code == 1, result.output
    no_drift = next(line for line in result.stdout.splitlines() if "no_drift:" in line)
    assert "drift alerts: 1 drift alert(s) firing in staging: fraud-drift" in no_drift, no_drift
    assert f"[drift alerts] alert fraud-drift (alarm {name}): ALARM: feature drift 0.31 > 0.2" in result.stdout
    assert "gate(s) failed: no_drift" in result.stderr
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason="no datapoints")
    unknown = run_cli("promote", str(file), "--to", "prod", *registries)
    assert unknown.code == 1
    assert "drift alerts: cannot be evaluated: 1 drift alert(s) of staging have no known state" in unknown.stdout
