"""KubeClient against the Kubernetes API stand-in: verbs, guarded patches, retries, typed errors, config."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

import pytest

from mlops_infra.errors import UserError
from mlops_infra.kube import (
    ConnectOptions,
    KubeAlreadyExists,
    KubeClient,
    KubeConflict,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeServerError,
    KubeUnreachable,
    RetryPolicy,
    resource_type,
)
from mlops_infra.kube.config import uses_in_cluster
from mlops_infra.kube.resources import CONFIG_MAP, CRD, INFERENCE_SERVICE
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return load_crds("serving.kserve.io_inferenceservices.minimal.yaml")


@pytest.fixture
def api(crds):
    with KubeApiStandIn(crds=crds) as server:
        yield server


@pytest.fixture
def kube(api):
    client = KubeClient.from_url(api.url, retry=FAST, timeout=(2.0, 2.0))
    yield client
    client.close()


def isvc(name: str = "scorer") -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "dev"}, "spec": {"predictor": {"canaryTrafficPercent": 2}}}


def test_paths_of_core_group_and_cluster_scoped_types():
    assert CONFIG_MAP.path("dev", "x") == "/api/v1/namespaces/dev/configmaps/x"
    assert INFERENCE_SERVICE.path("dev") == "/apis/serving.kserve.io/v1beta1/namespaces/dev/inferenceservices"
    assert INFERENCE_SERVICE.path("dev", "s", "status").endswith("/inferenceservices/s/status")
    assert CRD.path(None, "a.b") == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b"
    assert resource_type("example.com/v1", "Policy").plural == "policies"
    assert resource_type("example.com/v1", "Ingress").plural == "ingresses"
    with pytest.raises(ValueError, match="namespaced"):
        CONFIG_MAP.path(None, "x")


def test_crud_through_the_kubernetes_client(kube, api):
    created = kube.create(isvc())
    assert created["metadata"]["resourceVersion"]
    assert kube.get(INFERENCE_SERVICE, "scorer", "dev")["spec"] == created["spec"]
    listed = kube.list(INFERENCE_SERVICE, "dev")
    assert [(o["kind"], o["metadata"]["name"]) for o in listed] == [("InferenceService", "scorer")]
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "dev",
                                                                       "labels": {"a": "1"}}})
    assert [o["metadata"]["name"] for o in kube.list(CONFIG_MAP, "dev", label_selector="a=1")] == ["c"]
    replaced = kube.replace({**kube.get(CONFIG_MAP, "c", "dev"), "data": {"k": "v"}})
    assert replaced["data"] == {"k": "v"}
    kube.delete(CONFIG_MAP, "c", "dev")
    assert kube.get_or_none(CONFIG_MAP, "c", "dev") is None
    with pytest.raises(KubeAlreadyExists):
        kube.create(isvc())


def test_guarded_patch_conflicts_on_a_stale_version(kube):
    version = kube.create(isvc())["metadata"]["resourceVersion"]
    moved = kube.patch(INFERENCE_SERVICE, "scorer", "dev", {"spec": {"predictor": {"canaryTrafficPercent": 5}}},
                       resource_version=version)
    for patch in ({"spec": {"predictor": {"canaryTrafficPercent": 10}}},
                  [{"op": "replace", "path": "/spec/predictor/canaryTrafficPercent", "value": 10}]):
        with pytest.raises(KubeConflict) as caught:
            kube.patch(INFERENCE_SERVICE, "scorer", "dev", patch, resource_version=version)
        assert caught.value.status == 409 and "has been modified" in caught.value.message
    json_patched = kube.patch(INFERENCE_SERVICE, "scorer", "dev",
                              [{"op": "replace", "path": "/spec/predictor/canaryTrafficPercent", "value": 10}],
                              resource_version=moved["metadata"]["resourceVersion"])
    assert json_patched["spec"]["predictor"]["canaryTrafficPercent"] == 10
    with pytest.raises(KubeConflict):
        kube.delete(INFERENCE_SERVICE, "scorer", "dev", resource_version=version)


def test_update_rereads_and_retries_after_a_conflict(kube, api):
    kube.create(isvc())
    calls = []

    def mutate(current: dict[str, Any]) -> dict[str, Any] | None:
        calls.append(current["metadata"]["resourceVersion"])
        if len(calls) == 1:  # another writer slips in between our read and our write
            api.seed({**current, "metadata": {**current["metadata"], "annotations": {"other": "writer"}}})
        percent = current["spec"]["predictor"]["canaryTrafficPercent"]
        return {"spec": {"predictor": {"canaryTrafficPercent": percent + 3}}}

    written = kube.update(INFERENCE_SERVICE, "scorer", "dev", mutate)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert written["spec"]["predictor"]["canaryTrafficPercent"] == 5
    assert written["metadata"]["annotations"] == {"other": "writer"}
    assert kube.update(INFERENCE_SERVICE, "scorer", "dev", lambda current: None) is None


def test_server_errors_are_retried_a_bounded_number_of_times(kube, api):
    api.fail(status=503, times=2, method="GET")
    assert kube.version()["major"] == "1"
    api.fail(status=500, times=5, method="GET")
    with pytest.raises(KubeServerError):
        kube.version()
    assert len(api.requests_for("GET", "/version")) == 1 + 2 + 3


def test_a_dropped_connection_is_retried_except_for_a_create(kube, api):
    api.fail(drop=True, times=1, method="GET")
    kube.create(isvc())
    assert kube.get(INFERENCE_SERVICE, "scorer", "dev")
    api.fail(drop=True, times=1, method="POST")
    with pytest.raises(KubeUnreachable):
        kube.create(isvc("other"))
    assert len(api.requests_for("POST", "/inferenceservices")) == 2  # the dropped create was not repeated


def test_typed_errors_for_forbidden_invalid_and_missing_types(crds):
    with KubeApiStandIn(crds=crds, tokens={"reader": [{"apiGroups": [""], "resources": ["configmaps"],
                                                       "verbs": ["get"]}]}) as api:
        anonymous = KubeClient.from_url(api.url, retry=FAST)
        with pytest.raises(KubeForbidden) as caught:
            anonymous.get(CONFIG_MAP, "x", "dev")
        assert caught.value.status == 401
        reader = KubeClient.from_url(api.url, token="reader", retry=FAST)
        with pytest.raises(KubeNotFound) as missing:
            reader.get(CONFIG_MAP, "x", "dev")
        assert not missing.value.type_missing
        with pytest.raises(KubeForbidden, match="cannot list configmaps in dev") as forbidden:
            reader.list(CONFIG_MAP, "dev")
        assert "cannot list resource" in forbidden.value.detail
    with KubeApiStandIn() as api:
        kube = KubeClient.from_url(api.url, retry=FAST)
        with pytest.raises(KubeNotFound) as caught:
            kube.get_or_none(INFERENCE_SERVICE, "scorer", "dev")
        assert caught.value.type_missing and "install its CRD" in caught.value.detail
        with pytest.raises(KubeInvalid):
            kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "dev"}})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_fails_fast_and_clearly():
    kube = KubeClient.from_url(f"http://127.0.0.1:{_closed_port()}", retry=FAST, timeout=(1.0, 1.0))
    started = time.monotonic()
    with pytest.raises(KubeUnreachable) as caught:
        kube.get(INFERENCE_SERVICE, "scorer", "dev")
    assert time.monotonic() - started < 5
    assert "is not reachable" in caught.value.summary and "kubectl" in caught.value.detail
    assert isinstance(caught.value, UserError)


def test_a_server_that_does_not_answer_times_out(api):
    kube = KubeClient.from_url(api.url, retry=RetryPolicy(attempts=2, base_delay=0.01), timeout=(1.0, 0.3))
    api.fail(status=None, times=2, delay=1.0)
    started = time.monotonic()
    with pytest.raises(KubeUnreachable):
        kube.version()
    assert time.monotonic() - started < 3


def test_kubeconfig_context_and_its_credentials(crds, tmp_path):
    with KubeApiStandIn(crds=crds, tokens={"s3cr3t": None}) as api:
        config = write_kubeconfig(tmp_path / "config", api.url, "s3cr3t", ("kind-mlops", "staging"))
        kube = KubeClient.connect(ConnectOptions(context="kind-mlops", kubeconfig=str(config)), retry=FAST)
        assert kube.version()["major"] == "1"
        assert api.requests[-1].token == "s3cr3t"
        with pytest.raises(UserError, match="no context 'kind-mlop'") as caught:
            KubeClient.connect(ConnectOptions(context="kind-mlop", kubeconfig=str(config)))
        assert "Did you mean 'kind-mlops'?" in caught.value.detail
    with pytest.raises(UserError, match="No kubeconfig file"):
        KubeClient.connect(ConnectOptions(kubeconfig=str(tmp_path / "missing")))


def test_in_cluster_is_chosen_only_inside_a_pod_without_a_kubeconfig(tmp_path):
    missing = str(tmp_path / "none")
    pod = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert uses_in_cluster(ConnectOptions(kubeconfig=missing), pod)
    assert not uses_in_cluster(ConnectOptions(kubeconfig=missing), {})
    assert not uses_in_cluster(ConnectOptions(kubeconfig=missing, context="x"), pod)
    assert not uses_in_cluster(ConnectOptions(url="http://127.0.0.1:1"), pod)
    assert uses_in_cluster(ConnectOptions(in_cluster=True), {})


def test_without_the_kubernetes_package_it_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(UserError, match="not installed") as caught:
        KubeClient.from_url("http://127.0.0.1:1")
    assert "mlops-infra[kubernetes]" in caught.value.detail
