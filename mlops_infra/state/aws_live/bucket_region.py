"""Which Region an S3 bucket is in, asked of S3 itself (``plan --refresh`` and promote; audit xregion-3).

Why: a bucket has exactly one Region (botocore ``s3/2006-03-01`` ``CreateBucketConfiguration.LocationConstraint``:
"Specifies the Region where the bucket will be created"), and SageMaker reads model artifacts only from a bucket
in the model's Region (botocore ``sagemaker/2017-07-24`` ``ContainerDefinition.ModelDataUrl``: "The model
artifacts must be in an S3 bucket that is in the same region as the model or endpoint you are creating";
``ModelPackageContainerDefinition.ModelDataUrl``: "... in the same region as the model package"). The spec names
a model's ``artifacts_uri`` bucket by name only, so whether it is in the environment's Region is known only by
asking S3; botocore's S3 clients follow a bucket of another Region silently (``S3RegionRedirectorv2``), so a copy
into it succeeds wherever it is.

Contract: :func:`bucket_region` asks ``HeadBucket`` once and answers a :class:`BucketRegion`: the bucket's Region
(botocore ``HeadBucketOutput.BucketRegion``, the ``x-amz-bucket-region`` response header: "The Region that the
bucket is located"), ``missing`` when S3 answers 404 (no such bucket), or ``problem``, why the Region could not be
had (the AWS error code or the exception's class name, never a credential). The header is read from a refused
answer too: "You can make a HeadBucket call on any bucket name to any Region in the partition, and regardless of
the permissions on the bucket, you will receive a response header with the correct bucket location" (botocore
``s3`` ``HeadBucket`` documentation; botocore ``utils.S3RegionRedirectorv2.get_bucket_region`` reads it from a
``ClientError``'s response the same way), so no permission on the bucket is needed. Tested on the moto server
(tests/state/aws_live/test_bucket_region.py).

:func:`bucket_regions` asks for several buckets with one client of the environment's Region (``HeadBucket`` may
be sent to any Region of the partition), short timeouts and two attempts per call, as :mod:`.ecr_images` reads; no
call starts after ``until`` (a ``time.monotonic()`` value): a bucket not asked in time has the problem
:data:`NOT_ASKED`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REGION_HEADER = "x-amz-bucket-region"
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
NOT_ASKED = "not asked in time"


@dataclass(frozen=True)
class BucketRegion:
    """S3's answer for one bucket: its ``region``; or ``missing`` (404); or the ``problem`` that left it unknown."""

    bucket: str
    region: str = ""
    missing: bool = False
    problem: str = ""


def bucket_region(s3: Any, bucket: str) -> BucketRegion:
    """``bucket``'s Region by one ``HeadBucket`` with the S3 client ``s3`` (module contract)."""
    from mlops_infra.state.aws_live.retry import describe_error

    try:
        answer = s3.head_bucket(Bucket=bucket)
    except Exception as error:
        response = getattr(error, "response", None)
        if not isinstance(response, dict):  # no answer at all: unreachable, no credentials
            return BucketRegion(bucket, problem=type(error).__name__)
        region = _header(response)
        if region:
            return BucketRegion(bucket, region)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(response.get("Error", {}).get("Code", ""))
        if status == 404 or code in ("404", "NoSuchBucket", "NotFound"):
            return BucketRegion(bucket, missing=True)
        return BucketRegion(bucket, problem=describe_error(error))
    return BucketRegion(bucket, str(answer.get("BucketRegion") or _header(answer)))


def bucket_regions(buckets: Iterable[str], region: str, *, endpoint_url: str | None = None, session: Any = None,
                   until: float | None = None) -> list[BucketRegion]:
    """S3's answer for each of ``buckets`` (sorted, each once), asked in ``region`` (module contract)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT)
    s3 = (session or boto3.Session()).client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
    return [bucket_region(s3, bucket) if until is None or time.monotonic() < until
            else BucketRegion(bucket, problem=NOT_ASKED) for bucket in sorted(set(buckets))]


def _header(response: dict[str, Any]) -> str:
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}
    return str(headers.get(REGION_HEADER) or "")
