"""The Automation API wrapper: backend, environment and config it passes; a clean error without the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from mlops_infra.apply.engine import StackOptions, backend_url, stack_config, workspace_env
from mlops_infra.errors import UserError

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "stacks" / "dev"


def no_login(tmp_path: Path) -> dict[str, str]:
    """An environment with a Pulumi home of its own and no login in it (not the user's ~/.pulumi)."""
    return {"PULUMI_HOME": str(tmp_path / "pulumi-home")}


def logged_in(tmp_path: Path, url: str) -> dict[str, str]:
    """An environment whose current ``pulumi login`` is ``url`` (what ``pulumi login`` writes)."""
    home = tmp_path / "pulumi-home"
    home.mkdir(exist_ok=True)
    (home / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {}}), encoding="utf-8")
    return {"PULUMI_HOME": str(home)}


def test_backend_defaults_to_a_file_backend_in_the_stack_directory(tmp_path):
    assert backend_url(StackOptions(STACK, "dev"), environ=no_login(tmp_path)) == f"file://{STACK}"
    assert backend_url(StackOptions(STACK, "dev"), environ={"PULUMI_BACKEND_URL": "s3://b"}) == "s3://b"
    assert backend_url(StackOptions(STACK, "dev", backend_url="file:///tmp/x"), environ={}) == "file:///tmp/x"


def test_pulumi_up_runs_on_the_backend_the_plan_read(tmp_path):
    """``PULUMI_BACKEND_URL`` overrides the project's backend.url and the stored login (pulumi/pulumi
    sdk/go/common/workspace/creds.go GetCurrentCloudURLWithSource), so the engine must not set it to the
    stack directory when the plan read the state elsewhere: the same backend as choose_backend."""
    from mlops_infra.state.backends import choose_backend

    local = logged_in(tmp_path, "file://~")  # what `pulumi login --local` stores (docs/pulumi.md)
    assert backend_url(StackOptions(STACK, "dev"), environ=local) == "file://~" == choose_backend(STACK, local).url
    cloud = logged_in(tmp_path, "https://api.pulumi.com")
    assert workspace_env(StackOptions(STACK, "dev"), environ=cloud)["PULUMI_BACKEND_URL"] == "https://api.pulumi.com"
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: fraud-detection\nruntime: python\nbackend:\n  url: s3://team-state\n",
                                         encoding="utf-8")
    assert backend_url(StackOptions(project, "dev"), environ=cloud) == "s3://team-state"  # backend.url wins a login


def test_a_self_managed_backend_needs_a_passphrase(tmp_path):
    with pytest.raises(UserError, match="No passphrase for the local state backend"):
        workspace_env(StackOptions(STACK, "dev"), environ=no_login(tmp_path))
    assert workspace_env(StackOptions(STACK, "dev", passphrase=""), environ={})["PULUMI_CONFIG_PASSPHRASE"] == ""
    env = workspace_env(StackOptions(STACK, "dev"), environ={"PULUMI_CONFIG_PASSPHRASE_FILE": "/p"})
    assert "PULUMI_CONFIG_PASSPHRASE" not in env
    assert "PULUMI_CONFIG_PASSPHRASE" not in workspace_env(StackOptions(STACK, "dev"), environ={
        "PULUMI_BACKEND_URL": "https://api.pulumi.com"})
    assert "PULUMI_CONFIG_PASSPHRASE" not in workspace_env(StackOptions(STACK, "dev"), environ=logged_in(
        tmp_path, "https://api.pulumi.com"))  # Pulumi Cloud keeps the secrets: no passphrase asked
    with pytest.raises(UserError, match="No passphrase for the s3 state backend"):
        workspace_env(StackOptions(STACK, "dev"), environ={"PULUMI_BACKEND_URL": "s3://team-state"})


def test_aws_endpoint_overrides_every_service_and_adds_dummy_credentials():
    options = StackOptions(STACK, "prod", aws_endpoint="http://127.0.0.1:5000", passphrase="")
    config = stack_config(options)
    endpoints = json.loads(config["aws:endpoints"])
    assert len(endpoints) == 1 and set(endpoints[0]) >= {"s3", "sagemaker", "iam", "sts", "cloudwatch"}
    assert set(endpoints[0].values()) == {"http://127.0.0.1:5000"}
    assert config["aws:skipCredentialsValidation"] == config["aws:s3UsePathStyle"] == "true"
    assert config["aws:skipRequestingAccountId"] == "true"
    assert workspace_env(options, environ={})["AWS_ACCESS_KEY_ID"] == "testing"
    assert "AWS_ACCESS_KEY_ID" not in workspace_env(options, environ={"AWS_PROFILE": "me"})
    assert stack_config(StackOptions(STACK, "dev")) == {}
    assert stack_config(StackOptions(STACK, "dev", system_file="my.yaml")) == {"mlops:systemFile": "my.yaml"}


def test_the_program_copies_endpoint_overrides_into_explicit_providers():
    """Stack config ``aws:*`` reaches only default providers; the program copies the overrides."""
    from mlops_infra.program.providers import OVERRIDE_KEYS

    keys = {key.split(":", 1)[1] for key in stack_config(StackOptions(STACK, "p", aws_endpoint="http://x"))}
    assert keys <= set(OVERRIDE_KEYS["aws"])


@pytest.mark.parametrize("operation", [engine.preview, engine.up, engine.refresh, engine.export_state])
def test_missing_pulumi_binary_is_a_user_error(operation, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="Pulumi CLI is not installed") as info:
        operation(STACK, "dev", passphrase="", backend_url=f"file://{tmp_path}")
    assert "validate" in info.value.detail


def test_a_directory_without_pulumi_yaml_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="is not a Pulumi project"):
        engine.preview(tmp_path, "dev", passphrase="")
