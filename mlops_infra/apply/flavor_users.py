"""Refusing to delete a Kueue ResourceFlavor that a ClusterQueue outside the stack still names (audit k8sapply-3).

A cluster's ResourceFlavor is cluster-scoped, and a queue of another environment or team in the cohort lends
only quota it defines for that flavor's name (docs/compile-kubernetes.md 3.2; ``compile/kubernetes/queues.py``).
Kueue keeps a deleted flavor while any ClusterQueue of the cluster names it: kubernetes-sigs/kueue v0.19.0
``pkg/controller/core/resourceflavor_controller.go`` ``Reconcile`` keeps the finalizer
``kueue.x-k8s.io/resource-in-use`` while ``r.cache.ClusterQueuesUsingFlavor(flavor.Name)`` is not empty, and
that cache holds every ClusterQueue whose ``spec.resourceGroups[*].flavors[*].name`` is the flavor. Within the
stack the order is fine (each ClusterQueue depends on its flavor, so Pulumi updates or deletes the queues first).
But a queue outside the stack keeps naming it, and pulumi-kubernetes waits for a deleted object to be gone,
10 minutes by default (pulumi/pulumi-kubernetes ``provider/pkg/await/await.go`` ``Deletion``), then fails the
``pulumi up``, and every later one, until that queue's owner edits it. ``plan`` warns on every deleted flavor
(``plan/queue_removal.py``) since it cannot read the cluster; ``apply`` can, so it refuses first.

Contract:
- :func:`condemned_flavors`: the ResourceFlavors the plan's changes delete from the cluster (not a retained
  delete) or replace, by name.
- :func:`outside_users`: flavor -> the ClusterQueues of the cluster that name it and that the stack does not
  manage (``ours``: every ClusterQueue name of the desired graph and of the prior state), from one LIST of
  ``clusterqueues.kueue.x-k8s.io/v1beta2``; no Kueue CRD installed: nothing names it.
- :func:`refuse_outside_users`: what `apply` calls before `pulumi up`: :func:`refusal` when any.
- :func:`refusal`: the :class:`~mlops_infra.errors.UserError` (with the command that lists the Kueue Cohorts
  naming flavors, :data:`~mlops_infra.plan.queue_removal.LIST_COHORTS`: a Cohort's shared quota stops lending
  silently, closing-35e-3) naming each such queue, the order its owner follows
  (remove the deleted flavor, apply, then name the new one: the flavors this stack's queues name after the apply,
  when the plan says), and the command that shows them. Never "name the new flavor first" (closing-35e-2): this
  apply may be what creates it, and Kueue v0.19.0 makes a ClusterQueue that names a flavor not in its cache
  inactive (``pkg/cache/scheduler/clusterqueue.go`` ``updateFlavorMetadata`` -> ``missingFlavors``;
  ``updateQueueStatus``: reason ``FlavorNotFound``, "references missing ResourceFlavor(s)"), so it admits none of
  its own workloads until the flavor exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlops_infra.apply.queue_drain import listed
from mlops_infra.errors import UserError
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import resource_type
from mlops_infra.plan.model import Action
from mlops_infra.plan.queue_removal import FINALIZER, LIST_COHORTS, is_kueue

CLUSTER_QUEUE = resource_type("kueue.x-k8s.io/v1beta2", "ClusterQueue", namespaced=False)
LIST_COMMAND = ("kubectl get clusterqueues -o "
                "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name")


def condemned_flavors(changes: Iterable[Any]) -> list[str]:
    """The ResourceFlavors the plan's ``changes`` delete or replace (by name)."""
    return sorted({c.name for c in changes
                   if (c.destroys or c.action is Action.REPLACE) and is_kueue(c.type, "ResourceFlavor")})


def flavors_named(queue: Mapping[str, Any]) -> list[str]:
    """The flavor names of a ClusterQueue object (or its inputs), in order."""
    groups = (queue.get("spec") or {}).get("resourceGroups") or []
    return [str(f.get("name")) for g in groups if isinstance(g, Mapping) for f in g.get("flavors") or []
            if isinstance(f, Mapping)]


def outside_users(kube: KubeClient, flavors: Sequence[str], ours: Iterable[str]) -> dict[str, list[str]]:
    """Flavor -> the ClusterQueues outside the stack that name it (see the module contract)."""
    wanted, own = set(flavors), set(ours)
    items = listed(kube, CLUSTER_QUEUE)
    found: dict[str, list[str]] = {}
    for item in items:
        name = str((item.get("metadata") or {}).get("name"))
        if name in own:
            continue
        for flavor in sorted(wanted.intersection(flavors_named(item))):
            found.setdefault(flavor, []).append(name)
    return {flavor: sorted(queues) for flavor, queues in sorted(found.items())}


def refusal(users: Mapping[str, list[str]], instead: Sequence[str] = ()) -> UserError:
    """The refusal for ``users`` (:func:`outside_users`); ``instead``: the flavors this stack's queues name."""
    listed = "\n".join(f"  ResourceFlavor {flavor}: named by ClusterQueue {', '.join(queues)}"
                       for flavor, queues in users.items())
    after = (f"; once the apply has created it, name {' or '.join(instead)} there to lend again (not before: Kueue "
             "makes a ClusterQueue that names a missing ResourceFlavor inactive, FlavorNotFound, and it admits none "
             "of its own workloads)" if instead else "")
    return UserError(
        f"refusing to apply: this apply deletes {len(users)} Kueue ResourceFlavor(s) that ClusterQueues outside "
        "this stack still name; nothing was applied",
        f"{listed}\nKueue keeps a deleted flavor while any ClusterQueue names it (finalizer {FINALIZER}), so "
        "`pulumi up` would wait 10 minutes for the delete and fail, and so would every later apply; those queues "
        "also stop lending to this environment. Change each of them first (its owner: kubectl edit clusterqueue "
        "<name>): in spec.resourceGroups[].flavors, remove the deleted flavor (the queue keeps its other flavors "
        f"and stays active); then apply again{after}. Every queue and the flavors it "
        f"names: {LIST_COMMAND}. A Kueue Cohort's shared quota for the deleted flavor stops lending without an "
        f"error (Cohorts do not hold the delete and are not checked here); every Cohort and its flavors: {LIST_COHORTS}")


def refuse_outside_users(graph: Any, plan: Any, prior: Any) -> None:
    """Raise :func:`refusal` when a ClusterQueue outside the stack names a flavor the plan deletes; reads the
    cluster (graph's kubeconfig context) only on Kubernetes and only when the plan deletes or replaces a flavor.
    ``graph`` is the desired graph, ``plan`` the plan applied, ``prior`` the state it was planned against."""
    flavors = condemned_flavors(plan.changes)
    if not flavors or graph.metadata.get("cloud") != "kubernetes":
        return
    from mlops_infra.kube.config import ConnectOptions

    desired = [r.inputs for r in graph.resources if is_kueue(r.type, "ClusterQueue")]
    before = [r.inputs for r in prior.resources.values() if is_kueue(r.type, "ClusterQueue")]
    ours = {str((q.get("metadata") or {}).get("name")) for q in (*desired, *before)}
    kube = KubeClient.connect(ConnectOptions(context=graph.metadata.get("context")))
    users = outside_users(kube, flavors, ours)
    if users:
        moved = {(q.get("metadata") or {}).get("name") for q in before if set(flavors).intersection(flavors_named(q))}
        instead = sorted({f for q in desired if (q.get("metadata") or {}).get("name") in moved
                          for f in flavors_named(q)} - set(flavors))
        raise refusal(users, instead)
