"""A cluster that lends its quota to its cohort takes it back (finding closing-33b-1).

Since 0b06afa the clusters of one node type in one cohort share a flavor, so one cluster's run may
borrow another's idle quota. Kueue keeps no quota local to a queue without a ``lendingLimit``
(kubernetes-sigs/kueue ``pkg/cache/scheduler/resource_node.go``: ``localQuota`` is 0, ``available``
is that plus the cohort's quota minus the cohort's usage, capped by the borrowing limit), so the
lender's own run of up to its max nodes then fits only if Kueue preempts the borrower. That is
``spec.preemption.reclaimWithinCohort``, whose default ``Never`` means "do not preempt Workloads in
the cohort" (``apis/kueue/v1beta2/clusterqueue_types.go`` ``ClusterQueuePreemption``). :class:`Cohort`
is Kueue's classical preemption for one flavor of one cohort, as far as these queues need it:
preemption is tried only for a run within its queue's nominal quota
(``pkg/scheduler/flavorassigner/flavorassigner.go`` ``fitsResourceQuota``; ``borrowWithinCohort``
stays ``Never``) and frees for it only what keeps its queue within that quota
(``pkg/scheduler/preemption/classical/hierarchical_preemption.go`` ``classifyPreemptionVariant``), its candidates are the runs of the other queues that are borrowing
(``pkg/scheduler/preemption/preemption.go`` ``findCandidates``/``cqIsBorrowing``) and satisfy the
policy (``pkg/scheduler/preemption/common/preemption_policy.go`` ``SatisfiesPreemptionPolicy``), taken
until the run fits (``classicalPreemptions``). Before the fix the compiled queues set no
``preemption``, so the lender's run waited behind the borrowed one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mlops_infra.compile.kubernetes import queues as kueue_queues
from tests.compile.kubernetes.test_kueue_cohort import (
    DOC,
    SHARED,
    cluster_queues,
    flavors_of,
    kueue,
    nodes,
    quantity,
)
from tests.support import crds
from tests.support.kube_cases import by_kind, compile_text

FLAVOR = SHARED
"""The flavor train and train2 (A10G x 4, cohort team) share."""


class Cohort:
    """One flavor of one cohort with runs in it. ``priority`` is every run's priority: the compiled runs
    carry no priority class (see the last tests), so all have Kueue's default."""

    def __init__(self, queues: dict[str, dict[str, Any]], cohort: str, flavor: str) -> None:
        members = {n: q for n, q in queues.items() if q["spec"].get("cohortName") == cohort and flavor in flavors_of(q)}
        self.nominal = {n: {r: quantity(e["nominalQuota"]) for r, e in flavors_of(q)[flavor].items()}
                        for n, q in members.items()}
        self.limit = {n: {r: quantity(e["borrowingLimit"]) for r, e in flavors_of(q)[flavor].items()
                          if "borrowingLimit" in e} for n, q in members.items()}
        # the CRD's default for an absent field (+kubebuilder:default=Never)
        self.policy = {n: (q["spec"].get("preemption") or {}).get("reclaimWithinCohort", "Never")
                       for n, q in members.items()}
        self.runs: list[tuple[str, str, dict[str, int]]] = []  # (queue, run, request)

    def usage(self, queue: str, resource: str) -> int:
        return sum(req[resource] for q, _, req in self.runs if q == queue)

    def available(self, queue: str, resource: str) -> int:
        """resource_node.go ``available``: local quota 0 (no lendingLimit) + the cohort's quota minus its
        usage, capped by nominal - usage + borrowingLimit when the queue has one."""
        parent = sum(n[resource] for n in self.nominal.values()) - sum(self.usage(q, resource) for q in self.nominal)
        if resource in self.limit[queue]:
            parent = min(self.nominal[queue][resource] - self.usage(queue, resource) + self.limit[queue][resource],
                         parent)
        return parent

    def fits(self, queue: str, request: dict[str, int]) -> bool:
        return all(amount <= self.available(queue, r) for r, amount in request.items())

    def borrowing(self, queue: str) -> bool:
        return any(self.usage(queue, r) > nominal for r, nominal in self.nominal[queue].items())

    def admit(self, queue: str, run: str, request: dict[str, int]) -> list[str] | None:
        """Admit ``run``: the runs preempted for it ([] when it fits as is), None when it must wait."""
        if self.fits(queue, request):
            self.runs.append((queue, run, request))
            return []
        # preemption in the cohort gives only what the queue would then use within its nominal quota
        # (classical/hierarchical_preemption.go classifyPreemptionVariant: HiearchicalReclaim when the run
        # fits the queue's quota, else ReclaimWithoutBorrowing, and borrowWithinCohort is Never)
        if self.policy[queue] == "Never" or any(self.usage(queue, r) + a > self.nominal[queue][r]
                                                for r, a in request.items()):
            return None
        # Any preempts whatever the priority; LowerPriority only strictly lower ones, and all are equal
        candidates = [entry for entry in self.runs
                      if entry[0] != queue and self.borrowing(entry[0]) and self.policy[queue] == "Any"]
        preempted = []
        for entry in candidates:
            self.runs.remove(entry)
            preempted.append(entry)
            if self.fits(queue, request):
                self.runs.append((queue, run, request))
                return [name for _, name, _ in preempted]
        self.runs.extend(preempted)
        return None


