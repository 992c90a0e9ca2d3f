"""A folder marker in a data source is a folder, not a file, when the runtime downloads it (audit datasources-5).

The S3 console's "Create folder" writes a 0-byte object whose key ends in ``/`` ("S3 creates a 0-byte
object with a key that's set to the folder name that you provided", S3 User Guide, "Organizing objects
in the Amazon S3 console by using folders"), and ``ListObjectsV2`` lists it like any object.
``mlops_entry.objects.download_prefix`` (``Contract.local_input``, every Kubernetes run of the examples)
wrote it as a file and then failed with ``FileExistsError`` on the folder's data. Hadoop's S3 file systems
(EMRFS) mark a folder with a 0-byte key ``<folder>_$folder$`` beside it (Apache Hadoop
``NativeS3FileSystem.mkdir``); it was written as a 0-byte data file beside the partition (audit closing-36b-3).
Runs on the moto server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.examples.test_runtime_data_sources import S3_ENV, kubernetes_env, s3_credentials
from tests.support import fixtures
from tests.support.moto_server import client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "runtime"))
from mlops_entry.contract import Contract  # noqa: E402
from mlops_entry.objects import download_prefix  # noqa: E402

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
__all__ = ["s3_credentials"]


@pytest.mark.moto
def test_a_folder_marker_becomes_a_folder_and_its_data_is_downloaded(tmp_path: Path, moto_url: str, s3_credentials: None) -> None:
    s3 = client("s3", moto_url)
    bucket = "runtime-marker-transactions"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dt=2026-12-06/", Body=b"")  # the S3 console's "Create folder"
    s3.put_object(Bucket=bucket, Key="dt=2026-12-06/part-0.parquet", Body=b"rows")
    s3.put_object(Bucket=bucket, Key="dt=2026-12-07/", Body=b"")  # a folder made before its data arrives
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "dt=2026-12-06/", "dt=2026-12-06/part-0.parquet", "dt=2026-12-07/"]
    contract = Contract.from_environment({**kubernetes_env(), **S3_ENV, "AWS_ENDPOINT_URL": moto_url,
                                          "MLOPS_INPUT_TRANSACTIONS": f"s3://{bucket}/",
                                          "MLOPS_WORK_DIR": str(tmp_path)})
    folder = contract.local_input("transactions")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "dt=2026-12-06/part-0.parquet"]
    assert (folder / "dt=2026-12-06" / "part-0.parquet").read_bytes() == b"rows"
    assert (folder / "dt=2026-12-07").is_dir() and not any((folder / "dt=2026-12-07").iterdir())


@pytest.mark.moto
def test_a_marker_named_by_the_prefix_itself_is_skipped(tmp_path: Path, moto_url: str, s3_credentials: None) -> None:
    """``s3://bucket/dt=2026-12-06/`` holding its own marker: the marker is the folder ``into``."""
    s3 = client("s3", moto_url)
    bucket = "runtime-marker-prefix"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dt=2026-12-06/", Body=b"")
    s3.put_object(Bucket=bucket, Key="dt=2026-12-06/part-0.parquet", Body=b"rows")
    folder = download_prefix(f"s3://{bucket}/dt=2026-12-06/", tmp_path / "in",
                             {**S3_ENV, "AWS_ENDPOINT_URL": moto_url})
    assert [p.relative_to(folder).as_posix() for p in folder.rglob("*")] == ["part-0.parquet"]


@pytest.mark.moto
def test_a_hadoop_folder_placeholder_is_not_downloaded(tmp_path: Path, moto_url: str, s3_credentials: None) -> None:
    s3 = client("s3", moto_url)
    bucket = "runtime-emr-marker"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/dt=2026-12-06_$folder$", Body=b"")  # EMR's mkdir of raw/dt=2026-12-06
    s3.put_object(Bucket=bucket, Key="raw/dt=2026-12-06/part-0.parquet", Body=b"rows")
    s3.put_object(Bucket=bucket, Key="raw/dt=2026-12-07_$folder$", Body=b"")  # made before its data arrives
    folder = download_prefix(f"s3://{bucket}/raw/", tmp_path / "in", {**S3_ENV, "AWS_ENDPOINT_URL": moto_url})
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "dt=2026-12-06", "dt=2026-12-06/part-0.parquet"]
    assert (folder / "dt=2026-12-06" / "part-0.parquet").read_bytes() == b"rows"


@pytest.mark.moto
def test_a_killed_jobs_uncommitted_output_is_not_downloaded(tmp_path: Path, moto_url: str, s3_credentials: None) -> None:
    """Closing-37a-2: part files under ``_temporary/`` (Hadoop ``FileOutputCommitter.PENDING_DIR_NAME``) or
    ``.spark-staging-<job>/`` (Spark's dynamic partition overwrite) are not the data source's data; a
    reader globbing ``*.parquet`` read them."""
    s3 = client("s3", moto_url)
    bucket = "runtime-uncommitted"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/dt=2026-12-03/part-0.parquet", Body=b"rows")
    s3.put_object(Bucket=bucket, Key="raw/dt=2026-12-03/_SUCCESS", Body=b"")
    s3.put_object(Bucket=bucket, Key="raw/_temporary/0/_temporary/attempt_0/dt=2026-12-06/part-0.parquet", Body=b"half")
    s3.put_object(Bucket=bucket, Key="raw/.spark-staging-3f2a/dt=2026-12-06/part-0.parquet", Body=b"half")
    folder = download_prefix(f"s3://{bucket}/raw/", tmp_path / "in", {**S3_ENV, "AWS_ENDPOINT_URL": moto_url})
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "dt=2026-12-03/_SUCCESS", "dt=2026-12-03/part-0.parquet"]
