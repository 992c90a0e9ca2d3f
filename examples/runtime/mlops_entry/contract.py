"""What the container is given, on SageMaker or on Kubernetes, read in one place.

SageMaker (compile/aws/training.py): ``/opt/ml`` layout, hyperparameters as strings in
``input/config/hyperparameters.json``, one channel per input data source, the model in ``model/``,
spot checkpoints in ``checkpoints/``, the cluster in ``input/config/resourceconfig.json``.
Kubernetes (compile/kubernetes/training.py): ``MLOPS_*`` environment variables, ``s3://`` URIs,
the training operator's ``MASTER_ADDR``/``RANK``/``WORLD_SIZE``.
On both, each output data source is ``MLOPS_OUTPUT_<SOURCE>`` = ``s3://<bucket>/`` (the Train step's
``Environment`` on SageMaker, which passes nothing else naming it; mlops_infra/compile/container_env.py
``data_source_uris``): :attr:`Contract.outputs`, written with ``mlops_entry.objects.upload_folder``.
``MLOPS_SAGEMAKER_ROOT`` moves ``/opt/ml`` (tests only).

Rank and world size are the process's, not the node's, on both targets: under torchrun (the
``one-process-per-node`` warning's advice, spec/processes.py) each worker gets its own ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` from the elastic agent
(torch 2.13 ``torch/distributed/elastic/agent/server/local_elastic_agent.py``
``LocalElasticAgent._start_workers`` l.416-425, ``_set_local_rank_env`` l.512; documented in
``torch/distributed/run.py`` "Environment Variables" l.206-232), so when all three of ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` are set the contract takes rank, world size and master from them
(:func:`_torchrun`), on SageMaker too, where ``resourceconfig.json`` only knows hosts: without it the
processes of one instance all had the host's rank (audit closing-41a-2). Without them (one process
per node) SageMaker's rank is the host's index in ``resourceconfig.json``'s ``hosts`` and its world
their count; Kubernetes reads the training operator's ``RANK``/``WORLD_SIZE`` (replica index, pods).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def _sources(environ: dict[str, str], prefix: str) -> dict[str, str]:
    """``{data source: value}`` of the ``<prefix>_<SOURCE>`` variables: a data source's name is
    ``[a-z0-9-]``, written upper-cased with ``-`` as ``_`` (compile/container_env.py
    ``data_source_variable``), so lower-casing and ``_`` -> ``-`` gives the name back."""
    return {m.group(1).lower().replace("_", "-"): v for k, v in sorted(environ.items())
            if (m := re.fullmatch(prefix + r"_(.+)", k))}


def _torchrun(environ: dict[str, str]) -> tuple[int, int, tuple[str, int]] | None:
    """``(rank, world size, master)`` of a torchrun worker: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``
    all set (the elastic agent sets the three for each worker it starts, module docstring), master from
    ``MASTER_ADDR``/``MASTER_PORT`` (127.0.0.1:29500 when absent); None when any of the three is missing."""
    if not all(k in environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK")):
        return None
    return (int(environ["RANK"]), int(environ["WORLD_SIZE"]),
            (environ.get("MASTER_ADDR", "127.0.0.1"), int(environ.get("MASTER_PORT", 29500))))


@dataclass
class Contract:
    """Fields: target (``sagemaker`` or ``kubernetes``), job, hyperparameters (typed), inputs
    (data source -> local folder or ``s3://`` URI), outputs (data source it writes -> ``s3://<bucket>/``,
    on both targets), model_dir (where to write the model),
    checkpoint_dir, rank/world_size/master (distributed), precision and sharding (the spec's),
    registers/model_uri_prefix (Kubernetes registration)."""

    target: str
    job: str
    hyperparameters: dict[str, Any]
    inputs: dict[str, str]
    model_dir: Path
    checkpoint_dir: Path
    rank: int = 0
    world_size: int = 1
    master: tuple[str, int] = ("127.0.0.1", 29500)
    precision: str = "mixed_bf16"
    sharding: str = "none"
    registers: str | None = None
    model_uri_prefix: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Contract:
        environ = dict(os.environ if environ is None else environ)
        root = Path(environ.get("MLOPS_SAGEMAKER_ROOT", "/opt/ml"))
        if (root / "input" / "config" / "hyperparameters.json").is_file():
            return cls._sagemaker(root, environ)
        if "MLOPS_HYPERPARAMETERS" in environ:
            return cls._kubernetes(environ)
        raise SystemExit("no mlops-infra container contract found: neither /opt/ml/input/config/hyperparameters.json "
                         "(SageMaker) nor MLOPS_HYPERPARAMETERS (Kubernetes)")

    @classmethod
    def _sagemaker(cls, root: Path, environ: dict[str, str]) -> Contract:
        config = root / "input" / "config"
        hyper = {k: _number(str(v)) for k, v in json.loads((config / "hyperparameters.json").read_text()).items()}
        data = root / "input" / "data"
        inputs = {p.name: str(p) for p in sorted(data.iterdir())} if data.is_dir() else {}
        rank, world, master = 0, 1, ("127.0.0.1", 29500)
        resources = config / "resourceconfig.json"
        if resources.is_file():
            cluster = json.loads(resources.read_text())
            hosts = list(cluster["hosts"])
            rank, world, master = hosts.index(cluster["current_host"]), len(hosts), (hosts[0], 29500)
        rank, world, master = _torchrun(environ) or (rank, world, master)
        return cls("sagemaker", environ.get("MLOPS_TRAINING_JOB", "train"), hyper, inputs, root / "model",
                   root / "checkpoints", rank, world, master, environ.get("MLOPS_PRECISION", "mixed_bf16"),
                   environ.get("MLOPS_SHARDING", "none"), env=environ, outputs=_sources(environ, "MLOPS_OUTPUT"))

    @classmethod
    def _kubernetes(cls, environ: dict[str, str]) -> Contract:
        inputs = _sources(environ, "MLOPS_INPUT")
        scratch = Path(environ.get("MLOPS_WORK_DIR") or tempfile.mkdtemp(prefix="mlops-"))
        return cls("kubernetes", environ["MLOPS_TRAINING_JOB"], json.loads(environ["MLOPS_HYPERPARAMETERS"]), inputs,
                   scratch / "model", Path(environ.get("MLOPS_CHECKPOINT_DIR", scratch / "checkpoints")),
                   int(environ.get("RANK", 0)), int(environ.get("WORLD_SIZE", 1)),
                   (environ.get("MASTER_ADDR", "127.0.0.1"), int(environ.get("MASTER_PORT", 29500))),
                   environ.get("MLOPS_PRECISION", "mixed_bf16"), environ.get("MLOPS_SHARDING", "none"),
                   environ.get("MLOPS_REGISTERS_MODEL"), environ.get("MLOPS_MODEL_URI_PREFIX"), environ,
                   _sources(environ, "MLOPS_OUTPUT"))

    def local_input(self, source: str) -> Path:
        """A local folder with ``source``'s files (downloaded from S3 on Kubernetes)."""
        where = self.inputs[source]
        if not where.startswith("s3://"):
            return Path(where)
        from mlops_entry.objects import download_prefix

        return download_prefix(where, self.model_dir.parent / "inputs" / source, self.env)

    @property
    def is_main(self) -> bool:
        return self.rank == 0
