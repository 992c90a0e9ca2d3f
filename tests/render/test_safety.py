"""The last line of defence: secret-shaped strings are refused, ordinary plan text is not."""

from __future__ import annotations

import pytest

from mlops_infra.render.safety import find_secret_shapes

SECRETS = {
    "an AWS access key id": "AKIAIOSFODNN7EXAMPLE",
    "an AWS secret access key": 'AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    "a Slack webhook URL": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "a Slack token": "xoxb-123456789012-abcdefghijkl",
    "a GitHub token": "ghp_" + "a" * 36,
    "a private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "a password in a URL": "postgres://admin:hunter2@db.internal:5432/app",
    "a Pulumi secret value": '{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}',
}


@pytest.mark.parametrize(("shape", "text"), SECRETS.items(), ids=list(SECRETS))
def test_secret_shapes_are_found(shape: str, text: str) -> None:
    assert (("plan.x", shape)) in find_secret_shapes({"x": text})


@pytest.mark.parametrize("text", [
    "arn:aws:secretsmanager:us-east-1:111111111111:secret:slack-oncall-webhook-??????",
    "slack-oncall-webhook",
    'secret_key=os.environ["AWS_SECRET_ACCESS_KEY"]',
    "s3://fraud-detection-staging-transactions-111111111111/datacapture",
    "https://github.com/aws-samples/foundation-model-benchmarking-tool/blob/d88142/pricing.yml",
    "(sensitive)",
])
def test_ordinary_plan_text_is_not_a_secret(text: str) -> None:
    assert find_secret_shapes({"x": text}) == []


SECRETS_MORE = {**SECRETS, "a Discord or Teams webhook URL": "https://discord.com/api/webhooks/123/abc"}


@pytest.mark.parametrize(("shape", "text"), SECRETS_MORE.items(), ids=list(SECRETS_MORE))
def test_a_plan_holding_any_shape_is_refused_through_the_fast_prefilter(shape: str, text: str) -> None:
    """The one-pass prefilter must let every shape through to the exact walk (value and key)."""
    from mlops_infra import jsoncodec
    from mlops_infra.plan.model import Action, AttributeChange, Plan, Reason, ResourceChange
    from mlops_infra.render.safety import _PREFILTER, UnsafePlanError, check_plan_safe

    assert _PREFILTER.search(jsoncodec.canonical_bytes({"x": text, text: 1}).decode())
    for before, after in ((None, text), ({text: "v"}, None)):
        change = ResourceChange("urn:pulumi:s::p::t::n", "t", "n", Action.UPDATE, Reason("property-changed", "x"),
                                (AttributeChange("x", before, after),))
        plan = Plan("p", "s", {}, "0" * 64, "0" * 64, (change,))
        with pytest.raises(UnsafePlanError) as raised:
            check_plan_safe(plan)
        assert shape in raised.value.detail and text not in raised.value.detail
