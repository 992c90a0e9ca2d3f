"""The artifact digest of a SageMaker model package registered without one (an AWS-trained model).

A model a SageMaker training job produced and a pipeline's ``RegisterModel`` step registered carries
no ``CustomerMetadataProperties["mlops-infra/artifact-digest"]``, so promotion could not recognise it
in another registry. :func:`complete_digests` obtains the digest from the artifact itself and
records it on the package, so it is computed once.

Contract of :func:`complete_digests` (the edge: boto3 clients of SRC's account passed in):

- Only the versions asked for (those SRC's endpoints pin) are looked at; a version whose package
  carries a digest that training code recorded at registration (no :data:`DIGEST_SOURCE_PROPERTY`
  and no :data:`SOURCE_PROPERTY` beside it) is taken as recorded. A digest with a fingerprint is
  checked against it (below): the promotion's own ``register-version`` step records the fingerprint
  of the copies whose bytes it verified (:mod:`mlops_infra.promote.artifacts`), so a package it
  registered is re-checked like an AWS-trained one. A package a promotion registered without a
  fingerprint (:data:`SOURCE_PROPERTY` only: mlops-infra before it hashed the copies) holds a digest
  nobody checked against its bytes (audit finding promote-1): it is computed and checked (below).
- The artifact is where the package's container says (botocore ``ModelPackageContainerDefinition``;
  exactly one container may carry model data): ``ModelDataUrl`` (one S3 object, the
  ``model.tar.gz`` a training job writes) or ``ModelDataSource.S3DataSource`` (``S3Uri`` with
  ``S3DataType`` ``S3Object``, or ``S3Prefix``: every object under the prefix). Other stores are
  refused.
- The digest is the one the training runtime puts on MLflow versions
  (``examples/runtime/mlops_entry/objects.py`` ``artifact_digest``): ``sha256:`` of the manifest,
  one line ``<sha256 of the object>  <path>`` per object sorted by path, the path relative to the
  prefix (for one object: its name), so the same files have the same digest in any store, and the
  copy the ``copy-artifact`` step makes (same names) has it too. A folder marker is not an object of
  the artifact (:func:`artifact_keys`): a key ending in ``/`` (the S3 console's "Create folder") or in
  ``_$folder$`` (Hadoop's S3 file systems, EMRFS ``s3://``/``s3n://``), the one definition
  :func:`mlops_infra.compile.aws.retrain_gate.is_folder_marker`, which the training runtime's download
  skips too (``examples/runtime/mlops_entry/objects.py`` ``download_prefix``), so the digest of the
  files a model was trained to write is the same whether or not a tool left markers beside them.
- Each object's SHA-256 comes from S3 without reading it when S3 holds one for the whole object:
  ``HeadObject`` with ``ChecksumMode=ENABLED`` returns ``ChecksumSHA256`` (base64 of the SHA-256) of
  an object uploaded with a SHA-256 checksum; with ``ChecksumType`` ``COMPOSITE`` (a multipart
  upload: a checksum of the parts' checksums, written ``...-<parts>``) it is not the object's, and
  the object is streamed instead: ``GetObject`` with ``IfMatch`` the ETag just read (a 412 if it
  changed meanwhile), hashed in 1 MiB chunks, never held whole
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, botocore ``HeadObjectOutput``
  ``ChecksumSHA256``/``ChecksumType``, ``GetObjectRequest`` ``IfMatch``).
- The digest is recorded with ``UpdateModelPackage`` (botocore ``UpdateModelPackageInput``
  ``CustomerMetadataProperties``: the package's properties are sent whole, ours added, so they are
  kept whether the call merges or replaces them), together with :data:`DIGEST_SOURCE_PROPERTY`:
  ``s3-etags:sha256:<hex>``, the SHA-256 of the lines ``<ETag>  <path>``. A recorded digest is used
  while the objects' ETags still give that fingerprint (one ``HeadObject`` per object); when they do
  not (or a promotion recorded it without a fingerprint), the digest is computed: equal to the recorded
  one (the objects were rewritten with the same bytes, e.g. copied in place), the new fingerprint is
  recorded; different, the promotion is refused (:class:`~mlops_infra.errors.UserError`, the package
  left as it is): the version's objects changed after it was registered, and perhaps tested and
  approved, so promoting it would carry bytes nobody tested under its number (closing audit
  closing-b-1: recording the new digest let an overwrite in staging's promoted copy reach prod).
  A digest is computed and recorded without a check only for a package that carried none (an
  AWS-trained model, the first time). ``ModelApprovalStatus`` is not sent: the approval stays as it is. When recording is refused (no ``sagemaker:UpdateModelPackage``), the digest
  is used anyway and the note says it will be computed again next time.
- Anything that cannot be read fails closed: :class:`~mlops_infra.errors.UserError` naming the
  version, the package and the error, so the promotion is refused rather than guess.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.aws.retrain_gate import is_folder_marker
from mlops_infra.errors import UserError
from mlops_infra.model_versions import DIGEST_PROPERTY, RegistryView, container_model_data
from mlops_infra.s3_uri import in_s3, split

DIGEST_SOURCE_PROPERTY = "mlops-infra/artifact-digest-of"
"""Customer metadata beside a digest mlops-infra computed: the fingerprint of the objects it was
computed from (``s3-etags:sha256:<hex>``)."""
SOURCE_PROPERTY = "mlops-infra/promoted-from"
"""Customer metadata of a package a promotion registered: ``<SRC> v<number>``."""
CHUNK = 1 << 20


@dataclass(frozen=True)
class ArtifactObject:
    """One S3 object of an artifact: ``path`` relative to the artifact (its name for one object)."""

    bucket: str
    key: str
    path: str
    etag: str
    sha256: str | None
    """Hex SHA-256 of the whole object when S3 holds it (a full-object ``ChecksumSHA256``), else None."""


def complete_digests(view: RegistryView, wanted: Mapping[str, set[int]], *, sagemaker: Any, s3: Any,
                     ) -> tuple[RegistryView, tuple[str, ...]]:
    """``view`` with a digest on every wanted version that has a package, and notes on what was
    computed or recorded (see the module contract)."""
    from mlops_infra.state.aws_live.retry import describe_error

    models = dict(view.models)
    notes: list[str] = []
    for model, versions in sorted(wanted.items()):
        registry = models.get(model)
        if registry is None or registry.basis != "registry":
            continue
        records = dict(registry.versions)
        for number in sorted(versions):
            record = records.get(number)
            if record is None or not record.arn:
                continue
            try:
                digest, note = _digest_of(sagemaker, s3, record.arn, f"{model} v{number}")
            except UserError:
                raise
            except Exception as error:
                raise UserError(f"cannot obtain the artifact digest of {model} v{number} in {registry.where}",
                                f"{describe_error(error)}\nThe promotion needs the digest to recognise the artifact in "
                                f"another registry. Grant read access to the package {record.arn} and its "
                                "artifact, or record the digest on the package (CustomerMetadataProperties "
                                f"{DIGEST_PROPERTY}).") from None
            if note:
                notes.append(note)
            records[number] = dataclasses.replace(record, digest=digest)
        models[model] = dataclasses.replace(registry, versions=records)
    return dataclasses.replace(view, models=models), tuple(notes)


def _digest_of(sagemaker: Any, s3: Any, arn: str, name: str) -> tuple[str, str | None]:
    """(digest, note) of one package (see the module contract)."""
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    properties = dict(package.get("CustomerMetadataProperties") or {})
    recorded, recorded_of = properties.get(DIGEST_PROPERTY), properties.get(DIGEST_SOURCE_PROPERTY)
    unchecked = bool(recorded) and not recorded_of and SOURCE_PROPERTY in properties
    if recorded and not recorded_of and not unchecked:
        return recorded, None
    uri, prefix = artifact_location(package, name)
    objects = list_artifact(s3, uri, prefix)
    of = fingerprint(objects)
    if recorded and recorded_of == of:
        return recorded, None
    streamed = [o for o in objects if o.sha256 is None]
    hashed = [dataclasses.replace(o, sha256=o.sha256 or stream_sha256(s3, o)) for o in objects]
    digest = manifest_digest(hashed)
    how = (f"{len(objects) - len(streamed)} object(s) by their S3 SHA-256 checksum, {len(streamed)} streamed"
           if streamed else f"{len(objects)} object(s) by their S3 SHA-256 checksum")
    if recorded and digest != recorded:
        raise UserError(
            f"{name}: its artifact at {uri} is not the one registered: {arn} records {recorded}, its objects now "
            f"give {digest}",
            "The objects changed after the version was registered (and perhaps tested and approved), so what was "
            "tested is not what would be promoted. The package was left as it is. Restore the registered objects, "
            "or register the current ones as a new version (a training run, or promote them again from where they "
            "were tested).")
    why = ("a promotion recorded its digest without checking its objects: they match it" if unchecked
           else "its objects were rewritten with the same content (new ETags)" if recorded else "it carried none")
    properties.update({DIGEST_PROPERTY: digest, DIGEST_SOURCE_PROPERTY: of})
    try:
        sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=properties)
    except Exception as error:
        from mlops_infra.state.aws_live.retry import describe_error

        return digest, (f"{name}: artifact digest computed from {uri} ({why}; {how}); not recorded on the package "
                        f"({describe_error(error)}), so it is computed again next time")
    return digest, f"{name}: artifact digest computed from {uri} ({why}; {how}) and recorded on {arn}"


def artifact_location(package: Mapping[str, Any], name: str) -> tuple[str, bool]:
    """``(s3 URI, is a prefix)`` of the package's model data (see the module contract)."""
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    with_data = [uri for uri, _ in map(container_model_data, containers) if uri]
    if len(with_data) != 1:
        raise UserError(f"cannot tell which artifact {name} is: {len(with_data)} of its containers carry model data",
                        f"Record its digest on the package (CustomerMetadataProperties {DIGEST_PROPERTY}).")
    uri = with_data[0]
    if not in_s3(uri):
        raise UserError(f"cannot compute the artifact digest of {name}: its model data is not in S3 ({uri or 'none'})",
                        f"Record its digest on the package (CustomerMetadataProperties {DIGEST_PROPERTY}).")
    return uri, uri.endswith("/")


