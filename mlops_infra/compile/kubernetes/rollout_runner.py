"""The rollout runner on Kubernetes: a CronJob making one reconcile pass a minute, with no terminal.

Only namespaces with an endpoint whose rollout is staged (``canary``, ``blue_green``: the endpoints in
``graph.rollouts``) get it; every object is ``mlops-rollout-runner`` under the platform:

- **ConfigMap**: mlops-infra's own rollout modules (:data:`rollout_code.KUBERNETES`: the same reconcile,
  fleet pass, KServe driver and Prometheus gates as ``mlops-infra rollout``, read as text, never
  imported here) and ``rollouts.json``, the runner's document (namespace, Prometheus URL, each
  endpoint's rollout plan). Keys cannot hold ``/`` (ConfigMap keys are ``[-._a-zA-Z0-9]+``), so each
  file is stored under its path with ``/`` spelled ``--`` and the volume's ``items`` put it back at its
  path (``ConfigMapVolumeSource.items``: "the key to project" -> "the relative path of the file").
- **ServiceAccount** (token mounted: the runner calls the API) bound by a **RoleBinding** to a **Role**
  allowing exactly ``get`` and ``patch`` on ``inferenceservices.serving.kserve.io`` named after the
  rolled-out endpoints (``resourceNames``; RBAC "Referring to resources": get and patch name one
  object, so they can be restricted by name, https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources).
  That is every request the KServe driver makes (``drivers/kserve.py``); no ``list`` is needed.
- **CronJob** (``batch/v1``): ``* * * * *`` (every minute, the finest a CronJob schedule expresses),
  UTC, ``concurrencyPolicy: Forbid`` (a pass still running skips the tick; two at once would be safe
  anyway: a ``resourceVersion`` conflict makes one of them do nothing), ``backoffLimit: 0`` and
  ``activeDeadlineSeconds: 300`` (the next tick is the retry). It runs ``python -m
  mlops_infra.rollout.scheduled`` in the stock Python image (``images.PYTHON``), which has no
  ``kubernetes`` package: the runner reaches the API with the pod's service account through the
  standard library (``ServiceAccountKube`` in ``rollout/scheduled.py``), in the "restricted" security
  context of every mlops-infra helper.
- Prometheus: gated rollouts read their alerts from :data:`PROMETHEUS_URL` (the ``prometheus-operated``
  Service the Prometheus operator creates for a Prometheus in namespace ``monitoring``, as
  kube-prometheus-stack installs it), unless the platform team's optional ConfigMap
  ``mlops-rollout-settings`` has a ``prometheusUrl`` key (then ``MLOPS_PROMETHEUS_URL`` wins). Alerts
  that cannot be read hold the rollout, then roll it back: never advance blind.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import rollout_code
from mlops_infra.compile.kubernetes import images
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.objects import KubeTarget

NAME = "mlops-rollout-runner"
ADDRESS = "platform"
SETTINGS = "mlops-rollout-settings"
"""ConfigMap the platform team may create (never mlops-infra) to point the runner at its Prometheus."""
PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
MOUNT = "/opt/mlops-infra-rollout"
SCHEDULE = "* * * * *"
RBAC = "rbac.authorization.k8s.io/v1"


def key(path: str) -> str:
    """The ConfigMap key of a shipped file (``/`` is not allowed in a key)."""
    return path.replace("/", "--")


def document(kube: KubeTarget) -> dict[str, Any]:
    rollouts = kube.ctx.builder.rollouts
    return {"target": "kubernetes", "namespace": kube.namespace, "prometheusUrl": PROMETHEUS_URL,
            "rollouts": [{"address": address, "plan": rollouts[address]} for address in sorted(rollouts)]}


def role_rules(kube: KubeTarget) -> list[dict[str, Any]]:
    """Exactly get and patch on the InferenceServices being rolled out (see the module contract)."""
    endpoints = sorted(address.split(".", 1)[1] for address in kube.ctx.builder.rollouts)
    return [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "resourceNames": endpoints,
             "verbs": ["get", "patch"]}]


def cronjob(kube: KubeTarget, paths: list[str]) -> dict[str, Any]:
    container = wl.helper_container(
        "runner", images.PYTHON, command=["python", "-m", "mlops_infra.rollout.scheduled",
                                          f"{MOUNT}/{rollout_code.DOCUMENT}"],
        env=[{"name": "PYTHONPATH", "value": MOUNT},
             {"name": "MLOPS_PROMETHEUS_URL", "valueFrom": {"configMapKeyRef": {
                 "key": "prometheusUrl", "name": SETTINGS, "optional": True}}}],
        mounts=[{"mountPath": MOUNT, "name": "code", "readOnly": True}])
    volume = {"configMap": {"items": [{"key": key(p), "path": p} for p in paths], "name": NAME}, "name": "code"}
    pod = wl.pod_spec(NAME, [container], automount=True, restart_policy="Never", volumes=[volume])
    pod_labels = lbl.labels(kube.ctx, ADDRESS)
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": pod_labels},
                            "spec": {"activeDeadlineSeconds": 300, "backoffLimit": 0,
                                     "template": {"metadata": {"labels": pod_labels}, "spec": pod}}},
            "schedule": SCHEDULE, "startingDeadlineSeconds": 60, "successfulJobsHistoryLimit": 1,
            "suspend": False, "timeZone": "Etc/UTC"}
    return kube.obj("batch/v1", "CronJob", NAME, ADDRESS, {"spec": spec})


def compile_rollout_runner(kube: KubeTarget) -> None:
    """The runner's ConfigMap, ServiceAccount, Role, RoleBinding and CronJob (nothing without a rollout)."""
    if not kube.ctx.builder.rollouts:
        return
    shipped = dict(rollout_code.files(rollout_code.KUBERNETES))
    shipped[rollout_code.DOCUMENT] = rollout_code.document_text(document(kube))
    paths = sorted(shipped)
    add = lambda obj, role, deps=(): kube.add(obj, parent=kube.platform, address=ADDRESS, role=role,  # noqa: E731
                                              depends_on=deps)
    code = add(kube.obj("v1", "ConfigMap", NAME, ADDRESS, {"data": {key(p): shipped[p] for p in paths}}),
               "rollout-runner-code")
    account = add(kube.obj("v1", "ServiceAccount", NAME, ADDRESS, {"automountServiceAccountToken": True}),
                  "rollout-runner-service-account")
    role = add(kube.obj(RBAC, "Role", NAME, ADDRESS, {"rules": role_rules(kube)}), "rollout-runner-role")
    binding = add(kube.obj(RBAC, "RoleBinding", NAME, ADDRESS, {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": kube.namespace}]}),
        "rollout-runner-role-binding", [account, role])
    add(cronjob(kube, paths), "rollout-runner", [code, binding])
