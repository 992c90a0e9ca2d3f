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

Contract:
- :func:`condemned_queues`: the names of the ClusterQueues a plan deletes or replaces, or moves to other flavors
  (:func:`~mlops_infra.plan.queue_removal.moved_queues`), sorted.
- :func:`admitted_workloads`: ``{queue: ["<namespace>/<workload>", ...]}`` for those queues, from one LIST of
  ``kueue.x-k8s.io/v1beta2`` workloads in all namespaces (the version the compiler writes queues in) through
  :class:`~mlops_infra.kube.client.KubeClient`; queues with none are left out. A cluster without the Workload
  resource (no Kueue) has none.
- :func:`refusal`: the :class:`~mlops_infra.errors.UserError` that names every admitted workload and the two
  ways out (wait, or rerun with ``--drain-queues``); ``moved``: the queues among them that are moved, not deleted.
- :func:`release`: after a successful ``pulumi up``, merge-patches :data:`RELEASE` onto each drained queue that was
  moved (a deleted one is gone).
- :func:`drain`: merge-patches ``spec.stopPolicy: HoldAndDrain`` onto each queue that has admitted workloads,
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
from mlops_infra.plan.model import Action
from mlops_infra.plan.queue_removal import is_kueue, moved_queues

KUEUE = "kueue.x-k8s.io/v1beta2"
WORKLOAD = resource_type(KUEUE, "Workload")
CLUSTER_QUEUE = resource_type(KUEUE, "ClusterQueue", namespaced=False)
STOP = {"spec": {"stopPolicy": "HoldAndDrain"}}
RELEASE = {"spec": {"stopPolicy": "None"}}
"""The merge patch that lets a drained queue admit again (:func:`release_command`)."""
FLAG = "--drain-queues"
DRAIN_TIMEOUT = 600.0
"""How long :func:`drain` waits for Kueue to evict (seconds): as long as pulumi-kubernetes would wait."""
POLL_SECONDS = 5.0


def condemned_queues(changes: Iterable[Any]) -> list[str]:
    """The ClusterQueues the plan's ``changes`` delete, replace or move to other flavors (by name)."""
    changes = list(changes)
    return sorted({c.name for c in changes
                   if c.action in (Action.DELETE, Action.REPLACE) and is_kueue(c.type, "ClusterQueue")}
                  | set(moved_queues(changes)))


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
        kube.patch(CLUSTER_QUEUE, queue, None, RELEASE)
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
        kube.patch(CLUSTER_QUEUE, queue, None, STOP)
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


def release_command(queue: str) -> str:
    """The ``kubectl`` command that merge-patches :data:`RELEASE` onto ``queue``."""
    return f"kubectl patch clusterqueue {queue} --type merge -p '{json.dumps(RELEASE, separators=(',', ':'))}'"


def held_note(kube: KubeClient, queues: Sequence[str], moved: Sequence[str] = ()) -> str:
    """Which of the drained ``queues`` are still held and how to release them ("" when none is; see the module
    contract)."""
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
        if queue in set(moved):  # closing-35e-1: the apply keeps a moved queue, so nothing else releases it
            lines.append(f"  The apply keeps it (it names new flavors): release it once the apply succeeds, or now "
                         f"(Kueue requeues its evicted runs): {release_command(queue)}")
        else:
            lines.append(f"  Apply again once the cause is fixed (the apply deletes or replaces it), or release it "
                         f"(Kueue requeues its evicted runs): {release_command(queue)}")
    return "\n".join(lines)
