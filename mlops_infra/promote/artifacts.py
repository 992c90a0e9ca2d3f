"""Artifact steps of a promotion: copy the model artifact into DST's store, register it in DST's registry.

Contract:
- :func:`plan_steps` (pure) lists, for every artifact DST's registry does not hold yet (once per
  model and digest): ``copy-artifact`` from SRC's artifact URI (``s3://bucket/key`` for one object,
  ``s3://bucket/prefix/`` for a folder) to ``s3://<DST's platform artifacts bucket>/training/<job>/
  promoted/<model>/<digest[:16]>/`` (under the prefix of the training job that registers the model,
  which DST's serving role may read: :func:`mlops_infra.compile.aws.storage.training_output`; for a
  model no job registers, ``<artifacts_uri>/promoted/<model>/<digest[:16]>/``, finding B5),
  then ``register-version``: a SageMaker model package in DST's group
  ``<system>-<dst>-<model>`` with the copied artifact (in the form its storage takes: :func:`model_data`;
  a folder is never a ``ModelDataUrl``), the serving image DST's own graph serves the model with
  (:func:`_image`: the compiler's rule, in DST's region), ``ModelApprovalStatus`` from
  the model's approval mode (``manual`` -> ``PendingManualApproval``, ``automatic`` -> ``Approved``)
  and ``CustomerMetadataProperties[mlops-infra/artifact-digest]`` (botocore ``CreateModelPackageInput``).
  A DST that is not AWS gets no automated steps: the report says so.
  The copy step carries the accounts that must own SRC's and DST's buckets (``sourceOwner``,
  ``destinationOwner``: :func:`mlops_infra.promote.bucket_owner.owners`), or says which environment
  names none (``ownerNotChecked``); the register step carries its image or ``imageProblem``. The
  reports show both (``ArtifactStep.details``).
- :func:`execute_steps` (the edge; boto3) first checks every refusal that does not depend on the copy
  (:func:`_refusals`: an artifact URI that is not ``s3://``, no serving image of DST's region, DST's
  model package group missing or unreadable) and, when one holds, runs nothing: a registration that
  cannot be made would otherwise leave copied, unregistered objects in DST's bucket. Every S3 request
  names the account its bucket's environment declares (``ExpectedBucketOwner``:
  :mod:`mlops_infra.promote.bucket_owner`; S3 answers 403 when another account owns the bucket, and
  the step's outcome says which owners were expected). Then it carries the steps out, each
  level-triggered and idempotent, so a run killed half way is finished, not duplicated, by running it again:

  * a copy first reads SRC's store to tell a folder from one object
    (:func:`mlops_infra.promote.digests.artifact_layout`): a URI ending in ``/`` is a folder; one
    without it (how MLflow registers a folder: ``runs:/<run>/model`` becomes
    ``s3://<bucket>/<exp>/<run>/artifacts/model``) is a folder when objects exist under ``<uri>/``
    (``ListObjectsV2`` ``Prefix``), copied as ``<uri>/`` and nothing beside it, else the object itself
    (``HeadObject``), else the step fails naming both, nothing copied. The ``register-version`` step
    registers what the copy found (:func:`_as_copied`), whatever the preview expected
    (:func:`copied_uri`): a folder's copy as the ``S3Prefix`` ``destination``, one object's as
    ``destination`` + its name;
  * a copy from a Kubernetes SRC of ONE object (alone, or the only one under the folder) that KServe
    served unpacked (a tar or zip by its name) registers a gzip tar as ``S3Object`` + ``Gzip``, which
    SageMaker unpacks the same way, and refuses any other archive before the first byte is copied
    (:func:`_kserve_archive`, audit finding xpromote-1);
  * a copy of a folder copies its objects but the zero-byte folder markers (keys ending in ``/``,
    which the S3 console creates, or in ``_$folder$``, which Hadoop's S3 file systems create:
    :func:`mlops_infra.promote.digests.artifact_keys`): SageMaker fails to deploy model data holding
    one ("Do not organize the model artifacts in S3 console using folders", botocore ``S3ModelDataSource.CompressionType``),
    and the artifact digest leaves them out too (:func:`mlops_infra.promote.digests.list_artifact`);
  * a copy lists SRC's objects and skips every object DST already holds with the same size and the
    source's ETag recorded in its metadata (``mlops-infra-source-etag``); an S3 PUT is atomic (an
    object is whole or absent: https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel),
    so an interrupted copy leaves only whole objects and the rerun copies the rest once;
  * a copy verifies the bytes (audit finding promote-1: what is promoted is the artifact known by its
    digest, docs/promote.md, and S3 lets anyone with ``s3:PutObject`` replace an object under a key
    the registry names): each object is read with ``GetObject`` ``IfMatch`` its listed ETag (an object
    changed since the listing is refused, HTTP 412 ``PreconditionFailed``: botocore ``s3``
    ``GetObjectRequest.IfMatch``: "Return the object only if its entity tag (ETag) is the same as
    the one specified in this header; otherwise, return a 412 Precondition Failed error") and hashed (SHA-256)
    while it streams into DST; the copies a rerun skipped are hashed from DST (S3's full-object
    SHA-256 checksum, else streamed). The manifest digest of the copies
    (:func:`mlops_infra.promote.digests.manifest_digest`, paths relative to the registered URI)
    must equal the digest SRC's registry gives, and DST's prefix may hold no other object; else the
    step fails ("artifact digest mismatch: <SRC> v<n> says X, its objects give Y") and nothing is
    registered;
  * a registration first looks for a package in DST's group that carries the digest (then it is
    done, unless that package serves another image than DST's: then the step fails saying to delete
    it and run the steps again, audit finding xpromote-2); otherwise it creates one from the copy verified in the same run (none: it fails closed),
    recording beside the digest :data:`~mlops_infra.promote.digests.DIGEST_SOURCE_PROPERTY`, the
    fingerprint of the copies' ETags (:func:`mlops_infra.promote.digests.fingerprint`), so a later
    promotion from DST computes the digest again when the copies changed, as for an AWS-trained
    package; and it reports the number SageMaker gave it. When that number is
    not the one DST pins (something else registered first), the step says to promote again.
    Looking and creating are two calls (SageMaker has no create-if-absent on a metadata property),
    so two runs at once (two CI jobs, a retry beside the original) may both create: after
    ``CreateModelPackage`` the versions older than its own that the first look did not see are
    described (by ARN: the group's ARN + ``/<version>``); when one carries the digest, the OLDEST
    such package is kept and this run deletes its own (``DeleteModelPackage``, botocore: "Deletes a
    model package") and reports the older one as "already registered (a concurrent run registered
    it first)". Only the newer package is ever deleted, by the run that made it, so two racing runs
    never both delete (audit finding concurrency-8). When the delete is refused, the step fails
    naming the duplicate to delete. No ``ClientToken`` is sent (botocore's ``idempotencyToken``
    gives each call a random one): SageMaker documents neither how long it remembers a token nor
    its answer to a token whose package was deleted since, which "delete that package, then run
    the artifact steps again" (above) would meet.
  * a group that does not exist yet is not created here (DST's Pulumi apply owns it): the step fails
    saying to apply DST first (its endpoint waits meanwhile).
- SRC and DST are read and written with their own sessions (``--role ENV=ARN`` through STS
  ``AssumeRole``, else the default chain); cross-account copies go through this process (GET from
  SRC, PUT to DST), so neither account needs a bucket policy for the other. A Kubernetes SRC's
  S3-compatible store (MinIO...) is read with its own client (``src_s3``:
  :mod:`mlops_infra.promote.source_store`), never at DST's endpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.model_versions import DIGEST_PROPERTY, GZIP, UNCOMPRESSED, compression_of
from mlops_infra.progress import NO_PROGRESS, ProgressReporter
from mlops_infra.promote.bucket_owner import created_buckets, denied_hint, expect_owner, owners
from mlops_infra.promote.digests import (
    DIGEST_SOURCE_PROPERTY,
    SOURCE_PROPERTY,
    artifact_keys,
    artifact_layout,
)
from mlops_infra.promote.registries import MLFLOW_DIGEST_TAG, bucket_region_refusal, client
from mlops_infra.s3_uri import bucket_of, split

APPROVAL_STATUS = {"manual": "PendingManualApproval", "automatic": "Approved"}
ETAG_METADATA = "mlops-infra-source-etag"


@dataclass(frozen=True)
class ArtifactStep:
    """One step: ``kind`` copy-artifact | register-version | manual; ``status`` pending | done |
    already-done | failed | mismatch, with ``outcome`` saying what happened."""

    kind: str
    model: str
    digest: str
    dst_version: int
    source: str
    destination: str
    detail: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    outcome: str = ""
    resumable: bool = False
    """A failure the same command finishes when run again (an error mid-run, such as a lost connection
    or an object changed while it was copied: finished steps and whole copies are skipped), as
    opposed to a refusal or a result that running it again repeats (each outcome says its fix).
    Not part of :meth:`to_json`."""

    def line(self) -> str:
        what = {"copy-artifact": f"copy {self.model} {self.digest[:19]} {self.source} -> {self.destination}",
                "register-version": f"register {self.model} {self.digest[:19]} in {self.destination} "
                                    f"(expected v{self.dst_version}, {self.detail.get('approval')})",
                }.get(self.kind, f"{self.model} {self.digest[:19]}: {self.outcome or self.destination}")
        tail = f": {self.outcome}" if self.outcome and self.kind != "manual" else ""
        return f"[{self.status}] {what}{tail}"

    def details(self) -> tuple[str, ...]:
        """The lines a report shows under :meth:`line`: a copy's bucket owners (and which is not
        checked), a registration's serving image or why none can be registered."""
        if self.kind == "copy-artifact":
            from mlops_infra.promote.bucket_owner import describe

            owner = describe(self.detail)
            return (owner,) if owner else ()
        if self.kind == "register-version":
            if self.detail.get("image"):
                return (f"image: {self.detail['image']}",)
            return (f"image refused: {self.detail.get('imageProblem') or 'no serving image is known'}",)
        return ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "digest": self.digest, "dstVersion": self.dst_version,
                "source": self.source, "destination": self.destination, "detail": dict(self.detail),
                "status": self.status, "outcome": self.outcome}


