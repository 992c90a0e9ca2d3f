"""Clusters and training jobs on SageMaker.

Contract:
- A cluster is capacity configuration, not a resource, on SageMaker: its ``mlops:compute:GpuCluster``
  component records the facts (instance type from the accelerator, spot, node range, budget) and
  the training jobs on it use them. Nothing is billed until a job runs.
- A training job is a ``mlops:training:Job`` holding a training role (reads its inputs, writes its
  outputs, pulls its image, uses the platform key), a SageMaker pipeline with a Training step and,
  when it ``registers`` a model, a RegisterModel step into that model's package group with the
  approval status of the model's approval mode; an EventBridge Scheduler schedule per cron
  expression (:mod:`schedules`) and, per ``on_alerts`` entry, an EventBridge rule on that alert's
  alarm entering ALARM with a target starting the pipeline; and an EventBridge rule telling the job's
  channels that a pipeline execution failed (:mod:`training_failures`).
- Model artifacts go to ``training/<job>/`` of the platform artifacts bucket, which never expires
  a version (finding B4, :func:`storage.training_output`), encrypted with the platform key; spot
  runs checkpoint to ``checkpoints/<job>/<pipeline execution id>/`` of the same bucket
  (:func:`checkpoint_uri`) so an interrupted run resumes and the next run starts afresh, and may
  wait for capacity as long again as their runtime. Output data sources are written whole.
- Images (:mod:`mlops_infra.spec.containers`): the Training step runs the job's ``image`` or the
  SageMaker framework training image of its ``framework_version`` in this region; the RegisterModel
  step's container is the model's serving image: its ``serving_image``, the framework inference image
  (of the model's or the job's framework version), and only failing those the training image (which
  must then implement SageMaker's ``serve`` entry point). ``validate`` has checked each is in ECR in
  this region (B3).
- The Train step's ``Environment``: the job's name, what triggered the run, its ``precision`` and
  ``sharding`` as the runtime contract reads them and, for ``nodes > 1``, torchrun's c10d rendezvous
  on ``algo-1`` (``PET_*``), without which each instance ran a one-node job of its own
  (:mod:`mlops_infra.compile.container_env`; audit training-1, training-2); and where each output data
  source is, ``MLOPS_OUTPUT_<SOURCE>`` = ``s3://<bucket>/``, the bucket its role may write (audit
  datasources-2: SageMaker passes a container its channels, its ``OutputDataConfig`` (the model) and its
  ``Environment``, botocore ``sagemaker`` ``CreateTrainingJobRequest``; nothing named the outputs). The
  inputs stay channels (``/opt/ml/input/data/<source>``, what the runtime reads on SageMaker). The
  ``Environment`` is botocore's ``TrainingEnvironmentMap``: at most 100 entries, keys
  ``[a-zA-Z_][a-zA-Z0-9_]*`` and values of at most 512 characters; ``validate`` refuses more outputs
  than fit (``spec/aws_lists.py``), and :func:`training_environment` checks the map it builds.
"""

from __future__ import annotations

import re
from typing import Any

from mlops_infra.compile import container_env, facts
from mlops_infra.compile.aws import (
    arns,
    gates,
    iam,
    pipelines,
    policies,
    registry,
    schedules,
    serving,
    storage,
    training_failures,
)
from mlops_infra.compile.aws.context import AwsContext, require
from mlops_infra.compile.aws.images import job_image, model_serving_image
from mlops_infra.graph import ref
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.fit import training_fit
from mlops_infra.spec.limits import SAGEMAKER_TRAINING_ENVIRONMENT_MAX
from mlops_infra.spec.training import TrainingJob

TRAINING_METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
DEFAULT_MAX_RUNTIME_SECONDS = 86400
TRAINING_VOLUME_GB = 100
CONTENT_TYPES = ["application/json"]


def compile_cluster(aws: AwsContext, item: Cluster) -> None:
    """A cluster: only its component, with the facts training jobs use."""
    aws.ctx.component("clusters", item.name, facts.cluster_facts(item))


