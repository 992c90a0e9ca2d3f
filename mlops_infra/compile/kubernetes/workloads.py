"""Pod-level building blocks shared by the platform's Deployments, Jobs and CronJobs.

Contract: helpers return plain Kubernetes dicts (camelCase). Containers of mlops-infra's own
helpers run with the "restricted" security context (non-root, read-only root filesystem, no
privilege escalation, all capabilities dropped, RuntimeDefault seccomp) and modest, explicit
requests; the scripts ConfigMap is mounted read-only at :data:`scripts.MOUNT`.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import names, scripts
from mlops_infra.compile.kubernetes.objects import KubeTarget, container_security
from mlops_infra.compile.naming import short_hash

SMALL = {"limits": {"memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "128Mi"}}
"""Resources of a helper container (launcher, trigger, capture sink, pushgateway)."""

SCRIPTS_VOLUME = {"name": "scripts", "configMap": {"name": names.SCRIPTS_CONFIG}}
SCRIPTS_MOUNT = {"mountPath": scripts.MOUNT, "name": "scripts", "readOnly": True}
TMP_VOLUME = {"name": "tmp", "emptyDir": {}}
TMP_MOUNT = {"mountPath": "/tmp", "name": "tmp"}
SCRIPTS_HASH = "mlops-infra/scripts-hash"
NAMESPACE_ENV = {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


def helper_container(name: str, image: str, *, command: list[str] | None = None, args: list[str] | None = None,
                     env: list[dict[str, Any]] | None = None, port: int | None = None,
                     mounts: list[dict[str, Any]] | None = None, resources: dict[str, Any] | None = None,
                     **extra: Any) -> dict[str, Any]:
    """A container of an mlops-infra helper (restricted security context, explicit resources).

    ``command`` replaces the image's entrypoint; ``args`` alone are passed to it.
    """
    container: dict[str, Any] = {"name": name, "image": image,
                                 "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                                         {"name": "PYTHONUNBUFFERED", "value": "1"}, *(env or [])],
                                 "resources": resources or SMALL, "securityContext": container_security(),
                                 "volumeMounts": [TMP_MOUNT, *(mounts or [])]}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    if port is not None:
        container["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
        container["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container.update(extra)
    return container


def pod_spec(service_account: str, containers: list[dict[str, Any]], *, volumes: list[dict[str, Any]] | None = None,
             restart_policy: str | None = None, automount: bool = False, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"automountServiceAccountToken": automount, "containers": containers,
                            "securityContext": {"fsGroup": 65534, "runAsNonRoot": True,
                                                "seccompProfile": {"type": "RuntimeDefault"}},
                            "serviceAccountName": service_account, "volumes": [TMP_VOLUME, *(volumes or [])]}
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    spec.update(extra)
    return spec


def deployment(kube: KubeTarget, name: str, app: str, pod: dict[str, Any], *, address: str,
               strategy: str = "RollingUpdate", replicas: int = 1, runs: tuple[str, ...] = (),
               reads: dict[str, str] | None = None) -> dict[str, Any]:
    """A Deployment of ``pod`` selected by the stable app labels.

    ``runs`` names the helper scripts the pod runs: their hash is a pod-template annotation, so a
    changed script rolls the pods (a mounted ConfigMap changes under a running process otherwise).
    ``reads`` does the same for other files the pod reads once at start: annotation -> the file's text,
    whose hash the annotation holds.
    """
    match = lbl.selector(kube.ctx, app)
    template_labels = {**lbl.labels(kube.ctx, address), **match}
    template: dict[str, Any] = {"metadata": {"labels": dict(sorted(template_labels.items()))}, "spec": pod}
    annotations = {SCRIPTS_HASH: short_hash({name: scripts.source(name) for name in runs})} if runs else {}
    annotations.update((key, short_hash(text)) for key, text in (reads or {}).items())
    if annotations:
        template["metadata"]["annotations"] = annotations
    spec = {"replicas": replicas, "selector": {"matchLabels": match}, "strategy": {"type": strategy},
            "template": template}
    return kube.obj("apps/v1", "Deployment", name, address, {"spec": spec}, **match)


def service(kube: KubeTarget, name: str, app: str, port: int, *, address: str) -> dict[str, Any]:
    """A ClusterIP Service in front of the pods of ``app`` (port name ``http``)."""
    match = lbl.selector(kube.ctx, app)
    spec = {"ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": "http"}],
            "selector": match, "type": "ClusterIP"}
    return kube.obj("v1", "Service", name, address, {"spec": spec}, **match)
