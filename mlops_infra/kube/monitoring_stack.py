"""Reading the cluster's Prometheus and Alertmanager objects (prometheus-operator's
``monitoring.coreos.com/v1`` ``prometheuses`` and ``alertmanagers``, in all namespaces) and a
Namespace's labels, for ``plan --refresh``. What their selectors mean for a graph's monitoring
objects is :mod:`mlops_infra.plan.monitoring_selectors` (pure).

``GET /apis/monitoring.coreos.com/v1/prometheuses`` (no namespace) lists them in every namespace; the
caller needs RBAC ``list`` on ``prometheuses`` (``alertmanagers``) in API group
``monitoring.coreos.com`` at the cluster scope (a ClusterRole). Without prometheus-operator's CRDs the
server answers 404 "the server could not find the requested resource"
(:attr:`mlops_infra.kube.errors.KubeNotFound.type_missing`). ``GET /api/v1/namespaces/<name>`` needs
``get`` on ``namespaces`` (API group ``""``); a namespace not created yet is 404.

The types are defined here, not in :mod:`mlops_infra.kube.resources`: that module is shipped into the
Kubernetes rollout runner's ConfigMap, so any edit to it changes every compiled graph with a staged
rollout, and the runner never reads these.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import ResourceType

PROMETHEUS = ResourceType("monitoring.coreos.com/v1", "Prometheus", "prometheuses")
"""prometheus-operator's Prometheus type."""
ALERTMANAGER = ResourceType("monitoring.coreos.com/v1", "Alertmanager", "alertmanagers")
"""prometheus-operator's Alertmanager type."""
NAMESPACE = ResourceType("v1", "Namespace", "namespaces", namespaced=False)
"""The core/v1 Namespace type."""
PERMISSIONS = {PROMETHEUS: 'list prometheuses (apiGroups ["monitoring.coreos.com"]) at the cluster scope',
               ALERTMANAGER: 'list alertmanagers (apiGroups ["monitoring.coreos.com"]) at the cluster scope',
               NAMESPACE: 'get namespaces (apiGroups [""])'}
"""The RBAC permission each read needs."""
CAN_I = {PROMETHEUS: "kubectl auth can-i list prometheuses.monitoring.coreos.com --all-namespaces",
         ALERTMANAGER: "kubectl auth can-i list alertmanagers.monitoring.coreos.com --all-namespaces",
         NAMESPACE: "kubectl auth can-i get namespaces"}
"""How to check each permission."""


def read_owners(kube: KubeClient, rtype: ResourceType) -> list[dict[str, Any]]:
    """Every object of ``rtype`` (:data:`PROMETHEUS` or :data:`ALERTMANAGER`) in all namespaces, as the
    server returns it. Errors are the client's (:mod:`mlops_infra.kube.errors`): 403 is
    ``KubeForbidden``, a CRD not installed ``KubeNotFound`` with ``type_missing``."""
    return kube.list(rtype)


def read_namespace(kube: KubeClient, name: str) -> dict[str, Any] | None:
    """The Namespace ``name`` as the server returns it, or None when it does not exist yet."""
    return kube.get_or_none(NAMESPACE, name)
