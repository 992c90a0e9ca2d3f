"""A Kubernetes API server **stand-in** for tests: a loopback HTTP server speaking the real REST protocol.

No API server can run on these machines (no kind, no etcd), so this module is the ONE protocol-level
stand-in the test suite uses for anything that talks to Kubernetes: the rollout driver and
Kubernetes live state (``mlops_infra.kube``), the retrain trigger's launcher
(``compile/kubernetes/scripts/launcher.py``), a cluster preflight. It is not a Kubernetes: no
controllers run, nothing is scheduled, admission and validation are only what is listed here. What
it does speak is the wire protocol, as documented in "Kubernetes API Concepts"
(https://kubernetes.io/docs/reference/using-api/api-concepts/):

- **Paths**: core ``/api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]`` and groups
  ``/apis/{group}/{version}/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]``; a LIST of a
  namespaced resource without ``namespaces/{ns}`` lists all namespaces. Discovery: ``/version``,
  ``/api``, ``/apis``, ``/apis/{group}`` (an ``APIGroup``; 404 when no version of the group is served;
  its ``preferredVersion`` is the first version registered, where a real server takes the CRD's
  version priority), ``/apis/{group}/{version}``; any known token may read them (the real
  ``system:discovery`` role, bound to ``system:authenticated``).
- **Resources**: the built-in kinds in :data:`BUILTIN` are always served; a custom resource is served
  once its CustomResourceDefinition exists (passed as ``crds=``, seeded, or POSTed to
  ``/apis/apiextensions.k8s.io/v1/customresourcedefinitions``). Any other resource answers 404 with
  ``the server could not find the requested resource``, as a cluster without the CRD does.
  ``serve_any=True`` serves every resource path (the kind is taken from the body).
- **Verbs**: GET, LIST (``labelSelector`` with ``=``, ``==``, ``!=``, ``in``, ``notin``, exists,
  ``!key``; ``fieldSelector`` on ``metadata.name``/``metadata.namespace``; ``limit`` is ignored:
  everything comes in one page), POST (create; ``metadata.generateName``; 409 ``AlreadyExists``),
  PUT (replace), PATCH (``application/merge-patch+json`` per RFC 7386,
  ``application/json-patch+json`` per RFC 6902 via the ``jsonpatch`` library,
  ``application/strategic-merge-patch+json`` applied as a merge patch on built-in kinds and refused
  with 415 on custom resources, as the real server does; server-side apply: see below), DELETE
  (with ``preconditions.resourceVersion``; finalizers: see "Deletion"). ``/status`` subresources
  of GET/PUT/PATCH read and write ``.status`` only; writes to the main resource keep the stored
  ``.status`` (as for CRDs with the status subresource).
- **Concurrency**: one ``resourceVersion`` counter for the whole store (like etcd's revision), a new
  value on every write; a PUT or PATCH whose ``metadata.resourceVersion`` differs from the stored one
  gets 409 ``Conflict`` with the real message; ``metadata.generation`` increases when anything but
  metadata and status changes; ``uid`` and ``creationTimestamp`` are set on create. PUT without a
  resourceVersion is an unconditional update (allowed for built-in kinds); custom resources refuse it
  with 422 ``Invalid`` (their strategy does not allow unconditional updates).
- **Field management** ("Server-Side Apply",
  https://kubernetes.io/docs/reference/using-api/server-side-apply/): every write records which
  manager owns which fields. A manager is the ``fieldManager`` query parameter, else the part of the
  ``User-Agent`` before its first ``/`` (the API server's default). A non-apply write (POST, PUT,
  PATCH) is an ``Update``: its manager takes the fields whose value it changed, from whoever held
  them ("Whenever a field's value does change, ownership moves from its current manager to the
  manager making the change"), and fields it removed are no one's. A PATCH of
  ``application/apply-patch+yaml`` (a YAML or JSON object; ``fieldManager`` required) is an
  ``Apply``: a field it sets that another manager owns with a different value is a 409 ``Conflict``
  (``Apply failed with N conflict(s): conflict with "<manager>" using <apiVersion>: .<path>``, causes
  of type ``FieldManagerConflict``) unless ``force=true``, which takes the field over; the same value
  is shared; a field the manager applied before and leaves out is removed when no one else owns it;
  an apply to a missing object creates it. Fields are the leaves of nested objects (metadata
  ``labels``, ``annotations``, ``finalizers`` and ``ownerReferences``, and everything but ``status``
  outside metadata); a list is one atomic field, as in a custom resource's structural schema without
  ``x-kubernetes-list-type`` (built-in kinds merge some lists by key: not modelled). The owners are
  read with :meth:`KubeApiStandIn.managers`; objects do not carry ``metadata.managedFields`` unless
  ``managed_fields=True`` (off by default, so other tests see objects exactly as written): then every object
  the API answers with (GET, LIST items, the result of a write) carries them as the API server serializes
  them, one entry per manager and operation with fields, ``{manager, operation, apiVersion, fieldsType:
  FieldsV1, fieldsV1}``, ``fieldsV1`` the fields as nested ``f:<key>`` objects (k8s.io/apimachinery
  ``pkg/apis/meta/v1`` ``ManagedFieldsEntry``; structured-merge-diff ``fieldpath`` ``Set.ToJSON``; no
  ``time``, and lists are leaves as above); :meth:`KubeApiStandIn.seed` writes as no manager.
- **Deletion and finalizers** (``k8s.io/apiserver`` ``pkg/registry/generic/registry/store.go``): a
  DELETE of an object whose ``metadata.finalizers`` is not empty does not remove it
  (``Store.Delete`` -> ``updateForGracefulDeletionAndFinalizers`` -> ``markAsDeleting``): it sets
  ``deletionTimestamp`` (kept if already set), ``deletionGracePeriodSeconds: 0``, ``generation`` + 1
  (first time only) and a new resourceVersion, and answers 200 with the object; it stays readable
  and listed. An update can never remove or change the deletion timestamp (``pkg/registry/rest/update.go``
  ``BeforeUpdate``); the write that leaves a deleting object without finalizers removes it
  (``ShouldDeleteDuringUpdate``). A create of a name whose object still exists is 409
  ``AlreadyExists`` (``pkg/storage/etcd3/store.go`` ``store.Create``: an etcd transaction that puts
  only if the key is absent), its message prefixed ``object is being deleted: `` when that object has
  a deletionTimestamp (``Store.create``). The name is free again once the object is gone.
- **Validation**: a ConfigMap whose data is over 1 MiB is refused, as kubernetes
  ``pkg/apis/core/validation/validation.go`` ``ValidateConfigMap`` refuses it on create and, through
  ``ValidateConfigMapUpdate``, on every update, patch and apply: the sum of ``len(value)`` over
  ``data`` (UTF-8 bytes) and ``binaryData`` (decoded bytes; keys are not counted) over
  ``core.MaxSecretSize`` (1048576) is ``field.TooLong(field.NewPath(""), "", core.MaxSecretSize)``,
  answered by ``errors.NewInvalid`` (apimachinery ``pkg/api/errors``): 422 ``Invalid``, message
  ``ConfigMap "<name>" is invalid: []: Too long: must have at most 1048576 bytes`` (apimachinery
  ``field.TooLong`` wording up to 1.31, this stand-in's version; 1.32 and later say "may not be more
  than 1048576 bytes"; ``[]`` is ``field.Path.String`` of the empty root), one cause ``{reason:
  FieldValueTooLong, message: "Too long: ...", field: "[]"}``, details ``{name, kind: ConfigMap}``.
  A refused write changes nothing (no new resourceVersion, no field ownership). :meth:`seed` is not
  validated.
- **Admission**: the training-operator's validating webhook, installed with the PyTorchJob CRD
  (kubeflow/training-operator ``pkg/webhooks/pytorch/pytorchjob_webhook.go``, ``failurePolicy=fail``,
  verbs create and update), refuses a PyTorchJob whose name is not a DNS-1035 label
  (``validatePyTorchJob``: ``apimachineryvalidation.NameIsDNS1035Label``: ``[a-z]([-a-z0-9]*[a-z0-9])?``,
  at most 63 characters). Its ``field.ErrorList.ToAggregate()`` is no API status, so controller-runtime
  answers ``admission.Denied`` (``pkg/webhook/admission/validator_custom.go``; ``ValidationResponse``:
  code 403, reason ``Forbidden``) and the API server wraps it (``k8s.io/apiserver``
  ``pkg/admission/plugin/webhook/errors/statuserror.go`` ``ToStatusErr``): 403 ``Forbidden``, message
  ``admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request:
  metadata.name: Invalid value: "<name>": should match: <apimachinery's DNS-1035 messages>`` (the
  wording is assembled from those sources, not observed on a cluster). Admission runs before the
  object is stored, so a refused name is refused even when it is taken.
- **Errors**: ``Status`` objects (``kind: Status``, ``status: Failure``, ``reason``, ``message``,
  ``details``, ``code``) with the apiserver's message shapes for NotFound, AlreadyExists, Conflict,
  Invalid, BadRequest, Unauthorized, Forbidden, MethodNotAllowed, UnsupportedMediaType.
- **Authentication and authorization** (optional): ``tokens={token: rules}`` requires
  ``Authorization: Bearer <token>`` (401 otherwise) and authorizes each request against RBAC
  ``PolicyRule``-shaped dicts (``apiGroups``, ``resources`` incl. ``resource/subresource``, ``verbs``,
  optional ``resourceNames``), 403 ``Forbidden`` with the real message when no rule allows it.
  ``rules=None`` for a token allows everything. Compiled Role rules can be passed as they are.
- **Test hooks**: :attr:`requests` logs every request (method, path, query, content type, parsed
  body, answered status); :meth:`fail` injects failures (status or dropped connection, optional
  delay) for the next N matching requests; :meth:`on_write` registers a callback run after each
  successful write (a tiny "controller", e.g. to fill an InferenceService's status);
  :meth:`rendezvous` holds the answers to the next N matching requests until all N are served (two
  clients' reads of the same state, deterministically, before either writes); :meth:`seed`,
  :meth:`get`, :meth:`objects` read and write the store directly.

- **Service proxy** ("Manually constructing apiserver proxy URLs",
  https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls):
  ``/api/v1/namespaces/{ns}/services/[https:]{name}[:{port}]/proxy[/{path}]`` is authorized as the
  verb of its method on ``services/proxy`` (GET: ``get``) of that Service, answers 404 ``services
  "{name}" not found`` when the Service object does not exist, 503 ``no endpoints available for
  service "{name}"`` (``k8s.io/apiserver`` ``pkg/util/proxy`` ``ResolveEndpoint``) when no backend was
  registered for it with :meth:`proxy_service`, and otherwise forwards the method, the path after
  ``proxy``, the query, the body and the request's own ``Host`` header (the real proxy keeps it:
  apimachinery ``pkg/util/proxy/upgradeaware.go`` ``ServeHTTP`` replaces it only with
  ``UseLocationHost``, which ``pkg/registry/core/service/proxy.go`` does not set) to the registered
  loopback URL, and answers with the backend's status, content type and body. Stand-in limits: no
  pod endpoints or port resolution (one backend per Service), no upgrade (websocket) requests.

- **Access reviews** (``authorization.k8s.io/v1``; kubernetes.io "Authorization", "Checking API access"): a POST
  of a ``SubjectAccessReview`` (``/apis/authorization.k8s.io/v1/subjectaccessreviews``), a
  ``LocalSubjectAccessReview`` (``.../namespaces/{ns}/localsubjectaccessreviews``; its
  ``spec.resourceAttributes.namespace`` is defaulted to ``{ns}`` and any other value is 400 BadRequest) or a
  ``SelfSubjectAccessReview`` (``.../selfsubjectaccessreviews``) answers 201 with the review and ``status:
  {allowed, reason}``, storing nothing. Who may ask: the first two are authorized like any ``create`` of
  ``subjectaccessreviews`` / ``localsubjectaccessreviews`` against the token's rules; the self review any known
  token may send (ClusterRole ``system:basic-user``). What is evaluated, and nothing else: for a (Local)
  SubjectAccessReview, ``spec.user`` and ``spec.groups`` against the RBAC objects the stand-in holds:
  every ClusterRoleBinding, and the RoleBindings of ``resourceAttributes.namespace``, whose ``subjects`` name
  that user (``kind: User``), one of the groups (``kind: Group``) or the ServiceAccount the user is
  (``system:serviceaccount:<namespace>:<name>``, ``kind: ServiceAccount``), each granting the rules of its
  ``roleRef`` (a Role of the binding's namespace or a ClusterRole; a missing one grants nothing); for a self
  review, the token's own ``tokens=`` rules (``None``, or no ``tokens`` at all: everything allowed). A rule allows
  when its ``apiGroups``, ``resources`` (``resource/subresource``), ``verbs`` and ``resourceNames`` (empty: any;
  a request without a name matches only a rule without names) cover the attributes, ``*`` matching anything, as
  the RBAC authorizer's ``RuleAllows`` (kubernetes ``plugin/pkg/auth/authorizer/rbac/rbac.go``) does. Not
  modelled: aggregated ClusterRoles (``aggregationRule``: only the rules an object holds count), the implicit
  groups (``system:authenticated``, ``system:serviceaccounts``...) a review does not list,
  ``nonResourceAttributes`` (never allowed), other authorizers, and the reason texts (the stand-in's own).
  A POST of a ``SelfSubjectRulesReview`` (``.../selfsubjectrulesreviews``, cluster-scoped, ``spec.namespace``
  required: 400 otherwise; any known token, ClusterRole ``system:basic-user``) answers 201 with ``status:
  {resourceRules, nonResourceRules: [], incomplete}``: the token's ``tokens=`` rules (``None``: one ``*`` rule), as
  the RBAC rule resolver lists them. ``webhook_rules={token: rules}`` (optional) models a webhook authorizer (e.g.
  EKS access policies) granting those rules too: requests and SelfSubjectAccessReviews are allowed by them, a
  rules review does not list them and says ``incomplete: true`` with ``evaluationError`` "webhook authorizer does
  not support user rule resolution" (k8s.io/apiserver ``plugin/pkg/authorizer/webhook/webhook.go`` ``RulesFor``).

ResourceQuota and LimitRange objects are stored and served like any built-in kind; nothing enforces
them (no quota or limit-range admission).

- **Server-set fields** (``server_fields=True``; off by default, so other tests see objects exactly as
  written): what every real cluster writes into objects on its own, so a test of "as applied, no drift"
  meets them (:func:`server_set_fields`). Applied at each create, update and patch of the object and
  each :meth:`seed`, in place, with no resourceVersion of their own; their field ownership is not
  modelled (they count as the write's; the real controllers write them with an ``Update`` of
  ``kube-controller-manager``, and the namespace strategy runs after field management):

  - a Namespace created (POST, an apply that creates, or a seed of a new one) gets ``spec.finalizers``
    with ``kubernetes`` appended when missing (kubernetes ``pkg/registry/core/namespace/strategy.go``
    ``PrepareForCreate``: "on create, we require the kubernetes value");
  - a Deployment gets ``metadata.annotations["deployment.kubernetes.io/revision"]``: ``"1"`` when
    first seen, one more each time ``spec.template`` changes (a new ReplicaSet, revision = the highest
    + 1; ``pkg/controller/deployment/util/deployment_util.go`` ``SetDeploymentRevision``,
    ``RevisionAnnotation``);
  - a PersistentVolumeClaim is bound at once, as a dynamic provisioner and the PV controller leave it:
    ``volume.kubernetes.io/storage-provisioner`` and ``volume.beta.kubernetes.io/storage-provisioner``
    = :data:`PROVISIONER` (kind's default StorageClass), ``spec.volumeName`` = ``pvc-<uid>``,
    ``pv.kubernetes.io/bound-by-controller: "yes"`` and ``pv.kubernetes.io/bind-completed: "yes"``
    (``pkg/controller/volume/persistentvolume/pv_controller.go`` ``bindClaimToVolume``: "Set
    AnnBoundByController if it is not set yet", "Set AnnBindCompleted if it is not set yet"), and
    ``status.phase: Bound``. No PersistentVolume object is made.

- **Workload status** (``workload_status=True``; off by default, so other tests see objects exactly as
  written): the status the workload controllers write once they are done, so a test of a healthy
  cluster's ``plan --refresh`` meets it (:func:`workload_status`). Applied at each write of the main
  resource and each :meth:`seed` of an object written without a ``status`` (a seeded status is kept,
  as a test's failed rollout is), after ``server_fields``; ``/status`` writes are kept as they are:

  - a Deployment: its new ReplicaSet available, as the deployment controller leaves a finished rollout
    (kubernetes ``pkg/controller/deployment/sync.go`` ``calculateStatus``: ``Available`` ``True``,
    ``MinimumReplicasAvailable``, "Deployment has minimum availability."; ``util/deployment_util.go``:
    ``Progressing`` ``True``, ``NewReplicaSetAvailable``, ``ReplicaSet "<name>" has successfully
    progressed.``; the same shapes pulumi-kubernetes' await tests use, ``provider/pkg/await/
    deployment_test.go``), ``observedGeneration`` = the object's generation, every replica available;
  - a Job: complete (``Complete`` ``True``, ``succeeded: 1``, as pulumi-kubernetes'
    ``await/checker/internal/states/kubernetes/job/succeeded.json``).

  A failed rollout or Job is a test's own ``status`` (seeded, or written to ``/status``).

Dry run: a create with ``?dryRun=All`` runs what a create runs (name generation, the stand-in's admission:
the PyTorchJob name rule and, with ``kueue_pytorchjob_webhook=True``, the suspend default below; validation)
and answers the object it would store, storing nothing and calling no write hook (API concepts, "Dry-run":
"the request is still processed as typical request: the fields are defaulted, the object is validated, it goes
through the validation admission chain, and through the mutating admission chain, and then the final object is
returned to the user as it normally would, without being persisted"). Any other ``dryRun`` value, or a dry run
of another verb, answers 400 (only ``All`` is defined; other verbs are not modelled).

Kueue's PyTorchJob webhook (``kueue_pytorchjob_webhook=True``, a stand-in for Kueue with the
``kubeflow.org/pytorchjob`` integration enabled): a PyTorchJob created with the label
``kueue.x-k8s.io/queue-name`` gets ``spec.runPolicy.suspend: true`` (kubernetes-sigs/kueue v0.19.2
``pkg/controller/jobframework/defaults.go`` ``ApplyDefaultForSuspend``: a job that should be managed
(``WorkloadShouldBeSuspended``: it names a queue) and is not suspended is suspended). Without it the
stand-in is Kueue >= 0.19 as installed by default, where that integration is off and its webhook a noop
(``pkg/controller/jobframework/setup.go`` lines 108-110, ``WithNoopWebhook(true)``).

Not supported (say so in tests that would need them): watch (``?watch=1`` answers 400), pagination tokens, Table output, protobuf, graceful deletion (``gracePeriodSeconds``), ``propagationPolicy`` and cascading deletion (nothing owns anything), ``preconditions.uid``.

The server binds 127.0.0.1 on a port the OS picks, serves each connection on a daemon thread, and
:meth:`stop` shuts it down within a bounded wait. Use it as a context manager::

    with KubeApiStandIn(crds=[inference_service_crd]) as api:
        api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns"}})
        kube = KubeClient.from_url(api.url)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import random
import re
import socket
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

from tests.support.shared_files import SHARED

SERVER_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0-standin", "platform": "linux/amd64"}


@dataclass(frozen=True)
class Resource:
    """One served resource type: ``group`` ("" for core), ``version``, ``plural``, ``kind``, scope."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    builtin: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``plural.group`` as the apiserver writes it in messages (``configmaps`` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(api_version: str, namespaced: bool, **kinds: str) -> list[Resource]:
    group, _, version = api_version.rpartition("/")
    return [Resource(group, version, plural, kind, namespaced) for plural, kind in kinds.items()]


