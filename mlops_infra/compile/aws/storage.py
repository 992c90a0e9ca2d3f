"""S3 buckets with the security posture built in, for data sources and platform buckets.

Contract: :func:`add_secure_bucket` adds, under ``parent``, six resources for one bucket:
``Bucket`` (explicit name, no force-destroy), ``BucketVersioning``, ``BucketServerSideEncryption-
Configuration`` (SSE-KMS with the platform's rotating key and an S3 Bucket Key, or SSE-S3),
``BucketPublicAccessBlock`` (all four blocks on), ``BucketLifecycleConfiguration`` (abort incomplete
multipart uploads after 7 days; with a retention, expire current and noncurrent versions after it;
on the platform artifacts bucket, expire superseded checkpoint versions under ``checkpoints/``
(:func:`_checkpoints_rule`); and clean up expired delete markers) and a ``BucketPolicy`` denying requests without TLS (or with
TLS older than 1.2) and, on a ``kms`` bucket, every PutObject whose headers ask for another encryption than
SSE-KMS under the platform key (``policies.kms_puts_only``: the default alone is not enforced; a header-less PUT
keeps getting it), except under the artifacts bucket's ``checkpoints/``, which SageMaker writes itself with
headers no document states (audit closing-36b-4). The policy waits for the public access block (S3 rejects concurrent changes).

Versioning off is ``Suspended``, never ``Disabled``. S3 knows only ``Enabled`` and ``Suspended``
(botocore ``s3`` ``BucketVersioningStatus``); ``Disabled`` is the provider's value for a bucket that
was never versioned, and it refuses to move a bucket back to it: "versioning_configuration.status
cannot be updated from 'Enabled' to 'Disabled'" (terraform-provider-aws
``internal/service/s3/bucket_versioning.go``, its acceptance test
``TestAccS3BucketVersioning_Status_enabledToDisabled``; pulumi-aws ``BucketVersioning``: "Disabled
should only be used when creating or importing resources that correspond to unversioned S3
buckets"). With ``Disabled``, turning a data source's versioning off failed the environment's
``pulumi preview``/``up`` while ``mlops-infra plan`` showed an ordinary update. ``Suspended`` is
valid from every state, and on a new bucket it behaves as unversioned for every object written
(S3 User Guide, "Working with objects in a versioning-suspended bucket": new objects get the version
ID ``null``); terraform-aws-modules/s3-bucket writes ``Enabled``/``Suspended`` the same way. Since a
bucket may hold versions from before a suspension, and a suspended bucket's deletes leave ``null``
delete markers (same page), the noncurrent-version expiration of a retention and the
expired-delete-marker clean-up are kept whether versioning is on or off: the retention promise
holds for versions made before versioning was turned off.

Bucket names are ``<system>-<env>-<name>-<account id>``: S3 names are global, the account suffix
keeps two accounts deploying the same system apart. Data source buckets are protected (Pulumi
``protect``) unless the spec says otherwise; S3 refuses to delete any non-empty bucket anyway.

Protection covers the whole bucket (audit finding removal-1): a protected bucket's five
configuration resources are protected too. Each references the bucket, so Pulumi deletes them
before it (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``ScheduleDeletes``: "We can only
delete a resource when all *resources that depend on it* complete deletion"), and a protected
bucket's own delete fails only when its step runs (``step.go`` ``DeleteStep.Apply``,
``deleteProtectedError``), after the other steps (``step_executor.go`` ``cancelDueToError``
continues past it). Unprotected, a ``pulumi up`` that drops the bucket from the program would strip
the kept data of its public access block (terraform-provider-aws
``resourceBucketPublicAccessBlockDelete``: ``DeletePublicAccessBlock``), its TLS-only policy
(``DeleteBucketPolicy``), its default encryption (``DeleteBucketEncryption``), its retention
(``DeleteBucketLifecycle``) and its versioning (``resourceBucketVersioningDelete``: "to 'remove'
this resource, we suspend versioning"), and still fail.

Platform buckets (:func:`platform_bucket`, audit finding removal-2) are protected: the artifacts
bucket holds the model data of every version registered in the environment's model package groups
(their ``ModelDataUrl``), the capture bucket the endpoints' request payloads. The artifacts
bucket is desired while the environment has a model, not only while a job writes to it
(:func:`keep_platform_buckets`): its registry group holds versions whose data is there, so stopping
retraining plans no delete of it. The capture bucket is desired only while some endpoint of the
environment captures (the drift jobs that read it need capture on their endpoint, validate's
``capture-required``; ``monitoring.compile_monitor`` and ``serving`` add it on use): an environment
whose endpoints never captured gets no protected, empty bucket, so removing its last endpoint deletes
nothing protected (audit closing-32b-2; it applied cleanly before the capture bucket was protected).
Removing the last capture (turning it off, or removing the last capturing endpoint) is then a
blocked delete of the six capture resources, since the captured payloads are data:
``mlops-infra apply`` refuses it (``cli/commands/apply.refuse_blocked_changes``) with its ways out:
put capture back; or copy the payloads out and unprotect and empty the bucket, then apply; or, when
nothing in the state depends on it any more, drop it from the state (``pulumi state delete
--force``). The endpoint configs that captured depend on the bucket in the state, so that last way
is printed only when it can work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_infra.compile import facts
from mlops_infra.compile.aws import policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import ResourceOptions, json_of, ref
from mlops_infra.spec.data import DataSource

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"

ABORT_MULTIPART_DAYS = 7
TRAINING_PREFIX = "training/"
"""The prefix of the artifacts bucket under which every training job writes (``training/<job>/``)."""
CHECKPOINTS_PREFIX = "checkpoints/"
"""The prefix of the artifacts bucket under which spot runs checkpoint (``training.checkpoint_uri``:
``checkpoints/<job>/<pipeline execution id>/``)."""
CHECKPOINTS_RULE = "superseded-checkpoints"
"""The id of the artifacts bucket's lifecycle rule that expires superseded checkpoint versions (:data:`CHECKPOINTS_DAYS`)."""
CHECKPOINTS_DAYS = 7
"""Days a checkpoint version stays after a newer save replaced it (audit datasources-6).

The artifacts bucket is versioned, so each save of ``checkpoints/<job>/<exec>/last.pt`` (the shipped runtime
saves to one name, ``examples/runtime/mlops_entry/checkpoints.save``) made the one before it a noncurrent version, kept and
billed forever: only a ``NoncurrentVersionExpiration`` removes those (botocore ``s3``
``NoncurrentVersionExpiration``: "Upon expiration, Amazon S3 permanently deletes the noncurrent object
versions"; ``NoncurrentDays``: "the number of days an object is noncurrent before Amazon S3 can perform the
associated action"). A resumed run reads only the current versions (SageMaker restores what is under the
``S3Uri``; a GET without a version id returns the current version), so no run ever needs a noncurrent one.
7 days, not 1: a week to fetch by version id the save before a bad one (a diverged or truncated
``last.pt``) by hand, at the cost of one week of superseded saves; the same window as
:data:`ABORT_MULTIPART_DAYS`. The rule has no ``Expiration``: the current checkpoints are never expired by it."""
_PROTECTED = ResourceOptions(protect=True)
"""The options of a protected bucket's configuration resources (immutable, one object for all)."""
PLATFORM_BUCKETS: dict[str, tuple[int | None, str]] = {
    "capture": (90, "endpoint request/response capture and drift reports"),
    "artifacts": (None, "model artifacts and training checkpoints of every training job (never expired; "
                        f"superseded checkpoint versions after {CHECKPOINTS_DAYS} days)"),
}
"""Platform bucket purpose -> (retention days, what it holds). Capture data is request payloads:
kept 90 days, long enough for drift windows and audits, short enough to limit exposure. The artifacts bucket
has no retention; its only expiry is :data:`CHECKPOINTS_RULE`'s, of superseded checkpoint versions."""


