"""Training clusters as Kueue quota: a ResourceFlavor, a ClusterQueue and a LocalQueue.

Contract (Kueue ``kueue.x-k8s.io/v1beta2``, the storage version of Kueue v0.19):
- ``ResourceFlavor`` (cluster-scoped): the node labels of the GPU type (``nvidia.com/gpu.product``),
  an explicit instance type if given, and the capacity type (``karpenter.sh/capacity-type: spot`` or
  ``on-demand``); plus the ``nvidia.com/gpu`` toleration Kueue adds to admitted pods. Kueue injects
  the flavor's node labels into the pods it admits. A cluster without ``borrowing`` has its own,
  ``<system>-<env>-<cluster>``. A cluster with ``borrowing`` names the flavor of its cohort and node
  type (below), ``<system>-<env>-<cohort>-<digest>`` (:func:`flavor_name`: 7 hex digits of the
  SHA-256 of its :func:`lending_key`), which clusters that share a cohort and a node type share: only
  the first of them in the document compiles it, but its name is not that cluster's.
- ``ClusterQueue`` of the same name (cluster-scoped), open only to the system's namespace, with
  one resource group covering ``cpu``, ``memory`` and (GPU clusters) ``nvidia.com/gpu``. Nominal
  quotas are ``max nodes x per-node amount``: GPUs per node from the accelerator, CPU and memory
  from what one training pod requests (see :meth:`gpu.NodeShape.pod_requests`). Quotas are
  strings, as Kubernetes quantities are. The node autoscaler, not Kueue, makes the nodes exist.
  With the cluster's ``borrowing`` the queue joins that cohort (``cohortName``) and may borrow up to
  ``borrowing.max_nodes`` nodes' worth of each resource (``borrowingLimit``; none: no limit), so a
  job larger than max nodes can be admitted when the cohort lends (finding B7's explicit escape).
- Borrowing is per flavor (finding closing-32c-3). Kueue: a pod set fits by borrowing when its
  request "is less than or equal to the sum of unused ``nominalQuota`` for the flavor in the
  ClusterQueues in the cohort" and to "the unused ``nominalQuota + borrowingLimit`` for the flavor
  in the ClusterQueue"; "A ClusterQueue can only borrow quota for flavors that the ClusterQueue
  defines"; "For each pod set resource in a Workload, a ClusterQueue can only borrow quota for one
  flavor" (kubernetes-sigs/kueue ``site/content/en/docs/concepts/cluster_queue.md``, "Flavors and
  borrowing semantics"; ``pkg/cache/scheduler/resource_node.go`` keeps quotas per
  ``resources.FlavorResource``). So two queues each with a flavor of its own never lend each other
  anything. The clusters of this environment whose ``borrowing`` names the same cohort and whose
  node type is the same (:func:`lending_key`: the cohort, the flavor's labels and tolerations, and the
  covered resources) therefore name one flavor, compiled with the first of them in the document
  (:func:`flavor_owner`); each queue keeps its own nominal quota and borrowing limit in it. A job
  of one then gets up to its max nodes plus ``borrowing.max_nodes`` nodes of that node type when the
  others leave them unused. Clusters of another node type lend nothing: their nodes are another
  type (a pod sized for one node type may not fit the other). Queues outside this environment lend
  only when they define quota for that flavor's name (Kueue "Cohort": a queue "**must** define
  nominal quota for the desired Resource and Flavor - even if this value is 0",
  ``site/content/en/docs/concepts/cohort.md``).
- The shared flavor is named after what it is, not after a cluster (audit k8sapply-3). Named after
  the first cluster of its cohort, reordering the clusters or removing or renaming that one deleted
  it for another name. An outside queue that lends for the old name then stops lending at once (its
  quota is for a flavor our queues no longer name), and it keeps the old flavor: Kueue holds a
  deleted flavor's finalizer ``kueue.x-k8s.io/resource-in-use`` while any ClusterQueue of the
  cluster names it (kubernetes-sigs/kueue v0.19.0 ``pkg/controller/core/resourceflavor_controller.go``
  ``Reconcile``: ``r.cache.ClusterQueuesUsingFlavor(flavor.Name)``), and pulumi-kubernetes waits 10
  minutes for the delete (``provider/pkg/await/await.go`` ``Deletion``) and fails every apply. Its
  name now depends only on the cohort and the node type: the same whichever clusters of the cohort
  exist and in whatever order; a change of node type (GPU, instance type, spot) is another flavor, as
  it is other nodes. The plan warns on every deleted ResourceFlavor (``plan/queue_removal.py``).
- Lenders take their quota back (finding closing-33b-1): every queue that joins a cohort sets
  ``preemption.reclaimWithinCohort: Any``. Without a ``lendingLimit`` (none is compiled) a queue
  keeps no quota of its own: "If the ``lendingLimit`` field is not specified, a ClusterQueue can lend
  out all of its resources" (``site/content/en/docs/concepts/cluster_queue.md``), and
  ``pkg/cache/scheduler/resource_node.go`` ``available()`` is the queue's local quota (0) plus what
  the cohort has left. So once a sibling's run borrows, the lender's own run of up to its max nodes
  fits only if Kueue preempts the borrower, and ``reclaimWithinCohort`` defaults to ``Never``: "do
  not preempt Workloads in the cohort" (``apis/kueue/v1beta2/clusterqueue_types.go``
  ``ClusterQueuePreemption``, ``+kubebuilder:default=Never``); the run waited until the borrowed
  run ended, or the launcher expired it. ``Any``: "if the pending Workload fits within the nominal
  quota of its ClusterQueue, preempt any Workload in the cohort, irrespective of priority".
  ``LowerPriority`` would not do: runs carry no priority class, so all have the same priority and
  none is lower (``pkg/scheduler/preemption/common/preemption_policy.go``
  ``SatisfiesPreemptionPolicy``). Only borrowers are preempted, and only for a run within the
  preemptor's nominal quota: ``pkg/scheduler/flavorassigner/flavorassigner.go`` ``fitsResourceQuota``
  tries preemption when ``rQuota.Nominal >= val`` (or borrowing while preempting is allowed:
  ``borrowWithinCohort``, left at its default ``Never``); ``pkg/scheduler/preemption/preemption.go``
  ``findCandidates`` skips queues that are not borrowing ("Can't reclaim quota from itself or
  ClusterQueues that are not borrowing"), and ``classical/hierarchical_preemption.go``
  ``classifyPreemptionVariant`` makes another queue's run ``HiearchicalReclaim`` when the pending run
  fits its own queue's nominal quota, else ``ReclaimWithoutBorrowing`` ("Can only be preempted if
  preemptor CQ ... would not be borrowing any quota"). So a borrowing run never evicts a run within
  its queue's quota. What a preempted run does: Kueue
  evicts its workload, suspends the PyTorchJob and requeues it (``pkg/controller/jobframework/
  reconciler.go``, "handle eviction": ``Requeued`` on ``EvictedByPreemption``); the training-operator
  deletes a suspended job's pods and services and, when Kueue resumes it, restarts them with a new
  ``StartTime`` (kubeflow/training-operator v1.9 ``pkg/controller.v1/common/job.go``
  ``ReconcileJobs``, ``CleanUpResources``), so the run starts over from its beginning. The launcher
  treats it as a run waiting for admission: still active while younger than its admission timeout
  (counted from its creation), replaced by the next launch after that (``scripts/launcher.py``
  ``never_admitted``).
- ``LocalQueue`` ``<cluster>`` in the namespace, pointing at the ClusterQueue; training runs carry
  ``kueue.x-k8s.io/queue-name: <cluster>``. Its ``clusterQueue`` is immutable, so a change replaces it.
- No ``customTimeouts`` and no ``pulumi.com/timeoutSeconds`` annotation on the ClusterQueue, on
  purpose. Kueue keeps a ClusterQueue while a workload it admitted holds quota (finalizer
  ``kueue.x-k8s.io/resource-in-use``), and pulumi-kubernetes waits for a deleted object to be gone
  for the resource's custom delete timeout, else the object's ``pulumi.com/timeoutSeconds``
  annotation, else 10 minutes (pulumi/pulumi-kubernetes ``provider/pkg/await/await.go``
  ``Deletion``, ``provider/pkg/metadata/overrides.go`` ``TimeoutDuration``). A terminating queue
  admits nothing new ("Can't admit new workloads; clusterQueue is terminating", kueue
  ``pkg/cache/scheduler/clusterqueue.go``), so the wait is for runs admitted before, which may run
  for hours: a longer timeout would hold the whole ``pulumi up`` that long. ``mlops-infra apply``
  instead refuses before ``pulumi up`` while a run holds the queue, or drains it first
  (``--drain-queues``, ``apply/queue_drain.py``, which waits as long as the provider's 10 minutes),
  and once no run holds it Kueue drops the finalizer, well within the default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlops_infra.compile import facts
from mlops_infra.compile.context import COMPONENT_TYPES, CompileContext
from mlops_infra.compile.kubernetes import gpu, names
from mlops_infra.compile.kubernetes.objects import KubeTarget, type_token
from mlops_infra.compile.naming import short_hash
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec.compute import Cluster

KUEUE = "kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
RECLAIM_WITHIN_COHORT = "Any"
"""``preemption.reclaimWithinCohort`` of a queue in a cohort: it takes its lent quota back (module contract)."""


def shape(cluster: Cluster) -> gpu.NodeShape:
    return gpu.shape_of(cluster.accelerator, cluster.instance_type, "training")


def local_queue_name(cluster: Cluster) -> str:
    return cluster.name


def quotas_of(cluster: Cluster, nodes: int) -> dict[str, str]:
    """Resource name -> quota of ``nodes`` nodes of the cluster (``nodes`` x what one node provides)."""
    node = shape(cluster)
    per_pod = node.pod_requests()
    quotas = {"cpu": str(int(per_pod["cpu"]) * nodes),
              "memory": f"{int(per_pod['memory'].removesuffix('Gi')) * nodes}Gi"}
    if node.gpus:
        quotas[gpu.GPU_RESOURCE] = str(node.gpus * nodes)
    return quotas


def nominal_quotas(cluster: Cluster) -> dict[str, str]:
    """Resource name -> nominal quota of the cluster (max nodes x what one node provides)."""
    return quotas_of(cluster, cluster.nodes.max)


def flavor_spec(cluster: Cluster) -> dict[str, Any]:
    node = shape(cluster)
    spec: dict[str, Any] = {"nodeLabels": node.node_selector(spot=cluster.spot)}
    if node.tolerations():
        spec["tolerations"] = node.tolerations()
    return spec


def lending_key(cluster: Cluster) -> tuple[str, str, tuple[str, ...]] | None:
    """What clusters that lend each other quota share (None: the cluster joins no cohort): the cohort,
    the flavor's node labels and tolerations, and the covered resources (see the module contract)."""
    if cluster.borrowing is None:
        return None
    return (cluster.borrowing.cohort, json.dumps(flavor_spec(cluster), sort_keys=True),
            tuple(nominal_quotas(cluster)))


