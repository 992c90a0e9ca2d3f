"""Namespace ResourceQuotas: what a Kubernetes environment's own objects need in its namespace, per
quota key, against the ``spec.hard`` of the namespace's ResourceQuotas. One plan warning per key a
quota would refuse, before apply (``plan --refresh``; the quotas are read by the CLI).

Kubernetes refuses a create that would pass a quota: "If creating or updating a resource violates
a quota constraint, the request will fail with HTTP status code 403 FORBIDDEN with a message
explaining the constraint that would have been violated" ("Resource Quotas",
https://kubernetes.io/docs/concepts/policy/resource-quotas/). The message is the quota admission
plugin's ``exceeded quota: <quota>, requested: <key>=<n>, used: <key>=<n>, limited: <key>=<n>``
(``k8s.io/apiserver`` ``pkg/admission/plugin/resourcequota/controller.go``, ``CheckRequest``, which
compares ``status.used`` plus the request with ``status.hard``). Pods are created by controllers
(the ReplicaSet controller for a Deployment, Knative for a KServe InferenceService in serverless
mode, the training operator for a PyTorchJob, the Job controller for a Job or a CronJob's Job), so
the refusal lands on the controller, not on ``pulumi up``: the endpoint never becomes ready, the
run never starts. And "If quota is enabled in a namespace for compute resources like cpu and
memory, users must specify requests or limits for those values; otherwise, the quota system may
reject pod creation" (same page): ``pkg/quota/v1/evaluator/core/pods.go`` ``Constraints`` requires
every container and init container to set each of ``cpu``, ``memory``, ``requests.cpu``,
``requests.memory``, ``limits.cpu``, ``limits.memory`` the quota names (``validationSet``; never
GPUs or ephemeral storage), refusing the pod with ``must specify <key> for: <containers>``.

Contract:
- :func:`namespace_needs` is pure: a desired graph in, per quota key, what the objects of the
  graph's namespace (``graph.metadata["namespace"]``) need, each with the items that need it, at
  three moments: ``start`` (what the apply creates: Deployments x ``replicas``, InferenceService
  predictors x ``minReplicas`` (at least 1: Knative's initial scale), Jobs' pods, every object for
  the count keys), ``most`` (full scale: InferenceServices x ``maxReplicas``, plus what runs on a
  schedule or a trigger: one pod per CronJob (``concurrencyPolicy: Forbid`` runs one at a time), a
  PyTorchJob run of every training job's stored template (``compile/kubernetes/training.py``:
  ``train-<job>`` ConfigMap, ``pytorchjob.json``; Master and Workers x ``replicas``), and the Jobs
  a CronJob keeps (its active one plus ``successfulJobsHistoryLimit`` (default 3) and
  ``failedJobsHistoryLimit`` (default 1) finished ones, which ``count/jobs.batch`` counts: object
  counts count every object in storage)), and ``peak`` (``most`` plus the largest update's extra
  pods: a Deployment's rolling update surges ``maxSurge`` (default 25%, rounded up) new pods
  beside the old ones, ``Recreate`` none (Deployments, "Strategy"); an InferenceService update
  makes a new Knative revision whose ``minReplicas`` (at least 1) start beside the old fleet
  before traffic moves, which is how every KServe canary, blue/green or rolling step runs).
- Compute per pod (``pods.go`` ``PodUsageFunc``/``podComputeUsageHelper``): ``pods`` 1;
  ``cpu``/``requests.cpu``, ``memory``/``requests.memory``, ``ephemeral-storage`` and
  ``requests.ephemeral-storage`` from requests, ``limits.*`` from limits, ``requests.<extended>``
  (``nvidia.com/gpu``) from requests. A container's request defaults to its limit when only the
  limit is set (pod defaulting, ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Pod``). A pod's
  request is the larger of its containers' sum and its largest init container
  (``k8s.io/component-helpers`` ``resource/helpers.go`` ``PodRequests``; restartable sidecar init
  containers and pod overhead are not modelled: the graph has neither). A KServe ``predictor.model``
  container without cpu or memory keeps its ServingRuntime's: KServe sets no defaults on it (kserve
  v0.15.0 ``pkg/apis/serving/v1beta1/predictor_model.go``: ``ModelSpec.Default`` is empty) and
  merges it into the runtime's container by strategic merge, key by key
  (``pkg/controller/v1beta1/inferenceservice/utils/utils.go`` ``MergeRuntimeContainers``); the
  shipped runtimes ask cpu 1 and memory 2Gi as requests and limits (``config/runtimes/kserve-*.yaml``;
  a cluster may install others). A custom predictor (``predictor.containers`` and no ``model``: a
  model's ``serving_image``, ``compile/kubernetes/serving.py`` ``custom_container``) is its
  containers alone, no runtime's; the webhook fills their unset cpu and memory from the
  ``inferenceservice-config`` ``resource`` defaults, also cpu 1 and memory 2Gi
  (``predictor_custom.go`` ``CustomPredictor.Default`` -> ``inference_service_defaults.go``
  ``setResourceRequirementDefaults``; ``config/configmap/inferenceservice.yaml``).
- Counts: ``count/<plural>[.<group>]`` and the core shorthands ``configmaps``, ``secrets``,
  ``services``, ``persistentvolumeclaims``, ``services.loadbalancers``, ``services.nodeports``
  (NodePort and LoadBalancer Services), ``requests.storage`` (the PVCs' storage requests: the
  registry's and the Pushgateway's claims, ``compile/kubernetes/registry.py`` and ``monitoring.py``).
  The per-class keys (``<class>.storageclass.storage.k8s.io/requests.storage`` and
  ``.../persistentvolumeclaims``, "Resource Quotas", "Storage Resource Quota") are not judged: the
  claims name no class, and the default class they get is the cluster's, not read here.
- :func:`namespace_quota_warnings` compares those needs with quotas (ResourceQuota objects as
  read): per quota and key of ``spec.hard``, one warning, the most severe: the apply's creates
  need more (they are refused), else full scale or the scheduled runs do, else the largest update
  does. ``status.used`` includes what already runs, our own objects of the last apply too, so
  against it nothing sound can be said of an environment already applied: the comparison is with
  ``hard``, a lower bound (other use of the namespace counts too, and the warning says so). On a
  first apply (``first_apply``: no prior state), none of the namespace's use can be ours, so the
  room is ``hard - used``, and the warning shows the use. Quotas with ``scopes`` or a
  ``scopeSelector`` apply to some pods only and are not judged; keys not listed above are not
  judged. A quota naming a key of ``validationSet`` that some container leaves unset gets a
  warning naming the containers. A warning names each item with its share, at most
  :data:`ITEMS_SHOWN` of them (largest first), and who creates what is refused.
- Knative's ``queue-proxy`` is a container of every pod of a Serverless-mode InferenceService (the
  annotation ``serving.kserve.io/deploymentMode``, ``Serverless`` when absent as in
  ``compile/kubernetes/prerequisites.py``), modelled as :class:`QueueProxy` (:func:`queue_proxy`):
  knative/serving ``pkg/reconciler/revision/resources/queue.go`` ``createQueueResources`` gives it,
  per resource, the ``knative-serving/config-deployment`` key when set (``queue-sidecar-cpu-request``,
  ``-memory-request``, ``-ephemeral-storage-request``, ``-cpu-limit``, ``-memory-limit``,
  ``-ephemeral-storage-limit``; ``pkg/deployment/config.go`` ``NewConfigFromMap``, which also reads
  the deprecated ``queueSidecarCPURequest``.. spellings, the new ones winning), else Knative's default
  only when ``config-features`` ``queueproxy.resource-defaults`` is ``Enabled`` (``queue.go``
  ``useQPResourceDefaults``; ``pkg/apis/config/features.go`` defaults it to ``Disabled``): requests
  cpu 25m, memory 400Mi, limits cpu 1000m, memory 800Mi (``config.go`` ``QueueSidecar*Default``). The
  cpu request is 25m even then (``config.go`` ``defaultConfig``), so a default install's
  queue-proxy asks ``requests: {cpu: 25m}`` and nothing else, and a quota naming ``memory``,
  ``requests.memory`` or ``limits.*`` refuses every endpoint pod (knative/serving#4134, #13708). The
  per-revision ``queue.sidecar.serving.knative.dev/*`` annotations are not modelled (KServe and the
  compiler set none). KServe's storage initializer (an init container) is not in the graph and not
  counted: a lower bound.
- :func:`limit_range_warnings` judges every container of the namespace's pods against the
  LimitRanges' ``Container`` items (``min``, ``max``, ``maxLimitRequestRatio``) and each pod against
  ``Pod`` items, after the LimitRanges' defaults are filled in, as the LimitRanger admission plugin
  does (kubernetes ``plugin/pkg/admission/limitranger/admission.go``: ``PodMutateLimitFunc`` then
  ``PodValidateLimitFunc``, ``minConstraint``, ``maxConstraint``, ``limitRequestRatioConstraint``).
  It refuses the pod with 403 Forbidden, so, as for quotas, the refusal lands on the controller. A
  default limit below the container's request makes the pod invalid (422, ``pkg/apis/core/validation``
  ``ValidateResourceRequirements``: "must be less than or equal to <key> limit of <n>"), named under
  the LimitRange that gave it. One warning per (LimitRange, item type), naming the containers (or
  pods) and what they do not fit. Restartable (sidecar) init containers are taken as plain ones (the
  graph has none).
- A PyTorchJob run's Worker pods (a template with a Master) carry the training operator's init container
  ``init-pytorch`` (:data:`INIT_PYTORCH`: requests cpu 50m, memory 10Mi; limits cpu 100m, memory 20Mi), which
  LimitRanger judges like any container (``admission.go`` ``PodValidateLimitFunc``: under ``limitType ==
  api.LimitTypeContainer`` a second loop over ``pod.Spec.InitContainers`` runs the same constraints) and the quota
  counts in the pod's ``max(sum, init)`` (audit k8srbac-2). A warning naming it says where it comes from.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mlops_infra.compile.kubernetes.prerequisites import SERVERLESS_MODES as SERVERLESS_MODES
from mlops_infra.compile.kubernetes.prerequisites import serverless
from mlops_infra.compile.kubernetes.training import INIT_PYTORCH, TEMPLATE_KEY, run_pod_specs
from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.name_lists import join_names

# -- quantities ------------------------------------------------------------------------------

_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1, "k": 10**3, "M": 10**6,
             "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)")


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``500m``, ``8Gi``, ``1e3``, ``4``) as an exact number.

    The grammar of apimachinery ``pkg/api/resource/quantity.go`` (``<signedNumber><suffix>``: a
    binary SI suffix ``Ki``..``Ei``, a decimal SI suffix ``n u m "" k M G T P E``, or a decimal
    exponent ``e<n>``/``E<n>``). Raises ValueError for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).strip()
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, exponent, suffix = match.groups()
    try:
        if exponent:
            return Decimal(number) * Decimal(10) ** int(exponent[1:])
        return Decimal(number) * Decimal(_SUFFIXES[suffix or ""])
    except InvalidOperation as exc:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def format_amount(key: str, amount: Decimal) -> str:
    """``amount`` as the quota shows it: cpu in cores or millicores, bytes in Gi/Mi, counts as they are."""
    if key.endswith(("cpu",)) and amount != amount.to_integral_value():
        return f"{int(amount * 1000)}m"
    if key.endswith(("memory", "storage")):
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if amount >= size and amount % size == 0:
                return f"{int(amount / size)}{suffix}"
    return f"{amount.normalize():f}"


# -- pods ------------------------------------------------------------------------------------

VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
"""Keys a quota may name that every container must then set (``pods.go`` ``validationSet``)."""
KSERVE_DEFAULTS = {"cpu": Decimal(1), "memory": Decimal(2**31)}
"""The shipped ServingRuntimes' cpu and memory (requests and limits), which a predictor container's unset keys keep."""
_NATIVE = ("cpu", "memory", "ephemeral-storage")


def _quantities(values: Any) -> dict[str, Decimal]:
    out = {}
    for name, raw in (values or {}).items() if isinstance(values, dict) else ():
        try:
            out[str(name)] = parse_quantity(raw)
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class Container:
    """One container's ``requests`` and ``limits`` as the pod is created (a request defaulted to its
    limit), and whether it is an init container."""

    name: str
    requests: dict[str, Decimal]
    limits: dict[str, Decimal]
    init: bool = False


@dataclass(frozen=True)
class Pod:
    """One pod's ``usage`` per quota key (``pods`` included), per key of :data:`VALIDATION_SET` the
    containers that leave it unset (``missing``), and its ``containers``."""

    usage: dict[str, Decimal]
    missing: dict[str, tuple[str, ...]]
    containers: tuple[Container, ...] = ()


def _container(container: Mapping[str, Any], defaults: Mapping[str, Decimal]) -> tuple[dict, dict]:
    resources = container.get("resources") or {}
    limits = {**defaults, **_quantities(resources.get("limits"))}
    requests = {**defaults, **limits, **_quantities(resources.get("requests"))}  # a request defaults to its limit
    return requests, limits


def pod_of(spec: Mapping[str, Any], defaults: Mapping[str, Decimal] | None = None) -> Pod:
    """The :class:`Pod` of a pod spec (see the module contract); ``defaults`` fill every container's unset
    requests and limits (a controller's defaulting)."""
    defaults = defaults or {}
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    init_requests: dict[str, Decimal] = {}
    init_limits: dict[str, Decimal] = {}
    missing: dict[str, list[str]] = {}
    containers: list[Container] = []
    for kind in ("containers", "initContainers"):
        for container in spec.get(kind) or []:
            c_requests, c_limits = _container(container, defaults)
            containers.append(Container(str(container.get("name") or "?"), c_requests, c_limits,
                                        kind == "initContainers"))
            for key in VALIDATION_SET:
                base = key.rpartition(".")[2]
                if base not in (c_limits if key.startswith("limits.") else c_requests):
                    missing.setdefault(key, []).append(str(container.get("name") or "?"))
            if kind == "containers":
                _add(requests, c_requests)
                _add(limits, c_limits)
            else:
                _max(init_requests, c_requests)
                _max(init_limits, c_limits)
    _max(requests, init_requests)
    _max(limits, init_limits)
    usage: dict[str, Decimal] = {"pods": Decimal(1), "count/pods": Decimal(1)}
    for name, amount in requests.items():
        if name in _NATIVE:
            usage[name] = usage[f"requests.{name}"] = amount
        else:
            usage[f"requests.{name}"] = amount
    for name in _NATIVE:
        if name in limits:
            usage[f"limits.{name}"] = limits[name]
    return Pod(usage, {k: tuple(dict.fromkeys(v)) for k, v in missing.items()}, tuple(containers))


def _add(into: dict[str, Decimal], values: Mapping[str, Decimal]) -> None:
    for name, amount in values.items():
        into[name] = into.get(name, Decimal(0)) + amount


def _max(into: dict[str, Decimal], values: Mapping[str, Decimal]) -> None:
    for name, amount in values.items():
        into[name] = max(into.get(name, Decimal(0)), amount)


# -- Knative's queue-proxy -------------------------------------------------------------------

QUEUE_PROXY = "queue-proxy"
"""The name of Knative's sidecar container (``queue.go`` ``QueueContainerName``)."""
QUEUE_SIDECAR_KEYS = {("requests", "cpu"): "queue-sidecar-cpu-request",
                      ("requests", "memory"): "queue-sidecar-memory-request",
                      ("requests", "ephemeral-storage"): "queue-sidecar-ephemeral-storage-request",
                      ("limits", "cpu"): "queue-sidecar-cpu-limit",
                      ("limits", "memory"): "queue-sidecar-memory-limit",
                      ("limits", "ephemeral-storage"): "queue-sidecar-ephemeral-storage-limit"}
"""``knative-serving/config-deployment`` keys of the queue-proxy's resources (``config.go``)."""
_DEPRECATED_KEYS = {("requests", "cpu"): "queueSidecarCPURequest", ("requests", "memory"): "queueSidecarMemoryRequest",
                    ("requests", "ephemeral-storage"): "queueSidecarEphemeralStorageRequest",
                    ("limits", "cpu"): "queueSidecarCPULimit", ("limits", "memory"): "queueSidecarMemoryLimit",
                    ("limits", "ephemeral-storage"): "queueSidecarEphemeralStorageLimit"}
QUEUE_SIDECAR_DEFAULTS = {("requests", "cpu"): "25m", ("requests", "memory"): "400Mi", ("limits", "cpu"): "1000m",
                          ("limits", "memory"): "800Mi"}
"""Knative's defaults (``config.go`` ``QueueSidecar*Default``); all but the cpu request apply only with
``queueproxy.resource-defaults: Enabled``."""
RESOURCE_DEFAULTS_FLAG = "queueproxy.resource-defaults"
"""The ``knative-serving/config-features`` flag that turns Knative's queue-proxy defaults on."""


@dataclass(frozen=True)
class QueueProxy:
    """The queue-proxy container Knative adds to an endpoint pod (``resources`` as in a pod spec) and
    where that came from (``source``, said in a warning that names it)."""

    resources: dict[str, dict[str, str]]
    source: str


def queue_proxy(deployment: Mapping[str, Any] | None = None, features: Mapping[str, Any] | None = None,
                unread: str = "") -> QueueProxy:
    """The queue-proxy of a cluster whose ``knative-serving`` ConfigMaps ``config-deployment`` and
    ``config-features`` hold ``deployment`` and ``features`` (their ``data``; None: absent, Knative's
    defaults; module contract; both None: not read). ``unread`` says why they could not be read (then
    Knative's defaults are assumed, and the source says so)."""
    read = deployment is not None or features is not None
    deployment, features = deployment or {}, features or {}
    enabled = str(features.get(RESOURCE_DEFAULTS_FLAG, "")).lower() == "enabled"  # asFlag: EqualFold
    resources: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    configured = []
    for (kind, name), key in QUEUE_SIDECAR_KEYS.items():
        value = deployment.get(key, deployment.get(_DEPRECATED_KEYS[(kind, name)]))
        if value is not None:
            configured.append(f"{key}: {value}")
        elif enabled or (kind, name) == ("requests", "cpu"):
            value = QUEUE_SIDECAR_DEFAULTS.get((kind, name))
        if value is not None:
            resources[kind][name] = str(value)
    resources = {k: v for k, v in resources.items() if v}
    if unread or not read:
        why = f"could not be read ({unread})" if unread else "were not read"
        return QueueProxy(resources, f"the knative-serving ConfigMaps {why}, so Knative's defaults are assumed: "
                                     "requests cpu 25m and nothing else")
    where = "knative-serving/config-deployment"
    source = f"{where} sets {', '.join(configured)}" if configured else f"{where} sets no queue-sidecar-* key"
    return QueueProxy(resources, f"{source}; {RESOURCE_DEFAULTS_FLAG} is {'enabled' if enabled else 'not enabled'}")


KNATIVE_QUEUE_PROXY = queue_proxy()
"""The queue-proxy of a default Knative install: ``requests: {cpu: 25m}`` and nothing else."""



def _defaulted(container: Mapping[str, Any], defaults: Mapping[str, Decimal]) -> dict[str, Any]:
    """``container`` with ``defaults`` filled into its unset requests and limits (a controller's defaulting)."""
    requests, limits = _container(container, defaults)
    return {**container, "resources": {"requests": {k: str(v) for k, v in requests.items()},
                                       "limits": {k: str(v) for k, v in limits.items()}}}


# -- what runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """Pods one item runs: ``what`` (``Deployment mlops-mlflow``), the ``creator`` whose pod creates a
    quota refuses, ``pod`` (each pod's usage), how many at ``start``, ``most`` and the ``update`` extra."""

    address: str
    what: str
    creator: str
    pod: Pod
    start: int
    most: int
    update: int = 0


def _count(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _surge(spec: Mapping[str, Any], replicas: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1] or 0) / 100)
    return _count(surge, 0)


def _deployment(r: DesiredResource, obj: dict, sidecar: QueueProxy) -> Iterator[Workload]:
    spec = obj.get("spec") or {}
    replicas = _count(spec.get("replicas"), 1)
    pod = pod_of((spec.get("template") or {}).get("spec") or {})
    yield Workload(r.address, f"Deployment {_name(obj)}", "the ReplicaSet controller", pod, replicas, replicas,
                   _surge(spec, replicas))


def _inference_service(r: DesiredResource, obj: dict, sidecar: QueueProxy) -> Iterator[Workload]:
    predictor = (obj.get("spec") or {}).get("predictor") or {}
    model = predictor.get("model")
    runtime = [{"name": "kserve-container", "resources": model.get("resources") or {}}] if isinstance(model, dict) else []
    containers = [_defaulted(c, KSERVE_DEFAULTS) for c in [*runtime, *(predictor.get("containers") or [])]]
    if serverless(obj):
        containers.append({"name": QUEUE_PROXY, "resources": sidecar.resources})
    pod = pod_of({"containers": containers})
    low = max(1, _count(predictor.get("minReplicas"), 1))
    high = _count(predictor.get("maxReplicas"), 0)
    yield Workload(r.address, f"InferenceService {_name(obj)}", "Knative (its revision's Deployment)", pod, low,
                   max(low, high), low)


def _job(r: DesiredResource, obj: dict, sidecar: QueueProxy) -> Iterator[Workload]:
    spec = obj.get("spec") or {}
    pods = _count(spec.get("parallelism"), 1)
    yield Workload(r.address, f"Job {_name(obj)}", "the Job controller",
                   pod_of((spec.get("template") or {}).get("spec") or {}), pods, pods)


def _cron_job(r: DesiredResource, obj: dict, sidecar: QueueProxy) -> Iterator[Workload]:
    job = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
    pods = _count(job.get("parallelism"), 1)
    yield Workload(r.address, f"CronJob {_name(obj)}", "the Job controller (at its schedule)",
                   pod_of((job.get("template") or {}).get("spec") or {}), 0, pods)


def _training_template(r: DesiredResource, obj: dict, sidecar: QueueProxy) -> Iterator[Workload]:
    raw = (obj.get("data") or {}).get(TEMPLATE_KEY)
    try:
        template = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        template = None
    if not isinstance(template, dict) or template.get("kind") != "PyTorchJob":
        return
    for role, replica, spec in run_pod_specs(template):  # a Worker's with the operator's init container
        count = _count(replica.get("replicas"), 1)
        pod = pod_of(spec)
        yield Workload(r.address, f"a PyTorchJob run's {role}", "the training operator (when a run starts)", pod, 0,
                       count)


INIT_PYTORCH_NOTE = ("init-pytorch is the training operator's init container of each Worker pod, with the resources of "
                     "its default template (the operator's --pytorch-init-container-template-file changes them)")
"""Said in a LimitRange warning that names ``init-pytorch``."""
WORKLOADS = {"Deployment": _deployment, "InferenceService": _inference_service, "Job": _job,
             "CronJob": _cron_job, "ConfigMap": _training_template}
"""Kind -> the pods an object of it runs (given the cluster's :class:`QueueProxy`)."""


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "?")


