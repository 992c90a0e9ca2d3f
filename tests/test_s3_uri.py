"""mlops_infra/s3_uri.py: the one parser of ``s3://bucket/key`` URIs, and the promote callers that read
through it (``promote/artifacts._split``, ``promote/bucket_owner._bucket``) giving the answers they gave
with their own parsing (stop 41, "Noticed and left")."""

from __future__ import annotations

import pytest

from mlops_infra import s3_uri
from mlops_infra.promote import artifacts, bucket_owner

CASES = [  # uri, split, bucket_of, bucket_uri (empty="its store")
    ("s3://models/fraud/14/", ("models", "fraud/14/"), "models", "s3://models"),
    ("s3://models/fraud/14/model.tar.gz", ("models", "fraud/14/model.tar.gz"), "models", "s3://models"),
    ("s3://models", ("models", ""), "models", "s3://models"),
    ("s3://models/", ("models", ""), "models", "s3://models"),
    ("s3://", ("", ""), "", "s3://"),
    ("gs://models/fraud/", None, "", "gs://models/fraud/"),
    ("/local/models/", None, "", "/local/models/"),
    ("", None, "", "its store"),
]


@pytest.mark.parametrize(("uri", "parts", "bucket", "shown"), CASES)
def test_one_parser_gives_bucket_key_and_the_bucket_shown(uri, parts, bucket, shown):
    assert s3_uri.split(uri) == parts
    assert s3_uri.bucket_of(uri) == bucket
    assert s3_uri.bucket_uri(uri, "its store") == shown


def test_anything_not_a_string_has_no_bucket():
    assert s3_uri.split(None) is None and s3_uri.bucket_of(None) == "" and s3_uri.bucket_of(14) == ""


@pytest.mark.parametrize(("uri", "parts", "bucket", "shown"), CASES)
def test_the_promote_callers_answer_as_before(uri, parts, bucket, shown):
    """``_bucket`` names the bucket in the owner sentences; ``_split`` gives the copy its bucket and key and
    refuses what is not s3:// (the answers their own parsing gave before f316d0d's follow-up)."""
    assert bucket_owner._bucket(uri) == shown
    if parts is None:
        with pytest.raises(ValueError, match="only s3:// artifact URIs are copied"):
            artifacts._split(uri)
    else:
        assert artifacts._split(uri) == parts
