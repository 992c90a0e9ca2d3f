"""Names the targets refuse although they are valid item names: checked where the user chose them.

Physical names are compiled from item names (``<system>-<env>-<parts>``, cut and hashed to fit),
so most target rules hold by construction: compile/naming.py hashes to each length, collapses
``--`` for ECR, and Kubernetes CronJobs fit 52 characters. What only the user can fix is checked
here, at the name, with the rule it breaks:

- S3 reserves the bucket-name prefixes ``xn--``, ``sthree-`` and ``amzn-s3-demo-``
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html); every bucket
  name starts with the system name, so the system name may not start with them.
- S3 reserves the suffixes ``-s3alias``, ``--ol-s3``, ``.mrap``, ``--x-s3`` and ``--table-s3`` (same
  page); on Kubernetes a data source's bucket ends with the source's name
  (``<system>-<env>-data-<source>``; on AWS it ends with the account id).
- A KServe InferenceService is named after its endpoint and must match ``[a-z]([-a-z0-9]*[a-z0-9])?``
  (kserve pkg/apis/serving/v1beta1/inference_service_validation.go, ``IsvcNameFmt``): it starts with
  a letter. Its predictor's route host ``<name>-predictor`` is one DNS label (at most 63 characters,
  Knative's default domain template; kserve/kserve#4807), so the name has at most 53.
- The endpoint name may not start with ``mlops-`` (:data:`SHARED_PREFIX`), the prefix of the
  objects a Kubernetes environment shares (``compile/kubernetes/names.py``: the capture sink,
  MLflow, the Pushgateway, the retrain trigger...), which relies on it (finding collisions-5).
  KServe's ingress reconciler creates a Service named after the InferenceService, of type
  ``ExternalName`` to the cluster's gateway, and *replaces the spec* of an existing Service of that
  name (kserve ``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go``,
  ``reconcileExternalService``: ``existing.Spec = desired.Spec``), so an endpoint named
  ``mlops-capture`` would turn the capture sink's Service into an alias of the gateway.
- A cluster may not be named ``default`` in an environment with a Kubernetes target (audit
  k8sapply-1). Its Kueue LocalQueue is named after it (``compile/kubernetes/queues.py``
  ``local_queue_name``), and Kueue makes a LocalQueue named ``default`` the queue of every batch Job
  of its namespace that names none: kubernetes-sigs/kueue v0.19.0
  ``pkg/controller/jobs/job/job_webhook.go`` ``JobWebhook.Default`` calls
  ``jobframework.ApplyDefaultLocalQueue``, which sets ``kueue.x-k8s.io/queue-name: default``
  (``pkg/controller/constants`` ``DefaultLocalQueueName``) when the namespace has that LocalQueue and
  no Kueue-managed owner (``pkg/controller/jobframework/defaults.go``); the feature
  ``LocalQueueDefaulting`` is GA and locked on since v0.17
  (``site/data/featuregates/removed_feature_list.yaml``). The rollout runner, the drift monitors,
  the training launchers and the model registration Job carry no queue label, so they would wait
  for the training cluster's quota (all of it while a run is admitted) and run on its GPU nodes
  (Kueue puts the flavor's node labels and tolerations on admitted pods). Error
  ``kueue-default-queue``, at the cluster's name.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment

S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
KSERVE_NAME_MAX = 63 - len("-predictor")
TAG_HOST_PREFIXES = {"canary": "prev-", "blue_green": "latest-"}
"""The longest Knative route tag an endpoint's rollout strategy gives its predictor's Route, written before
``<name>-predictor`` in a host label (see :func:`kserve_name_max`)."""


def kserve_name_max(strategy: str) -> int:
    """The longest Kubernetes endpoint name whose hosts fit one 63-character DNS label (RFC 1123) under an
    endpoint of rollout ``strategy``.

    KServe names the predictor's Knative Service and Route ``<name>-predictor``
    (``constants.PredictorServiceName``): at most :data:`KSERVE_NAME_MAX`. An endpoint that sets
    ``canaryTrafficPercent`` (``canary``, ``blue_green``: ``compile/kubernetes/serving.py``
    ``first_traffic_percent``) also gets tagged traffic targets: the revision rolled out before is tagged
    ``prev`` while the new one takes less than 100 %, and with ``serving.kserve.io/enable-tag-routing: "true"``
    (``blue_green``) the latest revision is tagged ``latest`` (kserve ``pkg/controller/v1beta1/
    inferenceservice/reconcilers/knative/ksvc_reconciler.go``, the traffic split). Knative names each tag's host
    with the ``tag-template`` ``{{.Tag}}-{{.Name}}`` (knative.dev/networking ``pkg/config/config.go``
    ``DefaultTagTemplate``), checks it as a DNS name (knative/serving ``pkg/reconciler/route/domains/
    domains.go``: ``validation.IsFullyQualifiedDomainName``, each label at most 63) and names a placeholder
    Service after it (``pkg/reconciler/route/resources/service.go`` ``MakeK8sPlaceholderService``); a host too
    long fails the Route (``RevisionTargetTrafficError``), so the InferenceService never becomes Ready. Hence
    48 for ``canary`` (``prev-``), 46 for ``blue_green`` (``latest-``), 53 otherwise; a cluster with another
    ``tag-template`` may differ (the defaults are assumed, as for 53)."""
    return KSERVE_NAME_MAX - len(TAG_HOST_PREFIXES.get(strategy, ""))
SHARED_PREFIX = "mlops-"
"""The prefix of the objects a Kubernetes environment shares (``compile/kubernetes/names.py``)."""
KUEUE_DEFAULT_QUEUE = "default"
"""The LocalQueue name Kueue makes its namespace's default (``constants.DefaultLocalQueueName``)."""


