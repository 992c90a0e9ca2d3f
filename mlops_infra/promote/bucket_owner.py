"""Which AWS account must own the buckets a promotion's copy reads and writes: S3's bucket owner condition.

Why: S3 bucket names are global, and a name says nothing of its owner (the reference's dev bucket
``<system>-dev-models`` carries no account id). A copy that reads a bucket by name alone would copy,
verify and register as the tested artifact whatever another account serves under that name, and
write the promoted copy into whichever account holds DST's bucket name.

Rule (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html, "Verifying
bucket ownership with bucket owner condition"): a request may name the account expected to own its
bucket; when another account owns it, S3 refuses the request with 403 ``AccessDenied``. In botocore's
``s3`` ``2006-03-01`` ``service-2.json`` it is the member ``ExpectedBucketOwner`` (header
``x-amz-expected-bucket-owner``: "If the account ID that you provide does not match the actual owner
of the bucket, the request fails with the HTTP status code 403 Forbidden (access denied)") of the
input of every call the copy makes: ``ListObjectsV2``, ``HeadObject``, ``GetObject`` on SRC's bucket;
``HeadObject``, ``PutObject``, ``CreateMultipartUpload``, ``UploadPart``, ``CompleteMultipartUpload``,
``AbortMultipartUpload``, ``ListObjectsV2`` and ``GetObject`` on DST's. (``CopyObject`` and
``UploadPartCopy`` would also need ``ExpectedSourceBucketOwner``, header
``x-amz-source-expected-bucket-owner``, for their source bucket; a promotion never calls them: a
cross-account copy goes through this process, a GET from SRC and a PUT to DST.)

Contract:
- :func:`expect_owner` makes one S3 client send ``ExpectedBucketOwner=<account>`` on every call whose
  input has that member (the call's own value, if it gives one, is kept). It registers a
  ``provide-client-params.s3`` handler on that client only: botocore copies the session's event
  emitter for each client (``botocore/args.py`` ``ClientArgsCreator.get_client_args``:
  ``event_emitter = copy.copy(self._event_emitter)``) and emits the event with the call's parameters
  before they are validated and serialized (``botocore/client.py`` ``BaseClient._emit_api_params``).
  So the calls boto3's ``upload_fileobj`` makes (s3transfer's multipart upload) and those of
  :mod:`mlops_infra.promote.digests` carry it too, with no edit at each call.
- The account is the one each environment declares (``target.account`` of an AWS environment),
  and only for a bucket that environment's own compiled graph creates (:func:`created_buckets`): a
  bucket mlops-infra creates there is in that account by construction, while any other bucket (a
  model's ``artifacts_uri``, which may be another account's: the llm-platform example's reranker
  imports live in the prod account's ``llm-platform-model-imports-444444444444``, read and written
  by staging too; finding closing-32a-1) has no owner the spec states, and naming the environment's
  account there made S3 refuse every request with 403. SRC's for its reads, DST's for its writes
  and reads; so do the reads that compute an AWS SRC's missing digest
  (:func:`mlops_infra.promote.registries.aws_digests`) and the preview's read of the files of SRC's
  artifact for the serving contract (one client with the copy's:
  :func:`mlops_infra.promote.source_store.source_client`). An environment that names no account (a
  Kubernetes target: its store may be MinIO, or an S3 bucket of any account), and a bucket its graph
  does not create, are not checked, and :func:`owners` says so in words the report shows: the gap
  is never silent.
- moto (5.2.5, the tests' server) does not enforce the condition: ``moto/s3/responses.py`` reads no
  ``x-amz-expected-bucket-owner`` header (the only ``expected_bucket_owner`` in ``moto/s3/models.py``
  is an unused argument of ``get_bucket_inventory_configuration``). The tests therefore record, on a
  real moto run, the parameters every S3 call of the promotion carries.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from mlops_infra.s3_uri import bucket_of, bucket_uri

MEMBER = "ExpectedBucketOwner"


def expect_owner(s3: Any, account: str | None, buckets: Collection[str]) -> Any:
    """``s3`` (a botocore S3 client), sending ``ExpectedBucketOwner=account`` on every call that takes
    it and names one of ``buckets`` from now on (see the module contract); unchanged when ``account``
    is None or ``buckets`` is empty."""
    if account and buckets:
        known = frozenset(buckets)

        def owned(params: dict[str, Any], model: Any, **_: Any) -> None:
            if params.get("Bucket") in known and MEMBER in (model.input_shape.members if model.input_shape is not None
                                                            else ()):
                params.setdefault(MEMBER, account)

        s3.meta.events.register("provide-client-params.s3", owned,
                                unique_id=f"mlops-infra-bucket-owner-{account}-{','.join(sorted(known))}")
    return s3


def created_buckets(graph: Any) -> frozenset[str]:
    """The names of the S3 buckets a compiled graph creates (``aws:s3/bucket:Bucket``, input ``bucket``):
    those an AWS environment's account owns (see the module contract)."""
    return frozenset(str(r.inputs.get("bucket")) for r in graph.resources if r.type == "aws:s3/bucket:Bucket")


