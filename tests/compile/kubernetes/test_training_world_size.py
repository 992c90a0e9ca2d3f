"""The world the training operator gives a run's pods equals the processes the job's command starts (audit k8strain-1).

The operator's ``WORLD_SIZE`` = replicas x ``nprocPerNode`` (``tests/support/training_operator.py``, envvar.go
line 64); a one-process-per-pod command reads it as the number of processes to wait for in
``init_process_group``, while torchrun starts ``nprocPerNode`` processes per pod and gives them their own world.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.support.training_operator import total_replicas, world_size

ROOT = Path(__file__).resolve().parents[3]


def templates(example: str, env: str) -> dict[str, dict]:
    system = load_system(ROOT / "examples" / example / "mlsystem.yaml", env).system
    graph = compile_system(system, env)
    return {r.inputs["metadata"]["name"]: json.loads(r.inputs["data"]["pytorchjob.json"]) for r in graph.resources
            if r.type == "kubernetes:core/v1:ConfigMap" and "pytorchjob.json" in r.inputs.get("data", {})}


def command(template: dict) -> list[str]:
    return template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["command"]


def gpus(template: dict) -> int:
    limits = template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["resources"]
    return int(limits.get("limits", {}).get("nvidia.com/gpu", 0))


@pytest.mark.parametrize(("example", "job"), [("fraud-detection", "train-retrain"),
                                              ("llm-platform", "train-train-embedder")])
def test_a_one_process_per_pod_command_is_told_a_world_of_its_pods(example: str, job: str) -> None:
    template = templates(example, "dev")[job]
    assert command(template)[:2] == ["python", "-m"] and gpus(template) > 1
    # python -m starts one process per pod: the operator's WORLD_SIZE must be the pods, not pods x GPUs
    assert world_size(template) == total_replicas(template) == 1
    assert "nprocPerNode" not in template["spec"]  # the operator's default "auto"


def test_a_torchrun_command_is_given_the_gpus_of_its_node() -> None:
    template = templates("llm-platform", "dev")["train-finetune-chat"]
    assert command(template)[0] == "torchrun" and gpus(template) == 8
    assert template["spec"]["nprocPerNode"] == "8"
    assert world_size(template) == total_replicas(template) * 8  # torchrun's own world: every GPU of every pod
