"""The model registry on Kubernetes: an MLflow tracking server + model registry per system.

Contract:
- Platform part (when the system has models): PVC ``mlops-mlflow`` (10 GiB, protected: it holds
  the registry), Deployment and Service ``mlops-mlflow`` on port 5000 running the pinned official
  image with a SQLite backend store and proxied artifact storage on that volume. This is
  *dev-grade*: one replica (``Recreate``), no authentication, SQLite. A production registry uses
  PostgreSQL and an S3 artifact store, which needs an image with psycopg2 and boto3.
- Per model: a Job ``register-<model>-<hash>`` (under the model's component) that makes the
  registered model exist with tags ``mlops-infra.framework`` and ``mlops-infra.approval``. The
  name carries a hash of what it does, so a change is a new Job (Jobs are immutable), and an
  unchanged model is a no-op. The Job carries ``pulumi.com/replaceUnready: "true"``: its provider
  replaces a Job that is not ready instead of waiting on it again (pulumi-kubernetes
  ``provider/pkg/provider/provider.go`` ``Diff``: ``if metadata.ReplaceUnready(newInputs)``, ``case
  newInputs.GetKind() == "Job"``: ``if !jobChecker.Ready(job)`` it adds a replace key), so a
  registration that ended ``Failed`` (MLflow unreachable through its retries: the wait fails at once
  with ``[BackoffLimitExceeded]``, ``await/checker/job/check.go`` ``collectJobConditionErrors``) runs
  again at the next apply, which the plan shows (``plan/init_errors.py``), instead of failing every
  apply until someone deletes it. A Job that completed is ready and stays.
- Versions are not compiled: runs register them. A version a run of this system registers has the
  ``source`` ``s3://<models bucket>/<model>/<version>/`` (see storage.py); endpoints serve a version's
  ``source`` (or the location MLflow gives for a ``models:/`` source) when KServe downloads it, else
  the layout (``artifacts.py`` ``storage_uri``).
- The registration Job sets the model's ``description`` on an existing registered model too
  (``scripts/register_model.py``), so a description edit, which changes the Job's hash, changes MLflow's.
"""

from __future__ import annotations

from mlops_infra.compile import facts
from mlops_infra.compile.kubernetes import images, names, scripts
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.objects import KubeTarget, env
from mlops_infra.compile.kubernetes.rbac import compile_service_account
from mlops_infra.compile.naming import short_hash
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec.registry import Model

ADDRESS = "platform"
APP = "mlflow"
DATA_MOUNT = "/mlflow"
STORAGE = "10Gi"
REPLACE_UNREADY = {"pulumi.com/replaceUnready": "true"}
"""pulumi-kubernetes ``provider/pkg/metadata/annotations.go`` ``AnnotationReplaceUnready``, true only as
the string ``"true"`` (``IsAnnotationTrue``)."""


def tracking_uri(kube: KubeTarget) -> str:
    return names.service_url(kube.ctx, names.REGISTRY, names.REGISTRY_PORT)


PORT_FORWARD_HOSTS = ("localhost:*", "127.0.0.1:*", "[[]::1]:*")
"""The Host headers of a client at the end of ``kubectl port-forward svc/mlops-mlflow 5000`` (a TCP tunnel:
the client's ``Host`` stays the address it dialled), as ``--allowed-hosts`` patterns. MLflow 3.14 matches a
pattern with a ``*`` by ``fnmatch`` (``server/security_utils.py`` ``is_allowed_host_header``), where ``[`` opens
a character class, so IPv6 loopback is written ``[[]::1]:*``, MLflow's own escaped form
(``get_default_allowed_hosts``). ``--allowed-hosts`` replaces MLflow's default list, which holds these
(``server/security.py`` ``get_allowed_hosts``: ``get_allowed_hosts_from_env() or get_default_allowed_hosts()``),
so they are listed again: the documented ``--mlflow ENV=http://127.0.0.1:5000`` (docs/promote.md) and
``MLFLOW_TRACKING_URI`` of ``plan --refresh`` reach the registry (registry-4)."""


