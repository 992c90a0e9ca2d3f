"""SageMaker, CloudWatch and autoscaling inputs against the AWS API shapes, and their meaning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_infra.compile.aws import drift_image, serving
from mlops_infra.compile.aws.monitoring import latency_microseconds
from mlops_infra.compile.aws.training import hyperparameter_text
from mlops_infra.spec.monitoring import Monitor
from tests.compile.aws.api_shapes import pascal, problems
from tests.compile.aws.cases import (
    CASES,
    PLACEHOLDER_ARN,
    REFERENCE,
    compile_text,
    compiled,
    of_type,
    one,
    placeholder,
    system,
)
from tests.support.text_edits import edit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDS = [c[0] for c in CASES]
PARAMS = [c[1:] for c in CASES]
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PIPELINE_GETS = {"Get": "Parameters.TriggeredBy"}


def _runtime(value):
    """Pipeline runtime expressions ({"Get": ...}, {"Std:Join": ...}) resolve to strings; stand in for them."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return f"s3://runtime/{value['Get']}" if "Artifacts" in value["Get"] else "runtime-value"
        if set(value) == {"Std:Join"}:
            return value["Std:Join"]["On"].join(map(_runtime, value["Std:Join"]["Values"]))
        return {k: _runtime(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_runtime(v) for v in value]
    return value


def _steps(pipeline):
    return {s["Name"]: s for s in placeholder(pipeline.inputs["pipelineDefinition"])["Steps"]}


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_endpoint_configs_are_valid_create_endpoint_config_requests(path, env):
    graph = compiled(path, env)
    for config in of_type(graph, CONFIG):
        params = pascal(placeholder({k: v for k, v in config.inputs.items() if k != "tags"}))
        params["EndpointConfigName"] = params.pop("Name")
        assert problems("sagemaker", "CreateEndpointConfig", params) == [], config.urn


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_endpoints_are_valid_create_and_update_endpoint_requests(path, env):
    graph = compiled(path, env)
    for endpoint in of_type(graph, ENDPOINT):
        params = pascal(placeholder({k: v for k, v in endpoint.inputs.items() if k != "tags"}))
        params["EndpointName"] = params.pop("Name")
        create = {k: v for k, v in params.items() if k != "DeploymentConfig"}
        assert problems("sagemaker", "CreateEndpoint", create) == [], endpoint.urn
        assert problems("sagemaker", "UpdateEndpoint", params) == [], endpoint.urn


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_models_are_valid_create_model_requests(path, env):
    graph = compiled(path, env)
    for model in of_type(graph, "aws:sagemaker/model:Model"):
        params = pascal(placeholder({k: v for k, v in model.inputs.items() if k != "tags"}))
        params["ModelName"] = params.pop("Name")
        assert problems("sagemaker", "CreateModel", params) == [], model.urn
        assert re.fullmatch(r"arn:aws:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-z0-9-]+/\d+",
                            params["PrimaryContainer"]["ModelPackageName"])


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_pipeline_steps_are_valid_api_requests(path, env):
    graph = compiled(path, env)
    operations = {"Training": ("CreateTrainingJob", "TrainingJobName"),
                  "Processing": ("CreateProcessingJob", "ProcessingJobName"),
                  "RegisterModel": ("CreateModelPackage", None)}
    for pipeline in of_type(graph, PIPELINE):
        definition = placeholder(pipeline.inputs["pipelineDefinition"])
        assert definition["Version"] == "2020-12-01"
        assert definition["Parameters"] == [{"Name": "TriggeredBy", "Type": "String", "DefaultValue": "manual"}]
        for step in definition["Steps"]:
            operation, name_field = operations[step["Type"]]
            params = _runtime(step["Arguments"])
            if name_field:
                params[name_field] = "pipelines-run-step"
            assert problems("sagemaker", operation, params) == [], (pipeline.urn, step["Name"])


def test_reference_training_step_meaning():
    graph = compiled(REFERENCE, "prod")
    steps = _steps(one(graph, PIPELINE, "training_jobs.retrain"))
    train = steps["Train"]["Arguments"]
    assert train["AlgorithmSpecification"] == {
        "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2",
        "TrainingInputMode": "File", "ContainerEntrypoint": ["python", "-m", "fraud.train"]}
    assert train["ResourceConfig"] == {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100}
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 21600, "MaxWaitTimeInSeconds": 43200}
    assert _runtime(train["CheckpointConfig"]["S3Uri"]) == (  # one prefix per run: test_each_run_checkpoints_apart
        "s3://fraud-detection-prod-platform-artifacts-222222222222/checkpoints/retrain/runtime-value/")
    assert train["HyperParameters"] == {"epochs": "10", "learning_rate": "0.001"}
    (channel,) = train["InputDataConfig"]
    assert channel["ChannelName"] == "transactions"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://fraud-detection-prod-transactions-222222222222/"
    assert train["OutputDataConfig"]["S3OutputPath"] == (
        "s3://fraud-detection-prod-platform-artifacts-222222222222/training/retrain/")  # B4: never a data source
    assert train["OutputDataConfig"]["KmsKeyId"] == PLACEHOLDER_ARN
    assert train["EnableInterContainerTrafficEncryption"] is True
    register = steps["RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == ["ml.g5.xlarge"]


def test_each_run_checkpoints_apart():
    """SageMaker restores what is under a job's CheckpointConfig.S3Uri into /opt/ml/checkpoints when the
    job starts (https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints-resume.html): with one
    prefix for every run, a retrain resumed from the last run's final checkpoint. The prefix ends in the
    pipeline execution's id, the expression the SageMaker SDK writes for it."""
    functions = pytest.importorskip("sagemaker.core.workflow.functions", reason="the sagemaker extra is not installed")
    variables = pytest.importorskip("sagemaker.core.workflow.execution_variables")
    graph = compiled(REFERENCE, "prod")
    uri = _steps(one(graph, PIPELINE, "training_jobs.retrain"))["Train"]["Arguments"]["CheckpointConfig"]["S3Uri"]
    sdk = functions.Join(on="/", values=["s3://fraud-detection-prod-platform-artifacts-222222222222/checkpoints/retrain",
                                         variables.ExecutionVariables.PIPELINE_EXECUTION_ID, ""])
    assert uri == sdk.expr
    training = next(r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == "retrain-training-policy")
    writes = [r for st in training.inputs["policy"]["$json"]["Statement"] if "s3:PutObject" in st["Action"]
              for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])]
    assert "arn:aws:s3:::fraud-detection-prod-platform-artifacts-222222222222/checkpoints/retrain/*" in writes