def namespace_objects(graph: DesiredGraph) -> list[tuple[DesiredResource, dict]]:
    """The graph's Kubernetes objects in its namespace (``graph.metadata["namespace"]``)."""
    namespace = graph.metadata.get("namespace")
    return [(r, r.inputs) for r in graph.resources
            if r.custom and r.type.startswith("kubernetes:") and isinstance(r.inputs.get("kind"), str)
            and (r.inputs.get("metadata") or {}).get("namespace") == namespace]


def workloads(objects: list[tuple[DesiredResource, dict]],
              sidecar: QueueProxy = KNATIVE_QUEUE_PROXY) -> list[Workload]:
    """Every pod-running item of ``objects`` (:func:`namespace_objects`; module contract), an endpoint's
    pods with the queue-proxy ``sidecar``."""
    return [w for r, obj in objects if obj["kind"] in WORKLOADS for w in WORKLOADS[obj["kind"]](r, obj, sidecar)]


def runs_pods(graph: DesiredGraph) -> bool:
    """Whether ``graph`` has objects that run pods in its namespace (then its LimitRanges matter)."""
    return bool(workloads(namespace_objects(graph)))


def serverless_endpoints(graph: DesiredGraph) -> bool:
    """Whether ``graph`` has a Serverless-mode InferenceService in its namespace (its pods run a queue-proxy)."""
    return any(obj["kind"] == "InferenceService" and serverless(obj) for _, obj in namespace_objects(graph))


