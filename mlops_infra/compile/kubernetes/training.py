"""Training jobs: a stored PyTorchJob template, launched by a CronJob or by alerts; never at apply.

A PyTorchJob is a *run*: creating one at apply time would start training on every apply that
touches it. So this target stores the run template and compiles what starts runs:

- ``train-<job>`` ConfigMap: ``pytorchjob.json``, a complete ``kubeflow.org/v1`` PyTorchJob
  (Kubeflow training-operator v1.9, the most widely deployed job API; Trainer v2's TrainJob needs a
  ClusterTrainingRuntime installed first) with ``metadata.generateName``. ``nodes`` become one
  Master and ``nodes - 1`` Workers, one pod per node owning all its GPUs (``nvidia.com/gpu`` as a
  string), ``nprocPerNode`` = GPUs per node only for a torchrun command (:func:`nproc_per_node`), the
  cluster's node selector and GPU toleration, the
  label ``kueue.x-k8s.io/queue-name: <cluster>`` so Kueue admits it against the cluster's quota,
  and ``runPolicy.activeDeadlineSeconds`` from ``max_runtime``. The container (named ``pytorch``, as
  the operator requires) gets its inputs, outputs, hyperparameters, the MLflow tracking URI and
  where to write the model it registers as environment variables (see :func:`run_env`), and a
  checkpoint location off its writable layer (:func:`checkpoint_env`, audit k8strain-4).
- ``train-<job>`` CronJob (``batch/v1``, UTC): at ``triggers.schedule`` it runs the launcher,
  which creates one run from the template unless one is still active. A run Kueue has not admitted
  (still suspended) after :func:`admission_timeout_seconds` is not active: the launcher deletes it
  and starts a new one (finding B7). A job without a schedule
  gets a *suspended* CronJob, so manual runs are ``kubectl create job --from=cronjob/train-<job>``.
- ``training_failed_<job>``: a PrometheusRule ``training-failed-<job>`` firing when a run or its launcher
  failed, told to the job's ``notify`` and ``on_alerts`` channels (``alerting.training_failure_rule``;
  none when nobody would be told).
- ``triggers.on_alerts``: an AlertmanagerConfig ``retrain-<job>`` routes those alerts to the
  platform's ``mlops-retrain-trigger`` webhook, which starts a run the same way: never while a run
  is active, and at most one per firing (an alert's ``fingerprint`` + ``startsAt``): Alertmanager's
  repeat of a still-firing alert (``repeatInterval`` 24h) starts nothing once a run served that
  firing (``scripts/launcher.py``, "One run per firing"; audit triggers#2).
  Which alerts may start which job (the routes) is the ``routes.json`` of the
  ``mlops-retrain-trigger-routes`` ConfigMap, a file of the webhook's pod (``--routes-file``), not a
  command-line argument: Linux takes at most ``MAX_ARG_STRLEN`` = 32 pages (131,072 bytes) per
  argument (``include/uapi/linux/binfmts.h``; a longer one fails the exec with E2BIG and the pod never
  starts), which the routes passed at about 5,850 endpoints retraining on their drift alerts (audit
  finding L8). A pod-template annotation holds the routes' hash, so changed routes roll the pod (the
  webhook reads the file once, at start).
- The webhook's bearer token (finding C5) is the key ``value`` of the Secret
  ``mlops-retrain-trigger-token``, which the platform team creates in the namespace, so it cannot
  exist before the first apply that creates the namespace (audit firstapply-1). It is a file of an
  ``optional: true`` secret volume (``--token-file``), never a required ``secretKeyRef``: a required
  reference to a missing Secret fails the container with CreateContainerConfigError (core/v1
  ``SecretKeySelector.optional``; ``plan/secret_refs.py``), so the Deployment never became Available
  and pulumi-kubernetes failed the apply after its 10 minute wait (provider/pkg/await/deployment.go,
  ``DefaultDeploymentTimeoutMins``). An optional secret volume mounts empty while the Secret or its
  key is missing (core/v1 ``SecretVolumeSource.optional``: "Specify whether the Secret or its keys
  must be defined"), and the kubelet fills it once the Secret exists and on every change ("Secrets",
  https://kubernetes.io/docs/concepts/configuration/secret/, "Mounted Secrets are updated
  automatically": "Kubernetes tracks this and updates the data in the volume, using an
  eventually-consistent approach"; not for ``subPath`` mounts, so the whole volume is mounted). The
  webhook reads the file on every request and answers 503 while it is absent or empty (fail closed),
  so it starts accepting without a restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mlops_infra.compile import container_env, facts
from mlops_infra.compile.kubernetes import images, ingress, names, queues, registry, routing, scripts
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.alerting import (
    ALERTMANAGER_CONFIG,
    LAUNCHER_DEADLINE_SECONDS,
    TRAINING_JOB_LABEL,
    compile_training_failure_rule,
)
from mlops_infra.compile.kubernetes.objects import KubeTarget, env, object_store_env_from
from mlops_infra.compile.kubernetes.rbac import compile_launcher_rbac, compile_service_account
from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import canonical_json
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.cron import kubernetes_schedule
from mlops_infra.spec.fit import training_fit
from mlops_infra.spec.processes import launches_torchrun
from mlops_infra.spec.training import TrainingJob

JOB_LABEL = TRAINING_JOB_LABEL
PYTORCHJOB_API = "kubeflow.org/v1"
"""The API version of the PyTorchJob the launcher creates from its template (the CRD must serve it)."""
TEMPLATE_KEY = "pytorchjob.json"
TEMPLATE_MOUNT = "/etc/mlops-infra/template"
TEMPLATES_MOUNT = "/etc/mlops-infra/templates"
ROUTES_CONFIG = f"{names.RETRAIN_TRIGGER}-routes"
ROUTES_KEY = "routes.json"
ROUTES_MOUNT = "/etc/mlops-infra/routes"
ROUTES_HASH = "mlops-infra/routes-hash"
"""The retrain trigger's routes: ConfigMap, key, mount and the pod-template annotation of their hash."""
TOKEN_MOUNT = "/etc/mlops-infra/trigger-token"
TOKEN_FILE = "token"
"""Where the retrain trigger's pod finds its bearer token (an optional secret volume; module docstring)."""
MANUAL_SCHEDULE = "0 0 1 1 *"
"""Schedule of the suspended CronJob of a job without a schedule (never fires while suspended)."""
LAUNCHER_STARTING_DEADLINE_SECONDS = 300
"""``startingDeadlineSeconds`` of the launcher CronJob: how late after a slot the controller may still
start it (audit k8strain-3). The CronJob controller starts the most recent slot after ``earliestTime``,
which is the CronJob's ``status.lastScheduleTime`` (else its ``creationTimestamp``) raised to
``now - startingDeadlineSeconds`` (kubernetes ``pkg/controller/cronjob/utils.go``
``mostRecentScheduleTime``; "Cron Job Limitations",
https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#cron-job-limitations: "the
controller counts how many missed jobs occurred from the value of startingDeadlineSeconds until now").
A suspended CronJob records no ``lastScheduleTime``, so an apply that gives a months-old manual job a
schedule (``suspend`` false), or edits a schedule, starts the newest slot of the new schedule that fell
within the deadline at once: with 3600 s a training run of up to 12 h started at apply whenever a slot
was less than an hour old. 300 s bounds that to an apply within 5 minutes after a slot (the remaining
window, docs/compile-kubernetes.md 3.3) while leaving the controller, which requeues each CronJob for
its next slot (``cronjob_controllerv2.go``), minutes to start a slot late after a restart or leader
election; more than the 10 s below which "the CronJob may not be scheduled" (the same page)."""


