"""Pod Security admission (audit k8srbac-1): which of a graph's pods its namespace's enforced level refuses.

Pod Security Admission evaluates every Pod create in a namespace labelled ``pod-security.kubernetes.io/enforce``
with ``baseline`` or ``restricted`` (``privileged``: no check) against that level of the Pod Security Standards,
at the version of ``pod-security.kubernetes.io/enforce-version`` (``latest`` when absent), and refuses a pod that
fails a check ("Pod Security Admission", https://kubernetes.io/docs/concepts/security/pod-security-admission/:
"enforce: Policy violations will cause the pod to be rejected"; the levels: "Pod Security Standards",
https://kubernetes.io/docs/concepts/security/pod-security-standards/). Pods are created by controllers (the training
operator, Knative's ReplicaSet, the Job controller), so the refusal lands on them, never on ``pulumi up``: a
training run Kueue admitted holds its quota with no pod until ``activeDeadlineSeconds``, an endpoint's revision
never becomes ready and every rollout step rolls back. Hence this check, before apply.

The checks judged, each as ``k8s.io/pod-security-admission/policy`` implements it (file, and the first version of
the level that has it): baseline ``privileged`` (``check_privileged.go``, 1.0: no container ``privileged: true``),
``hostNamespaces`` (``check_hostNamespaces.go``, 1.0: no ``hostNetwork``/``hostPID``/``hostIPC``),
``hostPathVolumes`` (``check_hostPathVolumes.go``, 1.0), ``hostPorts`` (``check_hostPorts.go``, 1.0), baseline
``capabilities`` (``check_capabilities_baseline.go``, 1.0: ``add`` within the default set :data:`BASELINE_CAPABILITIES`),
baseline ``seccompProfile`` (``check_seccompProfile_baseline.go``, 1.19: not ``Unconfined``); restricted adds
``restrictedVolumes`` (``check_restrictedVolumes.go``, 1.0: only the types of :data:`RESTRICTED_VOLUMES`),
``allowPrivilegeEscalation`` (``check_allowPrivilegeEscalation.go``, 1.8: each container ``false``, no pod-level
fallback), ``runAsNonRoot`` (``check_runAsNonRoot.go`` ``runAsNonRoot_1_0``, 1.0: the pod's or each container's
``true``; no container may set ``false``), ``runAsUser`` (``check_runAsUser.go``, 1.23: not 0), ``seccompProfile`` (``check_seccompProfile_restricted.go``,
1.19: ``RuntimeDefault`` or ``Localhost`` on the pod or each container) and ``capabilities``
(``check_capabilities_restricted.go``, 1.22: each container drops ``ALL`` and adds at most ``NET_BIND_SERVICE``).
Checks of fields no compiled or injected container sets (AppArmor, SELinux, ``procMount``, sysctls, Windows host
processes, probes' hosts) are not judged; neither is the user-namespace relaxation of ``runAsNonRoot`` in 1.34
(``hostUsers: false``: none of these pods sets it).

The pods judged are what the controllers create, not only what the graph holds (:func:`graph_pods`): every
Deployment, Job and CronJob pod of the graph's namespace; each replica type of a stored PyTorchJob run template
(``compile/kubernetes/training.py``), a Worker with the training operator's ``init-pytorch`` init container when
the template has a Master (kubeflow/training-operator v1.9 ``pkg/controller.v1/pytorch/initcontainer.go``
``setInitContainer``: "Set the init container only if the master is specified and the current rtype is worker";
its ``initContainerTemplate`` sets no ``securityContext``, so it fails every restricted check but seccomp, which the
pod's value covers, unless the operator runs with ``--pytorch-init-container-template-file``); and each
InferenceService's predictor pod: ``kserve-container`` (a ``predictor.model`` one with ``runAsNonRoot``,
``allowPrivilegeEscalation: false`` and ``capabilities.drop: [ALL]`` from the shipped ClusterServingRuntimes,
kserve ``config/runtimes/kserve-*.yaml``, under what the graph sets), Knative's ``queue-proxy`` in Serverless mode
(knative/serving ``pkg/reconciler/revision/resources/queue.go`` ``queueSecurityContext``: restricted-clean), KServe's
agent when ``logger`` is set (a copy of ``kserve-container``'s ``securityContext``: ``agent_injector.go``), and the
``storage-initializer`` init container with the ``securityContext`` of ClusterStorageContainer ``default``
(kserve ``pkg/webhook/admission/pod/storage_initializer_injector.go``; the kustomize install's
``config/storagecontainers/default.yaml`` sets none, the Helm chart's ``kserve.storage.containerSecurityContext`` sets
all but ``seccompProfile``), read from the cluster when allowed, else taken as the kustomize one. A predictor's
pod-level ``securityContext`` needs Knative's ``kubernetes.podspec-securitycontext`` flag, so the compiler sets none
and nothing covers an injected container's missing seccomp profile.

Contract of :func:`pod_security_checks`: nothing when the graph has no namespace or no pods there, the Namespace does
not exist (the apply creates it, without these labels) or enforces ``privileged``; otherwise one
``(Prerequisite, state, detail)`` per item whose pods the level refuses (state ``refused``: the detail names each pod,
container and failed check in Pod Security Admission's words, the Prerequisite's ``enable`` the fix), or one
``unknown`` when the Namespace could not be read or its label holds no level Pod Security Admission knows.
A warning, not an error: the label is the platform team's and may change before the apply, exemptions
(``exemptions.usernames``/``runtimeClasses``/``namespaces`` of the API server's AdmissionConfiguration) cannot be read
from a namespace, and the plan of other changes stands (as the quota and LimitRange warnings). Reads: ``GET`` of the
Namespace, and of ClusterStorageContainer ``default`` only for a graph with endpoints in a namespace that enforces a
level. An unreachable cluster raises :class:`~mlops_infra.kube.errors.KubeUnreachable`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.kubernetes.prerequisites import Check, Prerequisite, serverless
from mlops_infra.compile.kubernetes.training import TEMPLATE_KEY, run_pod_specs
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError, KubeNotFound, KubeUnreachable
from mlops_infra.kube.resources import resource_type

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
LEVELS = ("privileged", "baseline", "restricted")
NAMESPACE = resource_type("v1", "Namespace", namespaced=False)
STORAGE_CONTAINER = resource_type("serving.kserve.io/v1alpha1", "ClusterStorageContainer", namespaced=False)
SOURCE = ("kubernetes.io Pod Security Standards and Pod Security Admission; k8s.io/pod-security-admission/policy "
          "check_*.go")

BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
"""Capabilities baseline lets a container add (``check_capabilities_baseline.go`` ``capabilities_allowed_1_0``)."""
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
"""Volume types restricted allows (``check_restrictedVolumes.go``)."""

RUNTIME_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
                    "runAsNonRoot": True}
"""The ``securityContext`` of the shipped ClusterServingRuntimes' ``kserve-container`` (``config/runtimes/kserve-*.yaml``)."""
QUEUE_PROXY_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
"""Knative's ``queueSecurityContext`` (``pkg/reconciler/revision/resources/queue.go``)."""


