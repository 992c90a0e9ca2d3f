"""A ClusterQueue moved to new flavors in place is checked for admitted runs like a deleted one (closing-35e-1).

Kueue v0.19.0 counts quota and usage per (flavor, resource): ``pkg/cache/scheduler/clusterqueue.go``
``updateWorkloadUsage`` adds a workload's usage under the flavors of its admission, and ``resource_node.go``
``available`` is ``SubtreeQuota[fr] - Usage[fr]``. So after the update a run admitted on the old flavor stays
counted under it and the queue admits a full quota again on the new one. The case (as
tests/apply/test_flavor_users.py): the applied example's gpu-train joins a cohort in dev, so its ClusterQueue
``fraud-detection-dev-gpu-train`` is updated to name the cohort's flavor, while a run it admitted is running. On the
Kubernetes API stand-in (tests/support/kube_api.py, named stand-in; the test plays Kueue's eviction as
tests/apply/test_queue_drain.py does); ``pulumi up`` is a recorder.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tests.apply.test_flavor_users import OLD, apply, cluster_queue, work  # noqa: F401  (a fixture)
from tests.apply.test_queue_drain import WORKLOAD_CRD, workload
from tests.compile.kubernetes.test_kueue_cohort import DOC
from tests.plan.test_flavor_removal import plan_of
from tests.support.kube_api import KubeApiStandIn, load_crds

KUEUE = "kueue.x-k8s.io/v1beta2"


def stand_in() -> KubeApiStandIn:
    api = KubeApiStandIn(crds=[*load_crds("kueue.x-k8s.io_clusterqueues.yaml"), WORKLOAD_CRD])
    api.seed(cluster_queue(OLD, OLD))
    api.seed(workload("retrain-abc-1", OLD))  # running, admitted on the old flavor
    return api


def test_a_moved_queue_with_an_admitted_run_refuses_the_apply(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in() as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert ("refusing to apply: this apply moves to new Kueue ResourceFlavors 1 Kueue ClusterQueue(s) that still "
                "admit 1 workload(s); nothing was applied") in result.stderr
        text = " ".join(result.stderr.split())
        assert f"ClusterQueue {OLD}: fraud-dev/retrain-abc-1" in text
        assert "admit a full quota of new runs beside them" in text and "--drain-queues" in text
        assert ups == [] and api.requests_for("PATCH") == []


def test_with_the_flag_a_moved_queue_is_drained_then_released_after_the_apply(work: Path,  # noqa: F811
                                                                              monkeypatch) -> None:
    from mlops_infra.apply import engine, queue_drain
    from tests.support.cli import run_cli
    from tests.support.kube_api import write_kubeconfig

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)
    with stand_in() as api:
        def kueue(verb: str, obj: dict) -> None:  # Kueue's part: a HoldAndDrain queue's workloads are evicted
            if obj["kind"] == "ClusterQueue" and obj["spec"].get("stopPolicy") == "HoldAndDrain":
                threading.Timer(0.3, api.seed, [workload("retrain-abc-1", None)]).start()
        api.on_write(kueue)
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        seen: list[dict] = []
        monkeypatch.setattr(engine, "up", lambda *a, **k: seen.append(api.get(KUEUE, "ClusterQueue", OLD)))

        result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state",
                         str(work / "prior.json"), "--yes", "--drain-queues")

        assert result.code == 0, result.output
        [up_saw] = seen
        assert up_saw["spec"]["stopPolicy"] == "HoldAndDrain"  # held while pulumi up ran
        bodies = [r.body for r in api.requests_for("PATCH", f"/clusterqueues/{OLD}")]
        assert bodies == [{"spec": {"stopPolicy": "HoldAndDrain"}}, {"spec": {"stopPolicy": "None"}}]
        assert f"Released Kueue ClusterQueue {OLD}" in result.stdout


def rename_plan(monkeypatch):
    """The plan of the one-time rename: a stack applied while a cohort's flavor was named after its first cluster."""
    from mlops_infra.compile.kubernetes import queues
    from mlops_infra.plan.planner import make_plan
    from mlops_infra.state.pulumi_state import parse_state
    from tests.plan.test_flavor_removal import FAST, _flavor_named_after_first_cluster
    from tests.support.applied_state import applied_state, dumps
    from tests.support.kube_cases import compile_text

    with monkeypatch.context() as m:
        m.setattr(queues, "flavor_name", _flavor_named_after_first_cluster)
        old = compile_text(DOC)  # a stack applied before f562f15
    return make_plan(compile_text(DOC), parse_state(dumps(applied_state(old)).encode(), "prior.json"), options=FAST)


def test_moved_queues_names_the_queues_of_the_one_time_rename(monkeypatch) -> None:
    from mlops_infra.plan.queue_removal import moved_queues  # here: the apply tests also run on the old tree

    moved = moved_queues(rename_plan(monkeypatch).changes)
    assert "guarded-dev-train" in moved and "guarded-dev-train2" in moved
    assert moved_queues(plan_of(DOC).changes) == []
    # a quota change names the same flavors: not a move
    assert moved_queues(plan_of(DOC.replace("nodes: {min: 0, max: 2}}", "nodes: {min: 0, max: 3}}")).changes) == []


def test_the_plan_warning_of_a_moved_queue_names_its_admitted_runs(monkeypatch) -> None:
    from tests.plan.test_flavor_removal import SOLO, flavor_warnings

    warning = next(w for w in flavor_warnings(rename_plan(monkeypatch)) if "ResourceFlavor guarded-dev-train," in w)
    assert ("A run these queues admitted on guarded-dev-train stays counted under it (Kueue keeps usage per flavor), "
            "so while it runs they would admit a full quota again on the new flavor: mlops-infra apply refuses while "
            "one is admitted") in warning
    (removed,) = flavor_warnings(plan_of(DOC.replace(SOLO, "")))  # deleted with its queue: nothing moves
    assert "admit a full quota again" not in removed
