"""KServe's deployment mode on the cluster (audit kubevers-3), checked by the cluster preflight.

The rules under test (sources in ``mlops_infra/compile/kubernetes/prerequisites.py`` and ``serving.py``):
the compiled InferenceServices name no deployment mode, so KServe's ``inferenceservice-config``
``deploy.defaultDeploymentMode`` must be ``Serverless`` or ``Knative`` (kserve ``configmap.go``
``NewDeployConfig``: compared exactly); KServe 0.16.x refuses every update and delete of an
InferenceService whose annotation is a legacy mode (v0.16.0 ``inference_service_validation.go``
``validateDeploymentMode``; kserve#4798, #5885), the release read from the image tag of
``kserve/kserve-controller-manager``'s container ``manager`` (the Helm chart lists kube-rbac-proxy first: audit
closing-43a-4).

The cluster is the Kubernetes API stand-in (``tests/support/kube_api.py``), not a Kubernetes and no
KServe: no webhook runs; it serves the reads the preflight makes over the real REST protocol.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.preflight import controller_image, preflight, release
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
MODE = "serving.kserve.io/deploymentMode"
DEFAULT_MODE = "KServe's default deployment mode Serverless (Knative)"
RELEASE = "a KServe release that accepts updates of these InferenceServices"


def _config(mode: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
            "data": {"deploy": "{\n" + f'  "defaultDeploymentMode": "{mode}"' + "\n}"}}


def _controller(image: str, *, helm: bool = False) -> dict:
    """The Deployment as kserve's ``config/manager/manager.yaml`` makes it (one container, ``manager``), or with
    ``helm`` as the chart does (v0.16.0 ``charts/kserve-resources/templates/deployment.yaml``: ``kube-rbac-proxy``
    first, with values.yaml's ``rbacProxyImage``)."""
    proxy = [{"name": "kube-rbac-proxy", "image": "quay.io/brancz/kube-rbac-proxy:v0.18.0"}] if helm else []
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kserve-controller-manager", "namespace": "kserve"},
            "spec": {"template": {"spec": {"containers": [*proxy, {"name": "manager", "image": image}]}}}}


def _isvc(name: str, annotations: dict[str, str]) -> dict:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "fraud-dev", "annotations": annotations},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}}}


def _kserve_checks(*objects: dict) -> dict:
    needed = [p for p in cluster_prerequisites(compiled(REFERENCE, "dev")) if p.name in (DEFAULT_MODE, RELEASE)]
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api:
        for obj in objects:
            api.seed(obj)
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            return {r.prerequisite.name: r for r in preflight(kube, needed)}


def test_the_compiled_inferenceservices_need_kserves_default_mode_and_a_release_that_accepts_their_updates():
    needed = {p.name: p for p in cluster_prerequisites(compiled(REFERENCE, "dev"))}
    assert needed[DEFAULT_MODE].needed_by == ("endpoints.scorer",)
    assert needed[DEFAULT_MODE].check.configmap == ("kserve", "inferenceservice-config")
    assert needed[RELEASE].check.kserve_release == ("kserve", "kserve-controller-manager")
    assert needed[RELEASE].check.namespaces == ("fraud-dev",)
    assert "Knative Serving (KServe Serverless mode)" in needed  # the default mode is Serverless


@pytest.mark.parametrize(("mode", "ok"), [("Serverless", True), ("Knative", True), ("Standard", False),
                                          ("RawDeployment", False), ("serverless", False)])
def test_kserves_default_mode_must_be_serverless_or_knative_exactly(mode, ok):
    result = _kserve_checks(_config(mode), _controller("kserve/kserve-controller:v0.15.2"))[DEFAULT_MODE]
    assert (result.state == "ok") is ok, result.detail
    if not ok:
        assert f'deploy.defaultDeploymentMode is "{mode}"' in result.warning()
        assert '{"defaultDeploymentMode": "Knative"}' in result.warning()


def test_no_kserve_config_is_missing():
    result = _kserve_checks()[DEFAULT_MODE]
    assert result.state == "missing" and "no ConfigMap kserve/inferenceservice-config" in result.detail


