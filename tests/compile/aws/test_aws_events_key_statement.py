"""The platform key lets EventBridge publish to its encrypted topics without source conditions (closing-36b-1).

Rule: "Adding the ``aws:SourceAccount``, ``aws:SourceArn``, and ``aws:SourceOrgID`` to a AWS KMS policy is not
supported for EventBridge-to-encrypted topics" (Amazon SNS Developer Guide, "Managing Amazon SNS encryption keys
and costs", "Enable compatibility between event sources from AWS services and encrypted topics"). With such a
condition the rule's publish to the topic fails and no failed-training notice is delivered. moto neither
evaluates key policies nor delivers to SNS targets, so this is checked on the compiled key policy: the
EventBridge statement carries no ``aws:Source*`` key, the CloudWatch one keeps ``aws:SourceAccount``, and the
topic policy still restricts the sender to this account's rules (``aws:SourceArn``, supported there).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system
from tests.support.kube_cases import REFERENCE

ACCOUNT = "222222222222"  # the reference's prod account (eu-west-1)


def _resources(env: str = "prod") -> list[Any]:
    loaded = parse_system(REFERENCE.read_text(), "mlsystem.yaml", env)
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics]
    return list(compile_system(loaded.system, env).resources)


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for block in statement.get("Condition", {}).values() for key in block}


def test_the_eventbridge_key_statement_has_no_source_condition() -> None:
    [key] = [r for r in _resources() if r.type == "aws:kms/key:Key" and r.urn.endswith("::data-key")]
    statements = {s["Sid"]: s for s in key.inputs["policy"]["$json"]["Statement"]}
    events = statements["EventBridgeRulesPublishToEncryptedTopics"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert not [k for k in _condition_keys(events) if k.lower().startswith("aws:source")], events
    # CloudWatch alarms keep theirs (the same page lists aws:SourceAccount for CloudWatch)
    cloudwatch = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_the_topic_policy_still_limits_the_sender_to_this_accounts_rules() -> None:
    # the grant is the channel's TopicPolicy (compile/aws/training_failures.py, "Why a TopicPolicy")
    [topic_policy] = [r for r in _resources()
                      if r.type == "aws:sns/topicPolicy:TopicPolicy" and r.urn.endswith("::ml-team-topic-policy")]
    statements = topic_policy.inputs["policy"]["$json"]["Statement"]
    [events] = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == "sns:Publish" or events["Action"] == ["sns:Publish"]
    assert events["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/*"}}