def test_automatic_approval_registers_approved_versions():
    llm = [c for c in CASES if c[0] == "llm-platform-prod"]
    if not llm:
        pytest.skip("examples/llm-platform is not present")
    graph = compiled(*llm[0][1:])
    steps = _steps(one(graph, PIPELINE, "training_jobs.train-embedder"))
    assert steps["RegisterModel"]["Arguments"]["ModelApprovalStatus"] == "Approved"
    assert "VolumeKmsKeyId" not in steps["Train"]["Arguments"]["ResourceConfig"]  # p4d: local NVMe
    assert steps["Train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"].startswith(
        "s3://llm-platform-prod-platform-artifacts-444444444444/training/train-embedder/")


LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET = "aws:s3/bucket:Bucket"


def _expiring_rules(graph) -> dict[str, list[tuple[str, str, bool, bool]]]:
    """Physical bucket name -> (rule id, filter prefix, expires current versions, expires noncurrent versions)
    of the lifecycle rules that delete current or noncurrent versions.

    S3 lifecycle (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html):
    ``Expiration`` (days) expires current versions, ``NoncurrentVersionExpiration`` "permanently
    deletes" noncurrent ones; ``expiredObjectDeleteMarker`` and ``abortIncompleteMultipartUpload``
    delete no object version. A rule applies to the keys under its ``filter.prefix``, to every key
    with an empty filter (botocore ``s3`` ``LifecycleRuleFilter``)."""
    names = {b.urn: b.inputs["bucket"] for b in of_type(graph, BUCKET)}
    out: dict[str, list[tuple[str, str, bool, bool]]] = {}
    for lifecycle in of_type(graph, LIFECYCLE):
        bucket = names[lifecycle.inputs["bucket"]["$ref"]]
        rules = []
        for r in lifecycle.inputs["rules"]:
            assert set(r["filter"]) <= {"prefix"}, r  # the compiler writes no other filter
            current, noncurrent = bool((r.get("expiration") or {}).get("days")), bool(r.get("noncurrentVersionExpiration"))
            if current or noncurrent:
                rules.append((r["id"], r["filter"].get("prefix", ""), current, noncurrent))
        out[bucket] = rules
    return out


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_model_artifacts_and_checkpoints_go_where_no_lifecycle_deletes_a_version(path, env):
    """Finding B4: a serving model's artifact must outlive any retention (the reference's
    feature-snapshots source expires after 90 days), so every training job writes its artifacts and
    checkpoints to the platform artifacts bucket, where no lifecycle rule covering the artifacts
    expires any version, and serving roles read them there. Checkpoints (audit datasources-6): no rule
    expires a current checkpoint; the only rule covering them is ``superseded-checkpoints``, which
    expires noncurrent versions (saves a newer save replaced) under ``checkpoints/``."""
    graph = compiled(path, env)
    expiring = _expiring_rules(graph)
    for pipeline in of_type(graph, PIPELINE):
        train = _steps(pipeline).get("Train")
        if train is None:
            continue
        output = train["Arguments"]["OutputDataConfig"]["S3OutputPath"]
        bucket, key = output.removeprefix("s3://").split("/", 1)
        assert "platform-artifacts" in bucket and bucket in expiring, (pipeline.urn, output)
        assert [r for r in expiring[bucket] if key.startswith(r[1])] == [], (pipeline.urn, output, expiring[bucket])
        if "CheckpointConfig" in train["Arguments"]:
            uri = _runtime(train["Arguments"]["CheckpointConfig"]["S3Uri"])
            ckpt_bucket, ckpt_key = uri.removeprefix("s3://").split("/", 1)
            assert ckpt_bucket == bucket, (pipeline.urn, uri)
            covering = [r for r in expiring[bucket] if ckpt_key.startswith(r[1])]
            assert covering == [("superseded-checkpoints", "checkpoints/", False, True)], (pipeline.urn, uri, covering)