def request(cluster: str, count: int) -> dict[str, int]:
    return {r: quantity(q) for r, q in nodes(DOC, cluster, count).items()}


def test_a_lender_takes_back_its_quota_from_a_sibling_that_borrowed_it() -> None:
    """The finding's case: train (max 2, borrows up to 2) runs 4 nodes, 8 of its 16 GPUs lent by train2
    (max 3). train2's own 3-node run then does not fit what is left (4 GPUs); it preempts train's run."""
    queues = cluster_queues(compile_text(DOC))
    for name in ("guarded-dev-train", "guarded-dev-train2"):
        assert queues[name]["spec"]["preemption"] == {"reclaimWithinCohort": "Any"}, name
    cohort = Cohort(queues, "team", FLAVOR)
    assert cohort.admit("guarded-dev-train", "big", request("train", 4)) == []
    assert cohort.borrowing("guarded-dev-train")
    assert not cohort.fits("guarded-dev-train2", request("train2", 3))
    assert cohort.admit("guarded-dev-train2", "own", request("train2", 3)) == ["big"]
    # train may then run within its own max only, and gets nothing it would have to borrow
    assert cohort.admit("guarded-dev-train", "small", request("train", 2)) == []
    assert cohort.admit("guarded-dev-train", "again", request("train", 1)) is None


def test_a_borrowing_run_evicts_nothing_and_either_sibling_reclaims() -> None:
    queues = cluster_queues(compile_text(DOC))
    cohort = Cohort(queues, "team", FLAVOR)
    assert cohort.admit("guarded-dev-train2", "own", request("train2", 3)) == []  # within its quota
    # train's 4-node run would borrow what train2 uses: it waits, it preempts nothing
    assert cohort.admit("guarded-dev-train", "big", request("train", 4)) is None
    assert [run for _, run, _ in cohort.runs] == ["own"]
    # the other way round: train2 borrows 2 nodes of train's quota, train reclaims them for its 2 nodes
    other = Cohort(queues, "team", FLAVOR)
    assert other.admit("guarded-dev-train2", "wide", request("train2", 5)) == []
    assert other.admit("guarded-dev-train", "own", request("train", 2)) == ["wide"]


def test_without_the_fix_the_lender_waits_and_lower_priority_would_not_help() -> None:
    """What the queues did before (no ``preemption``: Kueue's default ``Never``) and what
    ``LowerPriority`` would do with runs of one priority: the lender's run waits behind the borrower."""
    queues = cluster_queues(compile_text(DOC))
    for policy in (None, "LowerPriority"):
        changed = json.loads(json.dumps(queues))
        for q in changed.values():
            q["spec"].pop("preemption", None)
            if policy:
                q["spec"]["preemption"] = {"reclaimWithinCohort": policy}
        cohort = Cohort(changed, "team", FLAVOR)
        assert cohort.admit("guarded-dev-train", "big", request("train", 4)) == []
        assert cohort.admit("guarded-dev-train2", "own", request("train2", 3)) is None, policy