@dataclass(frozen=True)
class PodUnderCheck:
    """One pod a graph's item makes: its ``address``, ``what`` makes it (``a PyTorchJob run's Worker``), and the
    pod ``spec`` as its controller creates it."""

    address: str
    what: str
    creator: str
    spec: dict[str, Any]


# -- the pods ------------------------------------------------------------------------------------------------


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` strategically merged onto ``base`` for a ``securityContext`` (structs merge key by key)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
    return out


def _predictor_pod(obj: Mapping[str, Any], storage: Mapping[str, Any]) -> dict[str, Any]:
    predictor = (obj.get("spec") or {}).get("predictor") or {}
    model = predictor.get("model")
    containers = [dict(c) for c in predictor.get("containers") or [] if isinstance(c, Mapping)]
    if isinstance(model, Mapping):
        security = _merged(RUNTIME_SECURITY, model.get("securityContext") or {})
        containers.insert(0, {"name": "kserve-container", "securityContext": security})
    uri = model.get("storageUri") if isinstance(model, Mapping) else None
    uri = uri or next((e.get("value") for c in containers for e in c.get("env") or [] if e.get("name") == "STORAGE_URI"), None)
    if serverless(obj):
        containers.append({"name": "queue-proxy", "securityContext": QUEUE_PROXY_SECURITY})
    if predictor.get("logger") and containers:
        containers.append({"name": "agent", "securityContext": copy.deepcopy(containers[0].get("securityContext"))})
    spec: dict[str, Any] = {"containers": containers}
    if uri:
        spec["initContainers"] = [{"name": "storage-initializer", "securityContext": copy.deepcopy(storage)}]
    if predictor.get("securityContext"):
        spec["securityContext"] = predictor["securityContext"]
    return spec


def _template_pods(r: Any, obj: Mapping[str, Any]) -> Iterator[PodUnderCheck]:
    try:
        template = json.loads((obj.get("data") or {}).get(TEMPLATE_KEY) or "")
    except ValueError:
        return
    if not isinstance(template, dict):
        return
    for role, _, spec in run_pod_specs(template):  # a Worker's with the operator's init container
        yield PodUnderCheck(r.address, f"a PyTorchJob run's {role}", "the training operator", copy.deepcopy(spec))


def _pods_of(r: Any, obj: Mapping[str, Any], storage: Mapping[str, Any]) -> Iterator[PodUnderCheck]:
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name")
    if kind in ("Deployment", "Job"):
        creator = "the ReplicaSet controller" if kind == "Deployment" else "the Job controller"
        yield PodUnderCheck(r.address, f"{kind} {name}", creator, (spec.get("template") or {}).get("spec") or {})
    elif kind == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
        yield PodUnderCheck(r.address, f"CronJob {name}", "the Job controller", pod)
    elif kind == "InferenceService":
        yield PodUnderCheck(r.address, f"InferenceService {name}", "Knative (the revision's ReplicaSet)",
                            _predictor_pod(obj, storage))
    elif kind == "ConfigMap" and TEMPLATE_KEY in (obj.get("data") or {}):
        yield from _template_pods(r, obj)


def graph_pods(graph: Any, storage_security: Mapping[str, Any] | None = None) -> list[PodUnderCheck]:
    """Every pod the graph's objects in its namespace make, as created (module docstring); ``storage_security``: the
    ``securityContext`` of ClusterStorageContainer ``default``'s container (None: the kustomize install's, none)."""
    namespace = graph.metadata.get("namespace")
    storage = dict(storage_security or {})
    return [pod for r in graph.resources if r.custom and r.type.startswith("kubernetes:")
            and ((r.inputs.get("metadata") or {}).get("namespace") == namespace)
            for pod in _pods_of(r, r.inputs, storage)]


# -- the checks ----------------------------------------------------------------------------------------------


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, Mapping)]


def _sc(c: Mapping[str, Any]) -> Mapping[str, Any]:
    return c.get("securityContext") or {}


def _names(found: list[str]) -> str:
    return f"{'container' if len(found) == 1 else 'containers'} {', '.join(repr(n) for n in found)}"


def _privileged(spec: Mapping[str, Any]) -> list[str]:
    bad = [str(c.get("name")) for c in _containers(spec) if _sc(c).get("privileged") is True]
    return [f"privileged: {_names(bad)} must not set securityContext.privileged=true"] if bad else []


def _host_namespaces(spec: Mapping[str, Any]) -> list[str]:
    bad = [f for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f) is True]
    return [f"host namespaces: {', '.join(f + '=true' for f in bad)}"] if bad else []


def _host_paths(spec: Mapping[str, Any]) -> list[str]:
    bad = [str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, Mapping) and "hostPath" in v]
    return [f"hostPath volumes: {', '.join(bad)}"] if bad else []


def _host_ports(spec: Mapping[str, Any]) -> list[str]:
    bad = [str(c.get("name")) for c in _containers(spec) for p in c.get("ports") or [] if (p or {}).get("hostPort")]
    return [f"hostPort: {_names(sorted(set(bad)))} must not set hostPort"] if bad else []


def _capabilities_baseline(spec: Mapping[str, Any]) -> list[str]:
    bad = sorted({str(a) for c in _containers(spec) for a in (_sc(c).get("capabilities") or {}).get("add") or []}
                 - BASELINE_CAPABILITIES)
    return [f"non-default capabilities: must not include {', '.join(bad)} in securityContext.capabilities.add"] if bad else []


def _seccomp_baseline(spec: Mapping[str, Any]) -> list[str]:
    pod = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    bad = [str(c.get("name")) for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") == "Unconfined"]
    if pod == "Unconfined" or bad:
        return [f"seccompProfile: {'pod and ' if pod == 'Unconfined' else ''}{_names(bad) if bad else 'pod'} must not "
                "set securityContext.seccompProfile.type to \"Unconfined\""]
    return []


def _restricted_volumes(spec: Mapping[str, Any]) -> list[str]:
    bad = [str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, Mapping)
           and not (set(v) - {"name"}) <= RESTRICTED_VOLUMES]
    return [f"restricted volume types: volumes {', '.join(bad)} use a restricted volume type"] if bad else []


def _privilege_escalation(spec: Mapping[str, Any]) -> list[str]:
    bad = [str(c.get("name")) for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    return [f"allowPrivilegeEscalation != false: {_names(bad)} must set securityContext.allowPrivilegeEscalation=false"] if bad else []


def _pod_or_each(spec: Mapping[str, Any], ok: Callable[[Mapping[str, Any]], bool | None]) -> tuple[bool, list[str], list[str]]:
    """(pod-level value bad, containers that set a bad value, containers left bad by an unset pod value): the
    pod-or-container rule of ``runAsNonRoot`` and ``seccompProfile`` (None: not set)."""
    pod = ok(spec.get("securityContext") or {})
    explicit = [str(c.get("name")) for c in _containers(spec) if ok(_sc(c)) is False]
    implicit = [str(c.get("name")) for c in _containers(spec) if ok(_sc(c)) is None and pod is not True]
    return pod is False, explicit, implicit


def _run_as_non_root(spec: Mapping[str, Any]) -> list[str]:
    pod_bad, explicit, implicit = _pod_or_each(spec, lambda sc: sc.get("runAsNonRoot"))
    if pod_bad or explicit:
        who = " and ".join([*(["pod"] if pod_bad else []), *([_names(explicit)] if explicit else [])])
        return [f"runAsNonRoot != true: {who} must not set securityContext.runAsNonRoot=false"]
    return [f"runAsNonRoot != true: pod or {_names(implicit)} must set securityContext.runAsNonRoot=true"] if implicit else []


def _run_as_user(spec: Mapping[str, Any]) -> list[str]:
    bad = (["pod"] if (spec.get("securityContext") or {}).get("runAsUser") == 0 else []) + \
          [str(c.get("name")) for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    return [f"runAsUser=0: {', '.join(bad)} must not set runAsUser=0"] if bad else []


def _seccomp_restricted(spec: Mapping[str, Any]) -> list[str]:
    def ok(sc: Mapping[str, Any]) -> bool | None:
        kind = (sc.get("seccompProfile") or {}).get("type")
        return None if kind is None else kind in ("RuntimeDefault", "Localhost")
    pod_bad, explicit, implicit = _pod_or_each(spec, ok)
    if pod_bad or explicit:
        return [f"seccompProfile: {_names(explicit) if explicit else 'pod'} must not set an unconfined seccompProfile.type"]
    return [f"seccompProfile: pod or {_names(implicit)} must set securityContext.seccompProfile.type to "
            "\"RuntimeDefault\" or \"Localhost\""] if implicit else []


def _capabilities_restricted(spec: Mapping[str, Any]) -> list[str]:
    out = []
    undropped = [str(c.get("name")) for c in _containers(spec) if "ALL" not in ((_sc(c).get("capabilities") or {}).get("drop") or [])]
    if undropped:
        out.append(f"unrestricted capabilities: {_names(undropped)} must set securityContext.capabilities.drop=[\"ALL\"]")
    adding = [str(c.get("name")) for c in _containers(spec)
              if set((_sc(c).get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}]
    if adding:
        out.append(f"unrestricted capabilities: {_names(adding)} must not add capabilities but NET_BIND_SERVICE")
    return out


CHECKS: dict[str, tuple[tuple[tuple[int, int], Callable[[Mapping[str, Any]], list[str]]], ...]] = {
    "baseline": (((1, 0), _privileged), ((1, 0), _host_namespaces), ((1, 0), _host_paths), ((1, 0), _host_ports),
                 ((1, 0), _capabilities_baseline), ((1, 19), _seccomp_baseline)),
    "restricted": (((1, 0), _restricted_volumes), ((1, 8), _privilege_escalation), ((1, 0), _run_as_non_root),
                   ((1, 23), _run_as_user), ((1, 19), _seccomp_restricted), ((1, 22), _capabilities_restricted)),
}
"""Level -> ``(first version, check)``; restricted also runs every baseline check (module docstring)."""


def version_of(label: str | None) -> tuple[int, int] | None:
    """``enforce-version`` as (major, minor); None for ``latest``, absent or not ``v<major>.<minor>``."""
    found = re.fullmatch(r"v(\d+)\.(\d+)", (label or "").strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


def violations(spec: Mapping[str, Any], level: str, version: tuple[int, int] | None = None) -> list[str]:
    """What ``level`` at ``version`` (None: latest) refuses in a pod ``spec``, in Pod Security Admission's words."""
    levels = ("baseline", "restricted") if level == "restricted" else ("baseline",) if level == "baseline" else ()
    return [text for lv in levels for since, check in CHECKS[lv] if version is None or since <= version
            for text in check(spec)]


# -- the fix -------------------------------------------------------------------------------------------------

FIXES = {
    "init-pytorch": ("start the training operator with --pytorch-init-container-template-file naming an init-pytorch "
                     "whose securityContext passes restricted (allowPrivilegeEscalation: false, capabilities.drop: "
                     "[ALL], runAsNonRoot: true with a non-root runAsUser), or give the job nodes: 1"),
    "storage-initializer": ("give the container of ClusterStorageContainer default the restricted securityContext "
                            "(allowPrivilegeEscalation: false, capabilities.drop: [ALL], runAsNonRoot: true, "
                            "seccompProfile.type: RuntimeDefault; Helm: kserve.storage.containerSecurityContext)"),
    "runAsNonRoot": ("mlops-infra sets no runAsNonRoot on the container that runs the spec's image (a root image "
                     "would then never start: training.ROOT_ALLOWED_SECURITY) and the spec cannot say the image runs "
                     "as a non-root user, so run this environment in a namespace that enforces baseline (restricted "
                     "may stay as pod-security.kubernetes.io/warn and audit)"),
}


USER_IMAGE_CONTAINERS = ("pytorch", "kserve-container", "agent")
"""Containers that run the spec's image (the agent copies ``kserve-container``'s ``securityContext``)."""


def _fix(refused: list[tuple[PodUnderCheck, list[str]]]) -> str:
    """The fixes of what ``refused`` names: an injected container's own, and for a container running the spec's
    image without ``runAsNonRoot``, the namespace's level (the compiler cannot set it: :data:`FIXES`)."""
    found = [v for _, violations_ in refused for v in violations_]
    user_image = any(v.startswith("runAsNonRoot") and any(f"'{c}'" in v for c in USER_IMAGE_CONTAINERS) for v in found)
    fixes = [fix for key, fix in FIXES.items()
             if (key == "runAsNonRoot" and user_image) or any(f"'{key}'" in v for v in found)]
    return "; ".join(fixes) + "." if fixes else \
        "set the securityContext fields named above, or have the namespace enforce a lower level."


# -- the cluster ---------------------------------------------------------------------------------------------


def _storage_security(kube: KubeClient) -> tuple[dict[str, Any], str]:
    """ClusterStorageContainer ``default``'s container ``securityContext`` and where it came from."""
    try:
        found = kube.get_or_none(STORAGE_CONTAINER, "default")
    except KubeUnreachable:
        raise
    except KubeNotFound:  # the type is not served (get_or_none answers None for a missing object)
        found = None
    except KubeError as exc:
        return {}, (f"ClusterStorageContainer default not readable ({exc.summary}): KServe's kustomize default (no "
                    "securityContext) assumed")
    if found is None:
        return {}, "no ClusterStorageContainer default to read: KServe's kustomize default (no securityContext) assumed"
    return dict(((found.get("spec") or {}).get("container") or {}).get("securityContext") or {}), ""


def pod_security_checks(kube: KubeClient, graph: Any) -> list[tuple[Prerequisite, str, str]]:
    """Read the namespace's enforced Pod Security level and judge the graph's pods against it (module contract)."""
    namespace = graph.metadata.get("namespace")
    exposed = sorted({pod.address for pod in graph_pods(graph) if violations(pod.spec, "restricted")})
    if not namespace or not exposed:  # what restricted admits, every level admits
        return []
    name = f"Pod Security admission in namespace {namespace}"
    try:
        found = kube.get_or_none(NAMESPACE, namespace)
    except KubeUnreachable:
        raise
    except KubeError as exc:
        p = Prerequisite(name, tuple(exposed), Check(),
                         f"ask the platform team for the namespace's {ENFORCE_LABEL} label (kubectl get namespace "
                         f"{namespace} --show-labels); restricted refuses these pods", SOURCE)
        return [(p, "unknown", f"reading Namespace {namespace} for its {ENFORCE_LABEL} label: {exc.summary}")]
    labels = ((found or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(ENFORCE_LABEL)
    if found is None or level in (None, "privileged"):
        return []
    if level not in LEVELS:
        p = Prerequisite(name, tuple(exposed), Check(), f"set {ENFORCE_LABEL} to one of {', '.join(LEVELS)}", SOURCE)
        return [(p, "unknown", f"Namespace {namespace} has {ENFORCE_LABEL}: {level!r}, no level Pod Security "
                               "Admission knows")]
    raw_version = labels.get(ENFORCE_VERSION_LABEL)
    storage, assumed = (_storage_security(kube) if any(o.what.startswith("InferenceService") for o in graph_pods(graph))
                        else ({}, ""))
    by_item: dict[str, list[tuple[PodUnderCheck, list[str]]]] = {}
    for pod in graph_pods(graph, storage):
        found_violations = violations(pod.spec, level, version_of(raw_version))
        if found_violations:
            by_item.setdefault(pod.address, []).append((pod, found_violations))
    shown = f"{level}:{raw_version or 'latest'}"
    out = []
    for address, refused in sorted(by_item.items()):
        pods = "; ".join(f"{pod.what}: {', '.join(found)}" for pod, found in refused)
        creators = ", ".join(dict.fromkeys(pod.creator for pod, _ in refused))
        note = f" ({assumed})" if assumed and any(p.what.startswith("InferenceService") for p, _ in refused) else ""
        detail = (f"namespace {namespace} enforces Pod Security \"{shown}\" ({ENFORCE_LABEL}) and refuses the pods of "
                  f"{address}: {pods}{note}. The refusal lands on {creators} (FailedCreate: violates PodSecurity "
                  f"\"{shown}\"), not on the apply, so those pods never run.")
        out.append((Prerequisite(f"{name}: {address}", (address,), Check(), _fix(refused), SOURCE), "refused", detail))
    return out