def run_env(kube: KubeTarget, job: TrainingJob) -> dict[str, str]:
    """Environment of the training container: where data is, where the model goes, what to log to, and
    the job's precision and sharding (:func:`container_env.parallelism`; the training operator gives
    torchrun its nodes and master)."""
    ctx = kube.ctx
    values = {"MLOPS_SYSTEM": ctx.system.metadata.name, "MLOPS_ENVIRONMENT": ctx.env, "MLOPS_TRAINING_JOB": job.name,
              "MLOPS_HYPERPARAMETERS": canonical_json(dict(job.hyperparameters)), **container_env.parallelism(job)}
    for prefix, sources in ((container_env.INPUT, job.inputs), (container_env.OUTPUT, job.outputs)):
        values.update(container_env.data_source_uris(prefix, sources, lambda source: names.data_bucket(ctx, source)))
    if ctx.system.models:
        values["MLFLOW_TRACKING_URI"] = registry.tracking_uri(kube)
        values["MLFLOW_EXPERIMENT_NAME"] = f"{ctx.system.metadata.name}/{job.name}"
    if job.registers:
        model = ctx.system.item("models", job.registers)
        values["MLOPS_REGISTERS_MODEL"] = job.registers
        values["MLOPS_MODEL_URI_PREFIX"] = f"s3://{names.models_bucket(ctx)}/{job.registers}/"
        values["MLOPS_MODEL_APPROVAL"] = model.approval if model else "manual"
    return values


