"""``plan --refresh`` on Kubernetes reads the cluster's Prometheus and Alertmanager objects and warns
when none loads the environment's PrometheusRules, ServiceMonitors, PodMonitors or
AlertmanagerConfigs (cli/commands/plan.monitoring_selector_preflight, kube/monitoring_stack.py,
plan/monitoring_selectors.py).

Against the Kubernetes API stand-in (tests/support/kube_api.py) serving prometheus-operator's real
Prometheus and Alertmanager CRDs (tests/fixtures/crds, v0.89.0): a kube-prometheus-stack-like install
selecting only ``release: kps`` gets one warning per kind; one selecting everything (empty selectors;
an Alertmanager in the environment's namespace with a null namespace selector, or one elsewhere with
``{}``) gets none; a cluster that refuses to list prometheuses says the check was not made and names
the permission; without the CRDs (no prometheus-operator) nothing is said here (the cluster preflight
names the missing CRDs). The stand-in's cluster-wide list of the type, and its RBAC refusal, have a
test of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.cli.main import main
from mlops_infra.kube import KubeClient
from mlops_infra.kube.errors import KubeForbidden
from mlops_infra.kube.monitoring_stack import ALERTMANAGER, PROMETHEUS, read_namespace, read_owners
from tests.state.test_kube_live import cluster_crds
from tests.support import fixtures
from tests.support.crds import LOCAL_CRD_DIR
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE, CONTEXT = "fraud-dev", "kind-mlops"
pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads  # reads a test gives up on end before the next test


def _crds() -> list[dict]:
    return [*cluster_crds(), *load_crds("monitoring.coreos.com_prometheuses.yaml",
                                        "monitoring.coreos.com_alertmanagers.yaml", directory=LOCAL_CRD_DIR)]


def _owner(kind: str, namespace: str, name: str, **spec) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


ALERTING = {"alertmanagers": [{"namespace": "monitoring", "name": "alertmanager-operated", "port": "web"}]}
RELEASE = {"matchLabels": {"release": "kps"}}
KPS_PROMETHEUS = _owner("Prometheus", "monitoring", "kps-prometheus", ruleSelector=RELEASE, ruleNamespaceSelector={},
                        serviceMonitorSelector=RELEASE, serviceMonitorNamespaceSelector={},
                        podMonitorSelector=RELEASE, podMonitorNamespaceSelector={}, alerting=ALERTING)
KPS_ALERTMANAGER = _owner("Alertmanager", "monitoring", "kps-alertmanager", alertmanagerConfigSelector=RELEASE)
ALL_PROMETHEUS = _owner("Prometheus", "monitoring", "kps-prometheus", ruleSelector={}, ruleNamespaceSelector={},
                        serviceMonitorSelector={}, serviceMonitorNamespaceSelector={}, podMonitorSelector={},
                        podMonitorNamespaceSelector={}, alerting=ALERTING)


def test_the_stand_in_lists_prometheuses_in_all_namespaces_and_refuses_without_rbac():
    with KubeApiStandIn(crds=_crds(), tokens={"admin": None, "viewer": [
            {"apiGroups": ["monitoring.coreos.com"], "resources": ["prometheusrules"], "verbs": ["list"]}]}) as api:
        api.seed(KPS_PROMETHEUS)
        api.seed(_owner("Prometheus", "team-b", "other"))
        api.seed(KPS_ALERTMANAGER)
        with KubeClient.from_url(api.url, token="admin") as kube:
            listed = read_owners(kube, PROMETHEUS)
            (alertmanager,) = read_owners(kube, ALERTMANAGER)
            assert read_namespace(kube, NAMESPACE) is None  # not created yet
        with KubeClient.from_url(api.url, token="viewer") as kube, pytest.raises(KubeForbidden) as refused:
            read_owners(kube, PROMETHEUS)
    assert sorted((p["metadata"]["namespace"], p["kind"]) for p in listed) == [("monitoring", "Prometheus"),
                                                                                ("team-b", "Prometheus")]
    assert alertmanager["spec"]["alertmanagerConfigSelector"] == RELEASE
    assert refused.value.status == 403
    assert ('cannot list resource "prometheuses" in API group "monitoring.coreos.com" at the cluster scope'
            in refused.value.message)


def refresh_warnings(capsys, monkeypatch, tmp_path: Path, server: str, token: str = "t", *, spec: Path = FRAUD,
                     prefixes: tuple[str, ...] = ("monitoring",), state: Path | None = None) -> list[str]:
    """``plan --refresh --format json`` of ``spec``'s dev environment against the cluster at ``server``
    (exit 0; against ``state`` when given): its warnings that start with one of ``prefixes``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", server, token, (CONTEXT,))))
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(spec), "--env", "dev", "--refresh", "--format", "json",
              *(["--state", str(state)] if state else [])])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    return [w for w in json.loads(out)["warnings"] if w.startswith(prefixes)]


