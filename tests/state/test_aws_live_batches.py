"""Batch reads of the live scan against a real moto server on 127.0.0.1: IAM roles and inline
policies from ListRoles + GetAccountAuthorizationDetails, CloudWatch alarms 100 per DescribeAlarms,
KMS aliases from one ListAliases. Each batch read gives exactly what the per-resource read gives,
in fewer calls (counted with botocore's ``before-call`` event)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from mlops_infra.state.aws_live import iam as iam_module
from mlops_infra.state.model import StateResource
from tests.support import fixtures
from tests.support.moto_server import client, session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
REGION = "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
INLINE = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"}]})
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
ALARM, ALIAS = "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:kms/alias:Alias"


def res(type_: str, label: str, id_: str, **inputs: Any) -> StateResource:
    return StateResource(urn=f"urn:pulumi:dev::p::{type_}::{label}", type=type_, id=id_, inputs=inputs)


class CountingScan:
    """A fresh dummy-credential session whose calls are counted by operation (``before-call``);
    ``deny`` names operations answered with AccessDenied (HTTP 403) instead of reaching moto."""

    def __init__(self, url: str, deny: tuple[str, ...] = ()) -> None:
        self.url = url
        self.calls: Counter[str] = Counter()
        self.params: dict[str, list[dict[str, Any]]] = {}
        self.deny = deny
        self.session = session()
        self.session.events.register("before-parameter-build", self._before_parameter_build)
        self.session.events.register("before-call", self._before_call)

    def _before_parameter_build(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.params.setdefault(model.name, []).append(dict(params))

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        self.calls[model.name] += 1
        if model.name in self.deny:
            return (AWSResponse(self.url, 403, {}, None),
                    {"Error": {"Code": "AccessDenied", "Message": f"not authorized to perform iam:{model.name}"},
                     "ResponseMetadata": {"HTTPStatusCode": 403}})
        return None

    def scan(self, resources: list[StateResource], **kwargs: Any) -> Any:
        return scan_aws(resources, region=REGION, session_factory=lambda: self.session, endpoint_url=self.url,
                        retry=RetryPolicy(botocore_max_attempts=1), deadline=600, **kwargs)


def seed_roles(url: str) -> list[StateResource]:
    """Six roles (one with description, path, max session, tags and a permissions boundary; one
    with two inline policies) and their inline policies, as prior-state resources."""
    iam = client("iam", url)
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=INLINE)["Policy"]["Arn"]
    iam.create_role(RoleName="trainer", AssumeRolePolicyDocument=TRUST, Description="trains models",
                    MaxSessionDuration=7200, Path="/ml/", Tags=[{"Key": "team", "Value": "ml"}],
                    PermissionsBoundary=boundary)
    resources = [res(ROLE, "trainer", "trainer")]
    for i in range(5):
        iam.create_role(RoleName=f"role-{i}", AssumeRolePolicyDocument=TRUST)
        resources.append(res(ROLE, f"role-{i}", f"role-{i}"))
    for role, name in [("trainer", "data"), ("trainer", "logs"), *((f"role-{i}", "data") for i in range(4))]:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=INLINE)
        resources.append(res(ROLE_POLICY, f"{role}-{name}", f"{role}:{name}", role=role, name=name))
    return resources


def one_by_one(url: str, resources: list[StateResource]) -> dict[str, Any]:
    """The per-resource readers' answers (GetRole / GetRolePolicy), by URN."""
    iam = client("iam", url)
    read = {ROLE: iam_module._read_role, ROLE_POLICY: iam_module._read_role_policy}
    return {r.urn: read[r.type](iam, r, None) for r in resources}  # type: ignore[arg-type]


@pytest.mark.moto
def test_iam_roles_and_inline_policies_come_from_two_listings_and_equal_the_per_resource_reads(
        moto_url: str) -> None:
    resources = seed_roles(moto_url)
    counting = CountingScan(moto_url)
    live = counting.scan(resources, max_workers=4)
    assert not live.errors and not live.missing and set(live.resources) == {r.urn for r in resources}
    expected = one_by_one(moto_url, resources)
    for urn, reading in expected.items():
        assert (live.resources[urn].inputs, live.resources[urn].outputs) == (reading.inputs, reading.outputs), urn
    trainer = live.resources[resources[0].urn].inputs
    assert trainer["tags"] == {"team": "ml"} and trainer["maxSessionDuration"] == 7200
    assert trainer["description"] == "trains models" and trainer["path"] == "/ml/"
    assert trainer["permissionsBoundary"].endswith(":policy/boundary")
    assert counting.calls == {"ListRoles": 1, "GetAccountAuthorizationDetails": 1}
    assert counting.params["ListRoles"][0]["MaxItems"] == 1000
    gaad = counting.params["GetAccountAuthorizationDetails"][0]
    assert gaad["MaxItems"] == 1000 and gaad["Filter"] == ["Role"]


