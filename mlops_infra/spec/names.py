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
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment

S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
KSERVE_NAME_MAX = 63 - len("-predictor")
SHARED_PREFIX = "mlops-"
"""The prefix of the objects a Kubernetes environment shares (``compile/kubernetes/names.py``)."""


def check_system_name(ctx: CheckContext) -> Iterator[Diagnostic]:
    """The system name does not start a bucket name with a prefix S3 reserves."""
    name = ctx.system.metadata.name
    prefix = next((p for p in S3_RESERVED_PREFIXES if name.startswith(p)), None)
    if prefix:
        yield error("reserved-name", f'System name "{name}" starts with "{prefix}", which S3 reserves',
                    f"Every bucket name starts with the system name ({name}-<environment>-data-...), and S3 refuses "
                    f"bucket names starting with {', '.join(S3_RESERVED_PREFIXES)}. Rename the system, for example "
                    f'"{name.removeprefix(prefix).strip("-") or "system"}".', ("metadata", "name"), "metadata")


def check_kubernetes_names(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Endpoint names KServe takes, and data source names that do not end a bucket name badly."""
    if environment.target.kind != "kubernetes":
        return
    for i, endpoint in enumerate(ctx.system.endpoints):
        name = endpoint.name
        problem = ("starts with a digit; KServe names start with a letter" if not name[0].isalpha() else
                   f"is {len(name)} characters; KServe's predictor host <name>-predictor must fit one 63-character "
                   f"DNS label, so at most {KSERVE_NAME_MAX}" if len(name) > KSERVE_NAME_MAX else
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
