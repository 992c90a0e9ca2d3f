"""ML facts carried as component inputs: the same on every target, read back by the planner.

Contract: each ``*_facts`` returns a JSON dict with a ``kind`` key and camelCase fields; no secret
values (channels record only which secret names they use). The keys are the same on every target;
``instanceType`` (and a monitor's ``jobInstanceType``) names what the target runs on: the SageMaker
type (``ml.g5.xlarge``) on AWS, the EC2 node shape (``g5.xlarge``) on Kubernetes, where an item with
neither accelerator nor instance type has none (None: its pods run on whatever nodes the cluster has). The planner's ML summary and cost
estimate read these from both desired graph and prior state, so changing a key is a breaking
change for saved state and must be versioned (``factsVersion``). Adding an optional key is not:
readers must accept facts saved before it (without the key).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from mlops_infra import catalog
from mlops_infra.compile import drift_job
from mlops_infra.ml.memory import Fit
from mlops_infra.spec.alerting import Alert
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.data import DataSource
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor
from mlops_infra.spec.registry import Model
from mlops_infra.spec.serving import Endpoint
from mlops_infra.spec.training import TrainingJob

FACTS_VERSION = 1
Target = Literal["aws", "kubernetes"]
TARGET_KEYS = ("instanceType", "jobInstanceType")
"""The only keys whose values depend on the target (see the module contract); every other key of an
item's facts is the same on AWS and Kubernetes."""


def memory_facts(fit: Fit | None) -> dict[str, Any]:
    """``gpuMemory`` of an endpoint replica or a training run when the model's size is known
    (``spec/fit.py``): GiB needed on the busiest GPU (or CPU instance), its capacity and the
    sentence the plan shows ("13.9 of 24 GiB per GPU"). Optional: absent when unknown."""
    if fit is None:
        return {}
    return {"gpuMemory": {"usedGiB": round(fit.used_gib, 1), "capacityGiB": fit.gpu_gib, "device": fit.device,
                          "gpus": fit.gpus, "fits": fit.fits, "text": fit.utilisation}}


def _shape(accelerator, instance_type: str | None, use: catalog.Use, target: Target) -> dict[str, Any]:
    """instanceType (see the module contract), gpuType and gpus for an accelerator or instance type.
    The dict is shared by every item of the same shape: callers copy it (``**_shape(...)``)."""
    if accelerator is not None:
        return _accelerator_shape(accelerator.type, accelerator.count, use, target)
    return _instance_shape(instance_type or None, target)


@cache
def _accelerator_shape(gpu_type: str, count: int, use: catalog.Use, target: Target) -> dict[str, Any]:
    if target == "kubernetes":
        instance = catalog.ACCELERATOR_SHAPES.get(gpu_type, {}).get(count)
    else:
        instance = catalog.instance_for(gpu_type, count, use)
    return {"instanceType": instance, "gpuType": gpu_type, "gpus": count}


@cache
def _instance_shape(instance_type: str | None, target: Target) -> dict[str, Any]:
    if instance_type:
        gpu_type, gpus = catalog.gpus_of(instance_type)
        return {"instanceType": instance_name(instance_type, target), "gpuType": gpu_type, "gpus": gpus}
    return {"instanceType": None if target == "kubernetes" else "ml.m5.xlarge", "gpuType": None, "gpus": 0}


def instance_name(instance: str, target: Target) -> str:
    """``instance`` as the target names it: ``ml.`` SageMaker type on AWS, EC2 shape on Kubernetes."""
    return catalog.ec2_name(instance) if target == "kubernetes" else catalog.sagemaker_name(instance)