CHECKPOINT_MOUNT = "/var/run/mlops/checkpoints"
"""Where the training container's ``MLOPS_CHECKPOINT_DIR`` is: an ``emptyDir`` volume (:func:`checkpoint_env`)."""
RUN_NAME_ENV = "MLOPS_RUN_NAME"
RUN_NAME_LABEL = "training.kubeflow.org/job-name"
"""The label the training operator puts on every pod of a run, with the PyTorchJob's name
(kubeflow/training-operator v1.9.0 ``pkg/controller.v1/common/job_controller.go`` ``GenLabels``, set on the
pod by ``pkg/controller.v1/common/pod.go`` ``createNewPod``; ``JobNameLabel``, ``common_types.go``)."""
CHECKPOINTS_PREFIX = "_checkpoints"
"""Folder of the models bucket holding run checkpoints, ``_checkpoints/<job>/<run>/``: no model's folder
(an item name starts with a letter or digit, spec ``NAME_PATTERN``)."""


def checkpoint_env(kube: KubeTarget, job: TrainingJob) -> list[dict[str, Any]]:
    """Where a run checkpoints (audit k8strain-4): ``MLOPS_CHECKPOINT_DIR`` on an ``emptyDir`` volume, and,
    for a job that registers a model (so the models bucket is its store), ``MLOPS_CHECKPOINT_URI`` =
    ``s3://<models bucket>/_checkpoints/<job>/<run>/``, which the example runtime syncs
    (``examples/runtime/mlops_entry/checkpoints.py``).

    What survives: an ``emptyDir`` "is initially empty" and "A container crashing does not remove a Pod
    from a node. The data in an emptyDir volume is safe across container crashes"; "When a Pod is removed
    from a node for any reason, the data in the emptyDir is deleted permanently" (Kubernetes "Volumes",
    emptyDir). So a container restarted in place (``restartPolicy: OnFailure``) resumes from the volume;
    a pod recreated after its spot node is reclaimed (the operator makes a new pod for the missing index,
    ``pkg/controller.v1/common/pod.go`` ``ReconcilePods``) starts with an empty one and resumes only from
    the URI. The URI is per run: ``<run>`` is the PyTorchJob's name, read by the downward API from the
    pod's label :data:`RUN_NAME_LABEL` (core/v1 ``ObjectFieldSelector``: ``metadata.labels['<KEY>']``),
    and ``$(MLOPS_RUN_NAME)`` in a later variable's value is expanded from it ("Define Dependent
    Environment Variables": a reference to a variable defined earlier in the list), so it comes first;
    a new run starts fresh, a recreated pod of the same run resumes."""
    out: list[dict[str, Any]] = [{"name": "MLOPS_CHECKPOINT_DIR", "value": CHECKPOINT_MOUNT}]
    if job.registers:
        uri = f"s3://{names.models_bucket(kube.ctx)}/{CHECKPOINTS_PREFIX}/{job.name}/$({RUN_NAME_ENV})/"
        out = [{"name": RUN_NAME_ENV, "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{RUN_NAME_LABEL}']"}}},
               *out, {"name": "MLOPS_CHECKPOINT_URI", "value": uri}]
    return out


INIT_PYTORCH: dict[str, Any] = {"name": "init-pytorch", "resources": {"limits": {"cpu": "100m", "memory": "20Mi"},
                                                                    "requests": {"cpu": "50m", "memory": "10Mi"}}}
"""The init container the training operator adds to every Worker pod of a run whose template has a Master, as its
default template has it: these resources and no ``securityContext`` (kubeflow/training-operator v1.9
``pkg/controller.v1/pytorch/initcontainer.go``: ``initContainerTemplate``; ``setInitContainer``: "Set the init container
only if the master is specified and the current rtype is worker"). The operator's
``--pytorch-init-container-template-file`` replaces the template (``getInitContainerTemplateOrDefault``). Not in the
compiled template: the LimitRange check (``plan/namespace_quotas.py``, audit k8srbac-2) and the Pod Security check
(``kube/pod_security.py``, k8srbac-1) read the pods through :func:`run_pod_specs`, which adds it."""