def test_the_reference_serving_role_reads_artifacts_from_the_artifacts_bucket():
    policy = one(compiled(REFERENCE, "prod"), "aws:iam/rolePolicy:RolePolicy", "endpoints.scorer")
    text = str(policy.inputs["policy"])
    # every job prefix of its own artifacts bucket (removal-2: a served version outlives its job), no checkpoints
    assert "arn:aws:s3:::fraud-detection-prod-platform-artifacts-222222222222/training/*" in text
    assert "feature-snapshots" not in text and "checkpoints" not in text


def test_hyperparameters_become_strings():
    assert [hyperparameter_text(v) for v in (10, 0.001, 2e-05, True, False, "llama")] == [
        "10", "0.001", "2e-05", "true", "false", "llama"]


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_alarms_are_valid_put_metric_alarm_requests(path, env):
    graph = compiled(path, env)
    for alarm in of_type(graph, ALARM):
        params = _alarm_request(placeholder({k: v for k, v in alarm.inputs.items() if k != "tags"}))
        assert problems("cloudwatch", "PutMetricAlarm", params) == [], alarm.urn
        period = alarm.inputs.get("period") or alarm.inputs["metricQueries"][0]["metric"]["period"]
        limit = 86400 if period < 3600 else 604800
        assert period % 60 == 0 and period * alarm.inputs["evaluationPeriods"] <= limit


def _dimensions(dims):
    return [{"Name": k, "Value": v} for k, v in dims.items()]


def _alarm_request(inputs):
    request = pascal({k: v for k, v in inputs.items() if k not in ("name", "dimensions", "metricQueries")})
    request["AlarmName"] = inputs["name"]
    if "dimensions" in inputs:
        request["Dimensions"] = _dimensions(inputs["dimensions"])
    if "metricQueries" in inputs:
        request["Metrics"] = []
        for query in inputs["metricQueries"]:
            item = pascal({k: v for k, v in query.items() if k != "metric"})
            if "metric" in query:
                m = query["metric"]
                item["MetricStat"] = {"Metric": {"Namespace": m["namespace"], "MetricName": m["metricName"],
                                                 "Dimensions": _dimensions(m["dimensions"])},
                                      "Period": m["period"], "Stat": m["stat"]}
            request["Metrics"].append(item)
    return request


def _monitor(threshold):
    return Monitor.model_validate({"name": "m", "endpoint": "e", "metric": "latency_p99", "threshold": threshold})


