"""Cluster preflight (finding A5): what a Kubernetes graph needs, checked on a cluster.

The rules under test (sources in ``mlops_infra/compile/kubernetes/prerequisites.py``):
- KServe, "InferenceService Node Scheduling": in Serverless mode, nodeSelector and tolerations need the
  Knative flags ``kubernetes.podspec-nodeselector`` / ``kubernetes.podspec-tolerations`` in
  ``knative-serving/config-features``;
- knative/serving ``pkg/apis/config/features.go``: both default to ``Disabled``; ``Enabled`` and
  ``Allowed`` let the field through; values compare case-insensitively; unknown values keep the default.

The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``), not a Kubernetes: it
serves the CRD and ConfigMap reads the preflight makes over the real REST protocol.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, KubeUnreachable, RetryPolicy
from mlops_infra.kube.preflight import preflight
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NODESELECTOR, TOLERATIONS = "kubernetes.podspec-nodeselector", "kubernetes.podspec-tolerations"


def _crd(plural: str, group: str, kind: str, versions: tuple[str, ...] = ("v1",)) -> dict:
    """A minimal CustomResourceDefinition (for CRDs the shared fixtures do not hold, or cannot be loaded
    safely), serving ``versions`` as the real one does."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": v, "served": True, "storage": v == versions[-1]} for v in versions]}}


KUEUE_VERSIONS = ("v1beta1", "v1beta2")
"""What Kueue v0.15 and later serve (the shared fixtures' clusterqueues and localqueues CRDs, Kueue 0.19)."""


def _full_cluster(kueue: tuple[str, ...] = KUEUE_VERSIONS) -> list[dict]:
    """Every CRD the reference's dev graph needs, each serving the versions the real one serves: KServe's,
    the training operator's, PrometheusRule's and ServiceMonitor's from the shared fixtures, the others
    minimal. ``kueue``: the versions the Kueue CRDs serve (an older Kueue serves ``v1beta1`` only)."""
    return [*load_crds("serving.kserve.io_inferenceservices.minimal.yaml", "kubeflow.org_pytorchjobs.yaml",
                       "monitoring.coreos.com_prometheusrules.yaml", "monitoring.coreos.com_servicemonitors.yaml"),
            _crd("services", "serving.knative.dev", "Service"),
            *(_crd(p, "kueue.x-k8s.io", k, kueue) for p, k in (("clusterqueues", "ClusterQueue"), ("localqueues", "LocalQueue"),
                                                               ("resourceflavors", "ResourceFlavor"))),
            _crd("podmonitors", "monitoring.coreos.com", "PodMonitor"),
            _crd("alertmanagerconfigs", "monitoring.coreos.com", "AlertmanagerConfig", ("v1alpha1",))]


DEFAULT_CLASS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "ebs.csi.aws.com",
                 "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}
