"""Kubernetes objects as graph resources: type tokens, metadata and the one ``add`` path.

Contract: :meth:`KubeTarget.add` is the only way this target adds a Kubernetes object. It derives
the Pulumi type token from ``apiVersion``/``kind`` exactly as pulumi-kubernetes registers it
(``kubernetes:core/v1:ConfigMap`` for built-ins, ``kubernetes:<group>/<version>:<Kind>`` for
``apiextensions.CustomResource``), uses ``metadata.name`` as the Pulumi resource name (no
autonaming: plans show real names), sets the explicit provider and, for namespaced objects, a
dependency on the Namespace. ``inputs`` are the Kubernetes object itself, camelCase. With
``patch=True`` the object is registered as the kind's Patch resource (``kubernetes:core/v1:NamespacePatch``;
same inputs: pulumi-kubernetes tells a Patch resource by its type token, ``kinds.IsPatchResource``,
``<kind>Patch``), which server-side applies only the fields it sets: see :mod:`.platform`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes.names import OBJECT_STORE_SECRET
from mlops_infra.compile.kubernetes.stored_form import stored_form
from mlops_infra.graph import ResourceOptions

CLUSTER_SCOPED = frozenset({"Namespace", "ClusterQueue", "ResourceFlavor"})
"""Kinds without a namespace that this target creates."""

BUILTIN_GROUPS = frozenset({"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"})
"""API groups validated with kubernetes-validate; every other group is a CRD."""


def type_token(api_version: str, kind: str, *, patch: bool = False) -> str:
    """The pulumi-kubernetes type token: ``v1`` -> ``core/v1``; groups stay as written; ``patch``: the
    kind's Patch resource (``...:NamespacePatch``)."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}{'Patch' if patch else ''}"


def is_builtin(api_version: str) -> bool:
    return (api_version.rpartition("/")[0] if "/" in api_version else "") in BUILTIN_GROUPS


@dataclass
class KubeTarget:
    """What every section compiler shares: the compile context plus provider and platform URNs."""

    ctx: CompileContext
    provider: str = ""
    platform: str = ""
    namespace_urn: str = ""
    shared: dict[str, str] = field(default_factory=dict)
    """Role of a shared platform object (``service-account/serving``) -> its URN, for ordering."""

    @property
    def namespace(self) -> str:
        return self.ctx.target.namespace

    def metadata(self, name: str, address: str, *, kind: str = "", annotations: dict[str, str] | None = None,
                 **extra_labels: str) -> dict[str, Any]:
        """``metadata`` with name, namespace (unless cluster-scoped), labels and annotations."""
        meta: dict[str, Any] = {"name": name}
        if kind not in CLUSTER_SCOPED:
            meta["namespace"] = self.namespace
        meta["labels"] = lbl.labels(self.ctx, address, **extra_labels)
        if annotations:
            meta["annotations"] = dict(sorted(annotations.items()))
        return meta

    def obj(self, api_version: str, kind: str, name: str, address: str, body: dict[str, Any], *,
            annotations: dict[str, str] | None = None, **extra_labels: str) -> dict[str, Any]:
        """A whole Kubernetes object: apiVersion, kind, metadata, then ``body`` (spec, data, ...)."""
        return {"apiVersion": api_version, "kind": kind,
                "metadata": self.metadata(name, address, kind=kind, annotations=annotations, **extra_labels),
                **body}

    def add(self, obj: dict[str, Any], *, parent: str, address: str, role: str,
            depends_on: Iterable[str] = (), options: ResourceOptions | None = None, patch: bool = False) -> str:
        """Add ``obj`` under ``parent`` (as its kind's Patch resource when ``patch``); return its URN. A built-in
        object is added in the form pulumi-kubernetes stores it (:func:`.stored_form.stored_form`: no empty env
        values), so a plan compares like with like."""
        if is_builtin(obj["apiVersion"]):
            obj = stored_form(obj)
        deps = [d for d in depends_on if d]
        if obj["kind"] not in CLUSTER_SCOPED and self.namespace_urn:
            deps.append(self.namespace_urn)
        return self.ctx.builder.add(type_token(obj["apiVersion"], obj["kind"], patch=patch), obj["metadata"]["name"], obj,
                                    parent=parent, depends_on=deps, provider=self.provider, options=options,
                                    address=address, role=role)

    def needs(self, *roles: str) -> list[str]:
        """URNs of shared platform objects, for ``depends_on`` (missing roles are skipped)."""
        return [self.shared[r] for r in roles if r in self.shared]


def container_security() -> dict[str, Any]:
    """The container ``securityContext`` of the Pod Security Standard "restricted" profile."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65534,
            "seccompProfile": {"type": "RuntimeDefault"}}


def env(values: dict[str, str]) -> list[dict[str, str]]:
    """A container ``env`` list from a dict, sorted by name."""
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def object_store_env_from() -> list[dict[str, Any]]:
    """``envFrom`` the platform's object-store Secret (optional: IRSA/workload identity also works)."""
    return [{"secretRef": {"name": OBJECT_STORE_SECRET, "optional": True}}]
