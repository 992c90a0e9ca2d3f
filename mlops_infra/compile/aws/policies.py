"""IAM, KMS key, bucket and ECR lifecycle policy documents (plain dicts; refs allowed inside).

Contract: every function returns JSON-ready data; the compiler wraps documents in ``json_of`` so
refs (role ARNs, the key ARN) resolve at apply. Identity policies name exact resources: bucket and
object ARNs, the KMS key ARN, ECR repository ARNs, model package group ARNs, secret ARNs (a role's
policy over IAM's size quota is widened to this environment's name prefix: ``iam.add_role``). The
``"*"`` (or any-account) resources, each narrowed by a condition where one is known to hold (the full list
with reasons is docs/compile-aws.md "Least privilege"; tests/compile/aws/test_iam_stars.py compares it
with every compiled example policy):

- ``cloudwatch:PutMetricData`` (no resource types; narrowed by ``cloudwatch:namespace``: :func:`put_metrics`);
- ``ecr:GetAuthorizationToken`` (account-wide by design; it grants nothing without the pull actions
  on a named repository: :func:`ecr_pull`);
- ``kms:Decrypt`` on any key of the region, only through S3 and for named objects (:func:`kms_decrypt_via_s3`);
- the rollout runner's ``cloudwatch:GetMetricData``, ``sagemaker:Search`` and Application Auto Scaling calls
  (``compile/aws/rollout_runner.py``: no resource types, or a scalable target's ID AWS assigns; the
  Application Auto Scaling writes are unconditioned, docs/compile-aws.md says why).

A condition is put only on actions whose requests carry its key; a key absent from the request makes the
condition false, so an action under it is never allowed (:data:`GRANT_FOR_AWS_RESOURCE`, :func:`s3_read`).

Resource policies (KMS key policy, bucket policy) use ``"*"`` in the documented sense of "this
key"/"any principal" for Deny statements; they are not identity grants.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.aws import arns

VERSION = "2012-10-17"
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")

Statement = dict[str, Any]


def document(*statements: Statement | None) -> dict[str, Any]:
    """A policy document of the statements that are not None."""
    return {"Version": VERSION, "Statement": [s for s in statements if s]}


def allow(sid: str, actions: list[str] | tuple[str, ...], resources: list[Any],
          condition: dict[str, Any] | None = None) -> Statement | None:
    """An Allow statement, or None when there is no resource to allow (nothing to grant)."""
    if not resources:
        return None
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def trust(*services: str, account: str | None = None) -> dict[str, Any]:
    """A trust policy for AWS service principals, limited to ``account`` when given."""
    statement: Statement = {"Effect": "Allow", "Principal": {"Service": sorted(services)},
                            "Action": "sts:AssumeRole"}
    if account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    return document(statement)


def s3_read(sid: str, region: str, grants: list[tuple[str, str]]) -> list[Statement]:
    """List + get on (bucket, prefix) pairs: ListBucket limited to the prefix, GetObject under it, and
    GetBucketLocation on each bucket in a statement of its own.

    ``s3:prefix`` is the ``prefix`` parameter of a listing ("Condition key for the prefix specified by a
    request", AWS SDK for Java ``S3ConditionFactory.PREFIX_CONDITION_KEY``); a GetBucketLocation request has no
    prefix, and a key absent from the request context makes a ``StringLike`` condition false ("If the key that
    you specify in a policy condition is not present in the request context, the values do not match", IAM
    User Guide, "IAM JSON policy elements: Condition operators"). So GetBucketLocation under the prefix
    condition was never allowed on a prefixed bucket (audit iam-2); it is granted unconditioned (it reveals
    only the bucket's region), and the prefix-conditioned statements hold ``s3:ListBucket`` alone."""
    lists, gets = [], []
    for bucket, prefix in sorted(set(grants)):
        gets.append(arns.objects_arn(region, bucket, prefix))
        lists.append((arns.bucket_arn(region, bucket), prefix))
    out = [allow(f"{sid}Objects", ["s3:GetObject", "s3:GetObjectVersion"], gets),
           allow(f"{sid}Location", ["s3:GetBucketLocation"], sorted({bucket for bucket, _ in lists}))]
    for index, (bucket, prefix) in enumerate(lists):
        condition = {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None
        out.append(allow(f"{sid}List{index}", ["s3:ListBucket"], [bucket], condition))
    return [s for s in out if s]


def s3_write(sid: str, region: str, grants: list[tuple[str, str]]) -> list[Statement]:
    """Put (and multipart housekeeping) on objects under (bucket, prefix) pairs."""
    objects = [arns.objects_arn(region, b, p) for b, p in sorted(set(grants))]
    statement = allow(sid, ["s3:AbortMultipartUpload", "s3:PutObject"], objects)
    return [statement] if statement else []


def kms_use(sid: str, key_arn: Any) -> Statement | None:
    """Encrypt/decrypt with the platform key (S3 SSE-KMS objects, job volumes and outputs)."""
    return allow(sid, KMS_DATA_ACTIONS, [key_arn])


GRANT_FOR_AWS_RESOURCE = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
"""Only when an AWS service integrated with KMS asks: the key is in the request context of ``CreateGrant``,
``ListGrants`` and ``RevokeGrant`` only ("Allows principals to call CreateGrant, ListGrants, or RevokeGrant only
when an AWS service that is integrated with AWS KMS sends the request", AWS KMS Developer Guide, "Controlling
access to grants"), so no other action may share a statement with it (:func:`kms_service_grant`)."""


def kms_service_grant(sid: str, key_arn: Any) -> Statement | None:
    """``kms:CreateGrant`` on the key, only for a grant an AWS service makes (:data:`GRANT_FOR_AWS_RESOURCE`):
    SageMaker creates one to encrypt a job's or an endpoint's storage volume with the key.

    Alone in its statement: another action under this condition is never allowed, its requests do not carry
    the key and a missing key makes the condition false (IAM User Guide, "IAM JSON policy elements: Condition
    operators"); AWS's own example key policy keeps ``DescribeKey`` out of the grant statement ("Allow
    attachment of persistent resources" vs "Allow use of the key", AWS KMS ``PutKeyPolicy`` example;
    audit iam-1)."""
    return allow(sid, ["kms:CreateGrant"], [key_arn], GRANT_FOR_AWS_RESOURCE)


def kms_describe(sid: str, key_arn: Any) -> Statement | None:
    """``kms:DescribeKey`` on the key (its metadata: ARN, state, usage), unconditioned: a role that holds
    :func:`kms_service_grant` without :func:`kms_use` (the callers that hand the key to SageMaker) reads it
    this way, not under the grant's condition (audit iam-1)."""
    return allow(sid, ["kms:DescribeKey"], [key_arn])


def kms_decrypt_via_s3(sid: str, region: str, grants: list[tuple[str, str]]) -> Statement | None:
    """Decrypt, through S3 only, objects under (bucket, prefix) pairs whose bucket is encrypted with a
    key that is not the platform's (a model's ``artifacts_uri`` outside this system).

    Reading an SSE-KMS object needs ``kms:Decrypt`` on its key besides ``s3:GetObject`` (S3 User
    Guide, "Using server-side encryption with AWS KMS keys": "you must have permission to use the
    KMS key ... kms:Decrypt" to read), and which key a foreign bucket uses is not known here. So the
    grant names any key of the region but only as S3 uses it for these objects: ``kms:ViaService``
    ``s3.<region>.amazonaws.com`` and the S3 encryption context ``aws:s3:arn``, which is the object's
    ARN, or the bucket's ARN when the bucket uses an S3 Bucket Key (S3 User Guide, "Encryption
    context" and "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys": "the bucket ARN is used
    as the encryption context"). SageMaker reads model data in the endpoint's region, so the key is
    in that region. A key in another account must also allow the role in its key policy (not ours to
    grant)."""
    if not grants:
        return None
    contexts = sorted({a for bucket, prefix in grants
                       for a in (arns.bucket_arn(region, bucket), arns.objects_arn(region, bucket, prefix))})
    return allow(sid, ["kms:Decrypt"], [f"arn:{arns.partition(region)}:kms:{region}:*:key/*"], {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": contexts},
    })


def ecr_pull(sid: str, repositories: list[Any]) -> list[Statement]:
    """Pull from the named repositories, plus the account-wide auth token (see module docstring)."""
    if not repositories:
        return []
    return [s for s in (allow(f"{sid}Pull", ECR_PULL_ACTIONS, repositories),
                        allow(f"{sid}Token", ["ecr:GetAuthorizationToken"], ["*"])) if s]


def logs(sid: str, region: str, account: str, groups: list[str]) -> Statement | None:
    """Write to the named log groups (and create them, as SageMaker does on first use)."""
    resources = [a for g in sorted(set(groups)) for a in arns.log_group_arns(region, account, g)]
    return allow(sid, LOG_ACTIONS, resources)


def put_metrics(sid: str, namespaces: list[str]) -> Statement | None:
    """PutMetricData, only into ``namespaces`` (the action has no resource types)."""
    return allow(sid, ["cloudwatch:PutMetricData"], ["*"],
                 {"StringEquals": {"cloudwatch:namespace": sorted(set(namespaces))}})


def key_policy(region: str, account: str, events_publish: bool = False) -> dict[str, Any]:
    """The platform key's policy: the account administers it through IAM; CloudWatch alarms may
    use it to publish to the KMS-encrypted SNS topics of this account (without this statement an
    alarm's notification to an encrypted topic is silently dropped); with ``events_publish`` (a training
    job's failures are told: ``compile/aws/training_failures.py``), EventBridge rules may too ("If your
    Amazon SNS topic is encrypted ... you must include the following section in your KMS key policy",
    Amazon EventBridge User Guide, "Using resource-based policies for Amazon EventBridge", "Amazon SNS
    permissions").

    The EventBridge statement has no condition, unlike CloudWatch's: "Adding the ``aws:SourceAccount``,
    ``aws:SourceArn``, and ``aws:SourceOrgID`` to a AWS KMS policy is not supported for EventBridge-to-encrypted
    topics" (Amazon SNS Developer Guide, "Managing Amazon SNS encryption keys and costs", "Enable compatibility
    between event sources from AWS services and encrypted topics", step 3; with the condition the publish fails
    and no failed-training notice is delivered, audit closing-36b-1; field report: awslabs/landing-zone-accelerator-on-aws
    issue #407). The sender is still restricted where those keys are supported: each topic's policy lets
    ``events.amazonaws.com`` publish only with ``aws:SourceArn`` = this account's rules
    (``compile/aws/training_failures.py``)."""
    root = f"arn:{arns.partition(region)}:iam::{account}:root"
    events = {"Sid": "EventBridgeRulesPublishToEncryptedTopics", "Effect": "Allow",
              "Principal": {"Service": "events.amazonaws.com"},
              "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}
    return document(
        {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublishToEncryptedTopics", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        events if events_publish else None,
    )


def tls_only_bucket_policy(region: str, bucket: str, kms_key: Any = None,
                           unenforced: tuple[str, ...] = ()) -> dict[str, Any]:
    """Deny every request to ``bucket`` that is not over TLS, or over TLS older than 1.2; with ``kms_key`` (the
    platform key's ARN, a ref), also every PutObject that asks for another encryption (:func:`kms_puts_only`),
    except under the key prefixes ``unenforced`` (TLS still holds there)."""
    resources = [arns.bucket_arn(region, bucket), arns.objects_arn(region, bucket)]
    return document(
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
        *(kms_puts_only(region, bucket, kms_key, unenforced) if kms_key is not None else ()),
    )


SSE = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_CUSTOMER = "s3:x-amz-server-side-encryption-customer-algorithm"


def kms_puts_only(region: str, bucket: str, kms_key: Any, unenforced: tuple[str, ...] = ()) -> list[Statement]:
    """Deny statements that make ``encryption: kms`` hold for every object written, not only the default.

    The bucket's default encryption applies only to a PUT that names none (botocore ``s3``
    ``ServerSideEncryptionByDefault``: "If a PUT Object request doesn't specify any server-side encryption, this
    default encryption will be applied"); a PUT naming ``AES256`` (SSE-S3), ``aws:kms:dsse``, SSE-C, another KMS
    key, or ``aws:kms`` without a key (``PutObjectRequest.SSEKMSKeyId``: then "Amazon S3 uses the Amazon Web
    Services managed key (aws/s3)") was stored that way (audit datasources-4), out of the customer-managed,
    rotating key the spec promises, and unreadable by roles granted only that key. Each statement denies
    ``s3:PutObject`` (also the action of CreateMultipartUpload and of a CopyObject's destination, which carry the
    same headers) when the request's own headers ask for something else; S3 exposes them as the condition keys
    ``s3:x-amz-server-side-encryption``, ``s3:x-amz-server-side-encryption-aws-kms-key-id`` ("require a specific
    KMS key for object encryption. The KMS key you specify in the policy must use the
    arn:aws:kms:region:acct-id:key/key-id format", S3 Developer Guide "Protecting Data Using Server-Side
    Encryption with AWS KMS-Managed Keys (SSE-KMS)", awsdocs/amazon-s3-developer-guide
    ``doc_source/UsingKMSEncryption.md``) and ``s3:x-amz-server-side-encryption-customer-algorithm``
    (terraform-aws-modules/terraform-aws-s3-bucket ``main.tf`` ``deny_ssec_encrypted_object_uploads``).

    A header-less PUT must keep working (it gets the default: the platform key), so every negated test is guarded
    by ``Null: false`` (the header is present): IAM evaluates a negated operator on an absent key as true ("If the
    policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right key
    is not present, the condition is true", IAM User Guide, "IAM JSON policy elements: Condition operators"), and
    ``...IfExists`` is true on an absent key too, so the terraform module's plain ``StringNotEquals`` (and an
    ``IfExists`` variant) would deny header-less PUTs. The conditions of one statement are ANDed:

    - ``DenyOtherEncryption``: the SSE header is present and is not ``aws:kms`` (SSE-S3, DSSE-KMS);
    - ``DenyOtherKmsKey``: a KMS key header is present and is not the platform key's ARN (a writer naming the key
      must name it by its ARN, as SageMaker is given it: ``OutputDataConfig.KmsKeyId``,
      ``ProcessingOutputConfig.KmsKeyId``, ``DataCaptureConfig.KmsKeyId``);
    - ``DenyAwsManagedKey``: ``aws:kms`` without a key header (the ``aws/s3`` key);
    - ``DenySseC``: a customer-provided key (SSE-C).

    What is checked is only what this tool's own writers were shown to send: the SageMaker outputs it configures
    are given the key's ARN (``OutputDataConfig.KmsKeyId``, ``ProcessingOutputConfig.KmsKeyId``,
    ``DataCaptureConfig.KmsKeyId``), and promote's copy was recorded (header-less) from real boto3 requests on
    moto. Under the key prefixes ``unenforced`` the statements do not apply (``NotResource``: "explicitly matches
    every resource except those specified", IAM User Guide, "IAM JSON policy elements: NotResource"); the TLS
    statements still do. The platform artifacts bucket passes ``checkpoints/`` (audit closing-36b-4): spot
    checkpoints are uploaded by SageMaker itself, ``CheckpointConfig`` takes no key (botocore ``sagemaker``
    ``CheckpointConfig`` = ``S3Uri``, ``LocalPath``), and no document states the encryption headers of those
    uploads; where a job is given no key SageMaker's documented default is the account's ``aws/s3`` key
    (``OutputDataConfig.KmsKeyId``: "If you don't provide a KMS key ID, SageMaker uses the default KMS key for
    Amazon S3 for your role's account"), i.e. ``aws:kms`` without a key id, which ``DenyAwsManagedKey`` would
    refuse, failing every spot run. Unverifiable here, so not enforced there: a checkpoint written with no
    header gets the bucket default (the platform key), one written under ``aws/s3`` is stored that way.
    """
    objects = arns.objects_arn(region, bucket)
    where: dict[str, Any] = ({"NotResource": [arns.objects_arn(region, bucket, p) for p in unenforced]}
                             if unenforced else {"Resource": objects})

    def deny(sid: str, condition: dict[str, Any]) -> Statement:
        return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", **where,
                "Condition": condition}

    return [
        deny("DenyOtherEncryption", {"Null": {SSE: "false"}, "StringNotEquals": {SSE: "aws:kms"}}),
        deny("DenyOtherKmsKey", {"Null": {SSE_KMS_KEY: "false"}, "StringNotEquals": {SSE_KMS_KEY: kms_key}}),
        deny("DenyAwsManagedKey", {"StringEquals": {SSE: "aws:kms"}, "Null": {SSE_KMS_KEY: "true"}}),
        deny("DenySseC", {"Null": {SSE_CUSTOMER: "false"}}),
    ]


def ecr_lifecycle_policy(untagged_days: int) -> dict[str, Any]:
    """Expire untagged images (tags are immutable, so tagged images are releases and are kept)."""
    return {"rules": [{
        "rulePriority": 1, "description": f"Expire untagged images after {untagged_days} days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                      "countNumber": untagged_days},
        "action": {"type": "expire"},
    }]}
