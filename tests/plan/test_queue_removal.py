"""Removing a training cluster or job on Kubernetes warns that admitted runs block the delete (audit removal-4).

Kueue keeps a ClusterQueue with admitted workloads (finalizer ``kueue.x-k8s.io/resource-in-use``, Kueue's
"Troubleshooting delete ClusterQueue"), pulumi-kubernetes waits 10 minutes for the delete (``await.go``
``Deletion``), and a removed job's PyTorchJobs have no owner. The plan names the queue, the command that lists
its runs by the labels the compiled run template really sets, and the ways out; no other plan warns.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import queues, training
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
EXAMPLE = REPO / "examples/fraud-detection/mlsystem.yaml"


def graph_of(path: Path, env: str = "dev"):
    loaded = load_system(path, env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def variant(tmp_path: Path, edit) -> Path:
    """The fraud-detection example edited by ``edit`` (a function of its parsed YAML)."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    edit(doc)
    path = tmp_path / "mlsystem.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def name_artifacts(doc: dict) -> None:
    """The model's artifacts named (no job here registers it): prod's bucket (eu-west-1), and staging's own in
    us-east-1, as a bucket serves one region (validate's artifacts-uri-region, audit envs-4)."""
    doc["models"][0]["artifacts_uri"] = "s3://fraud-models-222222222222/fraud-model/"
    staging = doc["environments"]["staging"].setdefault("overrides", {})
    staging["models.fraud-model.artifacts_uri"] = "s3://fraud-models-us-east-1-111111111111/fraud-model/"


def without_cluster_and_job(doc: dict) -> None:
    """What /tmp/audit-removal/fraud-nocluster.yaml did: no gpu-train, no retrain, the model's artifacts named."""
    del doc["clusters"], doc["training_jobs"]
    name_artifacts(doc)
    for env in doc["environments"].values():
        for key in [k for k in env.get("overrides") or {} if k.startswith(("clusters.", "training_jobs."))]:
            del env["overrides"][key]


def warnings_of(graph, prior_graph) -> list[str]:
    prior = parse_state(dumps(applied_state(prior_graph)).encode(), "prior.json")
    return [w for w in make_plan(graph, prior, options=FAST).warnings
            if "ClusterQueue" in w or "not its runs" in w]


def run_labels(graph, job: str) -> dict[str, str]:
    """The labels of the PyTorchJob the launcher creates: the stored template's metadata.labels."""
    config = next(r for r in graph.resources if r.role == "run-template" and r.address == f"training_jobs.{job}")
    return json.loads(config.inputs["data"][training.TEMPLATE_KEY])["metadata"]["labels"]


def test_the_plan_module_uses_the_labels_the_compiler_sets() -> None:
    from mlops_infra.plan import queue_removal  # here: the other tests run on a tree without the module

    assert queue_removal.JOB_LABEL == training.JOB_LABEL
    assert queue_removal.QUEUE_LABEL == queues.QUEUE_LABEL


def test_removing_the_cluster_and_its_job_names_the_blocked_queue_and_the_runs(tmp_path: Path) -> None:
    before = graph_of(EXAMPLE)
    labels = run_labels(before, "retrain")
    after = graph_of(variant(tmp_path, without_cluster_and_job))

    queue, job = warnings_of(after, before)

    assert queue.startswith("clusters.gpu-train: this apply deletes the Kueue ClusterQueue fraud-detection-dev-gpu-train")
    assert "kueue.x-k8s.io/resource-in-use" in queue and "waits 10 minutes" in queue and "(runs of retrain)" in queue
    assert f"kubectl get pytorchjobs -n fraud-dev -l kueue.x-k8s.io/queue-name={labels['kueue.x-k8s.io/queue-name']}" \
        in queue
    assert ("kubectl patch clusterqueue fraud-detection-dev-gpu-train --type merge "
            """-p '{"spec":{"stopPolicy":"HoldAndDrain"}}'""") in queue
    assert "mlops-infra apply --drain-queues does this first" in queue
    assert job.startswith("training_jobs.retrain: this apply removes the training job retrain but not its runs")
    selector = f"-l mlops-infra/training-job={labels['mlops-infra/training-job']}"
    assert f"kubectl get pytorchjobs -n fraud-dev {selector}" in job
    assert f"kubectl delete pytorchjobs -n fraud-dev {selector}" in job
    assert "still registers a version of fraud-model" in job


