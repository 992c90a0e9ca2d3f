"""How many processes a job's command starts per node, the warning when it idles GPUs, and the memory check's
share of it (spec/processes.py; audit k8strain-1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.fit import training_fit
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
LLM = (ROOT / "examples" / "llm-platform" / "mlsystem.yaml").read_text()
TORCHRUN = "command: [torchrun, --nproc-per-node=8, -m, llm.finetune]"


@pytest.mark.parametrize(("command", "torchrun"), [
    (["torchrun", "--nproc-per-node=8", "-m", "llm.finetune"], True),
    (["/usr/local/bin/torchrun", "train.py"], True),
    (["python", "-m", "torch.distributed.run", "--nproc-per-node=4", "train.py"], True),
    (["python3", "-u", "-m", "torch.distributed.run", "train.py"], True),
    (["python", "-mtorch.distributed.run", "train.py"], True),
    (["python", "-m", "fraud.train"], False),
    (["python", "train.py", "-m", "torch.distributed.run"], False),  # arguments of a script
    (["bash", "-c", "torchrun train.py"], False),  # through a shell: not recognised (module contract)
    (["python", "-m", "torch.distributed.launch"], False),
    ([], False),
    (None, False),
])
def test_launches_torchrun(command: list[str] | None, torchrun: bool) -> None:
    from mlops_infra.spec.processes import launches_torchrun

    assert launches_torchrun(command) is torchrun


def test_a_python_command_on_multi_gpu_nodes_is_warned_at_its_command() -> None:
    text = edit(LLM, TORCHRUN, "command: [python, -m, llm.finetune]")
    result = parse_system(text, "mlsystem.yaml", "dev")
    (found,) = [d for d in result.diagnostics if d.code == "one-process-per-node" and "finetune-chat" in d.address]
    assert str(found.severity) == "warning" and found.location.line == line_of(text, "command: [python, -m, llm.finetune]")
    assert found.summary == 'Training job "finetune-chat" uses 1 of the 8 GPUs of each node of cluster "h100-train"'
    assert "command: [torchrun, --nproc-per-node=8, -m, <module>]" in found.detail
    untouched = parse_system(LLM, "mlsystem.yaml", "dev")
    assert [d.address for d in untouched.diagnostics if d.code == "one-process-per-node"] == [
        "training_jobs.train-embedder"]  # finetune-chat runs torchrun; train-embedder python -m on 8 x A100


def test_the_memory_check_shards_over_the_processes_the_command_starts() -> None:
    torchrun = parse_system(LLM, "mlsystem.yaml", "dev").system
    python = parse_system(edit(LLM, TORCHRUN, "command: [python, -m, llm.finetune]"), "mlsystem.yaml", "dev").system
    job = "finetune-chat"  # dev: 1 node of 8 x H100, FSDP
    assert training_fit(torchrun, torchrun.item("training_jobs", job)).gpus == 8
    one = training_fit(python, python.item("training_jobs", job))
    assert one.gpus == 1 and one.per_gpu_bytes > training_fit(torchrun, torchrun.item("training_jobs", job)).per_gpu_bytes


@pytest.mark.parametrize(("command", "processes"), [
    (["torchrun", "-m", "train"], 8), (["python", "-m", "train"], 1),
    (None, 8),  # the image's entry point: unknown, the memory check keeps one process per GPU (module contract)
])
def test_processes_per_node(command: list[str] | None, processes: int) -> None:
    from types import SimpleNamespace

    from mlops_infra.spec.processes import processes_per_node

    assert processes_per_node(SimpleNamespace(command=command), 8) == processes
    assert processes_per_node(SimpleNamespace(command=command), 1) == 1
