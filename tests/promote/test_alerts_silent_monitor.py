"""Audit finding xpromote-4: a Kubernetes SRC's drift alert whose monitor has published nothing is not read as
quiet. Prometheus reports an alerting rule whose expression returns no series as ``inactive``; the monitor's
own ``monitor_silent_<monitor>`` rule (``compile/kubernetes/monitoring.silence_rule``) says it cannot fire.
``read_prometheus_rules`` reads that rule in the same ``/api/v1/rules`` answer: firing -> the drift alert's
verdict is unknown and ``no_drift`` fails closed, as ``INSUFFICIENT_DATA`` does on AWS.

A real Prometheus (tests/support/prometheus.py) evaluates dev's two compiled rules, names and labels as
compiled, their expressions replaced by pushed gauges so the test decides when each fires."""

from __future__ import annotations

import copy

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.promote.alerts import drift_alerts, read_prometheus_rules
from mlops_infra.promote.gates import FAIL, GateInputs, evaluate_gates
from mlops_infra.spec import load_system
from tests.support.prometheus import PrometheusStack, require, wait_until
from tests.support.promotion import REFERENCE, staging_view

NAMESPACE = "fraud-dev"


@pytest.fixture(scope="module")
def dev():
    return load_system(REFERENCE, "dev").system


def compiled(system, address: str, alert: str, expr: str) -> dict:
    """dev's compiled PrometheusRule at ``address`` holding only its rule ``alert``, ``expr`` instead of its own."""
    (found,) = [r for r in compile_system(system, "dev").resources
                if r.address == address and "PrometheusRule" in r.type]
    spec = copy.deepcopy(found.inputs["spec"])
    for group in spec["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("alert") == alert]
    spec["groups"] = [g for g in spec["groups"] if g["rules"]]
    (rule,) = [r for g in spec["groups"] for r in g["rules"]]
    assert rule["labels"]["namespace"] == NAMESPACE
    rule.update({"expr": expr, "for": "1s"})
    return spec


def gate(system, states):
    inputs = GateInputs("dev", "staging", system, staging_view(3), (), src_problem="not read in this test",
                        src_alerts=states)
    (result,) = evaluate_gates(["no_drift"], inputs, {})
    return result


def test_a_drift_alert_of_a_silent_monitor_is_unknown_until_it_publishes(dev, tmp_path):
    require()
    alerts = drift_alerts(dev)
    assert [(a.name, a.monitor) for a in alerts] == [("fraud-drift", "drift")]
    rules = [compiled(dev, "alerts.fraud-drift", "fraud-drift", 'max(drift_score{job="drift"}) > 0.2'),
             compiled(dev, "monitors.drift", "monitor_silent_drift", 'max(silent{job="silence"}) > 0')]
    with PrometheusStack(tmp_path, rules=rules) as stack:
        stack.push("silence", "silent 1")  # the monitor has published nothing: drift_score has no series

        def read():
            return read_prometheus_rules(stack.prometheus_url, alerts, NAMESPACE)

        def silent():  # what Prometheus itself says of the monitor's silence rule
            return [a for a in stack.alerts("firing") if a["labels"].get("alertname") == "monitor_silent_drift"]

        wait_until(silent, what="monitor_silent_drift firing", timeout=30, logs=stack.logs)
        (state,) = read()
        assert (state.state, state.verdict()) == ("inactive", "unknown")
        result = gate(dev, (state,))
        assert result.status == FAIL
        assert "drift alerts: cannot be evaluated: 1 drift alert(s) of dev have no known state" in result.reason
        assert ("[drift alerts] alert fraud-drift (Prometheus rule fraud-drift (namespace fraud-dev)): inactive: "
                "monitor drift is not measuring: its rule monitor_silent_drift is firing") in "\n".join(result.evidence)

        stack.push("drift", "drift_score 0.05")  # the monitor publishes a value below the threshold
        stack.push("silence", "silent 0")
        wait_until(lambda: not silent(), what="monitor_silent_drift resolved", timeout=30, logs=stack.logs)
        (state,) = read()
        assert (state.state, state.verdict(), state.reason) == ("inactive", "quiet", "")
        assert "drift alerts" not in gate(dev, (state,)).reason