def test_latency_thresholds_become_microseconds():
    assert latency_microseconds(_monitor("250ms")) == 250000
    assert latency_microseconds(_monitor("4s")) == 4000000
    assert latency_microseconds(_monitor(300)) == 300000  # a plain number means milliseconds
    graph = compiled(REFERENCE, "prod")
    alarm = one(graph, ALARM, "alerts.scorer-latency").inputs
    assert (alarm["metricName"], alarm["extendedStatistic"], alarm["threshold"]) == ("ModelLatency", "p99", 250000)
    assert alarm["dimensions"] == {"EndpointName": "fraud-detection-prod-scorer", "VariantName": "primary"}
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"], alarm["period"]) == (5, 5, 60)


def test_error_rate_is_metric_math_against_a_fraction():
    alarm = one(compiled(REFERENCE, "prod"), ALARM, "alerts.scorer-errors").inputs
    assert alarm["threshold"] == 0.01
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["errors"]["metric"]["metricName"] == "Invocation5XXErrors"
    assert queries["invocations"]["metric"]["metricName"] == "Invocations"
    assert queries["error_rate"]["expression"] == "errors / invocations"  # no datapoint without traffic
    assert [q["returnData"] for q in alarm["metricQueries"]] == [False, False, True]


def test_drift_alarm_watches_the_metric_the_drift_job_publishes():
    graph = compiled(REFERENCE, "prod")
    alarm = one(graph, ALARM, "alerts.fraud-drift").inputs
    assert (alarm["namespace"], alarm["metricName"], alarm["period"], alarm["evaluationPeriods"]) == (
        "MLOps/Monitoring", "FeatureDrift", 3600, 2)
    step = _steps(one(graph, PIPELINE, "monitors.drift"))["MeasureDrift"]["Arguments"]
    env = step["Environment"]
    assert (env["METRIC_NAMESPACE"], env["METRIC_NAME"], env["SINK"]) == ("MLOps/Monitoring", "FeatureDrift", "cloudwatch")
    assert env["METRIC_DIMENSIONS"] == '{"Endpoint":"fraud-detection-prod-scorer","Monitor":"drift"}'
    assert alarm["dimensions"] == {"Endpoint": "fraud-detection-prod-scorer", "Monitor": "drift"}
    assert env["BASELINE_URI"] == "s3://fraud-detection-prod-transactions-222222222222/"
    assert env["BASELINE_MAX_ROWS"] == "100000"
    assert (env["CAPTURE_URI"], env["CAPTURE_FORMAT"]) == (
        "s3://fraud-detection-prod-platform-capture-222222222222/datacapture/", "sagemaker")
    assert step["AppSpecification"]["ImageUri"] == (
        f"222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud-detection-prod-drift-job:{drift_image.image_tag()}")
    schedule = one(graph, "aws:scheduler/schedule:Schedule", "monitors.drift").inputs
    assert schedule["scheduleExpression"] == "rate(1 hour)"
    assert alarm["alarmActions"] == alarm["okActions"] and len(alarm["alarmActions"]) == 1


