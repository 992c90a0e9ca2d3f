"""Removing a training cluster or a training job on Kubernetes while its runs exist (audit removal-4).

A training cluster is a Kueue ClusterQueue (``compile/kubernetes/queues.py``). Kueue keeps a ClusterQueue
that still has admitted workloads: "Kueue uses a finalizer called kueue.x-k8s.io/resource-in-use to prevent
deletion of the ClusterQueue while resources are still in use. Consequently, a ClusterQueue with this
finalizer cannot be deleted until all resources are released" (kubernetes-sigs/kueue
``site/content/en/docs/tasks/troubleshooting/troubleshooting_delete_clusterqueue.md``;
``pkg/controller/core/clusterqueue_controller.go`` ``Reconcile`` removes the finalizer of a terminating
queue only when ``cache.ClusterQueueEmpty``: no workload holds a reservation). pulumi-kubernetes waits for a
deleted object to be gone, ``timeout := 10 * time.Minute`` without ``customTimeouts`` (pulumi/pulumi-kubernetes
``provider/pkg/await/await.go`` ``Deletion``), which the compiled ClusterQueue does not set. So while a run is
admitted the apply fails after ten minutes, and every apply again until the run ends. The same page's way
out is ``spec.stopPolicy: HoldAndDrain``: "Admitted workloads are evicted" (``apis/kueue/v1beta2/
clusterqueue_types.go`` ``ClusterQueueSpec.StopPolicy``). Renaming a cluster renames its ClusterQueue: the
old one is deleted the same way.

A training job's runs are PyTorchJobs the launcher creates from the job's template, with no owner
(``compile/kubernetes/scripts/launcher.py``); they carry the labels ``mlops-infra/training-job: <job>`` and
``kueue.x-k8s.io/queue-name: <cluster's LocalQueue>`` (``compile/kubernetes/training.py`` ``run_template``).
Removing (or renaming) the job deletes its CronJob and template, never its runs: a running one keeps its
nodes until it ends or reaches ``activeDeadlineSeconds`` (``max_runtime``), and finished or pending ones stay.

A cluster's Kueue ResourceFlavor (``queues.py``) is cluster-scoped and named so that queues outside this
environment can lend for it: a queue in the same cohort lends only quota it defines for a flavor this
environment's queues name (Kueue "Cluster Queue", "Flavors and borrowing semantics": "A ClusterQueue can only
borrow quota for flavors that the ClusterQueue defines"). Deleting it is therefore seen outside: such a queue
stops lending to this environment at once, and Kueue keeps the deleted flavor while any ClusterQueue of the
cluster names it (kubernetes-sigs/kueue v0.19.0 ``pkg/controller/core/resourceflavor_controller.go``
``Reconcile``: the finalizer ``kueue.x-k8s.io/resource-in-use`` stays while
``r.cache.ClusterQueuesUsingFlavor(flavor.Name)`` is not empty), so pulumi-kubernetes' 10-minute wait for the
delete fails the apply, and every apply after it (audit k8sapply-3). The plan cannot see other teams' queues:
it warns on every deleted flavor, with the command that lists every ClusterQueue and the flavors it names
(``kubectl get -o custom-columns`` with ``[*]``; kubectl "custom columns",
https://kubectl.docs.kubernetes.io/references/kubectl/get/options/custom_columns/), and, when this
environment's queues name another flavor instead (a shared flavor's one-time rename to
``<system>-<env>-<cohort>-<digest>``, or a changed node type), which one outside lenders may define quota for
once this apply has created it: not before, as Kueue v0.19.0 makes a ClusterQueue naming a missing flavor
inactive (``pkg/cache/scheduler/clusterqueue.go`` ``updateQueueStatus``, reason ``FlavorNotFound``;
closing-35e-2), so the warning says to remove the old flavor first, apply, then name the new one.

Contract of :func:`removal_warnings` (pure, from the prior state): one warning per deleted (not retained: a
delete Pulumi only drops from the state, ``retainOnDelete``, read with ``Resource.get`` or pending replacement,
leaves the live queue alone, pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``; as
``apply/queue_drain.condemned_queues`` drains none) or replaced ClusterQueue, sorted by URN, naming the queue, the ``kubectl`` command that lists the runs it may hold (by
the queue label of each LocalQueue of the state that points at it, in that LocalQueue's namespace), the
training jobs of the state on that cluster, and the two ways out (wait, or drain: by ``kubectl patch``, or
``apply --drain-queues``, ``apply/queue_drain.py``); and one warning per
training job of the state whose component is gone from the desired graph, sorted by address, naming the
``kubectl`` commands that list and delete its runs (by the job label, in the namespace of its run template
ConfigMap) and, when it registers a model, that a running run still registers a version; none for a job whose
state holds no such template (an AWS job); then one warning per deleted (not retained) or replaced
ResourceFlavor, sorted by URN, naming it, the queues of the state that named it and the flavors the desired
graph's versions of those queues name instead, the ``kubectl`` command that lists the Cohorts naming it
(:data:`LIST_COHORTS`: their shared quota stops lending without a word, closing-35e-3) (and then that apply refuses while those queues admit a run,
:func:`moved_queues`, closing-35e-1), and the ``kubectl`` command that lists the queues naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlops_infra.graph import DesiredResource
from mlops_infra.name_lists import join_names
from mlops_infra.plan.cost import facts_by_address
from mlops_infra.plan.model import Action, ResourceChange
from mlops_infra.plan.normalize import get_dotted
from mlops_infra.state.model import PriorState

KUEUE_GROUP = "kubernetes:kueue.x-k8s.io/"
JOB_LABEL = "mlops-infra/training-job"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
"""The run labels ``compile/kubernetes/training.py`` sets (``JOB_LABEL``, ``queues.QUEUE_LABEL``); the plan
core does not import the compiler, tests/plan/test_queue_removal.py checks they agree."""
FINALIZER = "kueue.x-k8s.io/resource-in-use"
LIST_COHORTS = ("kubectl get cohorts.kueue.x-k8s.io -o "
                "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name")
"""Every Kueue Cohort and the flavors its shared quota names (closing-35e-3): ``Cohort`` is cluster-scoped,
``cohorts`` in ``kueue.x-k8s.io`` (v1beta2 the storage version; kueue v0.19.0 ``apis/kueue/v1beta2/cohort_types.go``
``+kubebuilder:resource:scope=Cluster``, ``config/components/crd/bases/kueue.x-k8s.io_cohorts.yaml``), and its
``spec.resourceGroups`` has the ClusterQueue's shape: "nominalQuota defined at the Cohort level represents
additional resources on top of those defined by ClusterQueues ... a shared pool for the ClusterQueues within it",
per flavor name. Kueue's finalizer counts ClusterQueues only (``pkg/cache/scheduler/cache.go``
``ClusterQueuesUsingFlavor`` loops ``c.hm.ClusterQueues()``), so a Cohort naming a deleted flavor neither holds the
delete nor is refused: its pool for that name silently stops lending to this environment."""
TEMPLATE_TYPE = "kubernetes:core/v1:ConfigMap"
"""The type of a job's ``train-<job>`` run template, which carries the job label."""