def test_only_queues_in_a_cohort_reclaim_and_all_validate_against_the_crd() -> None:
    """Every queue that joins a cohort lends all of its quota (no lendingLimit), to this environment's
    queues of its node type and to outside queues that define its flavor, so each reclaims; a queue
    without a cohort lends nothing and keeps Kueue's default. The CRD (tests/support/crds.py) checks the
    enum; its CEL rule on ``preemption`` ("reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never")
    is checked by hand."""
    queues = cluster_queues(compile_text(DOC))
    assert len(queues) == 6
    for name, q in queues.items():
        spec = q["spec"]
        if "cohortName" in spec:
            assert spec["preemption"] == {"reclaimWithinCohort": kueue_queues.RECLAIM_WITHIN_COHORT}, name
        else:
            assert "preemption" not in spec, name
        assert crds.errors(q) == [], name
        preemption = spec.get("preemption", {})
        assert not (preemption.get("reclaimWithinCohort", "Never") == "Never"
                    and preemption.get("borrowWithinCohort", {}).get("policy", "Never") != "Never")
    bad = json.loads(json.dumps(queues["guarded-dev-train"]))
    bad["spec"]["preemption"]["reclaimWithinCohort"] = "Always"
    assert crds.errors(bad), "the CRD's enum (Never, LowerPriority, Any) is checked"


def test_runs_carry_no_priority_so_any_is_what_reclaims() -> None:
    """Kueue takes a workload's priority from a WorkloadPriorityClass label
    (``kueue.x-k8s.io/priority-class``) or the pods' ``priorityClassName``; the compiled run template
    sets neither, so every run has the same (default) priority and none is lower than another."""
    graph = compile_text(DOC)
    (config,) = [c for c in by_kind(graph, "ConfigMap") if "pytorchjob.json" in (c.get("data") or {})]
    run = json.loads(config["data"]["pytorchjob.json"])
    assert "kueue.x-k8s.io/priority-class" not in run["metadata"]["labels"]
    for replica in run["spec"]["pytorchReplicaSpecs"].values():
        assert "priorityClassName" not in replica["template"]["spec"]
    assert ("ClusterQueue", "guarded-dev-train") in kueue(graph)


def test_a_preempted_run_waits_as_a_queued_run_and_is_replaced_after_its_admission_timeout(tmp_path, monkeypatch):
    """What the launcher does with a run Kueue preempted. Kueue evicts the workload and suspends the
    PyTorchJob (``spec.runPolicy.suspend: true``; ``pkg/controller/jobframework/reconciler.go``, "handle
    eviction"), and requeues it; the training-operator deletes a suspended job's pods. The launcher
    sees a suspended run: active (nothing new starts) while it is younger than its admission timeout,
    counted from its creation; after that the next launch deletes it and starts a new run. The cluster
    is the Kubernetes API stand-in (tests/support/kube_api.py), RBAC'd with the launcher's Role."""
    from mlops_infra.compile.kubernetes.rbac import LAUNCHER_RULES
    from mlops_infra.compile.kubernetes.scripts import launcher
    from tests.support.kube_api import KubeApiStandIn, load_crds

    (config,) = [c for c in by_kind(compile_text(DOC), "ConfigMap") if "pytorchjob.json" in (c.get("data") or {})]
    template = tmp_path / "big.json"
    template.write_text(config["data"]["pytorchjob.json"])
    timeout = float(json.loads(template.read_text())["metadata"]["annotations"][launcher.ADMISSION_TIMEOUT])
    assert timeout == launcher.DEFAULT_ADMISSION_TIMEOUT  # the job sets no max_runtime
    (tmp_path / "token").write_text("t")
    (tmp_path / "namespace").write_text("guarded-dev")
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={"t": LAUNCHER_RULES}) as api:
        monkeypatch.setattr(launcher, "API", api.url)
        monkeypatch.setattr(launcher, "SA_DIR", str(tmp_path))
        monkeypatch.delenv("NAMESPACE", raising=False)
        created = dt.datetime.now(dt.UTC).timestamp()
        first = launcher.launch(str(template), "schedule", now=created)
        assert first
        run = api.get("kubeflow.org/v1", "PyTorchJob", first, "guarded-dev")
        run["spec"].setdefault("runPolicy", {})["suspend"] = True  # admitted, ran, then preempted: suspended
        run["status"] = {"conditions": [{"type": "Suspended", "status": "True", "reason": "PyTorchJobSuspended"}]}
        api.seed(run)
        assert launcher.launch(str(template), "schedule", now=created + timeout - 60) is None  # still active
        second = launcher.launch(str(template), "schedule", now=created + timeout + 60)
        assert second and second != first
        assert [o["metadata"]["name"] for o in api.objects("pytorchjobs")] == [second]
