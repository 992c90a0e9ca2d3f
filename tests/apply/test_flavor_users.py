"""apply refuses to delete a Kueue ResourceFlavor that a ClusterQueue outside the stack names (audit k8sapply-3).

On the Kubernetes API stand-in (tests/support/kube_api.py, a named stand-in: no Kueue controller runs; the
ClusterQueue CRD is Kueue's own). Kueue keeps a deleted flavor while any ClusterQueue names it
(kueue v0.19.0 ``pkg/controller/core/resourceflavor_controller.go`` ``Reconcile``), so ``pulumi up`` would wait
10 minutes on the delete (pulumi-kubernetes ``await.go`` ``Deletion``) and fail. The case: the applied example's
cluster gpu-train joins a cohort in dev, so its flavor becomes the cohort's (``<system>-<env>-<cohort>-<digest>``)
and ``fraud-detection-dev-gpu-train`` is deleted, while another team's queue lends for that old name.
``pulumi up`` is replaced by a recorder: nothing here runs Pulumi.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlops_infra.apply import engine
from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.cli.test_apply_stack_identity import write_backend_state
from tests.support import pulumi_stand_in
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/fraud-detection/mlsystem.yaml"
KUEUE = "kueue.x-k8s.io/v1beta2"
OLD = "fraud-detection-dev-gpu-train"
"""The flavor (and ClusterQueue) of gpu-train without a cohort."""


def cluster_queue(name: str, flavor: str) -> dict:
    resources = [{"name": "nvidia.com/gpu", "nominalQuota": "4"}]
    return {"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": name},
            "spec": {"cohortName": "shared-a10g",
                     "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                                         "flavors": [{"name": flavor, "resources": resources}]}]}}


def stand_in(*outside: dict) -> KubeApiStandIn:
    api = KubeApiStandIn(crds=load_crds("kueue.x-k8s.io_clusterqueues.yaml"))
    api.seed(cluster_queue(OLD, OLD))  # this stack's own queue, as applied: not an outside user
    for queue in outside:
        api.seed(queue)
    return api


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """The applied example (state in the stack's file backend and ``prior.json``) and the example with gpu-train
    in cohort shared-a10g in dev; the recording pulumi stand-in on PATH (as tests/apply/test_queue_drain.py)."""
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
    doc["environments"]["dev"]["overrides"]["clusters.gpu-train.borrowing"] = {"cohort": "shared-a10g"}
    (tmp_path / "mlsystem.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch)
    return tmp_path


def apply(work: Path, api: KubeApiStandIn, monkeypatch):
    return apply_with(work, monkeypatch, write_kubeconfig(work / "kubeconfig", api.url))


def apply_with(work: Path, monkeypatch, kubeconfig: Path):
    """``mlops-infra apply --yes`` of ``work`` with ``$KUBECONFIG`` at ``kubeconfig`` and ``pulumi up`` recorded, not
    run: the CLI result and one ``True`` per ``up`` call."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    ups: list[bool] = []
    monkeypatch.setattr(engine, "up", lambda *a, **k: ups.append(True))
    result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state", str(work / "prior.json"),
                     "--yes")
    return result, ups


def test_an_outside_queue_naming_the_deleted_flavor_refuses_the_apply(work: Path, monkeypatch) -> None:
    with stand_in(cluster_queue("other-team-a10g", OLD), cluster_queue("unrelated", "some-other-flavor")) as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert ("refusing to apply: this apply deletes 1 Kueue ResourceFlavor(s) that ClusterQueues outside this stack "
                "still name; nothing was applied") in result.stderr
        text = " ".join(result.stderr.split())
        assert f"ResourceFlavor {OLD}: named by ClusterQueue other-team-a10g" in text
        assert "unrelated" not in text and f"ClusterQueue {OLD}" not in text  # its own queue is updated first
        assert "name fraud-detection-dev-shared-a10g-" in text and "finalizer kueue.x-k8s.io/resource-in-use" in text
        assert "kubectl get clusterqueues -o custom-columns=NAME:.metadata.name," in text
        assert ups == []  # pulumi up never ran
        assert [r.path for r in api.requests_for("GET", "/clusterqueues")] == [
            "/apis/kueue.x-k8s.io/v1beta2/clusterqueues"]
        assert api.requests_for("PATCH") == [] and api.requests_for("DELETE") == []


def test_without_an_outside_user_the_apply_proceeds(work: Path, monkeypatch) -> None:
    with stand_in(cluster_queue("unrelated", "some-other-flavor")) as api:
        result, ups = apply(work, api, monkeypatch)

        assert result.code == 0, result.output
        assert ups == [True]
        assert "Kueue ResourceFlavor fraud-detection-dev-gpu-train" in " ".join(result.output.split())  # plan warned