def plan_steps(promotion: Any, dst_graph: Any) -> tuple[ArtifactStep, ...]:
    """The steps that make DST's registry hold every promoted artifact (see the module contract)."""
    dst, system = promotion.dst, promotion.dst_system
    target = system.environments[dst].target
    src_target = promotion.src_system.environments[promotion.src].target
    steps: list[ArtifactStep] = []
    seen: set[tuple[str, str]] = set()
    buckets = _buckets(dst_graph) if target.kind == "aws" else {}
    dst_created = created_buckets(dst_graph) if target.kind == "aws" else frozenset()
    src_created = _created_by(promotion.src_system, promotion.src) if src_target.kind == "aws" else frozenset()
    aws = _aws_context(system, dst) if target.kind == "aws" else None
    for m in promotion.versions.mappings:
        if m.registered or (m.model, m.digest) in seen:
            continue
        seen.add((m.model, m.digest))
        if target.kind != "aws":
            steps.append(ArtifactStep("manual", m.model, m.digest, m.dst_version, m.src_record.artifact_uri or "", "",
                                      outcome=f"register {m.model} {m.digest} as v{m.dst_version} in {m.dst_where}, "
                                      f"the version tagged {MLFLOW_DIGEST_TAG}={m.digest} (promote finds it by that "
                                      "tag) and its source the artifact's copy in the models bucket (not automated for "
                                      "Kubernetes targets)"))
            continue
        destination = _destination(system, dst, buckets, m)
        source = m.src_record.artifact_uri or ""
        model = next(x for x in system.models if x.name == m.model)
        steps.append(ArtifactStep("copy-artifact", m.model, m.digest, m.dst_version, source, destination,
                                  {"from": f"{promotion.src} v{m.src_version}",
                                   **({"srcServer": "kserve"} if src_target.kind == "kubernetes" else {}),
                                   **owners(promotion.src, src_target, dst, target, source, destination,
                                            src_created, dst_created)}))
        copied = copied_uri(source, destination, m.src_record.artifact_compression)
        group = _group(system, dst, m.model)
        steps.append(ArtifactStep("register-version", m.model, m.digest, m.dst_version, copied,
                                  f"group {group} ({target.account}/{target.region})",
                                  {"group": group, "region": target.region, "account": target.account,
                                   **_image(aws, m), "approval": APPROVAL_STATUS[model.approval],
                                   "modelData": model_data(copied, m.src_record.artifact_compression),
                                   "promotedFrom": f"{promotion.src} v{m.src_version}"}))
    return tuple(steps)


