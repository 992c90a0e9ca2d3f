"""The Prometheus that loads the graph's monitors must be able to discover their targets, and the rollout runner to
query it (audit k8srbac-3): ``plan --refresh``'s cluster preflight (``mlops_infra/kube/prometheus_access.py``).

The cluster is kube-prometheus as its manifests install it (Prometheus ``monitoring/k8s``, ServiceAccount
``prometheus-k8s``, every monitor selected; Roles for target discovery in ``default``, ``kube-system`` and
``monitoring`` only: ``manifests/prometheus-roleSpecificNamespaces.yaml``, ``roleBindingSpecificNamespaces.yaml``;
NetworkPolicy ``prometheus-k8s``: ``manifests/prometheus-networkPolicy.yaml``), on the Kubernetes API stand-in,
which answers the LocalSubjectAccessReviews from the Roles and RoleBindings it holds (``tests/support/kube_api.py``).
"""

from __future__ import annotations

import copy

import pytest
import yaml

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.monitoring_stack import PROMETHEUS, read_owners
from mlops_infra.kube.prometheus_access import pod_labels, prometheus_access_checks
from tests.cli.test_plan_monitoring_selectors import _crds as cli_crds
from tests.cli.test_plan_monitoring_selectors import refresh_warnings
from tests.support import fixtures
from tests.support.crds import LOCAL_CRD_DIR
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NS = "fraud-dev"
no_stray_reads = fixtures.no_stray_reads
KP_LABELS = {"app.kubernetes.io/component": "prometheus", "app.kubernetes.io/instance": "k8s",
             "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "kube-prometheus"}
KUBE_PROMETHEUS = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "k8s", "namespace": "monitoring"},
    "spec": {"serviceAccountName": "prometheus-k8s", "podMetadata": {"labels": KP_LABELS},
             "podMonitorSelector": {}, "podMonitorNamespaceSelector": {}, "ruleSelector": {}, "ruleNamespaceSelector": {},
             "serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {},
             "alerting": {"alertmanagers": [{"namespace": "monitoring", "name": "alertmanager-main", "port": "web"}]}}}
"""kube-prometheus ``manifests/prometheus-prometheus.yaml`` (the fields that matter here)."""
DISCOVERY_RULES = [{"apiGroups": [""], "resources": ["services", "endpoints", "pods"], "verbs": ["get", "list", "watch"]}]
NETWORK_POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "prometheus-k8s", "namespace": "monitoring"},
    "spec": {"egress": [{}], "ingress": [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                                           "ports": [{"port": 9090, "protocol": "TCP"}, {"port": 8080, "protocol": "TCP"}]}],
             "podSelector": {"matchLabels": KP_LABELS}, "policyTypes": ["Egress", "Ingress"]}}
"""kube-prometheus ``manifests/prometheus-networkPolicy.yaml``."""