@dataclass(frozen=True)
class BucketSpec:
    """One bucket: logical prefix, physical name and posture; ``checkpoints``: the bucket holds spot
    checkpoints (the platform artifacts bucket), whose superseded versions expire (:func:`_checkpoints_rule`) and
    under whose ``checkpoints/`` PutObjects are not checked for encryption headers (``policies.kms_puts_only``)."""

    logical: str
    name: str
    encryption: str
    versioning: bool
    retention_days: int | None
    protect: bool
    checkpoints: bool = False


def bucket_name(aws: AwsContext, name: str) -> str:
    """The global S3 name of a bucket called ``name`` in this system and account; the account
    suffix survives shortening (long names are cut and hashed before it)."""
    return f"{aws.name(name, max_len=63 - len(aws.account) - 1)}-{aws.account}"


def _encryption(aws: AwsContext, spec: BucketSpec) -> dict[str, Any]:
    if spec.encryption == "kms":
        return {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                       "kmsMasterKeyId": ref(aws.key, "arn")},
                "bucketKeyEnabled": True}
    return {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}


def _lifecycle_rules(spec: BucketSpec) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{
        "id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": ABORT_MULTIPART_DAYS},
    }]
    if spec.retention_days:
        rules.append({"id": "retention", "status": "Enabled", "filter": {},
                      "expiration": {"days": spec.retention_days},
                      "noncurrentVersionExpiration": {"noncurrentDays": spec.retention_days}})
    if spec.checkpoints:
        rules.append(_checkpoints_rule())
    rules.append({"id": "expired-delete-markers", "status": "Enabled", "filter": {},
                  "expiration": {"expiredObjectDeleteMarker": True}})
    return rules