def package_image_findings(promotion: Any) -> tuple[Any, ...]:
    """In the preview, a package DST's registry already holds for a promoted digest that serves
    another image than DST's own (:func:`_image`, :func:`_wrong_images`): the promotion maps to it
    (``RegistryView.find_digest``), so no artifact step runs, and ``--write`` would pin a version
    DST cannot deploy as it serves the model. The registration step says the same when it finds
    such a package (audit finding xpromote-2); the preview now says it before anything runs. One
    refusing :class:`~mlops_infra.promote.contracts.ServingFinding` per model and digest whose
    package's image (``VersionRecord.image``, from ``DescribeModelPackage``) is known and wrong; an
    AWS DST only (a Kubernetes DST serves its own ``serving_image`` or runtime, not the package's).

    A package DST's spec already pins (an endpoint of DST names that model and version before the
    edit, ``dst_system`` being DST after it: an endpoint no pin of the promotion changes; the
    package its endpoint serves, the compiled Model's ``PrimaryContainer.ModelPackageName``) is a
    warning, never a refusal: the promotion changes nothing there (a no-op promotion stays a no-op,
    exit 0), and deleting that package would break the endpoint serving it (SageMaker never reuses
    a package version number: a re-registration is a new version, while DST still pins the deleted
    one). The warning says that DST's pinned version runs the package's image, not the one DST's
    spec names, and that promoting again does not change it (audit finding closing-37a-5)."""
    dst, system = promotion.dst, promotion.dst_system
    target = system.environments[dst].target
    if target.kind != "aws":
        return ()
    aws = None
    wrong: dict[tuple[str, str], tuple[Any, str, dict[str, Any], list[str]]] = {}
    for m in promotion.versions.mappings:
        image = m.dst_record.image if m.registered and m.dst_record is not None else None
        if (m.model, m.digest) in wrong:
            wrong[m.model, m.digest][3].append(m.endpoint)
        if not image or (m.model, m.digest) in wrong:
            continue
        aws = aws or _aws_context(system, dst)
        wanted = _image(aws, m)
        if _wrong_images((image,), wanted.get("image"), target.region):
            wrong[m.model, m.digest] = (m, image, wanted, [m.endpoint])
    repinned = {pin.key.split(".")[1] for pin in promotion.versions.pins}  # endpoints.<name>.model.*
    pinned = {(e.model.name, e.model.version): e.name for e in system.endpoints if e.name not in repinned}
    return tuple(_wrong_package(dst, target.region, *found, pinned.get((found[0].model, found[0].dst_version)))
                 for found in wrong.values())


def _wrong_package(dst: str, region: str, m: Any, image: str, wanted: dict[str, Any], endpoints: list[str],
                   pinned_by: str | None = None) -> Any:
    """The finding of a package with the wrong image (:func:`package_image_findings`); ``pinned_by``:
    the endpoint of DST whose spec already pins that version (a warning, no delete advised)."""
    from mlops_infra.promote.contracts import ServingFinding

    serves = wanted.get("image")
    why = (f"another image than {dst} serves {m.model} with ({serves})" if serves else
           f"an image outside {region}, which SageMaker cannot pull there")
    summary = (f"{m.model} v{m.dst_version} in {dst} holds {m.digest} but serves it with {image}, not "
               + (f"{serves} ({dst}'s serving image for {m.model})" if serves else f"an image of {region}"))
    if pinned_by is not None:
        return ServingFinding(
            m.model, tuple(sorted(endpoints)), False, summary,
            f"{dst} already pins v{m.dst_version} (endpoint {pinned_by}) and serves it with the image its package "
            f"names ({image}), not with {serves or 'an image of ' + region}, which {dst}'s spec names: promoting "
            f"again does not change that. Do not delete that package: {dst}'s endpoint serves it. To serve "
            f"{m.model} with {dst}'s image, retrain it or register the artifact anew in {dst} with that image, "
            f"then pin the new version.")
    return ServingFinding(
        m.model, tuple(sorted(endpoints)), True, summary,
        f"The promotion maps to that package by its digest, so no artifact step registers the artifact again, and "
        f"the pin would serve {why}. No endpoint of {dst} pins v{m.dst_version}: delete the package (aws sagemaker "
        f"delete-model-package --model-package-name <its ARN in {m.dst_where}>), then run the artifact steps again "
        f"(--execute-artifacts): they register the artifact with {dst}'s image.")


def copied_uri(source: str, destination: str, compression: str | None) -> str:
    """Where the copy of ``source`` under ``destination`` is registered, as the preview expects it
    (pure; the copy reads S3 and the registration takes what it found: :func:`execute_steps`): a
    folder's copy is ``destination`` itself, one object's is ``destination`` + its name. A source
    ending in ``/`` (or naming a bucket) is a folder; one without names a folder when its last
    segment has no ``.`` and its registry says no gzip archive (an MLflow ``source``, written without
    its ``/``: the rule Kubernetes serving applies,
    :func:`mlops_infra.compile.kubernetes.artifacts.kserve_uri`), else one object."""
    from mlops_infra.compile.kubernetes.artifacts import kserve_uri

    parts = split(source)
    # not s3:// (refused when the steps run: _refusals): read as before, a folder when nothing follows a "/"
    key = parts[1] if parts is not None else source.partition("/")[2]
    if not key or source.endswith("/"):
        return destination
    if compression != GZIP and kserve_uri(source).endswith("/"):
        return destination
    return destination + source.rsplit("/", 1)[-1]