def run_pod_specs(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], dict[str, Any]]]:
    """(replica type, its replica spec, the pod spec the training operator creates for it) of each replica type of
    a stored PyTorchJob ``template`` (:data:`TEMPLATE_KEY`), in order of type: a Worker's pod of a run with a Master
    gets :data:`INIT_PYTORCH` as its last init container (``setInitContainer``, cited there). The pod spec shares
    its values with ``template``: a caller that changes it copies it first."""
    replicas = (template.get("spec") or {}).get("pytorchReplicaSpecs") or {}
    for role, replica in sorted(replicas.items()):
        replica = replica or {}
        spec = (replica.get("template") or {}).get("spec") or {}
        if role == "Worker" and "Master" in replicas:
            spec = {**spec, "initContainers": [*(spec.get("initContainers") or []), INIT_PYTORCH]}
        yield role, replica, spec
ROOT_ALLOWED_SECURITY: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                         "seccompProfile": {"type": "RuntimeDefault"}}
"""The ``securityContext`` of the containers that run the user's image: the training container ``pytorch`` and an
endpoint's ``kserve-container`` (``compile/kubernetes/serving.py``; audit k8srbac-1). Three of the checks of the Pod
Security Standard "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/, "Restricted";
``k8s.io/pod-security-admission/policy``): "Privilege Escalation" (``check_allowPrivilegeEscalation.go``: each
container must set ``allowPrivilegeEscalation: false``, no pod-level fallback), "Capabilities"
(``check_capabilities_restricted.go``: each container's ``capabilities.drop`` must include ``ALL``; ``add`` only
``NET_BIND_SERVICE``) and "Seccomp" (``check_seccompProfile_restricted.go``: ``RuntimeDefault`` or ``Localhost``, on the
container or the pod). Knative's ``secure-pod-defaults: root-allowed`` level sets exactly these three because they
let root images run ("Applies security defaults (blocks privilege escalation, runtime-default seccomp, drops
capabilities) but allows root containers": knative docs ``serving/app-security/secure-pod-defaults.md``;
knative/serving ``pkg/apis/serving/v1/revision_defaults.go`` ``defaultSecurityContext``), and KServe's own
ServingRuntimes carry the first two (kserve ``config/runtimes/kserve-*.yaml``). What they break: an image whose
entrypoint needs a setuid binary (``sudo``, ``su``) or a capability (``chown`` of files it does not own, ``gosu`` to
switch users) fails at start; a root process still writes what root owns and the ``emptyDir`` volumes.

Left out: ``runAsNonRoot: true`` (check "Running as Non-root", ``check_runAsNonRoot.go``). With it the kubelet
refuses to start a container whose image runs as uid 0 or names its user by name ("container has runAsNonRoot and
image will run as root"; core/v1 ``SecurityContext.runAsNonRoot``: "the Kubelet will validate the image at runtime
to ensure that it does not run as UID 0 (root) and fail to start the container if it does"), and the common
training images run as root (the spec's ``image`` is the user's; no spec field says it runs as another user). So a
namespace that enforces "restricted" still refuses these pods on that one check, and ``plan --refresh`` says so
before apply (``mlops_infra/kube/pod_security.py``). An endpoint's ``predictor.model`` container gets
``runAsNonRoot: true`` from KServe's shipped ClusterServingRuntimes (``config/runtimes/kserve-*.yaml``, merged into
it key by key by ``MergeRuntimeContainers``' strategic merge), a custom predictor's container does not."""


