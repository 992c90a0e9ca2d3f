"""Cost estimate: numbers recomputed by hand from the catalog's sourced prices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.plan.cost import estimate_cost, scheduled_runs
from mlops_infra.plan.model import CostEstimate
from mlops_infra.spec import load_system
from tests.plan.test_ml import cluster, endpoint, facts, graph_of, job, prior_of

HOURS = 730
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def estimate(before: list, after: list, *, metadata: dict[str, Any] | None = None) -> CostEstimate:
    graph = graph_of(*after)
    graph = DesiredGraph(graph.project, graph.stack, graph.resources, {}, metadata or {"cloud": "aws",
                                                                                    "region": "us-east-1"})
    return estimate_cost(graph, prior_of(*before))


def line(result: CostEstimate, address: str):
    return next(item for item in result.lines if item.address == address)


def test_endpoint_is_replicas_times_the_sagemaker_price() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    assert hourly == 1.4084
    result = estimate([endpoint(minReplicas=2, maxReplicas=10)], [endpoint(minReplicas=3, maxReplicas=20)])
    scorer = line(result, "endpoints.scorer")
    assert scorer.before_min_usd == round(2 * hourly * HOURS, 2) and scorer.before_usd == round(10 * hourly * HOURS, 2)
    assert scorer.after_min_usd == round(3 * hourly * HOURS, 2) and scorer.after_usd == round(20 * hourly * HOURS, 2)
    assert scorer.basis == "2-10 replicas x ml.g5.xlarge @ $1.4084/h -> 3-20 replicas x ml.g5.xlarge @ $1.4084/h"
    assert result.before.min_usd == scorer.before_min_usd and result.after.max_usd == scorer.after_usd
    assert result.to_json()["delta"] == {  # from the rounded amounts, so the JSON adds up to the cent
        "minUsd": round(round(3 * hourly * HOURS, 2) - round(2 * hourly * HOURS, 2), 2),
        "maxUsd": round(round(20 * hourly * HOURS, 2) - round(10 * hourly * HOURS, 2), 2)}
    assert result.sources == (
        "price source: https://github.com/aws-samples/foundation-model-benchmarking-tool/blob/"
        "d8814208fb3a9b6f0aa7e986e868ea3759d801ce/fmbench/configs/pricing.yml (2025-01-26)",)
    assert result.rollout_extra_usd == 0  # same model version: no rollout starts


def test_a_region_without_a_price_is_not_counted_never_another_regions_price() -> None:
    assert catalog.price("ml.g5.xlarge", "inference", "us-east-1") is not None
    assert catalog.price("ml.g5.xlarge", "inference", "eu-west-1") is None
    result = estimate([], [endpoint()], metadata={"cloud": "aws", "region": "eu-west-1"})
    assert result.lines == () and result.after.max_usd == 0
    assert result.not_counted == ("endpoints.scorer",) and result.to_json()["notCounted"] == ["endpoints.scorer"]
    assert result.notes == (
        "endpoints.scorer: no eu-west-1 price for ml.g5.xlarge (SageMaker hosting) in the price catalog: not counted",
        "missing prices: `mlops-infra catalog refresh --regions eu-west-1` with AWS credentials adds them "
        "(docs/prices.md)")


def test_each_region_uses_its_own_price() -> None:
    big = {"instanceType": "ml.g5.12xlarge", "gpus": 4, "minReplicas": 1, "maxReplicas": 1}
    east = line(estimate([], [endpoint(**big)]), "endpoints.scorer")
    west = line(estimate([], [endpoint(**big)], metadata={"cloud": "aws", "region": "eu-west-1"}), "endpoints.scorer")
    assert (east.after_usd, west.after_usd) == (round(7.09 * HOURS, 2), round(7.91 * HOURS, 2))
    assert east.note == west.note == ""


def test_kubernetes_endpoints_and_clusters_use_ec2_node_prices() -> None:
    node = catalog.ec2_price("g5.xlarge").usd_per_hour
    big = catalog.ec2_price("g5.12xlarge").usd_per_hour
    result = estimate([], [endpoint(minReplicas=1, maxReplicas=2), cluster(minNodes=0, maxNodes=1), job()],
                      metadata={"cloud": "kubernetes", "namespace": "fraud-dev"})
    scorer = line(result, "endpoints.scorer")
    assert (scorer.after_min_usd, scorer.after_usd) == (round(node * HOURS, 2), round(2 * node * HOURS, 2))
    assert scorer.basis == f"1-2 replicas x g5.xlarge node @ ${node:g}/h"
    assert scorer.note == "EC2 on-demand node price, us-east-1: the target names no region"
    train = line(result, "clusters.gpu-train")
    assert (train.after_min_usd, train.after_usd) == (0.0, round(big * HOURS, 2))
    assert "ceiling: the cluster at max nodes all month" in train.note
    assert "spot: not priced (no spot price source); the on-demand figure is its ceiling" in train.note
    assert {item.address for item in result.lines} == {"endpoints.scorer", "clusters.gpu-train"}  # jobs run on nodes


SMALL = {"instanceType": "ml.g5.2xlarge", "gpus": 1}


def test_sagemaker_training_is_priced_per_scheduled_run_at_the_training_price() -> None:
    price = catalog.price("ml.g5.2xlarge", "training")
    assert (price.usd_per_hour, price.source_date) == (1.515, "2022-04-03")
    result = estimate([], [cluster(**SMALL), job(nodes=2, maxRuntimeSeconds=6 * 3600, schedule="0 3 * * 1", onAlerts=[], **SMALL)])
    retrain = line(result, "training_jobs.retrain")
    expected = round(52 / 12 * 2 * 6 * 1.515, 2)  # 52 Mondays in the reference year: 4.33 a month
    assert (retrain.after_min_usd, retrain.after_usd) == (expected, expected)
    assert retrain.basis == "4.33 runs/month x 2 nodes x 6h max x ml.g5.2xlarge @ $1.515/h"
    assert "spot: not priced (no spot price source); the on-demand figure is its ceiling" in retrain.note
    assert all(item.address != "clusters.gpu-train" for item in result.lines)  # SageMaker bills per run


def test_training_never_borrows_the_hosting_price() -> None:
    assert catalog.price("ml.g5.12xlarge", "inference") is not None
    assert catalog.price("ml.g5.12xlarge", "training") is None
    result = estimate([], [job()])
    assert result.lines == ()
    assert result.notes[0] == ("training_jobs.retrain: no us-east-1 price for ml.g5.12xlarge (SageMaker training) "
                               "in the price catalog: not counted")


def test_training_without_schedule_or_runtime() -> None:
    result = estimate([], [job(schedule=None)])
    assert result.lines == () and result.notes == (
        "training_jobs.retrain: no schedule (alert-triggered or manual runs): not counted",)
    result = estimate([], [job(maxRuntimeSeconds=None, spot=False, onAlerts=[], **SMALL)])
    assert line(result, "training_jobs.retrain").after_usd == round(52 / 12 * 2 * 24 * 1.515, 2)
    assert "24h default" in line(result, "training_jobs.retrain").note


def test_unpriced_instances_are_a_note_never_a_number() -> None:
    assert catalog.price("ml.g6.xlarge", "inference") is None
    result = estimate([], [endpoint(instanceType="ml.g6.xlarge", gpuType="L4")])
    assert result.lines == () and result.after.max_usd == 0
    assert result.notes[0] == ("endpoints.scorer: no us-east-1 price for ml.g6.xlarge (SageMaker hosting) in the price "
                               "catalog: not counted")


def monitor(name: str = "drift", **over: Any) -> dict[str, Any]:
    base = {"endpoint": "scorer", "metric": "feature_drift", "threshold": "0.2", "scheduleSeconds": 3600,
            "jobInstanceType": "ml.m5.xlarge", "jobScheduleSeconds": 3600, "jobMaxRuntimeSeconds": 3600}
    return facts("monitor", name, **{**base, **over})


EU = {"cloud": "aws", "region": "eu-west-1"}


def test_sagemaker_drift_job_is_runs_times_max_runtime_times_the_processing_price() -> None:
    price = catalog.price("ml.m5.xlarge", "processing", "eu-west-1")
    assert (price.usd_per_hour, price.region, price.source_date) == (0.257, "eu-west-1", "2023-12")
    result = estimate([], [monitor()], metadata=EU)
    drift = line(result, "monitors.drift")
    assert (drift.after_min_usd, drift.after_usd) == (round(730 * 1 * 0.257, 2),) * 2 == (187.61, 187.61)
    assert drift.basis == "730 runs/month x up to 1 h x ml.m5.xlarge @ $0.257/h"
    assert drift.note == "each run at its max runtime (a ceiling)"
    assert result.notes == () and result.after.min_usd == result.after.max_usd == 187.61


def test_processing_never_borrows_the_hosting_price() -> None:
    assert catalog.price("ml.m5.xlarge", "inference", "us-east-1") is not None
    assert catalog.price("ml.m5.xlarge", "processing", "us-east-1") is None
    assert estimate([], [monitor()]).lines == ()


def test_drift_job_runs_are_730_hours_over_the_schedule() -> None:
    every_6h = line(estimate([], [monitor(scheduleSeconds=21600, jobScheduleSeconds=21600)], metadata=EU),
                    "monitors.drift")
    assert every_6h.after_usd == round(730 / 6 * 1 * 0.257, 2) == 31.27
    assert every_6h.basis == "121.67 runs/month x up to 1 h x ml.m5.xlarge @ $0.257/h"
    every_15m = line(estimate([], [monitor(scheduleSeconds=900, jobScheduleSeconds=900, jobMaxRuntimeSeconds=900)],
                              metadata=EU), "monitors.drift")
    assert every_15m.after_usd == round(730 * 4 * 0.25 * 0.257, 2) == 187.61
    assert every_15m.basis == "2920 runs/month x up to 0.25 h x ml.m5.xlarge @ $0.257/h"


def test_kubernetes_drift_job_is_a_node_of_its_shape_with_a_floor_of_zero() -> None:
    node = catalog.ec2_price("m5.xlarge").usd_per_hour
    assert node == 0.192
    result = estimate([], [monitor()], metadata={"cloud": "kubernetes", "namespace": "fraud-dev"})
    drift = line(result, "monitors.drift")
    assert (drift.after_min_usd, drift.after_usd) == (0.0, round(730 * 1 * node, 2)) == (0.0, 140.16)
    assert drift.basis == "730 runs/month x up to 1 h x m5.xlarge node @ $0.192/h"
    assert drift.note.startswith("EC2 on-demand node price, us-east-1: the target names no region; floor 0")


def test_drift_facts_saved_before_the_job_keys_are_a_note_never_a_number() -> None:
    old = [facts("monitor", f"m{i}", endpoint="scorer", metric="feature_drift", threshold="0.2",
                 scheduleSeconds=3600) for i in range(3)]
    latency = facts("monitor", "latency", endpoint="scorer", metric="latency_p99", threshold="250ms",
                    scheduleSeconds=None)
    result = estimate([*old, latency], [*old, latency], metadata=EU)
    assert result.lines == () and result.notes == (
        "scheduled drift job: its instance and run time are not in the facts (saved by an older mlops-infra), "
        "not priced (3 items, e.g. monitors.m0)",)
    upgraded = estimate([old[0]], [monitor("m0")], metadata=EU)  # the first plan after upgrading: before is not priced
    m0 = line(upgraded, "monitors.m0")
    assert (m0.before_usd, m0.after_usd) == (None, 187.61)
    assert upgraded.notes == ("monitors.m0: scheduled drift job: its instance and run time are not in the facts "
                              "(saved by an older mlops-infra), not priced",)


def test_unpriced_drift_job_instance_is_a_note() -> None:
    result = estimate([], [monitor(jobInstanceType="ml.m5.large")], metadata=EU)
    assert catalog.price("ml.m5.large", "processing", "eu-west-1") is None
    assert result.lines == () and result.notes[0] == (
        "monitors.drift: no eu-west-1 price for ml.m5.large (SageMaker processing) in the price catalog: not counted")


@pytest.mark.parametrize(("example", "env", "address", "low", "high", "basis"), [
    ("fraud-detection", "prod", "monitors.drift", 187.61, 187.61, "730 runs/month x up to 1 h x ml.m5.xlarge @ $0.257/h"),
    ("quickstart", "dev", "monitors.churn-api-drift", 0.0, round(730 / 6 * 1 * 0.192, 2),
     "121.67 runs/month x up to 1 h x m5.xlarge node @ $0.192/h"),
])
def test_compiled_examples_price_their_drift_jobs(example, env, address, low, high, basis) -> None:
    loaded = load_system(EXAMPLES / example / "mlsystem.yaml", env)
    assert loaded.system is not None
    drift = line(estimate_cost(compile_system(loaded.system, env), prior_of()), address)
    assert (drift.after_min_usd, drift.after_usd, drift.basis) == (low, high, basis)


def test_rollout_extra_for_canary_and_blue_green() -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    canary = estimate([endpoint(minReplicas=3)], [endpoint(minReplicas=3, modelVersion=14)])
    instances = sum(max(1, math.ceil(s / 100 * 3)) for s in [2, 5, 10, 25, 75, 100])
    assert instances == 10
    swaps = (3 + 1) + (3 + 3)  # the start's and the finish's fleet swaps, 1200 s each (audit rolloutaws-4)
    assert canary.rollout_extra_usd == round((instances * (600 / 3600) + swaps * (1200 / 3600)) * hourly, 2)
    bg = {"strategy": "blue_green", "steps": [], "bakeSeconds": 3600, "rollbackOn": []}
    blue_green = estimate([endpoint(rollout=bg)], [endpoint(rollout=bg, modelVersion=13)])
    # the new fleet's provisioning (1200 s) beside the old, then the old for the 3600 s termination wait (pricing45-2)
    assert blue_green.rollout_extra_usd == round(2 * (1200 + 3600) / 3600 * hourly, 2)
    at_once = {"strategy": "all_at_once", "steps": [], "bakeSeconds": None, "rollbackOn": []}
    # no bake: the provisioning overlap still runs two fleets (it was $0, audit pricing45-2)
    assert estimate([endpoint(rollout=at_once)], [endpoint(rollout=at_once, modelVersion=13)]).rollout_extra_usd == (
        round(2 * 1200 / 3600 * hourly, 2))
    assert estimate([], [endpoint()]).rollout_extra_usd == 0  # a new endpoint starts no rollout


def test_all_at_once_on_sagemaker_keeps_the_old_fleet_for_its_bake() -> None:
    """SageMaker's all_at_once is a blue/green fleet swap whose old fleet waits TerminationWaitInSeconds
    (compile/aws/serving.DEPLOYMENTS; botocore BlueGreenUpdatePolicy): the same extra as blue/green."""
    hourly = catalog.price("ml.g5.xlarge", "inference").usd_per_hour
    at_once = {"strategy": "all_at_once", "steps": [], "bakeSeconds": 600, "rollbackOn": []}
    result = estimate([endpoint(rollout=at_once)], [endpoint(rollout=at_once, modelVersion=13)])
    assert result.rollout_extra_usd == round(2 * ((600 + 1200) / 3600) * hourly, 2)  # + provisioning (pricing45-2)


def test_a_kubernetes_canary_revision_runs_all_min_replicas_at_every_step() -> None:
    """KServe puts minReplicas on every revision (ksvc_reconciler.go: autoscaling.knative.dev/min-scale),
    so the canary revision runs all of them at each step, not its traffic share of them."""
    hourly = catalog.ec2_price("g5.xlarge").usd_per_hour
    result = estimate([endpoint(minReplicas=3)], [endpoint(minReplicas=3, modelVersion=14)],
                      metadata={"cloud": "kubernetes"})
    assert result.rollout_extra_usd == round(6 * 3 * (600 / 3600) * hourly, 2)


@pytest.mark.parametrize(("cloud", "autoscaling", "runs"), [
    ("aws", None, 1), ("aws", {"metric": "invocations_per_replica", "target": 50}, 1),
    ("kubernetes", None, 1), ("kubernetes", {"metric": "cpu_utilization", "target": 70}, 1),
    ("kubernetes", {"metric": "concurrency", "target": 4}, 0)])
def test_min_zero_is_priced_as_what_runs(cloud, autoscaling, runs) -> None:
    """A SageMaker variant has at least one instance (InitialInstanceCount, MinCapacity: max(1, min));
    KServe without autoscaling or on cpu runs at least one; Knative's own autoscaler may scale to zero.
    The plan priced min 0 at $0 while an instance ran all month (cost audit)."""
    hourly = (catalog.price("ml.g5.xlarge", "inference") if cloud == "aws" else catalog.ec2_price("g5.xlarge")).usd_per_hour
    result = estimate([], [endpoint(minReplicas=0, maxReplicas=3, autoscaling=autoscaling)],
                      metadata={"cloud": cloud, "region": "us-east-1"})
    scorer = line(result, "endpoints.scorer")
    assert scorer.after_min_usd == round(runs * hourly * 730, 2)
    assert ("at least 1 replica runs" in scorer.note) is bool(runs)


def test_removed_items_cost_nothing_after() -> None:
    result = estimate([endpoint()], [])
    scorer = line(result, "endpoints.scorer")
    assert scorer.after_usd is None and scorer.delta_usd == -scorer.before_usd
    assert result.after.max_usd == 0


@pytest.mark.parametrize(("cron", "runs"), [
    ("0 3 * * 1", 52 / 12), ("0 3 * * *", 365 / 12), ("@hourly", 730), ("0 0 1 * *", 1), ("*/15 * * * *", 2920),
    ("* * * * *", 43800), ("0 */2 * * *", 365), ("0 0 1 1 *", 1 / 12), ("0 0 1 */3 *", 4 / 12),
    ("0 0 31 * *", 7 / 12), ("0 0 15 6 *", 1 / 12), ("*/20 9-17 * * *", 27 * 365 / 12), ("0,30 * * * *", 1460),
    ("* 9-17 * * 1-5", 60 * 9 * 261 / 12), ("0 3 1,15 * 1", 72 / 12), ("@daily", 365 / 12), ("@weekly", 52 / 12),
    ("0 3 * * 7-7", 52 / 12), ("0 3 * * 5-7", 3 * 52 / 12), ("not a cron", None)])
def test_scheduled_runs_in_an_average_month(cron: str, runs: float | None) -> None:
    """A cron's runs over the reference year / 12 (the 730 h month of the endpoints). The 30-day window
    it replaces counted a weekly run 4 or 5 times by its weekday, a yearly or quarterly one once a month,
    and a run on the 31st or in June not at all (cost audit). ``7-7`` is Sundays as the targets run it
    (croniter alone reads it as every day)."""
    assert scheduled_runs(cron) == (None if runs is None else pytest.approx(runs))


def test_no_facts_no_cost() -> None:
    graph = DesiredGraph("p", "s", (DesiredResource("urn:pulumi:s::p::aws:s3/bucket:Bucket::b", "aws:s3/bucket:Bucket",
                                                    "b", True, None, {"bucket": "b"}),))
    result = estimate_cost(graph, prior_of())
    assert result.lines == () and result.to_json()["after"] == {"minUsd": 0.0, "maxUsd": 0.0}


@pytest.mark.parametrize(("bake", "hours"), [(0, 1200 / 3600), (600, 1800 / 3600), (3600, 4800 / 3600),
                                             (14400, 4800 / 3600)])
def test_a_sagemaker_fleet_swap_keeps_the_old_fleet_at_most_3600_s_after_provisioning(bake: int, hours: float) -> None:
    """botocore sagemaker BlueGreenUpdatePolicy.TerminationWaitInSeconds: max 3600 (the compiler caps the bake
    there, compile/aws/serving.MAX_WAIT_SECONDS), and the new fleet is provisioned beside the old (UpdateEndpoint),
    for canary_size.FLEET_PROVISIONING_SECONDS (audit pricing45-2: a 4 h bake was priced 4 h, no bake $0)."""
    hourly = catalog.price("ml.g5.12xlarge", "inference").usd_per_hour
    for strategy in ("blue_green", "all_at_once"):
        rollout = {"strategy": strategy, "steps": [], "bakeSeconds": bake or None, "rollbackOn": []}
        fixed = {"minReplicas": 10, "maxReplicas": 10, "autoscaling": False, "instanceType": "ml.g5.12xlarge",
                 "rollout": rollout}
        result = estimate([endpoint(**fixed)], [endpoint(**fixed, modelVersion=13)])
        assert result.rollout_extra_usd == round(10 * hourly * hours, 2), (strategy, bake)
