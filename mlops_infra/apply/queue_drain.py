"""Before ``pulumi up`` deletes a Kueue ClusterQueue: refuse while it has admitted runs, or drain it first (removal-4).

Kueue keeps a ClusterQueue with admitted workloads (finalizer ``kueue.x-k8s.io/resource-in-use``; kueue
``site/content/en/docs/tasks/troubleshooting/troubleshooting_delete_clusterqueue.md``; ``pkg/controller/core/
clusterqueue_controller.go`` ``Reconcile`` drops the finalizer of a terminating queue only when
``cache.ClusterQueueEmpty``), and pulumi-kubernetes waits 10 minutes for the delete, then fails the update
(``provider/pkg/await/await.go`` ``Deletion``), on every apply until the runs end (``plan/queue_removal.py``).

A workload holds its ClusterQueue while its quota is reserved and it has not finished
(:func:`holds_queue`): ``status.admission`` is set, with ``admission.clusterQueue`` "the name of the
ClusterQueue that admitted this workload" (kueue ``apis/kueue/v1beta2/workload_types.go``
``WorkloadStatus.Admission``, ``Admission.ClusterQueue``), and is "set back to null" when the
reservation goes (``pkg/workload/workload.go`` ``UnsetQuotaReservationWithCondition``). A *finished*
workload keeps its ``status.admission`` (``pkg/workload/finish/finish.go`` ``Finish`` only sets the
``Finished`` condition), but Kueue no longer counts it: ``workload_controller.go`` ``Update`` removes a
finished workload from the cache, and ``ClusterQueueEmpty`` (``pkg/cache/scheduler/cache.go``) is what
lets the finalizer go; HoldAndDrain never evicts it either. So a run that finished (every weekly
retrain leaves one: the compiled runs have no ``ttlSecondsAfterFinished``) does not hold the queue
(finding closing-32b-1: counting it refused every removal of a cluster that had ever run, for good).
The conditions are Kueue's ``Finished`` (``workload.IsFinished``: status True) and ``QuotaReserved``
(``workload.HasQuotaReservation``), ``apis/kueue/v1beta2/workload_types.go``. Kueue's documented way to delete a queue in use is
``spec.stopPolicy: HoldAndDrain``: "Admitted workloads are evicted and Reserving workloads will cancel the
reservation" (``apis/kueue/v1beta2/clusterqueue_types.go`` ``ClusterQueueSpec.StopPolicy``;
``pkg/controller/core/workload_controller.go`` ``reconcileOnClusterQueueActiveState`` evicts an admitted
workload of a HoldAndDrain queue, then unsets its reservation).

A ClusterQueue the plan updates in place to name other flavors (the one-time rename of a cohort's flavor,
``compile/kubernetes/queues.py`` ``flavor_name``; a borrowing cluster's node-type change) is checked the same way
(closing-35e-1): Kueue counts usage per (flavor, resource) (kueue v0.19.0 ``pkg/cache/scheduler/clusterqueue.go``
``updateWorkloadUsage``; ``resource_node.go`` ``available``), so a run admitted on the old flavor stays counted
under it, the new flavor's quota starts free, and Kueue admits a full quota of new runs beside it; the
ClusterQueue webhook does not forbid the change (``pkg/webhooks/clusterqueue_webhook.go``
``ValidateClusterQueueUpdate``). Such a queue survives the apply, so after the drain and a successful ``pulumi up``
it is released (:data:`RELEASE`; Kueue requeues the evicted runs, now on the new flavor).

A hold outlives a failed apply (kueueleft-4). ``spec.stopPolicy`` is not in the compiled ClusterQueue, and
``pulumi up`` never writes it back: pulumi-kubernetes diffs the new inputs against the old live object pruned to
the shape of the old inputs (``provider/pkg/provider/provider.go`` ``Diff``: ``pruneLiveState(oldLive,
oldInputs)``), so a field the program never sets is no change; and it updates by server-side apply of the inputs
alone (``provider/pkg/await/await.go`` ``ssaUpdate``: ``types.ApplyPatchType`` with its ``FieldManager``), which
removes a field only when the applier owned it and no other manager does ("Server-Side Apply", Field management:
https://kubernetes.io/docs/reference/using-api/server-side-apply/). So a queue the drain held while the apply then
failed stayed held, its runs evicted and nothing admitted, through every later apply, which drains nothing (no
run is admitted there any more) and so released nothing. The drain therefore writes as its own field manager
(:data:`DRAIN_MANAGER`, the ``fieldManager`` of its merge patch): Kubernetes records who last changed each field
in ``metadata.managedFields`` ("Whenever a field's value does change, ownership moves from its current manager to
the manager making the change", same page). A queue of this stack whose ``stopPolicy`` is ``HoldAndDrain`` and
owned by :data:`DRAIN_MANAGER` was held by an apply and not released; one whose ``stopPolicy`` another manager
set (someone's ``kubectl patch``, an operator) is that person's hold and is left as it is, only named; one owned
by :data:`CLIENT_MANAGER` may be a hold of the drain before it had a manager of its own, and is named as such.

Contract:
- :func:`earlier_holds`: before ``pulumi up``, on Kubernetes, the ClusterQueues of the desired graph that an
  earlier apply's drain left held (:func:`held_by_drain`), from one LIST of ClusterQueues; a queue of the graph
  held by another manager is said (``say``) with :func:`release_command`, not released. When the apply had no
  client yet (no queue to delete or move), the read is its own, one try within :data:`QUICK_READ`, of the cluster
  ``pulumi up`` changes (:func:`mlops_infra.kube.effective_context.graph_options`), and a cluster it cannot reach
  is a warning (``say``) naming that cluster (``graph_cluster``: the stack config's context and file when it
  overrides the spec's) and no queue. :func:`release` after a
  successful ``pulumi up`` includes them; when the apply fails, :func:`held_note` names them (``kept``).
- :func:`held_by_drain`: whether a ClusterQueue object is held (``HoldAndDrain``) with :data:`DRAIN_MANAGER`
  owning ``spec.stopPolicy`` in its ``managedFields`` (a ``FieldsV1`` entry with ``f:spec`` -> ``f:stopPolicy``).
- :func:`condemned_queues`: the names of the ClusterQueues a plan deletes or replaces, or moves to other flavors
  (:func:`~mlops_infra.plan.queue_removal.moved_queues`), sorted.
- :func:`admitted_workloads`: ``{queue: ["<namespace>/<workload>", ...]}`` for those queues, from one LIST of
  ``kueue.x-k8s.io/v1beta2`` workloads in all namespaces (the version the compiler writes queues in) through
  :class:`~mlops_infra.kube.client.KubeClient`; queues with none are left out. A cluster without the Workload
  resource (no Kueue) has none.
- :func:`refusal`: the :class:`~mlops_infra.errors.UserError` that names every admitted workload and the two
  ways out (wait, or rerun with ``--drain-queues``); ``moved``: the queues among them that are moved, not deleted.
- :func:`release`: after a successful ``pulumi up``, merge-patches :data:`RELEASE` onto each drained queue that was
  moved (a deleted one is gone), and each queue :func:`earlier_holds` found.
- :func:`drain`: merge-patches ``spec.stopPolicy: HoldAndDrain`` (as :data:`DRAIN_MANAGER`) onto each queue that has
  admitted workloads,
  then reads the workloads again every ``poll`` seconds until none of those queues has one (returns) or
  ``timeout`` seconds have passed (a ``UserError`` naming the ones left; the stop policy stays set, nothing
  else changed). Its ``check`` may stop it before any patch or read (``apply``: Ctrl-C or SIGTERM).
- :func:`held_note`: after a drain, when the apply fails or is refused (anything from the drain's wait to
  ``pulumi up``), the text that says which of the drained queues are still held (read again: a queue the
  apply already deleted is not) and how to release each (:func:`release_command`; audit closing-33b-2: the
  error said "Nothing was applied" and nothing of the queue, which stays held, its runs evicted, until
  someone clears the field). ``stopPolicy: None`` is the value under which "Workloads are admitted"
  (``ClusterQueueSpec.StopPolicy``, enum ``None;Hold;HoldAndDrain``), and Kueue requeues the workloads it
  evicted for the stop once the queue's stop policy is None again (``pkg/controller/core/
  workload_controller.go`` ``Reconcile``: ``isDisabledRequeuedByClusterQueueStopped`` ->
  ``SetRequeuedCondition(..., WorkloadClusterQueueRestarted, ...)``). A queue that cannot be read is named
  as possibly held.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeNotFound
from mlops_infra.kube.resources import resource_type
from mlops_infra.plan.queue_removal import is_kueue, moved_queues, removed_kueue

KUEUE = "kueue.x-k8s.io/v1beta2"
WORKLOAD = resource_type(KUEUE, "Workload")
CLUSTER_QUEUE = resource_type(KUEUE, "ClusterQueue", namespaced=False)
STOP = {"spec": {"stopPolicy": "HoldAndDrain"}}
RELEASE = {"spec": {"stopPolicy": "None"}}
"""The merge patch that lets a drained queue admit again (:func:`release_command`)."""
DRAIN_MANAGER = "mlops-infra-drain"
"""The ``fieldManager`` of the drain's and the release's patches: who owns a hold in ``managedFields`` (module docstring)."""
CLIENT_MANAGER = "OpenAPI-Generator"
"""Who owns a hold that the drain of mlops-infra before ``mlops-infra-drain`` (b426db0) wrote: its patches sent no
``fieldManager``, and the API server then records the user agent's prefix (``k8s.io/apiserver/pkg/endpoints/
handlers`` ``managerOrUserAgent``: "if manager != "" { return manager }; return prefixFromUserAgent(userAgent)",
the characters before the first ``/``); the Kubernetes Python client's ``ApiClient.user_agent`` is
``OpenAPI-Generator/<version>/python`` (``kubernetes/client/api_client.py``). Any other tool on that client without
a field manager writes under the same name, so such a hold is only named as possibly ours, never released."""
QUICK_READ = (2.0, 10.0)
"""(connect, read) seconds of :func:`earlier_holds`' own read: one try (``NO_RETRY``); the client alone would retry a
silent server for minutes."""
FLAG = "--drain-queues"
DRAIN_TIMEOUT = 600.0
"""How long :func:`drain` waits for Kueue to evict (seconds): as long as pulumi-kubernetes would wait."""
POLL_SECONDS = 5.0


def condemned_queues(changes: Iterable[Any]) -> list[str]:
    """The ClusterQueues the plan's ``changes`` delete, replace or move to other flavors (by name). A delete Pulumi
    only drops from the state (``ResourceChange.destroys`` false: ``retainOnDelete``, read with ``Resource.get``,
    already deleted by a delete-before-replace) leaves the live queue alone, so it is not drained."""
    changes = list(changes)
    return sorted({c.name for c in removed_kueue(changes, "ClusterQueue")} | set(moved_queues(changes)))


def listed(kube: KubeClient, kind: Any) -> list[dict[str, Any]]:
    """The objects of ``kind``; none when the cluster does not serve the type (Kueue not installed)."""
    try:
        return kube.list(kind)
    except KubeNotFound as exc:
        if exc.type_missing:
            return []
        raise


def admitted_workloads(kube: KubeClient, queues: Sequence[str]) -> dict[str, list[str]]:
    """Queue -> its admitted workloads (see the module contract)."""
    wanted = set(queues)
    items = listed(kube, WORKLOAD)
    found: dict[str, list[str]] = {}
    for item in items:
        admission = (item.get("status") or {}).get("admission") or {}
        queue = admission.get("clusterQueue")
        if queue in wanted and holds_queue(item):
            meta = item.get("metadata") or {}
            found.setdefault(queue, []).append(f"{meta.get('namespace')}/{meta.get('name')}")
    return {queue: sorted(names) for queue, names in sorted(found.items())}


def holds_queue(workload: Mapping[str, Any]) -> bool:
    """Whether a workload naming a queue in ``status.admission`` still holds it: not ``Finished`` (True),
    and its ``QuotaReserved`` condition not False (see the module contract)."""
    conditions = {c.get("type"): c.get("status") for c in (workload.get("status") or {}).get("conditions") or ()
                  if isinstance(c, Mapping)}
    return conditions.get("Finished") != "True" and conditions.get("QuotaReserved") != "False"


def _listed(admitted: Mapping[str, list[str]]) -> str:
    return "\n".join(f"  ClusterQueue {queue}: {', '.join(names)}" for queue, names in admitted.items())


def refusal(admitted: Mapping[str, list[str]], moved: Sequence[str] = ()) -> UserError:
    count = sum(map(len, admitted.values()))
    moving = [q for q in admitted if q in set(moved)]
    verb = "moves to new Kueue ResourceFlavors" if len(moving) == len(admitted) else (
        "deletes or moves to new Kueue ResourceFlavors" if moving else "deletes")
    why = (f"ClusterQueue {', '.join(moving)} will name other flavors: Kueue counts a run's quota under the flavor "
           "it was admitted on, so the queue's quota on the new flavor would be free while these runs keep their "
           "nodes, and Kueue would admit a full quota of new runs beside them. ") if moving else ""
    return UserError(
        f"refusing to apply: this apply {verb} {len(admitted)} Kueue ClusterQueue(s) that still admit "
        f"{count} workload(s); nothing was applied",
        f"{_listed(admitted)}\n{why}Kueue keeps a ClusterQueue while a workload it admitted runs (finalizer "
        "kueue.x-k8s.io/resource-in-use), so `pulumi up` would wait 10 minutes for the delete and fail. Either "
        "wait until these runs finish and apply again, or apply again with "
        f"{FLAG}: it sets spec.stopPolicy: HoldAndDrain on the ClusterQueue first (Kueue evicts the runs: their "
        "progress since the last checkpoint is lost), waits until none is admitted, then applies" + (" (and releases a moved queue after the apply)." if moving else "."))


def release(kube: KubeClient, queues: Sequence[str], say: Callable[[str], None]) -> None:
    """Merge-patch :data:`RELEASE` onto each of ``queues`` (drained and moved, after a successful ``pulumi up``)."""
    for queue in queues:
        kube.patch(CLUSTER_QUEUE, queue, None, RELEASE, field_manager=DRAIN_MANAGER)
        say(f"Released Kueue ClusterQueue {queue} (spec.stopPolicy: None): it admits runs on its new flavors")


def drain(kube: KubeClient, admitted: Mapping[str, list[str]], say: Callable[[str], None], *,
          timeout: float | None = None, poll: float | None = None, sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic, check: Callable[[], None] = lambda: None) -> None:
    """Stop the queues with HoldAndDrain and wait until they admit nothing (see the module contract);
    ``timeout`` and ``poll`` default to :data:`DRAIN_TIMEOUT` and :data:`POLL_SECONDS`. ``check`` runs before
    each patch and each read and may raise to stop the drain there (``apply``: a signal,
    :meth:`~mlops_infra.apply.pulumi_process.SignalGuard.check`; no further queue is held)."""
    timeout = DRAIN_TIMEOUT if timeout is None else timeout
    poll = POLL_SECONDS if poll is None else poll
    queues = list(admitted)
    for queue in queues:
        check()
        say(f"Draining Kueue ClusterQueue {queue} (spec.stopPolicy: HoldAndDrain): evicting {', '.join(admitted[queue])}")
        kube.patch(CLUSTER_QUEUE, queue, None, STOP, field_manager=DRAIN_MANAGER)
    deadline = clock() + timeout
    while True:
        check()
        left = admitted_workloads(kube, queues)
        if not left:
            say(f"Drained: {', '.join(queues)} admit no workload")
            return
        if clock() >= deadline:
            raise UserError(f"the ClusterQueue(s) did not drain within {int(timeout)} seconds; nothing was applied",
                            f"{_listed(left)}\nTheir spec.stopPolicy is HoldAndDrain. Check Kueue's controller "
                            "and the workloads' conditions (kubectl describe workload -n NS NAME), then apply again.")
        sleep(poll)


def held_by_drain(queue: Mapping[str, Any]) -> bool:
    """Whether a ClusterQueue object is held (``HoldAndDrain``) by an apply's drain: :data:`DRAIN_MANAGER` owns its
    ``spec.stopPolicy`` (module docstring)."""
    if (queue.get("spec") or {}).get("stopPolicy") != STOP["spec"]["stopPolicy"]:
        return False
    entries = (queue.get("metadata") or {}).get("managedFields") or ()
    return any(isinstance(e, Mapping) and e.get("manager") == DRAIN_MANAGER
               and "f:stopPolicy" in ((e.get("fieldsV1") or {}).get("f:spec") or {}) for e in entries)


def _stop_policy_managers(queue: Mapping[str, Any]) -> set[str]:
    """The managers that own ``spec.stopPolicy`` in a ClusterQueue object's ``managedFields``."""
    entries = (queue.get("metadata") or {}).get("managedFields") or ()
    return {str(e.get("manager")) for e in entries if isinstance(e, Mapping)
            and "f:stopPolicy" in ((e.get("fieldsV1") or {}).get("f:spec") or {})}