FLAVOR_DIGEST = 7
"""Hex digits of the lending key's SHA-256 in a shared flavor's name (:func:`flavor_name`)."""


def flavor_name(ctx: CompileContext, cluster: Cluster) -> str:
    """The ResourceFlavor ``cluster``'s queue names: ``<system>-<env>-<cluster>`` without ``borrowing``,
    else ``<system>-<env>-<cohort>-<digest>`` (the digest of the :func:`lending_key`, the cohort part cut
    so the whole fits 63 characters), the same for every cluster with that key, in any order."""
    key = lending_key(cluster)
    if key is None:
        return names.cluster_scoped(ctx, cluster.name)
    digest = short_hash(list(key), FLAVOR_DIGEST)  # the cohort is in the key: the digest alone tells them apart
    base = ctx.name(key[0], max_len=len(ctx.system.metadata.name) + len(ctx.env) + len(key[0]) + 2)
    return f"{base[:62 - FLAVOR_DIGEST].rstrip('-')}-{digest}"


def flavor_owner(clusters: Sequence[Cluster], cluster: Cluster) -> Cluster:
    """The cluster that compiles the ResourceFlavor ``cluster``'s queue names (its name does not
    depend on it: :func:`flavor_name`): the first of ``clusters`` (the document's order) with the same
    :func:`lending_key`, else ``cluster`` itself."""
    key = lending_key(cluster)
    if key is None:
        return cluster
    return next((c for c in clusters if lending_key(c) == key), cluster)