"""The default StorageClass the graph's claims need (tests/kube/test_preflight_storage_class.py)."""
KSERVE_INSTALL = (
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
     "data": {"deploy": '{"defaultDeploymentMode": "Knative"}'}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kserve-controller-manager", "namespace": "kserve"},
     "spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "kserve/kserve-controller:v0.17.0"}]}}}})
"""KServe's default mode and its controller's release (tests/kube/test_preflight_kserve.py)."""


def _seed(api, *objects: dict) -> None:
    for obj in objects:
        api.seed(obj)


def _features(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-features", "namespace": "knative-serving"},
            "data": data}


def _by_name(results):
    return {r.prerequisite.name: r for r in results}


def test_the_reference_dev_graph_needs_kserve_knative_both_flags_kueue_the_training_and_prometheus_operators():
    needed = {p.name: p for p in cluster_prerequisites(compiled(REFERENCE, "dev"))}
    flag = needed[f"Knative feature flag {NODESELECTOR} (InferenceService nodeSelector)"]
    assert flag.needed_by == ("endpoints.scorer",) and flag.check.key == NODESELECTOR
    assert "config-features" in flag.enable and "isvc-node-scheduling" in flag.source
    assert needed[f"Knative feature flag {TOLERATIONS} (InferenceService tolerations)"].needed_by == ("endpoints.scorer",)
    assert not any("podspec-affinity" in n for n in needed)  # the compiler sets no affinity
    assert needed["KServe (InferenceService CRD)"].check.crd == "inferenceservices.serving.kserve.io"
    assert needed["Knative Serving (KServe Serverless mode)"].check.crd == "services.serving.knative.dev"
    assert needed["Kueue (clusterqueues CRD)"].needed_by == ("clusters.gpu-train",)
    assert needed["Kubeflow training operator (PyTorchJob CRD)"].needed_by == ("training_jobs.retrain",)
    assert needed["Prometheus operator (PrometheusRule CRD)"].check.crd == "prometheusrules.monitoring.coreos.com"


def test_each_crd_check_carries_the_versions_the_graph_writes_its_objects_in():
    needed = {p.name: p.check for p in cluster_prerequisites(compiled(REFERENCE, "dev"))}
    assert needed["KServe (InferenceService CRD)"].versions == ("v1beta1",)
    assert {needed[f"Kueue ({c} CRD)"].versions for c in ("clusterqueues", "localqueues", "resourceflavors")} == {("v1beta2",)}
    assert needed["Kubeflow training operator (PyTorchJob CRD)"].versions == ("v1",)  # the launcher's template
    assert needed["Prometheus operator (PrometheusRule CRD)"].versions == ("v1",)
    assert needed["Knative Serving (KServe Serverless mode)"].versions == ()  # KServe writes those, not the graph


def test_a_kueue_older_than_0_15_has_the_crds_but_not_v1beta2_and_is_reported_with_its_fix():
    """Kueue v0.14.0's CRDs serve v1beta1 only (config/components/crd/bases at that tag); the compiled
    objects are v1beta2, which pulumi-kubernetes' create would fail with a "no match" error."""
    with KubeApiStandIn(crds=[*_full_cluster(kueue=("v1beta1",)), _features(**{NODESELECTOR: "enabled", TOLERATIONS: "enabled"})],
                        kueue_pytorchjob_webhook=True) as api, \
            KubeClient.from_url(api.url, retry=FAST) as kube:
        _seed(api, DEFAULT_CLASS, *KSERVE_INSTALL)
        results = _by_name(preflight(kube, cluster_prerequisites(compiled(REFERENCE, "dev"))))
    kueue = {n: r for n, r in results.items() if n.startswith("Kueue")}
    assert len(kueue) == 3 and {r.state for r in kueue.values()} == {"missing"}
    warning = kueue["Kueue (clusterqueues CRD)"].warning()
    assert "CRD clusterqueues.kueue.x-k8s.io does not serve v1beta2" in warning and "it serves v1beta1" in warning
    assert "install Kueue 0.19" in warning
    assert {r.state for n, r in results.items() if not n.startswith("Kueue")} == {"ok"}


def test_an_aws_graph_needs_nothing_from_a_cluster():
    assert cluster_prerequisites(compiled(REFERENCE, "prod")) == ()


@pytest.mark.parametrize(("nodeselector", "ok"), [
    ("enabled", True), ("Enabled", True), ("allowed", True), ("disabled", False), ("on", False), (None, False)])
def test_a_flag_is_met_when_enabled_or_allowed_case_insensitively(nodeselector, ok):
    data = {TOLERATIONS: "enabled"} | ({NODESELECTOR: nodeselector} if nodeselector is not None else {})
    with KubeApiStandIn(crds=_full_cluster(), kueue_pytorchjob_webhook=True) as api:  # Kueue manages PyTorchJobs
        _seed(api, _features(**data), DEFAULT_CLASS, *KSERVE_INSTALL)
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            results = _by_name(preflight(kube, cluster_prerequisites(compiled(REFERENCE, "dev"))))
        configmap_reads = api.requests_for("GET", "/configmaps/config-features")
    flag = results[f"Knative feature flag {NODESELECTOR} (InferenceService nodeSelector)"]
    assert (flag.state == "ok") is ok
    if not ok:
        assert "default: Disabled" in flag.detail if nodeselector is None else f'"{nodeselector}"' in flag.detail
        assert flag.warning().startswith("cluster preflight: Knative feature flag") and "kubectl -n knative-serving" in flag.warning()
    assert {r.state for n, r in results.items() if NODESELECTOR not in n} == {"ok"}
    assert len(configmap_reads) == 1  # both flags from one read


def test_a_bare_cluster_reports_every_prerequisite_missing_with_its_fix():
    with KubeApiStandIn() as api, KubeClient.from_url(api.url, retry=FAST) as kube:
        results = preflight(kube, cluster_prerequisites(compiled(REFERENCE, "dev")))
    release = "a KServe release that accepts updates of these InferenceServices"
    assert {r.state for r in results if r.prerequisite.name != release} == {"missing"}
    assert _by_name(results)[release].state == "unknown"  # no controller to read it from: nothing claimed
    warnings = [r.warning() for r in results]
    assert any("no CRD inferenceservices.serving.kserve.io" in w and "install KServe" in w for w in warnings)
    assert any("no ConfigMap knative-serving/config-features" in w for w in warnings)


def test_a_refused_read_is_unknown_not_missing():
    rules = [{"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get"]}]
    with KubeApiStandIn(crds=_full_cluster(), tokens={"t": rules}) as api, \
            KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
        results = _by_name(preflight(kube, cluster_prerequisites(compiled(REFERENCE, "dev"))))
    flag = results[f"Knative feature flag {TOLERATIONS} (InferenceService tolerations)"]
    assert flag.state == "unknown" and flag.warning().startswith("cluster preflight: could not check")
    assert results["KServe (InferenceService CRD)"].state == "ok"


def test_an_unreachable_cluster_raises_once():
    with KubeApiStandIn() as api:
        url = api.url
    with KubeClient.from_url(url, retry=FAST, timeout=(1.0, 1.0)) as kube, pytest.raises(KubeUnreachable):
        preflight(kube, cluster_prerequisites(compiled(REFERENCE, "dev")))


@pytest.mark.timeout(120)
def test_plan_refresh_on_kubernetes_runs_the_preflight_and_says_how_to_enable_each_missing_flag(tmp_path, monkeypatch):
    # Against the state of an apply that served the scorer: on a first plan the scorer waits for its
    # version (this apply creates the registry: firstapply-2) and no InferenceService is compiled.
    state = tmp_path / "applied.json"
    state.write_text(dumps(applied_state(compiled(REFERENCE, "dev"))))
    with KubeApiStandIn(crds=_full_cluster()) as api:
        api.seed(_features(**{NODESELECTOR: "enabled"}))
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", api.url)))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HOME", str(tmp_path))  # no Pulumi login
        result = run_cli("plan", str(REFERENCE), "--env", "dev", "--refresh", "--state", str(state))
        reads = api.requests_for("GET", "customresourcedefinitions")
    assert result.code == 0, result.output
    text = " ".join(result.output.split())
    assert f"Knative feature flag {TOLERATIONS} (InferenceService tolerations) is missing" in text
    assert f"\"{TOLERATIONS}\":\"enabled\"" in text.replace(" ", "")
    assert NODESELECTOR + " (InferenceService nodeSelector) is missing" not in text
    assert "Kueue does not manage PyTorchJobs in fraud-dev" in text  # Kueue 0.19's default (audit k8strain-2)
    assert reads  # it did read the cluster