BUILTIN: tuple[Resource, ...] = (
    *_builtin("v1", True, configmaps="ConfigMap", secrets="Secret", serviceaccounts="ServiceAccount",
              services="Service", pods="Pod", persistentvolumeclaims="PersistentVolumeClaim", events="Event",
              endpoints="Endpoints", resourcequotas="ResourceQuota", limitranges="LimitRange"),
    *_builtin("v1", False, namespaces="Namespace", nodes="Node", persistentvolumes="PersistentVolume"),
    *_builtin("apps/v1", True, deployments="Deployment", statefulsets="StatefulSet", daemonsets="DaemonSet",
              replicasets="ReplicaSet"),
    *_builtin("batch/v1", True, jobs="Job", cronjobs="CronJob"),
    *_builtin("rbac.authorization.k8s.io/v1", True, roles="Role", rolebindings="RoleBinding"),
    *_builtin("rbac.authorization.k8s.io/v1", False, clusterroles="ClusterRole",
              clusterrolebindings="ClusterRoleBinding"),
    *_builtin("networking.k8s.io/v1", True, networkpolicies="NetworkPolicy", ingresses="Ingress"),
    *_builtin("policy/v1", True, poddisruptionbudgets="PodDisruptionBudget"),
    *_builtin("autoscaling/v2", True, horizontalpodautoscalers="HorizontalPodAutoscaler"),
    *_builtin("scheduling.k8s.io/v1", False, priorityclasses="PriorityClass"),
    *_builtin("storage.k8s.io/v1", False, storageclasses="StorageClass"),
    *_builtin("apiextensions.k8s.io/v1", False, customresourcedefinitions="CustomResourceDefinition"),
)
"""Built-in resources the stand-in always serves."""

