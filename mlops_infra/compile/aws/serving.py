"""Endpoints on SageMaker: model, immutable endpoint configuration, endpoint, autoscaling, rollout.

Contract, per ``mlops:serving:Endpoint``:
- a serving role (SageMaker trust) that reads the model artifacts of the environment's artifacts
  bucket (``training/``, :func:`_model_reads`) and the model's ``artifacts_uri``, pulls the images the
  spec names for the model and the image its served version was registered with, as far as the
  registry view knows it (:func:`_served_images`), writes capture data under
  ``datacapture/<endpoint>/`` of the platform capture bucket, uses the platform key, writes its own
  log group and publishes metrics only into ``/aws/sagemaker/Endpoints``; with a strategy SageMaker
  rolls back itself, it may also ``cloudwatch:DescribeAlarms`` its rollback alarms, which SageMaker
  requires of the execution role (:func:`_serving_statements`);
- an ``aws:sagemaker/model:Model`` whose primary container is the pinned model package version
  (``arn:aws:sagemaker:<r>:<a>:model-package/<group>/<version>``: computable, so the plan shows it);
- an ``aws:sagemaker/endpointConfiguration:EndpointConfiguration`` named
  ``<system>-<env>-<endpoint>-cfg-<hash>``: endpoint configs are immutable, so any change yields a
  new name. Models are named by content hash for the same reason. Both carry an explicit
  ``deleteBeforeReplace: false`` (:func:`_kept`): Pulumi creates the new config, points the endpoint
  at it, then deletes the old one. Left unset, the provider would delete first: pulumi-aws gives
  every resource with an input ``name`` an AutoName default (provider/autonaming.go
  ``setAutonaming``), and the bridge answers ``deleteBeforeReplace`` for any replace whose desired
  inputs set such a field explicitly, whether or not it changes (pulumi-terraform-bridge
  pkg/tfbridge/schema.go ``nameRequiresDeleteBeforeReplace``; provider.go ``Diff``); that deletes
  the live config before ``UpdateEndpoint``, which botocore ``DeleteEndpointConfig`` forbids ("You
  must not delete an EndpointConfig in use by an endpoint that is live"; the failure is
  hashicorp/terraform-provider-aws#40048, "Could not find endpoint configuration");
- an ``aws:sagemaker/endpoint:Endpoint`` with a ``deploymentConfig`` chosen by
  :data:`DEPLOYMENTS` on the rollout strategy, rolling back on the alarms of ``rollback_on``;
- with ``autoscaling``: an Application Auto Scaling target on the variant's
  ``DesiredInstanceCount`` (min/max from ``replicas``, at least 1: instance-based variants cannot
  scale to zero) and a target-tracking policy (:data:`SCALING_METRICS`).

Model versions (finding A1): the pinned version must be in the environment's registry and Approved
there, whatever the gates (SageMaker deploys a versioned package only when Approved: audit registry-2,
:func:`~mlops_infra.model_versions.deploys_approved_only`), decided by
:meth:`~mlops_infra.compile.context.CompileContext.version_decision` (:mod:`mlops_infra.model_versions`): while
the version is not available, an existing endpoint keeps the version it serves and a new one gets
only its component and serving role; the decision is recorded in ``graph.model_versions``.

Variant names (review finding A2): always the stable ``primary``, for every strategy, so a new
model version updates the variant in place and AWS keeps its autoscaling registration (AWS "Update
endpoints that use auto scaling": deregistering is needed only to change the instance type of, or
remove, an autoscaled variant). A canary adds a second variant, ``canary``, only while the rollout
controller runs it (:mod:`mlops_infra.rollout.drivers.sagemaker`); see :func:`canary_rollout`.

Canary endpoints are switched by the controller, not by Pulumi: the endpoint ignores changes to
``endpointConfigName`` (``pulumi up`` creates the new model and final config; the controller moves
traffic step by step and lands the final config at the end); their model and config are
``retainOnDelete`` (:func:`_kept`: the old ones still serve after ``pulumi up``), and the endpoint carries no
``autoRollbackConfiguration``: the controller reads the rollback alarms itself. That also keeps a
``rollback_on`` change from recreating the endpoint (review finding B9: terraform-provider-aws
``internal/service/sagemaker/endpoint.go`` declares ``deployment_config.auto_rollback_configuration``
``ForceNew``, and with an explicit name the bridge deletes before it creates). For the native
strategies that keep it, ``plan`` shows such a change as a replacement (``plan/rules.py``).

Autoscaled counts: the live ``DesiredInstanceCount`` is not an input of any resource here
(``initialInstanceCount`` only seeds a new config), so no ``ignore_changes`` is needed. pulumi-aws
cannot pass ``RetainAllVariantProperties`` to ``UpdateEndpoint`` (hashicorp/terraform-provider-aws
#48990), so a config change applied by Pulumi resets the variant to ``initialInstanceCount`` =
``replicas.min`` until autoscaling scales it back; the rollout plan asks the controller to update
with ``RetainAllVariantProperties`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlops_infra import catalog
from mlops_infra.canary_size import FLEET_PROVISIONING_SECONDS
from mlops_infra.compile import facts, rollout_code
from mlops_infra.compile.aws import arns, iam, policies, registry, storage
from mlops_infra.compile.aws.context import AwsContext, require
from mlops_infra.compile.aws.images import job_image, model_serving_image
from mlops_infra.compile.naming import short_hash
from mlops_infra.graph import ResourceOptions, ref
from mlops_infra.model_versions import Decision
from mlops_infra.s3_uri import split
from mlops_infra.spec.fit import serving_fit
from mlops_infra.spec.rolling_batch import rolling_batch
from mlops_infra.spec.serving import Endpoint

MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
STABLE_VARIANT = "primary"
GATE_TIMEOUT_SECONDS = 900
"""How long the rollout controller holds a step whose rollback alarms cannot be read before it rolls
back (``mlops_infra.rollout.model.DEFAULT_GATE_TIMEOUT``)."""
CAPTURE_PREFIX = "datacapture"
IMAGE_UNKNOWN_FACT = "imageUnknownFor"
"""The endpoint component's fact listing the versions it may run whose image a registry read did not
give (:func:`_served_images`); ``plan/serving_pull.IMAGE_UNKNOWN_FACT`` reads it (the plan core does not
import the compiler; tests/plan/test_serving_pull.py checks they agree)."""
ENDPOINT_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
MAX_WAIT_SECONDS = 3600
"""SageMaker's limit on WaitIntervalInSeconds and TerminationWaitInSeconds; longer bakes are
clamped natively and honoured in full by the rollout controller."""
EXECUTION_TIMEOUT_RANGE = (600, 14400)
"""Bounds of ``MaximumExecutionTimeoutInSeconds``: botocore 1.44 ``BlueGreenUpdatePolicy`` and
``RollingUpdatePolicy`` allow 600-28800 s, but terraform-provider-aws (which pulumi-aws bridges)
validates ``maximum_execution_timeout_in_seconds`` with ``validation.IntBetween(600, 14400)``
(``internal/service/sagemaker/endpoint.go``), so the narrower range is the one that applies."""

def endpoint_name(aws: AwsContext, name: str) -> str:
    """The physical SageMaker endpoint name of endpoint ``name`` (made once per compile: a dozen
    resources of each endpoint name it)."""
    found = aws.endpoint_names.get(name)
    if found is None:
        found = aws.endpoint_names[name] = aws.name(name)
    return found


def variant_name(item: Endpoint) -> str:
    """The stable ``primary`` (see the module docstring, finding A2)."""
    return STABLE_VARIANT


def capture_prefix(physical_endpoint: str) -> str:
    """Where SageMaker writes capture files of an endpoint (it appends ``<endpoint>/<variant>/...``)."""
    return f"{CAPTURE_PREFIX}/{physical_endpoint}/"


def has_local_nvme(instance_type: str) -> bool:
    """Whether the instance has local NVMe instance storage, from the catalog
    (:func:`mlops_infra.catalog.has_instance_storage`, derived from EC2 ``DescribeInstanceTypes``).

    Such instances' local storage is encrypted by a hardware module, not with a KMS key, and the two
    SageMaker APIs say different things about a key there (botocore 1.44.8): a training job may not
    name one, ``ResourceConfig.VolumeKmsKeyId``: "You can't request a VolumeKmsKeyId when using an
    instance type with local storage"; an endpoint config may, but it is not used for that storage,
    ``CreateEndpointConfigInput.KmsKeyId``: "If any of the models that you specify in the
    ProductionVariants parameter use nitro-based instances with local storage, the KmsKeyId parameter
    does not encrypt instance local storage". So the key is set only where the instance has none:
    the Train step's ``VolumeKmsKeyId`` (``training.py``) and the endpoint config's ``kmsKeyArn``
    (:func:`_add_config`, where leaving it off on such an instance loses nothing). An unclassified
    family counts as NVMe: leaving the key off never fails an apply (an EBS volume is then encrypted
    with the AWS managed key), setting it on a training instance with local storage does.
    """
    return catalog.has_instance_storage(instance_type) is not False


def _registering_jobs(aws: AwsContext, model: str) -> list:
    return aws.jobs_by_registered_model.get(model, [])


def _imported_artifacts(aws: AwsContext, model: str) -> list[tuple[str, str]]:
    """(bucket, prefix) of the model's ``artifacts_uri`` (B5: versions registered elsewhere, or
    promoted in), or none."""
    declared = aws.ctx.system.item("models", model)
    if declared is None or not declared.artifacts_uri:
        return []
    parts = split(declared.artifacts_uri)
    if parts is None:  # the spec refuses it (spec/registry.py: ``^s3://<bucket>(/...)?$``): nothing to read
        return []
    bucket, prefix = parts
    return [(bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/")]


def _model_reads(aws: AwsContext, model: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """What a serving role of ``model`` reads: (bucket, prefix) of its artifacts and the ECR
    repository ARNs of the images the spec names for it (each endpoint adds the image of the version
    it serves, :func:`_served_images`). A function of the model name and the (immutable) system alone, so
    made once per model (``aws.model_reads``) for every endpoint serving it.

    Artifacts: ``training/`` of the environment's own platform artifacts bucket, where every training
    job of the system writes (``training/<job>/``, :func:`storage.training_output`) and promote copies a
    version no job registers (``training/promoted/``, ``promote/artifacts._destination``), and the
    model's ``artifacts_uri``. Not only the prefixes of the jobs that register the model today (audit
    finding removal-2): the version an endpoint serves was registered by whichever job ran then, its
    ``ModelDataUrl`` stays under that job's prefix when the job leaves the spec, and SageMaker reads it
    with this role whenever it starts an instance (botocore ``CreateModelInput.ExecutionRoleArn``: the
    role SageMaker assumes "to access model artifacts and docker image for deployment"), so a
    scale-out or instance replacement after the job's removal would fail. Artifact keys carry no
    model name, so ``training/`` is the narrowest prefix that stays correct; it holds only this
    system's models in this environment (checkpoints, under ``checkpoints/``, are not granted)."""
    found = aws.model_reads.get(model)
    if found is not None:
        return found
    jobs = _registering_jobs(aws, model)
    artifacts = [(storage.platform_bucket(aws, "artifacts"), storage.TRAINING_PREFIX)]
    imported = _imported_artifacts(aws, model)
    artifacts.extend(imported)
    # B5: the model's own serving image (serving_image, or the framework image) is pulled whether or not a
    # job of this system registers the version; a registering job's image only when the model names none.
    served = [model_serving_image(aws, model, None)] + [
        model_serving_image(aws, model, job_image(aws, job)) for job in jobs]
    images = sorted({a for image in served if image and (a := arns.ecr_repository_arn_of_image(image))})
    found = aws.model_reads[model] = (tuple(artifacts), tuple(images))
    return found


