"""The Kubernetes API stand-in's server-set fields (tests/support/kube_api.py, "Server-set fields"): what
the API server and the controllers every cluster runs write on their own, with ``server_fields=True``."""

from __future__ import annotations

from typing import Any

from tests.kube.test_kube_api_standin import call
from tests.support.kube_api import PROVISIONER, KubeApiStandIn

DEPLOYMENTS = "/apis/apps/v1/namespaces/dev/deployments"
CLAIMS = "/api/v1/namespaces/dev/persistentvolumeclaims"
REVISION = "deployment.kubernetes.io/revision"


def deployment(image: str = "app:1", replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "dev"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app"}},
                     "template": {"metadata": {"labels": {"app": "app"}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "dev"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def test_a_created_namespace_gets_the_kubernetes_finalizer():
    with KubeApiStandIn(server_fields=True) as api:
        status, created = call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                   "metadata": {"name": "dev"}})
        assert status == 201 and created["spec"] == {"finalizers": ["kubernetes"]}
        status, _ = call(api, "PATCH", "/api/v1/namespaces/ns2?fieldManager=pulumi-kubernetes",
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns2"},
                          "spec": {"finalizers": ["example.com/keep"]}}, content_type="application/apply-patch+yaml")
        assert status == 201
        assert api.get("v1", "Namespace", "ns2")["spec"]["finalizers"] == ["example.com/keep", "kubernetes"]
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "seeded"}})
        assert api.get("v1", "Namespace", "seeded")["spec"] == {"finalizers": ["kubernetes"]}


def test_a_deployment_revision_counts_its_template_changes():
    with KubeApiStandIn(server_fields=True) as api:
        status, created = call(api, "POST", DEPLOYMENTS, deployment())
        assert status == 201 and created["metadata"]["annotations"] == {REVISION: "1"}
        patch = {"spec": {"replicas": 3}}
        status, scaled = call(api, "PATCH", f"{DEPLOYMENTS}/app", patch, content_type="application/merge-patch+json")
        assert status == 200 and scaled["metadata"]["annotations"][REVISION] == "1"  # a scale is no new ReplicaSet
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}
        status, rolled = call(api, "PATCH", f"{DEPLOYMENTS}/app", patch, content_type="application/merge-patch+json")
        assert status == 200 and rolled["metadata"]["annotations"][REVISION] == "2"


def test_a_claim_is_bound_as_the_pv_controller_leaves_it():
    with KubeApiStandIn(server_fields=True) as api:
        status, created = call(api, "POST", CLAIMS, CLAIM)
        assert status == 201
        assert created["metadata"]["annotations"] == {
            "volume.kubernetes.io/storage-provisioner": PROVISIONER,
            "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
            "pv.kubernetes.io/bound-by-controller": "yes", "pv.kubernetes.io/bind-completed": "yes"}
        assert created["spec"]["volumeName"] == f"pvc-{created['metadata']['uid']}"
        assert created["status"] == {"phase": "Bound"}


def test_without_server_fields_objects_are_stored_as_written():
    with KubeApiStandIn() as api:
        assert "spec" not in call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                      "metadata": {"name": "dev"}})[1]
        assert "annotations" not in call(api, "POST", DEPLOYMENTS, deployment())[1]["metadata"]
        assert "annotations" not in call(api, "POST", CLAIMS, CLAIM)[1]["metadata"]
