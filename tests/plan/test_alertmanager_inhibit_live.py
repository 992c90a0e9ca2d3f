"""The InfoInhibitor check against a real Alertmanager (the Debian ``prometheus-alertmanager``; audit
k8smon-1): the configuration prometheus-operator generates from the routes of fraud-detection's dev
environment, with ``fraud-drift`` (ml-team's email, the retrain trigger) at ``severity: info``, plus
kube-prometheus-stack 88.5.3's ``inhibit_rules``. With an ``InfoInhibitor{namespace="fraud-dev"}``
alert firing, as the chart's rule raises it from our alert's pending ``ALERTS`` series, Alertmanager
suppresses ``fraud-drift`` and never calls the retrain trigger; and :func:`inhibit_warnings`, given the
same configuration text, warns. Without the chart's InfoInhibitor rule the trigger is called and the
check says nothing: the warning is said exactly when Alertmanager mutes the alert.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile.kubernetes import routing
from mlops_infra.plan.alertmanager_inhibit import info_alerts, inhibit_warnings
from mlops_infra.plan.alertmanager_smtp import SecretAnswer
from mlops_infra.plan.monitoring_selectors import namespace_labels
from mlops_infra.spec import parse_system
from tests.plan.test_alertmanager_inhibit import KPS_INHIBIT_RULES, info_spec
from tests.support.prometheus import RecordingReceiver, ServerProcess, binary, http, require, wait_until

NAMESPACE = "fraud-dev"
SECRET = ("monitoring", "alertmanager-main")
QUIET_SECONDS = 4.0
"""How long a muted alert is watched not to reach the trigger: four group intervals (1 s)."""


def _alertmanager_text(spec: Path, trigger: str, rules: list[dict]) -> str:
    system = parse_system(spec.read_text(), "mlsystem.yaml", "dev").system
    routes = routing.system_routes(system, "dev")
    in_cluster = next(r.receiver.url for r in routes if r.config == "retrain-retrain")
    config = routing.alertmanager_config(
        routes, NAMESPACE, resolve_secret=lambda ref: "https://hooks.invalid/" + ref.secret, urls={in_cluster: trigger},
        timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        global_config={"smtp_smarthost": "127.0.0.1:1", "smtp_from": "alertmanager@test.invalid"})
    return yaml.safe_dump({**config, "inhibit_rules": rules})


def _post(url: str, labels: dict) -> None:
    status, body = http("POST", url + "/api/v2/alerts", json.dumps([{"labels": labels}]))
    assert status == 200, body


def _state(url: str, name: str) -> dict | None:
    alerts = json.loads(http("GET", url + "/api/v2/alerts")[1])
    return next((a["status"] for a in alerts if a["labels"].get("alertname") == name), None)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stock", [True, False], ids=["stock-rules", "without-info-inhibitor"])
def test_the_warning_is_said_exactly_when_alertmanager_mutes_the_info_alert(tmp_path: Path, stock: bool):
    require("alertmanager")
    from tests.scenarios.harness import compile_file

    spec = info_spec(tmp_path)
    graph = compile_file(spec, "dev")
    (alert,) = info_alerts(graph)
    rules = KPS_INHIBIT_RULES if stock else KPS_INHIBIT_RULES[:2] + KPS_INHIBIT_RULES[3:]
    with RecordingReceiver() as trigger:
        text = _alertmanager_text(spec, trigger.url("/v1/alerts/retrain"), rules)
        (tmp_path / "alertmanager.yml").write_text(text)
        server = ServerProcess("alertmanager", lambda port: [
            binary("alertmanager"), f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            "--log.level=warn"], tmp_path / "alertmanager.log")
        server.start()
        try:
            # the chart's InfoInhibitor, raised by our alert's pending ALERTS series before its `for` ends
            _post(server.url, {"alertname": "InfoInhibitor", "namespace": NAMESPACE, "severity": "none"})
            wait_until(lambda: _state(server.url, "InfoInhibitor"), timeout=20, what="InfoInhibitor received")
            _post(server.url, dict(alert.labels))
            if stock:
                state = wait_until(lambda: (s := _state(server.url, alert.name)) and s["state"] == "suppressed" and s,
                                   timeout=20, what="fraud-drift suppressed", logs=server.log_tail)
                assert state["inhibitedBy"]
                time.sleep(QUIET_SECONDS)
                assert trigger.received() == []  # the retrain trigger never hears it
            else:
                trigger.wait_for(1, path="/v1/alerts/retrain", timeout=20)
                assert _state(server.url, alert.name)["state"] == "active"
        finally:
            server.stop()
    alertmanager = {"metadata": {"name": "main", "namespace": "monitoring"},
                    "spec": {"alertmanagerConfigSelector": {}, "alertmanagerConfigNamespaceSelector": {}}}
    warnings = inhibit_warnings([alert], [alertmanager], {NAMESPACE: namespace_labels(graph, NAMESPACE, None)},
                                {SECRET: SecretAnswer(text=text)})
    assert len(warnings) == (1 if stock else 0)
    if stock:
        assert "training job retrain is never started by them" in warnings[0]