# -- needs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One item's share of a key: at ``start``, ``most`` and its ``update`` extra."""

    address: str
    what: str
    creator: str
    start: Decimal
    most: Decimal
    update: Decimal = Decimal(0)


@dataclass
class Need:
    """What the namespace's objects need of one quota ``key`` (module contract)."""

    key: str
    parts: list[Part] = field(default_factory=list)

    @property
    def start(self) -> Decimal:
        return sum((p.start for p in self.parts), Decimal(0))

    @property
    def most(self) -> Decimal:
        return sum((p.most for p in self.parts), Decimal(0))

    @property
    def peak(self) -> Decimal:
        return self.most + max((p.update for p in self.parts), default=Decimal(0))


_SHORTHANDS = {("", "configmaps"): "configmaps", ("", "secrets"): "secrets", ("", "services"): "services",
               ("", "persistentvolumeclaims"): "persistentvolumeclaims",
               ("", "replicationcontrollers"): "replicationcontrollers", ("", "resourcequotas"): "resourcequotas"}
_PLURALS = {"Endpoints": "endpoints"}


def _plural(kind: str) -> str:
    lower = kind.lower()
    if kind in _PLURALS:
        return _PLURALS[kind]
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        return lower[:-1] + "ies"
    return lower + "s"


def _object_parts(r: DesiredResource, obj: dict) -> Iterator[tuple[str, Part]]:
    group = obj.get("apiVersion", "").rpartition("/")[0]
    plural = _plural(obj["kind"])
    one, what, creator = Decimal(1), f"{obj['kind']} {_name(obj)}", "pulumi up"
    keys = [f"count/{plural}.{group}" if group else f"count/{plural}"]
    if (group, plural) in _SHORTHANDS:
        keys.append(_SHORTHANDS[(group, plural)])
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service" and not group:
        if spec.get("type") == "LoadBalancer":
            keys.append("services.loadbalancers")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            ports = Decimal(len(spec.get("ports") or []))
            yield "services.nodeports", Part(r.address, what, creator, ports, ports)
    if obj["kind"] == "PersistentVolumeClaim" and not group:
        storage = _quantities((spec.get("resources") or {}).get("requests"))
        if "storage" in storage:
            yield "requests.storage", Part(r.address, what, creator, storage["storage"], storage["storage"])
    for key in keys:
        yield key, Part(r.address, what, creator, one, one)
    if obj["kind"] == "CronJob" and group == "batch":
        kept = 1 + _count(spec.get("successfulJobsHistoryLimit"), 3) + _count(spec.get("failedJobsHistoryLimit"), 1)
        yield "count/jobs.batch", Part(r.address, f"the Jobs of {what}", "the CronJob controller", Decimal(0),
                                       Decimal(kept))
    if obj["kind"] == "ConfigMap" and TEMPLATE_KEY in (obj.get("data") or {}):
        yield "count/pytorchjobs.kubeflow.org", Part(r.address, "a PyTorchJob run", "the launcher (when a run starts)",
                                                     Decimal(0), Decimal(1))