def is_kueue(type_: str, kind: str) -> bool:
    return type_.startswith(KUEUE_GROUP) and type_.endswith(f":{kind}")


def removed_kueue(changes: Iterable[Any], kind: str) -> list[Any]:
    """The changes that delete (``ResourceChange.destroys``: not a delete Pulumi only drops from the state) or
    replace a Kueue object of ``kind`` (``ClusterQueue``, ``ResourceFlavor``), in their order."""
    return [c for c in changes if (c.destroys or c.action is Action.REPLACE) and is_kueue(c.type, kind)]


def removal_warnings(changes: Sequence[ResourceChange], prior: PriorState,
                     desired: Mapping[str, DesiredResource]) -> list[str]:
    """The warnings of the module contract; ``desired`` is the desired graph's resources by URN."""
    queues = sorted(removed_kueue(changes, "ClusterQueue"), key=lambda c: c.urn)
    flavors = sorted(removed_kueue(changes, "ResourceFlavor"), key=lambda c: c.urn)
    if not queues and not flavors and not any(c.action is Action.DELETE and c.address.startswith("training_jobs.")
                                              for c in changes):
        return []
    before = facts_by_address(prior.resources.values())
    out = [_queue_warning(change, prior, before) for change in queues]
    after = facts_by_address(desired.values())
    gone = sorted(a for a, f in before.items() if f.get("kind") == "training_job" and a not in after)
    for address in gone:
        warning = _job_warning(address, before[address], prior)
        if warning:
            out.append(warning)
    out.extend(_flavor_warning(change, prior, desired) for change in flavors)
    return out


