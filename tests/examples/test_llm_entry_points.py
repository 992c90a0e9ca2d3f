"""The LLM example's training jobs, run for one step on CPU with tiny models, on the SageMaker
contract its staging environment compiles to (hyperparameters, channels and environment taken
from the compiled Train steps)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is in the test extra")
from safetensors.torch import load_file, save_file  # noqa: E402

from mlops_infra.compile import compile_system  # noqa: E402
from mlops_infra.ml.checkpoints import read_checkpoint  # noqa: E402
from mlops_infra.spec import parse_system  # noqa: E402
from tests.examples.test_fraud_entry_points import PYTHONPATH, container_env, run  # noqa: E402
from tests.support.text_edits import edit  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llm-platform"
sys.path[:0] = [str(ROOT / "examples" / "runtime"), str(EXAMPLE)]
from llm.model import DecoderLM  # noqa: E402

TINY = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 4, "vocab_size": 256,
        "max_position_embeddings": 128}


def train_steps(env: str = "staging", sharding: str | None = None) -> dict[str, dict]:
    """The compiled Train steps; ``sharding`` replaces finetune-chat's in the spec."""
    text = (EXAMPLE / "mlsystem.yaml").read_text()
    if sharding:
        text = edit(text, "    sharding: fsdp\n", f"    sharding: {sharding}\n")
    system = parse_system(text, str(EXAMPLE / "mlsystem.yaml"), env).system
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


def rendezvous_host_conf(host: str) -> str:
    """torchrun's ``--rdzv-conf`` (``PET_RDZV_CONF``) giving the c10d store to algo-1's launcher, as on SageMaker.

    There the endpoint ``algo-1:29400`` names algo-1, so only its launcher hosts the store (torch
    ``elastic/rendezvous/c10d_rendezvous_backend.py`` ``_create_tcp_store``: ``is_host`` from the rdzv conf, else
    ``_matches_machine_hostname(host)``). On loopback every launcher matches 127.0.0.1 and whichever starts
    first hosts it; when that was algo-2's and it finished first, algo-1's launcher lost the store
    ("RendezvousConnectionError: The connection to the C10d store has failed", a CI run at load 10)."""
    return f"is_host={'true' if host == 'algo-1' else 'false'}"


@pytest.mark.parametrize("sharding", ["none", "fsdp"])
def test_finetune_runs_one_lora_step_under_torchrun_on_both_instances(tmp_path: Path, sharding: str) -> None:
    """Both SageMaker instances of the staging job (``nodes: 2``), each a torchrun launcher with the
    compiled Environment (the job's sharding, torchrun's rendezvous; only its endpoint moved from
    algo-1:29400 to loopback, PET_LOCAL_ADDR stands for the host names the rendezvous sorts, and PET_RDZV_CONF
    keeps the store on algo-1 as there: :func:`rendezvous_host_conf`) and its own
    /opt/ml; one CPU process per instance instead of 8 GPUs. The model is written on algo-1 (rank 0)."""
    step = train_steps(sharding=sharding)["finetune-chat"]
    command = step["AlgorithmSpecification"]["ContainerEntrypoint"]
    assert command == ["torchrun", "--nproc-per-node=8", "-m", "llm.finetune"]
    assert step["ResourceConfig"]["InstanceCount"] == 2
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps(TINY))
    weights = {k: v for k, v in DecoderLM(TINY).state_dict().items() if k != "head.weight"}  # tied: stored once
    save_file(weights, str(base / "model.safetensors"))
    lines = "\n".join(json.dumps({"prompt": f"question {i}", "response": f"answer {i}"}) for i in range(4))
    hyper = {"base_model": str(base), "max_steps": "1", "max_seq_len": "64"}
    compiled = container_env(step)
    assert (compiled["MLOPS_SHARDING"], compiled["PET_RDZV_ENDPOINT"]) == (sharding, "algo-1:29400")  # from the spec
    compiled["PET_RDZV_ENDPOINT"] = f"127.0.0.1:{_free_port()}"
    hosts = ["algo-1", "algo-2"]
    roots, procs = [], []
    for i, host in enumerate(hosts):
        root = layout(tmp_path / host, step, hyper, {"part.jsonl": lines})
        (root / "input" / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "AWS_", "PET_"))}, **compiled,
               "MLOPS_SAGEMAKER_ROOT": str(root), "PET_LOCAL_ADDR": f"127.0.0.{i + 1}", "PYTHONPATH": PYTHONPATH,
               "PET_RDZV_CONF": rendezvous_host_conf(host),
               "OMP_NUM_THREADS": "1"}
        cpu = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=1", *command[2:]]  # not 8 GPUs
        roots.append(root)
        procs.append(subprocess.Popen(cpu, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    out = roots[0] / "model" / "model.safetensors"
    assert not (roots[1] / "model" / "model.safetensors").exists()
    assert read_checkpoint(out).parameters == read_checkpoint(base / "model.safetensors").parameters  # LoRA merged
    tuned, original = load_file(str(out)), load_file(str(base / "model.safetensors"))
    assert not torch.equal(tuned["blocks.0.qkv.weight"], original["blocks.0.qkv.weight"])  # the adapters learned
    assert torch.equal(tuned["embed.weight"], original["embed.weight"])  # frozen
    assert (roots[0] / "checkpoints" / "last.pt").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
