"""Cluster preflight: a PersistentVolumeClaim without ``storageClassName`` (the registry's, the
Pushgateway's) needs a default StorageClass (compile/kubernetes/prerequisites.py, kube/preflight.py).

The rule (Kubernetes "Persistent Volumes", "Class"): a claim with no class binds only through the
StorageClass annotated ``storageclass.kubernetes.io/is-default-class: "true"``; kubernetes
``pkg/apis/storage/util/helpers.go`` ``IsDefaultAnnotation`` also takes the beta annotation and
compares the value with ``"true"`` exactly. Without a default the claim stays Pending and the pod
mounting it never starts. The cluster is the Kubernetes API stand-in (tests/support/kube_api.py),
which serves ``storage.k8s.io/v1`` StorageClasses.
"""

from __future__ import annotations

import dataclasses

import pytest

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.preflight import preflight
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NAME = "a default StorageClass (PersistentVolumeClaims without storageClassName)"


def _class(name: str, **annotations: str) -> dict:
    metadata = {"name": name, **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": metadata,
            "provisioner": "ebs.csi.aws.com"}


def _needed():
    [p] = [p for p in cluster_prerequisites(compiled(REFERENCE, "dev")) if p.name == NAME]
    return p


def _result(*classes: dict, tokens=None, token=None):
    with KubeApiStandIn(tokens=tokens) as api:
        for c in classes:
            api.seed(c)
        with KubeClient.from_url(api.url, token=token, retry=FAST) as kube:
            [result] = preflight(kube, [_needed()])
        return result, api.requests_for("GET", "/storageclasses")


def test_the_claims_without_a_class_need_a_default_storage_class() -> None:
    needed = _needed()
    assert needed.needed_by == ("platform",)  # the registry's and the Pushgateway's claims
    assert needed.check.default_storage_class
    assert "is-default-class" in needed.enable and needed.source.endswith("persistent-volumes/#class-1")


def test_a_claim_naming_its_class_needs_no_default() -> None:
    graph = compiled(REFERENCE, "dev")
    named = tuple(dataclasses.replace(r, inputs={**r.inputs, "spec": {**r.inputs["spec"], "storageClassName": "gp3"}})
                  if r.type == "kubernetes:core/v1:PersistentVolumeClaim" else r for r in graph.resources)
    assert not [p for p in cluster_prerequisites(dataclasses.replace(graph, resources=named)) if p.name == NAME]


@pytest.mark.parametrize("annotations", [{"storageclass.kubernetes.io/is-default-class": "true"},
                                         {"storageclass.beta.kubernetes.io/is-default-class": "true"}])
def test_a_class_annotated_default_meets_it(annotations) -> None:
    result, reads = _result(_class("standard"), _class("gp3", **annotations))
    assert (result.state, result.detail) == ("ok", "default StorageClass gp3")
    assert result.warning() is None and len(reads) == 1


@pytest.mark.parametrize("value", ["True", "false", "yes"])
def test_only_the_value_true_makes_a_default(value) -> None:
    result, _ = _result(_class("gp3", **{"storageclass.kubernetes.io/is-default-class": value}))
    assert result.state == "missing"
    assert result.detail == 'no StorageClass is annotated storageclass.kubernetes.io/is-default-class: "true" ' \
                            "(StorageClasses: gp3)"


def test_a_cluster_without_storage_classes_is_told_how_to_mark_one() -> None:
    result, _ = _result()
    assert result.state == "missing" and "(no StorageClass at all)" in result.detail
    warning = result.warning()
    assert warning.startswith(f"cluster preflight: {NAME} is missing (")
    assert "needed by platform. Fix: mark one StorageClass the default: kubectl patch storageclass" in warning


def test_a_refused_list_is_unknown_not_missing() -> None:
    rules = [{"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get"]}]
    result, _ = _result(_class("gp3", **{"storageclass.kubernetes.io/is-default-class": "true"}),
                        tokens={"t": rules}, token="t")
    assert result.state == "unknown" and result.detail.startswith("listing StorageClasses: ")
    assert result.warning().startswith("cluster preflight: could not check")