def pod_template(kube: KubeTarget, job: TrainingJob, cluster: Cluster) -> dict[str, Any]:
    """A run's pod (Master and Workers alike): the job's image as container ``pytorch`` with
    :data:`ROOT_ALLOWED_SECURITY`, and a pod-level ``seccompProfile: RuntimeDefault``, which also covers the
    operator's ``init-pytorch`` init container on Worker pods (the seccomp check accepts the pod's value for a
    container that sets none; its other restricted checks need the operator's
    ``--pytorch-init-container-template-file``: ``mlops_infra/kube/pod_security.py``)."""
    node = queues.shape(cluster)
    resources: dict[str, Any] = {"requests": node.pod_requests()}
    if node.gpus:
        resources["limits"] = node.gpu_limits()
    checkpoints = checkpoint_env(kube, job)  # the run's name first: later values refer to it
    values = [e for e in env(run_env(kube, job)) if e["name"] not in {c["name"] for c in checkpoints}]
    container = {"name": "pytorch", "image": job.image, "env": [checkpoints[0], *sorted(
                     [*values, *checkpoints[1:]], key=lambda e: e["name"])],
                 "envFrom": [{"configMapRef": {"name": names.OBJECT_STORE_CONFIG}}, *object_store_env_from()],
                 "resources": resources, "securityContext": json.loads(json.dumps(ROOT_ALLOWED_SECURITY)),
                 "volumeMounts": [{"mountPath": "/dev/shm", "name": "dshm"},
                                                          {"mountPath": CHECKPOINT_MOUNT, "name": "checkpoints"}]}
    if job.command:
        container["command"] = list(job.command)
    if job.args:
        container["args"] = list(job.args)
    spec: dict[str, Any] = {"automountServiceAccountToken": False, "containers": [container],
                            "nodeSelector": node.node_selector(spot=cluster.spot),
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                            "serviceAccountName": names.SERVICE_ACCOUNTS["training"],
                            "volumes": [{"emptyDir": {"medium": "Memory"}, "name": "dshm"},
                                        {"emptyDir": {}, "name": "checkpoints"}]}
    if node.tolerations():
        spec["tolerations"] = node.tolerations()
    return {"metadata": {"labels": {JOB_LABEL: job.name}}, "spec": spec}


ADMISSION_TIMEOUT_ANNOTATION = "mlops-infra/admission-timeout-seconds"
DEFAULT_ADMISSION_TIMEOUT_SECONDS = 86400


def admission_timeout_seconds(job: TrainingJob) -> int:
    """How long a run may wait for Kueue's admission before the launcher expires it (finding B7):
    as long as one run may take (``max_runtime``), else a day. A run still suspended after that no
    longer counts as active, so the schedule and the alert trigger start runs again."""
    return job.max_runtime.seconds if job.max_runtime else DEFAULT_ADMISSION_TIMEOUT_SECONDS


RUN_NAME_PREFIX_MAX = 40
"""A run's name is this prefix + ``-`` + the launcher's 10 hex digits (at most 51 characters), so the
Services the training-operator names ``<run>-<replica type>-<index>`` (``-worker-<n>``) still fit 63."""


def run_prefix(job: TrainingJob) -> str:
    """The ``generateName`` of the job's runs: the job's name, or ``run-<job>`` when the job's name
    does not start with a letter (at most :data:`RUN_NAME_PREFIX_MAX` characters).

    A PyTorchJob's name must be a DNS-1035 label, ``[a-z]([-a-z0-9]*[a-z0-9])?``: the
    training-operator's validating webhook refuses every other create (kubeflow/training-operator
    ``pkg/webhooks/pytorch/pytorchjob_webhook.go`` ``validatePyTorchJob``:
    ``apimachineryvalidation.NameIsDNS1035Label``; ``failurePolicy=fail``), and the Services it makes
    for the replicas, ``<run>-master-0``, must be DNS-1035 labels too (kubernetes
    ``pkg/apis/core/validation/validation.go`` ``ValidateService``: ``ValidateServiceName`` =
    ``NameIsDNS1035Label``). An item name may start with a digit (spec ``NAME_PATTERN``), so a job
    named ``7day-retrain`` could never start a run (audit triggers#1). The run's name is ours to
    choose (runs are found by the ``mlops-infra/training-job`` label, not by name), so the prefix
    gets a letter instead of the spec refusing the name."""
    name = job.name if job.name[:1].isalpha() else f"run-{job.name}"
    return physical_name(name, max_len=RUN_NAME_PREFIX_MAX)


