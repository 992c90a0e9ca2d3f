"""gpu-metric-without-gpu and scale-to-zero (audits autoscale-4, autoscale-5; spec/autoscaling_metrics.py says
why). The reference's scorer runs on an A10G in every environment (dev is Kubernetes, staging and prod AWS) and
scales on invocations_per_replica from 2 replicas."""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.autoscaling_metrics import has_gpu
from tests.support.kube_cases import by_kind, compile_text
from tests.support.text_edits import edit

SCALING = "    autoscaling: {metric: invocations_per_replica, target: 50}\n"
ACCELERATOR = "    accelerator: {type: A10G, count: 1}\n"
REPLICAS = "      endpoints.scorer.replicas: {min: 1, max: 2}\n"
"""dev's override (Kubernetes); staging (AWS) keeps the base's {min: 2, max: 10}, prod overrides it"""


def _found(text: str, code: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == code]


def _cpu(text: str, instance_type: str = "ml.m5.xlarge") -> str:
    return edit(text, ACCELERATOR, f"    instance_type: {instance_type}\n")


def _gpu_metric(text: str) -> str:
    return edit(text, SCALING, "    autoscaling: {metric: gpu_utilization, target: 60}\n")


def test_the_reference_has_neither(reference_text: str) -> None:
    assert _found(reference_text, "gpu-metric-without-gpu") == _found(reference_text, "scale-to-zero") == []
    assert _found(_gpu_metric(reference_text), "gpu-metric-without-gpu") == []  # an A10G: fine


@pytest.mark.parametrize("instance_type", ["ml.m5.xlarge", "ml.c5.2xlarge", "ml.inf2.xlarge", "ml.r7i.large"])
def test_gpu_utilization_on_a_cpu_endpoint_is_an_error_at_its_autoscaling(reference_text: str,
                                                                          instance_type: str) -> None:
    [d] = _found(_gpu_metric(_cpu(reference_text, instance_type)), "gpu-metric-without-gpu")
    assert d.severity == "error" and d.path == ("endpoints", 0, "autoscaling")
    assert instance_type in d.summary and "cpu_utilization or invocations_per_replica" in d.detail


@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.g6e.12xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge"])
def test_gpu_instance_types_may_scale_on_gpu_utilization(reference_text: str, instance_type: str) -> None:
    assert _found(_gpu_metric(_cpu(reference_text, instance_type)), "gpu-metric-without-gpu") == []


def test_has_gpu_reads_the_catalog_before_the_family(reference_text: str) -> None:
    """By the catalog's counts (EC2 DescribeInstanceTypes, 6bb527d), before the family letter."""
    from mlops_infra import catalog

    assert catalog.counts("ml.m5.xlarge").gpus == 0 and catalog.counts("ml.g5.xlarge").gpus == 1
    endpoint = parse_system(_cpu(reference_text, "ml.c5.2xlarge")).system.endpoints[0]
    assert not has_gpu(endpoint)
    endpoint = parse_system(_cpu(reference_text, "ml.g5.2xlarge")).system.endpoints[0]
    assert has_gpu(endpoint)


def test_min_zero_scales_to_zero_on_kubernetes_only(reference_text: str) -> None:
    text = edit(reference_text, REPLICAS, "      endpoints.scorer.replicas: {min: 0, max: 2}\n")
    [d] = _found(text, "scale-to-zero")  # dev only: staging and prod are AWS, where one instance stays
    assert d.severity == "warning" and d.address == "endpoints.scorer"
    assert "in dev" in d.summary and "300 s" in d.detail and "GPU node" in d.detail  # the scorer has an A10G
    [isvc] = [o for o in by_kind(compile_text(text, "dev"), "InferenceService") if o["metadata"]["name"] == "scorer"]
    assert isvc["spec"]["predictor"]["minReplicas"] == 0  # what the warning speaks of


def test_cpu_scaling_keeps_one_replica_and_is_not_warned(reference_text: str) -> None:
    text = edit(edit(reference_text, REPLICAS, "      endpoints.scorer.replicas: {min: 0, max: 2}\n"), SCALING,
                "    autoscaling: {metric: cpu_utilization, target: 60}\n")
    assert _found(text, "scale-to-zero") == []
    [isvc] = [o for o in by_kind(compile_text(text, "dev"), "InferenceService") if o["metadata"]["name"] == "scorer"]
    assert isvc["spec"]["predictor"]["minReplicas"] == 1  # Knative's HPA class keeps one


def test_has_gpu_of_an_accelerator_endpoint(reference_text: str) -> None:
    assert has_gpu(parse_system(reference_text).system.endpoints[0])