def test_kserve_0_16_with_an_inferenceservice_still_annotated_serverless_is_refused_naming_the_issue_and_the_fix():
    results = _kserve_checks(_config("Knative"), _controller("kserve/kserve-controller:v0.16.0"),
                             _isvc("scorer", {MODE: "Serverless"}), _isvc("other", {}))
    result = results[RELEASE]
    assert result.state == "missing"
    warning = result.warning()
    assert "KServe v0.16.0 refuses every update and delete of InferenceService fraud-dev/scorer" in warning
    assert "fraud-dev/other" not in warning and "kserve#4798" in warning
    assert "annotate inferenceservice <name> serving.kserve.io/deploymentMode-" in warning and "0.17" in warning
    assert results[DEFAULT_MODE].state == "ok"


@pytest.mark.parametrize(("image", "objects", "state"), [
    ("kserve/kserve-controller:v0.16.0", [_isvc("scorer", {})], "ok"),  # nothing annotated: 0.16 takes the updates
    ("kserve/kserve-controller:v0.16.1", [_isvc("scorer", {MODE: "Knative"})], "ok"),
    ("kserve/kserve-controller:v0.15.2", [_isvc("scorer", {MODE: "Serverless"})], "ok"),
    ("docker.io/kserve/kserve-controller:v0.17.0@sha256:" + "0" * 64, [_isvc("scorer", {MODE: "Serverless"})], "ok"),
    ("kserve/kserve-controller:latest", [], "unknown"),
])
def test_only_kserve_0_16_with_a_legacy_annotation_is_refused(image, objects, state):
    result = _kserve_checks(_config("Knative"), _controller(image), *objects)[RELEASE]
    assert result.state == state, result.detail


def test_no_kserve_controller_to_read_is_unknown_not_missing():
    result = _kserve_checks(_config("Knative"))[RELEASE]
    assert result.state == "unknown" and "no Deployment kserve/kserve-controller-manager" in result.detail


def test_the_release_is_the_image_tag():
    assert release("kserve/kserve-controller:v0.16.0") == (0, 16, 0)
    assert release("registry:5000/kserve/kserve-controller:v0.17") == (0, 17, 0)
    assert release("kserve/kserve-controller@sha256:abc") is None


def test_a_helm_installed_kserve_0_16_is_read_from_its_manager_container_not_the_rbac_proxy():
    """Fails before (closing-43a-4): the first tagged container was read, kube-rbac-proxy's v0.18.0: "ok"."""
    result = _kserve_checks(_config("Knative"), _controller("kserve/kserve-controller:v0.16.0", helm=True),
                            _isvc("scorer", {MODE: "Serverless"}))[RELEASE]
    assert result.state == "missing", result.detail
    assert "KServe v0.16.0 refuses every update and delete of InferenceService fraud-dev/scorer" in result.detail


def test_the_controller_image_is_the_manager_container_else_the_kserve_controller_repository():
    proxy = {"name": "kube-rbac-proxy", "image": "quay.io/brancz/kube-rbac-proxy:v0.18.0"}
    assert controller_image([proxy, {"name": "manager", "image": "kserve/kserve-controller:v0.16.0"}]) == \
        "kserve/kserve-controller:v0.16.0"
    assert controller_image([proxy, {"name": "ctl", "image": "registry:5000/kserve/kserve-controller:v0.15.2"}]) == \
        "registry:5000/kserve/kserve-controller:v0.15.2"
    assert controller_image([proxy]) is None


def test_a_controller_deployment_without_the_kserve_image_is_unknown_naming_its_containers():
    deployment = _controller("kserve/kserve-controller:v0.16.0", helm=True)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[1] = {"name": "sidecar", "image": "example/other:v1.0.0"}
    result = _kserve_checks(_config("Knative"), deployment)[RELEASE]
    assert result.state == "unknown"
    assert result.detail == ("no KServe controller image in Deployment kserve/kserve-controller-manager (kube-rbac-proxy: "
                             "quay.io/brancz/kube-rbac-proxy:v0.18.0, sidecar: example/other:v1.0.0)")
