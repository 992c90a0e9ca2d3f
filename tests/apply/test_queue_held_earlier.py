"""A ClusterQueue an earlier apply's drain left held is released by the next apply that succeeds (kueueleft-4).

``pulumi up`` never sets ``spec.stopPolicy`` back: the field is not in the compiled ClusterQueue, pulumi-kubernetes
diffs new inputs against the old live object pruned to the old inputs' shape (``provider/pkg/provider/provider.go``
``Diff``) and writes by server-side apply of the inputs alone (``provider/pkg/await/await.go`` ``ssaUpdate``), which
leaves a field it never owned. The next apply finds no admitted run (the drain evicted them), so it drained nothing
and released nothing: the queue stayed held for good. Now the drain writes as ``mlops-infra-drain``, and a queue of
the stack whose ``stopPolicy`` that manager owns (``metadata.managedFields``) is released after ``pulumi up``; one
someone else held (``kubectl patch``) is named and left. The case is tests/apply/test_flavor_move_drain.py's (the
applied example's gpu-train joins a cohort in dev, so its ClusterQueue moves to the cohort's flavor while a run it
admitted runs), on the Kubernetes API stand-in (tests/support/kube_api.py, named stand-in) with
``managed_fields=True``; the test plays Kueue's eviction; ``engine.up`` is a stand-in that fails or records.
"""

from __future__ import annotations

import threading
from pathlib import Path

from mlops_infra.apply import engine
from mlops_infra.errors import UserError
from tests.apply.test_flavor_users import OLD, cluster_queue, work  # noqa: F401  (a fixture)
from tests.apply.test_queue_drain import WORKLOAD_CRD, workload
from tests.kube.test_kube_api_standin import call
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

KUEUE = "kueue.x-k8s.io/v1beta2"
QUEUE_PATH = f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/{OLD}"


def stand_in(*, running: bool = True) -> KubeApiStandIn:
    api = KubeApiStandIn(crds=[*load_crds("kueue.x-k8s.io_clusterqueues.yaml"), WORKLOAD_CRD], managed_fields=True)
    api.seed(cluster_queue(OLD, OLD))
    if running:
        api.seed(workload("retrain-abc-1", OLD))  # admitted on the old flavor
    return api


def _apply(work: Path, *flags: str):  # noqa: F811
    return run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state", str(work / "prior.json"),
                   "--yes", *flags)


def _failed_drained_apply(work: Path, api: KubeApiStandIn, monkeypatch) -> None:  # noqa: F811
    """An `apply --drain-queues` that holds the queue, then `pulumi up` fails: the queue is left held."""
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)

    def kueue(verb: str, obj: dict) -> None:  # Kueue's part: a HoldAndDrain queue's workloads are evicted
        if obj["kind"] == "ClusterQueue" and obj["spec"].get("stopPolicy") == "HoldAndDrain":
            threading.Timer(0.2, api.seed, [workload("retrain-abc-1", None)]).start()
    api.on_write(kueue)

    def failing_up(*args, **kwargs):
        raise UserError("`pulumi up` failed", "a provider error")
    with monkeypatch.context() as m:
        m.setattr(engine, "up", failing_up)
        result = _apply(work, "--drain-queues")
    assert result.code == 1 and "ClusterQueue fraud-detection-dev-gpu-train is held" in result.stderr, result.output
    assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "HoldAndDrain"


