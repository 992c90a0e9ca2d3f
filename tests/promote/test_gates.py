"""Each gate passes and fails with its reason and evidence; gates that cannot be evaluated fail closed."""

from __future__ import annotations

import dataclasses

import pytest

from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.drift import find_drift
from mlops_infra.promote.alerts import (
    AlertState,
    alert_states,
    compiled_alarm_names,
    drift_alerts,
    read_alarm_states,
)
from mlops_infra.promote.gates import FAIL, PASS, SKIPPED, GateInputs, evaluate_gates
from mlops_infra.promote.versions import map_versions
from mlops_infra.spec import load_system, parse_system
from mlops_infra.state.aws_live import scan_aws
from mlops_infra.state.aws_live.retry import RetryPolicy
from tests.support import fixtures
from tests.support.moto_server import REGION, client, shared_session
from tests.support.promotion import REFERENCE, dev_view, staging_view
from tests.support.text_edits import edit

moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded


@pytest.fixture(scope="module")
def systems():
    return {env: load_system(REFERENCE, env).system for env in ("dev", "staging", "prod")}


def inputs(systems, dst_view=None, dst_system=None, **kw) -> GateInputs:
    dst_view = dst_view or staging_view(3)
    mapped = map_versions("dev", systems["dev"], dev_view(), "staging", systems["staging"], dst_view)
    return GateInputs("dev", "staging", dst_system or systems["staging"], dst_view, mapped.mappings, **kw)


def one(name, gate_inputs, skips=None):
    (result,) = evaluate_gates([name], gate_inputs, skips or {})
    return result


def test_model_approved_passes_with_the_registry_evidence(systems):
    result = one("model_approved", inputs(systems))
    assert result.status == PASS
    assert result.evidence == ("fraud-model v3 in group fraud-detection-staging-fraud-model (111111111111/us-east-1): "
                               "approval status Approved",)


def test_model_approved_fails_pending_or_unregistered(systems):
    pending = one("model_approved", inputs(systems, staging_view(3, approval="PendingManualApproval")))
    assert pending.status == FAIL and "not Approved" in pending.reason
    assert "approval status PendingManualApproval" in pending.evidence[0]
    missing = one("model_approved", inputs(systems, staging_view()))
    assert missing.status == FAIL and "is not registered in group fraud-detection-staging-fraud-model" in missing.evidence[0]


def test_model_approved_fails_closed_without_a_registry_read(systems):
    gate_inputs = dataclasses.replace(inputs(systems), dst_view=RegistryView())
    result = one("model_approved", gate_inputs)
    assert result.status == FAIL and result.reason.startswith("cannot be evaluated")


def test_progressive_rollout_and_alerts_routed_pass_on_the_reference(systems):
    assert one("progressive_rollout", inputs(systems)).evidence == ("scorer: canary",)
    routed = one("alerts_routed", inputs(systems))
    assert routed.status == PASS
    assert routed.evidence == ("scorer: scorer-latency -> oncall; scorer-errors -> oncall",)


def test_progressive_rollout_and_alerts_routed_fail_with_evidence(systems):
    text = REFERENCE.read_text()
    text = edit(text, "strategy: canary              # canary", "strategy: all_at_once          # canary")
    text = edit(text, "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n", "")
    text = edit(text, "      bake: 10m                     # time at each step before the next\n", "")
    text = edit(text, "      rollback_on: [scorer-latency, scorer-errors]  # alerts that roll the rollout back\n", "")
    text = text.replace("severity: critical", "severity: warning")
    loaded = parse_system(text, "x.yaml", "staging")
    assert loaded.ok, loaded.diagnostics
    rollout = one("progressive_rollout", inputs(systems, dst_system=loaded.system))
    assert rollout.status == FAIL and rollout.reason == "endpoint(s) scorer of staging roll out all at once"
    alerts = one("alerts_routed", inputs(systems, dst_system=loaded.system))
    assert alerts.status == FAIL and alerts.evidence == ("scorer: no critical alert notifies a channel",)


def test_unknown_gates_fail_closed_and_skips_keep_their_reason(systems):
    results = evaluate_gates(["manual_approval", "no_drift"], inputs(systems), {"no_drift": "dev is Kubernetes"})
    assert [r.status for r in results] == [FAIL, SKIPPED]
    assert "does not evaluate this gate itself" in results[0].reason
    assert results[1].reason == "skipped: dev is Kubernetes"


def test_no_drift_fails_closed_without_state_or_live_reads(systems):
    assert "no applied state of dev" in one("no_drift", inputs(systems)).reason
    problem = one("no_drift", inputs(systems, src_problem="live reads are not supported for kubernetes targets yet"))
    assert problem.status == FAIL and "not supported for kubernetes" in problem.reason


QUIET = (AlertState("fraud-drift", "fraud-detection-dev-fraud-drift", "OK"),)
"""dev's drift alert read as OK: the infrastructure part alone decides."""


def scan(stack):
    return scan_aws(stack.prior.resources.values(), region=REGION, session_factory=shared_session,
                    endpoint_url=stack.url, retry=RetryPolicy(botocore_max_attempts=1))


