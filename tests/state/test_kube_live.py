"""Kubernetes live state (mlops_infra/state/kube_live.py) against the Kubernetes API stand-in
(tests/support/kube_api.py: a protocol-level stand-in, no API server runs here): the prior state of a
compiled graph, seeded into the stand-in as ``pulumi up`` would leave it, then changed the ways a cluster
drifts: a field edited, an object deleted, objects that cannot be read (forbidden, kind not served,
no server), each reported by cause, and never as "no drift"."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.plan.drift import CHANGED, DELETED, find_drift
from mlops_infra.plan.planner import make_plan
from mlops_infra.render.human import render_text
from mlops_infra.state import kube_live
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import VARIETY, compile_text

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def graph():
    return compile_text(VARIETY)


@pytest.fixture(scope="module")
def prior(graph):
    return parse_state(json.dumps(applied_state(graph)), "prior.json")


def objects(prior) -> dict[str, dict[str, Any]]:
    """URN -> the object ``pulumi up`` created (the prior inputs without Pulumi's bookkeeping)."""
    return {r.urn: {k: v for k, v in r.inputs.items() if k != "__defaults"}
            for r in prior.resources.values() if kube_live.readable(r)}


def client(api: KubeApiStandIn, token: str = "admin") -> KubeClient:
    return KubeClient.from_url(api.url, token=token, retry=RetryPolicy(attempts=2, base_delay=0.01))


def minimal_crd(group: str, version: str, kind: str, scope: str = "Namespaced") -> dict[str, Any]:
    """A CustomResourceDefinition serving ``kind`` (for the kinds without a fixture CRD)."""
    plural = kind.lower() + "s"
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def cluster_crds() -> list[dict[str, Any]]:
    """Every custom kind the graph uses: the fixture CRDs, and minimal ones for the kinds without one."""
    return [*load_crds("serving.kserve.io_inferenceservices.minimal.yaml", "kueue.x-k8s.io_clusterqueues.yaml",
                       "kueue.x-k8s.io_localqueues.yaml", "monitoring.coreos.com_prometheusrules.yaml",
                       "monitoring.coreos.com_servicemonitors.yaml"),
            minimal_crd("kueue.x-k8s.io", "v1beta2", "ResourceFlavor", "Cluster"),
            minimal_crd("monitoring.coreos.com", "v1", "PodMonitor"),
            minimal_crd("monitoring.coreos.com", "v1alpha1", "AlertmanagerConfig")]


def seeded(prior, crds: list[dict[str, Any]] | None = None) -> KubeApiStandIn:
    """The cluster as ``pulumi up`` leaves it, with what Kubernetes writes on its own (the stand-in's
    ``server_fields``: a Deployment's revision annotation, a claim's binding, a namespace's finalizer)."""
    api = KubeApiStandIn(crds=cluster_crds() if crds is None else crds,
                         tokens={"admin": None, "nobody": []}, server_fields=True).start()
    for obj in objects(prior).values():
        try:
            api.seed(copy.deepcopy(obj))
        except KeyError:  # a kind this cluster does not serve
            continue
    return api


def test_a_cluster_as_applied_has_no_drift_even_after_the_rollout_runner_moved_traffic(prior):
    api = seeded(prior)
    try:
        isvc = next(o for o in objects(prior).values() if o["kind"] == "InferenceService"
                    and "canaryTrafficPercent" in o["spec"]["predictor"])
        api.seed({**isvc, "spec": {**isvc["spec"], "predictor": {**isvc["spec"]["predictor"],
                                                                  "canaryTrafficPercent": 75}}})
        live = kube_live.scan_kubernetes(prior.resources.values(), client(api))
    finally:
        api.stop()
    assert live.errors == {} and live.missing == frozenset()
    assert set(live.resources) == set(objects(prior))
    assert all("status" not in r.inputs and "resourceVersion" not in r.inputs["metadata"]
               for r in live.resources.values())
    assert find_drift(prior, live, tracking=kube_live.TRACKING) == []


def test_what_kubernetes_writes_on_its_own_is_not_drift_and_an_annotation_the_prior_sets_is(prior):
    """Audit refresh-1: the Deployment controller's revision annotation, the PV controller's binding
    annotations and ``spec.volumeName``, the namespace's ``kubernetes`` finalizer, on objects whose
    compiled inputs set no annotations (or no spec): pulumi-kubernetes' refresh prunes the live object
    to the program's inputs (``pruneLiveState``), and so does drift (kube_live ``TRACKED``, computed)."""
    found = objects(prior)
    kinds = {o["kind"] for o in found.values()}
    assert {"Deployment", "PersistentVolumeClaim", "Namespace"} <= kinds
    assert any(o["kind"] == "Deployment" and "annotations" not in o["metadata"] for o in found.values())
    assert any(o["kind"] == "PersistentVolumeClaim" and "annotations" not in o["metadata"] for o in found.values())
    assert any(o["kind"] == "Namespace" and "spec" not in o for o in found.values())
    isvc_urn, isvc = next((u, o) for u, o in found.items() if o["kind"] == "InferenceService"
                          and "mlops-infra/model-version" in (o["metadata"].get("annotations") or {}))
    api = seeded(prior)
    try:
        as_left = kube_live.scan_kubernetes(prior.resources.values(), client(api))
        written = {o["kind"]: o for o in (api.get(o["apiVersion"], o["kind"], o["metadata"]["name"],
                                                   o["metadata"].get("namespace")) for o in found.values())}
        annotations = {k: v for k, v in isvc["metadata"]["annotations"].items() if k != "mlops-infra/model-version"}
        api.seed({**isvc, "metadata": {**isvc["metadata"], "annotations": annotations}})
        edited = kube_live.scan_kubernetes(prior.resources.values(), client(api))
    finally:
        api.stop()
    assert written["Deployment"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert written["PersistentVolumeClaim"]["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert written["Namespace"]["spec"]["finalizers"] == ["kubernetes"]
    assert as_left.errors == {} and find_drift(prior, as_left, tracking=kube_live.TRACKING) == []
    [drift] = find_drift(prior, edited, tracking=kube_live.TRACKING)
    version = isvc["metadata"]["annotations"]["mlops-infra/model-version"]
    assert (drift.urn, drift.changes) == (isvc_urn, (("metadata.annotations.mlops-infra/model-version", version, None),))


def test_the_rollout_status_the_runner_writes_in_its_configmap_is_not_drift(graph, prior):
    """The runner keeps a rollout's status in the endpoint's ``rollout-<endpoint>`` ConfigMap, compiled
    empty with ``ignore_changes: [data]`` (compile/kubernetes/serving.py status_config_map): Pulumi leaves
    the data alone, and so does the drift the plan reports (plan/drift.py left_alone)."""
    from mlops_infra.plan.drift import left_alone

    found = objects(prior)
    urn, status = next((u, o) for u, o in found.items() if o["kind"] == "ConfigMap"
                       and o["metadata"]["name"].startswith("rollout-"))
    assert "data" not in status
    api = seeded(prior)
    try:
        api.seed({**status, "data": {"phase": "progressing", "step": "2", "stable-version": "12"}})
        live = kube_live.scan_kubernetes(prior.resources.values(), client(api))
    finally:
        api.stop()
    assert [d.urn for d in find_drift(prior, live, tracking=kube_live.TRACKING)] == [urn]  # what it would be
    assert find_drift(prior, live, tracking=kube_live.TRACKING, left=left_alone(graph)) == []


def test_an_edited_field_and_a_deleted_object_are_drift(prior):
    found = objects(prior)
    deployment_urn, deployment = next((u, o) for u, o in found.items() if o["kind"] == "Deployment")
    role_urn, role = next((u, o) for u, o in found.items() if o["kind"] == "Role")
    config_urn, config = next((u, o) for u, o in found.items() if o["kind"] == "ConfigMap" and o.get("data"))
    api = seeded(prior)
    try:
        api.seed({**deployment, "spec": {**deployment["spec"], "replicas": 7}})
        api.seed({**config, "data": {**config["data"], "added-by-hand": "x"}})
        admin = client(api)
        admin.delete(kube_live.locate(prior.resources[role_urn])[0], role["metadata"]["name"],
                     role["metadata"]["namespace"])
        live = kube_live.scan_kubernetes(prior.resources.values(), admin)
    finally:
        api.stop()
    drift = {d.urn: d for d in find_drift(prior, live, tracking=kube_live.TRACKING)}
    assert set(drift) == {deployment_urn, config_urn, role_urn}
    assert drift[role_urn].kind == DELETED and live.missing == frozenset({role_urn})
    assert drift[deployment_urn].kind == CHANGED
    assert drift[deployment_urn].changes == (("spec.replicas", deployment["spec"].get("replicas"), 7),)
    assert drift[config_urn].changes == (("data.added-by-hand", None, "x"),)  # a ConfigMap's data: every key
    assert "changed outside Pulumi" in drift[deployment_urn].summary


def test_objects_that_cannot_be_read_are_reported_by_cause_never_as_no_drift(graph, prior):
    readable = set(objects(prior))
    api = seeded(prior)
    try:
        forbidden = kube_live.scan_kubernetes(prior.resources.values(), client(api, "nobody"))
        admin = client(api)
    finally:
        api.stop()
    assert forbidden.resources == {} and set(forbidden.failures) == readable
    assert {cause for cause, _ in forbidden.failures.values()} == {"kubernetes-forbidden"}

    gone = kube_live.scan_kubernetes(prior.resources.values(), admin)  # the server is stopped: no answer
    assert {cause for cause, _ in gone.failures.values()} == {"kubernetes-unreachable"}
    plan = make_plan(graph, prior, live=gone, drift=find_drift(prior, gone, tracking=kube_live.TRACKING))
    text = render_text(plan)
    assert "Drift: none" not in text
    assert f"Drift: unknown for {len(readable)} resources that could not be read" in " ".join(text.split())
    assert "kubernetes-unreachable" in text or "did not answer" in text


def test_a_kind_the_cluster_no_longer_serves_is_its_own_cause(prior):
    api = seeded(prior, crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml"))
    try:
        live = kube_live.scan_kubernetes(prior.resources.values(), client(api))
    finally:
        api.stop()
    causes = {prior.resources[u].type.rsplit(":", 1)[-1]: c for u, (c, _) in live.failures.items()}
    assert causes and set(causes.values()) == {"kubernetes-type-missing"}
    assert "PrometheusRule" in causes and "InferenceService" not in causes
    assert not live.missing  # a kind not served is not "deleted"


def test_the_deadline_leaves_what_was_not_read_unread_by_cause(prior):
    api = seeded(prior)
    try:
        live = kube_live.scan_kubernetes(prior.resources.values(), client(api), deadline=0.0)
    finally:
        api.stop()
    assert live.resources == {} and {c for c, _ in live.failures.values()} == {"kubernetes-unreachable"}
    assert {code for _, code in live.failures.values()} == {"deadline"}


ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
MODE = "serving.kserve.io/deploymentMode"


@pytest.mark.parametrize(("live_mode", "drifts"), [("Knative", False), ("Serverless", False), ("Standard", True)])
def test_kserve_rewriting_the_legacy_serverless_mode_to_knative_is_not_drift(graph, live_mode, drifts):
    """Audit kubevers-3: an InferenceService applied by a release that still wrote the annotation
    ``serving.kserve.io/deploymentMode: Serverless``; KServe 0.17+ stores it as ``Knative`` (its defaulting
    webhook: v0.20.0 ``inference_service_defaults.go`` "Normalize deprecated annotation values"), the same
    mode (``constants.ParseDeploymentMode``), so no drift; another mode is drift."""
    state = applied_state(graph)
    for res in state["checkpoint"]["latest"]["resources"]:
        if res["type"] == ISVC:
            res["inputs"]["metadata"].setdefault("annotations", {})[MODE] = "Serverless"
    older = parse_state(json.dumps(state), "prior.json")
    isvcs = {u: o for u, o in objects(older).items() if o["kind"] == "InferenceService"}
    assert isvcs and all(o["metadata"]["annotations"][MODE] == "Serverless" for o in isvcs.values())
    api = seeded(older)
    try:
        for isvc in isvcs.values():
            api.seed({**isvc, "metadata": {**isvc["metadata"], "annotations": {**isvc["metadata"]["annotations"],
                                                                               MODE: live_mode}}})
        live = kube_live.scan_kubernetes(older.resources.values(), client(api))
    finally:
        api.stop()
    assert live.errors == {}
    drift = find_drift(older, live, tracking=kube_live.TRACKING)
    if drifts:
        assert {d.urn: d.changes for d in drift} == {u: ((f"metadata.annotations.{MODE}", "Serverless", live_mode),)
                                                     for u in isvcs}
    else:
        assert drift == []
