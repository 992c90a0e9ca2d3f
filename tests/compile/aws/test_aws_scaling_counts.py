"""Audit autoscale-3: CPU/GPU utilization targets are multiplied by the instance's vCPU/GPU count for every
SageMaker type (CPUUtilization/GPUUtilization are summed over them: monitoring-cloudwatch.html), not only the 16
types instances.csv lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compile.aws.cases import compile_text, one
from tests.support.text_edits import edit

QUICKSTART = Path(__file__).parents[3] / "examples" / "quickstart" / "mlsystem.yaml"
INSTANCE = "    instance_type: ml.m5.xlarge     # a CPU instance: no accelerator\n"
SCALING = "    autoscaling: {metric: cpu_utilization, target: 60}\n"
POLICY = "aws:appautoscaling/policy:Policy"


def _target(text: str) -> dict:
    policy = one(compile_text(text, "prod"), POLICY, "endpoints.churn-api").inputs
    return policy["targetTrackingScalingPolicyConfiguration"]


@pytest.mark.parametrize(("instance", "expected"), [("ml.m5.xlarge", 240.0), ("ml.c5.2xlarge", 480.0),
                                                    ("ml.m5.2xlarge", 480.0), ("ml.c6i.32xlarge", 7680.0)])
def test_cpu_utilization_target_is_per_vcpu_on_every_type(instance: str, expected: float) -> None:
    config = _target(edit(QUICKSTART.read_text(), INSTANCE, f"    instance_type: {instance}\n"))
    assert config["customizedMetricSpecification"]["metricName"] == "CPUUtilization"
    assert config["targetValue"] == expected


def test_gpu_utilization_target_is_per_gpu_on_a_type_outside_instances_csv() -> None:
    text = edit(edit(QUICKSTART.read_text(), INSTANCE, "    instance_type: ml.g6e.12xlarge\n"), SCALING,
                "    autoscaling: {metric: gpu_utilization, target: 70}\n")
    config = _target(text)
    assert config["customizedMetricSpecification"]["metricName"] == "GPUUtilization"
    assert config["targetValue"] == 280.0  # 4 x L40S
