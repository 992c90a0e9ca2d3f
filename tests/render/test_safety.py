"""The renderers' last line of defence: a rendered plan holding a secret shape is refused, ordinary
plan text is not, and the refusal names the resource and kind, never the value."""

from __future__ import annotations

import pytest

from mlops_infra.plan.model import Action, AttributeChange, Plan, Reason, ResourceChange
from mlops_infra.render import render_json, render_markdown, render_text
from mlops_infra.render.safety import UnsafePlanError, plan_places

SECRETS = {
    "an AWS access key id": "AKIAIOSFODNN7EXAMPLE",
    "an AWS secret access key": 'AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    "a Slack webhook URL": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "a Slack token": "xoxb-123456789012-abcdefghijkl",
    "a GitHub token": "ghp_" + "a" * 36,
    "a private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "a password in a URL": "postgres://admin:hunter2@db.internal:5432/app",
    "a Pulumi secret value": '{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}',
    "a Discord or Teams webhook URL": "https://discord.com/api/webhooks/123/abcdefghijklmnop",
}

RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def _plan(before: object, after: object) -> Plan:
    change = ResourceChange("urn:pulumi:s::p::aws:s3/bucket:Bucket::n", "aws:s3/bucket:Bucket", "n", Action.UPDATE,
                            Reason("property-changed", "x"), (AttributeChange("tags.note", before, after),))
    return Plan("p", "s", {}, "0" * 64, "0" * 64, (change,))


@pytest.mark.parametrize("renderer", list(RENDERERS))
@pytest.mark.parametrize(("shape", "text"), SECRETS.items(), ids=list(SECRETS))
def test_every_renderer_refuses_every_shape_in_values_and_keys(renderer: str, shape: str, text: str) -> None:
    for before, after in ((None, text), ({text: "v"}, None), ("old", {"k": [text]})):
        with pytest.raises(UnsafePlanError) as raised:
            RENDERERS[renderer](_plan(before, after))
        message = raised.value.summary + raised.value.detail
        assert shape in message and "urn:pulumi:s::p::aws:s3/bucket:Bucket::n" in message
        secret_part = text.split("://")[-1][:16] if "://" in text else text[:16]
        assert secret_part not in message


@pytest.mark.parametrize("text", [
    "arn:aws:secretsmanager:us-east-1:111111111111:secret:slack-oncall-webhook-??????",
    "slack-oncall-webhook",
    'secret_key=os.environ["AWS_SECRET_ACCESS_KEY"]',
    "s3://fraud-detection-staging-transactions-111111111111/datacapture",
    "https://github.com/aws-samples/foundation-model-benchmarking-tool/blob/d88142/pricing.yml",
    "(sensitive)",
    "risk-ml@example.com",
    "targetTrackingScalingPolicyConfiguration",
    "3cb3449353ba966b44f29f5deba6ea92be4e2c5a",
])
def test_ordinary_plan_text_is_not_a_secret(text: str) -> None:
    plan = _plan("x", text)
    for render in RENDERERS.values():
        render(plan)
    assert plan_places(plan) == []
