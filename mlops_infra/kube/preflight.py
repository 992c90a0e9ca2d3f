"""Cluster preflight (finding A5): check a live cluster for what a compiled graph needs.

:func:`mlops_infra.compile.kubernetes.prerequisites.cluster_prerequisites` says what the graph needs
(and cites why); this module reads the cluster for each: a CRD by name
(``GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/<name>``; when that read is refused
(401/403: CRDs are cluster-scoped, out of a namespace user's reach), API discovery instead,
``GET /apis/<group>/<version>`` listing the resources served there (or ``GET /apis/<group>`` for the
preferred version when the graph names none), which every authenticated user may read: Kubernetes "Using
RBAC Authorization", ClusterRole ``system:discovery`` bound to ``system:authenticated``; audit
kubevers-2) and, in its ``spec.versions``, that each version the graph uses is ``served`` (a CRD that exists but does not
serve that version refuses the objects: see ``prerequisites``) and that its ``openAPIV3Schema``
declares each field of :attr:`~mlops_infra.compile.kubernetes.prerequisites.Check.fields` (an older CRD
prunes it: :func:`declares`, audit kubevers-1), a Knative feature flag from
its ConfigMap, KServe's default deployment mode from the JSON of ConfigMap
``kserve/inferenceservice-config`` key ``deploy`` (``defaultDeploymentMode``, compared exactly), KServe's
release from the image tag of Deployment ``kserve/kserve-controller-manager`` and, on 0.16.x only, the
InferenceServices of the graph's namespaces that carry a legacy ``deploymentMode`` annotation, which
that release refuses to update or delete (``prerequisites``, audit kubevers-3), a default StorageClass from the list of StorageClasses
(``GET /apis/storage.k8s.io/v1/storageclasses``: one carrying an annotation of
``prerequisites.DEFAULT_CLASS_ANNOTATIONS`` with the value ``"true"``), and, given the graph, a Node
or Karpenter NodePool for each GPU node label the graph selects by (:mod:`mlops_infra.kube.gpu_nodes`,
audit preflight-5), and whether Kueue manages PyTorchJobs: a server-side dry-run create of a run template
(``POST /apis/kubeflow.org/v1/namespaces/<ns>/pytorchjobs?dryRun=All``: "the fields are defaulted, the object
is validated, it goes through the validation admission chain, and through the mutating admission chain, and
then the final object is returned ... without being persisted", Kubernetes API concepts, "Dry-run") must
come back with ``spec.runPolicy.suspend: true``, Kueue's suspend default (``prerequisites``, audit
k8strain-2). ``plan --refresh`` on a
Kubernetes target runs it and reports every prerequisite that is not met, with how to enable it.

Contract of :func:`preflight`: one :class:`Result` per prerequisite, in order (then the graph's: GPU node labels,
``refused`` for the items whose pods the namespace's Pod Security level refuses, and ``refused`` for the rights the
applier lacks: :mod:`mlops_infra.kube.applier_access`), each ``ok``,
``missing`` (the CRD or ConfigMap does not exist, or the CRD does not serve a version the graph uses or lacks a field, or the flag is absent, which means its default
``Disabled``, or not one of the accepted values, or KServe 0.16.x with such an InferenceService, or no StorageClass is the default, or the dry-run create
came back not suspended; from discovery: the resource is not listed in a version) or ``unknown`` (the read
or the dry run was refused (401/403) or failed, a CRD whose schema is needed for :attr:`Check.fields` could
not be read, e.g. the
namespace does not exist yet or there is no PyTorchJob CRD, or there is no KServe controller or release tag
to read: the reason is kept, and nothing is claimed).
Reads only, and dry runs, which store nothing; at most one GET per distinct
object (a ConfigMap holding several flags is read once). An unreachable cluster raises
:class:`~mlops_infra.kube.errors.KubeUnreachable` from the first read, so the caller says so once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.kubernetes.prerequisites import (
    DEFAULT_CLASS_ANNOTATIONS,
    DEPLOYMENT_MODE,
    LEGACY_MODES,
    Prerequisite,
)
from mlops_infra.kube.applier_access import applier_checks
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError, KubeForbidden, KubeNotFound, KubeUnreachable
from mlops_infra.kube.gpu_nodes import gpu_label_checks
from mlops_infra.kube.pod_security import pod_security_checks
from mlops_infra.kube.resources import CONFIG_MAP, CRD, INFERENCE_SERVICE, resource_type
from mlops_infra.kube.resources import of as type_of

STORAGE_CLASS = resource_type("storage.k8s.io/v1", "StorageClass", namespaced=False)
DEPLOYMENT = resource_type("apps/v1", "Deployment")
RELEASE_TAG = re.compile(r":v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Result:
    """What the cluster showed for one prerequisite: ``state`` ok, missing or unknown, and why."""

    prerequisite: Prerequisite
    state: str
    detail: str

    def warning(self) -> str | None:
        """The plan warning for a prerequisite not met (None when ok)."""
        if self.state == "ok":
            return None
        p = self.prerequisite
        needed = ", ".join(p.needed_by)
        if self.state == "refused":  # the detail says what refuses which pods (kube/pod_security.py)
            return f"cluster preflight: {self.detail} Fix: {p.enable}"
        if self.state == "missing":
            return f"cluster preflight: {p.name} is missing ({self.detail}); needed by {needed}. Fix: {p.enable}"
        return f"cluster preflight: could not check {p.name} ({self.detail}); needed by {needed}. If it is missing: {p.enable}"


def _read(kube: KubeClient, cache: dict[tuple, Any], key: tuple, read: Any) -> Any:
    if key not in cache:
        try:
            cache[key] = ("found", read())
        except KubeUnreachable:
            raise
        except KubeError as exc:
            cache[key] = ("error", exc)
    return cache[key]


def _default_classes(classes: list[dict[str, Any]]) -> list[str]:
    """The names of the StorageClasses annotated the default (see the module docstring)."""
    return sorted(str((c.get("metadata") or {}).get("name")) for c in classes
                  if any(((c.get("metadata") or {}).get("annotations") or {}).get(a) == "true"
                         for a in DEFAULT_CLASS_ANNOTATIONS))


def _served(crd: dict[str, Any]) -> list[str]:
    """The versions a CustomResourceDefinition serves (``spec.versions[*]`` with ``served: true``)."""
    return [str(v.get("name")) for v in ((crd.get("spec") or {}).get("versions") or [])
            if isinstance(v, dict) and v.get("served") is True]


def _discovery(kube: KubeClient, cache: dict[tuple, Any], path: str) -> tuple[str, Any]:
    """``GET`` of a discovery path: ``("found", answer)``, ``("absent", None)`` on 404, or ``("error", exc)``."""
    def read() -> Any:
        try:
            return kube.request("GET", path, what=f"read API discovery {path}")
        except KubeNotFound:
            return None
    kind, value = _read(kube, cache, ("discovery", path), read)
    return ("absent", None) if kind == "found" and value is None else (kind, value)


def _discovered(kube: KubeClient, cache: dict[tuple, Any], check: Any, refused: KubeError) -> tuple[str, str]:
    """Whether the API serves a CRD's resource in each version the graph uses, from discovery, when the
    CRD itself may not be read (module contract; audit kubevers-2). Fields need the CRD's schema: unknown."""
    plural, _, group = check.crd.partition(".")
    versions = list(check.versions)
    if not versions:
        kind, value = _discovery(kube, cache, f"/apis/{group}")
        if kind == "error":
            return "unknown", f"reading CustomResourceDefinition {check.crd}: {refused.summary}; discovery: {value.summary}"
        preferred = ((value or {}).get("preferredVersion") or {}).get("version") if kind == "found" else None
        if not preferred:
            return "missing", f"the API serves no group {group} (API discovery): no CRD {check.crd}"
        versions = [str(preferred)]
    for version in versions:
        kind, value = _discovery(kube, cache, f"/apis/{group}/{version}")
        if kind == "error":
            return "unknown", f"reading CustomResourceDefinition {check.crd}: {refused.summary}; discovery: {value.summary}"
        names = {str(r.get("name")) for r in ((value or {}).get("resources") or []) if isinstance(r, dict)}
        if plural not in names:
            return "missing", (f"the API serves no {plural} in {group}/{version} (API discovery): no CRD {check.crd}, "
                               f"or one of an older release that does not serve {version}")
    served = f"{check.crd} served in {', '.join(versions)} (API discovery"
    if check.fields:
        return "unknown", (f"{served}), but its schema could not be read to check {', '.join(p for p, _ in check.fields)} "
                           f"(reading CustomResourceDefinition {check.crd}: {refused.summary})")
    return "ok", f"{served}; the CRD itself is not readable by this user)"