def _served_images(aws: AwsContext, item: Endpoint) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(the ECR repository ARNs of the images the versions endpoint ``item`` runs were registered
    with, as far as the registry view knows them; the versions it may run whose image a registry read
    did not give) (audit removal-2, the image side; closing-33c-1). The versions: the one it serves in
    this graph (``item`` is :func:`served`'s: the held version while a bump waits for approval), the one
    the endpoint served before (``view.serving``: the prior state's, or the live one), and every
    version its live endpoint config's variants run (``view.running``: a canary's old variant keeps
    running under this role until the controller lands the new config, also after the bump's apply
    has made the prior state's model the new version).

    The compiled ``Model`` names only its model package (``primaryContainer.modelPackageName``,
    :func:`_add_model`; botocore ``ContainerDefinition.ModelPackageName``), so it runs the image the
    package was registered with (``InferenceSpecification.Containers[].Image``, botocore
    ``ModelPackageContainerDefinition.Image``), not whatever the spec names today, and SageMaker pulls
    it with the model's execution role, this endpoint's serving role, at every instance start
    (scale-out, instance replacement, a rollback's fleet): botocore ``CreateModelInput.ExecutionRoleArn``,
    the role SageMaker assumes "to access model artifacts and docker image for deployment", and the
    SageMaker Developer Guide, "CreateModel API: Execution Role Permissions"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms):
    ``ecr:BatchCheckLayerAvailability``, ``ecr:GetDownloadUrlForLayer``, ``ecr:BatchGetImage``, scoped
    to "a specific registry path that you specify as the PrimaryContainer.Image". So a served
    version's pull must not hang on the training job that registered it: with the job removed from
    the spec (a model without ``serving_image`` or ``framework_version``) nothing else names its image.

    The image is known from a registry read (``plan --refresh``, ``apply`` and the Pulumi program:
    :func:`mlops_infra.state.aws_live.model_registry.read_registry` describes every version pinned,
    served or run, ``DescribeModelPackage`` ``Image``; botocore ``ModelPackageSummary``, what
    ``ListModelPackages`` gives, has none). What the spec names (:func:`_model_reads`: the job's image)
    is granted whatever this finds. A version the endpoint serves or runs that a registry read does
    not list (the package was deleted) is returned as unknown (an offline view returns none: the
    ``basis`` says the plan cannot know): the plan then warns
    when the serving role loses a pull the prior state had (:mod:`mlops_infra.plan.serving_pull`). An
    endpoint whose live read failed (``view.running_unread``) has no ``running`` here, so the pull of a
    canary's previous version is not kept: nothing here knows that version (closing-33d-2); its decision
    says so (``Decision.running_unread``, outside the graph digest) and the plan warns.

    Each version is looked up in the registry of the model it is a version of (``RegistryView.runs``): an
    endpoint switched to another model runs the old model's package in its canary's stable variant (the
    version ``serving`` gives is of ``serving_models``' model, the versions ``running_models`` gives of
    theirs), whose image is in the OLD model's group; before, the old number was looked up in the new
    model's group (left43a). The unknown versions are those of the compiled model (the plan's warning
    names them with it); another model's version without an image is not listed."""
    view = aws.ctx.registry
    declared = aws.ctx.system.item("endpoints", item.name)
    images: set[str] = set()
    unknown: set[int] = set()
    compiled = (item.model.name, item.model.version)
    for model, version in view.runs(item.name, *compiled, pinned=declared.model.name if declared else None):
        registry = view.models.get(model)
        record = registry.versions.get(version) if registry is not None else None
        if record is not None and record.image:
            if (repository := arns.ecr_repository_arn_of_image(record.image)) is not None:
                images.add(repository)
        elif (registry is not None and registry.basis == "registry" and model == item.model.name
              and (record is not None or (model, version) != compiled)):
            unknown.add(version)
    return tuple(sorted(images)), tuple(sorted(unknown))


def _serving_statements(aws: AwsContext, item: Endpoint, physical: str, served_images: tuple[str, ...]) -> list:
    """The serving role's statements; ``served_images`` is :func:`_served_images`' first part for ``item``."""
    model = item.model.name
    images = sorted({*_model_reads(aws, model)[1], *served_images})
    statements = [
        *aws.once((_model_statements, model), lambda: _model_statements(aws, model)),
        *policies.ecr_pull("ModelImages", images),  # a list of this role's own (its Resource)
        policies.logs("WriteEndpointLogs", aws.region, aws.account, [f"{ENDPOINT_METRICS_NAMESPACE}/{physical}"]),
        aws.once(_serving_metrics_statement, lambda: _serving_metrics_statement(aws)),
    ]
    if item.capture:
        capture = storage.platform_bucket(aws, "capture")
        statements += policies.s3_write("WriteCapture", aws.region, [(capture, capture_prefix(physical))])
    watched = _sagemaker_rollback_alarms(aws, item)
    if watched:
        # "Ensure that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms
        # action on the auto-rollback alarms you specify" (SageMaker "Auto-Rollback Configuration and
        # Monitoring", https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html)
        statements.append(policies.allow("ReadRollbackAlarms", ["cloudwatch:DescribeAlarms"],
                                         [arns.alarm_arn(aws.region, aws.account, aws.alarm_names[a]) for a in watched]))
    return statements


def _model_statements(aws: AwsContext, model: str) -> list:
    """The statements of :func:`_serving_statements` that are the same for every endpoint serving ``model``
    (made once per compile and model: :meth:`AwsContext.once`): read its artifacts (:func:`_model_reads`),
    use the platform key, decrypt the artifacts of an ``artifacts_uri`` bucket with a key of its own
    (storage audit finding 3)."""
    return [
        *policies.s3_read("ReadModelArtifacts", aws.region, list(_model_reads(aws, model)[0])),
        policies.kms_use("UseDataKey", ref(aws.key, "arn")),
        policies.kms_decrypt_via_s3("DecryptImportedModels", aws.region, _imported_artifacts(aws, model)),
    ]


def _serving_metrics_statement(aws: AwsContext) -> dict[str, Any] | None:
    """The serving roles' ``PublishEndpointMetrics``, the same in every one (made once per compile:
    :meth:`AwsContext.once`)."""
    return policies.put_metrics("PublishEndpointMetrics", [ENDPOINT_METRICS_NAMESPACE])


def _add_model(aws: AwsContext, item: Endpoint, component: str, role: str) -> tuple[str, str]:
    """The SageMaker model of the pinned version; returns (URN, physical name)."""
    group = registry.group_name(aws, item.model.name)
    content = {"executionRoleArn": ref(role, "arn"), "primaryContainer": {
        "modelPackageName": arns.model_package_arn(aws.region, aws.account, group, item.model.version)}}
    # the "-v<N>-<hash>" suffix always survives: the rollout controller reads the version a model serves
    # from it (rollout/drivers/sagemaker.model_version) and the runner's grants match models by the part
    # before it (rollout_runner.model_prefix); cutting the whole name to 63 characters cut it off an
    # endpoint whose physical name had 53 or more, and a canary became an instant cutover
    suffix = f"v{item.model.version}-{short_hash(content)}"
    name = f"{aws.name(item.name, max_len=MODEL_NAME_MAX - len(suffix) - 1)}-{suffix}"
    depends = [aws.groups[item.model.name]] if item.model.name in aws.groups else []
    urn = aws.add(MODEL, f"{item.name}-model", {"name": name, **content}, parent=component,
                  address=f"endpoints.{item.name}", role="model", depends_on=depends, options=_kept(item),
                  refs_in=content["executionRoleArn"])  # the package ARN is text
    return urn, name


def _capture_config(aws: AwsContext, item: Endpoint) -> dict[str, Any]:
    capture = storage.platform_bucket(aws, "capture")
    return {"enableCapture": True, "initialSamplingPercentage": item.capture.sample_percent,
            "destinationS3Uri": arns.s3_uri(capture, CAPTURE_PREFIX), "kmsKeyId": ref(aws.key, "arn"),
            "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
            "captureContentTypeHeader": {"jsonContentTypes": ["application/json"]}}


def _add_config(aws: AwsContext, item: Endpoint, component: str, model: tuple[str, str],
                instance: str) -> tuple[str, str]:
    """The immutable endpoint configuration, named by a hash of its content; returns (URN, physical name)."""
    model_urn, model_name = model
    variant = {"variantName": variant_name(item), "modelName": ref(model_urn, "name"), "instanceType": instance,
               "initialInstanceCount": max(1, item.replicas.min), "initialVariantWeight": 1.0}
    inputs: dict[str, Any] = {"productionVariants": [variant]}
    if item.capture:
        inputs["dataCaptureConfig"] = _capture_config(aws, item)
    if not has_local_nvme(instance):
        inputs["kmsKeyArn"] = ref(aws.key, "arn")
    basis = {**inputs, "productionVariants": [{**variant, "modelName": model_name}]}
    name = aws.name(item.name, "cfg", short_hash(basis))
    capture = [aws.bucket_urns[aws.platform_buckets["capture"]]] if item.capture else []
    refs = [variant["modelName"], inputs.get("kmsKeyArn"), inputs.get("dataCaptureConfig", {}).get("kmsKeyId")]
    urn = aws.add(ENDPOINT_CONFIG, f"{item.name}-endpoint-config", {"name": name, **inputs}, parent=component,
                  address=f"endpoints.{item.name}", role="endpoint-config", depends_on=capture, options=_kept(item),
                  refs_in=refs)  # the rest: names, numbers, URIs, capture options
    return urn, name


def _kept(item: Endpoint) -> ResourceOptions:
    """The options of an endpoint's model and config: always create-before-delete
    (``delete_before_replace=False``, see the module contract: their content-hash names never
    collide, and the old config must outlive ``UpdateEndpoint``).

    Canary endpoints: the model and config are also kept in SageMaker when Pulumi replaces them
    (``retainOnDelete``). ``pulumi up`` of a new version creates the new model and config but does not
    switch the endpoint (the controller does, step by step), so the old ones still serve: deleting the
    old model would make the controller's rollout config, which names it for the ``primary`` variant,
    fail (CreateEndpointConfig needs existing models), and new instances of the old variant
    (autoscaling, a rollback) could not start. Models and endpoint configs cost nothing while kept."""
    return _RETAINED if item.rollout.strategy == "canary" else _CREATE_FIRST


MODEL_NAME_MAX = 63
"""botocore ``CreateModelInput.ModelName`` (``EntityName``): at most 63 characters."""
_CREATE_FIRST = ResourceOptions(delete_before_replace=False)
"""The options of a native-strategy endpoint's model and config (:func:`_kept`; immutable, one object for all)."""
_RETAINED = ResourceOptions(retain_on_delete=True, delete_before_replace=False)
"""The options of a canary endpoint's model and config (:func:`_kept`; immutable, so one object for all)."""
_CONTROLLED = ResourceOptions(ignore_changes=("endpointConfigName",))
"""The options of a canary endpoint, whose config the controller switches (immutable, one object for all)."""


def _bake(item: Endpoint) -> int:
    return min(item.rollout.bake.seconds, MAX_WAIT_SECONDS) if item.rollout.bake else 0


def _traffic(kind: str, wait: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "waitIntervalInSeconds": wait, **extra}


def _blue_green(item: Endpoint) -> dict[str, Any]:
    """Full new fleet, all traffic at once once it is healthy, old fleet kept for the bake (the
    window in which rollback alarms can still send traffic back). Every SageMaker endpoint update
    is such a fleet swap, so all_at_once and blue_green compile alike; without a bake the old fleet
    goes at once."""
    return {"blueGreenUpdatePolicy": {"trafficRoutingConfiguration": _traffic("ALL_AT_ONCE", 0),
                                      "terminationWaitInSeconds": _bake(item)}}


def _canary(item: Endpoint) -> dict[str, Any]:
    """The controller walks the canary's steps by variant weight; the one config switch that remains
    (landing the final single-variant config) is a blue/green fleet swap. SageMaker's native CANARY is
    not used: it sizes the canary in whole instances (botocore ``CapacitySize``: at most 50% of the
    fleet, so none on a one-instance endpoint, finding A4; about 33% instead of 2% on three
    instances, finding B10) and has one step only."""
    return {"blueGreenUpdatePolicy": {"trafficRoutingConfiguration": _traffic("ALL_AT_ONCE", 0),
                                      "terminationWaitInSeconds": _bake(item)}}


def _rolling(item: Endpoint) -> dict[str, Any]:
    """Batches of the first step's percent of capacity (25% by default), within SageMaker's 5-50%
    (:func:`~mlops_infra.spec.rolling_batch.rolling_batch`; validate warns of a step outside it)."""
    batch = rolling_batch(item.rollout)
    return {"rollingUpdatePolicy": {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": batch},
                                    "waitIntervalInSeconds": _bake(item),
                                    "rollbackMaximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 100}}}


def execution_timeout(config: dict[str, Any]) -> int:
    """``MaximumExecutionTimeoutInSeconds`` for a deployment policy: the total bake it waits plus
    :data:`FLEET_PROVISIONING_SECONDS` per fleet it provisions, within :data:`EXECUTION_TIMEOUT_RANGE`.

    botocore ``BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds``: "the timeout value should be
    larger than the total waiting time specified in TerminationWaitInSeconds and
    WaitIntervalInSeconds". Blue/green (and canary) provision the whole new fleet once, then wait
    the traffic-routing interval and the termination wait; a rolling update provisions and waits
    once per batch (``ceil(100 / batch percent)`` batches at most). Left unset, SageMaker applies an
    unstated default, which a long bake can outlive (review finding C4).
    """
    if "blueGreenUpdatePolicy" in config:
        policy = config["blueGreenUpdatePolicy"]
        waits = policy["trafficRoutingConfiguration"]["waitIntervalInSeconds"] + policy["terminationWaitInSeconds"]
        total = FLEET_PROVISIONING_SECONDS + waits
    else:
        policy = config["rollingUpdatePolicy"]
        batches = math.ceil(100 / policy["maximumBatchSize"]["value"])
        total = batches * (FLEET_PROVISIONING_SECONDS + policy["waitIntervalInSeconds"])
    low, high = EXECUTION_TIMEOUT_RANGE
    return max(low, min(total, high))


def _with_timeout(build: Callable[[Endpoint], dict[str, Any]]) -> Callable[[Endpoint], dict[str, Any]]:
    def config(item: Endpoint) -> dict[str, Any]:
        out = build(item)
        policy = next(iter(out.values()))
        policy["maximumExecutionTimeoutInSeconds"] = execution_timeout(out)
        return out
    config.__doc__ = build.__doc__
    return config


DEPLOYMENTS: dict[str, Callable[[Endpoint], dict[str, Any]]] = {
    "all_at_once": _with_timeout(_blue_green), "blue_green": _with_timeout(_blue_green),
    "canary": _with_timeout(_canary), "rolling": _with_timeout(_rolling),
}
"""Rollout strategy -> the endpoint's ``deploymentConfig`` (without rollback alarms)."""


def _rollback_alarms(aws: AwsContext, item: Endpoint) -> list[str]:
    return [a for a in item.rollout.rollback_on if a in aws.alarms]


def _sagemaker_rollback_alarms(aws: AwsContext, item: Endpoint) -> list[str]:
    """The alerts whose alarms SageMaker itself watches during an update (``autoRollbackConfiguration``):
    those of every strategy but the canary, whose controller reads them (B9)."""
    return _rollback_alarms(aws, item) if item.rollout.strategy != "canary" else []


def _deployment_config(aws: AwsContext, item: Endpoint) -> dict[str, Any]:
    config = DEPLOYMENTS[item.rollout.strategy](item)
    alarms = _sagemaker_rollback_alarms(aws, item)
    if alarms:
        config["autoRollbackConfiguration"] = {"alarms": [{"alarmName": ref(aws.alarms[a], "name")} for a in alarms]}
    return config


def _custom_metric(metric: str) -> Callable[[AwsContext, Endpoint, str], dict[str, Any]]:
    def spec(aws: AwsContext, item: Endpoint, physical: str) -> dict[str, Any]:
        return {"customizedMetricSpecification": {
            "metricName": metric, "namespace": ENDPOINT_METRICS_NAMESPACE, "statistic": "Average", "unit": "Percent",
            "dimensions": [{"name": "EndpointName", "value": physical},
                           {"name": "VariantName", "value": variant_name(item)}]}}
    return spec


def _predefined(metric_type: str) -> Callable[[AwsContext, Endpoint, str], dict[str, Any]]:
    return lambda aws, item, physical: {"predefinedMetricSpecification": {"predefinedMetricType": metric_type}}


SCALING_METRICS: dict[str, Callable[[AwsContext, Endpoint, str], dict[str, Any]]] = {
    "invocations_per_replica": _predefined("SageMakerVariantInvocationsPerInstance"),
    "concurrency": _predefined("SageMakerVariantConcurrentRequestsPerModelHighResolution"),
    "cpu_utilization": _custom_metric("CPUUtilization"),
    "gpu_utilization": _custom_metric("GPUUtilization"),
}
"""Autoscaling metric -> metric specification of the target-tracking policy."""


def scaling_target_value(item: Endpoint, instance: str) -> float:
    """The policy's target: SageMaker reports ``CPUUtilization`` and ``GPUUtilization`` summed over
    the instance's vCPUs/GPUs ("The sum of each individual CPU core's utilization ... if there are
    four CPUs, the CPUUtilization range is 0%-400%", SageMaker AI endpoint metrics,
    https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html; GPUUtilization alike,
    https://repost.aws/knowledge-center/sagemaker-cpu-gpu-utilization-100), and target tracking holds
    the metric's average at ``TargetValue`` (botocore application-autoscaling
    ``TargetTrackingScalingPolicyConfiguration``), while the spec's target is per vCPU/GPU: so it is
    multiplied by the count, from :func:`mlops_infra.catalog.counts` (every SageMaker type but the
    few it does not know, which ``validate`` refuses for these metrics: spec/scaling_counts.py,
    audit autoscale-3). Other metrics are per instance: the target as written."""
    target = item.autoscaling.target
    metric = item.autoscaling.metric
    if metric not in ("cpu_utilization", "gpu_utilization"):
        return target
    known = require(catalog.counts(instance), f"the vCPU/GPU count of {instance}")
    return target * (known.vcpus if metric == "cpu_utilization" else max(1, known.gpus))


def _add_autoscaling(aws: AwsContext, item: Endpoint, component: str, endpoint: str,
                     instance: str) -> dict[str, Any] | None:
    """The target and policy; returns them as the rollout runner's document declares them
    (:func:`rollout_code.declared_autoscaling`: a killed finish puts them back).

    Both are ``deletedWith`` the endpoint and delete first (audit autoscale-1). AWS
    deregisters an endpoint's scalable targets (and so their policies) when it deletes the endpoint
    ("Delete endpoints configured for auto scaling",
    https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html; botocore
    application-autoscaling ``DeregisterScalableTarget``: "Deregistering a scalable target deletes the scaling
    policies ... associated with it"), while the target's only edge to the endpoint is a ``dependsOn``
    (``resourceId`` is text), which alone never makes Pulumi replace it (step_generator.go
    ``calculateDependentReplacements``): a replaced endpoint would come back without autoscaling and the
    state would still hold both. ``deletedWith`` makes the engine replace them with the endpoint and skip
    their Delete when the endpoint's delete already did it (:class:`~mlops_infra.graph.ResourceOptions`).
    Delete-first because the new registration has the same identity (namespace, resource id, dimension):
    the engine's replace for ``deletedWith`` asks no provider (``DiffResult{ReplaceKeys: ["deletedWith"]}``,
    no ``DeleteBeforeReplace``), and a create-first replace of a prior recorded without the option would
    deregister the new target when it deletes the old one; deleting one AWS already removed succeeds
    (terraform-provider-aws ``internal/service/appautoscaling/target.go`` ``resourceTargetDelete``:
    ``ObjectNotFoundException`` returns no error).
    """
    physical, address = endpoint_name(aws, item.name), f"endpoints.{item.name}"
    target_inputs = {
        "serviceNamespace": "sagemaker", "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "resourceId": f"endpoint/{physical}/variant/{variant_name(item)}",
        "minCapacity": max(1, item.replicas.min), "maxCapacity": max(1, item.replicas.max),
    }
    with_endpoint = ResourceOptions(deleted_with=endpoint, delete_before_replace=True)  # see above
    target = aws.add(SCALABLE_TARGET, f"{item.name}-scalable-target", target_inputs, parent=component,
                     address=address, role="scalable-target", depends_on=[endpoint], refs_in=(),  # text, numbers
                     options=with_endpoint)
    metric = SCALING_METRICS[item.autoscaling.metric](aws, item, physical)
    policy_inputs = {
        "name": aws.name(item.name, "target-tracking", max_len=256), "policyType": "TargetTrackingScaling",
        "serviceNamespace": ref(target, "serviceNamespace"), "resourceId": ref(target, "resourceId"),
        "scalableDimension": ref(target, "scalableDimension"),
        "targetTrackingScalingPolicyConfiguration": {
            "targetValue": scaling_target_value(item, instance), "scaleInCooldown": 300, "scaleOutCooldown": 60,
            **metric},
    }
    aws.add(SCALING_POLICY, f"{item.name}-scaling-policy", policy_inputs, parent=component, address=address,
            role="scaling-policy", options=with_endpoint,
            refs_in=[policy_inputs["serviceNamespace"], policy_inputs["resourceId"],
                     policy_inputs["scalableDimension"]])  # SCALING_METRICS: text
    return rollout_code.declared_autoscaling(target_inputs, [policy_inputs])


def canary_rollout(aws: AwsContext, item: Endpoint) -> dict[str, Any]:
    """The staged rollout the controller drives for a canary (recorded in ``graph.rollouts``).

    The graph holds the final state (one ``primary`` variant on the new version) and this plan; the
    controller (``mlops-infra rollout``, :mod:`mlops_infra.rollout`) reads the serving version from
    the endpoint, adds a ``canary`` variant with the new model at weight 0, walks ``steps`` with
    ``UpdateEndpointWeightsAndCapacities``, baking ``bakeSeconds`` at each and rolling back when a
    ``rollbackAlarms`` alarm fires (or stays unreadable for ``gateTimeoutSeconds``), then lands the
    graph's config with ``RetainAllVariantProperties`` (autoscaled counts survive). ``minRequestsPerStep``:
    the spec's ``rollout.min_requests_per_step``, only when it sets one (the controller's default is 1,
    ``rollout/model.py`` ``DEFAULT_MIN_REQUESTS_PER_STEP``; ``rollout/reconcile.py`` rule 10).
    """
    physical = endpoint_name(aws, item.name)
    rollout = item.rollout
    minimum = {} if rollout.min_requests_per_step is None else {"minRequestsPerStep": rollout.min_requests_per_step}
    return {**minimum,
        "strategy": rollout.strategy, "steps": list(rollout.steps),
        "bakeSeconds": rollout.bake.seconds if rollout.bake else 0, "gateTimeoutSeconds": GATE_TIMEOUT_SECONDS,
        "rollbackAlarms": [aws.alarm_names[a] for a in _rollback_alarms(aws, item)],
        "variant": STABLE_VARIANT, "canaryVariant": "canary", "modelVersion": item.model.version,
        "endpointName": physical, "controller": "mlops-infra rollout",
        "trafficApi": "UpdateEndpointWeightsAndCapacities", "retainAllVariantProperties": True,
        "scalableTarget": f"endpoint/{physical}/variant/{STABLE_VARIANT}" if item.autoscaling else None,
    }


def registry_decision(aws: AwsContext, item: Endpoint) -> Decision:
    """What the environment's registry lets ``item`` serve: :meth:`CompileContext.version_decision
    <mlops_infra.compile.context.CompileContext.version_decision>` (decided once, recorded in
    ``graph.model_versions``)."""
    return aws.ctx.version_decision(item)


def served(aws: AwsContext, item: Endpoint) -> Endpoint:
    """``item`` as it serves in this graph: pinned to the held version while the pinned one is not
    available (:func:`registry_decision`), so what watches the endpoint (alarm dimensions) watches
    the variant that really serves. The held version is of the model the endpoint serves
    (``Decision.served_model``): switched to another model, the endpoint keeps the served model's
    package (its group's ARN, :func:`_add_model`), never the new model's package of the served number,
    which SageMaker refuses to deploy unless Approved (botocore ``CreateModelPackageInput.ModelApprovalStatus``:
    "For versioned models, the value of this parameter must be set to Approved to deploy the model"),
    as ``compile/kubernetes/serving.compile_endpoint`` holds an InferenceService."""
    return registry_decision(aws, item).held(item)


def compile_endpoint(aws: AwsContext, item: Endpoint) -> None:
    """An endpoint: component, serving role, model, config, endpoint, autoscaling, rollout plan.

    Finding A1: a model can only be created from a version its registry holds. While the pinned
    version is not available (:func:`registry_decision`), an endpoint that serves an older version
    keeps it (``holding``: compiled with that version) and a new one gets only its component and
    serving role (``waiting``): the model, config, endpoint and autoscaling are left out until the
    version exists, instead of failing ``CreateModel`` (terraform-provider-aws retries it for two
    minutes, ``internal/service/sagemaker/model.go``) and everything after it. The component's
    facts say so (``waitingFor``, ``deployed: false``), so the plan and cost read it from state too.
    """
    address = f"endpoints.{item.name}"
    decision = registry_decision(aws, item)
    item = served(aws, item)
    endpoint_facts = facts.endpoint_facts(item, fit=serving_fit(aws.ctx.system, item))
    if decision.state != "ready":
        endpoint_facts["waitingFor"] = decision.pinned
    if decision.state == "waiting":
        endpoint_facts["deployed"] = False
    images, unknown = _served_images(aws, item)
    if unknown:  # closing-33c-1: the plan warns of a pull it drops (serving_pull)
        endpoint_facts[IMAGE_UNKNOWN_FACT] = list(unknown)
    instance = require(endpoint_facts["instanceType"], f"a SageMaker instance type for {address}")
    component = aws.ctx.component("endpoints", item.name, endpoint_facts)
    physical = endpoint_name(aws, item.name)
    role_spec = iam.RoleSpec(f"{item.name}-serving", ("serve", item.name), (iam.SAGEMAKER,),
                             f"Serves endpoint {physical}: reads its model artifacts, writes its capture data.")
    role = iam.add_role(aws, role_spec, _serving_statements(aws, item, physical, images), parent=component,
                        address=address)
    if decision.state == "waiting":
        return
    model = _add_model(aws, item, component, role)
    config, config_name = _add_config(aws, item, component, model, instance)
    controlled = _CONTROLLED if item.rollout.strategy == "canary" else None
    config_name_ref, deployment = ref(config, "name"), _deployment_config(aws, item)
    endpoint = aws.add(ENDPOINT, f"{item.name}-endpoint", {
        "name": physical, "endpointConfigName": config_name_ref, "deploymentConfig": deployment,
    }, parent=component, address=address, role="endpoint", depends_on=[iam.policy_urn(aws, role_spec, component)],
        options=controlled, refs_in=[config_name_ref, deployment.get("autoRollbackConfiguration")])
    # a deployment config's refs are its rollback alarms (DEPLOYMENTS: the rest is numbers and words)
    scaling = _add_autoscaling(aws, item, component, endpoint, instance) if item.autoscaling else None
    if item.rollout.strategy == "canary":
        aws.ctx.builder.rollouts[address] = canary_rollout(aws, item)
        aws.canaries[address] = {"endpoint": physical, "version": str(item.model.version),
                                 "finalConfig": config_name, "model": model[1],
                                 "kms": not has_local_nvme(instance),
                                 "autoscaled": bool(item.autoscaling), "autoscaling": scaling}
