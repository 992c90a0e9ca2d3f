"""Pod Security admission of the compiled pods (audit k8srbac-1): compile and ``plan --refresh``'s preflight.

The rules under test (sources in ``mlops_infra/kube/pod_security.py`` and ``compile/kubernetes/training.py``
``ROOT_ALLOWED_SECURITY``): a namespace labelled ``pod-security.kubernetes.io/enforce: restricted`` refuses a pod
unless each container sets ``allowPrivilegeEscalation: false`` and drops ``ALL`` capabilities, and the pod or each
container sets ``runAsNonRoot: true`` and a ``RuntimeDefault``/``Localhost`` seccomp profile
(``k8s.io/pod-security-admission/policy``); the training operator adds ``init-pytorch`` (no securityContext) to each
Worker of a job with a Master; KServe adds ``storage-initializer`` with ClusterStorageContainer ``default``'s
securityContext. The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``).
"""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.pod_security import (
    ENFORCE_LABEL,
    ENFORCE_VERSION_LABEL,
    graph_pods,
    pod_security_checks,
    violations,
)
from mlops_infra.kube.preflight import preflight
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import CASE_IDS, REFERENCE, compile_text, compiled, graph_of

FAST = RetryPolicy(attempts=1)
HARDENED_STORAGE = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
                    "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
"""A ClusterStorageContainer ``default`` whose container passes restricted (the Helm values plus a seccomp profile)."""


def _namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _checks(graph, *objects, tokens=None):
    with KubeApiStandIn(tokens=tokens) as api:
        for obj in objects:
            api.seed(obj)
        with KubeClient.from_url(api.url, token="t" if tokens else None, retry=FAST) as kube:
            return pod_security_checks(kube, graph)


def _two_nodes() -> str:
    text = REFERENCE.read_text()
    text = text.replace("clusters.gpu-train.nodes: {min: 0, max: 1}", "clusters.gpu-train.nodes: {min: 0, max: 2}")
    out = text.replace("training_jobs.retrain.nodes: 1 ", "training_jobs.retrain.nodes: 2 ")
    assert out != text
    return out


def test_the_training_container_and_the_predictor_carry_the_three_root_allowed_fields():
    graph = compiled(REFERENCE, "dev")
    template = next(json.loads(r.inputs["data"]["pytorchjob.json"]) for r in graph.resources
                    if "pytorchjob.json" in (r.inputs.get("data") or {}))
    pod = template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    expected = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["containers"][0]["securityContext"] == expected
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}  # covers init-pytorch's seccomp
    predictor = next(r.inputs["spec"]["predictor"] for r in graph.resources if r.inputs.get("kind") == "InferenceService")
    assert predictor["model"]["securityContext"] == expected
    assert "securityContext" not in predictor  # Knative refuses a pod-level one without its flag
    assert "runAsNonRoot" not in json.dumps(pod["containers"][0])  # a root image must still start


@pytest.mark.parametrize("case", CASE_IDS)
def test_restricted_refuses_no_compiled_pod_but_for_the_users_image_running_as_root(case):
    """With a hardened storage initializer, the only restricted check a compiled pod fails is runAsNonRoot on the
    container running the spec's image (``pytorch``, a custom ``kserve-container``), and a Worker's init-pytorch."""
    user_image = {"'pytorch'", "'kserve-container'", "'agent'"}  # KServe's agent copies kserve-container's context
    for pod in graph_pods(graph_of(case), HARDENED_STORAGE):
        for found in violations(pod.spec, "restricted"):
            if "'init-pytorch'" in found and pod.what == "a PyTorchJob run's Worker":
                continue
            head, _, names = found.partition(": pod or container")
            named = set(names.removeprefix("s").split(" must ")[0].strip().split(", "))
            assert head == "runAsNonRoot != true" and named <= user_image, (pod.address, pod.what, found)


def test_restricted_namespace_names_the_training_run_and_the_predictor():
    graph = compiled(REFERENCE, "dev")
    results = _checks(graph, _namespace("fraud-dev", **{ENFORCE_LABEL: "restricted"}))
    by_item = {p.needed_by: (state, detail, p.enable) for p, state, detail in results}
    assert set(by_item) == {("training_jobs.retrain",), ("endpoints.scorer",)}
    state, detail, fix = by_item[("training_jobs.retrain",)]
    assert state == "refused" and 'enforces Pod Security "restricted:latest"' in detail
    assert "a PyTorchJob run's Master: runAsNonRoot != true: pod or container 'pytorch'" in detail
    assert "the training operator" in detail and "namespace that enforces baseline" in fix
    state, detail, fix = by_item[("endpoints.scorer",)]
    assert "container 'storage-initializer' must set securityContext.seccompProfile.type" in detail
    assert "'kserve-container'" not in detail  # the runtime's runAsNonRoot + the compiled three fields
    assert "KServe's kustomize default (no securityContext) assumed" in detail and "ClusterStorageContainer default" in fix
    assert "enforces baseline" not in fix  # the storage initializer's runAsNonRoot is its ClusterStorageContainer's


