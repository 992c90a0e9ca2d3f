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
