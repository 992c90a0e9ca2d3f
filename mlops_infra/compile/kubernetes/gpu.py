"""GPU node selection: how a cloud-neutral accelerator becomes labels, tolerations and limits.

Contract:
- GPUs are requested as the extended resource ``nvidia.com/gpu`` with a *string* quantity
  (``"4"``), the form the Kubernetes API and client libraries expect.
- Nodes are selected by the label NVIDIA GPU Feature Discovery (part of the GPU operator) puts on
  GPU nodes, ``nvidia.com/gpu.product``; :data:`GPU_PRODUCT_LABELS` holds its value for the GPU
  SKU AWS instances carry (the PCIe variants of some GPUs report other values). An explicit
  ``instance_type`` also selects ``node.kubernetes.io/instance-type``.
- GPU nodes are assumed tainted ``nvidia.com/gpu:NoSchedule`` (the common GPU node-pool setup);
  pods that use GPUs tolerate it.
- Spot capacity is the node label ``karpenter.sh/capacity-type`` (``spot`` or ``on-demand``), set
  by Karpenter; other autoscalers can add the same label to their node groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_infra import catalog

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"

GPU_PRODUCT_LABELS: dict[str, str] = {
    "T4": "Tesla-T4",
    "A10G": "NVIDIA-A10G",
    "L4": "NVIDIA-L4",
    "V100": "Tesla-V100-SXM2-16GB",
    "A100": "NVIDIA-A100-SXM4-40GB",
    "A100-80GB": "NVIDIA-A100-SXM4-80GB",
    "H100": "NVIDIA-H100-80GB-HBM3",
    "L40S": "NVIDIA-L40S",
}
"""Spec accelerator type -> GPU Feature Discovery product label on AWS instances (g4dn, g5, g6,
p3, p4d, p4de, p5, g6e). GFD writes NVML's device name with runs of blanks joined by ``-`` and characters
outside ``[A-Za-z0-9-_. ]`` dropped (NVIDIA/k8s-device-plugin ``internal/lm/resource.go`` ``getProductName`` and
``sanitise`` @ aaccdfd2), so the L40S of a g6e, named ``NVIDIA L40S`` by NVML, is ``NVIDIA-L40S``."""

GPU_TOLERATION = {"effect": "NoSchedule", "key": GPU_RESOURCE, "operator": "Exists"}

FALLBACK_CPU_PER_GPU = 4
FALLBACK_MEMORY_GIB_PER_GPU = 16
FALLBACK_CPU_NODE = 4
FALLBACK_MEMORY_GIB_NODE = 16


@dataclass(frozen=True, slots=True)
class NodeShape:
    """What one node (training) or replica (serving) gets: GPU type and count, CPU, memory."""

    gpu_type: str | None
    gpus: int
    instance_type: str | None
    """The EC2 shape (``g5.12xlarge``) when the spec named one or the catalog knows one."""
    explicit_instance: bool
    """Whether the spec named ``instance_type`` (then nodes are selected by it)."""

    def node_selector(self, spot: bool | None = None) -> dict[str, str]:
        """Labels a node must carry; ``spot`` None leaves the capacity type open."""
        out: dict[str, str] = {}
        if self.gpu_type in GPU_PRODUCT_LABELS and self.gpus:
            out[PRODUCT_LABEL] = GPU_PRODUCT_LABELS[self.gpu_type]
        if self.explicit_instance and self.instance_type:
            out[INSTANCE_TYPE_LABEL] = self.instance_type
        if spot is not None:
            out[CAPACITY_TYPE_LABEL] = "spot" if spot else "on-demand"
        return out

    def tolerations(self) -> list[dict[str, str]]:
        return [dict(GPU_TOLERATION)] if self.gpus else []

    def gpu_limits(self) -> dict[str, str]:
        return {GPU_RESOURCE: str(self.gpus)} if self.gpus else {}

    def pod_requests(self) -> dict[str, str]:
        """CPU and memory one pod asks for when it should have the whole node (training).

        90% of the node's vCPUs and 85% of its memory (the rest is for the kubelet, system
        daemons and DaemonSets) when the catalog knows the shape; otherwise 4 CPUs and 16 GiB per
        GPU (or per CPU-only node).
        """
        hw = catalog.hardware(self.instance_type) if self.instance_type else None
        if hw and hw.vcpus and hw.memory_gib:
            cpus, memory = max(1, int(hw.vcpus * 0.9)), max(1, int(hw.memory_gib * 0.85))
        elif self.gpus:
            cpus, memory = FALLBACK_CPU_PER_GPU * self.gpus, FALLBACK_MEMORY_GIB_PER_GPU * self.gpus
        else:
            cpus, memory = FALLBACK_CPU_NODE, FALLBACK_MEMORY_GIB_NODE
        return {"cpu": str(cpus), "memory": f"{memory}Gi"}


def shape_of(accelerator: Any, instance_type: str | None, use: catalog.Use) -> NodeShape:
    """The node shape of an accelerator or explicit instance type (``None`` of both: CPU only)."""
    if accelerator is not None:
        instance = catalog.instance_for(accelerator.type, accelerator.count, use)
        return NodeShape(accelerator.type, accelerator.count, catalog.ec2_name(instance) if instance else None, False)
    if instance_type:
        gpu_type, gpus = catalog.gpus_of(instance_type)
        return NodeShape(gpu_type, gpus, catalog.ec2_name(instance_type), True)
    return NodeShape(None, 0, None, False)
