"""GPU node labels a scale-from-zero cluster can satisfy (audit preflight-5): checked on the live cluster.

The compiled graph selects GPU nodes by GPU Feature Discovery's ``nvidia.com/gpu.product``
(:mod:`mlops_infra.compile.kubernetes.gpu`): a Kueue ResourceFlavor's ``spec.nodeLabels`` (injected
into the training pods Kueue admits to it) and a GPU InferenceService's predictor ``nodeSelector``.
GPU Feature Discovery puts that label on a node only once the node runs its DaemonSet, so the label
exists only on running GPU nodes. Karpenter refuses to create a node for a pod requiring a label it
does not know: kubernetes-sigs/karpenter v1.14.0 ``pkg/scheduling/requirements.go`` ``Compatible``
("Custom Labels must intersect, but if not defined are denied": ``label %q does not have known
values``), applied to every pending pod against each NodePool's requirements
(``pkg/controllers/provisioning/scheduling/nodeclaim.go:133``); a NodePool's requirements are its
``spec.template.spec.requirements`` plus its ``spec.template.metadata.labels``
(``pkg/controllers/provisioning/scheduling/topology.go:115-116``). The labels allowed undefined are
the well-known ones (``pkg/apis/v1/labels.go`` ``WellKnownLabels``: nodepool, zone, region,
instance-type, arch, os, capacity-type, windows-build) and, on AWS, the provider's
(aws/karpenter-provider-aws ``pkg/apis/v1/labels.go``: ``karpenter.k8s.aws/instance-gpu-name``,
``-manufacturer``, ``-count``, ``-memory``); no ``nvidia.com/*`` label is among them. So with no GPU
node running (``nodes.min: 0``) and no NodePool defining the label, every GPU pod stays Pending.

Contract of :func:`gpu_label_checks`: one ``(Prerequisite, state, detail)`` per distinct
``(label, value)`` of :data:`GPU_LABELS` the graph selects nodes by, sorted, ``needed_by`` naming the
objects (``Kueue ResourceFlavor <address> (training runs)``, ``InferenceService <address>``):
``ok`` when some Node carries the label with that value or some ``karpenter.sh/v1`` NodePool defines
it (template label equal to the value; a requirement on the key with ``In`` listing the value,
``Exists``, or ``NotIn`` not listing it: the operators under which ``Compatible`` and the following
``Intersects`` pass), ``missing`` otherwise, ``unknown`` when a read was refused or failed (the
reason kept, nothing claimed). When ``karpenter.sh/v1`` is not served (404 for the type) the
NodePools are read at ``karpenter.sh/v1beta1``: Karpenter 0.32 to 0.37 serve only that version
(kubernetes-sigs/karpenter ``pkg/apis/crds/karpenter.sh_nodepools.yaml``: v0.32.0 and v0.37.0 list
``name: v1beta1`` only, v1.0.0 ``v1`` and ``v1beta1``, v1.1.0 ``v1`` only), with the same
``spec.template.metadata.labels`` and ``spec.template.spec.requirements`` and the same "Custom Labels must
intersect" rule (audit kubevers-4). NodePools absent from the API at both (404: Karpenter not installed)
count as none. Reads: ``GET /api/v1/nodes`` once, ``GET /apis/karpenter.sh/v1/nodepools`` once (then
``.../v1beta1/nodepools`` once if v1 is not served) and only when some label is on no Node; none when the
graph selects no GPU label. An unreachable cluster raises
:class:`~mlops_infra.kube.errors.KubeUnreachable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlops_infra.compile.kubernetes.gpu import PRODUCT_LABEL
from mlops_infra.compile.kubernetes.prerequisites import Check, Prerequisite
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError, KubeNotFound, KubeUnreachable
from mlops_infra.kube.resources import resource_type

GPU_LABELS = (PRODUCT_LABEL,)
"""Node labels the graph selects GPU nodes by that Karpenter does not know (see the module docstring)."""

NODE = resource_type("v1", "Node", namespaced=False)
NODE_POOL = resource_type("karpenter.sh/v1", "NodePool", namespaced=False)
NODE_POOL_V1BETA1 = resource_type("karpenter.sh/v1beta1", "NodePool", namespaced=False)
"""Karpenter 0.32 to 0.37 serve NodePools at ``v1beta1`` only (module docstring)."""

SOURCE = ("kubernetes-sigs/karpenter pkg/scheduling/requirements.go Compatible; pkg/apis/v1/labels.go WellKnownLabels; "
          "aws/karpenter-provider-aws pkg/apis/v1/labels.go")


def _selectors(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every ``nodeSelector`` / ``nodeLabels`` mapping in a resource's inputs."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in ("nodeSelector", "nodeLabels") and isinstance(inner, Mapping):
                yield inner
            yield from _selectors(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _selectors(inner)


def _user(res: Any) -> str:
    kind = res.type.rpartition(":")[2]
    if kind == "ResourceFlavor":
        return f"Kueue ResourceFlavor {res.address} (training runs)"
    return f"{kind} {res.address}"


def gpu_selections(graph: Any) -> dict[tuple[str, str], list[str]]:
    """``(label, value)`` of :data:`GPU_LABELS` the graph's objects select nodes by -> the objects (sorted)."""
    out: dict[tuple[str, str], set[str]] = {}
    for res in graph.resources:
        for selector in _selectors(res.inputs):
            for label in GPU_LABELS:
                if isinstance(selector.get(label), str):
                    out.setdefault((label, selector[label]), set()).add(_user(res))
    return {key: sorted(users) for key, users in sorted(out.items())}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def node_pool_defines(pool: Mapping[str, Any], label: str, value: str) -> bool:
    """Whether a NodePool's template labels or requirements let a pod requiring ``label=value`` through."""
    template = (pool.get("spec") or {}).get("template") or {}
    if _labels(template).get(label) == value:
        return True
    for req in (template.get("spec") or {}).get("requirements") or []:
        if not isinstance(req, Mapping) or req.get("key") != label:
            continue
        values, operator = req.get("values") or [], req.get("operator")
        if operator == "Exists" or (operator == "In" and value in values) or (operator == "NotIn" and value not in values):
            return True
    return False