def cluster_queue_spec(kube: KubeTarget, cluster: Cluster, flavor: str) -> dict[str, Any]:
    """The ClusterQueue's spec; with the cluster's ``borrowing``, ``cohortName``,
    ``preemption.reclaimWithinCohort`` (:data:`RECLAIM_WITHIN_COHORT`) and, when it sets
    ``max_nodes``, each resource's ``borrowingLimit`` (that many nodes' worth; the CRD requires it be
    absent without a cohort, and absent means no limit)."""
    quotas = nominal_quotas(cluster)
    borrowing = cluster.borrowing
    limits = quotas_of(cluster, borrowing.max_nodes) if borrowing and borrowing.max_nodes is not None else {}
    resources = [{"name": name, "nominalQuota": quota, **({"borrowingLimit": limits[name]} if limits else {})}
                 for name, quota in quotas.items()]
    spec: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube.namespace}},
                            "queueingStrategy": "BestEffortFIFO",
                            "resourceGroups": [{"coveredResources": list(quotas),
                                                "flavors": [{"name": flavor, "resources": resources}]}]}
    if borrowing is not None:
        spec["cohortName"] = borrowing.cohort
        spec["preemption"] = {"reclaimWithinCohort": RECLAIM_WITHIN_COHORT}
    return spec