def test_renaming_the_cluster_warns_about_the_old_queue_only(tmp_path: Path) -> None:
    def rename(doc: dict) -> None:
        doc["clusters"][0]["name"] = "gpu-big"
        doc["training_jobs"][0]["cluster"] = "gpu-big"
        overrides = doc["environments"]["dev"]["overrides"]
        overrides["clusters.gpu-big.nodes"] = overrides.pop("clusters.gpu-train.nodes")

    [warning] = warnings_of(graph_of(variant(tmp_path, rename)), graph_of(EXAMPLE))

    assert warning.startswith("clusters.gpu-train: this apply deletes the Kueue ClusterQueue fraud-detection-dev-gpu-train")
    assert "kueue.x-k8s.io/queue-name=gpu-train" in warning


def test_removing_only_the_job_keeps_the_queue_and_names_the_runs(tmp_path: Path) -> None:
    def without_job(doc: dict) -> None:
        del doc["training_jobs"]
        name_artifacts(doc)
        del doc["environments"]["dev"]["overrides"]["training_jobs.retrain.nodes"]

    [warning] = warnings_of(graph_of(variant(tmp_path, without_job)), graph_of(EXAMPLE))

    assert warning.startswith("training_jobs.retrain: this apply removes the training job retrain but not its runs")


def test_no_warning_without_a_removal_nor_for_an_aws_training_job(tmp_path: Path) -> None:
    for example in ("fraud-detection", "llm-platform", "quickstart"):
        graph = graph_of(REPO / f"examples/{example}/mlsystem.yaml")
        assert warnings_of(graph, graph) == [], example
    removed = variant(tmp_path, without_cluster_and_job)
    assert warnings_of(graph_of(removed, "staging"), graph_of(EXAMPLE, "staging")) == []  # AWS: no queue, no kubectl


def test_a_clusterqueue_pulumi_only_drops_from_the_state_gets_no_warning() -> None:
    """A retained ClusterQueue delete (retainOnDelete, read-resource, pending-replacement) leaves the live queue
    in the cluster (``step.go`` ``DeleteStep.Apply`` calls no provider delete): no "this apply deletes" warning,
    as ``apply/queue_drain.condemned_queues`` drains none (statefix 51979df0)."""
    from mlops_infra.plan.model import Action, Reason, ResourceChange
    from mlops_infra.plan.queue_removal import removal_warnings
    from mlops_infra.state.model import PriorState

    kind = "kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue"

    def delete(name: str, retained: bool) -> ResourceChange:
        return ResourceChange(urn=f"urn:pulumi:dev::p::{kind}::{name}", type=kind, name=name, action=Action.DELETE,
                              reason=Reason("read-resource" if retained else "removed-from-spec", ""),
                              retained=retained)

    prior = PriorState("prior.json", 3, "1", "p", "dev", {})
    [warning] = removal_warnings([delete("kept-live", True), delete("gone", False)], prior, {})
    assert "deletes the Kueue ClusterQueue gone;" in warning and "kept-live" not in warning


def test_a_queue_of_a_hundred_jobs_names_six_of_their_runs_and_how_many_more() -> None:
    """A ClusterQueue's warning named the runs of every training job of its cluster: the first six, then how many
    more (:mod:`mlops_infra.name_lists`)."""
    from types import SimpleNamespace

    from mlops_infra.plan.model import Action
    from mlops_infra.plan.queue_removal import _queue_warning

    change = SimpleNamespace(name="demo-dev-gpu", address="clusters.gpu", action=Action.DELETE)
    facts = {f"training_jobs.j{i:03}": {"kind": "training_job", "name": f"j{i:03}", "cluster": "gpu"}
             for i in range(100)}
    text = _queue_warning(change, SimpleNamespace(resources={}), facts)
    assert "until the run ends (runs of j000, j001, j002, j003, j004, j005 and 94 more)" in text and "j006" not in text