def owners(src: str, src_target: Any, dst: str, dst_target: Any, source_uri: str, destination_uri: str,
           src_buckets: Collection[str], dst_buckets: Collection[str]) -> dict[str, Any]:
    """The ``copy-artifact`` step's owner details (``src_target``, ``dst_target``: each environment's
    ``target``; ``src_buckets``, ``dst_buckets``: the buckets each environment's graph creates,
    :func:`created_buckets`): ``sourceOwner`` and ``destinationOwner`` (the account that must own
    the bucket, or None), and ``ownerNotChecked`` (a sentence) for each that is None."""
    found: dict[str, Any] = {}
    gaps = []
    for env, target, uri, key, created in ((src, src_target, source_uri, "sourceOwner", src_buckets),
                                           (dst, dst_target, destination_uri, "destinationOwner", dst_buckets)):
        account = _account(target)
        found[key] = account if account and bucket_of(uri) in created else None
        if account is None:
            gaps.append(f"{env} names no AWS account ({target.kind} target), so the owner of {_bucket(uri)} is not "
                        "checked: S3 bucket names are global, and an object another account serves under that name "
                        "would be copied")
        elif found[key] is None:
            gaps.append(f"{_bucket(uri)} is not a bucket {env} creates (a model's artifacts_uri may be another "
                        "account's), so its owner is not checked")
    if gaps:
        found["ownerNotChecked"] = "; ".join(gaps)
    return found


def describe(detail: dict[str, Any]) -> str:
    """One line saying which account must own which side's bucket, and what is not checked."""
    said = [f"{side}'s bucket must be owned by {detail[key]}"
            for side, key in (("SRC", "sourceOwner"), ("DST", "destinationOwner")) if detail.get(key)]
    text = f"bucket owner: {', '.join(said)} (ExpectedBucketOwner)" if said else ""
    gap = detail.get("ownerNotChecked")
    return f"{text}; {gap}" if text and gap else text or (f"bucket owner: {gap}" if gap else "")


def denied_hint(detail: dict[str, Any]) -> str:
    """What a 403 of the copy may mean when it carried the owner condition (S3 does not say which)."""
    said = [f"{side}'s bucket is owned by {detail[key]}"
            for side, key in (("SRC", "sourceOwner"), ("DST", "destinationOwner")) if detail.get(key)]
    if not said:
        return ""
    return (f" (the requests carried ExpectedBucketOwner, which S3 answers with 403 AccessDenied when the bucket "
            f"has another owner: check that {' and '.join(said)}, and that the role may read or write it)")


def _account(target: Any) -> str | None:
    return getattr(target, "account", None) if target.kind == "aws" else None


def _bucket(uri: str) -> str:
    """``s3://<bucket>`` of ``uri`` for a message (:func:`mlops_infra.s3_uri.bucket_uri`); "its store" for none."""
    return bucket_uri(uri, "its store")