def hyperparameter_text(value: str | int | float | bool) -> str:
    """SageMaker hyperparameters are strings: booleans as ``true``/``false``, floats as repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _channels(aws: AwsContext, item: TrainingJob) -> list[dict[str, Any]]:
    return [{"ChannelName": name, "InputMode": "File", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": arns.s3_uri(aws.buckets[name]),
        "S3DataDistributionType": "FullyReplicated"}}} for name in item.inputs if name in aws.buckets]


ENVIRONMENT_MAX = SAGEMAKER_TRAINING_ENVIRONMENT_MAX
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
ENVIRONMENT_TEXT_MAX = 512
"""botocore ``sagemaker`` ``TrainingEnvironmentMap`` (``"max": 100``), ``TrainingEnvironmentKey``
(pattern, ``"max": 512``) and ``TrainingEnvironmentValue`` (``"max": 512``)."""


def training_environment(aws: AwsContext, item: TrainingJob) -> dict[str, Any]:
    """The Train step's ``Environment`` (module docstring): job, trigger, precision, sharding, torchrun's
    rendezvous and the output data sources. A map past botocore's ``TrainingEnvironmentMap`` limits
    raises: ``validate`` refuses such a job first (``too-many-output-variables``), so this is a bug."""
    values: dict[str, Any] = {
        "MLOPS_TRAINING_JOB": item.name, "MLOPS_TRIGGERED_BY": pipelines.TRIGGERED_BY,
        **container_env.parallelism(item), **container_env.sagemaker_rendezvous(item),
        **container_env.data_source_uris(container_env.OUTPUT, item.outputs, aws.buckets.get)}
    bad = [k for k, v in values.items() if not ENVIRONMENT_KEY.fullmatch(k) or len(k) > ENVIRONMENT_TEXT_MAX
           or (isinstance(v, str) and len(v) > ENVIRONMENT_TEXT_MAX)]
    if len(values) > ENVIRONMENT_MAX or bad:
        raise ValueError(f"the Train step of training job {item.name} has {len(values)} environment variables "
                         f"(SageMaker takes at most {ENVIRONMENT_MAX}, keys [a-zA-Z_][a-zA-Z0-9_]* and values of at "
                         f"most {ENVIRONMENT_TEXT_MAX} characters; out of bounds: {bad}); spec checks must reject "
                         "this (this is a bug in mlops-infra)")
    return values


def training_step(aws: AwsContext, item: TrainingJob, job_facts: dict[str, Any], role: str) -> dict[str, Any]:
    """The Training step: ``CreateTrainingJob`` arguments without the job name."""
    bucket, prefix = storage.training_output(aws, item)
    instance = job_facts["instanceType"]
    runtime = job_facts["maxRuntimeSeconds"] or DEFAULT_MAX_RUNTIME_SECONDS
    algorithm: dict[str, Any] = {"TrainingImage": job_image(aws, item), "TrainingInputMode": "File"}
    if item.command:
        algorithm["ContainerEntrypoint"] = list(item.command)
    if item.args:
        algorithm["ContainerArguments"] = list(item.args)
    resources: dict[str, Any] = {"InstanceType": instance, "InstanceCount": item.nodes,
                                 "VolumeSizeInGB": TRAINING_VOLUME_GB}
    if not serving.has_local_nvme(instance):
        resources["VolumeKmsKeyId"] = ref(aws.key, "arn")
    arguments: dict[str, Any] = {
        "AlgorithmSpecification": algorithm, "RoleArn": ref(role, "arn"),
        "HyperParameters": {k: hyperparameter_text(v) for k, v in sorted(item.hyperparameters.items())},
        "InputDataConfig": _channels(aws, item),
        "OutputDataConfig": {"S3OutputPath": arns.s3_uri(bucket, prefix), "KmsKeyId": ref(aws.key, "arn")},
        "ResourceConfig": resources,
        "StoppingCondition": {"MaxRuntimeInSeconds": runtime},
        "EnableManagedSpotTraining": bool(job_facts["spot"]),
        "EnableInterContainerTrafficEncryption": item.nodes > 1,
        "Environment": training_environment(aws, item),
    }
    if job_facts["spot"]:
        arguments["StoppingCondition"]["MaxWaitTimeInSeconds"] = 2 * runtime
        arguments["CheckpointConfig"] = {"S3Uri": checkpoint_uri(bucket, item)}
    return {"Name": "Train", "Type": "Training", "Arguments": arguments}


EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
"""The running pipeline execution's id, a pipeline definition expression (SageMaker Python SDK
``sagemaker.core.workflow.execution_variables.ExecutionVariables.PIPELINE_EXECUTION_ID``)."""


def checkpoint_uri(bucket: str, item: TrainingJob) -> dict[str, Any]:
    """``s3://<bucket>/checkpoints/<job>/<pipeline execution id>/``: one checkpoint prefix per run.

    SageMaker copies what is under a job's ``CheckpointConfig.S3Uri`` into ``/opt/ml/checkpoints`` when
    the job starts: "To resume a training job from a checkpoint, run a new estimator with the same
    checkpoint_s3_uri ... the checkpoints from this S3 bucket are restored to checkpoint_local_path in
    each instance of the new training job" (https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints-resume.html).
    One prefix for every run of the job made each scheduled or alert-triggered retrain start from the
    last run's final checkpoint: a training script that resumes (the examples' ``fraud.train``, with
    its step budget spent) trained nothing and registered last week's weights as a new version. A spot
    interruption resumes the same training job, and a step retry runs within the same execution, so
    both still find their checkpoints. The id is joined in at run time (``Std:Join``, as the SDK's
    ``sagemaker.core.workflow.functions.Join`` writes it); the training role's grant on
    ``checkpoints/<job>/*`` covers every run's prefix. On Kubernetes the checkpoint folder is the
    pod's own (``MLOPS_CHECKPOINT_DIR`` unset), so each run starts afresh there too."""
    return {"Std:Join": {"On": "/", "Values": [arns.s3_uri(bucket, f"checkpoints/{item.name}"), EXECUTION_ID, ""]}}


def register_step(aws: AwsContext, item: TrainingJob) -> dict[str, Any]:
    """The RegisterModel step: ``CreateModelPackage`` arguments for the trained artifacts."""
    model = aws.ctx.system.item("models", item.registers)
    serving_types = sorted({instance for ep in aws.endpoints_by_model.get(item.registers, ())
                            if (instance := facts.endpoint_instance(ep))})
    inference: dict[str, Any] = {
        "Containers": [{"Image": model_serving_image(aws, item.registers, job_image(aws, item)),
                        "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}],
        "SupportedContentTypes": CONTENT_TYPES, "SupportedResponseMIMETypes": CONTENT_TYPES,
    }
    if serving_types:
        inference["SupportedRealtimeInferenceInstanceTypes"] = serving_types
    return {"Name": "RegisterModel", "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": ref(aws.groups[item.registers], "modelPackageGroupName"),
        "ModelApprovalStatus": registry.APPROVAL_STATUS[model.approval],
        "ModelPackageDescription": f"Trained by {aws.ctx.system.metadata.name} training job {item.name}",
        "InferenceSpecification": inference,
        "CustomerMetadataProperties": {"TrainingJob": item.name, "TriggeredBy": pipelines.TRIGGERED_BY},
    }}


def _reads(aws: AwsContext, item: TrainingJob) -> list[tuple[str, str]]:
    return [(aws.buckets[n], "") for n in item.inputs if n in aws.buckets]


def _writes(aws: AwsContext, item: TrainingJob) -> list[tuple[str, str]]:
    """(bucket, prefix) the job writes: its output data sources whole, and its artifacts and checkpoints prefixes."""
    outputs = [(aws.buckets[n], "") for n in item.outputs if n in aws.buckets]
    bucket, prefix = storage.training_output(aws, item)
    return [*outputs, (bucket, prefix), (bucket, f"checkpoints/{item.name}/")]


def _training_statements(aws: AwsContext, item: TrainingJob, instance: str) -> list:
    """The execution role's grants: read inputs and checkpoints, write outputs, use the platform key, pull the
    image, write logs and metrics; on an ``instance`` without local NVMe, whose Train step sets
    ``ResourceConfig.VolumeKmsKeyId`` (:func:`training_step`), also ``kms:CreateGrant`` for AWS resources only:
    "If you specify a volume KMS key in the resource configuration of your training job, add the following
    permissions: ... kms:CreateGrant" (SageMaker Developer Guide, "How to use SageMaker execution roles",
    "CreateTrainingJob API: Execution Role Permissions"; the pipelines role, the caller, holds it too:
    ``platform.py``; audit iam-5)."""
    outputs = _writes(aws, item)
    image = arns.ecr_repository_arn_of_image(job_image(aws, item))
    return [
        *policies.s3_read("ReadInputsAndCheckpoints", aws.region, _reads(aws, item) + outputs),
        *policies.s3_write("WriteOutputs", aws.region, outputs),
        policies.kms_use("UseDataKey", ref(aws.key, "arn")),
        policies.kms_service_grant("EncryptJobVolume", ref(aws.key, "arn"))
        if not serving.has_local_nvme(instance) else None,
        *policies.ecr_pull("TrainingImage", [image] if image else []),
        policies.logs("WriteJobLogs", aws.region, aws.account, [TRAINING_METRICS_NAMESPACE]),
        policies.put_metrics("PublishJobMetrics", [TRAINING_METRICS_NAMESPACE]),
    ]


def schedule_name(aws: AwsContext, job: str, index: int, count: int) -> str:
    """The EventBridge Scheduler name of the ``index``-th of a job's ``count`` schedule expressions.

    One expression: ``<system>-<env>-train-<job>``. A cron AWS needs two expressions for (day of month
    and day of week both set: :func:`~mlops_infra.compile.aws.schedules.aws_cron_expressions`) gets
    one schedule each, told apart by ``.1`` and ``.2``: a dot, which Scheduler names allow (botocore
    ``scheduler`` ``Name``: ``[0-9a-zA-Z-_.]+``, at most 64) and item names never hold, so no other
    job's schedule can have the name (finding collisions-3: with ``-1`` the second schedule of job
    ``retrain`` was named as the schedule of a job ``retrain-1``, and ``CreateSchedule`` answered
    ``ConflictException``: schedule names are unique in their group, every schedule here is in
    ``default``)."""
    if count == 1:
        return aws.name("train", job, max_len=64)
    return f"{aws.name('train', job, max_len=62)}.{index + 1}"


def _add_triggers(aws: AwsContext, item: TrainingJob, pipeline: str, component: str) -> None:
    """Schedules and alarm rules, through the job's retrain gate (B11.2: at most one run at a time)."""
    address = f"training_jobs.{item.name}"
    alerts = [a for a in item.triggers.on_alerts if a in aws.alarms]
    if not item.triggers.schedule and not alerts:
        return
    gate = gates.add_gate(aws, item.name, pipeline, aws.name("train", item.name), parent=component, address=address)
    if item.triggers.schedule:
        expressions = schedules.aws_cron_expressions(str(item.triggers.schedule))
        for index, expression in enumerate(expressions):
            suffix = f"-{index + 1}" if len(expressions) > 1 else ""
            pipelines.add_schedule(aws, f"{item.name}-schedule{suffix}", schedule_name(aws, item.name, index, len(expressions)),
                                   expression, pipeline,
                                   parent=component, address=address, gate=gate,
                                   description=f"Run training job {item.name} at {item.triggers.schedule} UTC")
    rules = [(f"{item.name}-on-{alert}", aws.name("train", item.name, "on", alert, max_len=64), alert)
             for alert in alerts]
    shared = None
    if rules and not gates.rule_permissions_fit(aws, gates.gate_name(aws, item.name),
                                                {logical: name for logical, name, _ in rules}):
        # one permission for all the job's rules, or the gate's policy passes Lambda's 20 KB (gates.py)
        shared = gates.allow_rules(aws, f"{item.name}-on-alerts", gate, [name for _, name, _ in rules],
                                   aws.name("train", item.name, "on") + "-", parent=component, address=address)
    for logical, name, alert in rules:
        pipelines.add_alarm_trigger(aws, logical, name, alert, pipeline, parent=component, address=address,
                                    gate=gate, permission=shared)


def compile_training_job(aws: AwsContext, item: TrainingJob) -> None:
    """A training job: component, role, pipeline (train, register) and its triggers."""
    address = f"training_jobs.{item.name}"
    cluster = require(aws.ctx.system.item("clusters", item.cluster), f"cluster {item.cluster}")
    job_facts = facts.training_job_facts(item, cluster, image=job_image(aws, item),
                                         fit=training_fit(aws.ctx.system, item))
    require(job_facts["instanceType"], f"a SageMaker training instance type for {address}")
    component = aws.ctx.component("training_jobs", item.name, job_facts)
    spec = iam.RoleSpec(f"{item.name}-training", ("train", item.name), (iam.SAGEMAKER,),
                        f"Runs training job {item.name}: reads its inputs, writes its outputs.")
    role = iam.add_role(aws, spec, _training_statements(aws, item, job_facts["instanceType"]), parent=component,
                        address=address)
    aws.job_roles.append(role)
    steps = [training_step(aws, item, job_facts, role)]
    if item.registers and item.registers in aws.groups:
        steps.append(register_step(aws, item))
    buckets = sorted({aws.bucket_urns[b] for b, _ in [*_reads(aws, item), *_writes(aws, item)]})
    pipeline = pipelines.add_pipeline(
        aws, f"{item.name}-pipeline", aws.name("train", item.name), pipelines.definition(steps),
        parent=component, address=address, description=f"Training job {item.name}",
        depends_on=[iam.policy_urn(aws, spec, component), *buckets])
    _add_triggers(aws, item, pipeline, component)
    training_failures.add_failure_rule(aws, item, pipeline, parent=component, address=address)