_FLAVOR_PATH = re.compile(r"spec\.resourceGroups(\[\d+\](\.flavors(\[\d+\](\.name)?)?)?)?")


def moved_queues(changes: Sequence[Any]) -> list[str]:
    """The ClusterQueues the plan updates in place to name other flavors (closing-35e-1), by name, sorted: an
    attribute change at ``spec.resourceGroups[i].flavors[j].name``, or at a coarser path of it whose before and
    after name different flavors. Kueue counts quota and usage per (flavor, resource) (kueue v0.19.0
    ``pkg/cache/scheduler/clusterqueue.go`` ``updateWorkloadUsage`` adds a workload's usage under the flavors of
    its admission; ``resource_node.go`` ``available`` is ``SubtreeQuota[fr] - Usage[fr]``), so a run admitted on
    the old flavor stays counted under it and the queue's quota on the new flavor starts free."""
    out = set()
    for c in changes:
        if c.action is not Action.UPDATE or not is_kueue(c.type, "ClusterQueue"):
            continue
        for a in c.changes:
            if not _FLAVOR_PATH.fullmatch(a.path):
                continue
            if a.path.endswith(".name") or _names_in(a.before) != _names_in(a.after):
                out.add(c.name)
    return sorted(out)


def _names_in(value: Any) -> list[str]:
    """The flavor names inside a value at a coarser path than ``flavors[j].name`` (a group list, a group, a
    flavor list or a flavor)."""
    if isinstance(value, list):
        return [n for v in value for n in _names_in(v)]
    if isinstance(value, dict):
        if "flavors" in value:
            return _names_in(value["flavors"])
        if "resourceGroups" in value:
            return _names_in(value["resourceGroups"])
        return [str(value.get("name"))] if "name" in value else []
    return []


def _flavor_names(queue_inputs: Mapping[str, Any]) -> list[str]:
    """The flavor names a ClusterQueue's inputs name, in order."""
    groups = get_dotted(queue_inputs, "spec.resourceGroups") or []
    return [str(f.get("name")) for g in groups if isinstance(g, dict) for f in g.get("flavors") or []
            if isinstance(f, dict)]


def _flavor_warning(change: ResourceChange, prior: PriorState, desired: Mapping[str, DesiredResource]) -> str:
    name = change.name
    users = sorted(str(get_dotted(r.inputs, "metadata.name")) for r in prior.resources.values()
                   if is_kueue(r.type, "ClusterQueue") and name in _flavor_names(r.inputs))
    instead = sorted({f for r in desired.values() if is_kueue(r.type, "ClusterQueue")
                      and get_dotted(r.inputs, "metadata.name") in users for f in _flavor_names(r.inputs)} - {name})
    verb = "replaces" if change.action is Action.REPLACE else "deletes"
    text = f"{change.address or name}: this apply {verb} the Kueue ResourceFlavor {name}"
    if instead:
        text += f", which this environment's queues ({', '.join(users)}) no longer name: they name {', '.join(instead)}"
        queue_names = {get_dotted(r.inputs, "metadata.name") for r in desired.values() if is_kueue(r.type, "ClusterQueue")}
        if any(f not in queue_names for f in instead):  # a cohort's flavor (queues.flavor_name), not a cluster's
            text += (" (clusters with borrowing name the flavor of their cohort and node type, "
                     "<system>-<env>-<cohort>-<digest>; a stack applied while it was named after the cohort's first "
                     "cluster sees this rename once)")
        text += (f". A run these queues admitted on {name} stays counted under it (Kueue keeps usage per flavor), so "
                 "while it runs they would admit a full quota again on the new flavor: mlops-infra apply refuses while "
                 "one is admitted (--drain-queues evicts them first and lets the queues admit again after the apply)")
    return text + (". A queue outside this environment that defines quota for it (to lend in the cohort) stops lending "
                   f"to this environment, and Kueue keeps a deleted flavor while any queue names it (finalizer {FINALIZER}): "
                   "pulumi-kubernetes waits 10 minutes for the delete and fails the apply, and every later apply. A Kueue "
                   f"Cohort whose shared quota names {name} stops lending it to this environment too, with no error (a "
                   f"Cohort does not hold the delete): list them ({LIST_COHORTS}) and move that quota to the new "
                   "flavor after the apply. Before "
                   "applying, list the queues that name it: kubectl get clusterqueues -o "
                   "custom-columns=NAME:.metadata.name,FLAVORS:.spec.resourceGroups[*].flavors[*].name; each one of "
                   f"another environment or team must remove {name} from its resource groups first (it keeps its other "
                   "flavors and stays active)" + (
                       f" and name {' or '.join(instead)} only after this apply: before the flavor exists, Kueue makes "
                       "a queue that names it inactive (FlavorNotFound) and it admits none of its own workloads"
                       if instead else "") + "; mlops-infra apply reads them and refuses while one does")


