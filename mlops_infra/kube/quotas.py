"""Reading a namespace's ResourceQuotas (core/v1 ``resourcequotas``) and LimitRanges (core/v1
``limitranges``: the defaults a container without requests or limits gets, and the bounds it must
keep), and Knative's ConfigMaps that set its queue-proxy's resources (:func:`read_queue_sidecar`),
for ``plan --refresh``.

``GET /api/v1/namespaces/{ns}/resourcequotas`` lists them ("ResourceQuota v1 core", Kubernetes API
reference); the caller needs RBAC ``list`` on ``resourcequotas`` (API group ``""``) in the namespace.
A namespace that does not exist yet lists none. What the quotas mean for a graph is
:mod:`mlops_infra.plan.namespace_quotas` (pure).

The type is defined here, not in :mod:`mlops_infra.kube.resources`: that module is shipped into the
Kubernetes rollout runner's ConfigMap (``rollout/code.py`` ``KUBERNETES``), so any edit to it changes
every compiled graph with a staged rollout, and the runner never reads quotas.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import CONFIG_MAP, ResourceType

RESOURCE_QUOTA = ResourceType("v1", "ResourceQuota", "resourcequotas")
"""The core/v1 ResourceQuota type."""
LIMIT_RANGE = ResourceType("v1", "LimitRange", "limitranges")
"""The core/v1 LimitRange type."""
PERMISSION = 'list resourcequotas (apiGroups [""])'
"""The RBAC permission :func:`read_quotas` needs in the namespace."""


def read_quotas(kube: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Every ResourceQuota of ``namespace`` as the server returns it (``spec.hard``, ``status.used``).
    Errors are the client's (:mod:`mlops_infra.kube.errors`): 403 is ``KubeForbidden``."""
    return kube.list(RESOURCE_QUOTA, namespace)


def read_limit_ranges(kube: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Every LimitRange of ``namespace`` as the server returns it (needs RBAC ``list`` on
    ``limitranges``); errors are the client's."""
    return kube.list(LIMIT_RANGE, namespace)


KNATIVE_NAMESPACE = "knative-serving"
"""Where Knative Serving keeps its ConfigMaps (``config-deployment``, ``config-features``)."""
QUEUE_SIDECAR_CONFIG = ("config-deployment", "config-features")
"""The ConfigMaps that set the queue-proxy's resources (knative/serving ``pkg/deployment/config.go``
``ConfigName``, ``pkg/apis/config/features.go`` ``FeaturesConfigName``)."""


def read_queue_sidecar(kube: KubeClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``data`` of ``knative-serving/config-deployment`` and ``config-features`` ({} for one that
    does not exist; needs RBAC ``get`` on ``configmaps`` in ``knative-serving``); errors are the client's."""
    found = [kube.get_or_none(CONFIG_MAP, name, KNATIVE_NAMESPACE) for name in QUEUE_SIDECAR_CONFIG]
    deployment, features = ((obj or {}).get("data") or {} for obj in found)
    return deployment, features