def test_the_next_apply_releases_a_queue_a_failed_apply_left_held(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in() as api:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        _failed_drained_apply(work, api, monkeypatch)
        patches = len(api.requests_for("PATCH"))

        seen: list[dict] = []
        monkeypatch.setattr(engine, "up", lambda *a, **k: seen.append(api.get(KUEUE, "ClusterQueue", OLD)))
        result = _apply(work)  # no flag: no run is admitted any more, nothing to drain

        assert result.code == 0, result.output
        assert [q["spec"]["stopPolicy"] for q in seen] == ["HoldAndDrain"]  # released only after `pulumi up`
        assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "None"
        new = api.requests_for("PATCH")[patches:]
        assert [(r.path, r.body) for r in new] == [(QUEUE_PATH, {"spec": {"stopPolicy": "None"}})]
        text = " ".join(result.output.split())
        assert (f"Kueue ClusterQueue {OLD} is still held (spec.stopPolicy: HoldAndDrain) by an earlier apply's drain "
                "(--drain-queues) that did not finish: this apply releases it once `pulumi up` succeeds.") in text
        assert f"Released Kueue ClusterQueue {OLD} (spec.stopPolicy: None)" in text
        # the drain's and the release's patches name their manager: the hold was the drain's, the release is too
        assert [r.query for r in api.requests_for("PATCH", QUEUE_PATH)] == [{"fieldManager": "mlops-infra-drain"}] * 2
        assert api.managers(KUEUE, "ClusterQueue", OLD) == {"mlops-infra-drain (Update)": {".spec.stopPolicy"}}


def test_when_the_next_apply_fails_too_it_says_the_next_one_releases_it(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in() as api:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        _failed_drained_apply(work, api, monkeypatch)

        def failing_up(*args, **kwargs):
            raise UserError("`pulumi up` failed", "a provider error")
        monkeypatch.setattr(engine, "up", failing_up)
        result = _apply(work)

        assert result.code == 1
        text = " ".join(result.stderr.split())
        assert f"ClusterQueue {OLD} is held (spec.stopPolicy: HoldAndDrain)" in text
        assert "An earlier apply held it; the next apply that succeeds releases it, or release it now" in text
        assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "HoldAndDrain"


def test_a_hold_someone_else_set_is_named_and_left(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(running=False) as api:
        status, _ = call(api, "PATCH", f"{QUEUE_PATH}?fieldManager=kubectl-patch",
                         {"spec": {"stopPolicy": "HoldAndDrain"}}, content_type="application/merge-patch+json")
        assert status == 200
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        ups: list[bool] = []
        monkeypatch.setattr(engine, "up", lambda *a, **k: ups.append(True))

        result = _apply(work)

        assert result.code == 0 and ups == [True], result.output
        assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "HoldAndDrain"
        assert [r.path for r in api.requests_for("PATCH")] == [QUEUE_PATH]  # the test's own patch only
        text = " ".join(result.stderr.split())
        assert (f"warning: Kueue ClusterQueue {OLD} has spec.stopPolicy: HoldAndDrain, set by someone other than "
                "mlops-infra apply: it admits no new run and this apply leaves it so") in text
        assert f"kubectl patch clusterqueue {OLD} --type merge -p '{{\"spec\":{{\"stopPolicy\":\"None\"}}}}'" in text


def test_our_hold_taken_over_by_someone_else_is_theirs(work: Path, monkeypatch) -> None:  # noqa: F811
    """A drained queue whose stopPolicy someone then set again (Hold) is no longer the drain's to release."""
    with stand_in() as api:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        _failed_drained_apply(work, api, monkeypatch)
        call(api, "PATCH", f"{QUEUE_PATH}?fieldManager=kubectl-patch", {"spec": {"stopPolicy": "Hold"}},
             content_type="application/merge-patch+json")
        monkeypatch.setattr(engine, "up", lambda *a, **k: None)

        result = _apply(work)

        assert result.code == 0, result.output
        assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "Hold"
        assert "has spec.stopPolicy: Hold, set by someone other than mlops-infra apply" in " ".join(result.stderr.split())


def test_held_by_drain_reads_the_owner_of_stop_policy() -> None:
    from mlops_infra.apply.queue_drain import DRAIN_MANAGER, held_by_drain

    def queue(policy: str | None, manager: str, fields: dict) -> dict:
        return {"metadata": {"name": "q", "managedFields": [
                    {"manager": manager, "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": fields}]},
                "spec": {"stopPolicy": policy} if policy else {}}

    ours = {"f:spec": {"f:stopPolicy": {}}}
    assert held_by_drain(queue("HoldAndDrain", DRAIN_MANAGER, ours))
    assert not held_by_drain(queue("None", DRAIN_MANAGER, ours))  # released
    assert not held_by_drain(queue("HoldAndDrain", "kubectl-patch", ours))
    assert not held_by_drain(queue("HoldAndDrain", DRAIN_MANAGER, {"f:metadata": {"f:labels": {}}}))
    assert not held_by_drain({"metadata": {"name": "q"}, "spec": {"stopPolicy": "HoldAndDrain"}})  # no owners shown