def _schema(crd: dict[str, Any], version: str) -> Any:
    """The ``openAPIV3Schema`` of one version of a CustomResourceDefinition (None without one)."""
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("name") == version:
            return (v.get("schema") or {}).get("openAPIV3Schema")
    return None


def declares(schema: Any, path: str) -> bool:
    """Whether a structural schema keeps the field at ``path`` (dotted; ``name[]``: that array's items):
    declared in ``properties`` all the way, or below a node with ``x-kubernetes-preserve-unknown-fields``
    (``prerequisites``' rules). No schema at all (a stand-in's minimal CRD) prunes nothing."""
    if schema is None:
        return True
    node = schema
    for part in path.split("."):
        if not isinstance(node, dict):
            return False
        if node.get("x-kubernetes-preserve-unknown-fields") is True:
            return True
        name, items = (part[:-2], True) if part.endswith("[]") else (part, False)
        node = (node.get("properties") or {}).get(name)
        if node is None:
            return False
        if items:
            node = node.get("items") if isinstance(node, dict) else None
    return True


def _suspended_at_create(kube: KubeClient, template: dict[str, Any]) -> tuple[str, str]:
    """Kueue's PyTorchJob integration: a dry-run create of ``template`` comes back suspended (module docstring)."""
    rtype = type_of(template)
    namespace = str((template.get("metadata") or {}).get("namespace") or "default")
    try:
        answer = kube.request("POST", rtype.path(namespace), query=[("dryRun", "All")], body=template,
                              what=f"dry-run create {rtype.describe(None, namespace)}")
    except KubeUnreachable:
        raise
    except KubeNotFound as exc:
        if not exc.type_missing:  # the namespace, before the first apply
            return "unknown", f"a dry-run create of a PyTorchJob in {namespace} failed: {exc.summary}"
        # Kueue sets up a framework's webhook only once its API is served (setup.go, "deferring")
        return "missing", f"the cluster serves no {rtype.describe()}, so Kueue cannot manage PyTorchJobs"
    except KubeError as exc:
        return "unknown", f"a dry-run create of a PyTorchJob in {namespace} failed: {exc.summary}"
    suspend = ((answer.get("spec") or {}).get("runPolicy") or {}).get("suspend")
    if suspend is True:
        return "ok", f"a PyTorchJob created in {namespace} is suspended until Kueue admits it"
    return "missing", (f"Kueue does not manage PyTorchJobs in {namespace}: a dry-run create of a run template came "
                       "back with spec.runPolicy.suspend unset, so every run would start at once, outside the "
                       "clusters' quotas, and the launcher's admission timeout and apply --drain-queues would "
                       "see no queue")


