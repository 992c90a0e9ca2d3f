"""AWS rules an apply depends on (review 2026-12-03, findings C4 and C6), each against its source.

- C4: ``MaximumExecutionTimeoutInSeconds`` is set on every deployment policy, covers the total bake,
  and stays inside botocore's range (600-28800) *and* terraform-provider-aws's narrower one
  (``validation.IntBetween(600, 14400)`` in ``internal/service/sagemaker/endpoint.go``).
- C6: which instance families have local NVMe storage comes from the catalog (EC2
  ``DescribeInstanceTypes``), classifies every family of botocore's SageMaker instance enums, and
  agrees with the EC2 snapshot it was generated from.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import botocore.session
import pytest

from mlops_infra import catalog
from mlops_infra.compile.aws import serving
from mlops_infra.graph import is_ref
from tests.compile.aws.cases import CASES, compile_text, compiled, of_type, one

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
BOTOCORE_SHAPES = ("ProductionVariantInstanceType", "TrainingInstanceType", "ProcessingInstanceType")


def _sagemaker_shape(name: str):
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)


# -- C4 ------------------------------------------------------------------------------------------


def _endpoint_doc(strategy: str, bake: str, steps: str = "") -> str:
    return f"""
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {{name: bakes}}
models: [{{name: m, framework: sklearn, approval: automatic, artifacts_uri: "s3://imports-123456789012/m/"}}]
endpoints:
  - name: api
    model: {{name: m, version: 1}}
    instance_type: ml.m5.large
    replicas: {{min: 2, max: 4}}
    rollout: {{strategy: {strategy}, bake: {bake}{steps}}}
environments:
  prod: {{target: {{kind: aws, region: us-east-1, account: "123456789012"}}}}
"""


@pytest.mark.parametrize(("strategy", "bake", "steps"), [
    ("all_at_once", "1m", ""), ("blue_green", "30m", ""), ("canary", "10m", ", steps: [5, 100]"),
    ("canary", "2h", ", steps: [5, 100]"), ("rolling", "10m", ", steps: [25]"), ("rolling", "1h", ", steps: [5]"),
])
def test_deployment_timeout_covers_the_bake_within_botocore_and_provider_ranges(strategy, bake, steps):
    graph = compile_text(_endpoint_doc(strategy, bake, steps))
    config = one(graph, ENDPOINT).inputs["deploymentConfig"]
    policy = config.get("blueGreenUpdatePolicy") or config["rollingUpdatePolicy"]
    timeout = policy["maximumExecutionTimeoutInSeconds"]
    shape = _sagemaker_shape("MaximumExecutionTimeoutInSeconds").metadata
    assert (shape["min"], shape["max"]) == (600, 28800)  # botocore's range, as cited
    assert serving.EXECUTION_TIMEOUT_RANGE == (600, 14400)  # the provider's IntBetween(600, 14400)
    assert 600 <= timeout <= 14400
    if "blueGreenUpdatePolicy" in config:
        waits = policy["trafficRoutingConfiguration"]["waitIntervalInSeconds"] + policy["terminationWaitInSeconds"]
    else:
        waits = policy["waitIntervalInSeconds"] * -(-100 // policy["maximumBatchSize"]["value"])
    # "the timeout value should be larger than the total waiting time" (botocore BlueGreenUpdatePolicy),
    # unless that exceeds what the provider accepts at all
    assert timeout > waits or timeout == 14400


def test_every_compiled_deployment_sets_its_timeout():
    for _, path, env in CASES:
        for endpoint in of_type(compiled(path, env), ENDPOINT):
            config = endpoint.inputs["deploymentConfig"]
            policy = config.get("blueGreenUpdatePolicy") or config["rollingUpdatePolicy"]
            assert 600 <= policy["maximumExecutionTimeoutInSeconds"] <= 14400, endpoint.urn


def test_reference_canary_timeout_is_provisioning_plus_both_waits():
    from tests.compile.aws.cases import REFERENCE

    policy = one(compiled(REFERENCE, "prod"), ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    # the controller's final swap: all at once (no traffic-routing wait), the old fleet kept for the bake
    assert policy["maximumExecutionTimeoutInSeconds"] == serving.FLEET_PROVISIONING_SECONDS + 0 + 600


# -- C6 ------------------------------------------------------------------------------------------


def _families_in_botocore() -> set[str]:
    return {catalog.instance_family(t) for shape in BOTOCORE_SHAPES for t in _sagemaker_shape(shape).enum}


def test_every_sagemaker_instance_family_in_botocore_is_classified():
    unclassified = sorted(f for f in _families_in_botocore() if catalog.has_instance_storage(f"ml.{f}.x") is None)
    assert unclassified == [], "run `python -m mlops_infra.catalog.refresh` (and add supplements with sources)"


def test_nvme_families_include_those_a_hand_list_missed():
    """botocore's ProductionVariantInstanceType has ml.p6e-gb200.36xlarge; EC2 says r7gd has instance store."""
    assert "ml.p6e-gb200.36xlarge" in _sagemaker_shape("ProductionVariantInstanceType").enum
    for instance in ("ml.p6e-gb200.36xlarge", "ml.r7gd.large", "ml.g5.xlarge", "ml.p4d.24xlarge", "ml.g6e.xlarge"):
        assert serving.has_local_nvme(instance), instance
    for instance in ("ml.m5.large", "ml.p3.2xlarge", "ml.inf2.xlarge", "ml.c5.xlarge"):
        assert not serving.has_local_nvme(instance), instance