def _role(namespace: str, name: str = "prometheus-k8s", rules=DISCOVERY_RULES) -> list[dict]:
    """A Role and a RoleBinding of it to ServiceAccount monitoring/prometheus-k8s in ``namespace``."""
    rbac = "rbac.authorization.k8s.io/v1"
    return [{"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": rules},
            {"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}]}]


KUBE_PROMETHEUS_RBAC = [obj for ns in ("default", "kube-system", "monitoring") for obj in _role(ns)]


def _crds() -> list[dict]:
    return load_crds("monitoring.coreos.com_prometheuses.yaml", directory=LOCAL_CRD_DIR)


def _checks(*objects, graph=None, tokens=None):
    """The checks against a stand-in holding ``objects``, given its Prometheus objects as the CLI reads them."""
    graph = graph or compiled(REFERENCE, "dev")
    with KubeApiStandIn(crds=_crds(), tokens=tokens) as api:
        for obj in objects:
            api.seed(obj)
        with KubeClient.from_url(api.url, token="t" if tokens else None, retry=FAST) as kube:
            return prometheus_access_checks(kube, graph, read_owners(kube, PROMETHEUS), {})


def _kube_prometheus(*extra):
    return (KUBE_PROMETHEUS, *KUBE_PROMETHEUS_RBAC, NETWORK_POLICY, *extra)


def test_kube_prometheus_may_not_discover_the_targets_here_and_drops_the_runners_queries():
    discovery, network = _checks(*_kube_prometheus())
    assert discovery[0].name == f"target discovery of Prometheus monitoring/k8s in namespace {NS}"
    assert discovery[1] == "refused"
    assert "loads PodMonitor metrics-scorer, ServiceMonitor mlops-pushgateway of namespace fraud-dev" in discovery[2]
    assert "ServiceAccount monitoring/prometheus-k8s may not list endpoints, watch endpoints, list pods" in discovery[2]
    assert "kind: RoleBinding" in discovery[0].enable and "name: prometheus-k8s, namespace: monitoring" in discovery[0].enable
    assert network[0].name == "network access from the rollout runner to Prometheus monitoring/k8s"
    assert network[1] == "refused"
    assert network[2].startswith("NetworkPolicy monitoring/prometheus-k8s selects the pods of Prometheus monitoring/k8s")
    assert "kubernetes.io/metadata.name: fraud-dev" in network[0].enable


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("no_stray_reads")
def test_plan_refresh_reports_both_before_apply_and_lists_the_prometheuses_once(capsys, monkeypatch, tmp_path):
    # against the state of an apply that served the scorer: its PodMonitor and the rollout runner exist (on a first
    # plan the scorer waits for its version: firstapply-2)
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    state = tmp_path / "applied.json"
    state.write_text(dumps(applied_state(compile_file(REFERENCE, "dev"))), encoding="utf-8")
    with KubeApiStandIn(crds=cli_crds()) as api:
        for obj in _kube_prometheus():
            api.seed(obj)
        warnings = refresh_warnings(capsys, monkeypatch, tmp_path, api.url, spec=REFERENCE, state=state,
                                    prefixes=("cluster preflight: Prometheus", "cluster preflight: NetworkPolicy"))
        listed = api.requests_for("GET", "/apis/monitoring.coreos.com/v1/prometheuses")
    assert len(warnings) == 2 and len(listed) == 1
    assert warnings[0].startswith("cluster preflight: Prometheus monitoring/k8s loads PodMonitor metrics-scorer, "
                                   "ServiceMonitor mlops-pushgateway")
    assert "Fix: apply this Role and RoleBinding (kubectl apply -f): {apiVersion: v1, kind: List" in warnings[0]
    assert warnings[1].startswith("cluster preflight: NetworkPolicy monitoring/prometheus-k8s selects the pods")
    assert "Fix: add this ingress rule" in warnings[1]


def test_the_role_and_the_ingress_rule_the_warnings_name_clear_them():
    (discovery, _, _), (network, _, _) = _checks(*_kube_prometheus())
    listed = yaml.safe_load(discovery.enable.partition("(kubectl apply -f): ")[2])
    assert [o["kind"] for o in listed["items"]] == ["Role", "RoleBinding"]
    assert listed["items"][0]["rules"] == [{"apiGroups": [""], "resources": ["endpoints", "pods", "services"],
                                            "verbs": ["get", "list", "watch"]}]
    policy = copy.deepcopy(NETWORK_POLICY)
    policy["spec"]["ingress"].append(yaml.safe_load(network.enable.partition("only this rule): ")[2]))
    assert _checks(KUBE_PROMETHEUS, *KUBE_PROMETHEUS_RBAC, *listed["items"], policy) == []


def test_a_cluster_role_bound_to_the_account_counts_and_a_namespace_selector_alone_admits_every_pod_there():
    rbac = "rbac.authorization.k8s.io/v1"
    cluster = [{"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "prometheus"}, "rules": DISCOVERY_RULES},
               {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "prometheus"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus"},
                "subjects": [{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}]}]
    policy = copy.deepcopy(NETWORK_POLICY)
    policy["spec"]["ingress"][0]["from"].append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}})
    assert _checks(KUBE_PROMETHEUS, *cluster, policy) == []


@pytest.mark.parametrize("change", [
    {"from": [{"podSelector": {}}]},  # every pod of monitoring only
    {"from": [{"namespaceSelector": {}}], "ports": [{"port": 8080, "protocol": "TCP"}]},  # not the web port
    {"from": [{"namespaceSelector": {}}], "ports": [{"port": 9090, "protocol": "UDP"}]},
])
def test_rules_that_do_not_admit_the_runner(change):
    policy = copy.deepcopy(NETWORK_POLICY)
    policy["spec"]["ingress"].append(change)
    (network,) = [c for c in _checks(KUBE_PROMETHEUS, *_role(NS), policy) if c[0].name.startswith("network")]
    assert network[1] == "refused"


