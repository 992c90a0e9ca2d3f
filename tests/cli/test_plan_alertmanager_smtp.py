"""``plan --refresh`` on Kubernetes checks that the Alertmanager loading the environment's email
channels has the global SMTP smarthost and sender they need (audit notifications #1;
cli/commands/plan.monitoring_selector_preflight, kube/alertmanager_secrets.py,
plan/alertmanager_smtp.py, whose docstring cites prometheus-operator v0.89.0 ``convertEmailConfig``:
without them the operator generates no configuration for that Alertmanager at all).

Against the Kubernetes API stand-in serving prometheus-operator's real Alertmanager CRD (v0.89.0):
the fraud-detection example's dev environment emails ``ml-team``. An Alertmanager selecting every
AlertmanagerConfig whose configuration Secret ``alertmanager-<name>`` is absent, or whose
``alertmanager.yaml`` has no ``global.smtp_smarthost``/``smtp_from``, gets the warning naming the
consequence and the fix; one that sets them does not; the same through
``spec.alertmanagerConfiguration.global.smtp`` (the Secret is then not read); a refused read of the
Secret says the check was not made and names the permission; a system without an email channel reads
no Secret and says nothing.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mlops_infra.kube import KubeClient
from mlops_infra.kube.alertmanager_secrets import read_config_text
from mlops_infra.kube.errors import KubeForbidden
from tests.cli.test_plan_monitoring_selectors import (
    ALL_PROMETHEUS,
    FRAUD,
    NAMESPACE,
    _crds,
    _owner,
    refresh_warnings,
)
from tests.support import fixtures
from tests.support.kube_api import KubeApiStandIn

pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads

ALERTMANAGER = _owner("Alertmanager", "monitoring", "main", alertmanagerConfigSelector={},
                      alertmanagerConfigNamespaceSelector={})
SECRET_PATH = "/api/v1/namespaces/monitoring/secrets/alertmanager-main"
BASE = "route:\n  receiver: 'null'\nreceivers:\n- name: 'null'\n"
WITH_SMTP = "global:\n  smtp_smarthost: smtp.example.com:587\n  smtp_from: alerts@example.com\n" + BASE


def _secret(text: str, name: str = "alertmanager-main") -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "monitoring"},
            "type": "Opaque", "data": {"alertmanager.yaml": base64.b64encode(text.encode()).decode()}}


def _warnings(capsys, monkeypatch, tmp_path: Path, server: str, spec: Path = FRAUD, token: str = "t") -> list[str]:
    return refresh_warnings(capsys, monkeypatch, tmp_path, server, token, spec=spec,
                            prefixes=("notifications", "monitoring"))


def test_the_stand_in_serves_a_secret_key_and_refuses_it_without_rbac():
    with KubeApiStandIn(tokens={"admin": None, "viewer": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}) as api:
        api.seed(_secret(WITH_SMTP))
        with KubeClient.from_url(api.url, token="admin") as kube:
            assert read_config_text(kube, "monitoring", "alertmanager-main", "alertmanager.yaml") == WITH_SMTP
            assert read_config_text(kube, "monitoring", "alertmanager-other", "alertmanager.yaml") == ""
            assert read_config_text(kube, "monitoring", "alertmanager-main", "other.yaml") == ""
        with KubeClient.from_url(api.url, token="viewer") as kube, pytest.raises(KubeForbidden) as refused:
            read_config_text(kube, "monitoring", "alertmanager-main", "alertmanager.yaml")
    assert refused.value.status == 403
    assert 'cannot get resource "secrets" in API group "" in the namespace "monitoring"' in refused.value.message


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("secret", "missing"), [
    (None, "smarthost and from"),
    (_secret(BASE), "smarthost and from"),
    (_secret("global:\n  smtp_from: alerts@example.com\n" + BASE), "smarthost"),
], ids=["no-secret", "no-global", "from-only"])
def test_an_alertmanager_without_a_global_smarthost_is_named_with_the_consequence(capsys, monkeypatch, tmp_path: Path,
                                                                                    secret, missing):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        if secret:
            api.seed(secret)
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url)
        assert len(api.requests_for("GET", SECRET_PATH)) == 1
    assert warning.startswith(f"notifications: Alertmanager monitoring/main has no global SMTP {missing} (the global "
                              "section of key alertmanager.yaml of Secret monitoring/alertmanager-main sets no smtp_smarthost")
    assert f"this system's email channels (AlertmanagerConfig {NAMESPACE}/channel-ml-team)" in warning
    assert "every route of the Alertmanager stops loading" in warning
    assert "a running Alertmanager keeps its previous configuration" in warning
    assert ("Fix: set global.smtp_smarthost (host:port) and global.smtp_from in key alertmanager.yaml of Secret "
            "monitoring/alertmanager-main") in warning


@pytest.mark.timeout(120)
def test_an_alertmanager_with_global_smtp_in_its_secret_passes(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(WITH_SMTP))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []
        assert len(api.requests_for("GET", SECRET_PATH)) == 1


@pytest.mark.timeout(120)
def test_a_named_config_secret_is_the_one_read(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(_owner("Alertmanager", "monitoring", "main", alertmanagerConfigSelector={},
                        alertmanagerConfigNamespaceSelector={}, configSecret="am-config"))
        api.seed(_secret(WITH_SMTP, name="am-config"))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []
        assert api.requests_for("GET", SECRET_PATH) == []
        assert len(api.requests_for("GET", "/api/v1/namespaces/monitoring/secrets/am-config")) == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("smtp", [None, {"from": "alerts@example.com"},
                                  {"from": "alerts@example.com", "smartHost": {"host": "smtp.example.com",
                                                                               "port": "587"}}],
                         ids=["no-smtp", "from-only", "both"])
def test_the_alertmanager_configuration_global_smtp_is_judged_and_the_secret_not_read(capsys, monkeypatch,
                                                                                       tmp_path: Path, smtp):
    configuration = {"name": "base", **({"global": {"smtp": smtp}} if smtp else {})}
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(_owner("Alertmanager", "monitoring", "main", alertmanagerConfigSelector={},
                        alertmanagerConfigNamespaceSelector={}, alertmanagerConfiguration=configuration))
        api.seed(_secret(BASE))  # takes no part: alertmanagerConfiguration takes precedence
        warnings = _warnings(capsys, monkeypatch, tmp_path, api.url)
        assert api.requests_for("GET", SECRET_PATH) == []
    if smtp and "smartHost" in smtp:
        assert warnings == []
        return
    (warning,) = warnings
    missing = "smarthost" if smtp else "smarthost and from"
    assert warning.startswith(f"notifications: Alertmanager monitoring/main has no global SMTP {missing} "
                              "(spec.alertmanagerConfiguration.global.smtp sets no smartHost.host")
    assert "every route of the Alertmanager stops loading" in warning
    assert "Fix: set spec.alertmanagerConfiguration.global.smtp.smartHost ({host, port}) and .from" in warning


@pytest.mark.timeout(120)
def test_a_refused_secret_read_says_the_check_was_not_made_and_names_the_permission(capsys, monkeypatch,
                                                                                   tmp_path: Path):
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]},
             {"apiGroups": ["apiextensions.k8s.io", "monitoring.coreos.com"], "resources": ["*"], "verbs": ["get"]},
             {"apiGroups": [""], "resources": ["namespaces", "configmaps"], "verbs": ["get"]}]
    with KubeApiStandIn(crds=_crds(), tokens={"t": rules}) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(WITH_SMTP))
        (refused,) = _warnings(capsys, monkeypatch, tmp_path, api.url)
    assert refused.startswith("notifications: could not check the SMTP settings of Alertmanager monitoring/main "
                              "(403 Forbidden: ")
    assert ('needs RBAC permission to get secrets (apiGroups [""]) in namespace monitoring; check with '
            "`kubectl auth can-i get secrets/alertmanager-main -n monitoring`") in refused
    assert "every route of the Alertmanager stops loading" in refused


@pytest.mark.timeout(120)
def test_without_an_email_channel_no_secret_is_read(capsys, monkeypatch, tmp_path: Path):
    text = FRAUD.read_text()
    email = "    kind: email\n    address: ml-team@example.com\n"
    assert email in text
    spec = tmp_path / "spec" / "mlsystem.yaml"
    spec.parent.mkdir()
    spec.write_text(text.replace(email, "    kind: webhook\n    url: https://hooks.example.com/ml-team\n"))
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        assert _warnings(capsys, monkeypatch, tmp_path, api.url, spec=spec) == []
        assert api.requests_for("GET", SECRET_PATH) == []
        (emailing,) = _warnings(capsys, monkeypatch, tmp_path, api.url)  # the same cluster, the email channel back
        assert emailing.startswith("notifications: Alertmanager monitoring/main has no global SMTP")
        assert len(api.requests_for("GET", SECRET_PATH)) == 1


@pytest.mark.timeout(120)
def test_an_unquoted_impossible_date_in_the_secret_is_no_internal_error(capsys, monkeypatch, tmp_path: Path):
    """audit secrets-5: ``smtp_hello: 2024-02-30`` made PyYAML's timestamp resolver raise ValueError and
    ``plan --refresh`` exit 1 with "internal error: ValueError: day is out of range for month";
    Alertmanager reads it as text, and so does the check (exit 0, the settings found)."""
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(ALERTMANAGER)
        api.seed(_secret(WITH_SMTP.replace("global:\n", "global:\n  smtp_hello: 2024-02-30\n", 1)))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []
        assert len(api.requests_for("GET", SECRET_PATH)) == 1
