"""What the compiled role policies really allow, evaluated as IAM evaluates them (audit iam-1, iam-2, iam-3, iam-5).

Each test evaluates the compiled policies of every example's AWS environments (``cases.CASES``) with the test
evaluator :func:`tests.support.bucket_policy_conditions.allowed_by` (moto does not enforce IAM): a condition on a
key the request does not carry is false, so an action placed under such a condition is not granted at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.graph import is_json, is_ref
from tests.compile.aws.cases import CASES, compile_text, compiled, of_type, walk
from tests.support.bucket_policy_conditions import allowed_by, ref_text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDS = [c[0] for c in CASES]
PARAMS = [c[1:] for c in CASES]
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
KEY = "aws:kms/key:Key"
GRANT_ACTIONS = {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
"""The only requests that carry ``kms:GrantIsForAWSResource`` (AWS KMS Developer Guide, "Controlling access to grants")."""
LIST_ACTIONS = {"s3:ListBucket", "s3:ListBucketVersions"}
"""The only actions whose requests carry ``s3:prefix`` (a listing's prefix parameter)."""
SERVICE_GRANT = {"kms:GrantIsForAWSResource": "true"}


def _policies(graph) -> dict[str, dict[str, Any]]:
    """role URN -> its compiled inline policy document."""
    return {r.inputs["role"]["$ref"]: r.inputs["policy"]["$json"] for r in of_type(graph, ROLE_POLICY)}


def _key(graph) -> str:
    (key,) = of_type(graph, KEY)
    return ref_text({"$ref": key.urn, "output": "arn"})


def _role_named(policies: dict[str, dict[str, Any]], suffix: str) -> dict[str, Any]:
    (found,) = [p for urn, p in policies.items() if urn.endswith(f"::{suffix}")]
    return found


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_no_action_shares_a_statement_with_a_condition_its_requests_never_carry(path, env):
    """iam-1 and iam-2: an action under ``kms:GrantIsForAWSResource`` other than the grant calls, or under
    ``s3:prefix`` other than a listing, is a grant the policy names but never makes."""
    wrong = []
    for urn, policy in _policies(compiled(path, env)).items():
        for statement in policy["Statement"]:
            keys = {key for tests in statement.get("Condition", {}).values() for key in tests}
            if "kms:GrantIsForAWSResource" in keys and set(statement["Action"]) - GRANT_ACTIONS:
                wrong.append((urn, statement["Sid"], statement["Action"]))
            if "s3:prefix" in keys and set(statement["Action"]) - LIST_ACTIONS:
                wrong.append((urn, statement["Sid"], statement["Action"]))
    assert not wrong


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_every_bucket_a_role_reads_also_answers_its_location(path, env):
    """iam-2: GetBucketLocation is allowed, without a prefix in the request, on each bucket a role reads objects
    of (``policies.s3_read``: statements ``<sid>Objects``); the retrain gates only list (no GetObject), as
    ``ListObjectsV2`` needs."""
    checked = 0
    for urn, policy in _policies(compiled(path, env)).items():
        read = {r.split("/", 1)[0] for s in policy["Statement"] if "s3:GetObject" in s["Action"]
                for r in s["Resource"] if isinstance(r, str) and r.startswith("arn:aws:s3:::")}
        listed = {r for s in policy["Statement"] if "s3:ListBucket" in s["Action"] for r in s["Resource"]} & read
        for bucket in sorted(listed):
            checked += 1
            assert allowed_by(policy, "s3:GetBucketLocation", bucket, {}), (urn, bucket)
    assert checked


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_the_roles_that_hand_the_key_to_sagemaker_can_describe_it_and_grant_only_for_aws(path, env):
    """iam-1: the pipelines role and the rollout runner (when a canary config is encrypted) may DescribeKey the
    platform key (a request without ``kms:GrantIsForAWSResource``) and CreateGrant only for an AWS service."""
    graph = compiled(path, env)
    policies, key = _policies(graph), _key(graph)
    holders = [p for p in policies.values()
               if any("kms:CreateGrant" in s["Action"] for s in p["Statement"])]
    assert holders
    for policy in holders:
        assert allowed_by(policy, "kms:DescribeKey", key, {})
        assert allowed_by(policy, "kms:CreateGrant", key, SERVICE_GRANT)
        assert not allowed_by(policy, "kms:CreateGrant", key, {"kms:GrantIsForAWSResource": "false"})


def test_the_runner_of_an_encrypted_canary_can_describe_the_key():
    """iam-1, on the example with an encrypted canary config (ml.m5 has no local NVMe)."""
    (case,) = [c for c in CASES if c[0] == "quickstart-prod"]
    graph = compiled(*case[1:])
    runner = _role_named(_policies(graph), "rollout-runner")
    assert allowed_by(runner, "kms:DescribeKey", _key(graph), {})
    assert allowed_by(runner, "kms:CreateGrant", _key(graph), SERVICE_GRANT)


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_the_pipelines_role_reads_no_image(path, env):
    """iam-3: the RegisterModel step is CreateModelPackage, which needs no ECR action (SageMaker "API
    Permissions: Actions, Permissions, and Resources Reference"); the pipelines role gets none."""
    policy = _role_named(_policies(compiled(path, env)), "pipelines")
    assert [s["Sid"] for s in policy["Statement"] if any(a.startswith("ecr:") for a in s["Action"])] == []


def _steps_with_volume_key(graph):
    """(pipeline, step name, RoleArn ref) of every pipeline step that sets a volume KMS key."""
    for pipeline in of_type(graph, PIPELINE):
        definition = pipeline.inputs["pipelineDefinition"]
        definition = definition["$json"] if is_json(definition) else definition
        for step in definition["Steps"]:
            arguments = step.get("Arguments", {})
            keys = [v.get("VolumeKmsKeyId") for v in walk(arguments) if isinstance(v, dict) and "VolumeKmsKeyId" in v]
            if keys:
                assert is_ref(arguments["RoleArn"]), step["Name"]
                yield pipeline.inputs["pipelineName"], step["Name"], arguments["RoleArn"]["$ref"]


def _assert_execution_roles_grant(graph) -> int:
    policies, key = _policies(graph), _key(graph)
    found = 0
    for pipeline, step, role in _steps_with_volume_key(graph):
        found += 1
        assert allowed_by(policies[role], "kms:CreateGrant", key, SERVICE_GRANT), (pipeline, step, role)
    return found


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_the_execution_role_of_each_step_with_a_volume_key_may_create_the_grant(path, env):
    """iam-5: SageMaker's role guide ("CreateProcessingJob API: Execution Role Permissions", and the same for
    training): with a volume KMS key the execution role needs ``kms:CreateGrant``; every drift job sets one."""
    assert _assert_execution_roles_grant(compiled(path, env))


EBS_TRAINING = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: ebs-train, owner: team@example.com}
data_sources:
  - {name: rows, kind: object_store, retention: 30d}
clusters:
  - {name: cpu, instance_type: ml.m5.xlarge, nodes: {min: 0, max: 1}}
training_jobs:
  - name: fit
    cluster: cpu
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fit:1.0.0
    command: [python, fit.py]
    inputs: [rows]
environments:
  prod:
    target: {kind: aws, region: us-east-1, account: "123456789012"}
"""


def test_a_training_job_on_an_instance_without_nvme_gets_the_grant_on_its_own_role():
    """iam-5, training: ml.m5 has no local NVMe, so the Train step sets ``ResourceConfig.VolumeKmsKeyId``."""
    assert _assert_execution_roles_grant(compile_text(EBS_TRAINING)) == 1
