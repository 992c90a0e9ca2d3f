"""apply refuses to delete a Kueue ClusterQueue that still admits runs, or drains it first (audit removal-4).

On the Kubernetes API stand-in (tests/support/kube_api.py, a named stand-in: no Kueue controller runs, so
the test plays Kueue's part: after the HoldAndDrain patch it evicts the workload, i.e. unsets its
``status.admission`` as ``UnsetQuotaReservationWithCondition`` does). The ClusterQueue carries Kueue's
finalizer, as Kueue's webhook sets it. ``pulumi up`` is replaced by a recorder (the last test keeps the real engine,
which refuses before Pulumi): nothing here runs Pulumi.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from mlops_infra.apply import engine
from mlops_infra.compile import compile_system
from mlops_infra.kube.client import KubeClient
from mlops_infra.spec import load_system
from tests.cli.test_apply_stack_identity import write_backend_state
from tests.plan.test_queue_removal import without_cluster_and_job
from tests.support import pulumi_stand_in
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/fraud-detection/mlsystem.yaml"
QUEUE = "fraud-detection-dev-gpu-train"
KUEUE = "kueue.x-k8s.io/v1beta2"
WORKLOAD_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "workloads.kueue.x-k8s.io"},
                "spec": {"group": "kueue.x-k8s.io", "scope": "Namespaced",
                         "names": {"plural": "workloads", "kind": "Workload"},
                         "versions": [{"name": "v1beta1", "served": True, "storage": False},
                                      {"name": "v1beta2", "served": True, "storage": True}]}}
"""The Workload CRD's names and versions (kueue config/components/crd/bases/kueue.x-k8s.io_workloads.yaml:
both versions served, v1beta2 the storage version); the fixtures hold no Workload CRD."""


def workload(name: str, queue: str | None, namespace: str = "fraud-dev") -> dict:
    status = {"admission": {"clusterQueue": queue, "podSetAssignments": []}} if queue else {}
    return {"apiVersion": KUEUE, "kind": "Workload", "metadata": {"name": name, "namespace": namespace,
            "labels": {"kueue.x-k8s.io/queue-name": "gpu-train"}}, "spec": {"queueName": "gpu-train"},
            "status": status}


def stand_in() -> KubeApiStandIn:
    api = KubeApiStandIn(crds=[*load_crds("kueue.x-k8s.io_clusterqueues.yaml"), WORKLOAD_CRD])
    api.seed({"apiVersion": KUEUE, "kind": "ClusterQueue",
              "metadata": {"name": QUEUE, "finalizers": ["kueue.x-k8s.io/resource-in-use"]}, "spec": {}})
    api.seed(workload("retrain-abc-1", QUEUE))            # a running run of the removed cluster
    api.seed(workload("other-1", "another-queue"))         # admitted elsewhere: not ours
    api.seed(workload("retrain-pending", None))            # pending: no reservation, holds nothing
    return api


def test_admitted_workloads_reads_status_admission_cluster_queue() -> None:
    # imported in the tests, not at the top: the refusal test also runs on a tree without the module
    from mlops_infra.apply import queue_drain

    with stand_in() as api:
        kube = KubeClient.from_url(api.url)
        assert queue_drain.admitted_workloads(kube, [QUEUE]) == {QUEUE: ["fraud-dev/retrain-abc-1"]}
        assert queue_drain.admitted_workloads(kube, ["unknown"]) == {}
        listed = api.requests_for("GET", "/workloads")  # one LIST per call, of all namespaces
        assert [r.path for r in listed] == ["/apis/kueue.x-k8s.io/v1beta2/workloads"] * 2
    with KubeApiStandIn() as bare:  # no Kueue installed: nothing can hold a queue
        assert queue_drain.admitted_workloads(KubeClient.from_url(bare.url), [QUEUE]) == {}


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """The system without its cluster and job beside its stack directory ``stacks/dev`` (project fraud-detection),
    whose file backend holds the applied example, also written to ``prior.json`` (so ``--state prior.json`` is
    the stack's current state, as ``engine.preflight`` and ``engine.up`` require); the recording pulumi stand-in on
    PATH (``engine.preflight`` runs its ``version`` and ``whoami``, which pass)."""
    loaded = load_system(EXAMPLE, "dev")
    assert loaded.ok, loaded.diagnostics
    checkpoint = applied_state(compile_system(loaded.system, "dev"))
    (tmp_path / "prior.json").write_text(dumps(checkpoint))
    (tmp_path / "stacks" / "dev").mkdir(parents=True)
    shutil.copy(REPO / "stacks" / "dev" / "Pulumi.yaml", tmp_path / "stacks" / "dev" / "Pulumi.yaml")
    write_backend_state(tmp_path / "stacks" / "dev", checkpoint)
    for name in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    doc = yaml.safe_load(EXAMPLE.read_text())
    without_cluster_and_job(doc)
    (tmp_path / "mlsystem.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch)
    return tmp_path


def apply(work: Path, api: KubeApiStandIn, monkeypatch, *extra: str):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")  # the stack's file backend needs one (engine.preflight)
    ups: list[dict | None] = []
    monkeypatch.setattr(engine, "up", lambda *a, **k: ups.append(api.get(KUEUE, "Workload", "retrain-abc-1",
                                                                          "fraud-dev")))
    result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state", str(work / "prior.json"),
                     "--yes", *extra)
    return result, ups


def test_an_admitted_workload_refuses_the_apply_without_the_flag(work: Path, monkeypatch) -> None:
    with stand_in() as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert "refusing to apply: this apply deletes 1 Kueue ClusterQueue(s) that still admit 1 workload(s)" \
            in result.stderr
        assert f"ClusterQueue {QUEUE}: fraud-dev/retrain-abc-1" in result.stderr
        assert "other-1" not in result.stderr and "retrain-pending" not in result.stderr
        assert "--drain-queues" in result.stderr and "wait until these runs finish" in result.stderr
        assert ups == []  # pulumi up never ran
        assert api.requests_for("PATCH") == [] and "stopPolicy" not in api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]


def test_with_the_flag_the_queue_is_drained_then_the_apply_proceeds(work: Path, monkeypatch) -> None:
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)
    with stand_in() as api:
        def kueue(verb: str, obj: dict) -> None:  # Kueue's part: a HoldAndDrain queue's workloads are evicted
            if obj["kind"] == "ClusterQueue" and obj["spec"].get("stopPolicy") == "HoldAndDrain":
                threading.Timer(0.3, api.seed, [workload("retrain-abc-1", None)]).start()
        api.on_write(kueue)

        result, ups = apply(work, api, monkeypatch, "--drain-queues")

        assert result.code == 0, result.output
        [patch] = api.requests_for("PATCH", f"/clusterqueues/{QUEUE}")
        assert patch.path == f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/{QUEUE}"
        assert patch.body == {"spec": {"stopPolicy": "HoldAndDrain"}}
        assert f"Draining Kueue ClusterQueue {QUEUE}" in result.stdout and "Drained" in result.stdout
        assert len(api.requests_for("GET", "/workloads")) >= 3  # read, then polled until the eviction
        [seen] = ups  # pulumi up ran once, after the workload had lost its admission
        assert seen is not None and "admission" not in seen["status"]


def test_a_queue_that_does_not_drain_in_time_stops_the_apply(work: Path) -> None:
    from mlops_infra.apply import queue_drain

    with stand_in() as api:
        kube = KubeClient.from_url(api.url)
        ticks = iter(range(100))
        with pytest.raises(queue_drain.UserError) as caught:
            queue_drain.drain(kube, {QUEUE: ["fraud-dev/retrain-abc-1"]}, lambda line: None, timeout=3, poll=0,
                              clock=lambda: float(next(ticks)))
        assert "did not drain within 3 seconds; nothing was applied" in caught.value.summary
        assert "fraud-dev/retrain-abc-1" in caught.value.detail
        assert api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]["stopPolicy"] == "HoldAndDrain"


def run(name: str, job: str, *, finished: str | None = None, suspended: bool = False) -> dict:
    conditions = [{"type": finished, "status": "True"}] if finished else [{"type": "Running", "status": "True"}]
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": name, "namespace": "fraud-dev", "labels": {"mlops-infra/training-job": job}},
            "spec": {"runPolicy": {"suspend": suspended}}, "status": {"conditions": conditions}}


def test_after_the_apply_the_removed_jobs_runs_are_listed_not_deleted(work: Path, monkeypatch) -> None:
    """Only the training job goes (its cluster stays: no queue to drain); its runs have no owner."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    del doc["training_jobs"]
    doc["models"][0]["artifacts_uri"] = "s3://fraud-models-222222222222/fraud-model/"
    # a bucket is in one region: staging (us-east-1) reads its own (validate's artifacts-uri-region, audit envs-4)
    doc["environments"]["staging"]["overrides"]["models.fraud-model.artifacts_uri"] = \
        "s3://fraud-models-us-east-1-111111111111/fraud-model/"
    del doc["environments"]["dev"]["overrides"]["training_jobs.retrain.nodes"]
    (work / "mlsystem.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with KubeApiStandIn(crds=[*load_crds("kubeflow.org_pytorchjobs.yaml"), WORKLOAD_CRD]) as api:
        api.seed(run("retrain-aaa", "retrain", finished="Succeeded"))
        api.seed(run("retrain-bbb", "retrain", suspended=True))
        api.seed(run("other-ccc", "other"))

        result, ups = apply(work, api, monkeypatch)

        assert result.code == 0, result.output
        assert len(ups) == 1
        assert ("training_jobs.retrain: removed, but its runs stay (they have no owner): retrain-aaa (Succeeded), "
                "retrain-bbb (suspended). Delete them when you no longer need them: "
                "kubectl delete pytorchjobs -n fraud-dev -l mlops-infra/training-job=retrain") in result.stdout
        assert "other-ccc" not in result.stdout
        assert api.requests_for("DELETE") == [] and len(api.objects("pytorchjobs")) == 3


def test_an_up_that_cannot_start_is_refused_before_the_queue_is_held(work: Path, monkeypatch, tmp_path) -> None:
    """Audit applypath-4: the engine's preconditions were checked only when it opened the stack, after the
    drain: with no passphrase for the stack's file backend, the runs were evicted, the queue stayed held and
    nothing was applied. The real ``engine.up`` runs here (it never gets that far)."""
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))  # no login: the file backend of the stack directory
    with stand_in() as api:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state", str(work / "prior.json"),
                         "--yes", "--drain-queues")
        assert result.code == 1 and "Traceback" not in result.output
        assert "No passphrase for the local state backend" in result.stderr
        assert api.requests_for("PATCH") == []  # the queue was never held
        assert "stopPolicy" not in api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]
        assert api.get(KUEUE, "Workload", "retrain-abc-1", "fraud-dev")["status"]  # still admitted