def check_system_name(ctx: CheckContext) -> Iterator[Diagnostic]:
    """The system name does not start a bucket name with a prefix S3 reserves: every bucket name starts
    with ``<system>-`` (``compile/aws/storage.py``, ``compile/kubernetes/names.py``), so the prefix is
    looked for there (the system ``sthree`` makes ``sthree-prod-...``). S3 User Guide, "General purpose
    bucket naming rules": "Bucket names must not start with the prefix xn--", "... sthree-", "...
    amzn-s3-demo-" (CreateBucket: InvalidBucketName)."""
    name = ctx.system.metadata.name
    prefix = next((p for p in S3_RESERVED_PREFIXES if f"{name}-".startswith(p)), None)
    if prefix:
        yield error("reserved-name", f'System name "{name}" starts its bucket names with "{prefix}", which S3 '
                    "reserves",
                    f"Every bucket name starts with the system name ({name}-<environment>-data-...), and S3 refuses "
                    f"bucket names starting with {', '.join(S3_RESERVED_PREFIXES)}. Rename the system, for example "
                    f'"{name.removeprefix(prefix).strip("-") or "system"}".', ("metadata", "name"), "metadata")


def check_kubernetes_names(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Endpoint names KServe takes, data source names that do not end a bucket name badly, and no
    cluster named like Kueue's default LocalQueue."""
    if environment.target.kind != "kubernetes":
        return
    for i, cluster in enumerate(ctx.system.clusters):
        if cluster.name == KUEUE_DEFAULT_QUEUE:
            yield error("kueue-default-queue", f'Cluster name "{cluster.name}" would make Kueue queue every Job of '
                        f"namespace {environment.target.namespace}",
                        f"In environment {env} (Kubernetes) the cluster's Kueue LocalQueue is named after it, and Kueue "
                        "makes a LocalQueue named default the queue of every batch Job in its namespace without a "
                        "kueue.x-k8s.io/queue-name label (LocalQueue defaulting, always on since Kueue 0.17): the "
                        "rollout runner, drift monitors, training launchers and model registration would wait for "
                        "this cluster's GPU quota and run on its GPU nodes. Rename the cluster (for example "
                        '"gpu-train") and the training jobs\' cluster references.', ("clusters", i, "name"),
                        f"clusters.{cluster.name}")
    for i, endpoint in enumerate(ctx.system.endpoints):
        name = endpoint.name
        strategy = endpoint.rollout.strategy
        longest = kserve_name_max(strategy)
        tag = TAG_HOST_PREFIXES.get(strategy)
        host = f"{tag}<name>-predictor (the {strategy} rollout's Knative route tag)" if tag else "<name>-predictor"
        problem = ("starts with a digit; KServe names start with a letter" if not name[0].isalpha() else
                   f"is {len(name)} characters; KServe's predictor host {host} must fit one 63-character DNS "
                   f"label, so at most {longest}" if len(name) > longest else
                   f'starts with "{SHARED_PREFIX}", the prefix of the objects mlops-infra shares in the namespace '
                   f"(its capture sink, MLflow, Pushgateway, retrain trigger); KServe would replace the Service of "
                   f"that name with an alias of the gateway" if name.startswith(SHARED_PREFIX) else "")
        if problem:
            yield error("invalid-name-for-target", f'Endpoint name "{name}" cannot name a KServe InferenceService',
                        f"In environment {env} (Kubernetes) the endpoint becomes InferenceService {name}, whose name "
                        f"{problem} (kserve IsvcNameFmt [a-z]([-a-z0-9]*[a-z0-9])?). Rename the endpoint.",
                        ("endpoints", i, "name"), f"endpoints.{name}")
    for i, source in enumerate(ctx.system.data_sources):
        suffix = next((s for s in S3_RESERVED_SUFFIXES if source.name.endswith(s)), None)
        if suffix:
            yield error("invalid-name-for-target", f'Data source name "{source.name}" ends with "{suffix}", which S3 '
                        "reserves", f"In environment {env} (Kubernetes) its bucket is named ...-data-{source.name}, and "
                        f"S3 refuses bucket names ending with {', '.join(S3_RESERVED_SUFFIXES)}. Rename the data source.",
                        ("data_sources", i, "name"), f"data_sources.{source.name}")
