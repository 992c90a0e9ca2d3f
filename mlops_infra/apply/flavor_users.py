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
- :func:`cohort_users`: flavor -> the Kueue Cohorts whose shared quota (``spec.resourceGroups[*].flavors[*].name``,
  the ClusterQueue's shape) names it, from one LIST of ``cohorts.kueue.x-k8s.io/v1beta2`` (kueue v0.19.0
  ``config/components/crd/bases/kueue.x-k8s.io_cohorts.yaml``: cluster-scoped, ``v1beta1`` (deprecated) and
  ``v1beta2`` both served, ``v1beta2`` the storage version, so the one LIST returns the Cohorts written in either);
  no Cohort CRD: none. A Cohort's pool is "a shared pool for the ClusterQueues within it" per flavor name
  (``apis/kueue/v1beta2/cohort_types.go`` ``CohortSpec.ResourceGroups``; ``pkg/cache/scheduler/cohort.go``
  ``updateCohort``: ``createResourceQuotas(apiCohort.Spec.ResourceGroups)``), so once this stack's queues stop
  naming the flavor that pool lends them nothing; but Kueue's finalizer counts ClusterQueues only
  (``pkg/cache/scheduler/cache.go`` ``ClusterQueuesUsingFlavor`` loops ``c.hm.ClusterQueues()``), so a Cohort
  does not hold the delete: apply names it and goes on (the plan cannot read the cluster and only gives
  :data:`~mlops_infra.plan.queue_removal.LIST_COHORTS`, closing-35e-3).
- :func:`refuse_outside_users`: what `apply` calls before `pulumi up`: :func:`refusal` when any outside
  ClusterQueue names a condemned flavor; otherwise each Cohort that names one is said (:func:`cohort_note`,
  through ``say``).
- :func:`refusal`: the :class:`~mlops_infra.errors.UserError` (with the Cohorts naming the flavors, by name, and
  the command that lists every Cohort and its flavors) naming each such queue, the order its owner follows
  (remove the deleted flavor, apply, then name the new one: the flavors this stack's queues name after the apply,
  when the plan says), and the command that shows them. Never "name the new flavor first" (closing-35e-2): this
  apply may be what creates it, and Kueue v0.19.0 makes a ClusterQueue that names a flavor not in its cache
  inactive (``pkg/cache/scheduler/clusterqueue.go`` ``updateFlavorMetadata`` -> ``missingFlavors``;
  ``updateQueueStatus``: reason ``FlavorNotFound``, "references missing ResourceFlavor(s)"), so it admits none of
  its own workloads until the flavor exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mlops_infra.apply.queue_drain import listed
from mlops_infra.errors import UserError
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import resource_type
from mlops_infra.plan.queue_removal import FINALIZER, LIST_COHORTS, is_kueue, removed_kueue

CLUSTER_QUEUE = resource_type("kueue.x-k8s.io/v1beta2", "ClusterQueue", namespaced=False)
COHORT = resource_type("kueue.x-k8s.io/v1beta2", "Cohort", namespaced=False)
LIST_COMMAND = ("kubectl get clusterqueues -o "
                "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name")


def condemned_flavors(changes: Iterable[Any]) -> list[str]:
    """The ResourceFlavors the plan's ``changes`` delete or replace (by name)."""
    return sorted({c.name for c in removed_kueue(changes, "ResourceFlavor")})


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


def cohort_users(kube: KubeClient, flavors: Sequence[str]) -> dict[str, list[str]]:
    """Flavor -> the Kueue Cohorts whose shared quota names it (see the module contract)."""
    wanted = set(flavors)
    found: dict[str, list[str]] = {}
    for item in listed(kube, COHORT):
        name = str((item.get("metadata") or {}).get("name"))
        for flavor in sorted(wanted.intersection(flavors_named(item))):
            found.setdefault(flavor, []).append(name)
    return {flavor: sorted(cohorts) for flavor, cohorts in sorted(found.items())}


def _cohort_lines(cohorts: Mapping[str, list[str]]) -> str:
    return "\n".join(f"  ResourceFlavor {flavor}: in the shared quota of Cohort {', '.join(names)}"
                     for flavor, names in cohorts.items())


