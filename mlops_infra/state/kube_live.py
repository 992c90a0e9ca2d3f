"""Live Kubernetes state: read the objects a stack's state names, through the client layer ``mlops_infra.kube``.

The Kubernetes counterpart of :mod:`mlops_infra.state.aws_live`, with the same contract and vocabulary:

- :func:`scan_kubernetes` takes :class:`~mlops_infra.state.model.StateResource` objects (normally a
  prior state's resources) and returns a :class:`~mlops_infra.state.model.LiveState` keyed by the same
  URNs. Each live resource keeps the prior ``urn``/``type``/``id``/``parent``/``provider``; its
  ``inputs`` are the object the API server returns (``status`` and server-managed metadata dropped),
  which is the shape Pulumi's Kubernetes provider stores as inputs (the object itself, camelCase).
- Which objects are read: custom ``kubernetes:`` resources with an id; components, providers and
  resources never created are skipped (neither live nor missing). The object is found by the prior
  inputs' ``apiVersion``, ``kind``, ``metadata.name`` and ``metadata.namespace`` (else the id
  ``namespace/name``), with ``GET`` on its REST path (:mod:`mlops_infra.kube.resources`).
- A 404 for the object is ``missing`` (deleted). Any other failure is ``errors[urn]`` (the message)
  and ``failures[urn]`` = (cause, code), with causes the plan explains (``READ_FAILURE_CAUSES``):
  ``kubernetes-type-missing`` (the API server does not serve the kind: its CRD is gone),
  ``kubernetes-forbidden`` (401/403), ``kubernetes-unreachable`` (no answer, no usable kubeconfig),
  ``kubernetes-server-error`` (5xx after retries) and ``other``. So a refresh that read nothing
  says so, by cause; it never looks like "no drift".
- What drift compares (:data:`TRACKING`, one declaration for every Kubernetes type, passed to
  :func:`mlops_infra.plan.drift.find_drift`): ``spec``, RBAC ``rules``/``roleRef``/``subjects``,
  a ServiceAccount's ``automountServiceAccountToken`` and ``secrets``, each as a value (objects
  compare only the keys the prior side sets, so server defaults are not drift), ``data`` as a map
  (every key counts: a ConfigMap is user data), and the labels and annotations the prior sets.
  Each but ``data`` is compared only when the prior inputs set it (``computed``): a property the program never
  set is Kubernetes' own, as pulumi-kubernetes' refresh sees it (``provider/pkg/provider/provider.go``
  ``Read``: "Prune the live inputs to remove properties that are not present in the program inputs",
  ``pruneLiveState``; ``util.go`` ``pruneMap`` keeps only the keys the program's inputs hold). So what
  the cluster writes on its own is no drift where the compiled object sets nothing: the Deployment
  controller's ``deployment.kubernetes.io/revision`` annotation (kubernetes
  ``pkg/controller/deployment/util/deployment_util.go`` ``SetDeploymentRevision``), the PV
  controller's ``pv.kubernetes.io/bind-completed``/``bound-by-controller`` annotations and
  ``spec.volumeName`` on a claim it binds (``pkg/controller/volume/persistentvolume/pv_controller.go``
  ``bindClaimToVolume``), and a namespace's ``spec.finalizers: [kubernetes]`` (``pkg/registry/core/
  namespace/strategy.go`` ``PrepareForCreate``: "on create, we require the kubernetes value"). A
  label or annotation the prior sets, edited or removed, stays drift.
- Readiness (:mod:`mlops_infra.plan.readiness` judges it): for the kinds of :data:`STATUS_KINDS`
  (Deployments, InferenceServices, Jobs) the reading's ``outputs`` keep the object's ``status`` and
  ``metadata.generation`` (``{"status": ..., "generation": ...}``, what the API server returned) from
  the same ``GET``: no call of its own. Other kinds get no outputs (their status is not judged and is
  not kept: a large stack's readings stay small).
- Fields a controller of mlops-infra owns are not drift (:data:`CONTROLLER_OWNED`): an
  InferenceService's ``canaryTrafficPercent`` is moved by the rollout runner step by step
  (``mlops_infra/rollout/drivers/kserve.py``), so the reading carries the prior's value there.
- Two spellings of one value are not drift (:data:`SAME_VALUE`): KServe 0.16 renamed the deployment
  modes, keeping ``Serverless`` and ``RawDeployment`` as deprecated aliases of ``Knative`` and
  ``Standard`` (kserve v0.16.0 ``pkg/constants/constants.go``: ``LegacyServerless DeploymentModeType =
  "Serverless" // deprecated: use Knative``), and from 0.17 its defaulting webhook, which runs on
  create and update, rewrites the annotation ``serving.kserve.io/deploymentMode: Serverless`` to
  ``Knative`` (v0.17.0 and v0.20.0 ``pkg/apis/serving/v1beta1/inference_service_defaults.go``
  ``DefaultInferenceService``: "Normalize deprecated annotation values"). KServe itself treats the two
  as one mode (``constants.ParseDeploymentMode``, v0.17.0), and so does the reading: where the prior's
  value and the live one name the same mode, the reading carries the prior's spelling (an
  InferenceService applied by a release that still wrote ``Serverless``, audit kubevers-3).
- Reads run on ``max_workers`` daemon threads; the client retries each request (bounded, see
  :class:`~mlops_infra.kube.client.KubeClient`: a server that never answers costs each request 4
  tries of a 30 s read timeout). ``deadline`` bounds the scan in seconds (default: the AWS scan's
  :func:`~mlops_infra.state.aws_live.scan.default_deadline` of the readable objects): no read starts
  after it, the scan returns at it, and what was not read by then fails with cause
  ``kubernetes-unreachable``, code ``deadline``. A read still in flight runs on to its end on its
  daemon thread, which never holds the process open, and its result is dropped (as the AWS scan's).
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

from mlops_infra.kube import KubeError, KubeForbidden, KubeNotFound, KubeServerError, KubeUnreachable
from mlops_infra.kube.resources import resource_type
from mlops_infra.progress import NO_PROGRESS, ProgressReporter
from mlops_infra.state.aws_live.scan import default_deadline, results_until
from mlops_infra.state.aws_live.tracking import Tracked, Tracking
from mlops_infra.state.model import LiveState, StateResource

PREFIX = "kubernetes:"
SERVER_METADATA = ("creationTimestamp", "generation", "managedFields", "resourceVersion", "selfLink", "uid")
CONTROLLER_OWNED: dict[str, tuple[str, ...]] = {
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": ("spec.predictor.canaryTrafficPercent",),
}
"""Type -> dotted paths a controller of mlops-infra moves after apply (not drift; see the contract)."""

SAME_VALUE: dict[str, dict[str, dict[str, str]]] = {
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": {
        "serving.kserve.io/deploymentMode": {"Serverless": "Knative", "RawDeployment": "Standard"}},
}
"""Type -> annotation -> deprecated spelling -> the one KServe writes (``ParseDeploymentMode``; see the contract)."""

STATUS_KINDS = frozenset({"kubernetes:apps/v1:Deployment", "kubernetes:serving.kserve.io/v1beta1:InferenceService",
                          "kubernetes:batch/v1:Job"})
"""Types whose live ``status`` (and ``metadata.generation``) the reading keeps in ``outputs`` (see the contract)."""

TRACKED = (
    Tracked("spec", "spec", computed=True),
    Tracked("data", "data", "map"),
    Tracked("rules", "rules", computed=True),
    Tracked("roleRef", "role reference", computed=True),
    Tracked("subjects", "subjects", computed=True),
    Tracked("automountServiceAccountToken", "token mounting", computed=True),
    Tracked("secrets", "secrets", computed=True),
    Tracked("metadata.labels", "labels", computed=True),
    Tracked("metadata.annotations", "annotations", computed=True),
)
"""Compared only where the prior inputs set them (``computed``: see the contract, pulumi-kubernetes'
``pruneLiveState``), except ``data``: a ConfigMap's data is what its consumers read, no controller
writes it, so a key added to one compiled without data is drift (stricter than Pulumi's refresh)."""


class _Tracking(dict):
    """Every ``kubernetes:`` type -> the one Kubernetes :class:`Tracking` (a mapping for ``find_drift``)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return Tracking(_noun(key), TRACKED) if str(key).startswith(PREFIX) else default


TRACKING = _Tracking()


def _noun(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


def readable(resource: StateResource) -> bool:
    return resource.custom and resource.type.startswith(PREFIX) and bool(resource.id)


def locate(resource: StateResource) -> tuple[Any, str, str | None]:
    """(ResourceType, name, namespace) of the object a prior resource names."""
    inputs, outputs = resource.inputs, resource.outputs
    api_version = inputs.get("apiVersion") or outputs.get("apiVersion")
    kind = inputs.get("kind") or outputs.get("kind")
    if not api_version or not kind:  # the type token carries them: kubernetes:<group>/<version>:<Kind>
        group_version, kind = resource.type[len(PREFIX):].rsplit(":", 1)
        group, _, version = group_version.rpartition("/")
        api_version = version if group == "core" else f"{group}/{version}"
    meta = inputs.get("metadata") or outputs.get("metadata") or {}
    namespace, _, name = str(resource.id).rpartition("/")
    name = meta.get("name") or name
    namespace = meta.get("namespace") or namespace or None
    return resource_type(api_version, kind, namespaced=namespace is not None), name, namespace


def live_inputs(type_token: str, obj: dict[str, Any], prior: StateResource) -> dict[str, Any]:
    """The object as a live reading: no ``status``, no server-managed metadata, controller-owned
    fields carrying the prior's value (see the contract)."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    out["metadata"] = meta
    for path in CONTROLLER_OWNED.get(type_token, ()):
        _copy_path(prior.inputs, out, path)
    _same_spelling(SAME_VALUE.get(type_token, {}), (prior.inputs.get("metadata") or {}).get("annotations") or {}, meta)
    return out


def _same_spelling(aliases: dict[str, dict[str, str]], prior: dict[str, Any], meta: dict[str, Any]) -> None:
    """Give the live annotations the prior's spelling where both name the same value (``aliases``)."""
    live = meta.get("annotations")
    if not isinstance(live, dict):
        return
    for key, spellings in aliases.items():
        before, now = prior.get(key), live.get(key)
        if isinstance(before, str) and isinstance(now, str) and spellings.get(before, before) == spellings.get(now, now):
            meta["annotations"] = {**live, key: before}
            live = meta["annotations"]


def live_outputs(type_token: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The reading's ``outputs``: ``status`` and ``generation`` for :data:`STATUS_KINDS`, else none."""
    if type_token not in STATUS_KINDS:
        return {}
    generation = (obj.get("metadata") or {}).get("generation")
    return {"status": obj.get("status") or {}, **({"generation": generation} if generation is not None else {})}


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        source = source.get(part) if isinstance(source, dict) else None
        if not isinstance(target.get(part), dict):
            return
        target = target[part]
    if isinstance(source, dict) and leaf in source:
        target[leaf] = copy.deepcopy(source[leaf])
    else:
        target.pop(leaf, None)


def failure_of(exc: Exception) -> tuple[str, str]:
    """(cause, code) of a failed read (causes explained by ``READ_FAILURE_CAUSES``)."""
    if isinstance(exc, KubeNotFound) and getattr(exc, "summary", "").endswith("the resource type is not served"):
        return "kubernetes-type-missing", "404 type not served"
    if isinstance(exc, KubeForbidden):
        return "kubernetes-forbidden", f"{exc.status or ''} {exc.reason}".strip() or "Forbidden"
    if isinstance(exc, KubeUnreachable):
        return "kubernetes-unreachable", exc.reason or "no answer"
    if isinstance(exc, KubeServerError):
        return "kubernetes-server-error", f"{exc.status or ''} {exc.reason}".strip() or "server error"
    if isinstance(exc, KubeError):
        return "other", f"{exc.status or ''} {exc.reason}".strip() or type(exc).__name__
    return "other", type(exc).__name__


def _message(exc: Exception) -> str:
    detail = getattr(exc, "message", "") or ""
    return f"{exc}{': ' + detail if detail else ''}"[:300]


def unreadable(resources: Iterable[StateResource], cause: str, code: str, message: str) -> LiveState:
    """A LiveState where every readable resource failed for one reason (e.g. no cluster to talk to)."""
    urns = [r.urn for r in resources if readable(r)]
    return LiveState({}, frozenset(), dict.fromkeys(urns, message[:300]), dict.fromkeys(urns, (cause, code)))


def scan_kubernetes(resources: Iterable[StateResource], kube: Any, *, max_workers: int = 8,
                    progress: ProgressReporter = NO_PROGRESS, deadline: float | None = None) -> LiveState:
    """Read every readable resource's object (see the module contract)."""
    wanted = [r for r in resources if readable(r)]
    progress.set_total(len(wanted))
    ends = time.monotonic() + (default_deadline(len(wanted)) if deadline is None else deadline)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(wanted)):
        todo.put(index)
    results: queue.SimpleQueue[tuple[int, tuple[str, Any]]] = queue.SimpleQueue()
    expired = threading.Event()

    def worker() -> None:
        while not expired.is_set() and time.monotonic() < ends:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            results.put((index, _read(wanted[index], kube, progress)))

    for n in range(min(max(1, max_workers), len(wanted))):
        threading.Thread(target=worker, name=f"kube-live-{n}", daemon=True).start()
    outcomes = results_until(results, len(wanted), ends)
    expired.set()
    unread = ("failed", ("not read: the refresh deadline passed", ("kubernetes-unreachable", "deadline")))
    live: dict[str, StateResource] = {}
    missing: set[str] = set()
    errors: dict[str, str] = {}
    failures: dict[str, tuple[str, str]] = {}
    for index, resource in enumerate(wanted):
        kind, value = outcomes.get(index, unread)
        if kind == "live":
            live[resource.urn] = value
        elif kind == "missing":
            missing.add(resource.urn)
        else:
            errors[resource.urn], failures[resource.urn] = value
    return LiveState(dict(sorted(live.items())), frozenset(missing), dict(sorted(errors.items())),
                     dict(sorted(failures.items())))


def _read(resource: StateResource, kube: Any, progress: ProgressReporter) -> tuple[str, Any]:
    """One object's reading: ``("live", StateResource)``, ``("missing", None)`` or ``("failed",
    (message, (cause, code)))``; a failure is reported for its object, never stops the scan."""
    try:
        rtype, name, namespace = locate(resource)
        try:
            obj = kube.get(rtype, name, namespace)
        except KubeNotFound as exc:
            if failure_of(exc)[0] == "kubernetes-type-missing":
                raise
            return "missing", None
        return "live", StateResource(
            urn=resource.urn, type=resource.type, custom=True, id=resource.id, parent=resource.parent,
            provider=resource.provider, inputs=live_inputs(resource.type, obj, resource),
            outputs=live_outputs(resource.type, obj))
    except Exception as exc:
        progress.count("failed")
        return "failed", (_message(exc), failure_of(exc))
    finally:
        progress.advance(1)
