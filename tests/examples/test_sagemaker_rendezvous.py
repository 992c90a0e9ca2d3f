"""A multi-node SageMaker job's torchrun launchers form one group with the environment the compiler
writes (audit training-2; :func:`mlops_infra.compile.container_env.sagemaker_rendezvous`).

Two launchers stand for the instances algo-1 and algo-2 of the llm-platform staging job
``finetune-chat`` (``nodes: 2``): each gets the compiled Train step's Environment and its own
``/opt/ml`` with the ``resourceconfig.json`` SageMaker writes on that host. The only rewrite is the
rendezvous endpoint, ``algo-1:29400`` -> ``127.0.0.1:<free port>`` (no ``algo-1`` host here), and each
launcher's ``--local-addr`` (``PET_LOCAL_ADDR`` 127.0.0.1 / 127.0.0.2, loopback) standing for the
hosts' names, which the rendezvous sorts to give node ranks. Each of the 2 x 2 processes joins the
group through ``mlops_entry.distributed.setup`` with the contract as ``Contract.from_environment`` reads it
(no rank patched in: under torchrun it takes ``RANK``/``WORLD_SIZE`` on SageMaker too, audit closing-41a-2)
and reports the contract's rank and world.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch is in the test extra")

from tests.examples.test_fraud_entry_points import PYTHONPATH, container_env
from tests.examples.test_llm_entry_points import rendezvous_host_conf, train_steps

TORCHRUN = Path(sys.executable).parent / "torchrun"
NPROC = 2
PROBE = """
import json, os, sys
import torch, torch.distributed as dist
from mlops_entry import Contract, distributed
contract = Contract.from_environment()
config = os.path.join(os.environ["MLOPS_SAGEMAKER_ROOT"], "input", "config", "resourceconfig.json")
host = json.load(open(config))["current_host"]
distributed.setup(contract)
total = torch.ones(1)
dist.all_reduce(total)
report = json.dumps({"host": host, "rank": contract.rank, "world": contract.world_size, "sum": int(total.item()),
                     "sharding": contract.sharding})
# One file per rank, renamed into place: the 2 ranks of a launcher share its stdout, where their lines can
# interleave (CI on c0cd706 read '{...}{...}' as one line).
path = os.path.join(os.environ["PROBE_REPORTS"], f"rank-{contract.rank}.json")
with open(path + ".tmp", "w") as f:
    f.write(report)
os.replace(path + ".tmp", path)
distributed.finish()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sagemaker_host(tmp_path: Path, step: dict, host: str, hosts: list[str]) -> Path:
    root = tmp_path / host / "opt-ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(step["HyperParameters"]))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
    return root


@pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun is installed with torch")
def test_two_sagemaker_instances_train_as_one_group_under_torchrun(tmp_path: Path) -> None:
    step = train_steps()["finetune-chat"]
    assert step["ResourceConfig"]["InstanceCount"] == 2
    command = step["AlgorithmSpecification"]["ContainerEntrypoint"]
    assert command[:2] == ["torchrun", "--nproc-per-node=8"]
    (tmp_path / "probe.py").write_text(PROBE)
    compiled = container_env(step)
    port = _free_port()
    if "PET_RDZV_ENDPOINT" in compiled:
        compiled["PET_RDZV_ENDPOINT"] = f"127.0.0.1:{port}"
    hosts = [f"algo-{i}" for i in (1, 2)]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "AWS_", "PET_"))}
    reports_dir = tmp_path / "reports"
    reports_dir.mkdir()
    procs = []
    for i, host in enumerate(hosts):
        env = {**base, **compiled, "MLOPS_SAGEMAKER_ROOT": str(sagemaker_host(tmp_path, step, host, hosts)),
               "PET_LOCAL_ADDR": f"127.0.0.{i + 1}", "PYTHONPATH": PYTHONPATH, "OMP_NUM_THREADS": "1",
               "PET_RDZV_CONF": rendezvous_host_conf(host),
               "PROBE_REPORTS": str(reports_dir)}
        procs.append(subprocess.Popen([str(TORCHRUN), f"--nproc-per-node={NPROC}", "probe.py"], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    reports = [json.loads(path.read_text()) for path in sorted(reports_dir.glob("rank-*.json"))]
    assert sorted(r["rank"] for r in reports) == list(range(2 * NPROC))
    assert {(r["world"], r["sum"], r["sharding"]) for r in reports} == {(2 * NPROC, 2 * NPROC, "fsdp")}
    assert {r["host"] for r in reports if r["rank"] < NPROC} == {"algo-1"}  # node rank 0 on the rendezvous host
