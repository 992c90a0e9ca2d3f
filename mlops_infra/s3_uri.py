"""``s3://bucket/key`` URIs: their parser.

Contract (pure, no AWS call; the spec checks, ``spec/artifacts_region.py``, and promote,
``promote/bucket_owner.py`` and ``promote/artifacts.py``, read URIs through it; ``promote/digests.py``,
``promote/contracts.py`` and ``compile/aws/serving.py`` still slice URIs they hold as ``s3://`` themselves,
to be moved here):

- :func:`bucket_of`: the bucket of an ``s3://`` URI, ``""`` for anything else (another scheme, no bucket,
  not a string).
- :func:`split`: ``(bucket, key)`` of an ``s3://`` URI, the key being everything after the bucket's ``/``
  (``""`` when there is none; a trailing ``/`` is kept: a folder prefix); ``None`` for anything else.
- :func:`bucket_uri`: ``s3://<bucket>`` of an ``s3://`` URI, for messages that name the bucket; anything else
  is returned as given (``""`` as ``empty``).

S3's addressing: an object is named by its bucket and its key, and ``s3://bucket/key`` is the S3 URI of the
console and the CLI ("Methods for accessing a bucket", https://docs.aws.amazon.com/AmazonS3/latest/userguide/
access-bucket-intro.html; bucket names hold no ``/``: "Bucket naming rules").
"""

from __future__ import annotations

SCHEME = "s3://"


def split(uri: object) -> tuple[str, str] | None:
    """``(bucket, key)`` of an ``s3://`` URI (the key may be ``""``); None for anything else."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        return None
    bucket, _, key = uri.removeprefix(SCHEME).partition("/")
    return bucket, key


def bucket_of(uri: object) -> str:
    """The bucket of an ``s3://`` URI (``""`` for anything else)."""
    parts = split(uri)
    return "" if parts is None else parts[0]


def bucket_uri(uri: str, empty: str = "") -> str:
    """``s3://<bucket>`` of an ``s3://`` URI; any other text as given, ``""`` as ``empty``."""
    parts = split(uri)
    if parts is None:
        return uri or empty
    return SCHEME + parts[0]