CRD_DIR = SHARED / "fixtures" / "crds"


def load_crds(*names: str, directory: Path = CRD_DIR) -> list[dict[str, Any]]:
    """CustomResourceDefinitions from the shared fixtures, by file name (e.g.
    ``"serving.kserve.io_inferenceservices.minimal.yaml"``); all of them when no name is given."""
    import yaml

    paths = [directory / n for n in names] if names else sorted(directory.glob("*.yaml"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [yaml.load(path.read_text(), Loader=loader) for path in paths]


def write_kubeconfig(path: Path, server: str, token: str = "t", contexts: Iterable[str] = ("kind-mlops",)) -> Path:
    """A kubeconfig at ``path`` whose ``contexts`` (the first is current) all reach ``server`` with the
    bearer ``token``: how a test points the CLI or the client at the stand-in."""
    names = list(contexts)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": names[0],
        "clusters": [{"name": "stand-in", "cluster": {"server": server}}],
        "users": [{"name": "dev", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "stand-in", "user": "dev"}} for name in names]}))
    return path


def crd_resources(crd: Mapping[str, Any]) -> list[Resource]:
    """The resources (one per served version) a CustomResourceDefinition adds."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    return [Resource(spec["group"], v["name"], names["plural"], names["kind"], namespaced, builtin=False)
            for v in spec.get("versions") or [] if v.get("served", True)]


# -- errors -------------------------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answer: HTTP code + a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(resource: Resource, name: str | None, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": resource.plural, **extra}
    if name:
        details["name"] = name
    if resource.group:
        details["group"] = resource.group
    return details


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.group_resource} "{name}" not found', _details(resource, name))


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource.group_resource} "{name}" already exists',
                    _details(resource, name))


def conflict(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource.group_resource} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and try again",
                    _details(resource, name))


def invalid(resource: Resource, name: str, field_path: str, message: str) -> ApiError:
    cause = {"reason": "FieldValueInvalid", "message": message, "field": field_path}
    return ApiError(422, "Invalid", f'{resource.kind}.{resource.group or "core"} "{name}" is invalid: '
                    f"{field_path}: {message}", _details(resource, name, causes=[cause]))


CONFIGMAP_MAX_BYTES = 1024 * 1024
"""kubernetes ``core.MaxSecretSize``: the most bytes of data a ConfigMap (or Secret) may hold."""


def configmap_data_size(obj: Mapping[str, Any]) -> int:
    """What ``ValidateConfigMap`` adds up: the values' bytes of ``data`` and (base64-decoded) ``binaryData``."""
    size = sum(len(str(value).encode()) for value in (obj.get("data") or {}).values())
    for value in (obj.get("binaryData") or {}).values():
        try:
            size += len(base64.b64decode(str(value)))
        except (binascii.Error, ValueError):
            size += len(str(value)) * 3 // 4
    return size


def configmap_too_long(name: str) -> ApiError:
    """``ValidateConfigMap``'s refusal of data over :data:`CONFIGMAP_MAX_BYTES` (module docstring, "Validation")."""
    detail = f"Too long: must have at most {CONFIGMAP_MAX_BYTES} bytes"
    return ApiError(422, "Invalid", f'ConfigMap "{name}" is invalid: []: {detail}',
                    {"name": name, "kind": "ConfigMap",
                     "causes": [{"reason": "FieldValueTooLong", "message": detail, "field": "[]"}]})


DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
PYTORCHJOB_WEBHOOK = "validator.pytorchjob.training-operator.kubeflow.org"


def dns1035_label_errors(name: str) -> list[str]:
    """apimachinery ``validation.IsDNS1035Label``'s messages for ``name`` (empty: a DNS-1035 label)."""
    errors = []
    if len(name) > 63:
        errors.append("must be no more than 63 characters")
    if not DNS1035_LABEL.fullmatch(name):
        errors.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                      "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                      "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    return errors


def pytorchjob_name_denied(resource: Resource, name: str) -> ApiError | None:
    """The training-operator webhook's refusal of a PyTorchJob name that is not a DNS-1035 label
    (module docstring, "Admission"); None when the name is one, or for any other resource."""
    errors = dns1035_label_errors(name)
    if (resource.group, resource.plural) != ("kubeflow.org", "pytorchjobs") or not errors:
        return None
    message = (f'admission webhook "{PYTORCHJOB_WEBHOOK}" denied the request: metadata.name: Invalid value: '
               f'"{name}": should match: {",".join(errors)}')
    return ApiError(403, "Forbidden", message, _details(resource, name))


KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def kueue_suspend_default(resource: Resource, obj: dict[str, Any]) -> None:
    """Kueue's PyTorchJob defaulting webhook with the integration on (module docstring): a PyTorchJob naming
    a queue is created suspended (kueue ``jobframework/defaults.go`` ``ApplyDefaultForSuspend``)."""
    if (resource.group, resource.plural) != ("kubeflow.org", "pytorchjobs"):
        return
    if ((obj.get("metadata") or {}).get("labels") or {}).get(KUEUE_QUEUE_LABEL):
        obj.setdefault("spec", {}).setdefault("runPolicy", {})["suspend"] = True


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


NO_RESOURCE = ApiError(404, "NotFound", "the server could not find the requested resource", {})
SERVICE_PROXY = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/services/(?:https?:)?(?P<name>[^/:]+)"
                           r"(?::[^/]*)?/proxy(?P<rest>/.*)?$")
"""A service proxy path: ``/api/v1/namespaces/{ns}/services/[scheme:]{name}[:{port}]/proxy[/{path}]``."""
ACCESS_REVIEW = re.compile(r"^/apis/authorization\.k8s\.io/v1/(?:namespaces/(?P<namespace>[^/]+)/)?"
                           r"(?P<plural>subjectaccessreviews|localsubjectaccessreviews|selfsubjectaccessreviews"
                           r"|selfsubjectrulesreviews)/?$")
"""An access review path (see "Access reviews" in the module docstring)."""
RULES_REVIEW = "selfsubjectrulesreviews"
REVIEW_KINDS = {"subjectaccessreviews": ("SubjectAccessReview", False),
                "localsubjectaccessreviews": ("LocalSubjectAccessReview", True),
                "selfsubjectaccessreviews": ("SelfSubjectAccessReview", False)}
"""kind and scope of each access review resource."""


# -- label and field selectors ------------------------------------------------------------------------------------

_SET_TERM = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [t for t in [*terms, current] if t.strip()]


def _term_matcher(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_TERM.match(term):
        key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    term = term.strip()
    if term.startswith("!"):
        return lambda labels: term[1:] not in labels
    return lambda labels: term in labels


def label_matcher(selector: str | None) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over a label map for a Kubernetes label selector string (empty: match all)."""
    matchers = [_term_matcher(t) for t in _split_selector(selector or "")]
    return lambda labels: all(m(labels) for m in matchers)


def _field_matcher(selector: str | None) -> Callable[[Mapping[str, Any]], bool]:
    checks = []
    for term in _split_selector(selector or ""):
        negate = "!=" in term
        path, value = (p.strip() for p in re.split(r"!=|==|=", term, maxsplit=1))
        if path not in ("metadata.name", "metadata.namespace"):
            raise bad_request(f'"{path}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        key = path.split(".", 1)[1]
        checks.append((key, value, negate))
    return lambda meta: all((meta.get(k, "") == v) != neg for k, v, neg in checks)


# -- patches ------------------------------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


_METADATA_FIELDS = ("labels", "annotations", "finalizers", "ownerReferences")


def managed_fields(obj: Mapping[str, Any]) -> dict[FieldPath, Any]:
    """The fields of ``obj`` with their values (see "Field management" in the module docstring)."""
    found: dict[FieldPath, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            for name in _METADATA_FIELDS:
                if isinstance(value, dict) and value.get(name) is not None:
                    _leaves(value[name], ("metadata", name), found)
            continue
        _leaves(value, (key,), found)
    return found


def _leaves(value: Any, path: FieldPath, found: dict[FieldPath, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _leaves(item, (*path, key), found)
    else:
        found[path] = value


def _same(one: Any, other: Any) -> bool:
    """Equal as JSON (``1``, ``1.0`` and ``True`` differ)."""
    return json.dumps(one, sort_keys=True) == json.dumps(other, sort_keys=True)


def _spelled(path: FieldPath) -> str:
    return "." + ".".join(path)


def fields_v1(fields: Iterable[FieldPath]) -> dict[str, Any]:
    """``fields`` as a ``managedFields`` entry's ``fieldsV1``: ``{"f:spec": {"f:stopPolicy": {}}}``."""
    tree: dict[str, Any] = {}
    for path in sorted(fields):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def _set_field(obj: dict[str, Any], path: FieldPath, value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    obj[path[-1]] = value


def _remove_field(obj: dict[str, Any], path: FieldPath) -> None:
    """Remove one field, and the objects it leaves empty."""
    parents = [obj]
    for key in path[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):
        if parents[depth]:
            break
        parents[depth - 1].pop(path[depth - 1], None)


def _field_conflicts(target: Target, conflicts: list[tuple[Managed, FieldPath]]) -> ApiError:
    """The API server's answer to an apply that would change other managers' fields
    (``k8s.io/apiserver`` ``fieldmanager`` ``NewConflictError``)."""
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{entry.manager}" using {entry.api_version}',
               "field": _spelled(path)} for entry, path in conflicts]
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        message = f"Apply failed with {len(causes)} conflicts: " + "\n".join(
            f"{cause['message'].replace('conflict with', 'conflicts with', 1)}:\n- {cause['field']}" for cause in causes)
    return ApiError(409, "Conflict", message, {**_details(target.resource, target.name), "causes": causes})


# -- server-set fields ---------------------------------------------------------------------------------------------

