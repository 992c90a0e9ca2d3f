"""Object storage: what the system's buckets must be, declared for the platform to satisfy.

Creating a bucket in an S3-compatible store (MinIO, Ceph RGW, S3 itself) is not a Kubernetes
operation, and the target names no store. So this target *declares* buckets instead of creating
them:

- ``mlops-object-store`` (platform ConfigMap, env-style keys): the models bucket (artifacts
  of the models a training job here registers, and of versions registered with a ``source`` there,
  at ``s3://<bucket>/<model>/<version>/``: ``names.models_bucket``), the capture bucket and the name of the Secret
  holding credentials. Pods ``envFrom`` it.
- ``data-<source>`` per data source (ConfigMap under the data source's component): bucket name and
  URI, the requirements the bucket must meet (versioning, encryption, retention in days) and the
  data contract (columns, freshness) as JSON.

Credentials and the endpoint come from the Secret ``mlops-object-store`` the platform team creates
in the namespace (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``), which
pods reference optionally (IRSA or another workload identity works without it). Nothing here
creates a Secret, and Kubernetes cannot enforce versioning, encryption or retention. Nothing in
mlops-infra checks them either: post-apply verification (``apply/verify.py``) reads only the
SageMaker endpoints of an AWS environment, and no command reads the store's versioning, encryption
or lifecycle. They are requirements for the platform team to meet when it configures the store; the
plan only warns when a declared ``retentionDays`` shortens (``plan/retention.shortened_requirement``).
"""

from __future__ import annotations

from mlops_infra.compile import facts
from mlops_infra.compile.kubernetes import names
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.graph import canonical_json
from mlops_infra.spec.data import DataSource

MODELS_REQUIREMENTS = {"encryption": "kms", "retentionDays": None, "versioning": True}
"""What the models bucket must be (finding B4): like the AWS target's platform artifacts bucket,
versioned and never expiring a version, since endpoints pin versions for as long as they like."""


def compile_object_store_config(kube: KubeTarget) -> None:
    ctx = kube.ctx
    data = {"MLOPS_CREDENTIALS_SECRET": names.OBJECT_STORE_SECRET, "MLOPS_MODELS_BUCKET": names.models_bucket(ctx),
            "MLOPS_MODELS_URI": f"s3://{names.models_bucket(ctx)}/",
            "MLOPS_MODELS_REQUIREMENTS": canonical_json(MODELS_REQUIREMENTS)}
    if any(e.capture for e in ctx.system.endpoints):
        data["MLOPS_CAPTURE_BUCKET"] = names.capture_bucket(ctx)
    obj = kube.obj("v1", "ConfigMap", names.OBJECT_STORE_CONFIG, "platform", {"data": data})
    kube.shared["object-store-config"] = kube.add(obj, parent=kube.platform, address="platform",
                                                  role="object-store-contract")


def requirements(source: DataSource) -> dict:
    return {"encryption": source.encryption, "retentionDays": source.retention.seconds // 86400 if source.retention else None,
            "versioning": source.versioning}


def contract(source: DataSource) -> dict | None:
    if source.contract is None:
        return None
    return {"columns": dict(sorted(source.contract.columns.items())),
            "freshnessSeconds": source.contract.freshness.seconds if source.contract.freshness else None}


def compile_data_source(kube: KubeTarget, source: DataSource) -> None:
    """The data source's component and its bucket declaration."""
    address = f"data_sources.{source.name}"
    parent = kube.ctx.component("data_sources", source.name, facts.data_source_facts(source))
    bucket = names.data_bucket(kube.ctx, source.name)
    data = {"bucket": bucket, "uri": f"s3://{bucket}/", "requirements.json": canonical_json(requirements(source))}
    if source.contract is not None:
        data["contract.json"] = canonical_json(contract(source))
    obj = kube.obj("v1", "ConfigMap", names.item("data", source.name), address, {"data": data})
    kube.add(obj, parent=parent, address=address, role="bucket-declaration")