@pytest.mark.parametrize("change", [
    {},  # no from, no ports: everything
    {"from": [{"namespaceSelector": {}}], "ports": [{"port": 9000, "endPort": 9100, "protocol": "TCP"}]},
    {"from": [{"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                            "values": [NS]}]}, "podSelector": {}}]},
])
def test_rules_that_admit_the_runner(change):
    policy = copy.deepcopy(NETWORK_POLICY)
    policy["spec"]["ingress"].append(change)
    assert _checks(KUBE_PROMETHEUS, *_role(NS), policy) == []


def test_a_policy_for_egress_only_or_for_other_pods_isolates_nothing():
    egress = copy.deepcopy(NETWORK_POLICY)
    egress["spec"]["policyTypes"] = ["Egress"]
    other = copy.deepcopy(NETWORK_POLICY)
    other["spec"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/name": "grafana"}}
    assert _checks(KUBE_PROMETHEUS, *_role(NS), egress, other) == []


def test_an_ip_block_is_not_judged():
    policy = copy.deepcopy(NETWORK_POLICY)
    policy["spec"]["ingress"].append({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})
    (network,) = _checks(KUBE_PROMETHEUS, *_role(NS), policy)
    assert network[1] == "unknown" and "ipBlock" in network[2]


def test_the_operators_pod_labels_win_over_pod_metadata():
    prometheus = copy.deepcopy(KUBE_PROMETHEUS)
    prometheus["spec"]["podMetadata"]["labels"]["prometheus"] = "other"
    labels = pod_labels(prometheus)
    assert labels["prometheus"] == "k8s" and labels["app.kubernetes.io/part-of"] == "kube-prometheus"
    assert labels["operator.prometheus.io/name"] == "k8s" and labels["operator.prometheus.io/shard"] == "0"


def test_endpoint_slice_discovery_needs_endpointslices_and_no_account_is_default():
    prometheus = copy.deepcopy(KUBE_PROMETHEUS)
    prometheus["spec"]["serviceDiscoveryRole"] = "EndpointSlice"
    del prometheus["spec"]["serviceAccountName"]
    (discovery,) = _checks(prometheus)
    assert "ServiceAccount monitoring/default may not" in discovery[2]
    assert "list endpointslices" in discovery[2] and "list endpoints," not in discovery[2]
    assert 'apiGroups: ["discovery.k8s.io"], resources: [endpointslices]' in discovery[0].enable


def test_a_prometheus_that_does_not_select_the_monitors_is_not_judged():
    prometheus = copy.deepcopy(KUBE_PROMETHEUS)
    for key in ("podMonitorSelector", "serviceMonitorSelector", "ruleSelector"):
        prometheus["spec"][key] = {"matchLabels": {"release": "kps"}}
    assert _checks(prometheus, NETWORK_POLICY) == []


def test_no_prometheus_says_nothing_here():
    assert _checks(*KUBE_PROMETHEUS_RBAC, NETWORK_POLICY) == []


def test_a_refused_review_or_policy_list_is_unknown_and_names_the_permission():
    reader = [{"apiGroups": ["monitoring.coreos.com"], "resources": ["prometheuses"], "verbs": ["list"]},
              {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]
    discovery, network = _checks(*_kube_prometheus(), tokens={"t": reader})
    assert discovery[1] == "unknown" and "create on localsubjectaccessreviews" in discovery[2]
    assert network[1] == "unknown" and 'needs list networkpolicies (apiGroups ["networking.k8s.io"]) in monitoring' in network[2]


def test_discovery_granted_to_the_accounts_namespace_group_counts():
    # audit closing-45b-3: a ClusterRoleBinding to Group system:serviceaccounts:monitoring grants every ServiceAccount
    # of monitoring (prometheus-k8s included) the discovery rules; the review must carry the token's groups
    rbac = "rbac.authorization.k8s.io/v1"
    cluster = [{"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "discovery"}, "rules": DISCOVERY_RULES},
               {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "discovery"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "discovery"},
                "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                              "name": "system:serviceaccounts:monitoring"}]}]
    checks = _checks(*_kube_prometheus(*cluster))
    assert [c[0].name for c in checks] == ["network access from the rollout runner to Prometheus monitoring/k8s"]
