"""ARNs and URIs the AWS compiler can compute before anything exists.

Contract: pure string functions of (partition, region, account, physical name). They let IAM
policies, alarms and rollout plans name exact resources in a plan, before apply. Where the graph
holds the resource, callers may prefer a ``ref`` (it also orders creation); both spell the same ARN.
"""

from __future__ import annotations

import re

from mlops_infra.partitions import partition

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$"
)


def arn(region: str, account: str, service: str, resource: str, *, regional: bool = True) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
    return f"arn:{partition(region)}:{service}:{region if regional else ''}:{account}:{resource}"


def bucket_arn(region: str, bucket: str) -> str:
    """``arn:aws:s3:::<bucket>`` (S3 bucket ARNs carry neither region nor account)."""
    return f"arn:{partition(region)}:s3:::{bucket}"


def objects_arn(region: str, bucket: str, prefix: str = "") -> str:
    """Objects of ``bucket`` under ``prefix`` (``arn:aws:s3:::<bucket>/<prefix>*``)."""
    return f"{bucket_arn(region, bucket)}/{prefix}*"


def s3_uri(bucket: str, prefix: str = "") -> str:
    return f"s3://{bucket}/{prefix}"


def model_package_arn(region: str, account: str, group: str, version: int) -> str:
    """A versioned model package: ``arn:aws:sagemaker:<r>:<a>:model-package/<group>/<version>``."""
    return arn(region, account, "sagemaker", f"model-package/{group.lower()}/{version}")


def model_packages_arn(region: str, account: str, group: str) -> str:
    """Every version in one model package group (``model-package/<group>/*``)."""
    return arn(region, account, "sagemaker", f"model-package/{group.lower()}/*")


def sagemaker_job_arn(region: str, account: str, kind: str, prefix: str) -> str:
    """Jobs of ``kind`` (``training-job``, ``processing-job``) whose names start with ``prefix``."""
    return arn(region, account, "sagemaker", f"{kind}/{prefix}*")


def secret_arn(region: str, account: str, name: str) -> str:
    """A Secrets Manager secret by name: its ARN ends in ``-`` plus six random characters.

    ``??????`` (exactly six) rather than ``*`` so that ``name`` never matches ``name-other``.
    """
    return arn(region, account, "secretsmanager", f"secret:{name}-??????")


def log_group_arns(region: str, account: str, group: str) -> list[str]:
    """A log group and its streams (``log-group:<name>`` and ``log-group:<name>:*``)."""
    base = arn(region, account, "logs", f"log-group:{group}")
    return [base, f"{base}:*"]


def alarm_arn(region: str, account: str, name: str) -> str:
    return arn(region, account, "cloudwatch", f"alarm:{name}")


def ecr_image_uri(region: str, account: str, repository: str, tag: str) -> str:
    suffix = ".cn" if partition(region) == "aws-cn" else ""
    return f"{account}.dkr.ecr.{region}.amazonaws.com{suffix}/{repository}:{tag}"


def ecr_repository_arn_of_image(image: str) -> str | None:
    """The ECR repository ARN of an image URI, or None when the image is not in ECR. The ARN is in the
    partition of the image's own region (a repository's ARN is where the repository is); ``validate`` refuses an
    image of another partition than its environment's (``image-in-other-partition``, :mod:`mlops_infra.spec.containers`:
    IAM refuses such a resource ARN in the environment's policies), so a compiled policy never names one."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    region = match["region"]
    return arn(region, match["account"], "ecr", f"repository/{match['repository']}")


KEY_ID_LENGTH = 36
"""A KMS key ID is a UUID, 36 characters (botocore ``kms`` ``KeyIdType``; a multi-Region key's
``mrk-`` and 32 hex digits are 36 too): the key ARN's length is known before the key exists, its
text is not."""

_NAMED_ARNS: dict[str, tuple[str, str, str, bool]] = {
    "aws:iam/role:Role": ("iam", "role/{}", "name", False),
    "aws:lambda/function:Function": ("lambda", "function:{}", "name", True),
    "aws:ecr/repository:Repository": ("ecr", "repository/{}", "name", True),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker", "pipeline/{}", "pipelineName", True),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        "sagemaker", "model-package-group/{}", "modelPackageGroupName", True),
    "aws:sns/topic:Topic": ("sns", "{}", "name", True),
}
"""Resource type -> (service, resource part, the input holding the physical name, regional) of the
ARNs a resource of that type gets from its name: IAM ``arn:aws:iam::<account>:role/<name>`` (a role
without a path; IAM User Guide, "IAM identifiers", ARNs); Lambda ``function:<name>``; ECR
``repository/<name>``; SNS ``<account>:<topic name>``; SageMaker ``pipeline/<name>`` and
``model-package-group/<name>``, lowercased, as SageMaker writes every ARN it makes (botocore
``sagemaker`` ``PipelineArn``, ``ModelPackageGroupArn`` patterns; the compiler already lowercases
endpoint and model-package ARNs)."""


def resource_arn(region: str, account: str, type_: str, inputs: dict) -> tuple[str, bool] | None:
    """``(ARN, exact)`` of a resource of ``type_`` with ``inputs`` before it exists: the exact ARN
    for the named types of :data:`_NAMED_ARNS` (``exact`` True), a KMS key's ARN with its unknown key ID
    written as :data:`KEY_ID_LENGTH` ``?`` (``exact`` False: only its length is right), None for
    any other type or a name that is not plain text."""
    if type_ == "aws:kms/key:Key":
        return arn(region, account, "kms", "key/" + "?" * KEY_ID_LENGTH), False
    named = _NAMED_ARNS.get(type_)
    if named is None:
        return None
    service, resource, field, regional = named
    name = inputs.get(field)
    if not isinstance(name, str):
        return None
    if service == "sagemaker":
        name = name.lower()
    return arn(region, account, service, resource.format(name), regional=regional), True
