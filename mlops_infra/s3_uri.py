"""``s3://bucket/key`` URIs: their parser.

Contract (pure, no AWS call; the spec checks, ``spec/artifacts_region.py``, the AWS serving compiler,
``compile/aws/serving.py``, and promote, ``promote/bucket_owner.py``, ``promote/artifacts.py``,
``promote/digests.py`` and ``promote/contracts.py``, read URIs through it;
``compile/kubernetes/artifacts.kserve_uri`` still slices the URIs it holds as ``s3://`` itself):

- :func:`bucket_of`: the bucket of an ``s3://`` URI, ``""`` for anything else (another scheme, no bucket,
  not a string).
- :func:`split`: ``(bucket, key)`` of an ``s3://`` URI, the key being everything after the bucket's ``/``
  (``""`` when there is none; a trailing ``/`` is kept: a folder prefix); ``None`` for anything else.
- :func:`in_s3`: whether a URI is an ``s3://`` URI naming anything: more than the scheme (``s3://`` alone
  names no bucket and no object; ``s3:///key``, with no bucket, is left to S3 to refuse).
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


def in_s3(uri: object) -> bool:
    """Whether ``uri`` is an ``s3://`` URI with anything after the scheme (``s3://`` alone is not)."""
    return split(uri) not in (None, ("", ""))


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
