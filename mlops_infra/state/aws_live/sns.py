"""SNS topics and subscriptions: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS`
entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def _bool(value: Any) -> bool | None:
    """SNS-style ``"true"``/``"false"`` attribute strings -> bool."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def map_sns_topic(attributes: Mapping[str, str]) -> Reading:
    """``GetTopicAttributes.Attributes`` -> ``aws:sns/topic:Topic``."""
    inputs = drop_none({
        "name": attributes.get("TopicArn", "").rsplit(":", 1)[-1] or None,
        "displayName": attributes.get("DisplayName"),
        "kmsMasterKeyId": attributes.get("KmsMasterKeyId"),
        "fifoTopic": _bool(attributes.get("FifoTopic", "false")),
        "policy": attributes.get("Policy"),
        "deliveryPolicy": attributes.get("DeliveryPolicy"),
    })
    return Reading(inputs, drop_none({"arn": attributes.get("TopicArn"), "owner": attributes.get("Owner")}))


def map_sns_subscription(attributes: Mapping[str, str]) -> Reading:
    """``GetSubscriptionAttributes.Attributes`` -> ``aws:sns/topicSubscription:TopicSubscription``."""
    inputs = drop_none({
        "topic": attributes.get("TopicArn"),
        "protocol": attributes.get("Protocol"),
        "endpoint": attributes.get("Endpoint"),
        "rawMessageDelivery": _bool(attributes.get("RawMessageDelivery", "false")),
        "filterPolicy": attributes.get("FilterPolicy"),
        "filterPolicyScope": attributes.get("FilterPolicyScope"),
        "redrivePolicy": attributes.get("RedrivePolicy"),
        "subscriptionRoleArn": attributes.get("SubscriptionRoleArn"),
    })
    outputs = drop_none({"arn": attributes.get("SubscriptionArn"),
                         "pendingConfirmation": _bool(attributes.get("PendingConfirmation"))})
    return Reading(inputs, outputs)


def map_sns_topic_policy(attributes: Mapping[str, str]) -> Reading:
    """``GetTopicAttributes.Attributes`` -> ``aws:sns/topicPolicy:TopicPolicy``: the topic's ``Policy``
    attribute is the resource (terraform-provider-aws ``internal/service/sns/topic_policy.go``
    ``resourceTopicPolicyRead`` reads ``GetTopicAttributes`` of the topic ARN, the resource's id, and sets
    ``arn`` and ``policy`` from it; its delete puts back the default policy, so a policy replaced by hand
    is changed drift, never gone while the topic exists)."""
    return Reading(drop_none({"arn": attributes.get("TopicArn"), "policy": attributes.get("Policy")}),
                   drop_none({"owner": attributes.get("Owner")}))


def _read_sns_topic(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sns_topic(client.get_topic_attributes(TopicArn=res.id)["Attributes"])


def _read_sns_topic_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sns_topic_policy(client.get_topic_attributes(TopicArn=res.id)["Attributes"])


def _read_sns_subscription(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sns_subscription(client.get_subscription_attributes(SubscriptionArn=res.id)["Attributes"])


READERS: dict[str, Reader] = {
    "aws:sns/topic:Topic": Reader("sns", Tracking("alert topic", (
        T("displayName", "display name"), T("kmsMasterKeyId", "KMS key"),
        T("fifoTopic", "FIFO", default=False), T("policy", "topic policy", "policy", computed=True), TAGS,
    )), read_one=_read_sns_topic, tags=True),
    "aws:sns/topicPolicy:TopicPolicy": Reader("sns", Tracking("alert topic policy", (
        T("policy", "topic policy", "policy"),
    )), read_one=_read_sns_topic_policy),
    "aws:sns/topicSubscription:TopicSubscription": Reader("sns", Tracking("alert subscription", (
        T("topic", "topic"), T("protocol", "protocol"), T("endpoint", "endpoint"),
        T("rawMessageDelivery", "raw delivery", default=False), T("filterPolicy", "filter policy", "json"),
    ), gone="removed"), read_one=_read_sns_subscription),
}