def model_data(uri: str, compression: str | None) -> dict[str, Any]:
    """The model data of the package that ``register-version`` creates for the copy at ``uri``
    (botocore ``ModelPackageContainerDefinition``), as the artifact is stored
    (:func:`~mlops_infra.model_versions.compression_of`):

    - one gzip tar archive: ``ModelDataUrl``, which "must point to a single gzip compressed tar
      archive (.tar.gz suffix)" (``ModelPackageContainerDefinition.ModelDataUrl``), the form a
      SageMaker training job's ``model.tar.gz`` is registered in;
    - a folder (every Kubernetes-trained version: the training runtime uploads the model folder and
      registers its prefix in MLflow, docs/compile-kubernetes.md) or one uncompressed file:
      ``ModelDataSource.S3DataSource`` with ``CompressionType`` ``None`` and ``S3DataType``
      ``S3Prefix`` (the prefix ending in ``/``) or ``S3Object``: SageMaker then places the objects
      under ``/opt/ml/model`` by their keys relative to the prefix, or the one object by its name
      (``S3ModelDataSource.CompressionType``; "Deploying uncompressed models",
      https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html). A prefix registered as ``ModelDataUrl`` is no
      archive: the endpoint could not be created from it.
    """
    if uri.endswith("/"):
        return {"ModelDataSource": {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix",
                                                     "CompressionType": UNCOMPRESSED}}}
    if compression_of(uri, compression) == GZIP:
        return {"ModelDataUrl": uri}
    return {"ModelDataSource": {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Object",
                                                 "CompressionType": UNCOMPRESSED}}}


def _group(system: Any, env: str, model: str) -> str:
    from mlops_infra.state.model_registry import group_of

    return group_of(system, env, model)


def _aws_context(system: Any, env: str) -> Any:
    """The AWS compile context of DST (``env`` of its effective ``system``), made once per
    promotion: :func:`_image` asks it for every model (its serving instances are one pass over the
    endpoints)."""
    from mlops_infra.compile.aws.context import AwsContext
    from mlops_infra.compile.context import CompileContext
    from mlops_infra.graph import GraphBuilder

    name = system.metadata.name
    return AwsContext(CompileContext(system, env, system.environments[env], name, env, GraphBuilder(name, env)))


def _image(aws: Any, mapping: Any) -> dict[str, Any]:
    """``{"image": ...}``: the image the package registered in DST (``aws``: its compile context,
    :func:`_aws_context`) serves the model with; or ``{"image": None, "imageProblem": why}``.

    The rule is the compiler's, called, not copied: :func:`mlops_infra.compile.aws.images.model_serving_image`
    with DST's region and serving instances (``spec/containers.serving_image``: the model's
    ``serving_image``, else its ``framework_version`` inference image of DST's region, else the
    registering job's framework inference image or ``image``), falling back to the registering
    job's resolved image as DST's ``RegisterModel`` step does (``compile/aws/training.register_step``).
    So the package carries the image DST's plan shows (``models.<m>`` ``servingImage``) and the
    only one DST's serving role may pull (``compile/aws/serving._model_reads``, ``ModelImagesPull``).
    The compiled ``Model`` serves ``primaryContainer.modelPackageName``, so the package's image is
    the one that runs (``compile/aws/serving._add_model``).

    The image is refused (``imageProblem``: nothing is copied, :func:`_refusals`) when it is an ECR
    image of another region than DST's (audit finding xpromote-2: the reference's job image is in
    us-east-1, its prod in eu-west-1; ``validate`` only warns ``image-in-other-region``), by the rule
    below: registered anyway, the package could never be deployed, and it would hold the digest, so
    every later promotion would map to it.

    Only when DST names and registers no image for the model (registered out of band) is SRC's
    package's image kept, and only if it is an ECR image of DST's region: botocore
    ``sagemaker/2017-07-24`` ``ContainerDefinition.Image``: "the Docker image for inference container
    in Amazon EC2 Container Registry must be in the same region as the model or endpoint you are
    creating" (and ``ModelPackageContainerDefinition.Image`` is an ECR path). Audit finding promote-3:
    a package registered in prod us-west-2 with staging's us-east-1 image failed at ``CreateModel``.
    """
    from mlops_infra.compile.aws.images import job_image, model_serving_image
    from mlops_infra.spec.containers import ecr_region

    system, env = aws.ctx.system, aws.ctx.env
    job = next((j for j in system.training_jobs if j.registers == mapping.model), None)
    image = model_serving_image(aws, mapping.model, job_image(aws, job) if job is not None else None)
    region = aws.region
    if image is not None and ecr_region(image) not in (region, None):
        return {"image": None, "imageProblem": f"{env}'s serving image for {mapping.model}, {image}, is an ECR "
                f"image of {ecr_region(image)}, not of {region}, {env}'s region (SageMaker pulls inference images "
                f"of the model's own region only): set models.{mapping.model}.serving_image for {env} (an "
                f"override) to the image in {region}"}
    if image is not None:
        return {"image": image}
    kept = mapping.src_record.image
    if not kept:
        return {"image": None, "imageProblem": f"no serving image is known for {mapping.model}: {env} names none "
                f"(serving_image or framework_version), no job of {env} registers it and the source version "
                f"carries none; set "
                f"models.{mapping.model}.serving_image (an ECR image in {region})"}
    if ecr_region(kept) != region:
        return {"image": None, "imageProblem": f"the source package's image {kept} is not an ECR image of {region}, "
                f"{env}'s region (SageMaker pulls inference images of the model's own region only): set "
                f"models.{mapping.model}.serving_image for {env} (an override) to the image in {region}"}
    return {"image": kept}


def _created_by(system: Any, env: str) -> frozenset[str]:
    """The buckets ``env``'s compiled graph creates (:func:`~mlops_infra.promote.bucket_owner.created_buckets`)."""
    from mlops_infra.compile import compile_system

    return created_buckets(compile_system(system, env))


def _buckets(graph: Any) -> dict[str, str]:
    """Item address (``data_sources.<name>``, ``platform`` for the platform artifacts bucket) -> bucket."""
    found: dict[str, str] = {}
    for r in graph.resources:
        if r.type != "aws:s3/bucket:Bucket":
            continue
        item, name = (r.inputs.get("tags") or {}).get("mlops-infra/item"), str(r.inputs.get("bucket"))
        if item and (item != "platform" or "platform-artifacts" in name):
            found.setdefault(item, name)
    return found