def test_the_preflight_reports_them_as_warnings_before_apply():
    graph = compiled(REFERENCE, "dev")
    with KubeApiStandIn() as api:
        api.seed(_namespace("fraud-dev", **{ENFORCE_LABEL: "restricted"}))
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            results = preflight(kube, cluster_prerequisites(graph), graph)
    warnings = [r.warning() for r in results if r.state == "refused"]
    assert len(warnings) == 2 and all(w.startswith("cluster preflight: namespace fraud-dev enforces") for w in warnings)
    assert all("FailedCreate" in w and "Fix: " in w for w in warnings)


def test_a_multi_node_jobs_worker_is_refused_for_the_operators_init_pytorch():
    graph = compile_text(_two_nodes())
    results = _checks(graph, _namespace("fraud-dev", **{ENFORCE_LABEL: "restricted"}))
    detail, fix = next((d, p.enable) for p, _, d in results if p.needed_by == ("training_jobs.retrain",))
    assert "a PyTorchJob run's Worker: allowPrivilegeEscalation != false: container 'init-pytorch'" in detail
    assert "seccompProfile" not in detail  # the pod-level profile covers it
    assert "--pytorch-init-container-template-file" in fix


def test_a_hardened_storage_container_read_from_the_cluster_clears_the_endpoint():
    graph = compiled(REFERENCE, "dev")
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "clusterstoragecontainers.serving.kserve.io"},
           "spec": {"group": "serving.kserve.io", "scope": "Cluster",
                    "names": {"plural": "clusterstoragecontainers", "kind": "ClusterStorageContainer"},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True}]}}
    storage = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterStorageContainer",
               "metadata": {"name": "default"},
               "spec": {"container": {"name": "storage-initializer", "securityContext": HARDENED_STORAGE}}}
    with KubeApiStandIn(crds=[crd]) as api:
        api.seed(_namespace("fraud-dev", **{ENFORCE_LABEL: "restricted"}))
        api.seed(storage)
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            results = pod_security_checks(kube, graph)
    assert [p.needed_by for p, _, _ in results] == [("training_jobs.retrain",)]


@pytest.mark.parametrize("labels", [{ENFORCE_LABEL: "baseline"}, {ENFORCE_LABEL: "privileged"}, {},
                                    {"pod-security.kubernetes.io/warn": "restricted"}])
def test_baseline_privileged_or_no_enforce_label_admits_every_compiled_pod(labels):
    assert _checks(compiled(REFERENCE, "dev"), _namespace("fraud-dev", **labels)) == []


def test_a_namespace_not_there_yet_is_not_judged():
    assert _checks(compiled(REFERENCE, "dev")) == []


def test_an_unreadable_namespace_is_unknown_and_names_the_pods_restricted_would_refuse():
    results = _checks(compiled(REFERENCE, "dev"), _namespace("fraud-dev", **{ENFORCE_LABEL: "restricted"}), tokens={"t": []})
    assert [(state, p.needed_by) for p, state, _ in results] == [
        ("unknown", ("endpoints.scorer", "training_jobs.retrain"))]
    assert "cannot get namespaces/fraud-dev" in results[0][2]


def test_an_older_enforce_version_skips_the_checks_it_did_not_have():
    """capabilities_restricted starts at 1.22, runAsUser at 1.23 (their MinimumVersion)."""
    pod = {"containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                                             "runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}}}]}
    assert [v.split(":")[0] for v in violations(pod, "restricted")] == ["runAsUser=0", "unrestricted capabilities"]
    assert violations(pod, "restricted", (1, 21)) == []
    assert _checks(compiled(REFERENCE, "dev"), _namespace(
        "fraud-dev", **{ENFORCE_LABEL: "restricted", ENFORCE_VERSION_LABEL: "v1.21"}))[0][2].count('"restricted:v1.21"') == 2


def test_baseline_judges_only_its_own_checks():
    """baseline: privileged, host namespaces, hostPath, hostPort, capabilities beyond the default set, Unconfined
    seccomp (check_privileged.go, check_hostNamespaces.go, check_hostPathVolumes.go, check_hostPorts.go,
    check_capabilities_baseline.go, check_seccompProfile_baseline.go); no runAsNonRoot or drop ALL."""
    plain = {"containers": [{"name": "c"}], "volumes": [{"name": "v", "emptyDir": {}}]}
    assert violations(plain, "baseline") == [] and len(violations(plain, "restricted")) == 4
    loose = {"hostNetwork": True, "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
             "containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}],
                             "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]},
                                                 "seccompProfile": {"type": "Unconfined"}}}]}
    assert [v.split(":")[0] for v in violations(loose, "baseline")] == [
        "privileged", "host namespaces", "hostPath volumes", "hostPort", "non-default capabilities", "seccompProfile"]
    assert "SYS_ADMIN" in violations(loose, "baseline")[4] and "CHOWN" not in violations(loose, "baseline")[4]
    assert violations(loose, "privileged") == []
