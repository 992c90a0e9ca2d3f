"""A namespace user cannot read CustomResourceDefinitions (cluster-scoped); the CRD checks then ask API
discovery (audit kubevers-2), which every authenticated user may read (Kubernetes "Using RBAC
Authorization", "Default roles and role bindings": ClusterRole ``system:discovery``, bound to
``system:authenticated``). ``GET /apis/<group>/<version>`` lists the resources served there.

The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``), not a Kubernetes: its
discovery paths answer any known token, as ``system:discovery`` does, and its RBAC is the token's rules.
"""

from __future__ import annotations

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.preflight import preflight
from tests.kube.test_preflight import _full_cluster
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NAMESPACE_USER = [{"apiGroups": ["", "apps", "kubeflow.org", "serving.kserve.io", "kueue.x-k8s.io", "monitoring.coreos.com"],
                   "resources": ["*"], "verbs": ["*"]}]
"""Everything in the namespaced groups, nothing in ``apiextensions.k8s.io`` (the finding's user)."""
RULES = "Prometheus operator (PrometheusRule CRD)"


def _crd_results(crds: list[dict]) -> tuple[dict, list]:
    needed = [p for p in cluster_prerequisites(compiled(REFERENCE, "dev")) if p.check.crd]
    with KubeApiStandIn(crds=crds, tokens={"t": NAMESPACE_USER}) as api, \
            KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
        results = {r.prerequisite.name: r for r in preflight(kube, needed)}
        reads = [(r.path, r.status) for r in api.requests]
    return results, reads


def test_a_user_who_cannot_read_crds_gets_served_from_discovery_and_unknown_only_where_a_schema_is_needed():
    results, reads = _crd_results(_full_cluster())
    assert len(results) == 10
    assert {n: r.state for n, r in results.items() if n != RULES} == dict.fromkeys(set(results) - {RULES}, "ok")
    assert "(API discovery; the CRD itself is not readable by this user)" in results["Kueue (clusterqueues CRD)"].detail
    rules = results[RULES]
    assert rules.state == "unknown" and "served in v1 (API discovery)" in rules.detail
    assert "its schema could not be read to check spec.groups[].rules[].keep_firing_for" in rules.detail
    assert ("/apis/kueue.x-k8s.io/v1beta2", 200) in reads and ("/apis/serving.knative.dev", 200) in reads
    assert all(status == 403 for path, status in reads if "customresourcedefinitions" in path)


def test_an_older_kueue_seen_through_discovery_is_missing():
    results, _ = _crd_results(_full_cluster(kueue=("v1beta1",)))
    kueue = results["Kueue (clusterqueues CRD)"]
    assert kueue.state == "missing"
    assert "the API serves no clusterqueues in kueue.x-k8s.io/v1beta2 (API discovery)" in kueue.detail


def test_no_crd_at_all_is_missing_through_discovery():
    results, _ = _crd_results([])
    assert {r.state for r in results.values()} == {"missing"}
    assert "the API serves no group serving.knative.dev" in results["Knative Serving (KServe Serverless mode)"].detail