PROVISIONER = "rancher.io/local-path"
"""The provisioner of kind's default StorageClass ``standard``: who provisions a claim's volume with
``server_fields`` (module docstring, "Server-set fields")."""
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def server_set_fields(obj: dict[str, Any], before: Mapping[str, Any] | None) -> None:
    """Write into ``obj`` (about to be stored; ``before``: the stored object it replaces, None on create)
    what the API server and the controllers every cluster runs set on their own (module docstring,
    "Server-set fields")."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    meta = obj.setdefault("metadata", {})
    if (api_version, kind) == ("v1", "Namespace") and before is None:
        spec = obj.get("spec") or {}
        finalizers = list(spec.get("finalizers") or [])
        obj["spec"] = {**spec, "finalizers": finalizers + ["kubernetes"] * ("kubernetes" not in finalizers)}
    elif (api_version, kind) == ("apps/v1", "Deployment"):
        previous = (((before or {}).get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
        new_template = before is None or (before.get("spec") or {}).get("template") != (obj.get("spec") or {}).get("template")
        revision = int(previous or 0) + 1 if new_template or previous is None else int(previous)
        meta["annotations"] = {**(meta.get("annotations") or {}), REVISION_ANNOTATION: str(revision)}
    elif (api_version, kind) == ("v1", "PersistentVolumeClaim"):
        obj.setdefault("spec", {}).setdefault("volumeName", f"pvc-{meta.get('uid', '')}")
        meta["annotations"] = {"volume.kubernetes.io/storage-provisioner": PROVISIONER,
                               "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
                               "pv.kubernetes.io/bound-by-controller": "yes", "pv.kubernetes.io/bind-completed": "yes",
                               **(meta.get("annotations") or {})}
        obj["status"] = {**(obj.get("status") or {}), "phase": "Bound"}


def workload_status(obj: dict[str, Any]) -> None:
    """Write into ``obj`` (a Deployment or Job about to be stored) the status its controller writes once
    it is done (module docstring, "Workload status"); other kinds are left alone."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    meta = obj.get("metadata") or {}
    if (api_version, kind) == ("apps/v1", "Deployment"):
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        obj["status"] = {
            "observedGeneration": meta.get("generation", 1), "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                            "message": "Deployment has minimum availability."},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                            "message": f'ReplicaSet "{meta.get("name")}-5d8f7c9b6" has successfully progressed.'}]}
    elif (api_version, kind) == ("batch/v1", "Job"):
        obj["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}


# -- requests -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A parsed request path."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass
class LoggedRequest:
    """One request the stand-in answered (for assertions)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    status: int = 0
    token: str | None = None
    verb: str = ""
    """The Kubernetes verb (get, list, create, update, patch, delete) of a resource request."""


@dataclass
class _Fault:
    method: str | None
    path_contains: str | None
    status: int | None
    times: int
    delay: float
    drop: bool
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and (self.path_contains is None or self.path_contains in path)


@dataclass
class _Rendezvous:
    method: str | None
    path_contains: str | None
    barrier: threading.Barrier
    left: int
    timeout: float

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and (self.path_contains is None or self.path_contains in path)


Key = tuple[str, str, str, str]
"""Store key: (group, plural, namespace or "", name)."""


FieldPath = tuple[str, ...]
"""A field: the keys from the object's top to one leaf (see "Field management" in the module docstring)."""


@dataclass
class Managed:
    """One manager's fields of one object, by operation (an ``Apply`` and an ``Update`` entry of one
    manager are kept apart, as in ``metadata.managedFields``)."""

    manager: str
    operation: str
    api_version: str
    fields: set[FieldPath] = field(default_factory=set)


@dataclass
class _Store:
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    revision: int = 1000
    managed: dict[Key, list[Managed]] = field(default_factory=dict)

    def next_version(self) -> str:
        self.revision += 1
        return str(self.revision)


class KubeApiStandIn:
    """The Kubernetes API stand-in (see the module docstring). Start/stop it or use ``with``."""

    def __init__(self, *, crds: Iterable[Mapping[str, Any]] = (), tokens: Mapping[str, list[dict] | None] | None = None,
                 serve_any: bool = False, server_fields: bool = False, managed_fields: bool = False,
                 workload_status: bool = False, kueue_pytorchjob_webhook: bool = False,
                 webhook_rules: Mapping[str, list[dict]] | None = None) -> None:
        self.kueue_pytorchjob_webhook = kueue_pytorchjob_webhook
        self.tokens = dict(tokens) if tokens is not None else None
        self.webhook_rules = dict(webhook_rules) if webhook_rules is not None else None
        self.serve_any = serve_any
        self.server_fields = server_fields
        self.managed_fields = managed_fields
        self.workload_status = workload_status
        self.requests: list[LoggedRequest] = []
        self._lock = threading.RLock()
        self._store = _Store()
        self._resources: dict[tuple[str, str, str], Resource] = {}
        self._faults: list[_Fault] = []
        self._rendezvous: list[_Rendezvous] = []
        self._hooks: list[Callable[[str, dict[str, Any]], None]] = []
        self._proxied: dict[tuple[str, str], str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        for resource in BUILTIN:
            self._register(resource)
        for crd in crds:
            self.seed(crd)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> KubeApiStandIn:
        stand_in = self

        class Handler(_Handler):
            api = stand_in

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kube-api-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> KubeApiStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError("the Kubernetes API stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test hooks --------------------------------------------------------------------------------------------

    def fail(self, *, status: int | None = 500, times: int = 1, method: str | None = None,
             path_contains: str | None = None, delay: float = 0.0, drop: bool = False) -> None:
        """Answer the next ``times`` matching requests with ``status`` (a ``Status`` body), after ``delay``
        seconds; ``drop=True`` closes the connection without answering instead."""
        with self._lock:
            self._faults.append(_Fault(method, path_contains, status, times, delay, drop))

    def rendezvous(self, count: int, *, method: str | None = None, path_contains: str | None = None,
                   timeout: float = 30.0) -> None:
        """Hold the answers to the next ``count`` matching requests until all ``count`` have been
        served (each answer computed from the store as it arrived, then sent together): e.g. two
        clients' LISTs both answered before either client can act on its answer. A waiting answer
        that ``timeout`` seconds do not release is sent as it is and :attr:`broken_rendezvous` is set
        (no deadlock in a failing test; the test then asserts on it)."""
        with self._lock:
            self._rendezvous.append(_Rendezvous(method, path_contains, threading.Barrier(count), count, timeout))

    @property
    def broken_rendezvous(self) -> bool:
        """True when a :meth:`rendezvous` timed out before all its requests arrived."""
        with self._lock:
            return any(r.barrier.broken for r in self._rendezvous)

    def proxy_service(self, namespace: str, name: str, url: str) -> None:
        """Forward the service proxy of Service ``name`` in ``namespace`` to the loopback ``url`` (its one
        backend; see "Service proxy" in the module docstring). The Service object itself must be seeded."""
        with self._lock:
            self._proxied[(namespace, name)] = url.rstrip("/")

    def on_write(self, hook: Callable[[str, dict[str, Any]], None]) -> None:
        """Run ``hook(verb, stored_object)`` after every successful create/update/patch (under the store
        lock; the hook may mutate the stored object, e.g. its status, in place)."""
        self._hooks.append(hook)

    def seed(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``obj`` directly (created or replaced, new resourceVersion); returns the stored copy."""
        resource = self._resource_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        target = Target(resource, meta.get("namespace") if resource.namespaced else None, meta.get("name"), None)
        with self._lock:
            existing = self._store.objects.get(self._key(target))
            stored = self._stamp(copy.deepcopy(dict(obj)), resource, target.namespace, existing)
            if self.server_fields:
                server_set_fields(stored, existing)
            if self.workload_status and "status" not in obj:
                workload_status(stored)
            self._put(target, stored)
            self._store.managed.pop(self._key(target), None)
            return copy.deepcopy(stored)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A copy of a stored object, or None."""
        resource = self._resource_for(api_version, kind)
        with self._lock:
            found = self._store.objects.get((resource.group, resource.plural, namespace or "", name))
            return copy.deepcopy(found) if found else None

    def objects(self, plural: str | None = None) -> list[dict[str, Any]]:
        """Copies of every stored object (of one plural resource name), sorted by key."""
        with self._lock:
            return [copy.deepcopy(o) for k, o in sorted(self._store.objects.items()) if plural in (None, k[1])]

    def requests_for(self, method: str | None = None, path_contains: str = "") -> list[LoggedRequest]:
        """Logged requests filtered by method and a path substring."""
        with self._lock:
            return [r for r in self.requests if method in (None, r.method) and path_contains in r.path]

    # -- resources ---------------------------------------------------------------------------------------------

    def _register(self, resource: Resource) -> None:
        self._resources[(resource.group, resource.version, resource.plural)] = resource

    def _resource_for(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        for resource in self._resources.values():
            if resource.group == group and resource.version == version and resource.kind == kind:
                return resource
        if self.serve_any:
            return Resource(group, version, kind.lower() + "s", kind, True, builtin=False)
        raise KeyError(f"the stand-in serves no {kind} in {api_version}: install its CRD first")

    def _lookup(self, group: str, version: str, plural: str) -> Resource:
        found = self._resources.get((group, version, plural))
        if found is not None:
            return found
        if self.serve_any:
            return Resource(group, version, plural, "", True, builtin=False)
        raise NO_RESOURCE

    def parse_path(self, path: str) -> Target | None:
        """The resource target of ``path``; None for discovery paths; raises 404 for unknown ones."""
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        if not rest:
            return None
        namespace = None
        if rest[0] == "namespaces" and (len(rest) >= 3 and not (group == "" and rest[2] in ("status", "finalize"))):
            namespace, rest = rest[1], rest[2:]
        resource = self._lookup(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (sub is not None and sub != "status"):
            raise NO_RESOURCE
        if namespace is not None and not resource.namespaced:
            raise NO_RESOURCE
        if namespace is None and resource.namespaced and name is not None:
            raise NO_RESOURCE
        return Target(resource, namespace, name, sub)

    def discovery(self, path: str) -> dict[str, Any] | None:
        parts = [p for p in path.strip("/").split("/") if p]
        with self._lock:
            resources = list(self._resources.values())
        groups: dict[str, list[str]] = {}
        for r in resources:
            if r.group:
                groups.setdefault(r.group, [])
                if r.version not in groups[r.group]:
                    groups[r.group].append(r.version)
        if parts == ["version"]:
            return dict(SERVER_VERSION)
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in sorted(groups.items())]}
        if len(parts) == 2 and parts[0] == "apis":  # one group: an APIGroup (404 when the group is not served)
            if parts[1] not in groups:
                return None
            versions = groups[parts[1]]
            return {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                    "versions": [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in versions],
                    "preferredVersion": {"groupVersion": f"{parts[1]}/{versions[0]}", "version": versions[0]}}
        if parts in (["api", "v1"], ["apis", *parts[1:3]]) and len(parts) in (2, 3):
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            listed = [r for r in resources if r.group == group and r.version == version]
            if not listed:
                return None
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": listed[0].api_version,
                    "resources": [{"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                                   "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update"]}
                                  for r in listed]}
        return None

    # -- the store ---------------------------------------------------------------------------------------------

    @staticmethod
    def _key(target: Target, name: str | None = None) -> Key:
        return (target.resource.group, target.resource.plural, target.namespace or "", name or target.name or "")

    def _stamp(self, obj: dict[str, Any], resource: Resource, namespace: str | None,
               existing: dict[str, Any] | None) -> dict[str, Any]:
        """Set the server-owned metadata of an object about to be stored."""
        meta = obj.setdefault("metadata", {})
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        if namespace:
            meta["namespace"] = namespace
        if existing is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            meta["generation"] = 1
        else:
            old_meta = existing["metadata"]
            meta["uid"], meta["creationTimestamp"] = old_meta["uid"], old_meta["creationTimestamp"]
            changed = _without(existing, "metadata", "status") != _without(obj, "metadata", "status")
            meta["generation"] = old_meta.get("generation", 1) + (1 if changed else 0)
        meta["resourceVersion"] = self._store.next_version()
        return obj

    def _put(self, target: Target, obj: dict[str, Any]) -> None:
        self._store.objects[self._key(target, obj["metadata"]["name"])] = obj
        if target.resource.plural == "customresourcedefinitions" and target.resource.group == "apiextensions.k8s.io":
            for resource in crd_resources(obj):
                self._register(resource)

    def _current(self, target: Target) -> dict[str, Any]:
        found = self._store.objects.get(self._key(target))
        if found is None:
            raise not_found(target.resource, target.name or "")
        return found

    def _check_version(self, target: Target, current: dict[str, Any], wanted: Any, *, required: bool) -> None:
        if wanted in (None, ""):
            if required and not target.resource.builtin:
                raise invalid(target.resource, target.name or "", "metadata.resourceVersion",
                              "Invalid value: 0x0: must be specified for an update")
            return
        if str(wanted) != current["metadata"]["resourceVersion"]:
            raise conflict(target.resource, target.name or "")

    @staticmethod
    def _validate(resource: Resource, name: str, obj: Mapping[str, Any]) -> None:
        """The API server's validation of a write, as far as the stand-in models it (module
        docstring, "Validation"): a ConfigMap's data at most :data:`CONFIGMAP_MAX_BYTES`."""
        if (resource.group, resource.plural) == ("", "configmaps") and configmap_data_size(obj) > CONFIGMAP_MAX_BYTES:
            raise configmap_too_long(name)

    def _write(self, verb: str, target: Target, obj: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.server_fields:
            server_set_fields(obj, before)
        if self.workload_status and target.subresource is None:
            workload_status(obj)
        self._put(target, obj)
        for hook in self._hooks:
            hook(verb, obj)
        return copy.deepcopy(obj)

    def handle(self, method: str, target: Target, query: Mapping[str, str], content_type: str,
               body: Any, user_agent: str = "") -> tuple[int, Any]:
        """Serve one resource request; returns (status code, JSON body). ``user_agent`` names the
        manager of a write without ``fieldManager`` (see "Field management")."""
        status, answer = self._handle(method, target, query, content_type, body, user_agent)
        if self.managed_fields and isinstance(answer, dict):
            with self._lock:
                for obj in answer.get("items", []) if "items" in answer else [answer]:
                    self._show_managed(target.resource, obj)
        return status, answer

    def _show_managed(self, resource: Resource, obj: dict[str, Any]) -> None:
        """Put the object's recorded owners in its ``metadata.managedFields`` (``managed_fields=True``)."""
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            return
        key = (resource.group, resource.plural, (meta.get("namespace") or "") if resource.namespaced else "", meta["name"])
        entries = [{"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                    "fieldsType": "FieldsV1", "fieldsV1": fields_v1(e.fields)}
                   for e in self._store.managed.get(key, []) if e.fields]
        if entries:
            meta["managedFields"] = entries

    def _handle(self, method: str, target: Target, query: Mapping[str, str], content_type: str,
                body: Any, user_agent: str) -> tuple[int, Any]:
        manager = query.get("fieldManager") or user_agent.split("/", 1)[0] or "unknown"
        if query.get("watch") in ("1", "true"):
            raise bad_request("watch is not supported by the Kubernetes API stand-in")
        with self._lock:
            if method == "GET":
                return 200, self._get(target, query)
            dry_run = query.get("dryRun")
            if dry_run is not None and (dry_run != "All" or method != "POST" or target.name is not None):
                raise bad_request(f"dryRun={dry_run} on {method} is not supported by the Kubernetes API stand-in "
                                  "(only a create's dryRun=All is)")
            if method == "POST" and target.name is None:
                return 201, self._create(target, body, manager, dry_run=dry_run == "All")
            if method == "PUT" and target.name:
                return 200, self._replace(target, body, manager)
            if method == "PATCH" and target.name:
                if content_type == APPLY:
                    return self._apply(target, query, body)
                return 200, self._patch(target, content_type, body, manager)
            if method == "DELETE" and target.name and target.subresource is None:
                return 200, self._delete(target, body)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _get(self, target: Target, query: Mapping[str, str]) -> dict[str, Any]:
        if target.name:
            return copy.deepcopy(self._current(target))
        labels = label_matcher(query.get("labelSelector"))
        fields = _field_matcher(query.get("fieldSelector"))
        group, plural = target.resource.group, target.resource.plural
        items = [copy.deepcopy(o) for (g, p, ns, _), o in sorted(self._store.objects.items())
                 if g == group and p == plural and (target.namespace in (None, ns))
                 and labels(o["metadata"].get("labels") or {}) and fields(o["metadata"])]
        return {"kind": f"{target.resource.kind}List", "apiVersion": target.resource.api_version,
                "metadata": {"resourceVersion": str(self._store.revision)}, "items": items}

    def _create(self, target: Target, body: Any, manager: str, dry_run: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format - accepted media types include: "
                              "application/json, application/yaml")
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        name = meta.get("name")
        if not name:
            raise invalid(target.resource, "", "metadata.name", "Required value: name or generateName is required")
        if target.namespace and meta.get("namespace") not in (None, "", target.namespace):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        resource = target.resource
        if not resource.kind:  # serve_any: take the kind from the body
            resource = Resource(resource.group, resource.version, resource.plural, body.get("kind", ""), True, False)
            target = Target(resource, target.namespace, None, None)
        denied = pytorchjob_name_denied(resource, name)
        if denied is not None:  # validating admission runs before the storage create (module docstring)
            raise denied
        if self.kueue_pytorchjob_webhook:
            kueue_suspend_default(resource, body)
        existing = self._store.objects.get(self._key(target, name))
        if existing is not None:
            err = already_exists(resource, name)
            if existing["metadata"].get("deletionTimestamp"):  # registry Store.create
                err.message = f"object is being deleted: {err.message}"
            raise err
        meta.pop("resourceVersion", None)
        self._validate(resource, name, body)
        created = Target(resource, target.namespace, name, None)
        if dry_run:  # everything a create does but the write (module docstring, "Dry run")
            answer = copy.deepcopy(body)
            answer.setdefault("apiVersion", resource.api_version)
            answer.setdefault("kind", resource.kind)
            if target.namespace:
                answer["metadata"]["namespace"] = target.namespace
            return answer
        stored = self._write("create", created, self._stamp(copy.deepcopy(body), resource, target.namespace, None))
        self._record_update(created, manager, None, stored)
        return stored

    def _replace(self, target: Target, body: Any, manager: str) -> dict[str, Any]:
        current = self._current(target)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        if (body.get("metadata") or {}).get("name") not in (None, target.name):
            raise bad_request("the name of the object does not match the name on the URL")
        self._check_version(target, current, (body.get("metadata") or {}).get("resourceVersion"), required=True)
        return self._record_update(target, manager, current,
                                   self._store_update("update", target, current, copy.deepcopy(body)))

    def _patch(self, target: Target, content_type: str, patch: Any, manager: str) -> dict[str, Any]:
        current = self._current(target)
        view = copy.deepcopy(current)
        if content_type == JSON_PATCH:
            try:
                patched = jsonpatch.JsonPatch(patch).apply(view)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
                raise ApiError(422, "Invalid", str(exc)) from exc
        elif content_type == MERGE or (content_type == STRATEGIC and target.resource.builtin):
            if not isinstance(patch, dict):
                raise bad_request("the body of the request was in an unknown format")
            patched = merge_patch(view, patch)
        elif content_type == STRATEGIC:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {JSON_PATCH}, {MERGE}, {APPLY}"
                           + (f", {STRATEGIC}" if target.resource.builtin else ""))
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the media type {content_type!r} is not a patch type")
        wanted = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted != current["metadata"]["resourceVersion"]:
            self._check_version(target, current, wanted, required=False)
        return self._record_update(target, manager, current, self._store_update("patch", target, current, patched))

    # -- field management --------------------------------------------------------------------------------------

    def managers(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, set[str]]:
        """Who owns what of a stored object: ``"<manager> (<operation>)"`` -> its fields, each spelled
        as in a conflict (``.spec.predictor.canaryTrafficPercent``)."""
        resource = self._resource_for(api_version, kind)
        with self._lock:
            entries = self._store.managed.get((resource.group, resource.plural, namespace or "", name), [])
            return {f"{e.manager} ({e.operation})": {_spelled(f) for f in e.fields} for e in entries}

    def _entry(self, key: Key, manager: str, operation: str, api_version: str) -> Managed:
        entries = self._store.managed.setdefault(key, [])
        for entry in entries:
            if (entry.manager, entry.operation) == (manager, operation):
                entry.api_version = api_version
                return entry
        entries.append(Managed(manager, operation, api_version))
        return entries[-1]

    def _record_update(self, target: Target, manager: str, before: dict[str, Any] | None,
                       after: dict[str, Any]) -> dict[str, Any]:
        """Record a non-apply write by ``manager``: the fields whose value it changed become its own
        (``Update``), taken from any other owner; the fields it removed are no one's. Returns ``after``."""
        key = self._key(target, after["metadata"]["name"])
        if key not in self._store.objects:  # the write removed the object (its last finalizer): no owners
            self._store.managed.pop(key, None)
            return after
        old, new = managed_fields(before or {}), managed_fields(after)
        changed = {path for path, value in new.items() if path not in old or not _same(old[path], value)}
        gone = set(old).difference(new)
        entries = self._store.managed.setdefault(key, [])
        for entry in entries:
            entry.fields -= changed | gone
        if changed:
            self._entry(key, manager, "Update", after.get("apiVersion", target.resource.api_version)).fields |= changed
        entries[:] = [entry for entry in entries if entry.fields]
        return after

    def _apply(self, target: Target, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        """A server-side apply (see "Field management" in the module docstring)."""
        manager = query.get("fieldManager")
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           "is required for apply patch")
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        config = copy.deepcopy(body)
        meta = config.setdefault("metadata", {})
        if meta.get("name") not in (None, target.name):
            raise bad_request("the name of the object does not match the name on the URL")
        meta["name"] = target.name
        api_version = config.get("apiVersion") or target.resource.api_version
        wanted = managed_fields(config)
        key = self._key(target)
        current = self._store.objects.get(key)
        if current is None:  # a create (its checks), whose fields the applier owns as applied
            stored = self._create(Target(target.resource, target.namespace, None, None), config, manager)
            self._store.managed[key] = [Managed(manager, "Apply", api_version, set(wanted))]
            return 201, stored
        self._check_version(target, current, meta.get("resourceVersion"), required=False)
        have = managed_fields(current)
        entries = self._store.managed.setdefault(key, [])
        conflicts = [(entry, path) for path, value in sorted(wanted.items()) for entry in entries
                     if entry.manager != manager and path in entry.fields
                     and not (path in have and _same(have[path], value))]
        if conflicts and query.get("force") != "true":
            raise _field_conflicts(target, conflicts)
        saved = copy.deepcopy(entries)
        try:
            return self._apply_update(target, key, manager, api_version, current, wanted, conflicts)
        except ApiError:  # refused by validation: the field ownership is as before
            self._store.managed[key] = saved
            raise

    def _apply_update(self, target: Target, key: Key, manager: str, api_version: str, current: dict[str, Any],
                      wanted: dict[FieldPath, Any], conflicts: list[tuple[Managed, FieldPath]]) -> tuple[int, dict[str, Any]]:
        """The write of an apply to an existing object, its conflicts resolved (``force``)."""
        entries = self._store.managed[key]
        for entry, path in conflicts:
            entry.fields.discard(path)
        mine = self._entry(key, manager, "Apply", api_version)
        others = set().union(*[entry.fields for entry in entries if entry is not mine])
        new = copy.deepcopy(current)
        for path in mine.fields.difference(wanted, others):
            _remove_field(new, path)
        for path, value in wanted.items():
            _set_field(new, path, copy.deepcopy(value))
        mine.fields = set(wanted)
        entries[:] = [entry for entry in entries if entry.fields]
        return 200, self._store_update("patch", target, current, new)

    def _store_update(self, verb: str, target: Target, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        self._validate(target.resource, target.name or "", new)
        if target.subresource == "status":
            new = {**copy.deepcopy(current), "status": new.get("status")}
        elif "status" in current:
            new["status"] = copy.deepcopy(current["status"])
        else:
            new.pop("status", None)
        new.setdefault("metadata", {})["name"] = target.name
        for field_name in ("labels", "annotations"):
            if new["metadata"].get(field_name) is None:
                new["metadata"].pop(field_name, None)
        for field_name in ("deletionTimestamp", "deletionGracePeriodSeconds"):  # rest.BeforeUpdate keeps them
            if current["metadata"].get(field_name) is not None:
                new["metadata"][field_name] = current["metadata"][field_name]
        stamped = self._stamp(new, target.resource, target.namespace, current)
        if stamped["metadata"].get("deletionTimestamp") and not stamped["metadata"].get("finalizers"):
            key = self._key(target)  # the last finalizer removed: the object goes (ShouldDeleteDuringUpdate)
            del self._store.objects[key]
            self._store.managed.pop(key, None)
            return copy.deepcopy(stamped)
        return self._write(verb, target, stamped, current)

    def _delete(self, target: Target, body: Any) -> dict[str, Any]:
        current = self._current(target)
        preconditions = (body or {}).get("preconditions") or {} if isinstance(body, dict) else {}
        self._check_version(target, current, preconditions.get("resourceVersion"), required=False)
        if current["metadata"].get("finalizers"):  # registry Store.Delete: markAsDeleting, the object stays
            meta = current["metadata"]
            if not meta.get("deletionTimestamp"):
                meta["generation"] = meta.get("generation", 1) + 1
                meta["deletionTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            meta["deletionGracePeriodSeconds"] = 0
            meta["resourceVersion"] = self._store.next_version()
            return copy.deepcopy(current)
        del self._store.objects[self._key(target)]
        self._store.managed.pop(self._key(target), None)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": _details(target.resource, target.name, uid=current["metadata"]["uid"])}

    # -- authorization -----------------------------------------------------------------------------------------

    def authorize(self, token: str | None, verb: str, target: Target) -> None:
        if self.tokens is None:
            return
        if token is None or token not in self.tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        rules = self.tokens[token]
        if rules is None or any(_rule_allows(r, verb, target) for r in [*rules, *self._webhook(token)]):
            return
        resource = target.resource.plural + (f"/{target.subresource}" if target.subresource else "")
        where = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
        subject = f'User "token:{token[:4]}…"'
        name = f' "{target.name}"' if target.name else ""
        raise ApiError(403, "Forbidden", f"{target.resource.group_resource}{name} is forbidden: {subject} cannot {verb} "
                       f'resource "{resource}" in API group "{target.resource.group}"{where}',
                       _details(target.resource, target.name))

    # -- access reviews ----------------------------------------------------------------------------------------

    def _webhook(self, token: str | None) -> list[dict[str, Any]]:
        """The rules a (modelled) webhook authorizer grants ``token`` (``webhook_rules``; module docstring)."""
        return list((self.webhook_rules or {}).get(str(token)) or [])

    def rules_review(self, namespace: str | None, body: Any, token: str | None) -> dict[str, Any]:
        """Answer a SelfSubjectRulesReview (see "Access reviews" in the module docstring)."""
        if namespace is not None:  # cluster-scoped
            raise NO_RESOURCE
        if self.tokens is not None and token not in self.tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, dict) or not spec.get("namespace"):
            raise bad_request("no namespace on request")
        rules = None if self.tokens is None else self.tokens.get(str(token))
        listed = ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}] if rules is None
                  else [{k: list(r[k]) for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)}
                        for r in rules])
        status: dict[str, Any] = {"resourceRules": listed, "nonResourceRules": [], "incomplete": self.webhook_rules is not None}
        if self.webhook_rules is not None:
            status["evaluationError"] = "webhook authorizer does not support user rule resolution"
        answer = copy.deepcopy(body)
        answer.setdefault("apiVersion", "authorization.k8s.io/v1")
        answer.setdefault("kind", "SelfSubjectRulesReview")
        answer.setdefault("metadata", {})
        answer["status"] = status
        return answer

    def rbac_rules(self, user: str, groups: Iterable[str], namespace: str | None) -> list[dict[str, Any]]:
        """The rules the stored RBAC objects grant ``user`` (with ``groups``) in ``namespace`` (None: the cluster
        scope only): see "Access reviews" in the module docstring."""
        groups = list(groups)
        rbac = "rbac.authorization.k8s.io"
        with self._lock:
            objects = dict(self._store.objects)
        bindings = [o for (g, p, ns, _), o in sorted(objects.items()) if g == rbac and (
            p == "clusterrolebindings" or (p == "rolebindings" and namespace is not None and ns == namespace))]
        rules: list[dict[str, Any]] = []
        for binding in bindings:
            if not _binds(binding, user, groups):
                continue
            ref = binding.get("roleRef") or {}
            own = (binding.get("metadata") or {}).get("namespace") or ""
            role_ns, plural = (own, "roles") if ref.get("kind") == "Role" else ("", "clusterroles")
            role = objects.get((rbac, plural, role_ns, str(ref.get("name"))))
            rules += list((role or {}).get("rules") or [])
        return rules

    def access_review(self, plural: str, namespace: str | None, body: Any, token: str | None) -> dict[str, Any]:
        """Answer an access review (see "Access reviews" in the module docstring)."""
        kind, namespaced = REVIEW_KINDS[plural]
        resource = Resource("authorization.k8s.io", "v1", plural, kind, namespaced)
        if namespaced != (namespace is not None):
            raise NO_RESOURCE
        if plural != "selfsubjectaccessreviews":
            self.authorize(token, "create", Target(resource, namespace, None, None))
        elif self.tokens is not None and token not in self.tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            raise bad_request(f"{kind} in version \"v1\" cannot be handled: spec is required")
        spec = body["spec"]
        attrs = dict(spec.get("resourceAttributes") or {})
        if namespace is not None:
            if attrs.get("namespace") not in (None, "", namespace):
                raise bad_request(f"spec.resourceAttributes.namespace must match namespace: {attrs['namespace']}")
            attrs["namespace"] = namespace
        if not spec.get("resourceAttributes"):
            allowed = False
        elif plural == "selfsubjectaccessreviews":
            rules = None if self.tokens is None else self.tokens.get(str(token))
            allowed = rules is None or self._allows([*rules, *self._webhook(token)], attrs)
        else:
            allowed = self._allows(self.rbac_rules(str(spec.get("user") or ""), spec.get("groups") or [],
                                                   attrs.get("namespace") or None), attrs)
        answer = copy.deepcopy(body)
        answer.setdefault("apiVersion", "authorization.k8s.io/v1")
        answer.setdefault("kind", kind)
        answer.setdefault("metadata", {})
        if namespace is not None:
            answer["spec"]["resourceAttributes"] = attrs
        answer["status"] = {"allowed": allowed, "reason": "allowed by the stand-in's RBAC objects" if allowed else ""}
        return answer

    @staticmethod
    def _allows(rules: Iterable[Mapping[str, Any]], attrs: Mapping[str, Any]) -> bool:
        resource = str(attrs.get("resource") or "") + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
        return any(rule_allows(rule, str(attrs.get("verb") or ""), str(attrs.get("group") or ""), resource,
                               attrs.get("name") or None) for rule in rules)


def _without(obj: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def _rule_allows(rule: Mapping[str, Any], verb: str, target: Target) -> bool:
    resource = target.resource.plural + (f"/{target.subresource}" if target.subresource else "")
    return rule_allows(rule, verb, target.resource.group, resource, target.name)


def rule_allows(rule: Mapping[str, Any], verb: str, group: str, resource: str, name: str | None) -> bool:
    """Whether one RBAC ``PolicyRule`` (a dict) allows ``verb`` on ``resource`` (``plural[/subresource]``) of API
    ``group``, the object ``name`` (None: no name, e.g. a list)."""
    groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
    verbs, names = rule.get("verbs") or [], rule.get("resourceNames") or []
    return ((group in groups or "*" in groups) and (resource in resources or "*" in resources)
            and (verb in verbs or "*" in verbs) and (not names or name in names))


def _binds(binding: Mapping[str, Any], user: str, groups: Iterable[str]) -> bool:
    """Whether an RBAC binding's ``subjects`` name ``user``, one of ``groups`` or the ServiceAccount ``user`` is."""
    own = (binding.get("metadata") or {}).get("namespace") or ""
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        if (kind == "User" and name == user) or (kind == "Group" and name in groups) or (
                kind == "ServiceAccount" and user == f"system:serviceaccount:{subject.get('namespace') or own}:{name}"):
            return True
    return False


def verb_of(method: str, target: Target) -> str:
    """The Kubernetes authorization verb of an HTTP request on ``target``."""
    if method == "GET":
        return "get" if target.name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


class _Server(ThreadingHTTPServer):
    """The stand-in's HTTP server: it remembers its open connections so that stopping closes them.
    Connections are kept alive (HTTP/1.1), and a handler thread outlives ``shutdown()`` while its
    connection is open: a client of a stopped stand-in would otherwise still be answered (or kept
    waiting by a delayed fault) on its pooled connection."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()
        self.stopped = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close every connection still open (after ``shutdown()``): their handlers end."""
        self.stopped = True
        with self._open_lock:
            open_now, self._open = list(self._open), set()
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.stopped:  # a handler whose connection stopping closed has nothing to report
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        auth = self.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
            if content_type == APPLY:  # YAML, as kubectl and the Pulumi provider send it
                with contextlib.suppress(yaml.YAMLError):
                    body = yaml.safe_load(body)
        entry = LoggedRequest(self.command, split.path, query, content_type, body, token=token)
        with self.api._lock:
            self.api.requests.append(entry)
            meeting = next((r for r in self.api._rendezvous if r.left and r.matches(self.command, split.path)), None)
            if meeting is not None:
                meeting.left -= 1
            fault = next((f for f in self.api._faults if f.matches(self.command, split.path)), None)
            if fault is not None:
                fault.seen += 1
                if fault.seen >= fault.times:
                    self.api._faults.remove(fault)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.drop:
                entry.status = -1
                self.close_connection = True
                self.connection.close()
                return
            if fault.status is not None:
                entry.status = fault.status
                reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                          504: "Timeout"}.get(fault.status, "InternalError")
                return self._answer(fault.status, ApiError(fault.status, reason, f"injected fault ({reason})").status())
        proxied = SERVICE_PROXY.match(split.path)
        if proxied is not None:
            return self._proxy(entry, proxied, split.query, raw, content_type, token)
        review = ACCESS_REVIEW.match(split.path)
        if review is not None and self.command == "POST":
            entry.verb = "create"
            try:
                entry.status, answer = 201, (self.api.rules_review(review.group("namespace"), body, token) if review.group("plural") == RULES_REVIEW
                                             else self.api.access_review(review.group("plural"), review.group("namespace"),
                                                                         body, token))
            except ApiError as err:
                entry.status, answer = err.code, err.status()
            return self._answer(entry.status, answer)
        entry.status, answer = self._dispatch(split.path, query, content_type, body, token,
                                              self.headers.get("User-Agent") or "")
        entry.verb = answer[1]
        if meeting is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                meeting.barrier.wait(meeting.timeout)
        self._answer(entry.status, answer[0])

    def _dispatch(self, path: str, query: Mapping[str, str], content_type: str, body: Any,
                  token: str | None, user_agent: str = "") -> tuple[int, tuple[Any, str]]:
        verb = ""
        try:
            target = self.api.parse_path(path)
            if target is None:
                if self.api.tokens is not None and token not in self.api.tokens:
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                found = self.api.discovery(path) if self.command == "GET" else None
                if found is None:
                    raise NO_RESOURCE
                return 200, (found, "get")
            verb = verb_of(self.command, target)
            self.api.authorize(token, verb, target)
            if isinstance(body, str):
                raise bad_request("the body of the request was in an unknown format")
            status, answer = self.api.handle(self.command, target, query, content_type, body, user_agent)
            return status, (answer, verb)
        except ApiError as err:
            return err.code, (err.status(), verb)

    def _proxy(self, entry: LoggedRequest, match: re.Match[str], query: str, raw: bytes, content_type: str,
               token: str | None) -> None:
        """A service proxy request (see "Service proxy" in the module docstring)."""
        namespace, name, rest = match.group("namespace"), match.group("name"), match.group("rest") or "/"
        services = self.api._lookup("", "v1", "services")
        target = Target(services, namespace, name, "proxy")
        entry.verb = verb_of(self.command, target)
        try:
            self.api.authorize(token, entry.verb, target)
            if self.api.get("v1", "Service", name, namespace) is None:
                raise not_found(services, name)
            with self.api._lock:
                backend = self.api._proxied.get((namespace, name))
            if backend is None:
                raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        except ApiError as err:
            entry.status = err.code
            return self._answer(err.code, err.status())
        url = backend + urllib.parse.quote(urllib.parse.unquote(rest)) + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=raw or None, method=self.command,
                                         headers={"Content-Type": content_type, "Host": self.headers.get("Host") or ""})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data, kind = response.status, response.read(), response.headers.get("Content-Type")
        except urllib.error.HTTPError as err:
            status, data, kind = err.code, err.read(), err.headers.get("Content-Type")
        except OSError as err:  # the backend did not answer: the real proxy's 503 from its error responder
            entry.status = 503
            return self._answer(503, ApiError(503, "ServiceUnavailable",
                                              f"error trying to reach service: {err}").status())
        entry.status = status
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


@dataclass
class ServiceAccountFiles:
    """A fake in-cluster service-account directory (token, namespace, no ca.crt over http)."""

    directory: Path
    token: str
    namespace: str

    @classmethod
    def write(cls, directory: Path, token: str, namespace: str) -> ServiceAccountFiles:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "token").write_text(token)
        (directory / "namespace").write_text(namespace)
        return cls(directory, token, namespace)

