"""A field the graph sets must be in the served CRD's schema (audit kubevers-1), checked by the cluster preflight.

The rule under test (sources in ``mlops_infra/compile/kubernetes/prerequisites.py``): the PrometheusRules
of a graph with drift monitors or rollback notices set ``keep_firing_for``, which the PrometheusRule CRD
declares from prometheus-operator 0.66 (CHANGELOG 0.66.0, #5651); an older CRD, which serves ``v1`` all
the same, prunes the field at create and refuses every later server-side apply of those objects. The
v0.65.0 CRD is the real one, byte-exact (``tests/fixtures/crds/README.md``).

The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``), not a Kubernetes: it serves
the CRD reads the preflight makes over the real REST protocol; it neither prunes nor converts.
"""

from __future__ import annotations

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.preflight import declares, preflight
from tests.support.crds import LOCAL_CRD_DIR
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
RULES = "Prometheus operator (PrometheusRule CRD)"
PATH = "spec.groups[].rules[].keep_firing_for"


def _rules_check(crd: dict):
    [needed] = [p for p in cluster_prerequisites(compiled(REFERENCE, "dev")) if p.name == RULES]
    with KubeApiStandIn(crds=[crd]) as api, KubeClient.from_url(api.url, retry=FAST) as kube:
        [result] = preflight(kube, [needed])
    return needed, result


def test_the_reference_dev_graphs_prometheus_rules_need_keep_firing_for_in_the_crd():
    needed = {p.name: p for p in cluster_prerequisites(compiled(REFERENCE, "dev"))}
    assert needed[RULES].check.fields == ((PATH, "prometheus-operator 0.66"),)
    assert needed["Prometheus operator (ServiceMonitor CRD)"].check.fields == ()


def test_a_prometheus_operator_0_65_crd_serves_v1_but_lacks_keep_firing_for_and_is_missing_with_the_upgrade():
    [old] = load_crds("monitoring.coreos.com_prometheusrules.v0.65.0.yaml", directory=LOCAL_CRD_DIR)
    _, result = _rules_check(old)
    assert result.state == "missing"
    warning = result.warning()
    assert (f"CRD prometheusrules.monitoring.coreos.com v1 has no {PATH} in its schema: it is older than "
            "prometheus-operator 0.66") in warning
    assert "refuses every later server-side apply" in warning
    assert "upgrade prometheus-operator and its CRDs to 0.66 or later" in warning


def test_the_current_crd_declares_it():
    [current] = load_crds("monitoring.coreos.com_prometheusrules.yaml")
    _, result = _rules_check(current)
    assert result.state == "ok", result.detail


def test_a_schema_declares_a_path_through_properties_and_items_or_below_preserved_unknown_fields():
    leaf = {"type": "object", "properties": {"groups": {"type": "array", "items": {
        "type": "object", "properties": {"rules": {"type": "array", "items": {
            "type": "object", "properties": {"keep_firing_for": {"type": "string"}}}}}}}}}
    schema = {"type": "object", "properties": {"spec": leaf}}
    assert declares(schema, PATH)
    del leaf["properties"]["groups"]["items"]["properties"]["rules"]["items"]["properties"]["keep_firing_for"]
    assert not declares(schema, PATH)
    assert declares({"type": "object", "properties": {"spec": {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True}}}, PATH)
    assert not declares({"type": "object", "properties": {}}, PATH)
