"""NVIDIA L40S (AWS g6e, ``ml.g6e.*``) is an accepted accelerator type (audit pricing45-3, second half): the
package's own botocore enums and hardware table know ``ml.g6e.*``, yet ``accelerator: {type: L40S}`` was refused
as an unknown GPU. Validate accepts 1, 4 and 8 per instance, refuses another count naming those shapes, AWS compiles
to ``ml.g6e.<size>``, Kubernetes selects GPU Feature Discovery's ``NVIDIA-L40S`` nodes, and the fit checks know its
48 GiB and compute capability 8.9 (bf16 and fp8 weights)."""

from __future__ import annotations

import json

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.gpu import GPU_PRODUCT_LABELS
from mlops_infra.spec import parse_system
from mlops_infra.spec.fit import COMPUTE_CAPABILITY, gpu_runs_dtype

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOCUMENT = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: l40s, owner: a@example.com}
models:
  - {name: m, framework: pytorch, approval: automatic, artifacts_uri: "s3://l40s-models/m/"}
endpoints:
  - name: llm
    model: {name: m, version: 1}
    accelerator: {type: L40S, count: COUNT}
    replicas: {min: 1, max: 1}
    rollout: {strategy: all_at_once}
environments:
  staging:
    target: {kind: aws, region: us-east-1, account: "111111111111"}
  dev:
    target: {kind: kubernetes, context: dev-cluster, namespace: l40s-dev}
"""

SHAPES = {1: "ml.g6e.xlarge", 4: "ml.g6e.12xlarge", 8: "ml.g6e.48xlarge"}


def document(count: int) -> str:
    return DOCUMENT.replace("COUNT", str(count))


def test_the_catalog_offers_l40s_on_g6e_for_every_use() -> None:
    assert catalog.counts_for("L40S") == [1, 4, 8]
    for count, instance in SHAPES.items():
        assert catalog.counts(instance) == catalog.Counts(vcpus=catalog.counts(instance).vcpus, gpus=count)
        for use in ("inference", "training", "processing"):
            assert catalog.instance_for("L40S", count, use) == instance
    assert catalog.gpus_of("ml.g6e.12xlarge") == ("L40S", 4)
    assert catalog.GPU_MEMORY_GIB["L40S"] == 48


def test_every_g6e_in_the_hardware_table_has_an_offered_gpu_count() -> None:
    table = json.loads((catalog.DATA / "sagemaker_hardware.json").read_text())["types"]
    g6e = {name: row["gpus"] for name, row in table.items() if catalog.instance_family(name) == "g6e"}
    assert len(g6e) == 8
    assert set(g6e.values()) == set(catalog.counts_for("L40S"))


@pytest.mark.parametrize("count", sorted(SHAPES))
def test_validate_accepts_l40s(count: int) -> None:
    loaded = parse_system(document(count), "l40s.yaml", "staging")
    assert loaded.ok, [(d.summary, d.detail) for d in loaded.diagnostics if d.is_error]


def test_validate_refuses_two_l40s_naming_the_shapes_that_exist() -> None:
    loaded = parse_system(document(2), "l40s.yaml", "staging")
    errors = [d for d in loaded.diagnostics if d.is_error]
    assert [d.summary for d in errors] == ["No AWS instance has 2 x L40S"]
    for count, instance in SHAPES.items():
        assert f"{count} ({catalog.ec2_name(instance)})" in errors[0].detail


@pytest.mark.parametrize("count", sorted(SHAPES))
def test_aws_compiles_to_the_g6e_shape(count: int) -> None:
    loaded = parse_system(document(count), "l40s.yaml", "staging")
    graph = compile_system(loaded.system, "staging")
    facts = {r.address: r.inputs for r in graph.resources if not r.custom}
    assert facts["endpoints.llm"]["instanceType"] == SHAPES[count]
    configs = [r for r in graph.resources if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"]
    assert [c.inputs["productionVariants"][0]["instanceType"] for c in configs] == [SHAPES[count]]


def test_kubernetes_selects_gpu_feature_discovery_l40s_nodes() -> None:
    assert GPU_PRODUCT_LABELS["L40S"] == "NVIDIA-L40S"
    loaded = parse_system(document(4), "l40s.yaml", "dev")
    graph = compile_system(loaded.system, "dev")
    services = [r.inputs for r in graph.resources if r.custom and r.inputs.get("kind") == "InferenceService"]
    assert len(services) == 1
    predictor = services[0]["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L40S"}
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "4"


def test_l40s_serves_bf16_and_fp8_weights() -> None:
    assert COMPUTE_CAPABILITY["L40S"] == 8.9
    assert gpu_runs_dtype("L40S", "bf16") and gpu_runs_dtype("L40S", "fp8")
