"""The resource types the client addresses are those the compiler writes (mlops_infra/kube/resources.py).

``KNOWN`` is documented to list every kind the compiler emits; a kind missing there falls back to a
guessed plural that is always namespaced. The Kueue kinds were listed at ``kueue.x-k8s.io/v1beta1``
while the compiler writes ``v1beta2`` (compile/kubernetes/queues.py), so a compiled ClusterQueue or
ResourceFlavor (cluster-scoped: the CRD's ``scope: Cluster``) got a namespaced type: a PUT of one
raised before any request. And a v1beta1 read is converted by Kueue: the ClusterQueue's cohort is
``spec.cohort`` there, ``spec.cohortName`` in v1beta2 (kueue ``apis/kueue/v1beta1/clusterqueue_conversion.go``).
"""

from __future__ import annotations

import copy

import pytest

from mlops_infra.apply import queue_drain
from mlops_infra.compile.kubernetes import queues
from mlops_infra.compile.kubernetes.objects import CLUSTER_SCOPED
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.resources import KNOWN, of, resource_type
from tests.compile.kubernetes.test_kueue_cohort import DOC
from tests.state.test_kube_live import cluster_crds
from tests.support import crds
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import CASE_IDS, compile_text, graph_of, objects

pytestmark = pytest.mark.timeout(120)


def test_every_kind_the_compiler_emits_is_known_with_its_scope() -> None:
    emitted = {(o["apiVersion"], o["kind"]) for case in CASE_IDS for _, o in objects(graph_of(case))}
    emitted |= {(o["apiVersion"], o["kind"]) for _, o in objects(compile_text(DOC))}
    missing = sorted(k for k in emitted if k not in KNOWN)
    assert missing == []
    for api_version, kind in emitted:
        assert KNOWN[(api_version, kind)].namespaced == (kind not in CLUSTER_SCOPED), kind
        group = api_version.rpartition("/")[0]
        if group == "kueue.x-k8s.io" and kind != "ResourceFlavor":  # no ResourceFlavor CRD in the fixtures
            assert crds.scope(group, kind) == ("Namespaced" if KNOWN[(api_version, kind)].namespaced else "Cluster")


def test_the_kueue_types_are_the_version_the_compiler_writes_and_apply_reads() -> None:
    kueue = {k: t for k, t in KNOWN.items() if k[0].startswith("kueue.x-k8s.io/")}
    assert {k[0] for k in kueue} == {queues.KUEUE} == {queue_drain.KUEUE}
    assert {k[1] for k in kueue} == {"ClusterQueue", "LocalQueue", "ResourceFlavor", "Workload"}
    assert KNOWN[(queues.KUEUE, "ClusterQueue")] == queue_drain.CLUSTER_QUEUE
    assert KNOWN[(queues.KUEUE, "Workload")] == queue_drain.WORKLOAD
    # the type of the object itself, without a scope hint, is the cluster-scoped one
    queue = next(o for _, o in objects(compile_text(DOC)) if o["kind"] == "ClusterQueue")
    assert of(queue).path(None, "q") == "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/q"
    assert resource_type(queues.KUEUE, "ResourceFlavor").path(None, "f") == "/apis/kueue.x-k8s.io/v1beta2/resourceflavors/f"


def test_the_client_writes_and_reads_compiled_kueue_objects_at_v1beta2_on_the_stand_in() -> None:
    compiled = [o for _, o in objects(compile_text(DOC)) if o["apiVersion"].startswith("kueue.")]
    with KubeApiStandIn(crds=cluster_crds()) as api:
        kube = KubeClient.from_url(api.url, retry=RetryPolicy(attempts=1, base_delay=0.01))
        for obj in compiled:
            kube.create(copy.deepcopy(obj))
        queue = next(o for o in compiled if o["metadata"]["name"] == "guarded-dev-train2" and o["kind"] == "ClusterQueue")
        stored = kube.get(of(queue), "guarded-dev-train2")
        stored["spec"]["stopPolicy"] = "Hold"
        kube.replace(stored)  # was: ValueError "ClusterQueue 'guarded-dev-train2' is namespaced"
        assert kube.get(of(queue), "guarded-dev-train2")["spec"]["cohortName"] == "team"
        paths = [r.path for r in api.requests]
    assert "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/guarded-dev-train2" in paths
    assert not [p for p in paths if "/kueue.x-k8s.io/v1beta1/" in p]