def _checkpoints_rule() -> dict[str, Any]:
    """Expire the noncurrent versions under ``checkpoints/`` :data:`CHECKPOINTS_DAYS` days after a newer save
    replaced them (audit datasources-6), and nothing else.

    Scoped by ``filter.prefix``: a rule's filter identifies the objects it applies to, and only an empty filter
    means every object in the bucket (botocore ``s3`` ``LifecycleRuleFilter``: "Prefix identifying one or more
    objects to which the rule applies ... If the Filter element is left empty, the Lifecycle Rule applies to all
    objects in the bucket"; terraform-provider-aws ``aws_s3_bucket_lifecycle_configuration``, which pulumi-aws
    ``BucketLifecycleConfiguration`` wraps: ``rule.filter.prefix``, ``rule.noncurrent_version_expiration.
    noncurrent_days``). So model artifacts (``training/<job>/``, the ``ModelDataUrl`` of registered versions)
    and ``promote``'s copies keep every version. Only ``noncurrentVersionExpiration``, no ``expiration``: the
    current version of a checkpoint (what a resumed run reads) is never expired by it."""
    return {"id": CHECKPOINTS_RULE, "status": "Enabled", "filter": {"prefix": CHECKPOINTS_PREFIX},
            "noncurrentVersionExpiration": {"noncurrentDays": CHECKPOINTS_DAYS}}


def add_secure_bucket(aws: AwsContext, spec: BucketSpec, *, parent: str, address: str) -> str:
    """Add the bucket and its five configuration resources; return the bucket URN."""
    p = spec.logical
    bucket = aws.add(BUCKET, f"{p}-bucket", {"bucket": spec.name, "forceDestroy": False},
                     parent=parent, address=address, role="bucket",
                     options=ResourceOptions(protect=spec.protect, replace_on_changes=("bucket",)))
    kept = _PROTECTED if spec.protect else None  # a protected bucket's configuration is protected too (removal-1)
    target = ref(bucket, "bucket")
    versioning = aws.add(VERSIONING, f"{p}-versioning", {
        "bucket": target,
        # off is "Suspended": the provider refuses Enabled -> "Disabled" (see the module contract)
        "versioningConfiguration": {"status": "Enabled" if spec.versioning else "Suspended"},
    }, parent=parent, address=address, role="bucket-versioning", options=kept)
    aws.add(ENCRYPTION, f"{p}-encryption", {"bucket": target, "rules": [_encryption(aws, spec)]},
            parent=parent, address=address, role="bucket-encryption", options=kept)
    block = aws.add(PUBLIC_ACCESS_BLOCK, f"{p}-public-access-block", {
        "bucket": target, "blockPublicAcls": True, "blockPublicPolicy": True,
        "ignorePublicAcls": True, "restrictPublicBuckets": True,
    }, parent=parent, address=address, role="bucket-public-access-block", options=kept)
    aws.add(LIFECYCLE, f"{p}-lifecycle", {"bucket": target, "rules": _lifecycle_rules(spec)},
            parent=parent, address=address, role="bucket-lifecycle", depends_on=[versioning], options=kept)
    # spot checkpoints are written by SageMaker with headers no document states: not enforced there (closing-36b-4)
    aws.add(POLICY, f"{p}-tls-only", {
        "bucket": target, "policy": json_of(policies.tls_only_bucket_policy(
            aws.region, spec.name, ref(aws.key, "arn") if spec.encryption == "kms" else None,
            (CHECKPOINTS_PREFIX,) if spec.checkpoints else ())),
    }, parent=parent, address=address, role="bucket-policy", depends_on=[block], options=kept)
    aws.bucket_urns[spec.name] = bucket
    return bucket


