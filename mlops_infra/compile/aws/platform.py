"""The platform component: what the items of one AWS environment share.

Contract: ``mlops:core:Platform`` named ``platform`` holds
- one customer-managed KMS key for the system's data (rotation on, 30-day deletion window,
  protected) and its alias ``alias/<system>-<env>-data``; the key policy lets the account
  administer it through IAM and CloudWatch alarms publish to encrypted SNS topics;
- the ECR repository of the drift-job image (scan on push, immutable tags, KMS-encrypted) and a
  lifecycle policy expiring untagged images;
- on first use: the capture and artifacts buckets (:func:`storage.platform_bucket`), the pipeline
  execution role and the scheduler role (:func:`add_platform_roles`, run last: their policies name
  every pipeline, job role, model package group and image repository the sections published).
"""

from __future__ import annotations

from mlops_infra.compile.aws import arns, iam, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.context import PLATFORM_TYPE
from mlops_infra.compile.facts import FACTS_VERSION
from mlops_infra.compile.naming import ecr_repository_name
from mlops_infra.graph import ResourceOptions, json_of, ref
from mlops_infra.spec.training_failures import aws_told_channels

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
KEY_DELETION_WINDOW_DAYS = 30
UNTAGGED_IMAGE_DAYS = 14

PIPELINES_ROLE = iam.RoleSpec("pipelines", ("pipelines",), (iam.SAGEMAKER,),
                              "Runs this system's SageMaker pipelines: starts their jobs and registers models.")
SCHEDULER_ROLE = iam.RoleSpec("scheduler", ("scheduler",), ("events.amazonaws.com", "scheduler.amazonaws.com"),
                              "Lets EventBridge schedules and rules start this system's SageMaker pipelines.")


def add_platform(aws: AwsContext) -> None:
    """Add the platform component, key, alias, repository and lifecycle policy to ``aws``."""
    aws.platform = aws.ctx.builder.add(PLATFORM_TYPE, "platform", {
        "factsVersion": FACTS_VERSION, "kind": "platform", "cloud": "aws", "region": aws.region,
        "account": aws.account, "keyAlias": f"alias/{aws.name('data')}",
    }, custom=False, address="platform", role="component")
    aws.key = aws.add(KEY, "data-key", {
        "description": f"Data of {aws.ctx.system.metadata.name} ({aws.ctx.env}), managed by mlops-infra",
        "enableKeyRotation": True,
        "deletionWindowInDays": KEY_DELETION_WINDOW_DAYS,
        "keyUsage": "ENCRYPT_DECRYPT",
        "policy": json_of(policies.key_policy(aws.region, aws.account,
                                              events_publish=bool(aws_told_channels(aws.ctx.system)))),
    }, parent=aws.platform, address="platform", role="kms-key", options=ResourceOptions(protect=True))
    aws.add(ALIAS, "data-key-alias", {"name": f"alias/{aws.name('data')}", "targetKeyId": ref(aws.key, "keyId")},
            parent=aws.platform, address="platform", role="kms-alias")
    _add_repository(aws)


def _add_repository(aws: AwsContext) -> None:
    aws.repository_name = ecr_repository_name(aws.ctx.system.metadata.name, aws.ctx.env, "drift-job")
    aws.repository = aws.add(REPOSITORY, "drift-job-repository", {
        "name": aws.repository_name,
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": ref(aws.key, "arn")}],
        "forceDelete": False,
    }, parent=aws.platform, address="platform", role="ecr-repository",
        # encryption settings can only change by replacement, and the name must be reused.
        options=ResourceOptions(delete_before_replace=True))
    aws.add(LIFECYCLE_POLICY, "drift-job-repository-lifecycle", {
        "repository": ref(aws.repository, "name"),
        "policy": json_of(policies.ecr_lifecycle_policy(UNTAGGED_IMAGE_DAYS)),
    }, parent=aws.platform, address="platform", role="ecr-lifecycle-policy")


def pipelines_role(aws: AwsContext) -> str:
    """The URN of the pipeline execution role (added by :func:`add_platform_roles`)."""
    aws.used_roles.add("pipelines")
    return iam.role_urn(aws, PIPELINES_ROLE, aws.platform)


