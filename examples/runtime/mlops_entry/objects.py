"""S3 reads and writes on Kubernetes (the object-store ConfigMap/Secret give AWS_* and
``AWS_ENDPOINT_URL`` to boto3), and the MLflow registration of a trained model (REST API 2.0)."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import urllib.request
from pathlib import Path

DIGEST_TAG = "mlops-infra.artifact-digest"
APPROVAL_TAG = "mlops-infra.approval"
"""The registered model's approval mode (manual | automatic), set by mlops-infra's register Job."""
APPROVAL_STATUS_TAG = "mlops-infra.approval-status"
"""A version's approval: ``approved`` (or ``rejected``); what mlops-infra reads as MLflow's approval."""
"""The MLflow version tag holding the artifact's digest: how ``mlops-infra promote`` recognises the
artifact in another environment's registry (mlops_infra/promote/registries.py reads it)."""


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


FOLDER_MARKER_SUFFIXES = ("/", "_$folder$")
"""The S3 console's folder marker (``<folder>/``) and Hadoop's (``<folder>_$folder$``): keys that hold no
data (:func:`download_prefix`). mlops-infra's one definition is ``mlops_infra/compile/aws/retrain_gate.py``
``FOLDER_MARKER_SUFFIXES`` (the retrain gate's freshness, the promotion's digest); this runtime is shipped
without mlops-infra, so it holds the same tuple, and a test keeps the two equal."""
UNCOMMITTED_FOLDERS = ("_temporary", "__magic", ".spark-staging-")
"""Folder names (each the name or its start) holding a Hadoop/Spark job's output not committed yet:
Hadoop ``FileOutputCommitter.PENDING_DIR_NAME`` (``_temporary``), the S3A committers' ``MAGIC_DIR_NAME``
(``__magic``), Spark's dynamic partition overwrite staging folder (``HadoopMapReduceCommitProtocol``:
``new Path(path, ".spark-staging-" + jobId)``). A killed job leaves part files there that are not the data
source's data (:func:`download_prefix` skips them). mlops-infra's definition is
``mlops_infra/compile/aws/retrain_gate.py`` ``UNCOMMITTED_FOLDERS`` (the retrain gate's freshness leaves
them out); a test keeps the two equal."""
DEFAULT_REGION = "us-east-1"
"""The signing region when neither the environment nor the store names one (MinIO's default region)."""
_REGIONS: dict[tuple[str | None, str], str] = {}


def is_folder_marker(key: str) -> bool:
    """``key`` is a folder marker (:data:`FOLDER_MARKER_SUFFIXES`), not a file."""
    return key.endswith(FOLDER_MARKER_SUFFIXES)


def is_uncommitted(key: str, prefix: str = "") -> bool:
    """``key`` lies in a folder below ``prefix`` that holds uncommitted output (:data:`UNCOMMITTED_FOLDERS`)."""
    folders = key.removeprefix(prefix).split("/")[:-1]
    return any(folder.startswith(UNCOMMITTED_FOLDERS) for folder in folders)


