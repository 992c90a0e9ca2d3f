"""AWS types that move to another region under a name that is not regional, and what a create-first move does.

Contract: :data:`GLOBAL_NAMES` maps each compiled-or-common AWS type that is region-aware (it has a ``region``
input: :func:`~mlops_infra.plan.rules.region_aware`) and whose physical name is unique beyond its region to the rule
that says so; :func:`collision` is the ``blocked`` hint of a create-first REPLACE that moves such a resource to
another region (its own ``region`` input changes) under the same name, which AWS refuses:

- S3 bucket names are unique across all accounts in all regions of a partition: S3 User Guide, "Namespaces for
  general purpose buckets" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html: "each
  bucket name must be unique across all AWS accounts in all the AWS Regions within a partition"); botocore ``s3``
  ``BucketAlreadyOwnedByYou`` ("returns this error in all Amazon Web Services Regions except in the North Virginia
  Region").

How pulumi-aws 7 (the pinned SDK) moves a stack to another region: the provider's ``region`` change replaces nothing
(the cascading replace of pulumi/pulumi-aws#4000 was dropped: #5656, "`pulumi up` will no longer be able to move
resources to a different AWS region in a single cascading replace pass"; #5652: "AWS v7 ... removes the cascading
replace logic entirely"); each region-aware resource is replaced through its own ``region`` input, which the provider
fills from its own (:data:`~mlops_infra.plan.rules.REGION`). That replace is the provider's own, so it deletes first
when the bucket is named explicitly (pulumi-terraform-bridge ``nameRequiresDeleteBeforeReplace``,
:func:`~mlops_infra.plan.rules.provider_deletes_first`) unless the program's ``deleteBeforeReplace`` option is false;
only then is it create-first, and the create in the new region fails after other resources were created there, so
the planner blocks it (``ResourceChange.blocked``). IAM roles, policies, instance profiles, users and groups have no
``region`` input (IAM is global: AWS Account Management reference, "Some services, such as AWS Identity and Access
Management (IAM), do not have Regional resources",
https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html): they are not moved, so they are not
here.
"""

from __future__ import annotations

_S3 = "S3 bucket names are unique across every account and region of the partition"

GLOBAL_NAMES: dict[str, str] = {
    "aws:s3/bucket:Bucket": _S3,
    "aws:s3/bucketV2:BucketV2": _S3,
}
"""Region-aware AWS type -> why its name is not regional (see the module contract)."""


def collision(type_: str, name: str, before: str, after: str) -> str | None:
    """The ``blocked`` hint of a create-first replace that moves ``name`` (a ``type_`` resource) from region
    ``before`` to ``after`` under the same name, or None when ``type_``'s names are regional."""
    why = GLOBAL_NAMES.get(type_)
    if why is None:
        return None
    return (f"{name!r} cannot be created in {after} while the one in {before} exists: {why}, and this region move "
            "replaces it create-first, so `pulumi up` would fail there after "
            f"creating other resources in {after}. To move it, copy out the objects you need, empty and delete the "
            f"bucket in {before}, then plan with --refresh and apply; or keep the environment in {before}.")