def _json_field(where: str, check: Any, raw: str | None) -> tuple[str, str]:
    """A ConfigMap key holding a JSON object whose ``check.json_field`` must be one of ``check.accepted`` exactly."""
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return "missing", f"{where} {check.key} is not JSON"
    field = value.get(check.json_field) if isinstance(value, dict) else None
    if isinstance(field, str) and field in check.accepted:
        return "ok", f"{check.key}.{check.json_field}: {field}"
    shown = f'"{field}"' if field is not None else "not set"
    return "missing", f"{where} {check.key}.{check.json_field} is {shown}, not {' or '.join(check.accepted)}"


def release(image: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of an image reference's tag (``kserve/kserve-controller:v0.16.0``), None without one."""
    found = RELEASE_TAG.search(image.split("@")[0].rpartition("/")[2])
    return tuple(int(part or 0) for part in found.groups()) if found else None  # type: ignore[return-value]


def controller_image(containers: list[dict[str, Any]]) -> str | None:
    """The KServe controller's image among a ``kserve-controller-manager`` Deployment's containers: the container
    named ``manager`` (kserve ``config/manager/manager.yaml`` and the Helm chart's
    ``charts/kserve-resources/templates/deployment.yaml`` name it so; the chart lists ``kube-rbac-proxy`` first),
    else the one whose image repository is ``kserve-controller`` (``kserve/kserve-controller:v0.16.0``); None when
    neither is there."""
    named = next((c for c in containers if c.get("name") == "manager" and c.get("image")), None)
    if named is not None:
        return str(named["image"])
    for container in containers:
        image = str(container.get("image") or "")
        repository = image.split("@")[0].rpartition("/")[2].partition(":")[0]
        if repository == "kserve-controller":
            return image
    return None


def _kserve_release(kube: KubeClient, cache: dict[tuple, Any], check: Any) -> tuple[str, str]:
    """KServe's release from its controller's image, and on 0.16.x the InferenceServices it refuses to
    update (a legacy ``deploymentMode`` annotation: ``prerequisites``' rules, audit kubevers-3)."""
    namespace, name = check.kserve_release
    kind, value = _read(kube, cache, ("deploy", namespace, name), lambda: kube.get_or_none(DEPLOYMENT, name, namespace))
    if kind == "error":
        return "unknown", f"reading Deployment {namespace}/{name} for KServe's release: {value.summary}"
    if value is None:
        return "unknown", f"no Deployment {namespace}/{name} to read KServe's release from"
    containers = [c for c in ((((value.get("spec") or {}).get("template") or {}).get("spec") or {})
                              .get("containers") or []) if isinstance(c, dict)]
    image = controller_image(containers)
    if image is None:
        shown = ", ".join(f"{c.get('name')}: {c.get('image')}" for c in containers) or "none"
        return "unknown", f"no KServe controller image in Deployment {namespace}/{name} ({shown})"
    found = release(image)
    if found is None:
        return "unknown", f"no release tag in the KServe controller image of Deployment {namespace}/{name} ({image})"
    shown = "v" + ".".join(map(str, found))
    if found[:2] != (0, 16):
        return "ok", f"KServe {shown}"
    refused = []
    for ns in check.namespaces:
        kind, value = _read(kube, cache, ("isvcs", ns), lambda ns=ns: kube.list(INFERENCE_SERVICE, ns))
        if kind == "error":
            return "unknown", f"KServe {shown}; listing InferenceServices in {ns}: {value.summary}"
        refused += [f"{ns}/{(o.get('metadata') or {}).get('name')} ({DEPLOYMENT_MODE}: {mode})" for o in value
                    if (mode := (((o.get("metadata") or {}).get("annotations") or {}).get(DEPLOYMENT_MODE))) in LEGACY_MODES]
    if not refused:
        return "ok", f"KServe {shown}; no InferenceService carries a legacy {DEPLOYMENT_MODE} annotation"
    return "missing", (f"KServe {shown} refuses every update and delete of InferenceService {', '.join(refused)}: "
                       "the annotation differs from the mode KServe recorded (Knative), so the next model version, the "
                       "rollout runner's traffic steps and a removal of the endpoint are refused (kserve#4798, #5885)")


def _state(kube: KubeClient, cache: dict[tuple, Any], p: Prerequisite) -> tuple[str, str]:
    check = p.check
    if check.kserve_release:
        return _kserve_release(kube, cache, check)
    if check.dry_run_create:
        return _suspended_at_create(kube, json.loads(check.dry_run_create))
    if check.default_storage_class:
        kind, value = _read(kube, cache, ("storageclasses",), lambda: kube.list(STORAGE_CLASS))
        if kind == "error":
            return "unknown", f"listing StorageClasses: {value.summary}"
        defaults = _default_classes(value)
        if defaults:
            return "ok", f"default StorageClass {', '.join(defaults)}"
        others = sorted(str((c.get("metadata") or {}).get("name")) for c in value)
        return "missing", ("no StorageClass is annotated storageclass.kubernetes.io/is-default-class: \"true\""
                           + (f" (StorageClasses: {', '.join(others)})" if others else " (no StorageClass at all)"))
    if check.crd:
        kind, value = _read(kube, cache, ("crd", check.crd), lambda: kube.get_or_none(CRD, check.crd))
        if kind == "error" and isinstance(value, KubeForbidden):
            return _discovered(kube, cache, check, value)
        if kind == "error":
            return "unknown", f"reading CustomResourceDefinition {check.crd}: {value.summary}"
        if value is None:
            return "missing", f"no CRD {check.crd}"
        served = _served(value)
        unserved = [v for v in check.versions if v not in served]
        if unserved:
            return "missing", (f"CRD {check.crd} does not serve {', '.join(unserved)}, the version the graph's objects "
                               f"are written in (it serves {', '.join(served) or 'no version'}): an older release")
        lacking = [(v, path, since) for v in check.versions for path, since in check.fields
                   if not declares(_schema(value, v), path)]
        if lacking:
            return "missing", "; ".join(
                f"CRD {check.crd} {v} has no {path} in its schema: it is older than {since}, so the API server drops "
                "the field when these objects are created and refuses every later server-side apply of them "
                "(field not declared in schema)" for v, path, since in lacking)
        return "ok", f"CRD {check.crd}" + (f" serving {', '.join(check.versions)}" if check.versions else "")
    namespace, name = check.configmap or ("", "")
    kind, value = _read(kube, cache, ("cm", namespace, name), lambda: kube.get_or_none(CONFIG_MAP, name, namespace))
    if kind == "error":
        return "unknown", f"reading ConfigMap {namespace}/{name}: {value.summary}"
    if value is None:
        return "missing", f"no ConfigMap {namespace}/{name}"
    raw = (value.get("data") or {}).get(check.key)
    if check.json_field:
        return _json_field(f"{namespace}/{name}", check, raw)
    if raw is not None and raw.strip().lower() in check.accepted:
        return "ok", f"{check.key}: {raw}"
    shown = f'"{raw}"' if raw is not None else "not set (default: Disabled)"
    return "missing", f"{namespace}/{name} {check.key} is {shown}"


def preflight(kube: KubeClient, prerequisites: Sequence[Prerequisite], graph: Any = None) -> list[Result]:
    """Check each prerequisite on the cluster (see the module contract); with ``graph``, then one
    :class:`Result` per GPU node label it selects by (:func:`mlops_infra.kube.gpu_nodes.gpu_label_checks`) and one
    per item whose pods the namespace's enforced Pod Security level refuses, state ``refused``
    (:func:`mlops_infra.kube.pod_security.pod_security_checks`, audit k8srbac-1), then one per group of rights the
    identity that runs ``pulumi up`` lacks to write the graph's objects and create its Roles
    (:func:`mlops_infra.kube.applier_access.applier_checks`, audit k8srbac-6)."""
    cache: dict[tuple, Any] = {}
    results = [Result(p, *_state(kube, cache, p)) for p in prerequisites]
    if graph is not None:
        results.extend(Result(*check) for check in gpu_label_checks(kube, graph))
        results.extend(Result(*check) for check in pod_security_checks(kube, graph))
        results.extend(Result(*check) for check in applier_checks(kube, graph))
    return results
