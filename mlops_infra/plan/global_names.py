"""AWS types whose names are not regional, and what a region move's create-first replace of one does.

Contract: :data:`GLOBAL_NAMES` maps each compiled-or-common AWS type whose physical name is unique beyond its
region to the rule that says so; :func:`collision` is the ``blocked`` hint of a REPLACE that moves such a resource to
another region (its provider's ``region`` changes) create-first under the same name, which AWS refuses:

- IAM names are unique within the account, in every region (IAM is not regional): IAM User Guide, "IAM
  identifiers", "Friendly names and paths" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html);
  botocore ``iam`` ``CreateRoleRequest.RoleName`` / ``CreatePolicyRequest.PolicyName``: "IAM user, group, role, and
  policy names must be unique within the account"; a second ``CreateRole`` of a name is refused with
  ``EntityAlreadyExists``.
- S3 bucket names are unique across all accounts in all regions of a partition: S3 User Guide, "Namespaces for
  general purpose buckets" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html: "each
  bucket name must be unique across all AWS accounts in all the AWS Regions within a partition"); botocore ``s3``
  ``BucketAlreadyOwnedByYou`` ("returns this error in all Amazon Web Services Regions except in the North Virginia
  Region").

Pulumi replaces every resource of a provider whose region changes (pulumi/pulumi-aws#4000), create-first unless the
resource's ``deleteBeforeReplace`` option is set: the replace comes from the provider change, so the engine asks no
provider for its order (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` ``diff``: ``providerChanged`` ->
``DiffResult{Changes: DiffSome, ReplaceKeys: ["provider"]}``, no ``DeleteBeforeReplace``). The create in the new region
then fails after other resources were created there, so the planner blocks such a replace (``ResourceChange.blocked``).
"""

from __future__ import annotations

_IAM = "IAM names are unique within the account in every region (IAM is not regional)"
_S3 = "S3 bucket names are unique across every account and region of the partition"

GLOBAL_NAMES: dict[str, str] = {
    "aws:iam/role:Role": _IAM,
    "aws:iam/policy:Policy": _IAM,
    "aws:iam/instanceProfile:InstanceProfile": _IAM,
    "aws:iam/user:User": _IAM,
    "aws:iam/group:Group": _IAM,
    "aws:s3/bucket:Bucket": _S3,
    "aws:s3/bucketV2:BucketV2": _S3,
}
"""AWS type -> why its name is not regional (see the module contract)."""


def collision(type_: str, name: str, before: str, after: str) -> str | None:
    """The ``blocked`` hint of a create-first replace that moves ``name`` (a ``type_`` resource) from region
    ``before`` to ``after`` under the same name, or None when ``type_``'s names are regional."""
    why = GLOBAL_NAMES.get(type_)
    if why is None:
        return None
    return (f"{name!r} cannot be created in {after} while the one in {before} exists: {why}, and a region move "
            "replaces it create-first (its deleteBeforeReplace option is unset), so `pulumi up` would fail there after "
            f"creating other resources in {after}. To move the environment to {after}, destroy it in {before} first "
            "(keeping a copy of any data you need), then apply; or create it in "
            f"{after} as a new environment (another name or account) and remove the old one after.")