def _destination(system: Any, env: str, buckets: dict[str, str], mapping: Any) -> str:
    """Where DST's serving role may read the promoted artifact (finding B5, promoted in): under the
    prefix of the training job that registers the model in DST, which is always in DST's platform
    artifacts bucket (:func:`mlops_infra.compile.aws.storage.training_output`, finding B4: never a
    data source, whose retention would expire it); for a model no job of DST registers, under the
    model's ``artifacts_uri``, the one other prefix its serving role reads
    (``compile/aws/serving._serving_statements``)."""
    digest = mapping.digest.split(":", 1)[-1][:16]
    job = next((j for j in system.training_jobs if j.registers == mapping.model), None)
    model = next((x for x in system.models if x.name == mapping.model), None)
    if job is None and model is not None and model.artifacts_uri:
        return f"{model.artifacts_uri.rstrip('/')}/promoted/{mapping.model}/{digest}/"
    bucket = buckets.get("platform") or f"<platform artifacts bucket of {env}>"
    prefix = f"training/{job.name}/" if job is not None else "training/"
    return f"s3://{bucket}/{prefix}promoted/{mapping.model}/{digest}/"


# -- execution (boto3) ---------------------------------------------------------------------------


def execute_steps(steps: Sequence[ArtifactStep], *, src_session: Any, dst_session: Any, endpoint_url: str | None = None,
                  src_s3: Any = None, progress: ProgressReporter = NO_PROGRESS) -> tuple[ArtifactStep, ...]:
    """Carry out ``steps`` in order (see the module contract); a failed step stops those after it.
    SRC's objects are read with ``src_s3`` when given (the command gives
    :func:`mlops_infra.promote.source_store.source_client`, the client its preview read SRC's files
    with; then ``src_session`` is not used), else with an S3 client of ``src_session`` at
    ``endpoint_url``; DST is written with ``dst_session`` at ``endpoint_url``. A ``register-version``
    step registers only the copy that the ``copy-artifact`` step before it verified.

    First, before the first byte is copied, every refusal that does not depend on the copy is
    checked (:func:`_refusals`); when one holds, nothing is run: the refused steps fail with their
    reason and the others say they were not run. Each S3 client sends the bucket owner its
    environment declares (:mod:`mlops_infra.promote.bucket_owner`)."""
    refused = _refusals(steps, dst_session, endpoint_url)
    if refused:
        which = ", ".join(f"{steps[i].kind} {steps[i].model}" for i in sorted(refused))
        return tuple(replace(s, status="failed", outcome=refused[i]) if i in refused
                     else s if s.kind == "manual"
                     else replace(s, status="failed", outcome=f"not run: {which} is refused, and nothing is copied "
                                  "while a step is refused")
                     for i, s in enumerate(steps))
    done: list[ArtifactStep] = []
    failed = False
    verified: dict[tuple[str, str], tuple[str, str, Any]] = {}  # (model, digest) -> (fingerprint, URI, model data
    # when the copy decided it: an archive KServe unpacked) of the verified copies
    clients: dict[str, Any] = {}

    copies = [s for s in steps if s.kind == "copy-artifact"]
    owned = {side: (next((s.detail[key] for s in copies if s.detail.get(key)), None),  # the side's one account
                    {bucket_of(s.source if side == "src" else s.destination) for s in copies if s.detail.get(key)})
             for side, key in (("src", "sourceOwner"), ("dst", "destinationOwner"))}

    def s3(side: str) -> Any:
        if side not in clients:  # one SRC and one DST client per promotion
            made = (src_s3 if side == "src" and src_s3 is not None
                    else client(src_session if side == "src" else dst_session, "s3", endpoint_url))
            clients[side] = expect_owner(made, *owned[side])  # only on the buckets that account owns
        return clients[side]

    for step in steps:
        if failed or step.kind == "manual":
            done.append(replace(step, status="failed" if failed else "pending",
                                outcome="not run: an earlier step failed" if failed else step.outcome))
            continue
        try:
            if step.kind == "copy-artifact":
                result = _copy(step, s3("src"), s3("dst"), progress)
                if result.status in ("done", "already-done"):
                    verified[step.model, step.digest] = (result.detail["fingerprint"], result.detail["copies"],
                                                         result.detail.get("modelData"))
            else:
                found = verified.get((step.model, step.digest))
                if found is not None:
                    step = _as_copied(step, *found)
                result = _register(step, src_session, dst_session, endpoint_url, progress)
        except Exception as error:
            from mlops_infra.state.aws_live.retry import describe_error

            hint = denied_hint(step.detail) if step.kind == "copy-artifact" and _denied(error) else ""
            result = replace(step, status="failed", outcome=describe_error(error) + hint, resumable=_transient(error))
        failed = result.status == "failed"
        done.append(result)
    return tuple(done)


def _as_copied(step: ArtifactStep, fingerprint: str, copies: str, data: Any = None) -> ArtifactStep:
    """The ``register-version`` step of the copies the copy step verified at ``copies``: their
    fingerprint, and their URI and model data when the copy found another layout than the preview
    expected (:func:`copied_uri`; a folder is an ``S3Prefix`` whatever its compression, and the
    preview expects a folder only when the registry names no gzip archive), or ``data`` when the copy
    decided it (a gzip tar KServe served unpacked: :func:`_kserve_archive`)."""
    detail = {**step.detail, "fingerprint": fingerprint}
    if data is not None:
        detail["modelData"] = data
    elif copies != step.source:
        detail["modelData"] = model_data(copies, None)
    return replace(step, source=copies, detail=detail)


def _refusals(steps: Sequence[ArtifactStep], dst_session: Any, endpoint_url: str | None) -> dict[int, str]:
    """Step index -> why it is refused, for every refusal known before anything is copied: an
    artifact URI that is not ``s3://``; a ``register-version`` with no serving image of DST's region
    (:func:`_image`: a copy could never be registered); DST's model package group missing (DST's
    apply creates it) or unreadable; a destination bucket DST's stack does not create (a model's
    ``artifacts_uri``) in another Region than DST's (:func:`~mlops_infra.promote.registries.bucket_region_refusal`,
    audit xregion-3). Checked first, so a refused run leaves no copied, unregistered objects in DST's bucket."""
    refused: dict[int, str] = {}
    groups: dict[tuple[str, str], str | None] = {}
    elsewhere: dict[tuple[str, str], str | None] = {}
    region = next((s.detail.get("region") for s in steps if s.kind == "register-version"), None)
    for i, step in enumerate(steps):
        if step.kind == "copy-artifact":
            for uri in (step.source, step.destination):
                if split(uri) is None:
                    refused[i] = f"only s3:// artifact URIs are copied, not {uri!r}"
            if i not in refused and region and step.detail.get("destinationOwner") is None:
                bucket = (bucket_of(step.destination), step.model)  # one HeadBucket per bucket and model
                if bucket not in elsewhere:
                    elsewhere[bucket] = bucket_region_refusal(dst_session, endpoint_url, step.destination, region,
                                                              step.model)
                if elsewhere[bucket]:
                    refused[i] = str(elsewhere[bucket])
        elif step.kind == "register-version":
            if not step.detail.get("image"):
                refused[i] = step.detail.get("imageProblem") or "no serving image is known"
                continue
            key = (step.detail["region"], step.detail["group"])
            if key not in groups:
                groups[key] = _missing_group(dst_session, endpoint_url, *key)
            if groups[key]:
                refused[i] = str(groups[key])
    return refused