def compile_data_source(aws: AwsContext, item: DataSource) -> None:
    """A data source: its ObjectStore component and secure bucket."""
    address = f"data_sources.{item.name}"
    component = aws.ctx.component("data_sources", item.name, facts.data_source_facts(item))
    name = bucket_name(aws, item.name)
    retention = item.retention.seconds // 86400 if item.retention else None
    add_secure_bucket(aws, BucketSpec(item.name, name, item.encryption, item.versioning, retention, item.protect),
                      parent=component, address=address)
    aws.buckets[item.name] = name


def platform_bucket(aws: AwsContext, purpose: str) -> str:
    """The physical name of platform bucket ``purpose`` (capture, artifacts), added on first use,
    protected (see the module contract)."""
    if purpose not in aws.platform_buckets:
        retention, _ = PLATFORM_BUCKETS[purpose]
        name = bucket_name(aws, f"platform-{purpose}")
        add_secure_bucket(aws, BucketSpec(purpose, name, "kms", True, retention, True, purpose == "artifacts"),
                          parent=aws.platform, address="platform")
        aws.platform_buckets[purpose] = name
    return aws.platform_buckets[purpose]


def keep_platform_buckets(aws: AwsContext) -> None:
    """Add the platform buckets the environment keeps whatever uses them now (see the module
    contract): the artifacts bucket when it has a model, so that stopping retraining never plans a
    delete of the registered versions' data (which would fail on a non-empty bucket after stripping
    its configuration, audit finding removal-2); the capture bucket only when some endpoint captures
    (audit closing-32b-2: kept for every endpoint, an empty bucket the compiler added blocked the
    removal of the last endpoint). Called once, after every section compiled."""
    system = aws.ctx.system
    if system.models:
        platform_bucket(aws, "artifacts")
    if any(endpoint.capture for endpoint in system.endpoints):
        platform_bucket(aws, "capture")


def training_output(aws: AwsContext, job) -> tuple[str, str]:
    """(bucket, prefix) where ``job`` writes model artifacts (and, under ``checkpoints/<job>/``, its
    spot checkpoints): always the platform artifacts bucket, never a data source (finding B4).

    A data source's retention expires current and noncurrent versions after its days (S3 lifecycle
    ``Expiration`` / ``NoncurrentVersionExpiration``: "Amazon S3 permanently deletes" them,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html), which would
    delete the ``model.tar.gz`` of a version an endpoint still pins: the next instance replacement or
    scale-out of that endpoint then fails. The artifacts bucket has no retention
    (:data:`PLATFORM_BUCKETS`): its lifecycle aborts incomplete uploads, removes expired delete markers
    and expires only the noncurrent versions under ``checkpoints/`` (superseded spot checkpoints,
    :data:`CHECKPOINTS_DAYS`), so no version of a model artifact is ever expired. Serving roles read every job's prefix (``training/``,
    ``serving._model_reads``)."""
    return platform_bucket(aws, "artifacts"), f"{TRAINING_PREFIX}{job.name}/"
