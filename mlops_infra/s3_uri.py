"""``s3://bucket/key`` URIs: the one place that tells their bucket.

Contract: :func:`bucket_of` - the bucket of an ``s3://`` URI, ``""`` for anything else (another scheme, no
bucket, not a string). Pure, no AWS call; the spec checks (``spec/artifacts_region.py``) and promote
(``promote/bucket_owner.py``, ``promote/artifacts.py``) read buckets through it.
"""

from __future__ import annotations


def bucket_of(uri: object) -> str:
    """The bucket of an ``s3://`` URI (``""`` for anything else)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return ""
    return uri.removeprefix("s3://").split("/", 1)[0]
