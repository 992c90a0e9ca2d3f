"""The training container is told the job's precision and sharding on both targets, and a multi-node
SageMaker job is told torchrun's rendezvous (audit training-1, training-2;
:mod:`mlops_infra.compile.container_env`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
from mlops_infra.spec import parse_system
from tests.support.kube_cases import by_kind
from tests.support.text_edits import edit

ROOT = Path(__file__).resolve().parents[2]
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"


def compiled(path: Path, env: str, *edits: tuple[str, str]) -> DesiredGraph:
    text = path.read_text()
    for old, new in edits:
        text = edit(text, old, new)
    loaded = parse_system(text, str(path), env)
    assert loaded.system is not None, loaded.diagnostics
    return compile_system(loaded.system, env)


def train_environments(graph: DesiredGraph) -> dict[str, dict]:
    return {r.name.removesuffix("-pipeline"): step["Arguments"]["Environment"]
            for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
            for step in r.inputs["pipelineDefinition"]["$json"]["Steps"] if step["Name"] == "Train"}


def pytorchjob_envs(graph: DesiredGraph) -> dict[str, dict[str, dict[str, str]]]:
    """Job -> replica type -> the ``pytorch`` container's env."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for template in by_kind(graph, "PyTorchJob"):
        job = template["metadata"]["labels"]["mlops-infra/training-job"]
        for replica, spec in template["spec"]["pytorchReplicaSpecs"].items():
            container = spec["template"]["spec"]["containers"][0]
            out.setdefault(job, {})[replica] = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return out


@pytest.mark.parametrize("sharding", ["fsdp", "none"])
def test_the_sagemaker_train_step_carries_the_jobs_precision_and_sharding(sharding: str) -> None:
    env = train_environments(compiled(LLM, "staging", ("sharding: fsdp", f"sharding: {sharding}")))["finetune-chat"]
    assert (env["MLOPS_SHARDING"], env["MLOPS_PRECISION"]) == (sharding, "mixed_bf16")


def test_the_pytorchjob_carries_the_jobs_precision_and_sharding_on_every_replica() -> None:
    replicas = pytorchjob_envs(compiled(LLM, "dev", ("precision: mixed_bf16", "precision: bf16")))["finetune-chat"]
    assert sorted(replicas) == ["Master"]  # dev: nodes 1
    assert (replicas["Master"]["MLOPS_SHARDING"], replicas["Master"]["MLOPS_PRECISION"]) == ("fsdp", "bf16")
    two_nodes = (("    nodes: 2\n", "    nodes: 2\n    sharding: zero2\n"),
                 ("clusters.gpu-train.nodes: {min: 0, max: 1}", "clusters.gpu-train.nodes: {min: 0, max: 2}"),
                 ("training_jobs.retrain.nodes: 1", "training_jobs.retrain.nodes: 2"))
    fraud = pytorchjob_envs(compiled(FRAUD, "dev", *two_nodes))["retrain"]
    assert sorted(fraud) == ["Master", "Worker"]
    for env in fraud.values():
        assert (env["MLOPS_SHARDING"], env["MLOPS_PRECISION"]) == ("zero2", "mixed_bf16")
        assert not [k for k in env if k.startswith("PET_")]  # the training operator sets torchrun's (setPodEnv)


def test_unset_fields_are_written_as_the_memory_check_assumed_them() -> None:
    """The reference fraud job sets neither: the container is told the defaults spec/fit.py checked."""
    env = train_environments(compiled(FRAUD, "staging"))["retrain"]
    assert (env["MLOPS_SHARDING"], env["MLOPS_PRECISION"]) == ("none", "mixed_bf16")
    kube = pytorchjob_envs(compiled(FRAUD, "dev"))["retrain"]["Master"]
    assert (kube["MLOPS_SHARDING"], kube["MLOPS_PRECISION"]) == ("none", "mixed_bf16")


def test_a_multi_node_sagemaker_job_is_told_torchruns_rendezvous_on_algo_1() -> None:
    env = train_environments(compiled(LLM, "staging"))["finetune-chat"]  # nodes: 2
    assert {k: v for k, v in env.items() if k.startswith("PET_")} == {
        "PET_NNODES": "2", "PET_RDZV_BACKEND": "c10d", "PET_RDZV_ENDPOINT": "algo-1:29400",
        "PET_RDZV_ID": "finetune-chat"}


def test_a_one_node_sagemaker_job_gets_no_rendezvous() -> None:
    envs = train_environments(compiled(LLM, "staging"))
    assert not [k for k in envs["train-embedder"] if k.startswith("PET_")]
