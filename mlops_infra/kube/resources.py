"""Resource types: apiVersion + kind -> the REST path of their objects.

The Kubernetes REST API addresses an object by group, version, plural resource name, namespace and
name ("API Concepts": ``/api/v1/namespaces/{ns}/{resource}/{name}`` for the core group,
``/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}`` for the others; cluster-scoped
resources omit ``namespaces/{ns}``). The plural comes from discovery on a live server; here it comes
from :data:`KNOWN`, which lists every kind the compiler emits or the tool reads, so no discovery
round trip is needed. Other kinds fall back to the lowercased kind plus ``s`` (``es``/``ies`` by
English rule), which is what controller-gen and the built-in types use; pass an explicit
:class:`ResourceType` when that guess is wrong. The guess says namespaced unless told otherwise, so
a cluster-scoped kind the compiler emits must be listed here.

Kueue kinds are listed at ``kueue.x-k8s.io/v1beta2``, the version the compiler writes
(``compile/kubernetes/queues.py``) and the storage version of the Kueue CRDs (v0.19); ``v1beta1``
is still served, converted: its ClusterQueue names the cohort ``spec.cohort`` where v1beta2 says
``spec.cohortName`` (kubernetes-sigs/kueue ``apis/kueue/v1beta1/clusterqueue_types.go``;
``clusterqueue_conversion.go``: ``out.Cohort = CohortReference(in.CohortName)``), so a read at v1beta1
would not look like what was applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ResourceType:
    """One resource type: ``api_version`` (``v1``, ``serving.kserve.io/v1beta1``), ``kind``, ``plural``
    and whether its objects live in a namespace."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The REST path of the collection (no ``name``) or of one object."""
        base = f"/apis/{self.api_version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        elif self.namespaced and name:
            raise ValueError(f"{self.kind} {name!r} is namespaced: a namespace is required")
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base

    def describe(self, name: str | None = None, namespace: str | None = None) -> str:
        """``inferenceservices.serving.kserve.io/scorer in fraud-dev`` (for messages)."""
        what = f"{self.plural}.{self.group}" if self.group else self.plural
        if name:
            what += f"/{name}"
        return what + (f" in {namespace}" if namespace and self.namespaced else "")


def _types(api_version: str, namespaced: bool, **kinds: str) -> dict[tuple[str, str], ResourceType]:
    return {(api_version, kind): ResourceType(api_version, kind, plural, namespaced) for plural, kind in kinds.items()}


KNOWN: dict[tuple[str, str], ResourceType] = {
    **_types("v1", True, configmaps="ConfigMap", secrets="Secret", serviceaccounts="ServiceAccount",
             services="Service", pods="Pod", persistentvolumeclaims="PersistentVolumeClaim", endpoints="Endpoints"),
    **_types("v1", False, namespaces="Namespace", nodes="Node"),
    **_types("apps/v1", True, deployments="Deployment", statefulsets="StatefulSet"),
    **_types("batch/v1", True, jobs="Job", cronjobs="CronJob"),
    **_types("rbac.authorization.k8s.io/v1", True, roles="Role", rolebindings="RoleBinding"),
    **_types("rbac.authorization.k8s.io/v1", False, clusterroles="ClusterRole",
             clusterrolebindings="ClusterRoleBinding"),
    **_types("networking.k8s.io/v1", True, networkpolicies="NetworkPolicy"),
    **_types("apiextensions.k8s.io/v1", False, customresourcedefinitions="CustomResourceDefinition"),
    **_types("serving.kserve.io/v1beta1", True, inferenceservices="InferenceService"),
    **_types("kubeflow.org/v1", True, pytorchjobs="PyTorchJob"),
    **_types("trainer.kubeflow.org/v1alpha1", True, trainjobs="TrainJob"),
    **_types("kueue.x-k8s.io/v1beta2", True, localqueues="LocalQueue", workloads="Workload"),
    **_types("kueue.x-k8s.io/v1beta2", False, clusterqueues="ClusterQueue", resourceflavors="ResourceFlavor"),
    **_types("monitoring.coreos.com/v1", True, prometheusrules="PrometheusRule", servicemonitors="ServiceMonitor",
             podmonitors="PodMonitor"),
    **_types("monitoring.coreos.com/v1alpha1", True, alertmanagerconfigs="AlertmanagerConfig"),
}
"""Resource types the tool uses, by (apiVersion, kind)."""


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        return lower[:-1] + "ies"
    return lower + "s"


def resource_type(api_version: str, kind: str, *, namespaced: bool = True) -> ResourceType:
    """The :class:`ResourceType` of ``apiVersion``/``kind`` (see the module docstring)."""
    return KNOWN.get((api_version, kind)) or ResourceType(api_version, kind, _plural(kind), namespaced)


def of(obj: dict) -> ResourceType:
    """The resource type of a whole object (its ``apiVersion`` and ``kind``)."""
    return resource_type(obj.get("apiVersion", ""), obj.get("kind", ""))


INFERENCE_SERVICE = KNOWN[("serving.kserve.io/v1beta1", "InferenceService")]
CONFIG_MAP = KNOWN[("v1", "ConfigMap")]
CRD = KNOWN[("apiextensions.k8s.io/v1", "CustomResourceDefinition")]
