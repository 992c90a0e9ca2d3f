"""Every node the catalog picks for an accelerator has its vCPUs and memory in ``instances.csv`` (audit closing-45c-1).

Without them a Kubernetes pod falls back to 4 CPUs and 16 GiB per GPU (``compile/kubernetes/gpu.py``
``NodeShape.pod_requests``): a whole g6e.xlarge (4 vCPUs) for one L40S, so with the kubelet's reservations and
Knative's queue-proxy the pod never schedules. The rows sourced from moto's snapshot of EC2 ``DescribeInstanceTypes``
(``VCpuInfo.DefaultVCpus``, ``MemoryInfo.SizeInMiB``, ``GpuInfo.Gpus[].Count``) are checked against it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.catalog import refresh
from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system

REPO = Path(__file__).resolve().parents[2]
MOTO = "https://github.com/getmoto/moto/"


@pytest.mark.parametrize("gpu_type,count,instance", sorted(
    (gpu_type, count, instance) for gpu_type, shapes in catalog.ACCELERATOR_SHAPES.items()
    for count, instance in shapes.items()))
def test_every_accelerator_shape_has_its_node_hardware(gpu_type: str, count: int, instance: str) -> None:
    hw = catalog.hardware(instance)
    assert hw is not None and hw.vcpus and hw.memory_gib, f"{gpu_type} x{count}: {instance} has no instances.csv row"


def test_the_rows_taken_from_moto_agree_with_its_snapshot() -> None:
    pytest.importorskip("moto")
    ec2 = refresh.ec2_snapshot()
    with (catalog.DATA / "instances.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["spec_source_url"].startswith(MOTO)]
    assert {row["instance_type"] for row in rows} >= {"g6e.xlarge", "g6e.48xlarge", "p5.4xlarge"}
    for row in rows:
        facts = ec2[row["instance_type"]]
        gpus = sum(gpu["Count"] for gpu in facts["GpuInfo"]["Gpus"])
        assert (int(row["vcpus"]), int(row["memory_gib"]), int(row["gpu_count"])) == (
            facts["VCpuInfo"]["DefaultVCpus"], facts["MemoryInfo"]["SizeInMiB"] // 1024, gpus), row


def test_one_l40s_endpoint_pod_fits_its_g6e_xlarge_node() -> None:
    system = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "dev").system
    endpoint = system.endpoints[0]
    one = endpoint.model_copy(update={"accelerator": endpoint.accelerator.model_copy(update={"type": "L40S",
                                                                                             "count": 1})})
    graph = compile_system(system.model_copy(update={"endpoints": [one]}), "dev")
    (service,) = [r.inputs for r in graph.resources if isinstance(r.inputs, dict)
                  and r.inputs.get("kind") == "InferenceService"]
    predictor = service["spec"]["predictor"]
    container = predictor.get("model") or predictor["containers"][0]
    requests = container["resources"]["requests"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L40S"}
    assert int(requests["cpu"]) < 4 and int(requests["memory"].removesuffix("Gi")) < 32, requests


def test_every_gpu_row_names_a_gpu_type_the_spec_accepts() -> None:
    """The row's ``gpu_model`` must be a :data:`catalog.GPU_TYPES` value, or the instance's GPU type reads None: p4d's
    "NVIDIA A100" did, so an explicit ``instance_type: p4d.24xlarge`` had GPUs of no known type."""
    with (catalog.DATA / "instances.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["gpu_model"]]
    for row in rows:
        gpu_type, count = catalog.gpus_of(row["instance_type"])
        assert gpu_type is not None and catalog.GPU_TYPES[gpu_type] == row["gpu_model"], row
        assert count == int(row["gpu_count"]), row
