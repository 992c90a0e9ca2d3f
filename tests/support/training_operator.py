"""A model of what the Kubeflow training operator adds to a PyTorchJob pod's environment (no operator runs here).

kubeflow/training-operator v1.9.0 ``pkg/controller.v1/pytorch/envvar.go`` ``setPodEnv``: with a Master
replica, ``MASTER_ADDR``/``MASTER_PORT`` (and ``PET_MASTER_*``; ``master.go``, the address the Master's
Service ``<job>-master-0``), ``WORLD_SIZE`` = replicas of all types x ``getNprocPerNodeInt`` (line 64: 1
unless ``nprocPerNode`` is an integer, so 1 for its default ``auto``, ``pytorch_defaults.go``
``DefaultNprocPerNode``), ``RANK`` = ``PET_NODE_RANK`` = the replica index, +1 for a Worker (lines 77-95),
``PET_NPROC_PER_NODE`` = ``nprocPerNode`` (after defaulting, line 99-103), ``PET_NNODES`` = the replicas
(no elasticPolicy, line 118-122). The address and port are the caller's (a test runs every rank on
127.0.0.1)."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_NPROC_PER_NODE = "auto"


def _nproc_int(nproc: str) -> int:
    """``getNprocPerNodeInt`` (envvar.go lines 132-140)."""
    try:
        return int(nproc)
    except ValueError:
        return 1


def total_replicas(template: dict[str, Any]) -> int:
    return sum(int(r.get("replicas", 1)) for r in template["spec"]["pytorchReplicaSpecs"].values())


def world_size(template: dict[str, Any]) -> int:
    """The ``WORLD_SIZE`` the operator gives every pod of a run of ``template`` (envvar.go line 64)."""
    return total_replicas(template) * _nproc_int(template["spec"].get("nprocPerNode", DEFAULT_NPROC_PER_NODE))


def pod_env(template: dict[str, Any], replica_type: str = "master", index: int = 0,
            master: tuple[str, int] = ("127.0.0.1", 23456)) -> dict[str, str]:
    """The variables the operator appends to the ``pytorch`` container of one replica pod."""
    rank = index + 1 if replica_type == "worker" else index
    host, port = master
    return {"PYTHONUNBUFFERED": "1", "MASTER_PORT": str(port), "PET_MASTER_PORT": str(port), "MASTER_ADDR": host,
            "PET_MASTER_ADDR": host, "WORLD_SIZE": str(world_size(template)), "RANK": str(rank),
            "PET_NODE_RANK": str(rank),
            "PET_NPROC_PER_NODE": template["spec"].get("nprocPerNode", DEFAULT_NPROC_PER_NODE),
            "PET_NNODES": str(total_replicas(template))}


JOB_NAME_LABEL = "training.kubeflow.org/job-name"
"""The label the operator puts on each pod of a run: the PyTorchJob's name (``job_controller.go`` ``GenLabels``)."""


def kubelet_env(container: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    """The container's ``env`` as its process sees it, for a pod labelled ``labels``: a ``fieldRef`` to
    ``metadata.labels['<key>']`` is that label (downward API), and ``$(NAME)`` in a value is replaced by a
    variable defined earlier in the list, else left as written (Kubernetes "Define Dependent Environment
    Variables"; ``third_party/forked/golang/expansion``). Other ``valueFrom`` sources are left out."""
    out: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            out[entry["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                        lambda m: out.get(m.group(1), m.group(0)), entry["value"])
            continue
        path = ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
        label = re.fullmatch(r"metadata\.labels\['([^']+)'\]", path)
        if label and label.group(1) in labels:
            out[entry["name"]] = labels[label.group(1)]
    return out