_warnings = refresh_warnings


@pytest.mark.timeout(120)
def test_plan_refresh_warns_when_only_release_kps_is_selected(capsys, monkeypatch, tmp_path: Path):
    # against the state of an apply that served the scorer (its PodMonitor exists): on a first plan the
    # scorer waits for its version (this apply creates the registry: firstapply-2) and has no PodMonitor
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    state = tmp_path / "applied.json"
    state.write_text(dumps(applied_state(compile_file(FRAUD, "dev"))), encoding="utf-8")
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(KPS_PROMETHEUS)
        api.seed(KPS_ALERTMANAGER)
        warnings = _warnings(capsys, monkeypatch, tmp_path, api.url, state=state)
        listed = api.requests_for("GET", "/apis/monitoring.coreos.com/v1/prometheuses")
    rules, service, pod, configs = warnings
    assert rules.startswith("monitoring: no Prometheus in the cluster loads this system's PrometheusRules (")
    assert "the alerts of this system will never fire" in rules and "Add release: kps to metadata.labels" in rules
    assert service.startswith("monitoring: no Prometheus in the cluster loads this system's ServiceMonitors")
    assert pod.startswith("monitoring: no Prometheus in the cluster loads this system's PodMonitors")
    assert "these endpoints are not scraped" in pod
    assert configs.startswith("monitoring: no Alertmanager in the cluster loads this system's AlertmanagerConfigs")
    assert "no notification will be sent" in configs and "monitoring/kps-alertmanager" in configs
    assert len(listed) == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("alertmanager", [
    _owner("Alertmanager", NAMESPACE, "team-am", alertmanagerConfigSelector={}),  # null namespace selector: its own
    _owner("Alertmanager", "monitoring", "kps-alertmanager", alertmanagerConfigSelector={},
           alertmanagerConfigNamespaceSelector={}),
], ids=["own-namespace", "every-namespace"])
def test_plan_refresh_says_nothing_when_everything_is_selected(capsys, monkeypatch, tmp_path: Path, alertmanager):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(alertmanager)
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []


@pytest.mark.timeout(120)
def test_a_refused_list_says_the_check_was_not_made_and_names_the_permission(capsys, monkeypatch, tmp_path: Path):
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]},
             {"apiGroups": ["*"], "resources": ["alertmanagers", "resourcequotas", "limitranges"], "verbs": ["list"]}]
    with KubeApiStandIn(crds=_crds(), tokens={"t": rules}) as api:
        api.seed(ALL_PROMETHEUS)
        api.seed(_owner("Alertmanager", "monitoring", "kps-alertmanager", alertmanagerConfigSelector={},
                        alertmanagerConfigNamespaceSelector={}))
        (refused,) = _warnings(capsys, monkeypatch, tmp_path, api.url)
    assert refused.startswith("monitoring selectors: could not list the cluster's Prometheus objects (403 Forbidden: ")
    assert ('needs RBAC permission to list prometheuses (apiGroups ["monitoring.coreos.com"]) at the cluster scope; '
            "check with `kubectl auth can-i list prometheuses.monitoring.coreos.com --all-namespaces`") in refused


@pytest.mark.timeout(120)
def test_without_prometheus_operator_it_leaves_the_missing_crds_to_the_cluster_preflight(capsys, monkeypatch,
                                                                                        tmp_path: Path):
    with KubeApiStandIn() as api:
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []


@pytest.mark.timeout(120)
def test_a_prometheus_overriding_honor_labels_on_the_pushgateways_scrape_is_a_warning(capsys, monkeypatch,
                                                                                    tmp_path: Path):
    """audit k8smon-2: prometheus-operator v0.89.0 ``AddHonorLabels`` writes ``honor_labels: false`` for
    every ServiceMonitor when ``spec.overrideHonorLabels`` is true; the pushed ``job`` becomes ``exported_job``."""
    overriding = {**ALL_PROMETHEUS, "spec": {**ALL_PROMETHEUS["spec"], "overrideHonorLabels": True}}
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(overriding)
        api.seed(_owner("Alertmanager", "monitoring", "kps-alertmanager", alertmanagerConfigSelector={},
                        alertmanagerConfigNamespaceSelector={}))
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url)
    assert warning.startswith("monitoring: Prometheus monitoring/kps-prometheus sets spec.overrideHonorLabels: true")
    # a first plan: the scorer waits for its version, so its rollback notice is not in the graph yet
    assert "these alerts cannot work: fraud-drift, monitor_silent_drift (a drift alert" in warning