@pytest.mark.moto
@pytest.mark.timeout(120)
def test_no_drift_passes_then_fails_after_an_out_of_band_change(systems, seeded):
    live = scan(seeded)
    clean = one("no_drift", inputs(systems, src_prior=seeded.prior, src_live=live,
                                  src_drift=find_drift(seeded.prior, live), src_alerts=QUIET))
    assert clean.status == PASS and "match its last applied state" in clean.reason
    client("cloudwatch", seeded.url).delete_alarms(AlarmNames=[seeded.alarms[0]])
    live = scan(seeded)
    drifted = one("no_drift", inputs(systems, src_prior=seeded.prior, src_live=live,
                                    src_drift=find_drift(seeded.prior, live), src_alerts=QUIET))
    assert drifted.status == FAIL and "drifted from the last applied state" in drifted.reason
    assert "drift alerts" not in drifted.reason  # the infrastructure part failed, not the alerts
    assert drifted.evidence[-1] == "[drift alerts] alert fraud-drift (alarm fraud-detection-dev-fraud-drift): OK"
    assert all(e.startswith("[infrastructure drift] ") for e in drifted.evidence[:-1])
    assert any(seeded.alarms[0] in e or "deleted" in e for e in drifted.evidence), drifted.evidence


def _clean_infrastructure(systems, **kw):
    """Gate inputs whose infrastructure part passes (an applied state read live, no drift)."""
    from mlops_infra.state.model import LiveState

    prior = type("Prior", (), {"resources": {"urn:x": object()}, "serial": 7})()
    return inputs(systems, src_prior=prior, src_live=LiveState({"urn:x": None}), src_drift=[], **kw)


@pytest.mark.parametrize(("state", "status", "reason"), [
    ("ALARM", FAIL, "drift alerts: 1 drift alert(s) firing in dev: fraud-drift"),
    ("INSUFFICIENT_DATA", FAIL, "drift alerts: cannot be evaluated: 1 drift alert(s) of dev have no known state"),
    (None, FAIL, "drift alerts: cannot be evaluated: 1 drift alert(s) of dev have no known state"),
    ("OK", PASS, "no drift alert is firing in dev (1 read)"),
])
def test_no_drift_reads_the_drift_alerts_state(systems, state, status, reason):
    """Audit finding 2: the gate's own description is "no drift alert is firing in the source
    environment"; a firing (or unknown) drift alert fails it even when the infrastructure matches."""
    read = (AlertState("fraud-drift", "fraud-detection-dev-fraud-drift", state, "Threshold Crossed"),)
    result = one("no_drift", _clean_infrastructure(systems, src_alerts=read))
    assert result.status == status and reason in result.reason, result.reason
    assert result.evidence[0].startswith("[drift alerts] alert fraud-drift (alarm fraud-detection-dev-fraud-drift): ")
    if status == PASS:
        assert "match its last applied state (serial 7)" in result.reason


def test_no_drift_fails_closed_when_the_alerts_cannot_be_read(systems):
    unread = one("no_drift", _clean_infrastructure(systems))
    assert unread.status == FAIL and unread.reason == "drift alerts: cannot be evaluated: dev's drift alerts were not read"
    problem = one("no_drift", _clean_infrastructure(systems, src_alerts_problem="AccessDenied"))
    assert problem.status == FAIL and problem.reason == "drift alerts: cannot be evaluated: AccessDenied"
    none_declared = one("no_drift", _clean_infrastructure(systems, src_alerts=()))
    assert none_declared.status == PASS and "dev declares no drift or data-quality alert" in none_declared.reason


def test_the_drift_alerts_are_those_of_drift_and_data_quality_monitors(systems):
    from mlops_infra.compile import compile_system

    staging = systems["staging"]
    alerts = drift_alerts(staging)
    assert [a.name for a in alerts] == ["fraud-drift"]  # not scorer-latency, scorer-errors
    names = compiled_alarm_names(compile_system(staging, "staging"), alerts)
    assert names == {"fraud-drift": "fraud-detection-staging-fraud-drift"}


@pytest.mark.moto
@pytest.mark.timeout(120)
def test_a_drift_alarm_in_alarm_on_cloudwatch_fails_the_gate(systems, moto_url):
    """The staging drift alarm, as compiled, set to ALARM on moto (SetAlarmState) and read back with
    DescribeAlarms: the gate fails on it; OK passes; a missing alarm fails closed."""
    cloudwatch = client("cloudwatch", moto_url)
    name = "fraud-detection-staging-fraud-drift"
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="feature_drift", Namespace="mlops-infra/drift",
                                Statistic="Maximum", Period=3600, EvaluationPeriods=2, Threshold=0.2,
                                ComparisonOperator="GreaterThanThreshold")
    names = compiled_alarm_names(type("G", (), {"resources": []})(), drift_alerts(systems["staging"]))
    assert names == {"fraud-drift": None}  # not compiled: read as not found
    names = {"fraud-drift": name}
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="drift 0.31 > 0.2")
    firing = one("no_drift", _clean_infrastructure(systems, src_alerts=alert_states(names, read_alarm_states(
        cloudwatch, [name]))))
    assert firing.status == FAIL and "drift alerts: 1 drift alert(s) firing in dev: fraud-drift" in firing.reason
    assert firing.evidence == (f"[drift alerts] alert fraud-drift (alarm {name}): ALARM: drift 0.31 > 0.2",)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="back under")
    quiet = one("no_drift", _clean_infrastructure(systems, src_alerts=alert_states(names, read_alarm_states(
        cloudwatch, [name]))))
    assert quiet.status == PASS
    missing = alert_states({"fraud-drift": "no-such-alarm"}, read_alarm_states(cloudwatch, ["no-such-alarm"]))
    assert missing[0].state is None and missing[0].verdict() == "unknown"
