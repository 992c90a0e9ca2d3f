"""A Hadoop folder placeholder under a promoted artifact is left behind like the S3 console's folder.

Hadoop's S3 file systems (EMRFS ``s3://``, ``s3n://``) write a 0-byte ``<folder>_$folder$`` beside each
folder they make (Apache Hadoop ``NativeS3FileSystem.mkdir``: ``FOLDER_SUFFIX = "_$folder$"``), so a model
folder an EMR/Spark job wrote can hold ``tokenizer_$folder$``. The copy and the digest left out only keys
ending in ``/``: the placeholder was copied and counted in the manifest as a 0-byte file, so the digest of
the copy was not the registered digest of the model's files and the promotion was refused (stop-36
datasources audit, item 1: one definition of a marker, ``retrain_gate.is_folder_marker``, everywhere).
Same set-up as ``test_artifacts`` (staging -> prod on the moto server).
"""

from __future__ import annotations

import pytest

from tests.promote.test_artifacts import (
    OBJECTS,
    STAGING_BUCKET,
    accounts,
    moto_server,
    moto_url,
    prod_state,
    roles,
)
from tests.support.cli import run_cli
from tests.support.promotion import promoted_to_staging

__all__ = ["accounts", "moto_server", "moto_url"]
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]


def test_a_hadoop_placeholder_in_the_source_is_not_copied_and_the_digest_holds(tmp_path, accounts):
    s3 = accounts["staging"].client("s3", endpoint_url=accounts["url"])
    s3.put_object(Bucket=STAGING_BUCKET, Key="training/retrain/run-7/model/tokenizer_$folder$", Body=b"")
    file, _ = promoted_to_staging(tmp_path)
    result = run_cli("promote", str(file), "--to", "prod", *roles(), "--execute-artifacts")
    assert result.code == 0, result.output
    assert f"{OBJECTS} of {OBJECTS} object(s) copied" in result.stdout and "digest verified" in result.stdout
    versions, packages = prod_state(accounts)
    assert len(versions) == OBJECTS and len(packages) == 1
    assert not [v["Key"] for v in versions if v["Key"].endswith("_$folder$")]