def earlier_holds(graph: Any, kube: KubeClient | None, say: Callable[[str], None]) -> tuple[KubeClient | None, list[str]]:
    """(a client of the cluster, or ``kube`` as given; the ClusterQueues of the desired ``graph`` an earlier apply's
    drain left held), read only on Kubernetes and only when the graph has a ClusterQueue; a queue of the graph held
    by another manager is ``say``-d (see the module contract)."""
    names = {str((r.inputs.get("metadata") or {}).get("name")) for r in graph.resources if is_kueue(r.type, "ClusterQueue")}
    if not names or graph.metadata.get("cloud") != "kubernetes":
        return kube, []
    if kube is not None:  # the apply reads the cluster anyway (a queue it deletes or moves): as strict as that read
        items = listed(kube, CLUSTER_QUEUE)
    else:  # only for this check: bounded, and a cluster it cannot read is a warning, as the namespace check's
        from mlops_infra.kube.client import NO_RETRY
        from mlops_infra.kube.effective_context import graph_cluster, graph_options

        try:
            kube = KubeClient.connect(graph_options(graph, "check the ClusterQueues an earlier apply held"))
            items = listed(KubeClient(kube.api_client, retry=NO_RETRY, timeout=QUICK_READ), CLUSTER_QUEUE)
        except UserError as exc:  # named as read: the stack config's context over the spec's (ctxread)
            say(f"warning: could not read the Kueue ClusterQueues through {graph_cluster(graph)} ({exc.summary}); whether "
                "an earlier apply left one of this stack's held was not checked")
            return None, []
    ours: list[str] = []
    for item in items:
        name = str((item.get("metadata") or {}).get("name"))
        policy = (item.get("spec") or {}).get("stopPolicy")
        if name not in names or policy in (None, "None"):
            continue
        if held_by_drain(item):
            ours.append(name)
            say(f"Kueue ClusterQueue {name} is still held (spec.stopPolicy: HoldAndDrain) by an earlier apply's "
                f"drain ({FLAG}) that did not finish: this apply releases it once `pulumi up` succeeds.")
        elif CLIENT_MANAGER in _stop_policy_managers(item):
            say(f"warning: Kueue ClusterQueue {name} has spec.stopPolicy: {policy}, set by field manager "
                f"{CLIENT_MANAGER} (the Kubernetes Python client's default): it may be a hold an earlier version of "
                f"mlops-infra apply {FLAG} left (its drain had no field manager of its own), or another tool's on "
                "that client; it admits no new run and this apply leaves it so (`pulumi up` never changes that "
                f"field). If no one else holds it, release it: {release_command(name)}")
        else:
            say(f"warning: Kueue ClusterQueue {name} has spec.stopPolicy: {policy}, set by someone other than "
                f"mlops-infra apply: it admits no new run and this apply leaves it so (`pulumi up` never changes "
                f"that field). Release it when its owner is done: {release_command(name)}")
    return kube, sorted(ours)


