"""SageMaker instance quotas (plan/instance_quotas.py): what an environment needs per instance type and
use, and the warning when the account's quota is short (pure; the live read is in
tests/cli/test_plan_instance_quotas.py).

The reference serves on ml.g5.xlarge (3 to create, up to 20 autoscaled, and its canary rollout's finish:
a blue/green swap whose new fleet of 20 runs beside primary's 20 and the canary variant's 20 at its
100 % step: 60; its start, primary 20 and a canary of 1 beside the serving 20, needs 41), trains on 2 ml.g5.12xlarge spot instances (its cluster is ``spot: true``, so
the spot quota family counts them) and measures drift on 1 ml.m5.xlarge. In a new
account, where many such quotas are 0, its first ``pulumi up`` fails at CreateEndpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.graph import GraphBuilder, ref
from mlops_infra.plan.instance_quotas import (
    LONGEST_RUN,
    TOTALS,
    Use,
    instance_needs,
    instance_quota_warnings,
    quota_name,
    use_totals,
)
from tests.compile.aws.cases import REFERENCE, compiled

SERVE, TRAIN, DRIFT = "ml.g5.xlarge", "ml.g5.12xlarge", "ml.m5.xlarge"


def _reference():
    return compiled(REFERENCE, "prod")


def test_the_reference_needs_per_use_and_type():
    needs = {(n.use, n.instance_type): n for n in instance_needs(_reference())}
    assert sorted(needs) == [("endpoint", SERVE), ("processing job", DRIFT), ("spot training job", TRAIN)]
    serve = needs["endpoint", SERVE]
    assert serve.items == [Use("endpoints.scorer", 3, 20, 40, canary=20)]
    assert (serve.start, serve.most, serve.peak) == (3, 20, 60)
    assert needs["spot training job", TRAIN].items == [Use("training_jobs.retrain", 2, 2)]
    assert needs["processing job", DRIFT].items == [Use("monitors.drift", 1, 1)]


def test_quota_names_are_service_quotas_names():
    assert quota_name(SERVE, "endpoint") == "ml.g5.xlarge for endpoint usage"
    assert quota_name(TRAIN, "training job") == "ml.g5.12xlarge for training job usage"
    assert quota_name(TRAIN, "spot training job") == "ml.g5.12xlarge for spot training job usage"


@pytest.mark.parametrize(("quota", "says"), [
    (0, "creating this environment's endpoints needs 3 (endpoints.scorer 3), so the `pulumi up` that creates them "
        "fails at CreateEndpoint (ResourceLimitExceeded)"),
    (3, "they need 20 at full scale (endpoints.scorer 20): autoscaling stops short of it"),
    (40, "the canary rollout of endpoints.scorer starts with a blue/green UpdateEndpoint whose new fleet (primary 20 "
         "and the canary variant at 1) runs beside the serving 20, 41 in all at full scale, so the rollout cannot "
         "start: the new version is never served"),
    (41, "the canary rollout of endpoints.scorer ends with a blue/green swap whose new fleet runs beside primary and "
         "the canary variant (20 at its last step), 60 in all at full scale, so the finish fails"),
    (59, "the canary rollout of endpoints.scorer ends with a blue/green swap whose new fleet runs beside primary and "
         "the canary variant (20 at its last step), 60 in all at full scale, so the finish fails"),
])
def test_the_endpoint_warning_names_the_first_step_that_fails(quota, says):
    """Below 41 the canary rollout's start (UpdateEndpoint to primary 20 + canary 1, a blue/green update beside
    the serving 20) is refused, so it never starts; from 41 to 59 the start and every step fit and the finish's
    swap (60) is refused (audit closing-38a-3)."""
    (warning,) = instance_quota_warnings(_reference(), {quota_name(SERVE, "endpoint"): quota})
    assert warning.startswith(f"SageMaker quota: 'ml.g5.xlarge for endpoint usage' is {quota} in account 222222222222 "
                              f"in eu-west-1; {says}")
    assert warning.endswith("Request an increase in Service Quotas first (other use of this type in the account "
                            "counts too).")


def test_enough_quota_or_an_unknown_quota_gives_no_warning():
    graph = _reference()
    enough = {quota_name(SERVE, "endpoint"): 60, quota_name(TRAIN, "spot training job"): 2,
              quota_name(DRIFT, "processing job"): 1}
    assert instance_quota_warnings(graph, enough) == []
    assert instance_quota_warnings(graph, {}) == []


def test_a_new_accounts_zeros_fail_the_endpoint_the_training_run_and_the_drift_job():
    graph = _reference()
    zeros = {quota_name(SERVE, "endpoint"): 0, quota_name(TRAIN, "spot training job"): 0,
             quota_name(DRIFT, "processing job"): 0}
    endpoint, train, drift = instance_quota_warnings(graph, zeros)
    assert "fails at CreateEndpoint" in endpoint
    assert "a run of monitors.drift needs 1, so it fails at CreateProcessingJob" in drift
    assert "a run of training_jobs.retrain needs 2, so it fails at CreateTrainingJob" in train


def _graph(*, rolling: dict | None = None, jobs: tuple[int, ...] = (), spot: tuple[bool, ...] = (),
           second_type: str = ""):
    b = GraphBuilder("demo", "prod")
    b.metadata.update(cloud="aws", region="us-east-1", account="123456789012")
    for i, count in enumerate((2, 4)):
        config = b.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"c{i}", {"productionVariants": [
            {"variantName": "primary", "instanceType": SERVE, "initialInstanceCount": count},
            {"variantName": "serverless", "serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048}},
            *([{"variantName": "second", "instanceType": second_type, "initialInstanceCount": 1}]
              if second_type and i == 1 else [])]},
            address=f"endpoints.e{i}")
        inputs = {"name": f"e{i}", "endpointConfigName": ref(config, "name")}
        if rolling and i == 1:
            inputs["deploymentConfig"] = {"rollingUpdatePolicy": {"maximumBatchSize": rolling}}
        b.add("aws:sagemaker/endpoint:Endpoint", f"e{i}", inputs, address=f"endpoints.e{i}")
    b.add("aws:appautoscaling/target:Target", "t1", {"resourceId": "endpoint/e1/variant/primary", "maxCapacity": 10},
          address="endpoints.e1")
    for i, count in enumerate(jobs):
        b.add("aws:sagemaker/pipeline:Pipeline", f"p{i}", {"pipelineDefinition": {"$json": {"Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": {
                "ResourceConfig": {"InstanceType": TRAIN, "InstanceCount": count},
                **({"EnableManagedSpotTraining": True} if i < len(spot) and spot[i] else {})}},
            {"Name": "Register", "Type": "RegisterModel", "Arguments": {}}]}}}, address=f"training_jobs.j{i}")
    return b.build()


@pytest.mark.parametrize(("rolling", "update"), [
    (None, 10), ({"type": "CAPACITY_PERCENT", "value": 25}, 3), ({"type": "INSTANCE_COUNT", "value": 2}, 2)])
def test_an_update_adds_the_new_fleet_or_one_rolling_batch(rolling, update):
    """Blue/green (no rolling policy): the largest fleet again; rolling: ceil(25% of 10) or 2 instances.
    A serverless variant needs no instance; a variant without a scalable target stays at its count."""
    (need,) = instance_needs(_graph(rolling=rolling))
    assert need.items == [Use("endpoints.e0", 2, 2, 2), Use("endpoints.e1", 4, 10, update)]
    assert (need.start, need.most, need.peak) == (6, 12, 12 + max(2, update))


def test_jobs_fail_on_their_largest_run_and_conflict_all_at_once():
    graph = _graph(jobs=(2, 3))
    name = quota_name(TRAIN, "training job")
    (warning,) = instance_quota_warnings(graph, {name: 2})
    assert "a run of training_jobs.j1 needs 3, so it fails at CreateTrainingJob" in warning
    (warning,) = instance_quota_warnings(graph, {name: 4})
    assert "runs of training_jobs.j0 2, training_jobs.j1 3 at the same time need 5: the one past the quota fails" in warning
    assert instance_quota_warnings(graph, {name: 5}) == []


def test_a_kubernetes_graph_needs_no_sagemaker_instance():
    assert instance_needs(compiled(REFERENCE, "dev")) == []


def test_a_spot_training_step_needs_the_spot_quota_and_an_on_demand_one_the_on_demand_quota():
    """``EnableManagedSpotTraining`` files the run under ``<type> for spot training job usage``
    (audit preflight-1): the same type trained both ways is two needs, judged against two quotas."""
    graph = _graph(jobs=(2, 3), spot=(True, False))
    needs = {(n.use, n.instance_type): n.items for n in instance_needs(graph)}
    assert needs == {("endpoint", SERVE): needs["endpoint", SERVE],
                     ("training job", TRAIN): [Use("training_jobs.j1", 3, 3)],
                     ("spot training job", TRAIN): [Use("training_jobs.j0", 2, 2)]}
    (warning,) = instance_quota_warnings(graph, {quota_name(TRAIN, "spot training job"): 1,
                                                 quota_name(TRAIN, "training job"): 3})
    assert warning.startswith("SageMaker quota: 'ml.g5.12xlarge for spot training job usage' is 1 in account "
                              "123456789012 in us-east-1; a run of training_jobs.j0 needs 2, so it fails at "
                              "CreateTrainingJob (ResourceLimitExceeded).")


LLM = Path(__file__).resolve().parents[2] / "examples" / "llm-platform" / "mlsystem.yaml"


def test_the_account_wide_endpoint_total_is_judged_over_all_types():
    """llm-platform prod serves on three types, each within its own quota, but 8 + 6 + 8 = 22 at full
    scale: past an account-wide 'Number of instances across active endpoints' of 20 (audit preflight-2)."""
    graph = compiled(LLM, "prod")
    ample = {quota_name(n.instance_type, n.use): 100 for n in instance_needs(graph)}
    assert instance_quota_warnings(graph, ample) == []
    (warning,) = instance_quota_warnings(graph, {**ample, TOTALS["endpoint"]: 20})
    assert warning.startswith("SageMaker quota: 'Number of instances across active endpoints' is 20 in account ")
    assert "they need 22 at full scale (endpoints.chat 8, endpoints.embeddings 8, endpoints.reranker 6)" in warning
    assert warning.endswith("Request an increase in Service Quotas first (other use in the account counts too).")
    (warning,) = instance_quota_warnings(graph, {**ample, TOTALS["endpoint"]: 37})
    assert "the canary rollout of endpoints.chat ends with a blue/green swap whose new fleet runs beside primary and " \
           "the canary variant (8 at its last step), 38 in all at full scale, so the finish fails" in warning
    (warning,) = instance_quota_warnings(graph, {**ample, TOTALS["endpoint"]: 30})  # the others serve 14 meanwhile
    assert "the canary rollout of endpoints.chat starts with a blue/green UpdateEndpoint whose new fleet (primary 8 " \
           "and the canary variant at 1) runs beside the serving 8, 31 in all at full scale, so the rollout cannot " \
           "start" in warning


def test_each_use_has_its_own_total_and_an_endpoint_of_two_types_counts_once():
    graph = _graph(jobs=(2, 3), spot=(True, False))
    b = {t.use: t for t in use_totals(instance_needs(graph))}
    assert sorted(b) == ["endpoint", "spot training job", "training job"]
    assert (b["endpoint"].start, b["endpoint"].most, b["endpoint"].peak) == (6, 12, 22)
    assert instance_quota_warnings(graph, {TOTALS["training job"]: 3, TOTALS["spot training job"]: 2}) == []
    (spot,) = instance_quota_warnings(graph, {TOTALS["training job"]: 3, TOTALS["spot training job"]: 1})
    assert spot.startswith("SageMaker quota: 'Number of instances across all spot training jobs' is 1 in account "
                           "123456789012 in us-east-1; a run of training_jobs.j0 needs 2, so it fails at "
                           "CreateTrainingJob (ResourceLimitExceeded).")
    (blue_green,) = instance_quota_warnings(_graph(), {quota_name(SERVE, "endpoint"): 21})
    assert "an update of endpoints.e1 (a new model version or config) provisions its new fleet beside the old one, " \
           "22 in all at full scale, so it fails" in blue_green
    (merged,) = use_totals(instance_needs(_graph(second_type="ml.g6.xlarge")))
    assert merged.items == [Use("endpoints.e0", 2, 2, 2), Use("endpoints.e1", 4 + 1, 10 + 1, 10 + 1)]


@pytest.mark.parametrize(("quota", "warned"), [(432000, False), (21600, False), (21599, True), (None, False)])
def test_a_training_run_longer_than_the_accounts_longest_run_time_is_warned(quota, warned):
    """The reference's retrain asks MaxRuntimeInSeconds 21600 (max_runtime 6h) against 'Longest run
    time for a training job' (AWS's default 432,000 s; audit preflight-8); a table without that quota
    judges nothing."""
    quotas = {} if quota is None else {LONGEST_RUN: quota}
    warnings = [w for w in instance_quota_warnings(_reference(), quotas) if LONGEST_RUN in w]
    if not warned:
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.startswith("SageMaker quota: 'Longest run time for a training job' is 21599 s (6 h) in account "
                              "222222222222 in eu-west-1; every run of training_jobs.retrain asks up to 21600 s (6 h) "
                              "(MaxRuntimeInSeconds, its max_runtime)")
    assert warning.endswith("Request an increase in Service Quotas first, or lower max_runtime.")


def _hundred_endpoints():
    b = GraphBuilder("demo", "prod")
    b.metadata.update(cloud="aws", region="us-east-1", account="123456789012")
    for i in range(100):
        config = b.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"c{i}", {"productionVariants": [
            {"variantName": "primary", "instanceType": SERVE, "initialInstanceCount": 1}]}, address=f"endpoints.e{i:03}")
        b.add("aws:sagemaker/endpoint:Endpoint", f"e{i}", {"name": f"e{i}", "endpointConfigName": ref(config, "name")},
              address=f"endpoints.e{i:03}")
    return b.build()


def test_a_hundred_endpoints_of_one_type_are_six_names_and_how_many_more():
    """The quota and offer warnings named every endpoint of the instance type: with 100 the first six (by address),
    then how many more (:mod:`mlops_infra.name_lists`)."""
    from mlops_infra.plan.instance_quotas import offer_warnings

    graph = _hundred_endpoints()
    (warning,) = instance_quota_warnings(graph, {quota_name(SERVE, "endpoint"): 10})
    assert ("needs 100 (endpoints.e000 1, endpoints.e001 1, endpoints.e002 1, endpoints.e003 1, endpoints.e004 1, "
            "endpoints.e005 1 and 94 more)") in warning and "e006" not in warning
    (offer,) = offer_warnings(instance_needs(graph), {quota_name("ml.m5.xlarge", "endpoint"): 4}, "account 1 in r")
    assert ("so endpoints.e000, endpoints.e001, endpoints.e002, endpoints.e003, endpoints.e004, endpoints.e005 and 94 "
            "more fails at") in offer and "e006" not in offer