def bucket_region(bucket: str, env: dict[str, str]) -> str:
    """The region to sign requests to ``bucket`` in: ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` of ``env``
    when set, else the one S3 says the bucket is in, else :data:`DEFAULT_REGION`.

    Neither variable is promised in a SageMaker training container (the SageMaker Training Toolkit
    reads ``AWS_REGION`` and falls back to its own ``SAGEMAKER_REGION``, set from the SDK's
    ``sagemaker_region`` hyperparameter: ``src/sagemaker_training/environment.py``, ``files.py``; its
    issue #207 asks for a variable naming the job's region), and the compiled Train step passes none
    (``mlops_infra/compile/aws/training.py`` ``training_environment``); on Kubernetes the object-store
    Secret gives ``AWS_ENDPOINT_URL`` and credentials, a region only if the platform adds one. A client
    pinned to us-east-1 sends every first request for a bucket elsewhere to the wrong region and relies
    on botocore's redirect handling (``botocore.utils.S3RegionRedirectorv2``, "considered private")
    to resend it, once per client, so once per call here. So S3 is asked once per bucket and endpoint
    (the answer is kept for the process): "You can make a HeadBucket call on any bucket name to any
    Region in the partition, and regardless of the permissions on the bucket, you will receive a
    response header with the correct bucket location so that you can then make a proper, signed request
    to the appropriate Regional endpoint" (S3 API Reference, HeadBucket; botocore ``s3``
    ``HeadBucketOutput.BucketRegion``, header ``x-amz-bucket-region``), read from an error answer too.
    A store that names no region in its answer (some S3-compatible stores) is signed for
    :data:`DEFAULT_REGION`."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        return region
    endpoint = env.get("AWS_ENDPOINT_URL") or None
    if (endpoint, bucket) not in _REGIONS:
        import boto3
        from botocore.exceptions import ClientError

        probe = boto3.client("s3", endpoint_url=endpoint, region_name=DEFAULT_REGION)
        try:
            answer = probe.head_bucket(Bucket=bucket)
        except ClientError as error:
            answer = error.response
        headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        _REGIONS[(endpoint, bucket)] = headers.get("x-amz-bucket-region") or DEFAULT_REGION
    return _REGIONS[(endpoint, bucket)]


def _client(env: dict[str, str], bucket: str):
    import boto3

    return boto3.client("s3", endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
                        region_name=bucket_region(bucket, env))


def download_prefix(uri: str, into: Path, env: dict[str, str]) -> Path:
    """Every object under ``uri`` into the folder ``into``, at its key relative to the prefix.

    A key ending in ``/`` is a folder marker, not a file: "When you create a folder in Amazon S3, S3
    creates a 0-byte object with a key that's set to the folder name that you provided ... the Amazon
    S3 console creates a 0-byte object with the key photos/" (S3 User Guide, "Organizing objects in the
    Amazon S3 console by using folders", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-folders.html:
    "The Amazon S3 console treats all objects that have a forward slash (/) character as the last
    (trailing) character in the key name as a folder"). ``ListObjectsV2`` lists it like any object;
    written as a file it took the name the folder's other objects need (``FileExistsError``, audit
    datasources-5). It becomes a folder here; the SageMaker Python SDK's local mode, which downloads a
    training channel's prefix the same way, skips it too (aws/sagemaker-python-sdk PR #252, then
    ``src/sagemaker/local/image.py`` ``_download_folder``, now ``sagemaker-core/src/sagemaker/core/common_utils.py``
    ``_download_files_under_prefix``: "if obj_sum is a folder object skip it", ``key.endswith("/")``).

    Hadoop's S3 file systems (EMRFS ``s3://``, ``s3n://``) mark a folder with a 0-byte key ``<folder>_$folder$``
    beside it (Apache Hadoop ``hadoop-tools/hadoop-aws/.../fs/s3native/NativeS3FileSystem.java``: ``mkdir`` stores
    an empty ``pathToKey(f) + FOLDER_SUFFIX``, ``FOLDER_SUFFIX = "_$folder$"``, which ``listStatus`` reads as a
    directory; AWS Knowledge Center "emr-s3-empty-files": "Apache Hadoop creates these files when you use the
    -mkdir command to create a folder in an S3 bucket"). Written as a file it is a 0-byte "data" file beside the
    partition that a directory reader would open (pyarrow's dataset discovery ignores only names starting with
    ``.`` or ``_``; audit closing-36b-3): it is skipped, no file is written.

    A key in a folder of a job's uncommitted output (:func:`is_uncommitted`: ``_temporary/``, ``__magic*/``,
    ``.spark-staging-*/`` below the prefix) is a killed or running Hadoop/Spark job's part file, not the data
    source's data: it is skipped, as the retrain gate's freshness leaves it out (audit closing-37a-2), so a
    reader globbing the folder (``rglob("*.csv")``) does not train on it."""
    bucket, prefix = _split(uri)
    client = _client(env, bucket)
    into.mkdir(parents=True, exist_ok=True)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            target = into / item["Key"][len(prefix):].lstrip("/")
            if is_uncommitted(item["Key"], prefix):
                continue
            if is_folder_marker(item["Key"]):
                if item["Key"].endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(target))
    return into


def upload_folder(folder: Path, uri: str, env: dict[str, str]) -> None:
    bucket, prefix = _split(uri)
    client = _client(env, bucket)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, prefix + path.relative_to(folder).as_posix())


def artifact_digest(folder: Path) -> str:
    """``sha256:`` of the folder's manifest: one line ``<sha256 of the file>  <relative path>`` per
    file, sorted by path (``sha256sum``'s format), so the same files give the same digest wherever
    they are stored (the promotion copies them between stores unchanged)."""
    lines = []
    for path in sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {path.relative_to(folder).as_posix()}\n")
    return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()


def _mlflow(tracking_uri: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


REGISTER_ATTEMPTS = 5
"""How many numbers :func:`register` tries before giving up (each miss is a concurrent registration or a
deleted version's number: one more attempt takes the next)."""


def register(folder: Path, model: str, prefix: str, env: dict[str, str]) -> int:
    """The registration contract (docs/compile-kubernetes.md 3.3): MLflow model version ``<version>`` whose
    ``source`` is ``<prefix><version>/``, holding the serving artifact, with the artifact's digest
    (:func:`artifact_digest`) in its tag :data:`DIGEST_TAG`. A version of a model whose registered-model tag
    :data:`APPROVAL_TAG` is ``automatic`` (set by mlops-infra's register Job from the spec's ``approval``)
    gets :data:`APPROVAL_STATUS_TAG` ``approved``: MLflow has no approval state of its own, and mlops-infra
    serves a version of a gated model only when that tag says so (``mlops_infra/state/mlflow_registry.py``);
    a manual model's versions wait for a person to set it.

    The number is MLflow's, never guessed into a folder (audit registry-3): MLflow gives a new version
    ``max(version) + 1`` over every version the model ever had, deleted ones included (mlflow 3.14
    ``store/model_registry/sqlalchemy_store.py`` ``create_model_version``: ``func.max(SqlModelVersion.version)``
    filtered by name; ``delete_model_version`` only marks the row deleted), while ``get-latest-versions`` and
    ``search`` no longer show a deleted one. ``source`` is required at creation and cannot be changed after
    (``model-versions/update`` takes only a description), so the version is created first with the next
    number as seen (:func:`_create_version`), and only once MLflow assigned that very number is the artifact
    uploaded to ``<prefix><version>/`` (refused when that folder already holds objects: they are not this
    run's), and then the digest and approval tags are set: a version is never approved, nor recognised by
    a promotion, before its artifact is in place, and no other version's folder is written. A version
    created under another number (a deleted version's number was skipped, or a run registered at the same
    time) is deleted again, its folder untouched, and the next number tried; a failed upload or tag deletes
    the version it created, so no run leaves a version behind. Between the creation and the tags (the
    upload's duration) the version exists without them: unapproved, and unknown to a promotion."""
    tracking = env["MLFLOW_TRACKING_URI"]
    digest = artifact_digest(folder)
    version = _create_version(tracking, model, prefix)
    try:
        source = f"{prefix}{version}/"
        bucket, key_prefix = _split(source)
        if _client(env, bucket).list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=1).get("Contents"):
            raise SystemExit(f"{source} already holds objects, which are not this run's artifact: mlops-infra "
                             f"serves {model} v{version} from that folder; move them away, then re-run")
        upload_folder(folder, source, env)
        for key, value in _version_tags(tracking, model, digest):
            _mlflow(tracking, "POST", "model-versions/set-tag",
                    {"name": model, "version": str(version), "key": key, "value": value})
    except BaseException:
        _delete_version(tracking, model, version)
        raise
    return version


def _create_version(tracking: str, model: str, prefix: str) -> int:
    """Create the version whose number MLflow assigns as ``source`` names it (see :func:`register`)."""
    latest = _mlflow(tracking, "POST", "registered-models/get-latest-versions", {"name": model})
    expected = 1 + max((int(v["version"]) for v in latest.get("model_versions", [])), default=0)
    for _ in range(REGISTER_ATTEMPTS):
        created = _mlflow(tracking, "POST", "model-versions/create", {"name": model, "source": f"{prefix}{expected}/"})
        assigned = int(created["model_version"]["version"])
        if assigned == expected:
            return assigned
        _delete_version(tracking, model, assigned)  # its source names another number's folder
        expected = assigned + 1
    raise SystemExit(f"MLflow gave {model} another number than the next one {REGISTER_ATTEMPTS} times (runs "
                     "registering at the same time); nothing was uploaded and no version is left: re-run")


def _version_tags(tracking: str, model: str, digest: str) -> list[tuple[str, str]]:
    tags = [(DIGEST_TAG, digest)]
    registered = _mlflow(tracking, "GET", f"registered-models/get?{urllib.parse.urlencode({'name': model})}")
    model_tags = {t["key"]: t["value"] for t in registered.get("registered_model", {}).get("tags", [])}
    if model_tags.get(APPROVAL_TAG) == "automatic":
        tags.append((APPROVAL_STATUS_TAG, "approved"))
    return tags


def _delete_version(tracking: str, model: str, version: int) -> None:
    """Delete a version this run created and will not complete; when MLflow refuses, say which to delete."""
    try:
        _mlflow(tracking, "DELETE", "model-versions/delete", {"name": model, "version": str(version)})
    except OSError as error:
        raise SystemExit(f"could not delete {model} v{version}, which this run created and did not complete "
                         f"({error}): delete it (MLflow model-versions/delete), then re-run") from error
