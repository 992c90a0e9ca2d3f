"""GPU node labels a scale-from-zero cluster can satisfy (audit preflight-5), checked on a cluster.

The rules under test (sources in ``mlops_infra/kube/gpu_nodes.py``): Karpenter's ``Compatible``
(kubernetes-sigs/karpenter ``pkg/scheduling/requirements.go``) refuses a pod requiring a label that is
not well-known and that no NodePool defines (template labels or requirements); GPU Feature Discovery's
``nvidia.com/gpu.product`` is not well-known (``pkg/apis/v1/labels.go``, and the AWS provider's list
holds ``karpenter.k8s.aws/instance-gpu-name``, no ``nvidia.com/*``) and is only on running GPU nodes.

The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``), not a Kubernetes: it serves
Nodes, and NodePools once their CRD is installed (404 without it, as a cluster without Karpenter).
"""

from __future__ import annotations

import pytest

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.gpu_nodes import gpu_label_checks, gpu_selections
from mlops_infra.kube.preflight import Result, preflight
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, write_kubeconfig
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
LABEL, VALUE = "nvidia.com/gpu.product", "NVIDIA-A10G"
USERS = ("InferenceService endpoints.scorer", "Kueue ResourceFlavor clusters.gpu-train (training runs)")

NODE_POOL_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": "nodepools.karpenter.sh"},
                 "spec": {"group": "karpenter.sh", "scope": "Cluster", "names": {"plural": "nodepools", "kind": "NodePool"},
                          "versions": [{"name": "v1", "served": True, "storage": True}]}}
"""Karpenter v1's NodePool CRD, minimal (cluster-scoped, ``karpenter.sh/v1``)."""


def _pool(name: str, requirements: list[dict], labels: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": labels or {}},
                                  "spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                                           "requirements": requirements}}}}


GPU_NAME_ONLY = _pool("gpu", [{"key": "karpenter.k8s.aws/instance-gpu-name", "operator": "In", "values": ["a10g"]},
                              {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}])
"""The finding's cluster: a GPU NodePool selecting A10G instances by Karpenter's own label only."""


def _checks(api: KubeApiStandIn, env: str = "dev") -> list[Result]:
    with KubeClient.from_url(api.url, retry=FAST) as kube:
        return [Result(*c) for c in gpu_label_checks(kube, compiled(REFERENCE, env))]


def test_the_reference_dev_graph_selects_a10g_nodes_for_its_flavor_and_scorer():
    assert gpu_selections(compiled(REFERENCE, "dev")) == {(LABEL, VALUE): list(USERS)}


def test_no_node_and_a_nodepool_defining_only_karpenters_gpu_label_warns_with_the_objects_and_the_fixes():
    with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api:
        api.seed(GPU_NAME_ONLY)
        [result] = _checks(api)
        reads = [r.path for r in api.requests]
    assert result.state == "missing" and result.prerequisite.needed_by == USERS
    text = result.warning()
    assert text.startswith(f"cluster preflight: a GPU node labelled {LABEL}={VALUE} is missing (no Node carries")
    assert "no karpenter.sh/v1 NodePool sets it" in text and "stay Pending" in text
    assert f"needed by {', '.join(USERS)}" in text
    assert f"spec.template.metadata.labels ({LABEL}: {VALUE})" in text and "nodes.min >= 1" in text
    assert reads == ["/api/v1/nodes", "/apis/karpenter.sh/v1/nodepools"]


def test_no_karpenter_at_all_is_no_nodepool():
    with KubeApiStandIn() as api:
        [result] = _checks(api)
    assert result.state == "missing" and "no Node carries" in result.detail


def test_a_running_node_carrying_the_label_is_enough_and_nodepools_are_not_read():
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-1-2", "labels": {LABEL: VALUE}}}
    with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api:
        api.seed(node)
        [result] = _checks(api)
        reads = [r.path for r in api.requests]
    assert result.state == "ok" and result.warning() is None
    assert reads == ["/api/v1/nodes"]


def test_a_node_with_another_gpu_does_not_count():
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-1-3", "labels": {LABEL: "Tesla-T4"}}}
    with KubeApiStandIn() as api:
        api.seed(node)
        [result] = _checks(api)
    assert result.state == "missing"


def test_a_nodepool_defines_the_label_by_template_label_or_a_matching_requirement():
    cases = {
        "labels": _pool("a", [], {LABEL: VALUE}),
        "in": _pool("b", [{"key": LABEL, "operator": "In", "values": ["Tesla-T4", VALUE]}]),
        "exists": _pool("c", [{"key": LABEL, "operator": "Exists"}]),
        "notin-other": _pool("d", [{"key": LABEL, "operator": "NotIn", "values": ["Tesla-T4"]}]),
    }
    for name, pool in cases.items():
        with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api:
            api.seed(pool)
            [result] = _checks(api)
        assert result.state == "ok", name
        assert result.detail == f"NodePool {pool['metadata']['name']} defines {LABEL}={VALUE}"


def test_a_nodepool_that_excludes_or_names_another_value_does_not_define_it():
    for pool in (_pool("e", [{"key": LABEL, "operator": "In", "values": ["Tesla-T4"]}]),
                 _pool("f", [{"key": LABEL, "operator": "NotIn", "values": [VALUE]}]),
                 _pool("g", [{"key": LABEL, "operator": "DoesNotExist"}]),
                 _pool("h", [], {LABEL: "Tesla-T4"})):
        with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api:
            api.seed(pool)
            [result] = _checks(api)
        assert result.state == "missing", pool["metadata"]["name"]


def test_refused_reads_are_unknown_not_missing():
    nodes_only = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]
    with KubeApiStandIn(crds=[NODE_POOL_CRD], tokens={"t": [], "n": nodes_only}) as api:
        with KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
            [nothing] = [Result(*c) for c in gpu_label_checks(kube, compiled(REFERENCE, "dev"))]
        with KubeClient.from_url(api.url, token="n", retry=FAST) as kube:
            [pools] = [Result(*c) for c in gpu_label_checks(kube, compiled(REFERENCE, "dev"))]
    assert nothing.state == "unknown" and nothing.detail.startswith("listing Nodes: ")
    assert nothing.warning().startswith("cluster preflight: could not check a GPU node labelled")
    assert pools.state == "unknown" and "listing karpenter.sh/v1 NodePools: " in pools.detail


