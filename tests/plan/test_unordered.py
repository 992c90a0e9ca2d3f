"""plan/unordered.py: Terraform sets and IAM policies aligned as the provider compares them (audit awsinputs-1, -2).

Equivalence rules from github.com/hashicorp/awspolicyequivalence aws_policy_equivalence.go (``policyStatement.equals``,
``newStringSet``, ``stringPrincipalsEqual``, ``conditionsBlock.Equals``), which terraform-provider-aws's
``verify.SuppressEquivalentPolicyDiffs`` calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.plan.unordered import align_policy, align_set, statement_equivalent


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def equivalent(prior: Any, desired: Any) -> bool:
    return align_policy(prior, desired) == desired


def test_a_reordered_set_is_equal_and_a_changed_one_is_left_as_it_is() -> None:
    assert align_set(["b", "a"], ["a", "b"]) == ["a", "b"]
    assert align_set([{"n": 1}, {"n": 2}], [{"n": 2}, {"n": 1}]) == [{"n": 2}, {"n": 1}]
    assert align_set(["a"], ["c", "a"]) == ["a"]  # a member added: shown as it always was
    assert align_set(["a", "a"], ["a", "b"]) == ["a", "a"]  # a multiset: a duplicate counts
    assert align_set([True, 2], [2, 1])[1] is True  # JSON types: true is not 1 (2 takes its desired index)
    # a changed member shows where it differs only (closing-43c-1): the others take their desired indexes
    assert align_set(["errors", "drifting"], ["latency", "errors"]) == ["drifting", "errors"]
    assert align_set(["x", "a", "b"], ["a", "b"]) == ["x", "a", "b"]  # a removed member: left to the list diff
    assert align_set(["b"], ["a", "b", "c"]) == ["b"]  # added members: likewise



def test_statement_order_single_strings_and_effect_case_are_equivalent() -> None:
    s1 = {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["r2", "r1"]}
    s2 = {"Effect": "Deny", "Action": "s3:*", "NotResource": "r3"}
    desired = _doc({**s1, "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["r1", "r2"]},
                   {**s2, "Effect": "deny", "Action": ["s3:*"], "NotResource": ["r3"]})
    assert equivalent(_doc(s2, s1), desired)
    # one statement as an object is that statement in a list
    assert equivalent({"Version": "2012-10-17", "Statement": s2}, _doc(s2))


@pytest.mark.parametrize("change", [
    {"Sid": "B"},                                   # another Sid
    {"Action": ["s3:GetObject"]},                   # an action less
    {"NotAction": ["s3:GetObject", "s3:PutObject"], "Action": None},  # NotAction is not Action
    {"Resource": ["r1", "r2", "r3"]},               # a resource more
    {"Effect": "Deny"},
])
def test_a_real_difference_is_not_equivalent(change: dict[str, Any]) -> None:
    s1 = {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["r1", "r2"]}
    changed = {k: v for k, v in {**s1, **change}.items() if v is not None}
    assert not statement_equivalent(s1, changed)
    assert not equivalent(_doc(s1), _doc(changed))


def test_principals_and_conditions() -> None:
    base = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    root = {**base, "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:role/x"]}}
    ids = {**base, "Principal": {"AWS": ["arn:aws:iam::222222222222:role/x", "111111111111"]}}
    assert statement_equivalent(root, ids)
    assert not statement_equivalent({**base, "Principal": "arn:aws:iam::111111111111:role/a"},
                                    {**base, "Principal": "arn:aws:iam::111111111111:role/b"})
    assert not statement_equivalent({**base, "Principal": "*"}, {**base, "Principal": {"AWS": "*"}})
    cond = {**base, "Condition": {"StringEquals": {"aws:SourceAccount": ["1", "2"]}}}
    assert statement_equivalent(cond, {**base, "Condition": {"StringEquals": {"aws:SourceAccount": ["2", "1"]}}})
    assert not statement_equivalent(cond, {**base, "Condition": {"StringLike": {"aws:SourceAccount": ["1", "2"]}}})
    assert not statement_equivalent(cond, base)


def test_a_real_new_action_leaves_only_its_statement_differing() -> None:
    s1 = {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": ["r2", "r1"]}
    s2 = {"Sid": "Kms", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    desired = _doc({**s2, "Action": ["kms:Decrypt"]},
                   {**s1, "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": ["r1", "r2"]})
    aligned = align_policy(_doc(s1, s2), desired)
    assert aligned["Statement"][0] == desired["Statement"][0]  # the equivalent statement, in its desired spelling
    assert aligned["Statement"][1] == {**desired["Statement"][1], "Action": ["logs:PutLogEvents"]}


SET_PATHS = {
    # internal/service/sagemaker/endpoint.go: deployment_config.auto_rollback_configuration.alarms "Type: schema.TypeSet"
    ("aws:sagemaker/endpoint:Endpoint", "deploymentConfig.autoRollbackConfiguration.alarms"),
    # internal/service/cloudwatch/metric_alarm.go: alarm_actions, ok_actions, insufficient_data_actions, metric_query
    # "Type: schema.TypeSet"
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarmActions"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "okActions"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "insufficientDataActions"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "metricQueries"),
    # internal/service/appautoscaling/policy.go: customized_metric_specification.dimensions "Type: schema.TypeSet"
    # (audit typesets44-4; tests/plan/test_drift_scaling_dimensions.py)
    ("aws:appautoscaling/policy:Policy", "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.dimensions"),
}
POLICY_INPUTS = {
    # internal/service/iam/role.go: assume_role_policy DiffSuppressFunc: verify.SuppressEquivalentPolicyDiffs
    ("aws:iam/role:Role", "assumeRolePolicy"),
    # iam/role_policy.go, s3/bucket_policy.go, sns/topic_policy.go, kms/key.go: policy is
    # sdkv2.IAMPolicyDocumentSchema* (the same DiffSuppressFunc)
    ("aws:iam/rolePolicy:RolePolicy", "policy"),
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
    ("aws:sns/topicPolicy:TopicPolicy", "policy"),
    ("aws:kms/key:Key", "policy"),
}


def test_the_rules_list_exactly_the_cited_set_paths_and_policy_inputs() -> None:
    from mlops_infra.plan.rules import RULES

    assert {(t, p) for t, rule in RULES.items() for p in rule.sets} == SET_PATHS
    assert {(t, p) for t, rule in RULES.items() for p in rule.policies} == POLICY_INPUTS
