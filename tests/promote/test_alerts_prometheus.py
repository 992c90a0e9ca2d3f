"""A Kubernetes SRC's drift alerts, read from a real Prometheus (tests/support/prometheus.py) for no_drift."""

from __future__ import annotations

import copy
import socket

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.promote.alerts import drift_alerts, read_prometheus_rules
from mlops_infra.promote.gates import FAIL, GateInputs, evaluate_gates
from mlops_infra.spec import load_system
from tests.support.cli import run_cli
from tests.support.prometheus import PrometheusStack, require, wait_until
from tests.support.promotion import REFERENCE, copy_reference, reference_registries, staging_view

NAMESPACE = "fraud-dev"


@pytest.fixture(scope="module")
def dev():
    return load_system(REFERENCE, "dev").system


def compiled_rules(system) -> dict:
    """dev's compiled PrometheusRule of fraud-drift (its name and labels as compiled), its expression
    replaced by a pushed gauge so the test decides when it fires."""
    graph = compile_system(system, "dev")
    (rule_object,) = [r for r in graph.resources if r.address == "alerts.fraud-drift" and r.role == "alert-rule"]
    spec = copy.deepcopy(rule_object.inputs["spec"])
    (rule,) = spec["groups"][0]["rules"]
    assert rule["alert"] == "fraud-drift" and rule["labels"]["namespace"] == NAMESPACE
    rule.update({"expr": 'max(drift_score{job="drift"}) > 0.2', "for": "1s"})
    return spec


def gate(system, states=None, problem=None):
    inputs = GateInputs("dev", "staging", system, staging_view(3), (), src_problem="not read in this test",
                        src_alerts=states, src_alerts_problem=problem)
    (result,) = evaluate_gates(["no_drift"], inputs, {})
    return result


def test_the_drift_alert_prometheus_evaluates_decides_the_alert_part(dev, tmp_path):
    """Audit finding 2 on Kubernetes: the rule Prometheus evaluates for fraud-drift is read; firing
    fails the gate's drift-alert part, inactive passes it, a rule Prometheus does not hold (another
    namespace's) is not found and fails closed."""
    require()
    alerts = drift_alerts(dev)
    with PrometheusStack(tmp_path, rules=[compiled_rules(dev)]) as stack:
        quiet = read_prometheus_rules(stack.prometheus_url, alerts, NAMESPACE)
        assert [(a.alert, a.state) for a in quiet] == [("fraud-drift", "inactive")]
        assert "drift alerts" not in gate(dev, quiet).reason
        stack.push("drift", "drift_score 0.35")
        wait_until(lambda: read_prometheus_rules(stack.prometheus_url, alerts, NAMESPACE)[0].state == "firing",
                   what="fraud-drift firing", timeout=20, logs=stack.logs)
        firing = read_prometheus_rules(stack.prometheus_url, alerts, NAMESPACE)
        result = gate(dev, firing)
        assert result.status == FAIL and "drift alerts: 1 drift alert(s) firing in dev: fraud-drift" in result.reason
        assert "[drift alerts] alert fraud-drift (Prometheus rule fraud-drift (namespace fraud-dev)): firing" \
            in result.evidence
        other = read_prometheus_rules(stack.prometheus_url, alerts, "fraud-prod")
        assert other[0].state is None and other[0].verdict() == "unknown"


def test_a_prometheus_that_cannot_be_reached_raises(dev):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError):
        read_prometheus_rules(f"http://127.0.0.1:{port}", drift_alerts(dev), NAMESPACE)


def _staging_gated(tmp_path):
    file = copy_reference(tmp_path)
    text = file.read_text()
    assert text.count("    promote_from: dev\n") == 1
    file.write_text(text.replace("    promote_from: dev\n", "    promote_from: dev\n    gates: [no_drift]\n"))
    return file, reference_registries(tmp_path, staging_has_v14=3)


def test_promote_from_kubernetes_reads_the_drift_alert_from_prometheus(dev, tmp_path):
    """The console script, dev (Kubernetes) -> staging with --prometheus dev=URL: the firing
    fraud-drift rule is named in no_drift's reason (the infrastructure part fails closed: live reads
    of Kubernetes are not supported yet); without --prometheus the alert part says how to give it."""
    require()
    file, registries = _staging_gated(tmp_path)
    missing = run_cli("promote", str(file), "--to", "staging", *registries)
    assert missing.code == 1
    assert ("drift alerts: cannot be evaluated: no Prometheus address for dev: pass --prometheus "
            "dev=http://127.0.0.1:9090") in missing.stdout
    with PrometheusStack(tmp_path / "prom", rules=[compiled_rules(dev)]) as stack:
        stack.push("drift", "drift_score 0.35")
        alerts = drift_alerts(dev)
        wait_until(lambda: read_prometheus_rules(stack.prometheus_url, alerts, NAMESPACE)[0].state == "firing",
                   what="fraud-drift firing", timeout=20, logs=stack.logs)
        result = run_cli("promote", str(file), "--to", "staging", "--prometheus", f"dev={stack.prometheus_url}",
                         *registries)
    assert result.code == 1, result.output
    no_drift = next(line for line in result.stdout.splitlines() if "no_drift:" in line)
    assert "live reads of kubernetes targets are not supported yet" in no_drift
    assert "drift alerts: 1 drift alert(s) firing in dev: fraud-drift" in no_drift, no_drift