@pytest.mark.skipif(importlib.util.find_spec("moto") is None, reason="moto (test extra) holds the EC2 snapshot")
def test_catalog_agrees_with_the_ec2_describe_instance_types_snapshot():
    """Every SageMaker type moto's EC2 DescribeInstanceTypes snapshot knows has the same
    InstanceStorageSupported as the catalog says of its family."""
    spec = importlib.util.find_spec("moto")
    path = Path(spec.submodule_search_locations[0]) / "ec2" / "resources" / "instance_types.json.gz"
    ec2 = json.loads(gzip.decompress(path.read_bytes()))
    checked = 0
    for use, types in catalog.sagemaker_instance_types().items():
        for instance in types:
            record = ec2.get(catalog.ec2_name(instance))
            if record is None:
                continue
            checked += 1
            assert catalog.has_instance_storage(instance) is bool(record["InstanceStorageSupported"]), (use, instance)
    assert checked > 300


def test_nvme_endpoint_config_and_training_job_carry_no_kms_volume_key():
    doc = _endpoint_doc("all_at_once", "1m").replace("ml.m5.large", "ml.p6e-gb200.36xlarge")
    assert "kmsKeyArn" not in one(compile_text(doc), CONFIG).inputs
    ebs = one(compile_text(_endpoint_doc("all_at_once", "1m")), CONFIG).inputs["kmsKeyArn"]
    assert is_ref(ebs)


# -- A1 ------------------------------------------------------------------------------------------

SERVING_TYPES = {"aws:sagemaker/model:Model", CONFIG, ENDPOINT, "aws:appautoscaling/target:Target",
                 "aws:appautoscaling/policy:Policy"}


def _reference(env: str, registry=None):
    from mlops_infra.compile import compile_system
    from tests.compile.aws.cases import REFERENCE, system

    return compile_system(system(REFERENCE, env), env, registry=registry)


def test_a_waiting_endpoint_leaves_out_only_its_model_config_endpoint_and_autoscaling():
    """A group this apply creates holds no versions, so CreateModel of v12 would fail (and the
    provider only retries it for two minutes: terraform-provider-aws internal/service/sagemaker/model.go)."""
    from mlops_infra.model_versions import ModelRegistry, RegistryView

    fresh = RegistryView({"fraud-model": ModelRegistry("fraud-model", "group g", "created-now", True, {})})
    assumed, waiting = _reference("prod"), _reference("prod", fresh)
    left_out = {r.urn for r in assumed.resources} - {r.urn for r in waiting.resources}
    # the rollout runner goes too: the environment has no canary endpoint left to drive (and so does the
    # canary's rollback alarm, which announces the runner's rollbacks)
    runner = {r.urn for r in assumed.resources if r.address == "platform" and r.name.startswith("rollout-")}
    notice = {r.urn for r in assumed.resources if r.role == "rollback-alarm"}
    assert len(notice) == 1 and notice <= left_out
    assert {r.name for r in assumed.resources if r.urn in runner} == {
        "rollout-runner", "rollout-runner-logs", "rollout-runner-policy", "rollout-runner-schedule",
        "rollout-schedule", "rollout-schedule-policy",
        "rollout-runner-async", "rollout-runner-errors-alarm", "rollout-runner-dropped-alarm"} and runner <= left_out
    assert {r.type for r in assumed.resources if r.urn in left_out - runner - notice} == SERVING_TYPES
    assert all(r.address == "endpoints.scorer" for r in assumed.resources if r.urn in left_out - runner)
    before = {r.urn: r for r in assumed.resources}
    changed = [r.urn for r in waiting.resources if r.inputs != before[r.urn].inputs]
    assert changed == [one(waiting, "mlops:serving:Endpoint").urn]  # only the component's facts say it waits
    facts = one(waiting, "mlops:serving:Endpoint").inputs
    assert (facts["waitingFor"], facts["deployed"]) == (12, False)
    assert waiting.model_versions["endpoints.scorer"]["state"] == "waiting"
    assert "endpoints.scorer" not in waiting.rollouts


def test_an_endpoint_holds_its_served_version_and_its_alarms_watch_that_variant():
    from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord

    registry = ModelRegistry("fraud-model", "group g", "registry", True,
                             {12: VersionRecord(12, "Approved", "Completed"),
                              13: VersionRecord(13, "PendingManualApproval", "Completed")})
    held = _reference("staging", RegistryView({"fraud-model": registry}, {"scorer": 12}))  # staging pins v13
    model = one(held, "aws:sagemaker/model:Model")
    assert model.inputs["primaryContainer"]["modelPackageName"].endswith("/12")
    (variant,) = one(held, CONFIG).inputs["productionVariants"]
    alarm = one(held, "aws:cloudwatch/metricAlarm:MetricAlarm", "alerts.scorer-latency")
    assert alarm.inputs["dimensions"]["VariantName"] == variant["variantName"] == "primary"
    facts = one(held, "mlops:serving:Endpoint").inputs
    assert (facts["modelVersion"], facts["waitingFor"]) == (12, 13)
    approved = ModelRegistry("fraud-model", "group g", "registry", True, {13: VersionRecord(13, "Approved", "Completed")})
    ready = _reference("staging", RegistryView({"fraud-model": approved}, {"scorer": 12}))
    assert one(ready, "aws:sagemaker/model:Model").inputs["primaryContainer"]["modelPackageName"].endswith("/13")


def test_without_a_registry_view_every_pinned_version_is_assumed():
    graph = _reference("prod")
    assert {r.type for r in graph.resources} >= SERVING_TYPES and graph.model_versions == {}
