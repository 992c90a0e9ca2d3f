"""Instance and accelerator facts, and prices, shipped with the package with their sources.

Sources (see ``data/``):
- ``instances.csv`` and ``gpu_models.csv``: the offline AWS catalog collected 2026-11-21 (prices
  from FMBench, the AWS Price List, vantage-derived data and infracost, each row with its URL and
  date; empty price = no trustworthy source, never guessed).
- ``sagemaker_instance_types.json``: botocore's SageMaker enums (which instance types exist per use).
- ``ACCELERATOR_SHAPES`` below: GPUs per instance for the GPU families, from the AWS instance-type
  documentation; these say which (GPU type, count) pairs exist on AWS.

Contract: pure lookups, loaded once, no network. Prices are us-east-1 on-demand; other regions
use them with ``Price.region_note`` saying so.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

DATA = Path(__file__).parent / "data"
Use = Literal["inference", "training", "processing"]

GPU_TYPES: dict[str, str] = {
    "T4": "NVIDIA T4",
    "A10G": "NVIDIA A10G",
    "L4": "NVIDIA L4",
    "V100": "NVIDIA V100",
    "A100": "NVIDIA A100 (40GB)",
    "A100-80GB": "NVIDIA A100 (80GB)",
    "H100": "NVIDIA H100",
}
"""Accelerator type names accepted in the spec, with the GPU model they mean."""

ACCELERATOR_SHAPES: dict[str, dict[int, str]] = {
    # GPU type -> GPUs per instance -> the smallest instance with exactly that many.
    "T4": {1: "g4dn.xlarge", 4: "g4dn.12xlarge"},
    "A10G": {1: "g5.xlarge", 4: "g5.12xlarge", 8: "g5.48xlarge"},
    "L4": {1: "g6.xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge"},
    "V100": {1: "p3.2xlarge", 4: "p3.8xlarge", 8: "p3.16xlarge"},
    "A100": {8: "p4d.24xlarge"},
    "A100-80GB": {8: "p4de.24xlarge"},
    "H100": {8: "p5.48xlarge"},
}
"""Which accelerator counts exist on AWS, and the instance family member that provides them."""

GPU_MEMORY_GIB: dict[str, int] = {"T4": 16, "A10G": 24, "L4": 24, "V100": 16, "A100": 40, "A100-80GB": 80, "H100": 80}


@dataclass(frozen=True, slots=True)
class InstanceType:
    """Hardware of one instance type (``ml.`` prefix for SageMaker)."""

    name: str
    vcpus: int | None
    memory_gib: float | None
    gpu_type: str | None
    gpu_count: int


@dataclass(frozen=True, slots=True)
class Price:
    """An hourly on-demand price with where it came from."""

    usd_per_hour: float
    source_url: str
    source_date: str
    region: str
    region_note: str = ""


def sagemaker_name(instance: str) -> str:
    """``g5.xlarge`` -> ``ml.g5.xlarge`` (idempotent)."""
    return instance if instance.startswith("ml.") else f"ml.{instance}"


def ec2_name(instance: str) -> str:
    """``ml.g5.xlarge`` -> ``g5.xlarge`` (idempotent)."""
    return instance[3:] if instance.startswith("ml.") else instance


@cache
def _rows() -> list[dict[str, str]]:
    with (DATA / "instances.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def sagemaker_instance_types() -> dict[str, frozenset[str]]:
    """Instance types SageMaker accepts, per use (botocore snapshot)."""
    data = json.loads((DATA / "sagemaker_instance_types.json").read_text())
    return {use: frozenset(data[use]) for use in ("inference", "training", "processing")}


def is_sagemaker_instance(instance: str, use: Use) -> bool:
    """Whether SageMaker accepts ``instance`` (with its ml. prefix) for ``use``."""
    return instance in sagemaker_instance_types()[use]


def instance_for(gpu_type: str, count: int, use: Use = "inference") -> str | None:
    """The SageMaker instance type that gives ``count`` GPUs of ``gpu_type``, or None."""
    shape = ACCELERATOR_SHAPES.get(gpu_type, {}).get(count)
    if shape is None:
        return None
    name = sagemaker_name(shape)
    return name if is_sagemaker_instance(name, use) else None


def counts_for(gpu_type: str) -> list[int]:
    """GPU counts per instance that exist on AWS for ``gpu_type``."""
    return sorted(ACCELERATOR_SHAPES.get(gpu_type, {}))


@cache
def _hardware() -> dict[str, InstanceType]:
    by_shape: dict[str, InstanceType] = {}
    for row in _rows():
        shape = ec2_name(row["instance_type"])
        gpu_model = row["gpu_model"] or None
        gpu_type = next((k for k, v in GPU_TYPES.items() if v == gpu_model), None) if gpu_model else None
        by_shape[shape] = InstanceType(shape, int(row["vcpus"]) if row["vcpus"] else None,
                                       float(row["memory_gib"]) if row["memory_gib"] else None,
                                       gpu_type, int(row["gpu_count"] or 0))
    for gpu_type, shapes in ACCELERATOR_SHAPES.items():
        for count, shape in shapes.items():
            by_shape.setdefault(shape, InstanceType(shape, None, None, gpu_type, count))
    return by_shape


def hardware(instance: str) -> InstanceType | None:
    """Hardware facts of ``instance`` (with or without ``ml.``), or None when unknown."""
    return _hardware().get(ec2_name(instance))


def gpus_of(instance: str) -> tuple[str | None, int]:
    """(GPU type, GPU count) of an instance type; (None, 0) for CPU-only or unknown shapes."""
    hw = hardware(instance)
    return (hw.gpu_type, hw.gpu_count) if hw else (None, 0)


_SERVICE = {"inference": "sagemaker-inference", "training": "sagemaker-training", "processing": "sagemaker-training"}


@cache
def _prices() -> dict[tuple[str, str], Price]:
    prices: dict[tuple[str, str], Price] = {}
    for row in _rows():
        if row["usd_per_hour_on_demand"]:
            prices[(row["service"], row["instance_type"])] = Price(
                float(row["usd_per_hour_on_demand"]), row["source_url"].split(" ; ")[0],
                row["source_date"], row["region"])
    return prices


def price(instance: str, use: Use = "inference", region: str = "us-east-1") -> Price | None:
    """Hourly on-demand price of a SageMaker instance for ``use``; None when no source has it.

    Training prices are known for few types; when missing, the SageMaker inference price of the
    same type is used (they are equal for on-demand ml instances in the published price lists we
    hold) and the note says so.
    """
    name = sagemaker_name(instance)
    found = _prices().get((_SERVICE[use], name))
    note = ""
    if found is None and use != "inference":
        found = _prices().get(("sagemaker-inference", name))
        note = "inference price used for training"
    if found is None:
        return None
    if region != found.region:
        note = "; ".join(filter(None, [note, f"{found.region} price used for {region}"]))
    return Price(found.usd_per_hour, found.source_url, found.source_date, found.region, note)


def ec2_price(instance: str) -> Price | None:
    """Hourly on-demand EC2 price (Kubernetes GPU nodes), or None."""
    return _prices().get(("ec2", ec2_name(instance)))