def test_alert_trigger_starts_the_training_pipeline_when_the_alarm_fires():
    graph = compiled(REFERENCE, "prod")
    [rule] = [r for r in of_type(graph, "aws:cloudwatch/eventRule:EventRule")
              if r.address == "training_jobs.retrain" and r.role == "alert-trigger-rule"]  # not training_failures'
    alarm = one(graph, ALARM, "alerts.fraud-drift")
    pattern = rule.inputs["eventPattern"]["$json"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["resources"] == [{"$ref": alarm.urn, "output": "arn"}]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    [target] = [t.inputs for t in of_type(graph, "aws:cloudwatch/eventTarget:EventTarget")
                if t.address == "training_jobs.retrain" and t.role == "alert-trigger-target"]
    gate = one(graph, "aws:lambda/function:Function", "training_jobs.retrain")  # B11.2: through the retrain gate
    assert target["arn"] == {"$ref": gate.urn, "output": "arn"}
    assert json.loads(target["input"]) == {"triggeredBy": "alert:fraud-drift"}
    schedule = one(graph, "aws:scheduler/schedule:Schedule", "training_jobs.retrain").inputs
    assert (schedule["scheduleExpression"], schedule["scheduleExpressionTimezone"]) == ("cron(0 3 ? * MON *)", "UTC")


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_autoscaling_is_valid_and_tracks_the_variant(path, env):
    graph = compiled(path, env)
    for endpoint in system(path, env).endpoints:
        if endpoint.autoscaling is None:
            continue
        address = f"endpoints.{endpoint.name}"
        target = one(graph, "aws:appautoscaling/target:Target", address).inputs
        physical = one(graph, ENDPOINT, address).inputs["name"]
        assert target["resourceId"] == f"endpoint/{physical}/variant/{serving.variant_name(endpoint)}"
        assert (target["minCapacity"], target["maxCapacity"]) == (max(1, endpoint.replicas.min),
                                                                   endpoint.replicas.max)
        register = pascal({k: v for k, v in target.items() if k != "tags"})
        assert problems("application-autoscaling", "RegisterScalableTarget", register) == []
        policy = one(graph, "aws:appautoscaling/policy:Policy", address).inputs
        request = pascal(placeholder(policy))
        request["PolicyName"] = request.pop("Name")
        request.update(ServiceNamespace="sagemaker", ResourceId=target["resourceId"],
                       ScalableDimension=target["scalableDimension"])
        assert problems("application-autoscaling", "PutScalingPolicy", request) == [], address


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_autoscaling_is_deleted_with_its_endpoint_and_replaced_delete_first(path, env):
    """Audit autoscale-1: AWS deregisters an endpoint's scalable targets (and their policies) when it deletes the
    endpoint (endpoint-delete-with-scaling.html), so both are Pulumi ``deletedWith`` the endpoint (the engine
    replaces them with it) and delete first (a new registration has the old one's identity)."""
    graph = compiled(path, env)
    scaled = [e for e in system(path, env).endpoints if e.autoscaling is not None]
    for endpoint in scaled:
        address = f"endpoints.{endpoint.name}"
        endpoint_urn = one(graph, ENDPOINT, address).urn
        for type_ in ("aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"):
            options = one(graph, type_, address).options
            assert (options.deleted_with, options.delete_before_replace) == (endpoint_urn, True), (address, type_)
            assert options.to_json()["deletedWith"] == endpoint_urn
    unscaled = [r for r in graph.resources if r.type not in ("aws:appautoscaling/target:Target",
                                                             "aws:appautoscaling/policy:Policy")]
    assert all(r.options.deleted_with is None for r in unscaled)


def test_gpu_utilization_target_is_scaled_by_the_gpus_per_replica():
    llm = [c for c in CASES if c[0] == "llm-platform-prod"]
    if not llm:
        pytest.skip("examples/llm-platform is not present")
    graph = compiled(*llm[0][1:])
    policy = one(graph, "aws:appautoscaling/policy:Policy", "endpoints.reranker").inputs
    config = policy["targetTrackingScalingPolicyConfiguration"]
    assert config["customizedMetricSpecification"]["metricName"] == "GPUUtilization"
    assert config["targetValue"] == 70.0  # L4 x 1
    chat = one(graph, "aws:appautoscaling/policy:Policy", "endpoints.chat").inputs
    assert chat["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}


def test_reference_canary_compiles_to_one_variant_and_a_recorded_rollout_plan():
    graph = compiled(REFERENCE, "prod")
    config = one(graph, CONFIG, "endpoints.scorer").inputs
    (variant,) = config["productionVariants"]
    assert variant["variantName"] == "primary" and variant["instanceType"] == "ml.g5.xlarge"  # stable name (A2)
    assert variant["initialInstanceCount"] == 3 and variant["initialVariantWeight"] == 1.0
    assert "kmsKeyArn" not in config  # g5 has local NVMe storage
    capture = config["dataCaptureConfig"]
    assert capture["initialSamplingPercentage"] == 20 and capture["enableCapture"] is True
    assert capture["destinationS3Uri"] == "s3://fraud-detection-prod-platform-capture-222222222222/datacapture"
    endpoint = one(graph, ENDPOINT, "endpoints.scorer")
    policy = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    # the controller walks the steps; the final config lands in one blue/green swap, no native CANARY (A4, B10)
    assert policy["trafficRoutingConfiguration"] == {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 0}
    assert "autoRollbackConfiguration" not in endpoint.inputs["deploymentConfig"]  # read by the controller (B9)
    assert endpoint.options.ignore_changes == ("endpointConfigName",)  # switched by the controller, not by Pulumi
    # the old model and config still serve after `pulumi up` of a new version: Pulumi must not delete them
    assert one(graph, CONFIG, "endpoints.scorer").options.retain_on_delete
    assert one(graph, MODEL, "endpoints.scorer").options.retain_on_delete
    assert not endpoint.options.retain_on_delete
    plan = graph.rollouts["endpoints.scorer"]
    assert plan["strategy"] == "canary" and plan["steps"] == [2, 5, 10, 25, 75, 100]
    assert plan["bakeSeconds"] == 600 and plan["controller"] == "mlops-infra rollout"
    assert plan["rollbackAlarms"] == ["fraud-detection-prod-scorer-latency", "fraud-detection-prod-scorer-errors"]
    assert (plan["variant"], plan["canaryVariant"]) == ("primary", "canary")
    assert plan["trafficApi"] == "UpdateEndpointWeightsAndCapacities" and plan["gateTimeoutSeconds"] == 900
    assert plan["scalableTarget"] == "endpoint/fraud-detection-prod-scorer/variant/primary"


def test_the_compiled_gate_timeout_is_the_controllers_default():
    from mlops_infra.compile.kubernetes import serving as kube_serving
    from mlops_infra.rollout.model import DEFAULT_GATE_TIMEOUT

    assert serving.GATE_TIMEOUT_SECONDS == kube_serving.GATE_TIMEOUT_SECONDS == DEFAULT_GATE_TIMEOUT


def test_native_strategies_use_a_stable_variant_and_their_deployment_config():
    llm = [c for c in CASES if c[0] == "llm-platform-prod"]
    if not llm:
        pytest.skip("examples/llm-platform is not present")
    graph = compiled(*llm[0][1:])
    assert set(graph.rollouts) == {"endpoints.chat"}
    embeddings = one(graph, ENDPOINT, "endpoints.embeddings").inputs["deploymentConfig"]
    assert embeddings["blueGreenUpdatePolicy"] == {
        "trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 0},
        "terminationWaitInSeconds": 600, "maximumExecutionTimeoutInSeconds": 1800}
    reranker = one(graph, ENDPOINT, "endpoints.reranker").inputs["deploymentConfig"]
    assert reranker["rollingUpdatePolicy"]["maximumBatchSize"] == {"type": "CAPACITY_PERCENT", "value": 25}
    assert len(reranker["autoRollbackConfiguration"]["alarms"]) == 1
    for address in ("endpoints.embeddings", "endpoints.reranker"):
        (variant,) = one(graph, CONFIG, address).inputs["productionVariants"]
        assert variant["variantName"] == "primary"
        assert not one(graph, CONFIG, address).options.retain_on_delete  # Pulumi switches these: old ones go
        assert not one(graph, MODEL, address).options.retain_on_delete


VERSIONED = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: versions}
models: [{name: m, framework: sklearn, artifacts_uri: "s3://imports-123456789012/m/"}]
endpoints:
  - name: api
    model: {name: m, version: VERSION}
    instance_type: ml.m5.large
    replicas: {min: 1, max: 2}
    rollout: {strategy: blue_green, bake: 2h}
monitors: [{name: lat, endpoint: api, metric: latency_p99, threshold: THRESHOLD}]
alerts: [{name: slow, monitor: lat, for: 5m, severity: critical, notify: [ops]}]
channels: [{name: ops, kind: email, address: ops@example.com}]
environments:
  prod: {target: {kind: aws, region: eu-central-1, account: "999999999999"}}
"""


def _versioned(version: int, threshold: str = "100ms"):
    return compile_text(VERSIONED.replace("VERSION", str(version)).replace("THRESHOLD", threshold))


def test_endpoint_config_name_is_a_content_hash():
    v1, v1_again, v2 = _versioned(1), _versioned(1, "900ms"), _versioned(2)
    names = [one(g, CONFIG).inputs["name"] for g in (v1, v1_again, v2)]
    assert names[0] == names[1] != names[2]
    assert re.fullmatch(r"versions-prod-api-cfg-[0-9a-f]{8}", names[0])
    assert one(v1, "aws:sagemaker/model:Model").inputs["name"] != one(v2, "aws:sagemaker/model:Model").inputs["name"]
    config = one(v1, CONFIG)
    assert not config.options.delete_before_replace
    assert config.inputs["kmsKeyArn"] == {"$ref": one(v1, "aws:kms/key:Key").urn, "output": "arn"}  # m5: EBS
    policy = one(v1, ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["terminationWaitInSeconds"] == 3600  # 2h clamped to SageMaker's maximum
    assert v1.rollouts == {}  # only canaries need the controller


def test_local_nvme_families():
    assert serving.has_local_nvme("ml.g5.xlarge") and serving.has_local_nvme("ml.p4d.24xlarge")
    assert not serving.has_local_nvme("ml.m5.large") and not serving.has_local_nvme("ml.p3.2xlarge")


def test_a_serving_role_pulls_its_models_serving_image_even_when_no_job_here_registers_it():
    """Finding B5 (image part): CreateModel pulls the container image with the execution role
    (botocore ``CreateModelInput.ExecutionRoleArn``: the role SageMaker assumes "to access model
    artifacts and docker image for deployment"), so the role of an endpoint whose model no job of
    this system trains (llm-platform's reranker, served by the PyTorch 2.5 framework image) must
    still be allowed to pull that image."""
    llm = [c for c in CASES if c[0] == "llm-platform-prod"]
    if not llm:
        pytest.skip("examples/llm-platform is not present")
    graph = compiled(*llm[0][1:])
    (policy,) = [r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == "reranker-serving-policy"]
    statements = {s["Sid"]: s for s in policy.inputs["policy"]["$json"]["Statement"]}
    assert statements["ModelImagesPull"]["Resource"] == ["arn:aws:ecr:us-west-2:763104351884:repository/pytorch-inference"]


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_the_execution_role_may_describe_the_alarms_sagemaker_rolls_back_on(path, env):
    """SageMaker's own rollback (``deploymentConfig.autoRollbackConfiguration``: blue_green, rolling,
    all_at_once) reads the alarms with the model's execution role: "Ensure that your IAM execution role
    has permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback alarms you
    specify" (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
    A canary's alarms are read by the controller, whose role has them (compile/aws/rollout_runner.py)."""
    graph = compiled(path, env)
    names = {r.urn: r.inputs["name"] for r in of_type(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    region, account = graph.metadata["region"], graph.metadata["account"]
    roles = {r.parent: r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-serving-policy")}
    checked = 0
    for endpoint in of_type(graph, ENDPOINT):
        watched = ((endpoint.inputs.get("deploymentConfig") or {}).get("autoRollbackConfiguration") or {}).get("alarms")
        statements = {s["Sid"]: s for s in roles[endpoint.parent].inputs["policy"]["$json"]["Statement"]}
        if not watched:
            assert "ReadRollbackAlarms" not in statements, endpoint.urn
            continue
        expected = sorted(f"arn:aws:cloudwatch:{region}:{account}:alarm:{names[a['alarmName']['$ref']]}" for a in watched)
        granted = statements["ReadRollbackAlarms"]
        resources = [granted["Resource"]] if isinstance(granted["Resource"], str) else granted["Resource"]
        assert (granted["Action"], sorted(resources)) == (["cloudwatch:DescribeAlarms"], expected), endpoint.urn
        checked += 1
    if "llm-platform" in Path(path).parts and env == "prod":
        assert checked, "llm-platform prod has blue/green endpoints that roll back on alarms"


@pytest.mark.parametrize("endpoint", ["realtime-transaction-scorer-e", "realtime-transaction-scorer-eu1a",
                                      "realtime-transaction-scorer-eu1a-west-ireland-primary-1"])
def test_a_long_endpoint_name_keeps_the_models_version_suffix(endpoint):
    """The rollout controller reads which version a SageMaker model serves from its "-v<N>-<hash>" suffix
    (rollout/drivers/sagemaker.model_version), and the runner's DeleteModel grant matches an endpoint's
    models by the part before it (rollout_runner.model_prefix). Cut to 63 characters as a whole
    (botocore CreateModelInput.ModelName: max 63), the name of a model of an endpoint whose physical
    name had 53 or more characters lost the suffix: the controller saw no stable version and finished
    a canary at once (runtime audit). Names of 52 characters and fewer are unchanged."""
    from mlops_infra.compile.aws.rollout_runner import model_prefix
    from mlops_infra.rollout.drivers.sagemaker import model_version

    text = REFERENCE.read_text().replace("scorer", endpoint)
    models = {v: one(compile_text(edit(text, "version: 12}", f"version: {v}}}"), "prod"), "aws:sagemaker/model:Model")
              for v in (11, 12)}
    names = {v: m.inputs["name"] for v, m in models.items()}
    assert all(len(n) <= 63 for n in names.values())
    assert {v: model_version(n) for v, n in names.items()} == {11: "11", 12: "12"}
    prefix = model_prefix(names[12])
    assert names[11].startswith(prefix) and names[12].startswith(prefix) and prefix.endswith("-v")