def scheduler_role(aws: AwsContext) -> str:
    """The URN of the role schedules and rules use to start pipelines."""
    aws.used_roles.add("scheduler")
    return iam.role_urn(aws, SCHEDULER_ROLE, aws.platform)


def pipelines_policy(aws: AwsContext) -> str:
    """The URN of the pipeline role's policy (a pipeline must not run before it exists)."""
    aws.used_roles.add("pipelines")
    return iam.policy_urn(aws, PIPELINES_ROLE, aws.platform)


def scheduler_policy(aws: AwsContext) -> str:
    """The URN of the scheduler role's policy (a schedule must not fire before it exists)."""
    aws.used_roles.add("scheduler")
    return iam.policy_urn(aws, SCHEDULER_ROLE, aws.platform)


def _pipelines_statements(aws: AwsContext) -> list:
    """What the pipeline role calls when SageMaker Pipelines runs a step with it: Create/Describe/Stop of the
    jobs (named ``pipelines-*`` by SageMaker), ``iam:PassRole`` of the job roles to SageMaker only, the
    RegisterModel step's ``CreateModelPackage`` in the model package groups (SageMaker "API Permissions: Actions,
    Permissions, and Resources Reference": ``sagemaker:CreateModelPackage``, no ECR action, so the role reads no
    image: audit iam-3), and ``kms:CreateGrant`` on the platform key for AWS resources only, as the caller of
    CreateTrainingJob/CreateProcessingJob with a ``VolumeKmsKeyId`` (same reference: "required only if ... the
    associated role does not have a policy that permits this action"; the execution roles have it too:
    ``training.py``, ``monitoring.py``) with ``kms:DescribeKey`` in a statement of its own
    (:func:`policies.kms_service_grant`)."""
    r, a = aws.region, aws.account
    jobs = [arns.sagemaker_job_arn(r, a, kind, "pipelines-") for kind in ("training-job", "processing-job")]
    groups = sorted(aws.groups)
    group_names = [aws.name(g) for g in groups]
    return [
        policies.allow("RunPipelineJobs", ["sagemaker:AddTags", "sagemaker:CreateProcessingJob",
                                           "sagemaker:CreateTrainingJob", "sagemaker:DescribeProcessingJob",
                                           "sagemaker:DescribeTrainingJob", "sagemaker:StopProcessingJob",
                                           "sagemaker:StopTrainingJob"], jobs),
        policies.allow("PassJobRoles", ["iam:PassRole"], [ref(u, "arn") for u in sorted(aws.job_roles)],
                       {"StringEquals": {"iam:PassedToService": iam.SAGEMAKER}}),
        policies.allow("RegisterModelVersions",
                       ["sagemaker:AddTags", "sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage",
                        "sagemaker:DescribeModelPackageGroup"],
                       [ref(aws.groups[g], "arn") for g in groups]
                       + [arns.model_packages_arn(r, a, n) for n in group_names]),
        policies.kms_service_grant("GrantJobVolumeEncryption", ref(aws.key, "arn")),
        policies.kms_describe("DescribeJobVolumeKey", ref(aws.key, "arn")),
    ]


def _scheduler_statements(aws: AwsContext) -> list:
    statements = [policies.allow("StartPipelines", ["sagemaker:StartPipelineExecution"],
                                 [ref(u, "arn") for u in sorted(aws.pipelines)])]
    if aws.gates:  # training schedules start their pipeline through its retrain gate (gates.py)
        statements.append(policies.allow("InvokeRetrainGates", ["lambda:InvokeFunction"],
                                         [ref(u, "arn") for u in sorted(aws.gates)]))
    return statements


def add_platform_roles(aws: AwsContext) -> None:
    """Add the platform roles some resource used, with policies naming exactly what they touch."""
    if "pipelines" in aws.used_roles:
        iam.add_role(aws, PIPELINES_ROLE, _pipelines_statements(aws), parent=aws.platform, address="platform")
    if "scheduler" in aws.used_roles:
        iam.add_role(aws, SCHEDULER_ROLE, _scheduler_statements(aws), parent=aws.platform, address="platform")
