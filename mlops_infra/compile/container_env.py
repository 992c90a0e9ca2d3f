"""What the training container is told about how to run, on both targets: the names the runtime reads.

The runtime contract (``examples/runtime/mlops_entry/contract.py`` ``Contract._sagemaker`` and
``_kubernetes``) reads the job's ``precision`` and ``sharding`` from ``MLOPS_PRECISION`` and
``MLOPS_SHARDING``, and falls back to ``mixed_bf16`` and ``none`` (DDP, every GPU holds the whole
model: ``mlops_entry/distributed.py`` ``wrap`` shards only for fsdp/zero3). Neither compiler wrote
them (audit training-1), so a job the memory check accepted only because of FSDP
(``spec/fit.py`` ``training_fit``) ran unsharded and out of memory. :func:`parallelism` writes
both from the job's fields, an unset field as the value the memory check assumed
(``spec/fit.py`` ``DEFAULT_PRECISION``, sharding ``none``); both compilers call it.

:func:`sagemaker_rendezvous` (audit training-2): SageMaker starts a custom ``ContainerEntrypoint`` on
each of ``ResourceConfig.InstanceCount`` instances and tells it only the cluster's hosts, in
``/opt/ml/input/config/resourceconfig.json`` (``current_host``, ``hosts`` = ``algo-1`` ..
``algo-N``: "How Amazon SageMaker Provides Training Information", Distributed Training
Configuration, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).
torchrun reads nothing of it: every option falls back to ``PET_<OPTION>`` and then to its default
(``torch/distributed/argparse_util.py`` ``env``: "Get argument values from ``PET_{dest}`` before
defaulting"), and ``torch/distributed/run.py`` defaults ``--nnodes`` to ``1:1`` and the master to
127.0.0.1, so ``nodes: 2`` ran two independent one-node jobs. With ``PET_NNODES=<nodes>``,
``PET_RDZV_BACKEND=c10d``, ``PET_RDZV_ENDPOINT=algo-1:29400`` and ``PET_RDZV_ID=<job>`` every
instance's torchrun joins one rendezvous served by algo-1 (the c10d backend hosts its TCPStore on
the node whose hostname matches the endpoint's: ``c10d_rendezvous_backend.py``
``_create_tcp_store``; ``torch/distributed/run.py`` module docs, "Fault tolerant" and "Elastic":
``--rdzv-backend=c10d --rdzv-endpoint=$HOST_NODE_ADDR``, "If no port number is specified
``HOST_NODE_ADDR`` defaults to 29400"; https://pytorch.org/docs/stable/elastic/run.html). Node ranks are assigned by the rendezvous itself, in the sorted order of the nodes'
descriptors (host name first: ``dynamic_rendezvous.py`` ``_mark_rendezvous_complete``), so one
environment serves every host and no per-host value is needed. The instances of one training job
reach each other in the network SageMaker runs the job in ("By default, Amazon SageMaker AI runs
training jobs in an Amazon Virtual Private Cloud", https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html;
their traffic is encrypted when the job has more than one node, ``EnableInterContainerTrafficEncryption``).
Only a job given a ``VpcConfig`` needs its security group to let the job's containers reach each
other ("Give SageMaker AI Training Jobs Access to Resources in Your Amazon VPC",
https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html); the jobs compiled here have none. The Kubernetes target needs none
of this: the training operator sets ``PET_NNODES``, ``PET_NODE_RANK`` and the master address
(kubeflow/training-operator ``pkg/controller.v1/pytorch/envvar.go`` ``setPodEnv``).

:func:`data_source_uris` (audit datasources-2): where the job's data sources are, as
``MLOPS_INPUT_<SOURCE>`` / ``MLOPS_OUTPUT_<SOURCE>`` = ``s3://<bucket>/`` (:func:`data_source_variable`:
the name upper-cased, ``-`` as ``_``; names are ``[a-z0-9-]`` (``spec/base.py`` ``NAME_PATTERN``), so
the runtime turns the variable back into the name, ``mlops_entry/contract.py`` ``_sources``). Kubernetes
gives both (``compile/kubernetes/training.py`` ``run_env``). SageMaker gives a container only what
``CreateTrainingJob`` names: the inputs are channels, downloaded to ``/opt/ml/input/data/<source>``
(what the runtime reads there), and nothing named the outputs, so a job writing a data source had no
way to find its bucket (``<system>-<env>-<name>-<account>``, none of which the container is told). The
Train step's ``Environment`` now holds the ``MLOPS_OUTPUT_*`` variables (``compile/aws/training.py``
``training_step``), the buckets its role may write (``_writes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mlops_infra.spec.fit import DEFAULT_PRECISION
from mlops_infra.spec.training import TrainingJob

PRECISION = "MLOPS_PRECISION"
SHARDING = "MLOPS_SHARDING"
"""The variables ``mlops_entry.contract.Contract`` reads the job's precision and sharding from."""
DEFAULT_SHARDING = "none"
RENDEZVOUS_HOST = "algo-1"
"""The first host of every SageMaker training cluster (resourceconfig.json ``hosts``)."""
RENDEZVOUS_PORT = 29400


def parallelism(job: TrainingJob) -> dict[str, str]:
    """``MLOPS_PRECISION`` and ``MLOPS_SHARDING`` from the job, unset fields as the memory check assumed them."""
    return {PRECISION: job.precision or DEFAULT_PRECISION, SHARDING: job.sharding or DEFAULT_SHARDING}


def sagemaker_rendezvous(job: TrainingJob) -> dict[str, str]:
    """torchrun's multi-node rendezvous on SageMaker (``PET_*``), empty for a one-node job."""
    if job.nodes <= 1:
        return {}
    return {"PET_NNODES": str(job.nodes), "PET_RDZV_BACKEND": "c10d",
            "PET_RDZV_ENDPOINT": f"{RENDEZVOUS_HOST}:{RENDEZVOUS_PORT}", "PET_RDZV_ID": job.name}


INPUT = "MLOPS_INPUT"
OUTPUT = "MLOPS_OUTPUT"
"""Prefixes of the variables naming a job's input and output data sources (:func:`data_source_uris`)."""


def data_source_variable(prefix: str, source: str) -> str:
    """``<prefix>_<SOURCE>``: the data source's name upper-cased, each character outside
    ``[A-Za-z0-9]`` (a name's ``-``) as ``_``."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9]', '_', source).upper()}"


def data_source_uris(prefix: str, sources: Iterable[str], bucket_of: Callable[[str], str | None]) -> dict[str, str]:
    """``{<prefix>_<SOURCE>: s3://<bucket>/}`` for each of ``sources`` that ``bucket_of`` knows a bucket of."""
    return {data_source_variable(prefix, source): f"s3://{bucket}/"
            for source in sources if (bucket := bucket_of(source)) is not None}
