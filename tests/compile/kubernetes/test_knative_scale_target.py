"""Knative holds the declared autoscaling target, not 70% of it (audit spec-2).

Knative's autoscaler aims at ``total x tu``: ``total`` is the ``autoscaling.knative.dev/target`` annotation KServe
writes from ``scaleTarget``, ``tu`` the revision's ``autoscaling.knative.dev/target-utilization-percentage`` / 100,
else 0.7 for both rps and concurrency (knative/serving ``pkg/reconciler/autoscaling/resources/target.go``
``ResolveMetricTarget``; ``pkg/autoscaler/config/config.go`` ``defaultTargetUtilization``); the annotation must be
in [1, 100] (``pkg/apis/autoscaling/annotation_validation.go``). :func:`knative_target` is that formula, applied to
the compiled InferenceService (KServe copies its annotations to the revision template).
"""

from __future__ import annotations

import pytest

from tests.support.kube_cases import REFERENCE, by_kind, compile_text

REFERENCE_SCALING = "autoscaling: {metric: invocations_per_replica, target: 50}"
KNATIVE_DEFAULT_UTILIZATION = 0.7
TARGET_MIN = 0.01  # knative/serving pkg/apis/autoscaling register.go TargetMin


def scorer(scaling: str) -> dict:
    text = REFERENCE.read_text()
    assert REFERENCE_SCALING in text
    graph = compile_text(text.replace(REFERENCE_SCALING, f"autoscaling: {scaling}"), "dev")
    [isvc] = [o for o in by_kind(graph, "InferenceService") if o["metadata"]["name"] == "scorer"]
    return isvc


def knative_target(isvc: dict) -> tuple[str, float]:
    """(metric, what one replica is held at): per second for rps, in flight for concurrency."""
    predictor, annotations = isvc["spec"]["predictor"], isvc["metadata"]["annotations"]
    utilization = annotations.get("autoscaling.knative.dev/target-utilization-percentage")
    if utilization is not None:
        assert 1 <= float(utilization) <= 100  # else Knative's webhook refuses the revision
    tu = float(utilization) / 100 if utilization is not None else KNATIVE_DEFAULT_UTILIZATION
    return predictor["scaleMetric"], max(TARGET_MIN, predictor["scaleTarget"] * tu)


@pytest.mark.parametrize("per_minute", [50, 60, 61, 100, 90.5, 6000, 1])
def test_invocations_per_replica_is_held_at_the_declared_rate(per_minute: float) -> None:
    metric, per_second = knative_target(scorer(f"{{metric: invocations_per_replica, target: {per_minute}}}"))
    assert metric == "rps"
    assert per_second * 60 == pytest.approx(per_minute, rel=1e-5)  # was 42/min for 50, 84/min for 61


@pytest.mark.parametrize("in_flight", [4, 2.5, 1, 0.5])
def test_concurrency_is_held_at_the_declared_level(in_flight: float) -> None:
    metric, held = knative_target(scorer(f"{{metric: concurrency, target: {in_flight}}}"))
    assert metric == "concurrency"
    assert held == pytest.approx(in_flight, rel=1e-5)  # was 0.7 x the declared level


def test_below_what_knative_can_aim_at_the_least_it_can() -> None:
    isvc = scorer("{metric: invocations_per_replica, target: 0.3}")
    assert isvc["metadata"]["annotations"]["autoscaling.knative.dev/target-utilization-percentage"] == "1"
    assert knative_target(isvc)[1] * 60 == pytest.approx(0.6)


def test_cpu_and_no_autoscaling_carry_no_utilization() -> None:
    for scaling in ("{metric: cpu_utilization, target: 70}", "{metric: gpu_utilization, target: 70}"):
        assert "autoscaling.knative.dev/target-utilization-percentage" not in scorer(scaling)["metadata"]["annotations"]