def _missing_group(dst_session: Any, endpoint_url: str | None, region: str, group: str) -> str | None:
    """Why DST's model package group ``group`` cannot take a registration, or None when it exists."""
    from mlops_infra.state.aws_live.retry import describe_error, is_not_found

    try:
        client(dst_session, "sagemaker", endpoint_url, region).describe_model_package_group(ModelPackageGroupName=group)
    except Exception as error:
        if is_not_found(error) or "does not exist" in str(error).lower():
            return (f"group {group} does not exist yet: apply the environment first (its endpoint waits for this "
                    "version), then run the artifact steps again")
        return f"group {group} could not be read: {describe_error(error)}"
    return None


TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "Throttling", "ThrottlingException",
     "ThrottledException", "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
     "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "InternalError", "ServiceUnavailable"})
"""The AWS error codes a rerun can get past: botocore's own transient and throttled codes (botocore
``retries/standard.py`` ``TransientRetryableChecker._TRANSIENT_ERROR_CODES``,
``ThrottledRetryableChecker._THROTTLED_ERROR_CODES``, those of S3 and SageMaker) and S3's 5xx codes."""


def _transient(error: Exception) -> bool:
    """A failure a rerun of the same command can get past (``ArtifactStep.resumable``, audit finding
    closing-37a-3): what botocore's standard retry mode treats as transient or throttled (botocore
    ``retries/standard.py``: the codes of :data:`TRANSIENT_CODES`, HTTP 500/502/503/504, and its
    ``ConnectionError`` and ``HTTPClientError``, which ``EndpointConnectionError``,
    ``ConnectTimeoutError`` and ``ReadTimeoutError`` are), or a socket error (``OSError``: a reset or
    timed-out connection). Anything else (403 ``AccessDenied``, which is also S3's answer to a bucket
    owner mismatch; a ``ValidationException``; a bug) fails the same way on every rerun until
    something is changed, so it is not resumable."""
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(error, (BotocoreConnectionError, HTTPClientError, OSError)):
        return True
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str((response.get("Error") or {}).get("Code", "")) in TRANSIENT_CODES or status in (500, 502, 503, 504)