def list_artifact(s3: Any, uri: str, prefix: bool) -> list[ArtifactObject]:
    """The artifact's objects with their ETags and, where S3 holds one, their full-object SHA-256
    (``uri``: an ``s3://`` URI, as :func:`artifact_location` checked; anything else names no bucket)."""
    bucket, key = split(uri) or ("", "")
    if not prefix:
        return [_object(s3, bucket, key, key.rsplit("/", 1)[-1])]
    keys = [o["Key"] for o in artifact_keys(s3, bucket, key)]
    if not keys:
        raise UserError(f"no objects under {uri}", "The package's artifact is missing: the digest cannot be computed.")
    return [_object(s3, bucket, k, k[len(key):]) for k in keys]


def artifact_keys(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The ``ListObjectsV2`` ``Contents`` items under ``prefix`` in ``bucket``, page after page as they are
    read, folder markers left out (:func:`~mlops_infra.compile.aws.retrain_gate.is_folder_marker`: keys
    ending in ``/`` or ``_$folder$`` hold nothing; module contract)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from (o for o in page.get("Contents") or () if not is_folder_marker(o["Key"]))


def artifact_layout(s3: Any, uri: str) -> tuple[str, bool]:
    """``(uri, is a folder)`` of an ``s3://`` artifact URI as the store holds it, a folder's URI with its
    trailing ``/``; :class:`~mlops_infra.errors.UserError` naming both reads when it holds neither.

    A URI ending in ``/`` (or naming the bucket) is a folder as written. Otherwise the name alone
    does not tell: MLflow registers a version's ``source`` without a trailing ``/`` (mlflow 3.14
    ``tracking/_model_registry/fluent.py`` ``_register_model``: ``runs:/<run>/model`` becomes
    ``s3://<bucket>/<exp>/<run>/artifacts/model``, a folder), and S3 has no folders, only keys. So S3
    is asked, in MLflow's order (it reads a source as an artifact repository root:
    ``S3ArtifactRepository.list_artifacts`` lists ``dest_path + "/"``):

    - objects under ``<key>/`` (``ListObjectsV2`` ``Prefix``, botocore ``s3`` ``ListObjectsV2Request.Prefix``:
      "Limits the response to keys that begin with the specified prefix"; the ``/`` keeps ``churn/1``
      from taking ``churn/10/...`` and ``model`` from taking ``model_v2/...``), folder markers
      (:func:`artifact_keys`: keys ending in ``/`` or ``_$folder$``) not counted: a folder, ``<uri>/``;
    - else the exact key (``HeadObject``): one object, ``uri``;
    - else (``HeadObject`` 404: "If you have the s3:ListBucket permission on the bucket, Amazon S3
      returns an HTTP status code 404", botocore ``s3`` ``HeadObject``; the listing just needed that
      permission) neither. Any other error is raised as it is.
    """
    bucket, key = split(uri) or ("", "")  # the callers checked it is s3:// (contracts._files, artifacts._split)
    if not key or key.endswith("/"):
        return uri, True
    if next(artifact_keys(s3, bucket, f"{key}/"), None) is not None:  # the first page holding an object
        return f"{uri}/", True
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        from mlops_infra.state.aws_live.retry import is_not_found

        if not (is_not_found(error) or "404" in str(error)):
            raise
        raise UserError(f"{uri} is neither a folder (no object under {uri}/: ListObjectsV2) nor an object "
                        f"(HeadObject {uri}: 404)",
                        "The version's artifact is not in this store: restore it, or register the version with "
                        "the URI of its artifact (a folder, or one object).") from None
    return uri, False


def _object(s3: Any, bucket: str, key: str, path: str) -> ArtifactObject:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return ArtifactObject(bucket, key, path, str(head.get("ETag", "")).strip('"'), full_object_sha256(head))


def full_object_sha256(head: Mapping[str, Any]) -> str | None:
    """Hex SHA-256 of the whole object from a ``HeadObject`` answer, or None when S3 holds none
    (no SHA-256 checksum, or a composite one of a multipart upload)."""
    value = head.get("ChecksumSHA256")
    if not value or head.get("ChecksumType") == "COMPOSITE" or "-" in str(value):
        return None
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def stream_sha256(s3: Any, obj: ArtifactObject) -> str:
    """Hex SHA-256 of the object read in chunks (``GetObject`` ``IfMatch`` its ETag)."""
    body = s3.get_object(Bucket=obj.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in body.iter_chunks(CHUNK):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def manifest_digest(objects: list[ArtifactObject]) -> str:
    """``sha256:`` of the manifest of ``objects`` (each with its SHA-256; see the module contract)."""
    lines = "".join(f"{o.sha256}  {o.path}\n" for o in sorted(objects, key=lambda o: o.path))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def fingerprint(objects: list[ArtifactObject]) -> str:
    """``s3-etags:sha256:<hex>`` of the objects' ETags and paths: what :data:`DIGEST_SOURCE_PROPERTY` holds."""
    lines = "".join(f"{o.etag}  {o.path}\n" for o in sorted(objects, key=lambda o: o.path))
    return "s3-etags:sha256:" + hashlib.sha256(lines.encode()).hexdigest()
