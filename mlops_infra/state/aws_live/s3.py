"""S3 buckets and their configuration resources (versioning, encryption, public access block,
lifecycle, policy), and the objects the stack writes (the drift job's contract file): pure ``map_*``
mappers, ``_read_*`` readers and their :data:`READERS` entries.

Configuration resources are keyed by the bucket name (their id); a bucket without tags reads as
``tags: {}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.retry import error_code
from mlops_infra.state.aws_live.shapes import drop_none, pulumi_shape, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_bucket_versioning(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketVersioning`` -> ``versioningConfiguration`` (never enabled = ``Disabled``)."""
    config = {"status": response.get("Status") or "Disabled"}
    if response.get("MFADelete"):
        config["mfaDelete"] = response["MFADelete"]
    return {"versioningConfiguration": config}


def map_bucket_encryption(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketEncryption`` -> ``rules: [{applyServerSideEncryptionByDefault, bucketKeyEnabled}]``.

    A bucket always has a default encryption: "By default, all buckets have a default encryption
    configuration that uses server-side encryption with Amazon S3 managed keys (SSE-S3)" (botocore
    ``s3`` ``GetBucketEncryption``), and ``DeleteBucketEncryption`` "resets the default encryption for
    the bucket as server-side encryption with Amazon S3 managed keys (SSE-S3)". So an encryption
    configuration deleted in the console reads as ``AES256`` rules and drift reports a change
    (``sseAlgorithm aws:kms -> AES256``), not a removal; the configuration is missing only with its
    bucket (``NoSuchBucket``). The moto stand-in answers the same (``tests/support/moto_server.py``,
    patch 14)."""
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    return {"rules": [_sse_rule(rule) for rule in rules]}


def _sse_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    out: dict[str, Any] = {}
    if default:
        out["applyServerSideEncryptionByDefault"] = drop_none({
            "sseAlgorithm": default.get("SSEAlgorithm"),
            "kmsMasterKeyId": default.get("KMSMasterKeyID"),
        })
    if "BucketKeyEnabled" in rule:
        out["bucketKeyEnabled"] = rule["BucketKeyEnabled"]
    return out


def map_public_access_block(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetPublicAccessBlock`` -> the four booleans."""
    return pulumi_shape(response.get("PublicAccessBlockConfiguration", {}))


def map_bucket_lifecycle(response: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketLifecycleConfiguration`` -> ``rules`` (``ID`` -> ``id``, nested blocks as objects)."""
    return {"rules": pulumi_shape(response.get("Rules", []))}


def _read_bucket(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    try:
        tags = tag_map(client.get_bucket_tagging(Bucket=res.id).get("TagSet"))
    except Exception as error:
        if error_code(error) != "NoSuchTagSet":
            raise
        tags = {}
    return Reading({"bucket": res.id, "tags": tags}, {"arn": f"arn:aws:s3:::{res.id}"})


def _read_bucket_versioning(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, **map_bucket_versioning(client.get_bucket_versioning(Bucket=res.id))})


def _read_bucket_encryption(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, **map_bucket_encryption(client.get_bucket_encryption(Bucket=res.id))})


def _read_public_access_block(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    response = client.get_public_access_block(Bucket=res.id)
    return Reading({"bucket": res.id, **map_public_access_block(response)})


def _read_bucket_lifecycle(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    response = client.get_bucket_lifecycle_configuration(Bucket=res.id)
    return Reading({"bucket": res.id, **map_bucket_lifecycle(response)})


def _read_bucket_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return Reading({"bucket": res.id, "policy": client.get_bucket_policy(Bucket=res.id).get("Policy")})


OBJECT_READ_MAX = 1 << 20
"""The most bytes of an object's body read back for drift: the objects the stack writes are small JSON
documents (a drift contract: columns and types); a larger body is read no further."""


def _read_object(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    """An ``aws:s3/bucketObjectv2`` the stack wrote (the drift contract file, ``compile/aws/monitoring.py``
    ``add_contract``), by its ``bucket`` and ``key`` inputs: ``HeadObject`` (gone on 404), its body
    (``GetObject``, at most :data:`OBJECT_READ_MAX` bytes, as text: ``content``), ``contentType`` and its tags
    (``GetObjectTagging``), so an object replaced or edited by hand is drift."""
    inputs = res.inputs
    bucket, key = inputs.get("bucket"), inputs.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        return None
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read(OBJECT_READ_MAX).decode("utf-8", "replace")
    tags = tag_map(client.get_object_tagging(Bucket=bucket, Key=key).get("TagSet"))
    return Reading(drop_none({"bucket": bucket, "key": key, "content": body, "contentType": head.get("ContentType"),
                              "tags": tags}), drop_none({"etag": head.get("ETag")}))


READERS: dict[str, Reader] = {
    "aws:s3/bucket:Bucket": Reader("s3", Tracking("bucket", (TAGS,)), read_one=_read_bucket),
    "aws:s3/bucketVersioning:BucketVersioning": Reader("s3", Tracking("bucket", (
        T("versioningConfiguration.status", "versioning"),
        T("versioningConfiguration.mfaDelete", "MFA delete", computed=True),
    ), gone="versioning configuration removed", subject="id"), read_one=_read_bucket_versioning),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Reader(
        "s3", Tracking("bucket", (T("rules", "encryption"),), gone="encryption removed", subject="id"),
        read_one=_read_bucket_encryption),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Reader("s3", Tracking("bucket", (
        T("blockPublicAcls", "block public ACLs", default=False),
        T("blockPublicPolicy", "block public policy", default=False),
        T("ignorePublicAcls", "ignore public ACLs", default=False),
        T("restrictPublicBuckets", "restrict public buckets", default=False),
    ), gone="public access block removed", subject="id"), read_one=_read_public_access_block),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Reader("s3", Tracking("bucket", (
        T("rules", "lifecycle rules", "keyed:id"),
    ), gone="lifecycle rules removed", subject="id"), read_one=_read_bucket_lifecycle),
    "aws:s3/bucketPolicy:BucketPolicy": Reader("s3", Tracking("bucket", (
        T("policy", "bucket policy", "policy"),
    ), gone="bucket policy removed", subject="id"), read_one=_read_bucket_policy),
    "aws:s3/bucketObjectv2:BucketObjectv2": Reader("s3", Tracking("object", (
        T("content", "content"), T("contentType", "content type"), TAGS,
    )), read_one=_read_object),
}