def data_source_facts(item: DataSource) -> dict[str, Any]:
    return {"factsVersion": FACTS_VERSION, "kind": "data_source", "name": item.name, "encryption": item.encryption,
            "versioning": item.versioning,
            "retentionDays": item.retention.seconds // 86400 if item.retention else None}


def cluster_facts(item: Cluster, target: Target = "aws") -> dict[str, Any]:
    """A cluster. ``borrowing`` (``{cohort, maxNodes}``, maxNodes None: no limit) is optional, present
    only when the spec gives one (the same on both targets; Kubernetes acts on it:
    ``compile/kubernetes/queues.py``); the ``max_gpus`` guardrail reads it."""
    borrowing = item.borrowing
    return {"factsVersion": FACTS_VERSION, "kind": "cluster", "name": item.name,
            **_shape(item.accelerator, item.instance_type, "training", target),
            "minNodes": item.nodes.min, "maxNodes": item.nodes.max, "spot": item.spot,
            "maxHourlyCostUsd": item.max_hourly_cost_usd,
            **({"borrowing": {"cohort": borrowing.cohort, "maxNodes": borrowing.max_nodes}} if borrowing else {})}


def training_job_facts(item: TrainingJob, cluster: Cluster, target: Target = "aws", *, image: str | None = None,
                       fit: Fit | None = None) -> dict[str, Any]:
    """A training job; ``image`` is the image resolved for the environment (the job's own by
    default), ``fit`` its memory per GPU when known (:func:`memory_facts`)."""
    return {"factsVersion": FACTS_VERSION, "kind": "training_job", "name": item.name, "cluster": cluster.name,
            **_shape(cluster.accelerator, cluster.instance_type, "training", target), "nodes": item.nodes,
            "spot": cluster.spot, "image": image or item.image,
            "maxRuntimeSeconds": item.max_runtime.seconds if item.max_runtime else None,
            "schedule": str(item.triggers.schedule) if item.triggers.schedule else None,
            "onAlerts": list(item.triggers.on_alerts), "registers": item.registers, **memory_facts(fit)}


def model_facts(item: Model, serving_image: str | None = None) -> dict[str, Any]:
    """A model; ``servingImage`` (optional) when the model names or resolves one (spec/containers.py)."""
    out = {"factsVersion": FACTS_VERSION, "kind": "model", "name": item.name, "framework": item.framework,
           "approval": item.approval}
    if serving_image:
        out["servingImage"] = serving_image
    return out


def endpoint_facts(item: Endpoint, target: Target = "aws", *, fit: Fit | None = None) -> dict[str, Any]:
    """An endpoint. ``autoscaling`` is ``{metric, target}``, or False: the endpoint runs at
    ``minReplicas`` fixed, ``maxReplicas`` is unused. Never None: the Pulumi Python SDK drops every
    top-level property whose value is None from a resource's props and from ``register_outputs``
    (``pulumi/runtime/rpc.py`` ``serialize_properties``: "We treat properties that serialize to None
    as if they don't exist"), so a None would reach the state and the CrossGuard pack as no key at all,
    which readers take for facts saved before the key (:func:`mlops_infra.policy.facts.settle_prior`).
    Facts saved before this release lack the key for such endpoints (the SDK dropped their None), as do
    facts saved before the key existed. The other top-level Nones below mean the same absent or None
    (every reader uses ``.get``). ``fit`` is one replica's memory when the model's size is known
    (:func:`memory_facts`)."""
    rollout = item.rollout
    scaling = item.autoscaling
    return {"factsVersion": FACTS_VERSION, "kind": "endpoint", "name": item.name, "model": item.model.name,
            "modelVersion": item.model.version, **_shape(item.accelerator, item.instance_type, "inference", target),
            "minReplicas": item.replicas.min, "maxReplicas": item.replicas.max,
            "autoscaling": {"metric": scaling.metric, "target": scaling.target} if scaling else False,
            "rollout": {"strategy": rollout.strategy, "steps": list(rollout.steps),
                        "bakeSeconds": rollout.bake.seconds if rollout.bake else None,
                        "rollbackOn": list(rollout.rollback_on)},
            "capturePercent": item.capture.sample_percent if item.capture else None, **memory_facts(fit)}


def endpoint_instance(item: Endpoint, target: Target = "aws") -> str | None:
    """``endpoint_facts(item, target)["instanceType"]``, without making the rest of the facts."""
    return _shape(item.accelerator, item.instance_type, "inference", target)["instanceType"]


def monitor_facts(item: Monitor, target: Target = "aws") -> dict[str, Any]:
    """A monitor; drift/quality metrics add their scheduled job (``compile/drift_job.py``):
    ``jobInstanceType``, ``jobScheduleSeconds`` (the schedule in effect, 1h when unset) and
    ``jobMaxRuntimeSeconds``. These keys are optional: facts saved before them lack them."""
    out = {"factsVersion": FACTS_VERSION, "kind": "monitor", "name": item.name, "endpoint": item.endpoint,
           "metric": item.metric, "threshold": item.threshold.text,
           "scheduleSeconds": item.schedule.seconds if item.schedule else None}
    if item.metric in DRIFT_METRICS:
        out["jobInstanceType"] = _job_instance(target)
        out["jobScheduleSeconds"] = drift_job.schedule_seconds(item)
        out["jobMaxRuntimeSeconds"] = drift_job.max_runtime_seconds(item)
    return out


@cache
def _job_instance(target: Target) -> str:
    """The drift job's instance as ``target`` names it."""
    return instance_name(drift_job.INSTANCE_TYPE, target)


def alert_facts(item: Alert) -> dict[str, Any]:
    return {"factsVersion": FACTS_VERSION, "kind": "alert", "name": item.name, "monitor": item.monitor,
            "severity": item.severity, "forSeconds": item.for_.seconds, "notify": list(item.notify)}


def channel_facts(item) -> dict[str, Any]:
    return {"factsVersion": FACTS_VERSION, "kind": "channel", "name": item.name, "channelKind": item.kind}
