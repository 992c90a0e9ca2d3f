"""A finished run does not hold its Kueue ClusterQueue, so apply neither refuses nor drains for it
(finding closing-32b-1; mlops_infra/apply/queue_drain.holds_queue).

Kueue's ``Finish`` only sets the ``Finished`` condition: the workload keeps ``status.admission``
(``pkg/workload/finish/finish.go``), while the cache drops it (``workload_controller.go`` ``Update``) and
``ClusterQueueEmpty`` lets the queue's finalizer go. The compiled runs are kept after they finish, so every
cluster that has run holds such workloads. Same stand-in and recorder as tests/apply/test_queue_drain.py.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.kube.client import KubeClient
from tests.apply import test_queue_drain as drain_tests
from tests.apply.test_queue_drain import KUEUE, QUEUE, WORKLOAD_CRD, apply, workload
from tests.support.kube_api import KubeApiStandIn, load_crds

work = drain_tests.work  # the fixture: the example without its cluster, its applied state, pulumi "on PATH"


def _with(item: dict, **conditions: str) -> dict:
    item["status"]["conditions"] = [{"type": kind, "status": status, "reason": kind, "message": "",
                                     "lastTransitionTime": "2026-11-30T03:00:00Z"} for kind, status in conditions.items()]
    return item


def finished(name: str) -> dict:
    """Last Monday's run: finished, admission kept, as Kueue leaves it."""
    return _with(workload(name, QUEUE), QuotaReserved="True", Admitted="True", Finished="True")


def running(name: str) -> dict:
    return _with(workload(name, QUEUE), QuotaReserved="True", Admitted="True")


def stand_in(*workloads: dict) -> KubeApiStandIn:
    api = KubeApiStandIn(crds=[*load_crds("kueue.x-k8s.io_clusterqueues.yaml"), WORKLOAD_CRD])
    api.seed({"apiVersion": KUEUE, "kind": "ClusterQueue",
              "metadata": {"name": QUEUE, "finalizers": ["kueue.x-k8s.io/resource-in-use"]}, "spec": {}})
    for item in workloads:
        api.seed(item)
    return api


def test_only_unfinished_workloads_with_quota_hold_the_queue() -> None:
    from mlops_infra.apply import queue_drain

    released = _with(workload("retrain-released", QUEUE), QuotaReserved="False")
    with stand_in(finished("retrain-20261130"), running("retrain-20261207"), released) as api:
        assert queue_drain.admitted_workloads(KubeClient.from_url(api.url), [QUEUE]) == {
            QUEUE: ["fraud-dev/retrain-20261207"]}


def test_a_cluster_whose_runs_all_finished_is_removed_without_refusal_or_drain(work: Path, monkeypatch) -> None:
    with stand_in(finished("retrain-abc-1")) as api:
        result, ups = apply(work, api, monkeypatch)
        assert result.code == 0, result.output
        assert len(ups) == 1  # pulumi up ran
        assert api.requests_for("PATCH") == []
        assert "refusing to apply" not in result.stderr


def test_the_refusal_names_the_running_run_not_the_finished_ones(work: Path, monkeypatch) -> None:
    with stand_in(finished("retrain-old"), running("retrain-abc-1")) as api:
        result, ups = apply(work, api, monkeypatch)
        assert result.code == 1 and ups == []
        assert f"ClusterQueue {QUEUE}: fraud-dev/retrain-abc-1" in result.stderr
        assert "retrain-old" not in result.stderr