def cohort_note(cohorts: Mapping[str, list[str]], instead: Sequence[str] = ()) -> str:
    """The warning for ``cohorts`` (:func:`cohort_users`, not empty); ``instead``: the flavors this stack's queues
    name after the apply."""
    move = (f"; once the apply has created {' or '.join(instead)}, give that quota to it (kubectl edit cohort <name>)"
            if instead else "; give that quota to the flavor this environment's queues name after the apply "
            "(kubectl edit cohort <name>)")
    return (f"warning: this apply deletes {len(cohorts)} Kueue ResourceFlavor(s) that Kueue Cohorts name in their "
            f"shared quota:\n{_cohort_lines(cohorts)}\nThis environment's queues no longer name it, so that quota "
            "stops lending to them, with no error (a Cohort does not hold the delete: Kueue's finalizer counts "
            f"ClusterQueues only){move}.")


def refusal(users: Mapping[str, list[str]], instead: Sequence[str] = (),
            cohorts: Mapping[str, list[str]] | None = None) -> UserError:
    """The refusal for ``users`` (:func:`outside_users`); ``instead``: the flavors this stack's queues name;
    ``cohorts``: :func:`cohort_users` (None: not read)."""
    listed = "\n".join(f"  ResourceFlavor {flavor}: named by ClusterQueue {', '.join(queues)}"
                       for flavor, queues in users.items())
    after = (f"; once the apply has created it, name {' or '.join(instead)} there to lend again (not before: Kueue "
             "makes a ClusterQueue that names a missing ResourceFlavor inactive, FlavorNotFound, and it admits none "
             "of its own workloads)" if instead else "")
    named = ("" if cohorts is None else " No Cohort names it." if not cohorts else
             f" Cohorts that name it:\n{_cohort_lines(cohorts)}\nMove that quota to the new flavor after the apply.")
    return UserError(
        f"refusing to apply: this apply deletes {len(users)} Kueue ResourceFlavor(s) that ClusterQueues outside "
        "this stack still name; nothing was applied",
        f"{listed}\nKueue keeps a deleted flavor while any ClusterQueue names it (finalizer {FINALIZER}), so "
        "`pulumi up` would wait 10 minutes for the delete and fail, and so would every later apply; those queues "
        "also stop lending to this environment. Change each of them first (its owner: kubectl edit clusterqueue "
        "<name>): in spec.resourceGroups[].flavors, remove the deleted flavor (the queue keeps its other flavors "
        f"and stays active); then apply again{after}. Every queue and the flavors it "
        f"names: {LIST_COMMAND}. A Kueue Cohort's shared quota for the deleted flavor stops lending without an "
        f"error (a Cohort does not hold the delete).{named} Every Cohort and its flavors: {LIST_COHORTS}")


def refuse_outside_users(graph: Any, plan: Any, prior: Any, say: Callable[[str], None] = lambda text: None) -> None:
    """Raise :func:`refusal` when a ClusterQueue outside the stack names a flavor the plan deletes, else ``say``
    :func:`cohort_note` when a Cohort names one; reads the cluster (graph's kubeconfig context) only on
    Kubernetes and only when the plan deletes or replaces a flavor. ``graph`` is the desired graph, ``plan`` the
    plan applied, ``prior`` the state it was planned against."""
    flavors = condemned_flavors(plan.changes)
    if not flavors or graph.metadata.get("cloud") != "kubernetes":
        return
    from mlops_infra.kube.effective_context import graph_options

    desired = [r.inputs for r in graph.resources if is_kueue(r.type, "ClusterQueue")]
    before = [r.inputs for r in prior.resources.values() if is_kueue(r.type, "ClusterQueue")]
    ours = {str((q.get("metadata") or {}).get("name")) for q in (*desired, *before)}
    kube = KubeClient.connect(graph_options(graph, "check who names the ResourceFlavors this apply deletes"))
    users = outside_users(kube, flavors, ours)
    cohorts = cohort_users(kube, flavors)
    moved = {(q.get("metadata") or {}).get("name") for q in before if set(flavors).intersection(flavors_named(q))}
    instead = sorted({f for q in desired if (q.get("metadata") or {}).get("name") in moved
                      for f in flavors_named(q)} - set(flavors))
    if users:
        raise refusal(users, instead, cohorts)
    if cohorts:
        say(cohort_note(cohorts, instead))