def nproc_per_node(job: TrainingJob, gpus: int) -> str | None:
    """``spec.nprocPerNode`` of the job's runs: the node's GPUs for a torchrun command, else None (left
    out, so the operator defaults it to ``auto``).

    The operator sets every pod's ``WORLD_SIZE`` to replicas x nprocPerNode, reading 1 for ``auto``
    (kubeflow/training-operator v1.9.0 ``pkg/controller.v1/pytorch/envvar.go`` lines 62-64 and 132-140;
    ``pytorch_defaults.go`` ``DefaultNprocPerNode = "auto"``). torchrun replaces ``RANK``/``WORLD_SIZE``
    for the processes it starts, so it may be told the GPUs; a one-process-per-pod command
    (``python -m fraud.train``) reads them as they are and, told pods x GPUs, waits in
    ``init_process_group`` for ranks that never start (audit k8strain-1;
    :mod:`mlops_infra.spec.processes`)."""
    return str(gpus) if gpus and launches_torchrun(job.command) else None


def run_template(kube: KubeTarget, job: TrainingJob, cluster: Cluster) -> dict[str, Any]:
    """The PyTorchJob one run of ``job`` creates (``generateName``: each run is a new object)."""
    address = f"training_jobs.{job.name}"
    replica = {"replicas": 1, "restartPolicy": "OnFailure", "template": pod_template(kube, job, cluster)}
    replicas = {"Master": replica}
    if job.nodes > 1:
        replicas["Worker"] = {**replica, "replicas": job.nodes - 1}
    spec: dict[str, Any] = {"pytorchReplicaSpecs": replicas, "runPolicy": {"backoffLimit": 3}}
    nproc = nproc_per_node(job, queues.shape(cluster).gpus)
    if nproc:
        spec["nprocPerNode"] = nproc
    if job.max_runtime:
        spec["runPolicy"]["activeDeadlineSeconds"] = job.max_runtime.seconds
    metadata = {"generateName": f"{run_prefix(job)}-", "namespace": kube.namespace,
                "labels": lbl.labels(kube.ctx, address, **{queues.QUEUE_LABEL: queues.local_queue_name(cluster),
                                                           JOB_LABEL: job.name}),
                "annotations": {ADMISSION_TIMEOUT_ANNOTATION: str(admission_timeout_seconds(job))}}
    return {"apiVersion": PYTORCHJOB_API, "kind": "PyTorchJob", "metadata": metadata, "spec": spec}


def launcher_cronjob(kube: KubeTarget, job: TrainingJob, address: str) -> dict[str, Any]:
    name, template = names.cronjob("train", job.name), names.item("train", job.name)
    container = wl.helper_container(
        "launcher", images.PYTHON, env=[wl.NAMESPACE_ENV],
        command=["python", f"{scripts.MOUNT}/launcher.py", "launch", f"{TEMPLATE_MOUNT}/{TEMPLATE_KEY}",
                 "--reason", f"cronjob/{name}"],
        mounts=[wl.SCRIPTS_MOUNT, {"mountPath": TEMPLATE_MOUNT, "name": "template", "readOnly": True}])
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["launcher"], [container], automount=True, restart_policy="Never",
                      volumes=[wl.SCRIPTS_VOLUME, {"configMap": {"name": template}, "name": "template"}])
    pod_labels = lbl.labels(kube.ctx, address, **{JOB_LABEL: job.name})
    schedule = job.triggers.schedule
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": pod_labels},
                            "spec": {"activeDeadlineSeconds": LAUNCHER_DEADLINE_SECONDS, "backoffLimit": 3,
                                     "template": {"metadata": {"labels": pod_labels}, "spec": pod}}},
            "schedule": kubernetes_schedule(schedule.expression) if schedule else MANUAL_SCHEDULE, "startingDeadlineSeconds": LAUNCHER_STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": 3, "suspend": schedule is None, "timeZone": "Etc/UTC"}
    return kube.obj("batch/v1", "CronJob", name, address, {"spec": spec}, **{JOB_LABEL: job.name})


def retrain_route(kube: KubeTarget, job: TrainingJob) -> dict[str, Any]:
    """AlertmanagerConfig sending the job's ``on_alerts`` to the retrain trigger (routing.py)."""
    route = routing.retrain_route(kube.ctx, job)
    return kube.obj(ALERTMANAGER_CONFIG, "AlertmanagerConfig", route.config, route.address,
                    {"spec": routing.config_spec(route)})


