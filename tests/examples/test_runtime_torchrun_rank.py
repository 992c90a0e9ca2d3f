"""Under torchrun the runtime contract's rank and world size are the process's on SageMaker too (audit closing-41a-2).

spec/processes.py's ``one-process-per-node`` warning tells a job to start with torchrun; the same
document runs on SageMaker (staging, prod) and Kubernetes (dev). torchrun's elastic agent gives each
worker ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT`` (torch
``torch/distributed/elastic/agent/server/local_elastic_agent.py`` ``_start_workers``; cited in
``mlops_entry/contract.py``). Before the fix ``Contract._sagemaker`` took the rank from
``resourceconfig.json``'s hosts only, so every process of an instance was that host's rank of a world
of hosts. The real-torchrun case (2 SageMaker hosts x 2 processes) is
tests/examples/test_sagemaker_rendezvous.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "runtime"))
from mlops_entry.contract import Contract  # noqa: E402

TORCHRUN_WORKER = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                   "MASTER_ADDR": "algo-1", "MASTER_PORT": "29501", "TORCHELASTIC_RUN_ID": "retrain"}
"""What torchrun --nproc-per-node=2 gives its second worker on the first of 2 nodes."""


def sagemaker_root(tmp_path: Path, current_host: str) -> dict[str, str]:
    """A ``/opt/ml`` as SageMaker writes it on ``current_host`` of a 2-instance job."""
    config = tmp_path / current_host / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({"epochs": "1"}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": current_host,
                                                            "hosts": ["algo-1", "algo-2"]}))
    return {"MLOPS_SAGEMAKER_ROOT": str(tmp_path / current_host)}


def test_a_torchrun_worker_on_sagemaker_has_torchruns_rank_and_world(tmp_path: Path) -> None:
    contract = Contract.from_environment({**sagemaker_root(tmp_path, "algo-1"), **TORCHRUN_WORKER})
    assert contract.target == "sagemaker"
    assert (contract.rank, contract.world_size, contract.master) == (1, 4, ("algo-1", 29501))
    assert not contract.is_main  # only global rank 0 saves and registers


def test_without_torchrun_sagemaker_rank_is_the_hosts(tmp_path: Path) -> None:
    first = Contract.from_environment(sagemaker_root(tmp_path, "algo-1"))
    second = Contract.from_environment(sagemaker_root(tmp_path, "algo-2"))
    assert [(c.rank, c.world_size, c.master) for c in (first, second)] == [(0, 2, ("algo-1", 29500)),
                                                                          (1, 2, ("algo-1", 29500))]
    partial = {k: TORCHRUN_WORKER[k] for k in ("RANK", "WORLD_SIZE")}  # not a torchrun worker: LOCAL_RANK unset
    assert Contract.from_environment({**sagemaker_root(tmp_path / "p", "algo-2"), **partial}).rank == 1
    assert Contract.from_environment({**sagemaker_root(tmp_path / "q", "algo-1"), **partial}).world_size == 2


def test_a_torchrun_worker_on_kubernetes_has_the_same_rank_and_world() -> None:
    contract = Contract.from_environment({"MLOPS_TRAINING_JOB": "retrain", "MLOPS_HYPERPARAMETERS": "{}",
                                          "MLOPS_WORK_DIR": "/nonexistent", **TORCHRUN_WORKER})
    assert (contract.target, contract.rank, contract.world_size, contract.master) == ("kubernetes", 1, 4,
                                                                                     ("algo-1", 29501))


def test_the_warnings_torchrun_advice_names_both_targets_and_the_ranks_the_program_reads() -> None:
    from mlops_infra.spec import parse_system

    text = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text(encoding="utf-8")
    (found,) = [d for d in parse_system(text, "mlsystem.yaml", "staging").diagnostics
                if d.code == "one-process-per-node"]  # retrain: python -m fraud.train on 4 x A10G
    fix = found.detail.split("Fix: ", 1)[1]
    assert fix.startswith("start it with torchrun, e.g. command: [torchrun, --nproc-per-node=4, -m, <module>]")
    assert "each SageMaker instance, each replica pod" in fix
    assert "RANK, LOCAL_RANK and WORLD_SIZE (nodes x 4)" in fix and "mlops_entry.Contract" in fix
