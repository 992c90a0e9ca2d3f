"""Names of the Kubernetes objects the target creates: one place, so plans, docs and the live
scanner agree.

Contract: every function is pure and returns a DNS-1123 label of at most 63 characters. Objects
in the system's namespace are named after the item (``<item>`` or ``<prefix>-<item>``); shared
objects carry the ``mlops-`` prefix so they cannot collide with what KServe or Knative create for
an endpoint (``<endpoint>``, ``<endpoint>-predictor``, ...). Cluster-scoped objects (Kueue
``ResourceFlavor`` and ``ClusterQueue``) are prefixed with ``<system>-<env>`` because the whole
cluster shares their name space. Bucket names are S3 bucket names (3-63 characters).
"""

from __future__ import annotations

from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.naming import physical_name

# Shared objects in the namespace.
OBJECT_STORE_SECRET = "mlops-object-store"
"""Secret the platform team creates (never mlops-infra): S3 credentials and endpoint for pods."""
OBJECT_STORE_CONFIG = "mlops-object-store"
SCRIPTS_CONFIG = "mlops-scripts"
REGISTRY = "mlops-mlflow"
CAPTURE = "mlops-capture"
PUSHGATEWAY = "mlops-pushgateway"
RETRAIN_TRIGGER = "mlops-retrain-trigger"
TRIGGER_TOKEN_SECRET = "mlops-retrain-trigger-token"
"""Secret the platform team creates (key ``value``): the bearer token Alertmanager sends the retrain trigger."""
LAUNCHER_ROLE = "mlops-training-launcher"

SERVICE_ACCOUNTS = {
    "training": "mlops-training",
    "launcher": "mlops-training-launcher",
    "serving": "mlops-serving",
    "registry": "mlops-registry",
    "capture": "mlops-capture",
    "monitor": "mlops-monitor",
    "pushgateway": "mlops-pushgateway",
}
"""Workload kind -> its ServiceAccount; only ``launcher`` is bound to a Role (see rbac.py)."""

REGISTRY_PORT = 5000
CAPTURE_PORT = 8080
PUSHGATEWAY_PORT = 9091
TRIGGER_PORT = 8080


def item(prefix: str, name: str) -> str:
    """``<prefix>-<name>`` as a label-length name."""
    return physical_name(prefix, name)


CRONJOB_NAME_MAX = 52
"""A CronJob's name is at most 52 characters: the controller appends 11 to name its Jobs, and a
Job's name must fit a 63-character label (kubernetes pkg/apis/batch/validation, ``ValidateCronJob``;
https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#writing-a-cronjob-spec)."""


def cronjob(prefix: str, name: str) -> str:
    """``<prefix>-<name>`` cut and hashed to fit a CronJob name (:data:`CRONJOB_NAME_MAX`)."""
    return physical_name(prefix, name, max_len=CRONJOB_NAME_MAX)


def hashed(prefix: str, name: str, digest: str) -> str:
    """``<prefix>-<name>-<digest>``, the name part cut so the whole fits 63 characters."""
    return f"{physical_name(prefix, name, max_len=62 - len(digest))}-{digest}"


def cluster_scoped(ctx: CompileContext, name: str) -> str:
    """A cluster-wide unique name: ``<system>-<env>-<name>``."""
    return ctx.name(name)


def data_bucket(ctx: CompileContext, source: str) -> str:
    return ctx.name("data", source)


def models_bucket(ctx: CompileContext) -> str:
    """Bucket holding the artifacts of the models a training job here registers,
    ``s3://<bucket>/<model>/<version>/``, and of versions registered with a ``source`` there. An
    endpoint reads it only through one of those (``compile/kubernetes/artifacts.py`` ``storage_uri``):
    a copy put here that no MLflow version names as its ``source`` is never served."""
    return ctx.name("models")


def capture_bucket(ctx: CompileContext) -> str:
    """Bucket the capture sink writes sampled requests/responses to: ``<endpoint>/<date>/...``."""
    return ctx.name("capture")


def service_host(ctx: CompileContext, service: str) -> str:
    return f"{service}.{ctx.target.namespace}.svc.cluster.local"


def service_url(ctx: CompileContext, service: str, port: int, path: str = "") -> str:
    return f"http://{service_host(ctx, service)}:{port}{path}"
