"""``mlops-infra rollout ENDPOINT --env <aws env>`` (and ``--abort``, ``--resume``) when AWS cannot be used: no
credentials, an unknown ``AWS_PROFILE``, an unreachable or malformed ``AWS_ENDPOINT_URL``, the endpoint not applied
yet. Each is a user error naming the cause and the fix, exit 1, never "internal error" nor a secret (audit
robust-8). On the moto server (tests/support/moto_server.py) or a closed loopback port: no real AWS."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.cli import assert_clear_error, run_cli
from tests.support.moto_accounts import use_account
from tests.support.moto_server import reset, running_moto_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
SECRET = "wJalrXUtnFEMI-robustB-not-a-real-secret"


@pytest.fixture
def aws_home(tmp_path, monkeypatch):
    """An AWS environment with no credentials anywhere: empty config files, no key variables, no instance
    metadata lookup (botocore's IMDS provider would reach 169.254.169.254)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.moto
@pytest.mark.parametrize("flag", [(), ("--abort",), ("--resume",)])
def test_no_credentials_says_log_in(aws_home, flag):
    with running_moto_server() as url:
        aws_home.setenv("AWS_ENDPOINT_URL", url)
        result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", *flag)
    assert_clear_error(result, "rollout of 'scorer' in environment 'prod' (account 222222222222, eu-west-1): "
                         "no AWS credentials (NoCredentialsError)", "aws sso login", "AWS_PROFILE")


def test_an_unknown_profile_is_named(aws_home):
    aws_home.setenv("AWS_PROFILE", "robustb-nosuch")
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert_clear_error(result, "the AWS profile 'robustb-nosuch' (AWS_PROFILE) is not in your AWS config",
                 "aws configure list-profiles")


def test_a_malformed_endpoint_url_is_named_without_its_value(aws_home):
    aws_home.setenv("AWS_ACCESS_KEY_ID", "AKIAROBUSTBEXAMPLE00")
    aws_home.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_home.setenv("AWS_ENDPOINT_URL", f"notaurl-{SECRET}")
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--abort")
    assert_clear_error(result, "the AWS endpoint URL is not valid (ValueError)", "AWS_ENDPOINT_URL")
    assert SECRET not in result.output


def test_an_unreachable_endpoint_url_names_its_host_only(aws_home):
    port = _closed_port()
    aws_home.setenv("AWS_ACCESS_KEY_ID", "AKIAROBUSTBEXAMPLE00")
    aws_home.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_home.setenv("AWS_ENDPOINT_URL", f"http://user:{SECRET}@127.0.0.1:{port}/path")
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert_clear_error(result, f"could not reach AWS at http://127.0.0.1:{port} (EndpointConnectionError)",
                 "Check AWS_ENDPOINT_URL")
    assert SECRET not in result.output


@pytest.mark.moto
@pytest.mark.parametrize("flag", [(), ("--abort",)])
def test_an_endpoint_not_applied_yet_says_apply_first(aws_home, tmp_path, flag):
    # a system name no other test deploys: moto's backends persist across the session
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(EXAMPLE.read_text().replace("name: fraud-detection", "name: robustb-never-applied", 1))
    with running_moto_server() as url:
        reset(url)
        use_account(url, "222222222222", aws_home)  # prod's account: other credentials are refused before this
        result = run_cli("rollout", "scorer", str(spec), "--env", "prod", *flag)
    assert_clear_error(result, "the SageMaker endpoint 'robustb-never-applied-prod-scorer' does not exist",
                 f"mlops-infra apply {spec} --env prod")