def _workload_parts(w: Workload) -> Iterator[tuple[str, Part]]:
    for key, amount in w.pod.usage.items():
        yield key, Part(w.address, w.what, w.creator, amount * w.start, amount * w.most, amount * w.update)


def namespace_needs(graph: DesiredGraph, sidecar: QueueProxy = KNATIVE_QUEUE_PROXY) -> dict[str, Need]:
    """What the graph's namespace objects need, per quota key (module contract), keys sorted."""
    objects = namespace_objects(graph)
    return _needs(objects, workloads(objects, sidecar))


def _needs(objects: list[tuple[DesiredResource, dict]], loads: list[Workload]) -> dict[str, Need]:
    needs: dict[str, Need] = {}
    parts = [p for r, obj in objects for p in _object_parts(r, obj)]
    parts += [p for w in loads for p in _workload_parts(w)]
    for key, part in parts:
        needs.setdefault(key, Need(key)).parts.append(part)
    return dict(sorted(needs.items()))


def unset_requirements(loads: list[Workload]) -> dict[str, list[tuple[Workload, tuple[str, ...]]]]:
    """Per key of :data:`VALIDATION_SET`, the workloads of ``loads`` (:func:`workloads`) with containers
    that leave it unset."""
    out: dict[str, list[tuple[Workload, tuple[str, ...]]]] = {}
    for w in loads:
        for key, containers in w.pod.missing.items():
            out.setdefault(key, []).append((w, containers))
    return out


