"""Training clusters as Kueue quota: a ResourceFlavor, a ClusterQueue and a LocalQueue.

Contract (Kueue ``kueue.x-k8s.io/v1beta2``, the storage version of Kueue v0.19):
- ``ResourceFlavor`` ``<system>-<env>-<cluster>`` (cluster-scoped): the node labels of the GPU
  type (``nvidia.com/gpu.product``), an explicit instance type if given, and the capacity type
  (``karpenter.sh/capacity-type: spot`` or ``on-demand``); plus the ``nvidia.com/gpu``
  toleration Kueue adds to admitted pods. Kueue injects the flavor's node labels into the pods it
  admits.
- ``ClusterQueue`` of the same name (cluster-scoped), open only to the system's namespace, with
  one resource group covering ``cpu``, ``memory`` and (GPU clusters) ``nvidia.com/gpu``. Nominal
  quotas are ``max nodes x per-node amount``: GPUs per node from the accelerator, CPU and memory
  from what one training pod requests (see :meth:`gpu.NodeShape.pod_requests`). Quotas are
  strings, as Kubernetes quantities are. The node autoscaler, not Kueue, makes the nodes exist.
  With the cluster's ``borrowing`` the queue joins that cohort (``cohortName``) and may borrow up to
  ``borrowing.max_nodes`` nodes' worth of each resource (``borrowingLimit``; none: no limit), so a
  job larger than max nodes can be admitted when the cohort lends (finding B7's explicit escape).
- ``LocalQueue`` ``<cluster>`` in the namespace, pointing at the ClusterQueue; training runs carry
  ``kueue.x-k8s.io/queue-name: <cluster>``. Its ``clusterQueue`` is immutable, so a change replaces it.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import facts
from mlops_infra.compile.kubernetes import gpu, names
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec.compute import Cluster

KUEUE = "kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


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


def cluster_queue_spec(kube: KubeTarget, cluster: Cluster, flavor: str) -> dict[str, Any]:
    """The ClusterQueue's spec; with the cluster's ``borrowing``, ``cohortName`` and, when it sets
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
    return spec


def compile_cluster(kube: KubeTarget, cluster: Cluster) -> None:
    """The cluster's component with its flavor, cluster queue and local queue."""
    address = f"clusters.{cluster.name}"
    parent = kube.ctx.component("clusters", cluster.name, facts.cluster_facts(cluster, "kubernetes"))
    global_name = names.cluster_scoped(kube.ctx, cluster.name)
    flavor = kube.add(kube.obj(KUEUE, "ResourceFlavor", global_name, address, {"spec": flavor_spec(cluster)}),
                      parent=parent, address=address, role="resource-flavor")
    queue = kube.add(kube.obj(KUEUE, "ClusterQueue", global_name, address,
                              {"spec": cluster_queue_spec(kube, cluster, global_name)}),
                     parent=parent, address=address, role="cluster-queue", depends_on=[flavor])
    local = kube.obj(KUEUE, "LocalQueue", local_queue_name(cluster), address, {"spec": {"clusterQueue": global_name}})
    kube.add(local, parent=parent, address=address, role="local-queue", depends_on=[queue],
             options=ResourceOptions(replace_on_changes=("spec.clusterQueue",)))
