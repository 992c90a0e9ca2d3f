"""AWS Chatbot Slack channel configurations: pure ``map_*`` mappers, ``_read_*`` readers and their
:data:`READERS` entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.aws_live.tracking import Tracking
from mlops_infra.state.model import StateResource


def map_slack_channel(config: Mapping[str, Any]) -> Reading:
    """One ``DescribeSlackChannelConfigurations`` entry -> ``aws:chatbot/slackChannelConfiguration``."""
    inputs = drop_none({
        "configurationName": config.get("ConfigurationName"),
        "iamRoleArn": config.get("IamRoleArn"),
        "slackChannelId": config.get("SlackChannelId"),
        "slackTeamId": config.get("SlackTeamId"),
        "snsTopicArns": config.get("SnsTopicArns"),
        "loggingLevel": config.get("LoggingLevel"),
        "guardrailPolicyArns": config.get("GuardrailPolicyArns"),
        "userAuthorizationRequired": config.get("UserAuthorizationRequired"),
    })
    return Reading(inputs, drop_none({"chatConfigurationArn": config.get("ChatConfigurationArn")}))


def _read_slack_channel(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    configs = client.describe_slack_channel_configurations(ChatConfigurationArn=res.id)
    found = [c for c in configs.get("SlackChannelConfigurations", []) if c.get("ChatConfigurationArn") == res.id]
    return map_slack_channel(found[0]) if found else None


READERS: dict[str, Reader] = {
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": Reader("chatbot", Tracking(
        "Slack channel", (
            T("slackChannelId", "channel"), T("slackTeamId", "workspace"), T("iamRoleArn", "role"),
            T("snsTopicArns", "topics", "set"), T("loggingLevel", "logging level", computed=True),
            T("guardrailPolicyArns", "guardrail policies", "set", computed=True),
        )), read_one=_read_slack_channel),
}