# -- warnings ------------------------------------------------------------------------------


ITEMS_SHOWN = 10
"""A warning names at most this many items (the largest needs first), then how many more: a namespace
with a thousand endpoints gets a readable warning."""


def _listed(texts: list[str]) -> str:
    return join_names(texts, ITEMS_SHOWN)


def _items(need: Need, attribute: str) -> str:
    shown = [p for p in need.parts if getattr(p, attribute)]
    if len(shown) > ITEMS_SHOWN:
        shown = sorted(shown, key=lambda p: (-getattr(p, attribute), p.address, p.what))
        return _listed([f"{p.address} ({p.what}) {format_amount(need.key, getattr(p, attribute))}" for p in shown])
    return ", ".join(f"{p.address} ({p.what}) {format_amount(need.key, getattr(p, attribute))}"
                     for p in sorted(shown, key=lambda p: (p.address, p.what)))


def _creators(need: Need, attribute: str) -> str:
    return ", ".join(dict.fromkeys(p.creator for p in need.parts if getattr(p, attribute)))


def _quota_warning(quota: str, where: str, need: Need, hard: Decimal, used: Decimal | None) -> str | None:
    key = need.key
    room = hard if used is None else hard - used

    def show(amount: Decimal) -> str:
        return format_amount(key, amount)

    head = f"namespace quota: ResourceQuota {quota} in {where} sets {key} to {show(hard)}"
    if used:
        head += f", {show(used)} of it already used by others (a first apply: none of it is this environment's)"
    other = "" if used is not None else " (other use of the namespace counts too)"
    fix = (f"Ask the cluster admin to raise {key} in ResourceQuota {quota}, or lower what this environment "
           "asks for.")
    refused = f"refused with 403 Forbidden \"exceeded quota: {quota}\""
    if need.start > room:
        return (f"{head}; this environment's apply needs {show(need.start)}{other} ({_items(need, 'start')}): "
                f"the creates of {_creators(need, 'start')} past it are {refused}, so what they make never "
                f"runs (a Deployment never becomes available, an endpoint never becomes ready). {fix}")
    alone = sorted((p for p in need.parts if p.most > room), key=lambda p: (p.address, p.what))
    if alone:
        p = alone[0]
        return (f"{head}; {p.address} ({p.what}) alone needs {show(p.most)}{other}: the creates of {p.creator} "
                f"past it are {refused}, so it never runs, whatever else the namespace holds. {fix}")
    if need.most > room:
        return (f"{head}; at full scale and with every scheduled run at once it needs {show(need.most)}{other} "
                f"({_items(need, 'most')}): the creates of {_creators(need, 'most')} past it are {refused} "
                f"(a scale-out stops short, a training run never starts). {fix}")
    if need.peak > room:
        largest = max(sorted(need.parts, key=lambda p: (p.address, p.what)), key=lambda p: p.update)
        return (f"{head}; an update of {largest.address} ({largest.what}) starts its new pods beside the old "
                f"ones, {show(need.peak)} in all at full scale{other}: those creates of {largest.creator} "
                f"are {refused}, so the update never completes. {fix}")
    return None