@pytest.mark.moto
def test_iam_listing_marks_deleted_roles_and_policies_missing(moto_url: str) -> None:
    resources = seed_roles(moto_url)
    iam = client("iam", moto_url)
    iam.delete_role_policy(RoleName="role-0", PolicyName="data")
    for name in iam.list_role_policies(RoleName="role-1")["PolicyNames"]:
        iam.delete_role_policy(RoleName="role-1", PolicyName=name)
    iam.delete_role(RoleName="role-1")
    live = CountingScan(moto_url).scan(resources)
    gone = {"urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::role-0-data",
            "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::role-1-data",
            "urn:pulumi:dev::p::aws:iam/role:Role::role-1"}
    assert live.missing == gone and not live.errors
    assert set(live.resources) == {r.urn for r in resources} - gone


@pytest.mark.moto
def test_iam_below_the_threshold_or_when_listing_is_denied_reads_one_by_one(moto_url: str) -> None:
    resources = seed_roles(moto_url)
    few = [r for r in resources if r.type == ROLE][:iam_module.LISTING_MIN - 1]
    counting = CountingScan(moto_url)
    live = counting.scan(few)
    assert set(live.resources) == {r.urn for r in few}
    # GetRole has no policy lists (botocore iam Role): each role's attached and inline policies are listed
    assert counting.calls == {"GetRole": len(few), "ListAttachedRolePolicies": len(few), "ListRolePolicies": len(few)}

    denied = CountingScan(moto_url, deny=("GetAccountAuthorizationDetails",))
    live = denied.scan(resources)
    assert not live.errors and not live.missing
    expected = one_by_one(moto_url, resources)
    assert {u: (r.inputs, r.outputs) for u, r in live.resources.items()} == {
        u: (r.inputs, r.outputs) for u, r in expected.items()}
    roles = sum(r.type == ROLE for r in resources)
    assert denied.calls == {"ListRoles": 1, "GetAccountAuthorizationDetails": 1, "GetRole": roles,
                            "ListAttachedRolePolicies": roles, "ListRolePolicies": roles,
                            "GetRolePolicy": len(resources) - roles}


@pytest.mark.moto
def test_alarms_are_read_100_per_describe_alarms_call(moto_url: str) -> None:
    cloudwatch = client("cloudwatch", moto_url)
    alarms = []
    for i in range(150):
        cloudwatch.put_metric_alarm(AlarmName=f"a{i:03d}", MetricName="ModelLatency", Namespace="AWS/SageMaker",
                                    Statistic="Average", Period=60, EvaluationPeriods=3, Threshold=1.0,
                                    ComparisonOperator="GreaterThanThreshold")
        alarms.append(res(ALARM, f"a{i:03d}", f"a{i:03d}"))
    cloudwatch.delete_alarms(AlarmNames=["a007"])
    counting = CountingScan(moto_url)
    live = counting.scan(alarms)
    assert live.missing == {alarms[7].urn} and len(live.resources) == 149 and not live.errors
    assert live.resources[alarms[0].urn].inputs["metricName"] == "ModelLatency"
    # their tags: one Resource Groups Tagging API GetResources per 100 ARNs (tagging.py)
    assert counting.calls == {"DescribeAlarms": 2, "GetResources": 2}
    assert [(len(p["AlarmNames"]), p["MaxRecords"]) for p in counting.params["DescribeAlarms"]] in (
        [(100, 100), (50, 100)], [(50, 100), (100, 100)])


@pytest.mark.moto
def test_kms_aliases_come_from_one_list_aliases_call(moto_url: str) -> None:
    kms = client("kms", moto_url)
    aliases = []
    for i in range(4):
        key = kms.create_key(Description=f"k{i}")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/k{i}", TargetKeyId=key)
        aliases.append(res(ALIAS, f"k{i}", f"alias/k{i}", name=f"alias/k{i}", targetKeyId=key))
    kms.delete_alias(AliasName="alias/k3")
    counting = CountingScan(moto_url)
    live = counting.scan(aliases, max_workers=8)
    assert live.missing == {aliases[3].urn} and not live.errors
    assert {live.resources[a.urn].inputs["targetKeyId"] for a in aliases[:3]} == {
        a.inputs["targetKeyId"] for a in aliases[:3]}
    assert counting.calls == {"ListAliases": 1} and counting.params["ListAliases"][0]["Limit"] == 100

