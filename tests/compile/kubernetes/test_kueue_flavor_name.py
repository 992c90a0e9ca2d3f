"""A cohort's shared ResourceFlavor is named after its cohort and node type, not after a cluster (audit k8sapply-3).

Before, ``queues.flavor_owner``'s cluster gave the flavor its name (``<system>-<env>-<first cluster of the
cohort>``), so reordering the clusters or removing or renaming the first one deleted the flavor for another
name. Outside queues lend only for a flavor name they define quota for (Kueue "Cluster Queue": "A ClusterQueue
can only borrow quota for flavors that the ClusterQueue defines"), and Kueue keeps a deleted flavor while any
ClusterQueue names it (kueue v0.19.0 ``pkg/controller/core/resourceflavor_controller.go`` ``Reconcile``), so the
rename stopped their lending and failed the apply. Now every cluster with ``borrowing`` names
``<system>-<env>-<cohort>-<digest of queues.lending_key>``, in any order and with any set of clusters.
"""

from __future__ import annotations

import re

from mlops_infra.graph import DesiredGraph
from tests.compile.kubernetes.test_kueue_cohort import DOC, SHARED, TRAIN2, flavors_of
from tests.support.kube_cases import compile_text

FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
TRAIN = ("  - {name: train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}, "
         "borrowing: {cohort: team, max_nodes: 2}}\n")


def flavors(graph: DesiredGraph) -> dict[str, object]:
    """ResourceFlavor name -> its resource."""
    return {r.name: r for r in graph.resources if r.type == FLAVOR}


def named_by(graph: DesiredGraph) -> dict[str, str]:
    """ClusterQueue name -> the one flavor it names."""
    return {r.name: next(iter(flavors_of(r.inputs))) for r in graph.resources if r.type == QUEUE}


def test_the_shared_flavor_is_named_after_the_cohort_and_a_digest_of_the_node_type() -> None:
    graph = compile_text(DOC)
    queues = named_by(graph)
    shared = queues["guarded-dev-train"]
    assert re.fullmatch(r"guarded-dev-team-[0-9a-f]{7}", shared), shared
    assert shared == SHARED  # pinned: outside lenders define quota for it, so no release may rename it by accident
    assert queues["guarded-dev-train2"] == shared and shared in flavors(graph)
    # one flavor per cohort and node type: the T4 and spot clusters of cohort team, cohort other, no cohort
    assert len({queues[f"guarded-dev-{c}"] for c in ("train", "t4", "spot", "apart", "solo")}) == 5
    assert re.fullmatch(r"guarded-dev-team-[0-9a-f]{7}", queues["guarded-dev-t4"])
    assert re.fullmatch(r"guarded-dev-other-[0-9a-f]{7}", queues["guarded-dev-apart"])
    assert queues["guarded-dev-solo"] == "guarded-dev-solo"  # no borrowing: its own flavor, as before
    assert set(flavors(graph)) == set(queues.values())


def test_reordering_removing_or_renaming_the_first_cohort_cluster_keeps_the_flavor() -> None:
    graph = compile_text(DOC)
    shared = named_by(graph)["guarded-dev-train"]
    before = flavors(graph)[shared]
    swapped = DOC.replace(TRAIN2, "").replace(TRAIN, TRAIN2 + TRAIN)
    removed = DOC.replace(TRAIN, "").replace("cluster: train,", "cluster: train2,")
    renamed = DOC.replace("{name: train,", "{name: first,").replace("cluster: train,", "cluster: first,")
    for text in (swapped, removed, renamed):
        assert text != DOC
        other = compile_text(text)
        queues = named_by(other)
        assert queues["guarded-dev-train2"] == shared
        after = flavors(other)[shared]
        assert (after.urn, after.inputs["spec"]) == (before.urn, before.inputs["spec"])
        assert set(flavors(other)) == set(flavors(graph))  # train never compiled a flavor of its own
        assert all(after.urn in r.dependencies for r in other.resources
                   if r.type == QUEUE and queues[r.name] == shared)
    assert flavors(compile_text(swapped))[shared].address == "clusters.train2"  # compiled with the first, still


def test_another_node_type_is_another_flavor_and_a_long_cohort_is_cut_to_keep_the_digest() -> None:
    queues = named_by(compile_text(DOC))
    to_spot = DOC.replace(TRAIN, TRAIN.replace("nodes: {min: 0, max: 2},", "nodes: {min: 0, max: 2}, spot: true,"))
    assert to_spot != DOC
    moved = named_by(compile_text(to_spot))
    # train's nodes are now spot A10Gs: the flavor of cohort team's spot A10G cluster; train2 keeps its flavor
    assert moved["guarded-dev-train"] == queues["guarded-dev-spot"] != queues["guarded-dev-train"]
    assert moved["guarded-dev-train2"] == queues["guarded-dev-train2"]
    text = DOC.replace("cohort: team", f"cohort: {'c' * 70}")
    name = named_by(compile_text(text))["guarded-dev-train"]
    assert len(name) <= 63 and re.fullmatch(r"guarded-dev-c+-[0-9a-f]{7}", name), name