def _queue_warning(change: ResourceChange, prior: PriorState, facts: Mapping[str, Mapping[str, Any]]) -> str:
    name = change.name
    cluster = change.address.removeprefix("clusters.") if change.address.startswith("clusters.") else ""
    local = sorted((str(get_dotted(r.inputs, "metadata.namespace")), str(get_dotted(r.inputs, "metadata.name")))
                   for r in prior.resources.values()
                   if is_kueue(r.type, "LocalQueue") and get_dotted(r.inputs, "spec.clusterQueue") == name)
    jobs = sorted(f["name"] for f in facts.values() if f.get("kind") == "training_job" and cluster
                  and f.get("cluster") == cluster)
    verb = "replaces" if change.action is Action.REPLACE else "deletes"
    text = (f"{change.address or name}: this apply {verb} the Kueue ClusterQueue {name}; while a run it admitted "
            f"is running, Kueue's finalizer {FINALIZER} keeps it, so pulumi-kubernetes waits 10 minutes for the "
            "delete and fails the apply, and every later apply, until the run ends")
    if jobs:
        text += f" (runs of {join_names(jobs)})"
    lists = "; ".join(f"kubectl get pytorchjobs -n {ns} -l {QUEUE_LABEL}={queue}" for ns, queue in local)
    text += (f". Before applying, list its runs: {lists or f'kubectl get workloads.kueue.x-k8s.io -A | grep {name}'}"
             ". Then wait until they finish, or stop and evict them (Kueue's way to delete a ClusterQueue in use): "
             f"kubectl patch clusterqueue {name} --type merge -p '{{\"spec\":{{\"stopPolicy\":\"HoldAndDrain\"}}}}'"
             " (mlops-infra apply --drain-queues does this first and waits until none is admitted)")
    return text


def _job_warning(address: str, facts: Mapping[str, Any], prior: PriorState) -> str | None:
    """The removed job's warning; none when the state holds no Kubernetes run template of it (an AWS job)."""
    job = facts["name"]
    namespaces = sorted({str(get_dotted(r.inputs, "metadata.namespace")) for r in prior.resources.values()
                         if r.type == TEMPLATE_TYPE and (get_dotted(r.inputs, "metadata.labels") or {}).get(JOB_LABEL) == job})
    if not namespaces:
        return None
    where, selector = f"-n {namespaces[0]}", f"-l {JOB_LABEL}={job}"
    registers = f" and still registers a version of {facts['registers']}" if facts.get("registers") else ""
    return (f"{address}: this apply removes the training job {job} but not its runs (PyTorchJobs without an "
            f"owner): a running one keeps its nodes until it ends or reaches its max_runtime{registers}, and "
            f"finished or pending ones stay. List them: kubectl get pytorchjobs {where} {selector}; once none is "
            f"running, delete them: kubectl delete pytorchjobs {where} {selector}")
