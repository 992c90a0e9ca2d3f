"""Reading a namespace's ResourceQuotas (core/v1 ``resourcequotas``) and LimitRanges (core/v1
``limitranges``: the defaults a container without requests or limits gets) for ``plan --refresh``.

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
from mlops_infra.kube.resources import ResourceType

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
