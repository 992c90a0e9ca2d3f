"""The ONE Kubernetes client layer of mlops-infra: connection, resources, retries, errors.

Everything in the package that talks to a Kubernetes API server goes through here: Kubernetes live
state for ``plan --refresh``, the KServe rollout driver, the cluster preflight. It is an edge module
(network I/O), so the pure core (spec, compile, plan, render) never imports it
(``tests/test_layering.py``).

- :mod:`.config`: where the cluster is (kubeconfig file and context, in-cluster service account, or
  an explicit URL and token) -> a ``kubernetes.client.Configuration``;
- :mod:`.resources`: :class:`ResourceType` (apiVersion, kind, plural, scope) and the REST path of an
  object, for built-in kinds and the custom resources the compiler emits;
- :mod:`.client`: :class:`KubeClient`, get/list/create/replace/patch/delete of any object through the
  ``kubernetes`` Python client's ``ApiClient`` (its auth, TLS and serialisation), with bounded retries
  and resourceVersion-guarded patches;
- :mod:`.errors`: the typed vocabulary callers branch on: :class:`KubeUnreachable`,
  :class:`KubeForbidden`, :class:`KubeNotFound`, :class:`KubeConflict`, :class:`KubeAlreadyExists`,
  :class:`KubeInvalid`, :class:`KubeServerError` (all :class:`KubeError`, a ``UserError``).

The ``kubernetes`` package is an optional extra (``pip install 'mlops-infra[kubernetes]'``); it is
imported only when a client is built, and its absence is a one-line user error.
"""

from mlops_infra.kube.client import KubeClient, RetryPolicy
from mlops_infra.kube.config import ConnectOptions
from mlops_infra.kube.errors import (
    KubeAlreadyExists,
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeServerError,
    KubeUnreachable,
)
from mlops_infra.kube.resources import ResourceType, resource_type

__all__ = [
    "ConnectOptions",
    "KubeAlreadyExists",
    "KubeClient",
    "KubeConflict",
    "KubeError",
    "KubeForbidden",
    "KubeInvalid",
    "KubeNotFound",
    "KubeServerError",
    "KubeUnreachable",
    "ResourceType",
    "RetryPolicy",
    "resource_type",
]