def limit_range_defaults(limit_ranges: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """The keys of :data:`VALIDATION_SET` that the namespace's LimitRanges fill in for a container that
    leaves them unset, so a quota naming them does not refuse our pods for it.

    The LimitRanger admission plugin sets a container's missing limits from a ``Container`` item's
    ``default`` and its missing requests from ``defaultRequest`` (``plugin/pkg/admission/limitranger``
    ``defaultContainerResourceRequirements``, ``mergeContainerResources``), before the ResourceQuota
    plugin sees the pod (the recommended plugin order, ``pkg/kubeapiserver/options/plugins.go``
    ``AllOrderedPlugins``: ``LimitRanger`` before ``ResourceQuota``). The item's defaults are
    themselves defaulted (``pkg/apis/core/v1/defaults.go`` ``SetDefaults_LimitRangeItem``): an unset
    ``default`` limit takes ``max``, an unset ``defaultRequest`` takes ``default``, then ``min``. A
    server returns the LimitRange so defaulted; the rule is applied here too. What the defaults add
    to the pods' usage is not counted in :func:`namespace_needs` (its warnings stay lower bounds)."""
    covered: set[str] = set()
    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if not isinstance(item, Mapping) or item.get("type") != "Container":
                continue
            limits = {*(item.get("default") or {}), *(item.get("max") or {})}
            requests = {*(item.get("defaultRequest") or {}), *limits, *(item.get("min") or {})}
            covered.update(f"limits.{r}" for r in limits)
            covered.update(key for r in requests for key in (r, f"requests.{r}"))
    return frozenset(covered & set(VALIDATION_SET))


def _unset_warning(quota: str, where: str, key: str, lacking: list[tuple[Workload, tuple[str, ...]]],
                   sidecar: QueueProxy) -> str:
    items = _listed([f"{w.address} ({w.what}: {', '.join(containers)})"
                     for w, containers in sorted(lacking, key=lambda x: (x[0].address, x[0].what))])
    creators = ", ".join(dict.fromkeys(w.creator for w, _ in lacking))
    ours = any(c != QUEUE_PROXY for _, containers in lacking for c in containers)
    fix = f"Set {key} on those containers, or have" if ours else "Have"
    text = (f"namespace quota: ResourceQuota {quota} in {where} sets {key}, so every container must set it, and "
            f"these leave it unset: {items}. Their pods are refused with 403 Forbidden \"must specify {key}\" "
            f"(pod creates of {creators}). {fix} the cluster admin add a LimitRange default for it.")
    if any(QUEUE_PROXY in containers for _, containers in lacking):
        kind, _, name = key.rpartition(".")
        keys = [QUEUE_SIDECAR_KEYS[(k, name)] for k in ((kind,) if kind else ("requests", "limits"))]
        text += (f" The {QUEUE_PROXY} is Knative's sidecar in every endpoint pod ({sidecar.source}): the cluster "
                 f"admin can set {' and '.join(keys)} in ConfigMap knative-serving/config-deployment, or "
                 f"{RESOURCE_DEFAULTS_FLAG}: enabled in knative-serving/config-features (requests cpu 25m, "
                 "memory 400Mi, limits cpu 1000m, memory 800Mi).")
    return text


def _scoped(quota: Mapping[str, Any]) -> bool:
    spec = quota.get("spec") or {}
    return bool(spec.get("scopes") or (spec.get("scopeSelector") or {}).get("matchExpressions"))


def namespace_quota_warnings(graph: DesiredGraph, quotas: Sequence[Mapping[str, Any]], *,
                             first_apply: bool = False, limit_ranges: Sequence[Mapping[str, Any]] = (),
                             sidecar: QueueProxy = KNATIVE_QUEUE_PROXY) -> list[str]:
    """One warning per (quota, key) the graph's namespace objects pass and per validated key some
    container leaves unset and no LimitRange of ``limit_ranges`` fills in (:func:`limit_range_defaults`;
    module contract), in quota name then key order; endpoint pods run the queue-proxy ``sidecar``."""
    where = f"namespace {graph.metadata.get('namespace') or '?'}"
    if not quotas:
        return []
    objects = namespace_objects(graph)
    loads = workloads(objects, sidecar)  # parsed once, for the needs and the unset keys
    needs = _needs(objects, loads)
    defaulted = limit_range_defaults(limit_ranges)
    lacking = {key: items for key, items in unset_requirements(loads).items() if key not in defaulted}
    out = []
    for quota in sorted(quotas, key=lambda q: _name(q)):
        if _scoped(quota):
            continue
        hard = _quantities((quota.get("spec") or {}).get("hard"))
        used = _quantities((quota.get("status") or {}).get("used")) if first_apply else {}
        for key in sorted(hard):
            if key in lacking:
                out.append(_unset_warning(_name(quota), where, key, lacking[key], sidecar))
            if key in needs:
                warning = _quota_warning(_name(quota), where, needs[key], hard[key],
                                         used.get(key, Decimal(0)) if first_apply else None)
                if warning:
                    out.append(warning)
    return out


# -- LimitRanges ------------------------------------------------------------------------------


def _item_defaults(item: Mapping[str, Any]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """A ``Container`` item's default (requests, limits), defaulted as the server defaults it
    (``SetDefaults_LimitRangeItem``: limit <- ``max``; request <- ``default``, then ``min``)."""
    limits = {**_quantities(item.get("max")), **_quantities(item.get("default"))}
    requests = {**_quantities(item.get("min")), **limits, **_quantities(item.get("defaultRequest"))}
    return requests, limits


def _with_range_defaults(container: Container, ranges: Sequence[Mapping[str, Any]]) -> tuple[Container, dict[str, str]]:
    """``container`` after LimitRanger's mutation: each LimitRange in turn fills its missing limits and
    requests from its ``Container`` items' defaults (``defaultContainerResourceRequirements``,
    ``mergeContainerResources``: only keys the container leaves unset); and, per limit filled in, the
    LimitRange that filled it."""
    requests, limits = dict(container.requests), dict(container.limits)
    filled: dict[str, str] = {}
    for limit_range in ranges:
        d_requests: dict[str, Decimal] = {}
        d_limits: dict[str, Decimal] = {}
        for item in _items_of(limit_range, "Container"):
            item_requests, item_limits = _item_defaults(item)
            d_requests.update(item_requests)
            d_limits.update(item_limits)
        filled.update({k: _name(limit_range) for k in d_limits if k not in limits})
        limits = {**d_limits, **limits}
        requests = {**d_requests, **requests}
    return Container(container.name, requests, limits, container.init), filled


def _over_default(requests: Mapping[str, Decimal], limits: Mapping[str, Decimal],
                  keys: Sequence[str]) -> list[tuple[str, str]]:
    """A request above the limit a LimitRange default gave it (``keys``): the pod is then invalid, 422
    (``pkg/apis/core/validation/validation.go`` ``ValidateResourceRequirements``)."""
    return [(f"{k} request {_show(k, requests[k])} > default limit {_show(k, limits[k])}",
             f"422 Invalid (the pod's resources.requests: Invalid value: {_show(k, requests[k])}: must be less "
             f"than or equal to {k} limit of {_show(k, limits[k])})")
            for k in sorted(keys) if k in requests and requests[k] > limits[k]]


def _items_of(limit_range: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [i for i in (limit_range.get("spec") or {}).get("limits") or []
            if isinstance(i, Mapping) and i.get("type") == kind]


def _show(name: str, amount: Decimal) -> str:
    return format_amount(name, amount)


def _violations(item: Mapping[str, Any], kind: str, requests: Mapping[str, Decimal],
                limits: Mapping[str, Decimal]) -> list[tuple[str, str]]:
    """What ``requests``/``limits`` pass of ``item``: (short text, the refusal), in ``minConstraint``,
    ``maxConstraint``, ``limitRequestRatioConstraint`` order (LimitRanger refuses with 403)."""
    return [(short, f'403 Forbidden "{message}"') for short, message in _admission(item, kind, requests, limits)]


def _admission(item: Mapping[str, Any], kind: str, requests: Mapping[str, Decimal],
               limits: Mapping[str, Decimal]) -> list[tuple[str, str]]:
    out = []
    for name, low in sorted(_quantities(item.get("min")).items()):
        enforced = _show(name, low)
        if name not in requests:
            out.append((f"no {name} request (min {enforced})",
                        f"minimum {name} usage per {kind} is {enforced}.  No request is specified"))
        elif requests[name] < low:
            out.append((f"{name} request {_show(name, requests[name])} < min {enforced}",
                        f"minimum {name} usage per {kind} is {enforced}, but request is {_show(name, requests[name])}"))
        elif name in limits and limits[name] < low:
            out.append((f"{name} limit {_show(name, limits[name])} < min {enforced}",
                        f"minimum {name} usage per {kind} is {enforced}, but limit is {_show(name, limits[name])}"))
    for name, high in sorted(_quantities(item.get("max")).items()):
        enforced = _show(name, high)
        if name not in limits:
            out.append((f"no {name} limit (max {enforced})",
                        f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"))
        elif limits[name] > high:
            out.append((f"{name} limit {_show(name, limits[name])} > max {enforced}",
                        f"maximum {name} usage per {kind} is {enforced}, but limit is {_show(name, limits[name])}"))
        elif name in requests and requests[name] > high:
            out.append((f"{name} request {_show(name, requests[name])} > max {enforced}",
                        f"maximum {name} usage per {kind} is {enforced}, but request is {_show(name, requests[name])}"))
    for name, ratio in sorted(_quantities(item.get("maxLimitRequestRatio")).items()):
        request, limit = requests.get(name, Decimal(0)), limits.get(name, Decimal(0))
        if not request or not limit:
            missing = "request" if not request else "limit"
            out.append((f"no {name} {missing} (maxLimitRequestRatio {ratio.normalize():f})",
                        f"{name} max limit to request ratio per {kind} is {ratio.normalize():f}, but no {missing} "
                        f"is specified or {missing} is 0"))
        elif limit / request > ratio:
            out.append((f"{name} limit/request {float(limit / request):.2f} > maxLimitRequestRatio {ratio.normalize():f}",
                        f"{name} max limit to request ratio per {kind} is {ratio.normalize():f}, but provided ratio "
                        f"is {float(limit / request):f}"))
    return out


def _pod_totals(containers: Sequence[Container]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """A pod's requests and limits for a ``Pod`` item (``podRequests``/``podLimits``: the containers'
    sum, or the largest init container when larger)."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    init_requests: dict[str, Decimal] = {}
    init_limits: dict[str, Decimal] = {}
    for c in containers:
        _max(init_requests, c.requests) if c.init else _add(requests, c.requests)
        _max(init_limits, c.limits) if c.init else _add(limits, c.limits)
    _max(requests, init_requests)
    _max(limits, init_limits)
    return requests, limits


def limit_range_warnings(graph: DesiredGraph, limit_ranges: Sequence[Mapping[str, Any]],
                         sidecar: QueueProxy = KNATIVE_QUEUE_PROXY) -> list[str]:
    """One warning per (LimitRange, item type ``Container`` or ``Pod``) some pod of the graph's
    namespace objects would pass, after the LimitRanges' defaults (module contract), in LimitRange
    name order, naming each container or pod with what it passes."""
    if not limit_ranges:
        return []
    where = f"namespace {graph.metadata.get('namespace') or '?'}"
    loads = workloads(namespace_objects(graph), sidecar)
    ranges = sorted(limit_ranges, key=lambda lr: _name(lr))
    mutated = [(w, [_with_range_defaults(c, ranges) for c in w.pod.containers]) for w in loads]
    out = []
    for limit_range in ranges:
        name = _name(limit_range)
        for kind in ("Container", "Pod"):
            found: list[tuple[Workload, str, list[tuple[str, str]]]] = []
            for w, containers in mutated:
                if kind == "Container":
                    for c, filled in containers:
                        v = [x for item in _items_of(limit_range, kind)
                             for x in _violations(item, kind, c.requests, c.limits)]
                        named = {short.removeprefix("no ").split(" ")[0] for short, _ in v}  # one refusal is enough
                        v += _over_default(c.requests, c.limits,
                                           [k for k, by in filled.items() if by == name and k not in named])
                        if v:
                            found.append((w, c.name, v))
                    continue
                totals = _pod_totals([c for c, _ in containers])
                if v := [x for item in _items_of(limit_range, kind) for x in _violations(item, kind, *totals)]:
                    found.append((w, "", v))
            if found:
                out.append(_range_warning(name, where, kind, found))
    return out


def _range_warning(name: str, where: str, kind: str, found: list[tuple[Workload, str, list[tuple[str, str]]]]) -> str:
    found = sorted(found, key=lambda f: (f[0].address, f[0].what, f[1]))
    items = _listed([f"{w.address} ({w.what}{': ' + container if container else ''}) "
                     f"{', '.join(short for short, _ in v)}" for w, container, v in found])
    creators = ", ".join(dict.fromkeys(w.creator for w, _, _ in found))
    message = found[0][2][0][1]
    whose = "containers" if kind == "Container" else "pods"
    note = f" ({INIT_PYTORCH_NOTE})" if any(c == INIT_PYTORCH["name"] for _, c, _ in found) else ""
    return (f"namespace limits: LimitRange {name} in {where} bounds or defaults each {kind}, and these {whose} do not "
            f"fit it: {items}{note}. "
            f"Their pods are refused with {message} (pod creates of {creators}), so what "
            f"they make never runs. Change what those {whose} ask, or have the cluster admin change LimitRange {name}.")