def compile_training_job(kube: KubeTarget, job: TrainingJob) -> None:
    """The job's component, run template, launcher CronJob and (with on_alerts) alert route."""
    ctx = kube.ctx
    cluster = ctx.system.item("clusters", job.cluster)
    address = f"training_jobs.{job.name}"
    parent = ctx.component("training_jobs", job.name,
                           facts.training_job_facts(job, cluster, "kubernetes", fit=training_fit(ctx.system, job)))
    template = run_template(kube, job, cluster)
    config = kube.add(kube.obj("v1", "ConfigMap", names.item("train", job.name), address,
                               {"data": {TEMPLATE_KEY: json.dumps(template, indent=2, sort_keys=True) + "\n"}},
                               **{JOB_LABEL: job.name}),
                      parent=parent, address=address, role="run-template")
    kube.shared[f"run-template/{job.name}"] = config
    kube.add(launcher_cronjob(kube, job, address), parent=parent, address=address, role="launcher",
             depends_on=[config, *kube.needs("scripts", "launcher-binding")])
    if job.triggers.on_alerts:
        kube.add(retrain_route(kube, job), parent=parent, address=address, role="retrain-route")
    compile_training_failure_rule(kube, job, parent)


def compile_training_accounts(kube: KubeTarget) -> None:
    """Platform part: the training pods' account (no API access) and the launcher's RBAC."""
    compile_service_account(kube, "training")
    compile_launcher_rbac(kube)


def compile_retrain_trigger(kube: KubeTarget) -> None:
    """Platform part, after the jobs: the webhook Deployment + Service that starts runs on alerts,
    with its routes as a file (see the module docstring)."""
    jobs = [j for j in kube.ctx.system.training_jobs if j.triggers.on_alerts]
    routes = {j.name: sorted(j.triggers.on_alerts) for j in jobs}
    routes_text = canonical_json(routes)
    routes_config = kube.add(kube.obj("v1", "ConfigMap", ROUTES_CONFIG, "platform", {"data": {ROUTES_KEY: routes_text}}),
                             parent=kube.platform, address="platform", role="retrain-routes")
    sources = [{"configMap": {"items": [{"key": TEMPLATE_KEY, "path": f"{j.name}.json"}],
                              "name": names.item("train", j.name)}} for j in jobs]
    token = {"name": "trigger-token", "secret": {  # optional: the pod starts before the Secret exists (docstring)
        "items": [{"key": routing.DEFAULT_SECRET_KEY, "path": TOKEN_FILE}], "optional": True,
        "secretName": names.TRIGGER_TOKEN_SECRET}}
    container = wl.helper_container(
        "trigger", images.PYTHON, env=[wl.NAMESPACE_ENV], port=names.TRIGGER_PORT,
        command=["python", f"{scripts.MOUNT}/launcher.py", "serve", "--port", str(names.TRIGGER_PORT),
                 "--templates", TEMPLATES_MOUNT, "--routes-file", f"{ROUTES_MOUNT}/{ROUTES_KEY}",
                 "--token-file", f"{TOKEN_MOUNT}/{TOKEN_FILE}"],
        mounts=[wl.SCRIPTS_MOUNT, {"mountPath": ROUTES_MOUNT, "name": "routes", "readOnly": True},
                {"mountPath": TEMPLATES_MOUNT, "name": "templates", "readOnly": True},
                {"mountPath": TOKEN_MOUNT, "name": "trigger-token", "readOnly": True}])
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["launcher"], [container], automount=True,
                      volumes=[wl.SCRIPTS_VOLUME, {"name": "routes", "configMap": {"name": ROUTES_CONFIG}}, token,
                               {"name": "templates", "projected": {"sources": sources}}])
    deps = [*kube.needs("scripts", "launcher-binding"), *kube.needs(*(f"run-template/{j.name}" for j in jobs)),
            routes_config]
    deployment = kube.add(wl.deployment(kube, names.RETRAIN_TRIGGER, "retrain-trigger", pod, address="platform",
                                        runs=("launcher.py",), reads={ROUTES_HASH: routes_text}),
                          parent=kube.platform, address="platform", role="retrain-trigger", depends_on=deps)
    kube.add(wl.service(kube, names.RETRAIN_TRIGGER, "retrain-trigger", names.TRIGGER_PORT, address="platform"),
             parent=kube.platform, address="platform", role="retrain-trigger-service", depends_on=[deployment])
    kube.add(ingress.trigger_policy(kube), parent=kube.platform, address="platform", role="retrain-trigger-ingress")
