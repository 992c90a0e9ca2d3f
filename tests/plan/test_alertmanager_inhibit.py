"""The InfoInhibitor check's rules (plan/alertmanager_inhibit.py; audit k8smon-1): kube-prometheus-stack's
stock inhibit rule ``{source_matchers: [alertname = InfoInhibitor], target_matchers: [severity = info],
equal: [namespace]}`` (helm-charts cf408a29, chart 88.5.3, ``values.yaml``) mutes every routed
``severity: info`` alert of ours; the chart's other inhibit rules (``equal`` holding ``alertname``) do
not; the matcher forms Alertmanager reads (``source_match``, ``_match_re``, ``ParseMatchers`` strings
with quotes and braces) are judged alike; only Alertmanagers that select the alert's
AlertmanagerConfigs are judged; an unreadable Secret is "could not check"; no text of the Secret is
quoted. The stand-in cluster test is tests/cli/test_plan_alertmanager_inhibit.py, the real
Alertmanager one tests/plan/test_alertmanager_inhibit_live.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.plan.alertmanager_inhibit import (
    info_alerts,
    inhibit_warnings,
    mutes_for_good,
    secrets_to_read,
)
from mlops_infra.plan.alertmanager_smtp import SecretAnswer
from mlops_infra.plan.monitoring_selectors import namespace_labels

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
WARNING_LINE = "    severity: warning               # info | warning | critical\n"
KPS_INHIBIT_RULES = [
    {"source_matchers": ["severity = critical"], "target_matchers": ["severity =~ warning|info"],
     "equal": ["namespace", "alertname"]},
    {"source_matchers": ["severity = warning"], "target_matchers": ["severity = info"],
     "equal": ["namespace", "alertname"]},
    {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"], "equal": ["namespace"]},
    {"target_matchers": ["alertname = InfoInhibitor"]},
]
"""kube-prometheus-stack 88.5.3 ``alertmanager.config.inhibit_rules``, as shipped."""
KPS_CONFIG = yaml.safe_dump({"global": {"resolve_timeout": "5m", "smtp_auth_password": "planted-secret-value"},
                             "inhibit_rules": KPS_INHIBIT_RULES,
                             "route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
SECRET = ("monitoring", "alertmanager-main")
ALERT = {"alertname": "fraud-drift", "mlops_alert": "fraud-drift", "mlops_environment": "dev",
         "mlops_system": "fraud-detection", "namespace": "fraud-dev", "severity": "info"}


def _alertmanager(name: str = "main", **spec) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager",
            "metadata": {"name": name, "namespace": "monitoring"},
            "spec": {"alertmanagerConfigSelector": {}, "alertmanagerConfigNamespaceSelector": {}, **spec}}


def info_spec(tmp_path: Path) -> Path:
    """fraud-detection with alert fraud-drift (ml-team's email, retrain's on_alerts) at severity info."""
    text = FRAUD.read_text()
    assert text.count(WARNING_LINE) == 1
    spec = tmp_path / "info-spec" / "mlsystem.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text.replace(WARNING_LINE, "    severity: info\n"))
    return spec


@pytest.fixture(scope="module")
def info_graph(tmp_path_factory):
    from tests.scenarios.harness import compile_file

    return compile_file(info_spec(tmp_path_factory.mktemp("inhibit")), "dev")


def _labels(graph) -> dict:
    return {"fraud-dev": namespace_labels(graph, "fraud-dev", None)}


def test_the_routed_info_alerts_are_found_with_their_rule_labels_and_routes(info_graph):
    from tests.scenarios.harness import compile_file

    (alert,) = info_alerts(info_graph)
    assert alert.name == "fraud-drift"
    assert {k: alert.labels[k] for k in ALERT} == ALERT
    assert sorted(c.address for c in alert.configs) == ["channels.ml-team", "training_jobs.retrain"]
    assert info_alerts(compile_file(FRAUD, "dev")) == []  # warning and critical only


def test_only_the_stock_info_inhibitor_rule_mutes_an_info_alert_for_good():
    assert [i for i, rule in enumerate(KPS_INHIBIT_RULES) if mutes_for_good(rule, ALERT)] == [2]
    assert not any(mutes_for_good(rule, {**ALERT, "severity": "warning"}) for rule in KPS_INHIBIT_RULES)


@pytest.mark.parametrize(("rule", "mutes"), [
    ({"source_match": {"alertname": "InfoInhibitor"}, "target_match": {"severity": "info"}, "equal": ["namespace"]},
     True),
    ({"source_match_re": {"alertname": "Info.*"}, "target_match_re": {"severity": "info|none"}}, True),
    ({"source_matchers": ['{alertname="InfoInhibitor"}'], "target_matchers": ['{severity=~"info", namespace!="x"}'],
      "equal": ["namespace"]}, True),
    ({"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"],
      "equal": ["namespace", "alertname"]}, False),  # the source is another alert: never equal
    ({"source_matchers": ["alertname = Watchdog"], "target_matchers": ["severity = info"]}, False),
    ({"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info", "team = risk"]}, False),
    ({"source_matchers": ['alertname = "Info"Inhibitor"'], "target_matchers": ["severity = info"]}, False),  # refused
    ({"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"],
      "equal": ["mlops_system"]}, False),  # the inhibitor has no mlops_system; ours has
    ("not a rule", False),
])
def test_the_matcher_forms_alertmanager_reads_are_judged_alike(rule, mutes):
    assert mutes_for_good(rule, ALERT) is mutes


def test_the_stock_configuration_is_a_warning_naming_the_alerts_who_never_hears_them_and_the_fix(info_graph):
    alerts = info_alerts(info_graph)
    assert secrets_to_read(alerts, [_alertmanager()], _labels(info_graph)) == [SECRET]
    (warning,) = inhibit_warnings(alerts, [_alertmanager()], _labels(info_graph), {SECRET: SecretAnswer(text=KPS_CONFIG)})
    assert warning.startswith("notifications: Alertmanager monitoring/main mutes this system's severity info alerts "
                              "fraud-drift: inhibit_rules[2] of key alertmanager.yaml of Secret "
                              "monitoring/alertmanager-main mutes an info alert while an InfoInhibitor alert fires in "
                              "its namespace (fraud-dev)")
    assert "as soon as one of these alerts is pending, unless a warning or critical alert is firing there" in warning
    assert "channel ml-team never hears them and training job retrain is never started by them" in warning
    assert warning.endswith("Fix: remove inhibit_rules[2] from the Alertmanager configuration (kube-prometheus-stack "
                            "values: alertmanager.config.inhibit_rules), or give these alerts severity: warning. "
                            "(defaultRules.disabled.InfoInhibitor: true stops the muting too, but leaves inhibit_rules[2] "
                            "in this Secret, where this check reads it: remove it as well.)")
    assert "planted-secret-value" not in warning and "resolve_timeout" not in warning


def test_without_that_rule_or_without_a_secret_nothing_is_said(info_graph):
    alerts, labels = info_alerts(info_graph), _labels(info_graph)
    others = yaml.safe_dump({"inhibit_rules": KPS_INHIBIT_RULES[:2] + KPS_INHIBIT_RULES[3:]})
    for text in (others, "", "route:\n  receiver: 'null'\n"):
        assert inhibit_warnings(alerts, [_alertmanager()], labels, {SECRET: SecretAnswer(text=text)}) == []


def test_a_date_alertmanager_reads_as_text_does_not_stop_the_check(info_graph):
    """secrets-5: PyYAML's timestamp resolver raises ValueError on an unquoted impossible date;
    Alertmanager reads it as a string, and so does the check."""
    text = "global:\n  smtp_hello: 2024-02-30\n" + yaml.safe_dump({"inhibit_rules": KPS_INHIBIT_RULES})
    (warning,) = inhibit_warnings(info_alerts(info_graph), [_alertmanager()], _labels(info_graph),
                                  {SECRET: SecretAnswer(text=text)})
    assert "inhibit_rules[2]" in warning and "2024" not in warning


def test_an_unreadable_secret_could_not_be_checked_and_a_refusal_names_the_permission(info_graph):
    alerts, labels = info_alerts(info_graph), _labels(info_graph)
    (bad,) = inhibit_warnings(alerts, [_alertmanager()], labels, {SECRET: SecretAnswer(text="inhibit_rules: [\n")})
    assert bad.startswith("notifications: could not check the inhibit rules of Alertmanager monitoring/main (key "
                          "alertmanager.yaml is not valid YAML (ParserError)), which routes this system's severity "
                          "info alerts (fraud-drift)")
    (refused,) = inhibit_warnings(alerts, [_alertmanager()], labels,
                                  {SECRET: SecretAnswer(error="403 Forbidden: no", forbidden=True)})
    assert ('needs RBAC permission to get secrets (apiGroups [""]) in namespace monitoring; check with '
            "`kubectl auth can-i get secrets/alertmanager-main -n monitoring`") in refused


def test_only_alertmanagers_that_select_the_routes_and_read_the_secret_are_judged(info_graph):
    alerts, labels = info_alerts(info_graph), _labels(info_graph)
    secrets = {SECRET: SecretAnswer(text=KPS_CONFIG)}
    other = _alertmanager(alertmanagerConfigSelector={"matchLabels": {"release": "kps"}})
    from_cr = _alertmanager(alertmanagerConfiguration={"name": "base"})
    for alertmanagers in ([other], [from_cr], [], None):
        assert secrets_to_read(alerts, alertmanagers, labels) == []
        assert inhibit_warnings(alerts, alertmanagers, labels, secrets) == []
    assert inhibit_warnings([], [_alertmanager()], labels, secrets) == []


def test_a_hundred_muted_alerts_and_their_channels_are_six_names_and_how_many_more(info_graph):
    """Every muted alert, and every channel that never hears them, were named: the first six of each, then how many
    more (:mod:`mlops_infra.name_lists`); the could-not-check warning too."""
    from dataclasses import replace

    (alert, *_) = info_alerts(info_graph)
    (config, *_) = [c for c in alert.configs if c.address.startswith("channels.")]
    many = [replace(alert, name=f"a{i:03}", configs=(replace(config, address=f"channels.c{i:03}"),))
            for i in range(100)]
    (warning,) = inhibit_warnings(many, [_alertmanager()], _labels(info_graph), {SECRET: SecretAnswer(text=KPS_CONFIG)})
    assert "mutes this system's severity info alerts a000, a001, a002, a003, a004, a005 and 94 more: " in warning
    assert "channels c000, c001, c002, c003, c004, c005 and 94 more never hear them" in warning
    assert "a006" not in warning and "c006" not in warning
    (unread,) = inhibit_warnings(many, [_alertmanager()], _labels(info_graph), {})
    assert "which routes this system's severity info alerts (a000, a001, a002, a003, a004, a005 and 94 more)" in unread
