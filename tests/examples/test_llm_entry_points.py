"""The LLM example's training jobs, run for one step on CPU with tiny models, on the SageMaker
contract its staging environment compiles to (hyperparameters, channels and environment taken
from the compiled Train steps)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is in the test extra")
from safetensors.torch import load_file, save_file  # noqa: E402

from mlops_infra.compile import compile_system  # noqa: E402
from mlops_infra.ml.checkpoints import read_checkpoint  # noqa: E402
from mlops_infra.spec import load_system  # noqa: E402
from tests.examples.test_fraud_entry_points import container_env, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llm-platform"
sys.path[:0] = [str(ROOT / "examples" / "runtime"), str(EXAMPLE)]
from llm.model import DecoderLM  # noqa: E402

TINY = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 4, "vocab_size": 256,
        "max_position_embeddings": 128}


def train_steps(env: str = "staging") -> dict[str, dict]:
    system = load_system(EXAMPLE / "mlsystem.yaml", env).system
    graph = compile_system(system, env)
    out = {}
    for resource in graph.resources:
        if resource.type == "aws:sagemaker/pipeline:Pipeline":
            for step in resource.inputs["pipelineDefinition"]["$json"]["Steps"]:
                if step["Name"] == "Train":
                    out[resource.name.removesuffix("-pipeline")] = step["Arguments"]
    return out


def layout(tmp_path: Path, step: dict, hyper: dict[str, str], files: dict[str, str]) -> Path:
    root = tmp_path / "opt-ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps({**step["HyperParameters"], **hyper}))
    for channel in step["InputDataConfig"]:
        folder = root / "input" / "data" / channel["ChannelName"]
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return root


@pytest.mark.parametrize("sharding", ["none", "fsdp"])
def test_finetune_runs_one_lora_step_under_torchrun(tmp_path: Path, sharding: str) -> None:
    step = train_steps()["finetune-chat"]
    command = step["AlgorithmSpecification"]["ContainerEntrypoint"]
    assert command == ["torchrun", "--nproc-per-node=8", "-m", "llm.finetune"]
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps(TINY))
    weights = {k: v for k, v in DecoderLM(TINY).state_dict().items() if k != "head.weight"}  # tied: stored once
    save_file(weights, str(base / "model.safetensors"))
    lines = "\n".join(json.dumps({"prompt": f"question {i}", "response": f"answer {i}"}) for i in range(4))
    root = layout(tmp_path, step, {"base_model": str(base), "max_steps": "1", "max_seq_len": "64"}, {"part.jsonl": lines})
    cpu = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", *command[2:]]  # 2 CPU processes, not 8 GPUs
    run(cpu, {**container_env(step), "MLOPS_SAGEMAKER_ROOT": str(root), "MLOPS_SHARDING": sharding}, tmp_path)
    out = root / "model" / "model.safetensors"
    assert read_checkpoint(out).parameters == read_checkpoint(base / "model.safetensors").parameters  # LoRA merged
    tuned, original = load_file(str(out)), load_file(str(base / "model.safetensors"))
    assert not torch.equal(tuned["blocks.0.qkv.weight"], original["blocks.0.qkv.weight"])  # the adapters learned
    assert torch.equal(tuned["embed.weight"], original["embed.weight"])  # frozen
    assert (root / "checkpoints" / "last.pt").is_file()


def test_the_embedder_trains_one_step(tmp_path: Path) -> None:
    step = train_steps()["train-embedder"]
    assert step["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python", "-m", "embedder.train"]
    text = "Refunds take five days. Cards are issued in a week. Support answers within a day. Fees are listed online."
    root = layout(tmp_path, step, {"max_steps": "1"}, {"doc.txt": text})
    run(step["AlgorithmSpecification"]["ContainerEntrypoint"], {**container_env(step), "MLOPS_SAGEMAKER_ROOT": str(root)},
        tmp_path)
    assert read_checkpoint(root / "model" / "model.safetensors").parameters == 4096 * 64 + 64 * 64 + 64
    assert json.loads((root / "model" / "config.json").read_text())["steps"] == 1
    assert os.environ.get("MLOPS_SAGEMAKER_ROOT") is None