def _enable(label: str, value: str) -> str:
    return (f"a Karpenter NodePool for that GPU that sets it in spec.template.metadata.labels "
            f"({label}: {value}), restricted to that GPU (requirement karpenter.k8s.aws/instance-gpu-name), "
            "or keep at least one such GPU node running (nodes.min >= 1 on a node group running GPU Feature Discovery); "
            "docs/compile-kubernetes.md section 4")


def _list(kube: KubeClient, rtype: Any, *older: Any) -> tuple[str, Any, str]:
    """``("found", objects, api_version)`` of ``rtype``, else of the first of ``older`` the API serves (none
    served: no objects, ``rtype``'s version), or ``("error", exc, api_version)``."""
    try:
        return "found", kube.list(rtype), rtype.api_version
    except KubeUnreachable:
        raise
    except KubeNotFound as exc:
        if exc.type_missing:
            if older:
                found = _list(kube, *older)
                return found if found[0] == "error" or found[1] else ("found", [], rtype.api_version)
            return "found", [], rtype.api_version
        return "error", exc, rtype.api_version
    except KubeError as exc:
        return "error", exc, rtype.api_version


def gpu_label_checks(kube: KubeClient, graph: Any) -> list[tuple[Prerequisite, str, str]]:
    """Check each GPU node label the graph selects by (see the module contract)."""
    wanted = gpu_selections(graph)
    if not wanted:
        return []
    nodes = _list(kube, NODE)
    pools: tuple[str, Any, str] | None = None
    out = []
    for (label, value), users in wanted.items():
        p = Prerequisite(f"a GPU node labelled {label}={value}", tuple(users), Check(), _enable(label, value), SOURCE)
        if nodes[0] == "found" and any(_labels(n).get(label) == value for n in nodes[1]):
            out.append((p, "ok", f"a Node carries {label}={value}"))
            continue
        if pools is None:
            pools = _list(kube, NODE_POOL, NODE_POOL_V1BETA1)
        pool_version = pools[2]
        if pools[0] == "found":
            defining = sorted(str((pool.get("metadata") or {}).get("name")) for pool in pools[1]
                              if node_pool_defines(pool, label, value))
            if defining:
                served = "" if pool_version == NODE_POOL.api_version else f" ({pool_version})"
                out.append((p, "ok", f"NodePool {', '.join(defining)}{served} defines {label}={value}"))
                continue
        if nodes[0] == "error":
            out.append((p, "unknown", f"listing Nodes: {nodes[1].summary}"))
        elif pools[0] == "error":
            out.append((p, "unknown", f"no Node carries it; listing {pool_version} NodePools: {pools[1].summary}"))
        else:
            out.append((p, "missing", (
                f"no Node carries {label}={value} and no {pool_version} NodePool sets it in its template labels or "
                "requirements: Karpenter does not create a node for a pod requiring a label no NodePool defines, and "
                "GPU Feature Discovery labels a node only once it runs, so from zero GPU nodes these pods stay Pending")))
    return out
