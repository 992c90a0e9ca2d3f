"""Every (GPU type, count) the catalog offers is an instance its own data knows, and every single-GPU SageMaker
type of an accepted GPU model in its hardware table is offered (audit pricing45-3: ``ml.p5.4xlarge``, 1 x H100,
was in the botocore enums, the hardware table and the price list, but not in ``ACCELERATOR_SHAPES``, so validate
said "H100 GPUs come 8 per instance" and steered to the 8-GPU p5.48xlarge)."""

from __future__ import annotations

import json

from mlops_infra import catalog
from mlops_infra.spec import parse_system

H100_ENDPOINT = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: h100, owner: a@example.com}
models:
  - {name: m, framework: pytorch, approval: automatic, artifacts_uri: "s3://h100-models/m/"}
endpoints:
  - name: llm
    model: {name: m, version: 1}
    accelerator: {type: H100, count: 1}
    replicas: {min: 1, max: 1}
    rollout: {strategy: all_at_once}
environments:
  staging:
    target: {kind: aws, region: us-east-1, account: "111111111111"}
"""


def test_one_h100_is_a_p5_4xlarge_for_every_use() -> None:
    assert catalog.counts("ml.p5.4xlarge") == catalog.Counts(vcpus=16, gpus=1)
    for use in ("inference", "training", "processing"):
        assert catalog.instance_for("H100", 1, use) == "ml.p5.4xlarge"
    assert catalog.counts_for("H100") == [1, 8]
    assert catalog.ec2_price("p5.4xlarge", "us-east-1") is not None


def test_validate_accepts_one_h100() -> None:
    diagnostics = parse_system(H100_ENDPOINT).diagnostics
    assert not [d for d in diagnostics if "H100" in d.summary], [d.summary for d in diagnostics]


def test_every_shape_matches_the_hardware_table() -> None:
    table = json.loads((catalog.DATA / "sagemaker_hardware.json").read_text())["types"]
    for gpu_type, shapes in catalog.ACCELERATOR_SHAPES.items():
        for count, shape in shapes.items():
            row = table.get(catalog.sagemaker_name(shape))
            assert row is None or row["gpus"] == count, (gpu_type, count, shape)