def server_args(kube: KubeTarget) -> list[str]:
    """The MLflow server's command: SQLite store and proxied artifacts on the volume; ``--allowed-hosts``
    (MLflow 3's DNS-rebinding check, answered 403 "Invalid Host header") the Service's in-cluster names,
    with and without the port, and :data:`PORT_FORWARD_HOSTS`."""
    host = names.service_host(kube.ctx, names.REGISTRY)
    short = f"{names.REGISTRY}.{kube.namespace}"
    allowed = ",".join(f"{h},{h}:{names.REGISTRY_PORT}" for h in (names.REGISTRY, short, f"{short}.svc", host))
    return ["mlflow", "server", "--host", "0.0.0.0", "--port", str(names.REGISTRY_PORT),
            "--backend-store-uri", f"sqlite:///{DATA_MOUNT}/mlflow.db",
            "--artifacts-destination", f"{DATA_MOUNT}/artifacts", "--serve-artifacts",
            "--allowed-hosts", ",".join((allowed, *PORT_FORWARD_HOSTS))]


def compile_registry(kube: KubeTarget) -> None:
    """PVC, Deployment and Service of the MLflow server (platform component)."""
    account = compile_service_account(kube, "registry")
    pvc = kube.obj("v1", "PersistentVolumeClaim", names.REGISTRY, ADDRESS,
                   {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": STORAGE}}}})
    claim = kube.add(pvc, parent=kube.platform, address=ADDRESS, role="registry-volume",
                     options=ResourceOptions(protect=True))
    container = wl.helper_container(
        "mlflow", images.MLFLOW, command=server_args(kube), port=names.REGISTRY_PORT,
        env=[{"name": "HOME", "value": "/tmp"}], mounts=[{"mountPath": DATA_MOUNT, "name": "data"}],
        resources={"limits": {"memory": "2Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}})
    # The probe names an allowed host: with --allowed-hosts set, a pod-IP Host header is refused.
    container["readinessProbe"] = {"httpGet": {"httpHeaders": [{"name": "Host", "value": "localhost"}],
                                               "path": "/health", "port": "http"}, "periodSeconds": 10}
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["registry"], [container],
                      volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": names.REGISTRY}}])
    deployment = kube.add(wl.deployment(kube, names.REGISTRY, APP, pod, address=ADDRESS, strategy="Recreate"),
                          parent=kube.platform, address=ADDRESS, role="registry-server", depends_on=[account, claim])
    kube.shared["registry"] = kube.add(wl.service(kube, names.REGISTRY, APP, names.REGISTRY_PORT, address=ADDRESS),
                                       parent=kube.platform, address=ADDRESS, role="registry-service",
                                       depends_on=[deployment])


def registration_job(kube: KubeTarget, model: Model, address: str) -> dict:
    values = {"MLFLOW_TRACKING_URI": tracking_uri(kube), "MODEL_APPROVAL": model.approval,
              "MODEL_DESCRIPTION": model.description or "", "MODEL_FRAMEWORK": model.framework,
              "MODEL_NAME": model.name}
    digest = short_hash({"env": values, "image": images.MLFLOW, "script": scripts.source("register_model.py")})
    container = wl.helper_container("register", images.MLFLOW, command=["python", f"{scripts.MOUNT}/register_model.py"],
                                    env=[{"name": "HOME", "value": "/tmp"}, *env(values)], mounts=[wl.SCRIPTS_MOUNT])
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["registry"], [container], volumes=[wl.SCRIPTS_VOLUME],
                      restart_policy="Never")
    spec = {"backoffLimit": 4, "template": {"spec": pod}}
    return kube.obj("batch/v1", "Job", names.hashed("register", model.name, digest), address, {"spec": spec},
                    annotations=REPLACE_UNREADY)


def compile_model(kube: KubeTarget, model: Model) -> None:
    """The model's component and the Job that registers it in MLflow."""
    address = f"models.{model.name}"
    parent = kube.ctx.component("models", model.name, facts.model_facts(model))
    kube.add(registration_job(kube, model, address), parent=parent, address=address, role="registration",
             depends_on=kube.needs("registry", "scripts", "service-account/registry"), options=_DELETE_FIRST)


_DELETE_FIRST = ResourceOptions(delete_before_replace=True)
"""The register Job's options. Its provider deletes a named Job first in any replace it asks for (pulumi-kubernetes
provider.go ``Diff``), but the replace apply forces for a Job holding ``initErrors`` (``pulumi up --replace``,
:func:`mlops_infra.plan.init_errors.forced`) asks no provider (pulumi/pulumi ``step_generator.go`` ``diff``:
``isTargetedReplace``) and would create a second Job under the same name first."""
