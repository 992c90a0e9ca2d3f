"""``plan --refresh`` on Kubernetes reads the configuration Secret of the Alertmanager that routes the
environment's ``severity: info`` alerts and warns when kube-prometheus-stack's stock InfoInhibitor
inhibit rule mutes them for good (audit k8smon-1; cli/commands/plan.monitoring_selector_preflight,
plan/alertmanager_inhibit.py, whose docstring cites the chart and Alertmanager's ``inhibit.go``).

Against the Kubernetes API stand-in serving prometheus-operator's real Alertmanager CRD (v0.89.0):
fraud-detection's dev environment with ``fraud-drift`` (emailed to ml-team, retrain's ``on_alerts``)
at ``severity: info``. The chart's configuration gets the warning, the Secret read once for it and the
SMTP check together; without the InfoInhibitor rule, nothing; the stock example (no info alert) reads
the Secret only for its email channel. A Secret with an unquoted impossible date (audit secrets-5)
no longer stops the plan with an internal error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.test_plan_alertmanager_smtp import ALERTMANAGER, SECRET_PATH, WITH_SMTP, _secret, _warnings
from tests.cli.test_plan_monitoring_selectors import ALL_PROMETHEUS, _crds
from tests.plan.test_alertmanager_inhibit import KPS_INHIBIT_RULES, info_spec
from tests.support import fixtures
from tests.support.kube_api import KubeApiStandIn

pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads

STOCK = WITH_SMTP + yaml.safe_dump({"inhibit_rules": KPS_INHIBIT_RULES})


@pytest.mark.timeout(120)
def test_the_stock_info_inhibitor_is_a_warning_and_the_secret_is_read_once(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(STOCK))
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url, spec=info_spec(tmp_path))
        assert len(api.requests_for("GET", SECRET_PATH)) == 1  # one read feeds the SMTP and the inhibit checks
    assert warning.startswith("notifications: Alertmanager monitoring/main mutes this system's severity info alerts "
                              "fraud-drift: inhibit_rules[2] of key alertmanager.yaml of Secret "
                              "monitoring/alertmanager-main")
    assert "channel ml-team never hears them and training job retrain is never started by them" in warning
    # The first fix named is one that clears the warning (closing-38a-1: the chart keeps the inhibit rule in
    # the Secret when only its InfoInhibitor alerting rule is disabled).
    assert "Fix: remove inhibit_rules[2] from the Alertmanager configuration" in warning


@pytest.mark.timeout(120)
def test_without_the_info_inhibitor_rule_or_without_info_alerts_nothing_is_said(capsys, monkeypatch, tmp_path: Path):
    others = WITH_SMTP + yaml.safe_dump({"inhibit_rules": KPS_INHIBIT_RULES[:2] + KPS_INHIBIT_RULES[3:]})
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(others))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url, spec=info_spec(tmp_path)) == []
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(STOCK))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []  # the example's alerts: warning, critical


@pytest.mark.timeout(120)
def test_an_unquoted_impossible_date_in_the_secret_is_no_internal_error(capsys, monkeypatch, tmp_path: Path):
    """secrets-5: ``smtp_hello: 2024-02-30`` made PyYAML raise ValueError and the plan exit 1 with
    "internal error"; Alertmanager reads it as text, and so does the plan (exit 0, the checks made)."""
    text = STOCK.replace("global:\n", "global:\n  smtp_hello: 2024-02-30\n", 1)
    assert "smtp_hello: 2024-02-30" in text
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(text))
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url, spec=info_spec(tmp_path))
    assert "inhibit_rules[2]" in warning and "2024" not in warning
