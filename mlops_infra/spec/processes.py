"""How many training processes a job's ``command`` starts on each node, and the warning when it leaves GPUs idle.

Both targets start the job's command once per node: SageMaker runs the container's entry point once
on each instance (``resourceconfig.json`` lists the hosts; the runtime contract's world is the number
of hosts), and the Kubeflow training operator runs it once in each PyTorchJob replica pod (one Master,
``nodes - 1`` Workers). Only a torchrun launcher starts more: ``torchrun`` (or ``python -m
torch.distributed.run``, the same program) starts ``--nproc-per-node`` processes per node and gives
each its own ``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` (``torch/distributed/run.py``), on SageMaker as on
Kubernetes: the warning's advice holds on both only for a program that takes its rank from them, as
the examples' runtime contract does on both targets (``examples/runtime/mlops_entry/contract.py``,
audit closing-41a-2), and the compiled job gives torchrun its multi-node rendezvous on both
(``compile/container_env.py`` ``sagemaker_rendezvous``; the operator's ``PET_*`` on Kubernetes). Any
other command (``python -m fraud.train``) is one process per node, so it uses one GPU of a multi-GPU node.

The training operator derives the ``WORLD_SIZE`` it puts in every pod from ``spec.nprocPerNode``
(kubeflow/training-operator v1.9.0 ``pkg/controller.v1/pytorch/envvar.go`` ``setPodEnv``, line 64:
``worldSize := int(totalReplicas) * nprocPerNode``, line 86 ``WORLD_SIZE``, line 90 ``RANK`` = the
replica index, +1 for Workers, line 82); ``getNprocPerNodeInt`` (lines 132-140) reads 1 when the field
is not an integer, which is its default ``auto`` (``pkg/apis/kubeflow.org/v1/pytorch_defaults.go``
``setDefaultNprocPerNode``: ``DefaultNprocPerNode = "auto"``). So a one-process-per-pod command given
``nprocPerNode = GPUs`` is told a world of pods x GPUs and waits in ``init_process_group`` for ranks
that never start (audit k8strain-1); ``compile/kubernetes/training.py`` writes ``nprocPerNode`` only
for a torchrun command (:func:`launches_torchrun`).

Contract: :func:`launches_torchrun` is True exactly when the command's program is ``torchrun`` (any
directory) or a ``python`` whose ``-m`` module is ``torch.distributed.run``; a command through a shell
(``bash -c "torchrun ..."``) is not recognised. :func:`processes_per_node` is 1 for a command that is
not a torchrun launcher, else the node's GPUs: under torchrun, and without a command (the image's entry
point, which may well be torchrun: the memory check keeps assuming one process per GPU, and on Kubernetes
``nprocPerNode`` is left to ``auto``, right either way: WORLD_SIZE = pods for one process per pod, and
torchrun's ``auto`` starts one process per GPU). :func:`check_processes_per_node` warns
(``one-process-per-node``) for each job with a command that is not a torchrun launcher on a cluster with
more than one GPU per node; no command, no warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext

TORCHRUN_MODULE = "torch.distributed.run"
"""The module ``torchrun`` runs (``python -m torch.distributed.run`` is the same launcher)."""


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def launches_torchrun(command: Sequence[str] | None) -> bool:
    """Whether ``command`` is a torchrun launcher (module contract)."""
    if not command:
        return False
    program = _program(command[0])
    if program == "torchrun":
        return True
    if not program.startswith("python"):
        return False
    words = list(command[1:])
    for i, word in enumerate(words):
        if word == "-m":
            return i + 1 < len(words) and words[i + 1] == TORCHRUN_MODULE
        if word.startswith("-m") and len(word) > 2:
            return word[2:] == TORCHRUN_MODULE
        if not word.startswith("-"):  # a script: python train.py
            return False
    return False


def gpus_per_node(cluster: Any) -> int:
    """GPUs of one node of ``cluster`` (its accelerator's count, else its instance type's; 0 for CPU)."""
    if cluster is None:
        return 0
    if cluster.accelerator is not None:
        return cluster.accelerator.count
    return catalog.gpus_of(cluster.instance_type)[1] if cluster.instance_type else 0


def processes_per_node(job: Any, gpus: int) -> int:
    """Training processes ``job``'s command starts on a node with ``gpus`` GPUs (module contract)."""
    if gpus <= 1 or (job.command and not launches_torchrun(job.command)):
        return 1
    return gpus


def check_processes_per_node(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Warn where a job's command would use one GPU of each multi-GPU node (module contract)."""
    for i, job in enumerate(ctx.system.training_jobs):
        gpus = gpus_per_node(ctx.item("clusters", job.cluster))
        if gpus <= 1 or not job.command or launches_torchrun(job.command):
            continue
        yield warning(
            "one-process-per-node",
            f'Training job "{job.name}" uses 1 of the {gpus} GPUs of each node of cluster "{job.cluster}"',
            f"Its command ({' '.join(job.command)}) starts one process per node: SageMaker runs it once per "
            "instance (the hosts of resourceconfig.json) and the Kubeflow training operator once per replica pod "
            "(WORLD_SIZE = pods); only a torchrun launcher starts one process per GPU, and the memory check "
            "counts one process per node.\n"
            "Fix: start it with torchrun, e.g. "
            f"command: [torchrun, --nproc-per-node={gpus}, -m, <module>]: on both targets torchrun runs once per "
            "node (each SageMaker instance, each replica pod; the compiled job gives it the nodes' rendezvous) and "
            f"starts {gpus} processes, each with its own RANK, LOCAL_RANK and WORLD_SIZE (nodes x {gpus}), which "
            "the program must take its rank, world size and GPU from (the examples' runtime, mlops_entry.Contract, "
            "does on both); or give the cluster one GPU per node (accelerator count: 1). A command that starts "
            "torchrun through a shell is not recognised: then this warning does not apply.",
            ("training_jobs", i, "command"), f"training_jobs.{job.name}")
