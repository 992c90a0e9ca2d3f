"""ServiceAccounts per workload kind, and the training launcher's Role.

Contract: each workload kind (training pods, training launcher, serving, registry, capture sink,
monitor jobs, pushgateway) gets its own ServiceAccount, created only when the system has such a
workload. None of them may call the Kubernetes API (``automountServiceAccountToken: false``)
except the training launcher, which is bound to a Role allowing exactly ``create``, ``delete``, ``get``
and ``list`` of ``pytorchjobs.kubeflow.org`` in the system's namespace: what starting a run needs, and
deleting a run Kueue never admitted (finding B7). Creating a PyTorchJob creates pods from its template,
so this is in effect the right to mount any Secret of the namespace and to run as any of its
ServiceAccounts (Kubernetes "RBAC Good Practices", "Workload creation"; docs/compile-kubernetes.md
section 4 says so to the user).
The serving account lists the object-store Secret so KServe's storage initializer can read
models from S3 (KServe's documented credential mechanism); the Secret itself is never created
here.
The one other account that calls the API, and so mounts a token, is the rollout runner's
(``mlops-rollout-runner``, compiled with its CronJob in ``rollout_runner.py``, whose ``role_rules`` it is
bound to): ``get`` and ``patch`` of the rolled-out InferenceServices and of their ``rollout-<endpoint>``
status ConfigMaps (both by ``resourceNames``), and ``get`` of ``revisions.serving.knative.dev`` (no
``resourceNames``: Knative names revisions at run time). Its ``patch`` on an InferenceService reaches
as far as the launcher's ``create`` (docs/compile-kubernetes.md section 4).
"""

from __future__ import annotations

from mlops_infra.compile.kubernetes import names
from mlops_infra.compile.kubernetes.objects import KubeTarget

ADDRESS = "platform"
LAUNCHER_RULES = [{"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"],
                   "verbs": ["create", "delete", "get", "list"]}]


def compile_service_account(kube: KubeTarget, kind: str) -> str:
    """The ServiceAccount of workload ``kind`` (a key of :data:`names.SERVICE_ACCOUNTS`)."""
    body: dict = {"automountServiceAccountToken": kind == "launcher"}
    if kind == "serving":
        body["secrets"] = [{"name": names.OBJECT_STORE_SECRET}]
    obj = kube.obj("v1", "ServiceAccount", names.SERVICE_ACCOUNTS[kind], ADDRESS, body)
    urn = kube.add(obj, parent=kube.platform, address=ADDRESS, role=f"service-account-{kind}")
    kube.shared[f"service-account/{kind}"] = urn
    return urn


def compile_launcher_rbac(kube: KubeTarget) -> None:
    """Role + RoleBinding letting the launcher account start training runs in the namespace."""
    account = compile_service_account(kube, "launcher")
    role = kube.add(kube.obj("rbac.authorization.k8s.io/v1", "Role", names.LAUNCHER_ROLE, ADDRESS,
                             {"rules": LAUNCHER_RULES}),
                    parent=kube.platform, address=ADDRESS, role="launcher-role")
    binding = {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.LAUNCHER_ROLE},
               "subjects": [{"kind": "ServiceAccount", "name": names.SERVICE_ACCOUNTS["launcher"],
                             "namespace": kube.namespace}]}
    kube.shared["launcher-binding"] = kube.add(
        kube.obj("rbac.authorization.k8s.io/v1", "RoleBinding", names.LAUNCHER_ROLE, ADDRESS, binding),
        parent=kube.platform, address=ADDRESS, role="launcher-role-binding", depends_on=[account, role])