def _denied(error: Exception) -> bool:
    """S3 refused the call with 403 (``AccessDenied``: also the answer to a bucket owner mismatch)."""
    response = getattr(error, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    return code in ("AccessDenied", "403") or (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") == 403


def _split(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of an ``s3://`` artifact URI (:func:`mlops_infra.s3_uri.split`); ValueError otherwise."""
    parts = split(uri)
    if parts is None:
        raise ValueError(f"only s3:// artifact URIs are copied, not {uri!r}")
    return parts


class _Hashing:
    """A readable stream over ``body`` that hashes (SHA-256) every byte it hands out: the copy's
    ``upload_fileobj`` reads a body that is not seekable front to back, once (s3transfer's
    ``UploadNonSeekableInputManager``), so what was hashed is what was uploaded."""

    def __init__(self, body: Any) -> None:
        self._body, self._sha = body, hashlib.sha256()

    def read(self, amount: int | None = -1) -> bytes:
        data = self._body.read() if amount is None or amount < 0 else self._body.read(amount)
        self._sha.update(data)
        return data

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _copy(step: ArtifactStep, src: Any, dst: Any, progress: ProgressReporter) -> ArtifactStep:
    """Copy the artifact's objects (``src`` and ``dst``: S3 clients) and verify the copy against the
    digest SRC's registry gives (see the module contract)."""
    _split(step.source)  # only s3:// URIs (refused before anything runs: _refusals)
    try:
        source, folder = artifact_layout(src, step.source)  # MLflow's folder source has no trailing /
    except UserError as error:
        return replace(step, status="failed", outcome=f"{error.summary}. {error.detail}")
    src_bucket, src_key = _split(source)
    dst_bucket, dst_prefix = _split(step.destination)
    if folder:
        objects = list(artifact_keys(src, src_bucket, src_key))  # folder markers left out
        pairs = [(o, o["Key"][len(src_key):]) for o in objects]
    else:
        head = src.head_object(Bucket=src_bucket, Key=src_key)
        pairs = [({"Key": src_key, "Size": head["ContentLength"], "ETag": head["ETag"]}, src_key.rsplit("/", 1)[-1])]
    if not pairs:
        return replace(step, status="failed", outcome=f"no objects under {step.source}")
    refused, archive = _kserve_archive(step, pairs)
    if refused:  # the layout is known only now: refused before the first GetObject
        return replace(step, status="failed", outcome=refused)
    progress.set_total(len(pairs))
    copied = 0
    hashed: dict[str, str] = {}  # path -> SHA-256 of the bytes read from SRC and uploaded
    for obj, path in pairs:
        key = dst_prefix + path
        if not _same_object(dst, dst_bucket, key, obj):
            try:
                body = src.get_object(Bucket=src_bucket, Key=obj["Key"], IfMatch=obj["ETag"])["Body"]
            except Exception as error:
                if _precondition_failed(error):
                    return replace(step, status="failed", resumable=True, outcome=(
                        f"s3://{src_bucket}/{obj['Key']} changed after it was listed (GetObject IfMatch its listed "
                        f"ETag {obj['ETag']}: 412 PreconditionFailed); nothing is registered: run the command again "
                        "to copy and verify what SRC holds now"))
                raise
            reader = _Hashing(body)
            try:
                dst.upload_fileobj(reader, dst_bucket, key,
                                   ExtraArgs={"Metadata": {ETAG_METADATA: obj["ETag"].strip('"')}})
            finally:
                body.close()
            hashed[path] = reader.hexdigest()
            copied += 1
            progress.count("copied")
        progress.advance()
    copies_uri = step.destination if folder else step.destination + pairs[0][1]
    failed, digest, fingerprint = _verify(step, dst, copies_uri, folder, {path for _, path in pairs}, hashed)
    if failed:
        return replace(step, status="failed", outcome=failed)
    status = "done" if copied else "already-done"
    unpacked = {}
    if archive:  # registered as the one gzip tar SageMaker unpacks, as KServe unpacked it
        copies_uri = step.destination + archive
        unpacked = {"modelData": {"ModelDataSource": {"S3DataSource": {
            "S3Uri": copies_uri, "S3DataType": "S3Object", "CompressionType": GZIP}}}}
    return replace(step, status=status, detail={**step.detail, "verified": digest, "fingerprint": fingerprint,
                                                "copies": copies_uri, **unpacked},
                   outcome=f"{copied} of {len(pairs)} object(s) copied, {len(pairs) - copied} already there; "
                           f"digest verified")


KSERVE_ARCHIVES = ("application/x-tar", "application/zip")
"""The types KServe's storage initializer unpacks when the storage URI yields one file."""


def _kserve_archive(step: ArtifactStep, pairs: Sequence[tuple[dict[str, Any], str]]) -> tuple[str, str]:
    """``(why the copy is refused or "", path of a gzip tar to register unpacked or "")`` for an
    artifact a Kubernetes SRC serves (``srcServer`` ``kserve``), from the listing (``pairs``: object,
    path under the registered URI) before anything is copied. Audit finding xpromote-1.

    KServe v0.15.0 ``python/kserve/kserve/storage/storage.py`` ``Storage._download_s3``, after its
    download loop: ``if file_count == 1: mimetype, _ = mimetypes.guess_type(target); if mimetype in
    ["application/x-tar", "application/zip"]: temp_dir = Storage._unpack_archive_file(...)``: when
    the storage URI yields ONE object (alone, or the only one under the folder) whose name
    ``mimetypes`` maps to a tar (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``) or a zip,
    the predictor was served its contents. SageMaker unpacks only a gzip tar (botocore
    ``sagemaker/2017-07-24`` ``S3ModelDataSource.CompressionType``: "If you choose Gzip and choose
    S3Object ..., S3Uri identifies an object that is a gzip-compressed TAR archive. SageMaker will
    attempt to decompress and untar the object during model deployment"; with ``None`` the object is
    placed under ``/opt/ml/model`` as it is). So a gzip tar is registered as ``S3Object`` +
    ``Gzip`` (valid whatever its name; ``ModelDataUrl`` asks for a ``.tar.gz`` suffix), and any other
    archive is refused: registered as a file, DST's container would find ``model.zip`` where dev's
    found the model's files. A folder of several objects is served as it is by both (``S3Prefix``).
    An AWS SRC's package is served as its registry says (its own ``CompressionType``): not this rule."""
    import mimetypes

    if step.detail.get("srcServer") != "kserve" or len(pairs) != 1:
        return "", ""
    obj, path = pairs[0]
    mimetype, encoding = mimetypes.guess_type(obj["Key"])
    if mimetype not in KSERVE_ARCHIVES:
        return "", ""
    if mimetype == "application/x-tar" and encoding == "gzip":
        return "", path
    return (f"{step.source} holds one archive, {obj['Key'].rsplit('/', 1)[-1]} ({mimetype}"
            f"{', ' + encoding if encoding else ''}): KServe serves this archive unpacked (one file of a tar or zip "
            "type: kserve storage.py _download_s3), SageMaker unpacks only a gzip tar, so DST would serve the "
            "archive file itself; nothing is copied: repack as model.tar.gz or register the folder of its files, "
            "then promote that version"), ""


def _verify(step: ArtifactStep, dst: Any, uri: str, folder: bool, paths: set[str], hashed: dict[str, str],
            ) -> tuple[str, str, str]:
    """``(why it failed or "", manifest digest, fingerprint)`` of the copies under ``uri``: the
    digest (:func:`~mlops_infra.promote.digests.manifest_digest`, over the paths relative to the
    registered URI, as SRC's training runtime and :func:`~mlops_infra.promote.digests.complete_digests`
    compute it) from the SHA-256 of the bytes just copied, and for the copies a rerun skipped, from
    S3's full-object SHA-256 checksum or by streaming them (``GetObject`` ``IfMatch`` their ETag):
    a skipped copy is checked, never trusted. Every object under the URI counts (the package
    serves them all), so an object SRC's artifact does not hold fails too."""
    from mlops_infra.promote.digests import fingerprint, list_artifact, manifest_digest, stream_sha256

    copies = list_artifact(dst, uri, folder)
    extra = sorted({o.path for o in copies} - paths)
    if extra:
        return (f"{uri} holds object(s) that SRC's artifact does not: {', '.join(extra[:5])}"
                f"{' ...' if len(extra) > 5 else ''}; the package would serve them: delete them, then run the "
                "command again; nothing is registered"), "", ""
    checked = [replace(o, sha256=hashed.get(o.path) or o.sha256 or stream_sha256(dst, o)) for o in copies]
    digest = manifest_digest(checked)
    if digest != step.digest:
        says = step.detail.get("from") or "SRC's registry"
        return (f"artifact digest mismatch: {says} says {step.digest}, its objects give {digest}; nothing is "
                f"registered. The objects under {step.source} are not the artifact that was recorded (changed "
                "since, or a wrong digest): record the digest of what SRC holds, or restore the artifact, then "
                "promote again"), digest, ""
    return "", digest, fingerprint(copies)


def _precondition_failed(error: Exception) -> bool:
    """A ``GetObject`` refused because ``IfMatch`` no longer matches (HTTP 412, ``PreconditionFailed``)."""
    response = getattr(error, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "412") or status == 412


def _same_object(client: Any, bucket: str, key: str, source: dict[str, Any]) -> bool:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        from mlops_infra.state.aws_live.retry import is_not_found

        if is_not_found(error) or "404" in str(error):
            return False
        raise
    return (head.get("ContentLength") == source["Size"]
            and (head.get("Metadata") or {}).get(ETAG_METADATA) == source["ETag"].strip('"'))


def _register(step: ArtifactStep, src_session: Any, dst_session: Any, endpoint_url: str | None,
              progress: ProgressReporter) -> ArtifactStep:
    detail = step.detail
    sagemaker = client(dst_session, "sagemaker", endpoint_url, detail["region"])
    group = detail["group"]
    missing = _missing_group(dst_session, endpoint_url, detail["region"], group)  # checked again: it may be gone
    if missing:
        return replace(step, status="failed", outcome=missing)
    seen: set[str] = set()
    existing = _find_package(sagemaker, group, step.digest, seen)
    if existing is not None:
        return _registered_already(step, existing, "already registered")
    if not detail.get("fingerprint"):  # fail closed: only a copy whose bytes gave the digest is registered
        return replace(step, status="failed", outcome="the copy was not verified against the digest in this run: "
                       "run the copy-artifact step (the whole command) again")
    if not detail.get("image"):
        return replace(step, status="failed", outcome=detail.get("imageProblem") or "no serving image is known")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=detail["approval"],
        ModelPackageDescription=f"promoted by mlops-infra from {detail['promotedFrom']}",
        InferenceSpecification={"Containers": [{"Image": detail["image"], **detail["modelData"]}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        CustomerMetadataProperties={DIGEST_PROPERTY: step.digest, DIGEST_SOURCE_PROPERTY: detail["fingerprint"],
                                    SOURCE_PROPERTY: detail["promotedFrom"]},
    )["ModelPackageArn"]
    first = _registered_meanwhile(sagemaker, arn, step.digest, seen)
    if first is not None:
        return _yield_to(sagemaker, step, arn, first)
    progress.count("registered")
    return _numbered(replace(step, status="done"), arn, "registered")


def _registered_already(step: ArtifactStep, existing: tuple[str, tuple[str, ...]], verb: str) -> ArtifactStep:
    """The step done by the package ``existing`` (ARN, images), or failed when it serves another image."""
    arn, images = existing
    detail = step.detail
    wrong = _wrong_images(images, detail.get("image"), detail["region"])
    if wrong:
        return replace(step, status="failed", outcome=(
            f"{arn} already holds this digest, but serves it with {', '.join(wrong)}, not "
            f"{detail.get('image') or 'an image of ' + detail['region']} (DST's serving image for {step.model}): "
            "it cannot be deployed as DST serves the model, and every promotion of this digest maps to it: "
            "delete that package (DeleteModelPackage), then run the artifact steps again"))
    return _numbered(replace(step, status="already-done"), arn, verb)


def _registered_meanwhile(sagemaker: Any, mine: str, digest: str,
                          seen: set[str]) -> tuple[str, tuple[str, ...]] | None:
    """The oldest package of ``mine``'s group, older than ``mine``, that carries ``digest`` and that the
    first look (``seen``) did not describe: a concurrent run's (see the module contract). Versions that
    no longer exist (deleted) are skipped."""
    from mlops_infra.state.aws_live.retry import is_not_found

    prefix, _, number = mine.rpartition("/")
    if not number.isdigit():
        return None
    for version in range(1, int(number)):
        arn = f"{prefix}/{version}"
        if arn in seen:
            continue
        try:
            found = sagemaker.describe_model_package(ModelPackageName=arn)
        except Exception as error:
            if is_not_found(error):
                continue
            raise
        if (found.get("CustomerMetadataProperties") or {}).get(DIGEST_PROPERTY) == digest:
            return arn, _images(found)
    return None


def _yield_to(sagemaker: Any, step: ArtifactStep, mine: str, first: tuple[str, tuple[str, ...]]) -> ArtifactStep:
    """A concurrent run registered the digest first, as ``first``: delete this run's ``mine``."""
    from mlops_infra.state.aws_live.retry import describe_error

    try:
        sagemaker.delete_model_package(ModelPackageName=mine)
    except Exception as error:
        return replace(step, status="failed", outcome=(
            f"registered as {mine}, but a concurrent run registered this digest first as {first[0]}: {mine} is a "
            f"duplicate this run could not delete ({describe_error(error)}): delete it (DeleteModelPackage) so "
            "nobody approves it, then run the artifact steps again"))
    return _registered_already(step, first, f"already registered (a concurrent run registered it first; this run's "
                                            f"duplicate {mine} was deleted)")


def _find_package(sagemaker: Any, group: str, digest: str,
                  seen: set[str] | None = None) -> tuple[str, tuple[str, ...]] | None:
    """``(ARN, its containers' images)`` of the package in ``group`` that carries ``digest``, or None.
    Its status does not matter (a rejected package still holds the digest: ``RegistryView.find_digest``
    maps to it too). The ARNs described are added to ``seen``."""
    arns = [p["ModelPackageArn"] for page in sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelPackageType="Versioned") for p in page.get("ModelPackageSummaryList") or ()]
    for arn in arns:
        found = sagemaker.describe_model_package(ModelPackageName=arn)
        if seen is not None:
            seen.add(arn)
        if (found.get("CustomerMetadataProperties") or {}).get(DIGEST_PROPERTY) == digest:
            return arn, _images(found)
    return None


def _images(package: dict[str, Any]) -> tuple[str, ...]:
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or ()
    return tuple(str(c.get("Image") or "") for c in containers)


def _wrong_images(images: Sequence[str], image: str | None, region: str) -> list[str]:
    """The images of a package found by digest that DST cannot serve the model with: another image
    than DST's own (:func:`_image`), or, when DST knows none, an ECR image of another region
    (botocore ``ContainerDefinition.Image``: "must be in the same region as the model or endpoint")."""
    from mlops_infra.spec.containers import ecr_region

    if image:
        return [i for i in images if i != image]
    return [i for i in images if ecr_region(i) != region]


def _numbered(step: ArtifactStep, arn: str, verb: str) -> ArtifactStep:
    number = int(arn.rsplit("/", 1)[-1]) if arn.rsplit("/", 1)[-1].isdigit() else None
    if number is not None and number != step.dst_version:
        return replace(step, status="mismatch", outcome=f"{verb} as v{number}, but DST pins v{step.dst_version}: run "
                       "`mlops-infra promote` again to pin the number its registry gave")
    return replace(step, outcome=f"{verb} as v{number} ({arn})")


SessionFactory = Callable[[], Any]
