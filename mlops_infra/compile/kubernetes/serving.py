"""Endpoints as KServe InferenceServices (``serving.kserve.io/v1beta1``, KServe 0.15 to 0.20).

Contract:
- Serverless deployment mode (Knative, "Serverless" before KServe 0.16): the mode in which KServe
  supports canary traffic splitting and request-based autoscaling. It is KServe's default mode, and
  the compiled InferenceService does not name it: no ``serving.kserve.io/deploymentMode`` annotation
  (audit kubevers-3). Each spelling of the annotation breaks on some supported KServe release:
  ``Serverless`` is a deprecated alias from 0.16 on (v0.16.0 ``pkg/constants/constants.go``
  ``LegacyServerless``), and 0.16.x refuses every update of an InferenceService whose annotation
  differs from the mode its status records (``Knative``): v0.16.0
  ``pkg/apis/serving/v1beta1/inference_service_validation.go`` ``validateDeploymentMode``, "update
  rejected: deploymentMode cannot be changed from 'Knative' to 'Serverless'" (kserve#4798, #5885: the
  controller's finalizer removal is refused too, so a delete never ends); 0.17+ rewrites it to
  ``Knative`` (``inference_service_defaults.go``), which every refresh would see as drift; and
  ``Knative`` is unknown to 0.15 (v0.15.2 ``validateDeploymentMode`` against its status
  ``Serverless``). Without the annotation every release takes the mode from its
  ``inferenceservice-config`` ConfigMap's ``deploy.defaultDeploymentMode`` at create
  (``pkg/controller/v1beta1/inferenceservice/utils/utils.go`` ``GetDeploymentMode``, v0.15.2 to
  v0.20.0: "if an InferenceService is being created and does not explicitly specify a
  DeploymentMode"), shipped ``Serverless`` (``config/configmap/inferenceservice.yaml``; the Helm
  chart: ``Serverless`` in 0.15, ``Knative`` from 0.16), adds no annotation for that mode (the
  defaulting webhook writes one only for a ``Standard``/``RawDeployment`` or ``ModelMesh`` default),
  keeps the mode in the status for every later update, and ``validateDeploymentMode`` compares
  nothing ("if ok && ..."). The cluster preflight checks that default
  (:mod:`mlops_infra.compile.kubernetes.prerequisites`).
- ``predictor.model``: the model format from the registry's framework (:data:`MODEL_FORMATS`),
  ``storageUri``: where the served version's artifacts are (:func:`storage_uri`: the registry's
  MLflow ``source`` when read, an ``s3://`` folder with its trailing ``/``, else the documented
  layout, ``<artifacts_uri>/<version>/`` for a model trained elsewhere,
  ``s3://<models bucket>/<model>/<version>/`` for one trained here:
  :mod:`mlops_infra.compile.kubernetes.artifacts`; KServe's storage initializer downloads it with
  the credentials of the ``mlops-serving`` account's Secret), and ``resources``: cpu and memory
  requests and limits of one replica plus its GPU limits as strings (:func:`resources`).
- A model with ``serving_image``: a custom predictor instead of ``predictor.model``, the image
  itself serving (:func:`custom_container`), the same storage URI downloaded to ``/mnt/models``.
- Replicas: ``minReplicas``/``maxReplicas`` (both ``replicas.min`` without ``autoscaling``:
  :func:`replica_range`); autoscaling: ``invocations_per_replica`` (per
  minute) -> ``scaleMetric: rps`` with the per-second target rounded up, ``concurrency`` ->
  ``concurrency``, ``cpu_utilization`` -> ``cpu`` with Knative's HPA autoscaler class
  (:func:`autoscaling`, :data:`HPA_CLASS`); ``gpu_utilization`` has no KServe metric, so
  the Knative default (concurrency) applies and an annotation says so.
- Rollout: ``canary`` sets ``canaryTrafficPercent`` to the first step; ``blue_green`` to 0 (the
  new revision is deployed without traffic, reachable through its ``latest`` tag
  (:data:`TAG_ROUTING`), then switched), but only when the apply brings a new version: for the
  version the prior state shows served, the field is left out and ignored, so the controller keeps
  it (:func:`keeps_controller_traffic`). Both are recorded
  in ``graph.rollouts[address]`` for ``mlops-infra rollout`` to drive (patch the percentage step by
  step, wait ``bakeSeconds``, roll back when a ``rollbackAlerts`` alert fires). ``rolling`` and
  ``all_at_once`` are Knative's own switch to the new revision once it is ready.
- Rollout status: each ``canary`` or ``blue_green`` endpoint also gets an empty ConfigMap
  ``rollout-<endpoint>`` (:func:`status_config_map`), where the rollout controller keeps the
  rollout's status; never the InferenceService's annotations, which KServe copies into the Knative
  revision template, so each status write would start a new revision (see the function).
- An InferenceService whose traffic the rollout controller moves carries ``pulumi.com/patchForce:
  "true"`` (:data:`PATCH_FORCE`), so that ``pulumi up`` can still write it after a rollout (see
  :func:`annotations`).
- Visibility (audit secpost45-2): cluster-local unless the endpoint says ``exposure: public``: the
  label ``networking.knative.dev/visibility: cluster-local`` (:func:`ingress.visibility_labels <mlops_infra.compile.kubernetes.ingress.visibility_labels>`
  cites the KServe rules). Without them KServe publishes the endpoint, unauthenticated, on the
  cluster's external ingress gateway.
- Capture: ``predictor.logger`` (mode ``all``) to the platform's capture sink with the sample
  percentage in the URL (KServe's logger has no sampling of its own).
- Model versions (finding firstapply-2, as on AWS: finding A1): the pinned version must be in the
  environment's MLflow registry (approved, when ``approval: manual`` or the ``model_approved`` gate
  says so), decided as on AWS (:func:`registry_decision`): ``waiting`` leaves out the
  InferenceService and what serves only it (its PodMonitor, rollout status ConfigMap and rollout
  plan), ``holding`` compiles the InferenceService with the version the prior state proves, and the
  plan prints a ``version-check`` saying why. Without this an InferenceService whose ``storageUri``
  holds nothing is still created: KServe's storage initializer fails ("Failed to fetch model. No
  model found in ...", kserve ``python/storage/kserve_storage/kserve_storage.py``) and the predictor
  never becomes ready, while ``pulumi up`` reports success, since pulumi-kubernetes does not await a
  custom resource without ``pulumi.com/waitFor`` (provider ``pkg/metadata/overrides.go``
  ``ReadyCondition``: ``condition.NewImmediate``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from mlops_infra import catalog
from mlops_infra.compile import facts
from mlops_infra.compile.kubernetes import artifacts, gpu, images, ingress, names, scripts
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.monitoring import compile_serving_scrape
from mlops_infra.compile.kubernetes.objects import KubeTarget, object_store_env_from
from mlops_infra.compile.kubernetes.rbac import compile_service_account
from mlops_infra.compile.kubernetes.training import ROOT_ALLOWED_SECURITY
from mlops_infra.graph import ResourceOptions
from mlops_infra.ml.memory import Fit
from mlops_infra.ml.size import gib
from mlops_infra.model_versions import Decision
from mlops_infra.spec.fit import DEFAULT_INSTANCE, serving_fit
from mlops_infra.spec.serving import NOT_READY_TIMEOUT_SECONDS, Endpoint

API_VERSION = "serving.kserve.io/v1beta1"
MODEL_FORMATS = {"pytorch": "pytorch", "tensorflow": "tensorflow", "sklearn": "sklearn", "xgboost": "xgboost",
                 "onnx": "onnx", "huggingface": "huggingface", "custom": "mlflow"}
"""Registry framework -> KServe model format; ``custom`` models are served as MLflow pyfunc (MLServer)."""
TRAFFIC_FIELD = "spec.predictor.canaryTrafficPercent"
GATE_TIMEOUT_SECONDS = 900
"""How long the rollout controller holds a step whose alerts cannot be read before rolling back."""
CONTROLLER = "mlops-infra rollout"
PATCH_FORCE = "pulumi.com/patchForce"
"""The pulumi-kubernetes annotation that makes its server-side apply of the object take over fields
other managers changed (provider ``pkg/metadata/annotations.go`` ``AnnotationPatchForce``)."""
CLASS_ANNOTATION = "autoscaling.knative.dev/class"
HPA_CLASS = "hpa.autoscaling.knative.dev"
"""Knative's autoscaler class annotation and its HPA class (knative/serving v0.44
``pkg/apis/autoscaling/register.go`` ``ClassAnnotationKey``, ``HPA``); see :func:`autoscaling`."""
STATUS_MAP_PREFIX = "rollout-"
"""``rollout-<endpoint>``: the rollout status ConfigMap (``rollout/drivers/kserve.py`` ``status_config_map``
derives the same name; compile cannot import the runner's code, tests pin that they agree)."""
_RUNNER_WRITES_DATA = ResourceOptions(ignore_changes=("data",))
_CONTROLLER_KEEPS_TRAFFIC = ResourceOptions(ignore_changes=(TRAFFIC_FIELD,))
"""The same version's InferenceService: its ``canaryTrafficPercent`` is the controller's (:func:`keeps_controller_traffic`)."""
TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
"""KServe's annotation that tags the latest revision ``latest`` (``pkg/constants/constants.go``
``EnableRoutingTagAnnotationKey``); see :func:`annotations`."""


def storage_uri(kube: KubeTarget, endpoint: Endpoint) -> str:
    """Where the served version's artifacts are (:func:`mlops_infra.compile.kubernetes.artifacts.storage_uri`)."""
    return artifacts.storage_uri(kube.ctx.system, kube.ctx.registry, names.models_bucket(kube.ctx),
                                 endpoint.model.name, endpoint.model.version)


def serving_image(kube: KubeTarget, endpoint: Endpoint) -> str | None:
    """The model's ``serving_image`` in this environment (overrides applied), or None."""
    model = kube.ctx.system.item("models", endpoint.model.name)
    return model.serving_image if model is not None else None


def custom_container(image: str, uri: str, resources: dict[str, Any]) -> dict[str, Any]:
    """The predictor container of a model with ``serving_image``: KServe's custom predictor.

    Why this form. A ``predictor.model`` is served by the ClusterServingRuntime of its model format
    (a KServe image), so the model's own server (e.g. vLLM) was never run on Kubernetes. KServe 0.15
    takes a predictor whose ``containers`` hold one named ``kserve-container`` (and no ``model``) as a
    custom predictor (kserve v0.15.0 ``pkg/apis/serving/v1beta1/predictor.go``
    ``GetImplementations``; ``constants.InferenceServiceContainerName``), whose storage URI is that
    container's env ``STORAGE_URI`` (``predictor_custom.go`` ``GetStorageUri``,
    ``constants.CustomSpecStorageUriEnvVarKey``); the controller annotates the pod with it
    (``components/predictor.go`` ``addStorageInitializerAnnotations``), and the pod webhook adds the
    storage initializer, which downloads it into an emptyDir mounted at ``/mnt/models`` in
    ``kserve-container``, and sets ``STORAGE_URI`` to ``/mnt/models``
    (``pkg/webhook/admission/pod/storage_initializer_injector.go`` ``InjectStorageInitializer``,
    ``constants.DefaultModelLocalMountPath``). So the image must load the model from
    ``$STORAGE_URI`` (``/mnt/models``) and listen on ``$PORT`` (Knative's default 8080, the port
    SageMaker serving images listen on too). No runtime is merged into a custom container, so its
    ``resources`` are exactly :func:`resources` (the webhook fills only keys left unset:
    ``CustomPredictor.Default``). Its ``securityContext`` is :func:`container_security`."""
    return {"env": [{"name": artifacts.STORAGE_URI_ENV, "value": uri}], "image": image,
            "name": artifacts.PREDICTOR_CONTAINER, "resources": resources, "securityContext": container_security()}


def container_security() -> dict[str, Any]:
    """The predictor container's ``securityContext`` (``predictor.model`` and a custom container alike): the
    three Pod Security "restricted" fields that let a root image run (``training.ROOT_ALLOWED_SECURITY``, where
    they and the left-out ``runAsNonRoot`` are cited; audit k8srbac-1). On the container, never the pod:
    Knative refuses a pod-level ``securityContext`` unless its ``kubernetes.podspec-securitycontext`` flag is on
    (knative/serving ``pkg/apis/serving/k8s_validation.go`` ``ValidatePodSecurityContext``, "All fields are
    disallowed unless the 'PodSpecSecurityContext' feature flag is enabled"), while its ``SecurityContextMask``
    (``pkg/apis/serving/fieldmask.go``, knative-v1.23.0) allows ``allowPrivilegeEscalation``, ``capabilities``
    (``drop``) and ``seccompProfile`` on a container. KServe's agent (``logger``) copies this container's
    ``securityContext`` (kserve ``pkg/webhook/admission/pod/agent_injector.go``: ``securityContext :=
    pod.Spec.Containers[0].SecurityContext.DeepCopy()``), so it passes the same checks."""
    return json.loads(json.dumps(ROOT_ALLOWED_SECURITY))


def replica_range(endpoint: Endpoint) -> tuple[int, int]:
    """(minReplicas, maxReplicas). Scaling on cpu (Knative's HPA class) runs at least 1 replica
    (:func:`autoscaling`). Without an ``autoscaling`` block the endpoint runs at
    ``replicas.min`` (at least 1) fixed, as on SageMaker, where only an Application Auto Scaling
    target would move ``initialInstanceCount`` (finding B11.4, docs/semantics.md). Knative would
    otherwise autoscale between the two on concurrency, its default ("Configuring scale bounds",
    https://knative.dev/docs/serving/autoscaling/scale-bounds/)."""
    if endpoint.autoscaling is None:
        fixed = max(1, endpoint.replicas.min)
        return fixed, fixed
    if uses_hpa(endpoint):
        return max(1, endpoint.replicas.min), endpoint.replicas.max
    return endpoint.replicas.min, endpoint.replicas.max


def uses_hpa(endpoint: Endpoint) -> bool:
    """Whether the endpoint scales on CPU, which needs Knative's HPA autoscaler class (:func:`autoscaling`)."""
    return endpoint.autoscaling is not None and endpoint.autoscaling.metric == "cpu_utilization"


def autoscaling(endpoint: Endpoint) -> dict[str, Any]:
    """``scaleMetric``/``scaleTarget`` of the predictor (empty: Knative's default).

    ``cpu_utilization`` -> ``scaleMetric: cpu`` goes with the annotation
    ``autoscaling.knative.dev/class: hpa.autoscaling.knative.dev`` (:func:`annotations`). KServe
    0.15's admission webhook refuses any other metric than ``concurrency`` and ``rps`` in Serverless
    mode unless that annotation names the HPA class: ``validateAutoScalingCompExtension`` calls
    ``validateScalingHPACompExtension`` (allowed: ``cpu``, ``memory``; a cpu target 1-100) only
    when ``annotations[autoscaling.ClassAnnotationKey] == autoscaling.HPA``, else
    ``validateScalingKPACompExtension``, whose ``AutoscalerAllowedKPAMetricsList`` is
    concurrency and rps: "[cpu] is not a supported metric" (kserve v0.15.0
    ``pkg/apis/serving/v1beta1/inference_service_validation.go``, ``pkg/constants/constants.go``),
    so the InferenceService was never created. KServe copies the annotation to the Knative
    revision (``ksvc_reconciler.go`` ``createKnativeService``: it sets the KPA class only when the
    annotation is absent), Knative accepts any metric for the HPA class (knative/serving v0.44
    ``pkg/apis/autoscaling/annotation_validation.go`` ``validateMetric``) and makes a
    HorizontalPodAutoscaler on the cpu utilisation, a percentage of the container's cpu
    *request* (``pkg/reconciler/autoscaling/hpa/resources/hpa.go`` ``MakeHPA``;
    https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#how-does-a-horizontalpodautoscaler-work),
    which :func:`resources` sets. The cluster needs Knative's HPA extension (``serving-hpa.yaml``,
    the ``autoscaler-hpa`` controller: ``config/hpa-autoscaling/controller.yaml``); without it
    nothing reconciles the revision's PodAutoscaler and the revision stays "Deploying"
    (``pkg/apis/serving/v1/revision_lifecycle.go`` ``PropagateAutoscalerStatus``). The HPA class cannot scale to zero (``MakeHPA``
    leaves ``minReplicas`` unset below 1, and the HPA's default is 1), so :func:`replica_range`
    compiles at least 1, as the AWS target does for every endpoint."""
    scaling = endpoint.autoscaling
    if scaling is None or scaling.metric == "gpu_utilization":
        return {}
    if scaling.metric == "invocations_per_replica":
        return {"scaleMetric": "rps", "scaleTarget": max(1, math.ceil(scaling.target / 60))}
    metric = {"concurrency": "concurrency", "cpu_utilization": "cpu"}[scaling.metric]
    return {"scaleMetric": metric, "scaleTarget": max(1, math.ceil(scaling.target))}


UTILIZATION_ANNOTATION = "autoscaling.knative.dev/target-utilization-percentage"


def target_utilization(endpoint: Endpoint) -> str | None:
    """The ``autoscaling.knative.dev/target-utilization-percentage`` that makes Knative hold the
    declared target exactly (``rps`` and ``concurrency``; None for the others), as a string.

    Why (audit spec-2). Knative's autoscaler aims at ``scaleTarget x utilization``, and the
    utilization defaults to 0.7 for both metrics: ``ResolveMetricTarget`` takes ``total`` from the
    ``autoscaling.knative.dev/target`` annotation (which KServe writes from ``scaleTarget``:
    ``SetAutoScalingAnnotations``) and ``tu`` from ``config.TargetUtilization`` (rps) or
    ``ContainerConcurrencyTargetFraction`` (concurrency), both ``0.7`` by default
    (``pkg/autoscaler/config/config.go`` ``defaultTargetUtilization``), unless the revision carries
    this annotation, a percentage in [1, 100] (``pkg/apis/autoscaling/annotation_validation.go``;
    ``PodAutoscaler.TargetUtilization`` divides it by 100), then ``target = max(TargetMin,
    total x tu)`` (knative/serving ``pkg/reconciler/autoscaling/resources/target.go``). So
    ``invocations_per_replica: 50`` compiled to ``scaleTarget: 1`` rps held 0.7 rps = 42 requests
    a minute per replica (19% more replicas than declared, and than SageMaker's target tracking,
    which holds ``SageMakerVariantInvocationsPerInstance`` at the target itself), and the round-up
    to whole requests per second made 61/min hold 84/min. With the annotation at
    ``100 x target / (60 x scaleTarget)`` (rps) or ``100 x target / scaleTarget`` (concurrency) the
    product is the declared target. KServe passes the InferenceService's annotations to the
    predictor's revision template (``components/predictor.go`` ``buildPredictorResources``: all but
    ``ServiceAnnotationDisallowedList``, which holds min/max-scale and a few internal keys,
    ``pkg/constants/constants.go``; ``ksvc_reconciler.go`` ``createKnativeService``). Below 0.6
    invocations a minute the percentage would fall under Knative's minimum of 1: it is 1 there (0.6
    a minute per replica, the least Knative can aim at with ``scaleTarget: 1``)."""
    scaling, compiled = endpoint.autoscaling, autoscaling(endpoint)
    if scaling is None or compiled.get("scaleMetric") not in ("rps", "concurrency"):
        return None
    per_unit = scaling.target / 60 if compiled["scaleMetric"] == "rps" else scaling.target
    percent = min(100.0, max(1.0, 100 * per_unit / compiled["scaleTarget"]))
    return format(percent, ".6g")


def keeps_controller_traffic(kube: KubeTarget, endpoint: Endpoint) -> bool:
    """Whether the InferenceService is compiled without ``canaryTrafficPercent``, with
    ``ignoreChanges: [spec.predictor.canaryTrafficPercent]`` (:data:`TRAFFIC_FIELD`): a ``canary`` or
    ``blue_green`` endpoint whose version is the one the environment's registry view says the prior state
    serves (``RegistryView.serving``: ``plan`` and ``apply`` compile with it; no view, as under a bare
    ``pulumi up`` on Kubernetes: False, the first step is compiled as before).

    Why (audit k8sroll-1). KServe reads a ``canaryTrafficPercent`` below 100 written without a new
    revision as a rollback: its latest ready revision is then its ``latestRolledoutRevision`` with a
    ``latestRevision`` target under 100 % while it holds 100 % in total, and KServe moves
    ``latestRolledoutRevision`` back to ``previousRolledoutRevision`` ("the latest ready revision is
    rolled out with 100% and then rolled back": kserve v0.15.0 ``pkg/apis/serving/v1beta1/
    inference_service_status.go`` ``PropagateStatus`` l.459-470), then routes the rest, ``(100 - first
    step)%``, to that previous version (``reconcilers/knative/ksvc_reconciler.go`` ``createKnativeService``
    l.140-149). ``canaryTrafficPercent`` is not in the revision template, so writing it makes no revision.
    So after a finished rollout, an apply of the same version that wrote the first step (a new first
    step in the spec, any change of the object, or any apply after ``pulumi refresh``, which copies the
    live 100 into the state: pulumi-kubernetes diffs against it) sent 90-98 % of the traffic back to
    the previous version until the controller's next pass.

    Why this is safe. Under server-side apply a field belongs to the manager that last changed its
    value ("Server-Side Apply", field management:
    https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management); the
    controller's patches change it (``rollout/drivers/kserve.py``, manager ``mlops-infra-rollout``), so
    it owns the field whenever it moved the traffic. Pulumi "ignores a property by using the old value
    from the state" (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``processIgnoreChanges``),
    so the plan shows no change, and pulumi-kubernetes' server-side apply drops an ignored field that
    another manager owns on the cluster and otherwise sends the last live value
    (``provider/pkg/await/await.go``: "Drop the field from the inputs if it is present on the cluster
    and managed by another manager"; "use the last known value applied to the cluster so we don't unset
    it"): never a new value, never a removal (a removal would be KServe's 100 % to the latest revision).
    A new version still gets the first step, forced (:func:`annotations`), as a rollout must start; a
    version is the registered model and its number (``RegistryView.serves``: another model with an
    equal number is a new version, closing-41a-1)."""
    if first_traffic_percent(endpoint) is None:
        return False
    return kube.ctx.registry.serves(endpoint.name, endpoint.model.name, endpoint.model.version)


def first_traffic_percent(endpoint: Endpoint) -> int | None:
    rollout = endpoint.rollout
    if rollout.strategy == "canary":
        return rollout.steps[0]
    return 0 if rollout.strategy == "blue_green" else None


def capture_url(kube: KubeTarget, endpoint: Endpoint) -> str:
    path = f"/v1/capture/{endpoint.name}?sample_percent={endpoint.capture.sample_percent}"
    return names.service_url(kube.ctx, names.CAPTURE, names.CAPTURE_PORT, path)


def model_framework(kube: KubeTarget, endpoint: Endpoint) -> str:
    model = kube.ctx.system.item("models", endpoint.model.name)
    return model.framework if model else "custom"


def replica_shape(endpoint: Endpoint) -> gpu.NodeShape:
    """The node one replica stands for: its accelerator or ``instance_type``, else
    :data:`~mlops_infra.spec.fit.DEFAULT_INSTANCE` (what the fit check and the AWS target assume),
    which only sizes the pod and selects no node."""
    if endpoint.accelerator is None and endpoint.instance_type is None:
        return gpu.NodeShape(None, 0, catalog.ec2_name(DEFAULT_INSTANCE), False)
    return gpu.shape_of(endpoint.accelerator, endpoint.instance_type, "inference")


def resources(node: gpu.NodeShape, fit: Fit | None) -> dict[str, Any]:
    """The predictor container's ``resources``: cpu and memory of one replica as requests and equal
    limits, plus the GPUs as limits.

    Why all of them. KServe's webhook sets no defaults on ``predictor.model``
    (``ModelSpec.Default`` is empty: kserve v0.15.0 ``pkg/apis/serving/v1beta1/predictor_model.go``)
    and the controller merges this container into the ClusterServingRuntime's by strategic merge
    patch (``pkg/controller/v1beta1/inferenceservice/utils/utils.go`` ``MergeRuntimeContainers``),
    which merges ``requests`` and ``limits`` key by key. The shipped runtimes ask for cpu ``1`` and
    memory ``2Gi`` as requests and limits (``config/runtimes/kserve-*.yaml``), so a key not set here
    stays at those values: with GPU limits alone an 8B LLM on four GPUs got 2 GiB and was OOM-killed
    while loading, and a request set without its limit would exceed the runtime's limit, which the
    API server refuses ("must be less than or equal to cpu limit of 1": ``pkg/apis/core/validation``
    ``ValidateResourceRequirements``).

    The amounts: what a training pod on the same node shape asks for
    (:meth:`gpu.NodeShape.pod_requests`: 90% of the vCPUs and 85% of the memory, or 4 CPUs and 16
    GiB per GPU when the catalog does not know the shape), one replica standing for one instance as
    on SageMaker. On a CPU-only node, where the weights are served from host memory, memory is at
    least the model's serving estimate (``fit``: :func:`~mlops_infra.spec.fit.serving_fit`, rounded
    up to GiB) when that is larger (the fit check has said it fits the instance). On a GPU node the
    estimate is GPU memory, not host memory, and can be as large as the node's RAM (an 8B bf16 model
    on one A10G of a g5.xlarge: 16 GiB of weights, 16 GiB of RAM): asking for it there would make the
    pod unschedulable ("Insufficient memory"), so a GPU replica asks for the node's share only."""
    amounts = node.pod_requests()
    if fit is not None and not node.gpus:
        need = math.ceil(gib(fit.per_gpu_bytes * fit.gpus))
        if need > int(amounts["memory"].removesuffix("Gi")):
            amounts["memory"] = f"{need}Gi"
    return {"limits": {**amounts, **node.gpu_limits()}, "requests": amounts}


def predictor(kube: KubeTarget, endpoint: Endpoint, fit: Fit | None = None) -> dict[str, Any]:
    node = replica_shape(endpoint)
    image = serving_image(kube, endpoint)
    server: dict[str, Any] = (
        {"containers": [custom_container(image, storage_uri(kube, endpoint), resources(node, fit))]} if image
        else {"model": {"modelFormat": {"name": MODEL_FORMATS[model_framework(kube, endpoint)]},
                        "resources": resources(node, fit), "securityContext": container_security(),
                        "storageUri": storage_uri(kube, endpoint)}})
    low, high = replica_range(endpoint)
    spec: dict[str, Any] = {"maxReplicas": high, "minReplicas": low,
                            **server, "serviceAccountName": names.SERVICE_ACCOUNTS["serving"],
                            **autoscaling(endpoint)}
    percent = first_traffic_percent(endpoint)
    if percent is not None and not keeps_controller_traffic(kube, endpoint):
        spec["canaryTrafficPercent"] = percent
    if node.node_selector():
        spec["nodeSelector"] = node.node_selector()
    if node.tolerations():
        spec["tolerations"] = node.tolerations()
    if endpoint.capture:
        spec["logger"] = {"mode": "all", "url": capture_url(kube, endpoint)}
    return spec


def annotations(endpoint: Endpoint) -> dict[str, str]:
    """The InferenceService's annotations: the model and version (no deployment mode: see the module
    contract), for cpu
    autoscaling the HPA class (:func:`autoscaling`), for ``rps`` and ``concurrency`` autoscaling the
    target utilization that holds the declared target (:func:`target_utilization`), for a ``canary`` or ``blue_green`` rollout
    :data:`PATCH_FORCE`, and for ``blue_green`` :data:`TAG_ROUTING`.

    Why tag routing. A blue/green rollout deploys the new revision at ``canaryTrafficPercent: 0``
    to be tested before the switch; it is reachable only through a Knative route tag. KServe gives
    the latest revision's traffic target ``Tag: "latest"`` only when this annotation is ``"true"``
    (kserve v0.15.0 ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``
    ``createKnativeService``; the revision serving the rest is tagged ``prev`` regardless). Knative
    names a tag's host with the ``tag-template`` ``{{.Tag}}-{{.Name}}`` and the ``domain-template``
    ``{{.Name}}.{{.Namespace}}.{{.Domain}}`` (defaults of ``config-network``: knative.dev/networking
    ``pkg/config/config.go`` ``DefaultTagTemplate``, ``DefaultDomainTemplate``; Name is the route,
    KServe's ``<name>-predictor``: ``constants.PredictorServiceName``), so the new revision answers
    at ``latest-<name>-predictor.<namespace>.<domain>`` (the old one at ``prev-...``).

    Why the last one. The rollout controller moves ``canaryTrafficPercent`` with a merge patch
    (``rollout/drivers/kserve.py``), and a write that changes a field's value takes the field's
    ownership from its manager ("Server-Side Apply", "Field management":
    https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management); an apply
    that sets a field another manager owns to another value is refused with a conflict unless
    forced. pulumi-kubernetes 4 writes every object by server-side apply (its default:
    ``enableServerSideApply`` "If present and set to false, disable Server-Side Apply mode", SDK
    4.34.2 ``ProviderArgs``) and forces only when the object carries ``pulumi.com/patchForce:
    "true"``, the provider's ``enablePatchForce`` or ``PULUMI_K8S_ENABLE_PATCH_FORCE`` is set
    (provider ``pkg/await/await.go``: ``ssaUpdate`` and ``patchForce``). So without it, once a
    rollout has moved the traffic off the first step (a finish leaves 100, a rollback 0), every later
    ``pulumi up`` that changes this object (the next model version first) fails with "Apply failed
    with 1 conflict: ... .spec.predictor.canaryTrafficPercent". With it, that apply writes the new
    model and the first step together, which is how a rollout must start (KServe "Canary Rollout
    Strategy"), and leaves the controller's own annotations alone (they are not in the applied
    object, so their manager keeps them). An apply of the same version leaves the field out and
    ignores it (:func:`keeps_controller_traffic`): written again, the first step is KServe's rollback
    gesture, the rest of the traffic going back to the previous version. Without the registry view
    (a bare ``pulumi up`` on Kubernetes, which cannot tell a new version from the same one) the first
    step is still compiled: such an apply of the same version routes ``(100 - first step)%`` to the
    previous version until the controller's next pass (``rollout/reconcile.py`` rule 4) sets it back
    (a finished version: 100; a rolled-back one: 0, after the first step's share served it
    meanwhile); ``mlops-infra apply`` does not."""
    out = {"mlops-infra/model": endpoint.model.name, "mlops-infra/model-version": str(endpoint.model.version)}
    if endpoint.autoscaling and endpoint.autoscaling.metric == "gpu_utilization":
        out["mlops-infra/autoscaling"] = "gpu_utilization has no KServe metric; Knative concurrency autoscaling applies"
    if uses_hpa(endpoint):
        out[CLASS_ANNOTATION] = HPA_CLASS
    utilization = target_utilization(endpoint)
    if utilization is not None:
        out[UTILIZATION_ANNOTATION] = utilization
    if first_traffic_percent(endpoint) is not None:
        out[PATCH_FORCE] = "true"
    if endpoint.rollout.strategy == "blue_green":
        out[TAG_ROUTING] = "true"
    return out


def rollout_plan(endpoint: Endpoint, urn: str) -> dict[str, Any] | None:
    """What the rollout controller (``mlops-infra rollout``) drives for a canary or blue/green rollout (None for the others).

    ``notReadyTimeoutSeconds``: how long the new version's Knative revision may stay not ready before
    the controller rolls back (``rollout.not_ready_timeout``, default :data:`NOT_READY_TIMEOUT_SECONDS`;
    ``rollout/reconcile.py`` rule 2). ``minRequestsPerStep``: the spec's ``rollout.min_requests_per_step``,
    only when it sets one (the controller's default is 1; ``rollout/reconcile.py`` rule 10)."""
    rollout = endpoint.rollout
    if rollout.strategy not in ("canary", "blue_green"):
        return None
    steps = list(rollout.steps) if rollout.strategy == "canary" else [0, 100]
    minimum = {} if rollout.min_requests_per_step is None else {"minRequestsPerStep": rollout.min_requests_per_step}
    return {**minimum, "strategy": rollout.strategy, "steps": steps, "bakeSeconds": rollout.bake.seconds if rollout.bake else 0,
            "rollbackAlerts": list(rollout.rollback_on), "controller": CONTROLLER, "resource": urn,
            "gateTimeoutSeconds": GATE_TIMEOUT_SECONDS,
            "notReadyTimeoutSeconds": rollout.not_ready_timeout.seconds if rollout.not_ready_timeout
            else NOT_READY_TIMEOUT_SECONDS,
            "trafficField": TRAFFIC_FIELD}


WAITING_CREATES = "its InferenceService"
"""What a waiting endpoint's apply creates once the version is available (the plan's version-check)."""


def registry_decision(kube: KubeTarget, endpoint: Endpoint) -> Decision:
    """What the environment's registry lets ``endpoint`` serve: the AWS rule, one piece of code
    (:meth:`CompileContext.version_decision <mlops_infra.compile.context.CompileContext.version_decision>`:
    ``approval: manual`` or the ``model_approved`` gate serve approved versions only), recorded in
    ``graph.model_versions``."""
    return kube.ctx.version_decision(endpoint, creates=WAITING_CREATES)


def compile_endpoint(kube: KubeTarget, endpoint: Endpoint) -> None:
    """The endpoint's component, its InferenceService and its rollout plan; while the pinned version is
    not available (:func:`registry_decision`), a held version (``holding``) or nothing but the component
    (``waiting``: its facts say ``waitingFor`` and ``deployed: false``, so the plan and cost read it). A
    held version is of the model the endpoint serves (``Decision.served_model``: the served one when the
    endpoint was switched to another model, never the new model's version of the served number)."""
    address = f"endpoints.{endpoint.name}"
    decision = registry_decision(kube, endpoint)
    endpoint = decision.held(endpoint)
    fit = serving_fit(kube.ctx.system, endpoint)
    endpoint_facts = facts.endpoint_facts(endpoint, "kubernetes", fit=fit)
    if decision.state != "ready":
        endpoint_facts["waitingFor"] = decision.pinned
    if decision.state == "waiting":
        endpoint_facts["deployed"] = False
    parent = kube.ctx.component("endpoints", endpoint.name, endpoint_facts)
    if decision.state == "waiting":
        return
    obj = kube.obj(API_VERSION, "InferenceService", endpoint.name, address,
                   {"spec": {"predictor": predictor(kube, endpoint, fit)}}, annotations=annotations(endpoint),
                   **ingress.visibility_labels(endpoint))
    urn = kube.add(obj, parent=parent, address=address, role="inference-service",
                   depends_on=kube.needs("service-account/serving", *(["capture"] if endpoint.capture else [])),
                   options=_CONTROLLER_KEEPS_TRAFFIC if keeps_controller_traffic(kube, endpoint) else None)
    compile_serving_scrape(kube, endpoint.name, parent)
    plan = rollout_plan(endpoint, urn)
    if plan is not None:
        kube.ctx.builder.rollouts[address] = plan
        kube.add(status_config_map(kube, endpoint), parent=parent, address=address, role="rollout-status",
                 options=_RUNNER_WRITES_DATA)


def status_config_map_name(endpoint: str) -> str:
    return STATUS_MAP_PREFIX + endpoint


def status_config_map(kube: KubeTarget, endpoint: Endpoint) -> dict[str, Any]:
    """The empty ConfigMap the rollout controller keeps ``endpoint``'s rollout status in.

    Why not the InferenceService. KServe copies every InferenceService annotation but an exact-key
    deny list (min-scale, max-scale, the storage initializer's source URI, kubectl's
    last-applied-configuration) into the predictor's Knative Service revision template (kserve
    v0.15.0 ``pkg/controller/v1beta1/inferenceservice/components/predictor.go``
    ``buildPredictorResources`` -> ``buildObjectMeta``; ``reconcilers/knative/ksvc_reconciler.go``
    ``createKnativeService``; ``pkg/constants/constants.go`` ``ServiceAnnotationDisallowedList``), and
    Knative makes a new Revision for each change of that template (Knative "Configuration"; kserve
    issue #3359): a status kept in annotations made every step a new fleet of pods.

    Why Pulumi leaves its ``data`` alone. The object is compiled without ``data`` and with
    ``ignoreChanges: ["data"]``: Pulumi "ignores a property by using the old value from the state"
    (Pulumi docs, Resource option ignoreChanges), here no value, so a ``pulumi up`` finds no change to
    ``data`` (and never replaces the ConfigMap, which pulumi-kubernetes does when a ConfigMap's data
    changes); with server-side apply, pulumi-kubernetes also drops an ignored field from its apply when
    another field manager owns it on the cluster (pulumi/pulumi-kubernetes PR #2566,
    ``provider/pkg/await/await.go``: "Drop the field from the inputs if it is present on the cluster
    and not managed by the current field manager"), so the controller (field manager
    ``mlops-infra-rollout``) keeps its keys. The same ``ignore_changes`` keeps ``plan --refresh`` from
    reporting the status as drift (``plan/drift.py`` ``left_alone``)."""
    return kube.obj("v1", "ConfigMap", status_config_map_name(endpoint.name), f"endpoints.{endpoint.name}", {})


def compile_capture_sink(kube: KubeTarget) -> None:
    """Platform part: the capture sink Deployment + Service the endpoints' loggers post to."""
    account = compile_service_account(kube, "capture")
    container = wl.helper_container(
        "capture", images.PYTHON, command=["python", f"{scripts.MOUNT}/capture_sink.py"], port=names.CAPTURE_PORT,
        env=[{"name": "CAPTURE_BUCKET", "value": names.capture_bucket(kube.ctx)},
             {"name": "PORT", "value": str(names.CAPTURE_PORT)}],
        envFrom=object_store_env_from(), mounts=[wl.SCRIPTS_MOUNT])
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["capture"], [container], volumes=[wl.SCRIPTS_VOLUME])
    deployment = kube.add(wl.deployment(kube, names.CAPTURE, "capture", pod, address="platform", runs=("capture_sink.py",)),
                          parent=kube.platform, address="platform", role="capture-sink",
                          depends_on=[account, *kube.needs("scripts")])
    kube.shared["capture"] = kube.add(wl.service(kube, names.CAPTURE, "capture", names.CAPTURE_PORT, address="platform"),
                                      parent=kube.platform, address="platform", role="capture-service",
                                      depends_on=[deployment])
    kube.add(ingress.capture_policy(kube), parent=kube.platform, address="platform", role="capture-ingress")