def test_preflight_given_the_graph_adds_the_gpu_label_result_after_the_prerequisites():
    with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api, KubeClient.from_url(api.url, retry=FAST) as kube:
        api.seed(GPU_NAME_ONLY)
        results = preflight(kube, (), compiled(REFERENCE, "dev"))
        without = preflight(kube, ())
    assert [r.prerequisite.name for r in results] == [f"a GPU node labelled {LABEL}={VALUE}"]
    assert results[0].state == "missing" and without == []


def test_a_graph_without_gpus_reads_nothing():
    class _Graph:
        resources = ()

    with KubeApiStandIn() as api, KubeClient.from_url(api.url, retry=FAST) as kube:
        assert gpu_label_checks(kube, _Graph()) == []
        assert api.requests == []


@pytest.mark.timeout(120)
def test_plan_refresh_warns_that_no_node_and_no_nodepool_gives_the_gpu_label(tmp_path, monkeypatch):
    """The finding's case end to end: the reference's dev graph (applied, so the scorer is compiled), a
    cluster with no Node and a GPU NodePool selecting by ``karpenter.k8s.aws/instance-gpu-name`` only."""
    state = tmp_path / "applied.json"
    state.write_text(dumps(applied_state(compiled(REFERENCE, "dev"))))
    with KubeApiStandIn(crds=[NODE_POOL_CRD]) as api:
        api.seed(GPU_NAME_ONLY)
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", api.url)))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HOME", str(tmp_path))  # no Pulumi login
        result = run_cli("plan", str(REFERENCE), "--env", "dev", "--refresh", "--state", str(state))
    assert result.code == 0, result.output
    text = " ".join(result.output.split())
    assert f"cluster preflight: a GPU node labelled {LABEL}={VALUE} is missing (no Node carries" in text
    assert f"needed by {', '.join(USERS)}" in text


NODE_POOL_CRD_V1BETA1 = {**NODE_POOL_CRD, "spec": {**NODE_POOL_CRD["spec"],
                                                   "versions": [{"name": "v1beta1", "served": True, "storage": True}]}}
"""Karpenter 0.32 to 0.37's NodePool CRD, minimal: ``v1beta1`` only (kubernetes-sigs/karpenter
``pkg/apis/crds/karpenter.sh_nodepools.yaml`` at v0.32.0 and v0.37.0, line 27; v1.0.0 adds ``v1``)."""


def test_a_karpenter_serving_nodepools_at_v1beta1_only_is_read_there():
    """Audit kubevers-4: Karpenter 0.32-0.37; a v1beta1 NodePool's template labels are the same fields."""
    pool = {**_pool("gpu-a10g", [], {LABEL: VALUE}), "apiVersion": "karpenter.sh/v1beta1"}
    with KubeApiStandIn(crds=[NODE_POOL_CRD_V1BETA1]) as api:
        api.seed(pool)
        [result] = _checks(api)
        reads = [(r.path, r.status) for r in api.requests]
    assert result.state == "ok", result.detail
    assert result.detail == f"NodePool gpu-a10g (karpenter.sh/v1beta1) defines {LABEL}={VALUE}"
    assert reads == [("/api/v1/nodes", 200), ("/apis/karpenter.sh/v1/nodepools", 404),
                     ("/apis/karpenter.sh/v1beta1/nodepools", 200)]


def test_v1beta1_nodepools_that_do_not_define_the_label_are_missing_naming_that_version():
    with KubeApiStandIn(crds=[NODE_POOL_CRD_V1BETA1]) as api:
        api.seed({**GPU_NAME_ONLY, "apiVersion": "karpenter.sh/v1beta1"})
        [result] = _checks(api)
    assert result.state == "missing" and "no karpenter.sh/v1beta1 NodePool sets it" in result.detail
