"""Console edits that ``plan --refresh`` (and promote's no-drift gate, the same ``find_drift``) must
report, on a real moto server: a Lambda function's code deployed by hand, an S3 bucket's
encryption reset to the SSE-S3 default, and a role's permissions policies attached or added outside
Pulumi.

moto keeps its backends in process memory, shared by every server of the process: every name here
is unique to its test."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

import botocore.exceptions
import pytest

from mlops_infra.plan.drift import find_drift
from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from mlops_infra.state.model import LiveState, PriorState, StateResource
from tests.support import fixtures
from tests.support.moto_server import client, handler_zip, shared_session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
REGION = "us-east-1"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
INLINE = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sagemaker:UpdateEndpoint", "Resource": "*"}]})
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def state(type_: str, name: str, id_: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None,
          ) -> StateResource:
    return StateResource(urn=f"urn:pulumi:prod::fraud::{type_}::{name}", type=type_, id=id_,
                         inputs={"__defaults": [], **inputs}, outputs={"id": id_, **inputs, **(outputs or {})})


def prior_of(*resources: StateResource) -> PriorState:
    return PriorState("test", 3, "0" * 64, "fraud", "prod", {r.urn: r for r in resources})


def scan(url: str, prior: PriorState) -> LiveState:
    live = scan_aws(prior.resources.values(), region=REGION, session_factory=shared_session, endpoint_url=url,
                    retry=RetryPolicy(botocore_max_attempts=1), deadline=600)
    assert not live.errors and not live.missing
    return live


def summaries(prior: PriorState, live: LiveState) -> dict[str, tuple[str, str]]:
    return {i.urn.rsplit("::", 1)[-1]: (i.kind, i.summary) for i in find_drift(prior, live)}


# ------------------------------------------------------------------------------------------
# Lambda: the deployment package's hash
# ------------------------------------------------------------------------------------------


def _zip_of(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", source)
    return buffer.getvalue()


@pytest.mark.moto
def test_code_deployed_outside_pulumi_is_drift_and_a_state_without_the_hash_compares_none(moto_url: str) -> None:
    iam, lam = client("iam", moto_url), client("lambda", moto_url)
    role = iam.create_role(RoleName="codehash-runner-role", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    made = lam.create_function(FunctionName="codehash-rollout-runner", Runtime="python3.12", Role=role,
                               Handler="h.handler", Code={"ZipFile": handler_zip()})
    inputs = {"name": "codehash-rollout-runner", "role": role, "runtime": "python3.12", "handler": "h.handler"}
    # Pulumi keeps the hash the provider read after its create (outputs.codeSha256)
    applied = state(FUNCTION, "rollout-runner", "codehash-rollout-runner", inputs,
                    {"codeSha256": made["CodeSha256"], "arn": made["FunctionArn"]})
    unhashed = state(FUNCTION, "rollout-runner", "codehash-rollout-runner", inputs)
    assert summaries(prior_of(applied), scan(moto_url, prior_of(applied))) == {}

    # the console's "Deploy": UpdateFunctionCode with another package
    deployed = lam.update_function_code(FunctionName="codehash-rollout-runner",
                                        ZipFile=_zip_of("def handler(event, context):\n    return 'hand-made'\n"))
    assert deployed["CodeSha256"] != made["CodeSha256"]
    [item] = find_drift(prior_of(applied), scan(moto_url, prior_of(applied)))
    assert item.kind == "changed" and item.changes == (("codeSha256", made["CodeSha256"], deployed["CodeSha256"]),)
    assert item.summary == (f"function rollout-runner: code {made['CodeSha256']} -> {deployed['CodeSha256']} "
                            "changed outside Pulumi")
    # computed: a state that holds no hash compares none (no false drift)
    assert find_drift(prior_of(unhashed), scan(moto_url, prior_of(unhashed))) == []


# ------------------------------------------------------------------------------------------
# S3: DeleteBucketEncryption resets the bucket to SSE-S3
# ------------------------------------------------------------------------------------------


@pytest.mark.moto
def test_the_stand_in_answers_a_bucket_without_its_own_encryption_with_the_sse_s3_default(moto_url: str) -> None:
    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket="sse-default-fresh")
    sse_s3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}
    assert s3.get_bucket_encryption(Bucket="sse-default-fresh")["ServerSideEncryptionConfiguration"] == sse_s3
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k-1"},
                      "BucketKeyEnabled": True}]}
    s3.put_bucket_encryption(Bucket="sse-default-fresh", ServerSideEncryptionConfiguration=kms)
    assert s3.get_bucket_encryption(Bucket="sse-default-fresh")["ServerSideEncryptionConfiguration"] == kms
    s3.delete_bucket_encryption(Bucket="sse-default-fresh")
    assert s3.get_bucket_encryption(Bucket="sse-default-fresh")["ServerSideEncryptionConfiguration"] == sse_s3
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        s3.get_bucket_encryption(Bucket="sse-default-never-made")
    assert gone.value.response["Error"]["Code"] == "NoSuchBucket"


@pytest.mark.moto
def test_encryption_deleted_in_the_console_is_a_change_to_sse_s3_not_a_removal(moto_url: str) -> None:
    kms, s3 = client("kms", moto_url), client("s3", moto_url)
    key = kms.create_key(Description="sse-reset data key")["KeyMetadata"]
    s3.create_bucket(Bucket="sse-reset-data")
    s3.put_bucket_encryption(Bucket="sse-reset-data", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
        "BucketKeyEnabled": True}]})
    prior = prior_of(state(SSE, "data-encryption", "sse-reset-data", {"bucket": "sse-reset-data", "rules": [{
        "__defaults": [], "bucketKeyEnabled": True, "applyServerSideEncryptionByDefault": {
            "__defaults": [], "sseAlgorithm": "aws:kms", "kmsMasterKeyId": key["Arn"]}}]}))
    assert summaries(prior, scan(moto_url, prior)) == {}
    s3.delete_bucket_encryption(Bucket="sse-reset-data")
    [item] = find_drift(prior, scan(moto_url, prior))
    assert item.kind == "changed"
    assert ("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm", "aws:kms", "AES256") in item.changes
    assert ("rules[0].bucketKeyEnabled", True, False) in item.changes
    assert item.summary == (
        f"bucket sse-reset-data: encryption kmsMasterKeyId {key['KeyId']} -> (none), "
        "encryption sseAlgorithm aws:kms -> AES256, encryption bucketKeyEnabled true -> false changed outside Pulumi")


# ------------------------------------------------------------------------------------------
# IAM: a role's attached managed policies and inline policies
# ------------------------------------------------------------------------------------------


def _roles(url: str, prefix: str, count: int) -> tuple[PriorState, Any]:
    """``count`` roles ``<prefix>-<i>`` with one inline policy each (``runner``), as the compiled
    graph makes them (no managed policy attached), and their state."""
    iam = client("iam", url)
    resources = []
    for i in range(count):
        name = f"{prefix}-{i}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="runner", PolicyDocument=INLINE)
        resources.append(state(ROLE, f"role-{i}", name, {"name": name, "assumeRolePolicy": LAMBDA_TRUST,
                                                          "path": "/", "maxSessionDuration": 3600}, {"arn": arn}))
        resources.append(state(ROLE_POLICY, f"role-{i}-runner", f"{name}:runner",
                               {"role": name, "name": "runner", "policy": INLINE}))
    return prior_of(*resources), iam


@pytest.mark.moto
@pytest.mark.parametrize("count", [1, 6], ids=["one-by-one", "listing"])
def test_a_role_reads_its_attached_and_inline_policies(moto_url: str, count: int) -> None:
    prefix = f"rolepol-read-{count}"
    prior, iam = _roles(moto_url, prefix, count)
    live = scan(moto_url, prior)
    role = live.resources[f"urn:pulumi:prod::fraud::{ROLE}::role-0"].inputs
    assert role["managedPolicyArns"] == [] and role["inlinePolicies"] == [{"name": "runner"}]
    admin = iam.create_policy(PolicyName=f"{prefix}-admin", PolicyDocument=ADMIN)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=f"{prefix}-0", PolicyArn=admin)
    iam.put_role_policy(RoleName=f"{prefix}-0", PolicyName="console-added", PolicyDocument=ADMIN)
    live = scan(moto_url, prior)
    role = live.resources[f"urn:pulumi:prod::fraud::{ROLE}::role-0"].inputs
    assert role["managedPolicyArns"] == [admin]
    assert role["inlinePolicies"] == [{"name": "console-added"}, {"name": "runner"}]
    [item] = find_drift(prior, live)
    assert item.urn == f"urn:pulumi:prod::fraud::{ROLE}::role-0" and item.kind == "changed"
    assert item.changes == ((f"managedPolicyArns[{admin}]", None, admin),
                            ("inlinePolicies[console-added]", None, "console-added"))
    assert item.summary == (f"IAM role role-0: policy {prefix}-admin attached, inline policy console-added added "
                            "outside Pulumi")


def test_policies_the_state_holds_for_the_role_are_not_drift() -> None:
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    reader = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    role = state(ROLE, "runner", "runner", {"name": "runner", "managedPolicyArns": [reader],
                                            "inlinePolicies": [{"name": "own", "policy": INLINE}]})
    held = (state(ROLE_POLICY, "runner-policy", "runner:least-privilege",
                  {"role": "runner", "name": "least-privilege", "policy": INLINE}),
            state("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "runner-admin", "runner-2024",
                  {"role": "runner", "policyArn": admin}))
    names = [{"name": n} for n in ("least-privilege", "own")]
    live = dataclasses.replace(role, inputs={**role.inputs, "managedPolicyArns": [admin, reader],
                                             "inlinePolicies": names})
    assert find_drift(prior_of(role, *held), LiveState({role.urn: live}, frozenset())) == []
    # another role's policies do not cover it, and a trust-policy change is phrased as before
    other = [dataclasses.replace(r, inputs={**r.inputs, "role": "other"}) for r in held]
    trust = dataclasses.replace(live, inputs={**live.inputs, "path": "/hand/"})
    [item] = find_drift(prior_of(role, *other), LiveState({role.urn: trust}, frozenset()))
    assert item.summary == ("IAM role runner: path / -> /hand/ changed, policy AdministratorAccess attached, "
                            "inline policy least-privilege added outside Pulumi")
    # a reading without the lists (not read) compares none
    unread = dataclasses.replace(role, inputs={k: v for k, v in role.inputs.items()
                                               if k not in ("managedPolicyArns", "inlinePolicies")})
    assert find_drift(prior_of(role), LiveState({role.urn: unread}, frozenset())) == []