def compile_cluster(kube: KubeTarget, cluster: Cluster) -> None:
    """The cluster's component with its flavor, cluster queue and local queue."""
    address = f"clusters.{cluster.name}"
    parent = kube.ctx.component("clusters", cluster.name, facts.cluster_facts(cluster, "kubernetes"))
    global_name = names.cluster_scoped(kube.ctx, cluster.name)
    owner = flavor_owner(kube.ctx.system.clusters, cluster)
    flavor_ref = flavor_name(kube.ctx, cluster)
    if owner.name == cluster.name:
        flavor = kube.add(kube.obj(KUEUE, "ResourceFlavor", flavor_ref, address, {"spec": flavor_spec(cluster)}),
                          parent=parent, address=address, role="resource-flavor")
    else:  # compiled with the owner, which comes first in the document (compiler.py: sections in order)
        builder = kube.ctx.builder
        flavor = builder.urn_for(type_token(KUEUE, "ResourceFlavor"), flavor_ref,
                                 builder.urn_for(COMPONENT_TYPES["clusters"], owner.name, None))
    queue = kube.add(kube.obj(KUEUE, "ClusterQueue", global_name, address,
                              {"spec": cluster_queue_spec(kube, cluster, flavor_ref)}),
                     parent=parent, address=address, role="cluster-queue", depends_on=[flavor])
    local = kube.obj(KUEUE, "LocalQueue", local_queue_name(cluster), address, {"spec": {"clusterQueue": global_name}})
    kube.add(local, parent=parent, address=address, role="local-queue", depends_on=[queue],
             options=ResourceOptions(replace_on_changes=("spec.clusterQueue",)))