def release_command(queue: str) -> str:
    """The ``kubectl`` command that merge-patches :data:`RELEASE` onto ``queue``."""
    return f"kubectl patch clusterqueue {queue} --type merge -p '{json.dumps(RELEASE, separators=(',', ':'))}'"


def held_note(kube: KubeClient, queues: Sequence[str], moved: Sequence[str] = (), kept: Sequence[str] = ()) -> str:
    """Which of the drained ``queues`` are still held and how to release them ("" when none is; see the module
    contract); ``kept``: queues an earlier apply left held (:func:`earlier_holds`), which the next apply releases."""
    lines = []
    for queue in queues:
        try:
            current = kube.get_or_none(CLUSTER_QUEUE, queue)
        except UserError as exc:
            lines.append(f"ClusterQueue {queue} may still be held (spec.stopPolicy: HoldAndDrain; it could not be "
                         f"read: {exc.summary}).")
        else:
            if current is None or (current.get("spec") or {}).get("stopPolicy") != STOP["spec"]["stopPolicy"]:
                continue
            lines.append(f"ClusterQueue {queue} is held (spec.stopPolicy: HoldAndDrain): it admits no workload, "
                         "and the runs it evicted wait.")
        if queue in set(kept):  # kueueleft-4: held by an earlier apply; this one kept it
            lines.append(f"  An earlier apply held it; the next apply that succeeds releases it, or release it now "
                         f"(Kueue requeues its evicted runs): {release_command(queue)}")
        elif queue in set(moved):  # closing-35e-1: the apply keeps a moved queue, so nothing else releases it
            lines.append(f"  The apply keeps it (it names new flavors): release it once the apply succeeds, or now "
                         f"(Kueue requeues its evicted runs): {release_command(queue)}")
        else:
            lines.append(f"  Apply again once the cause is fixed (the apply deletes or replaces it), or release it "
                         f"(Kueue requeues its evicted runs): {release_command(queue)}")
    return "\n".join(lines)
