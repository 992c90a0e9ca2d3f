"""A CI job given only PULUMI_ACCESS_TOKEN (no `pulumi login`, no backend URL) plans against Pulumi Cloud,
where `pulumi up` keeps the stack (audit docs-7): pulumi logs in to the default cloud URL (PULUMI_API, else
https://api.pulumi.com; pkg/backend/httpstate/backend.go ValueOrDefaultURL) with the token, and `apply`
gives the Pulumi CLI that same backend. Read through the loopback Pulumi Cloud stand-in."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.apply.engine import StackOptions, backend_url
from mlops_infra.state.backends import PULUMI_CLOUD_API, choose_backend
from tests.state.test_backends import TOKEN, export_of, home, plan_staging, staging_checkpoint  # noqa: F401
from tests.support.pulumi_cloud import running_pulumi_cloud


def test_a_token_without_a_login_or_url_chooses_pulumi_cloud(tmp_path: Path) -> None:
    environ = {"PULUMI_HOME": str(tmp_path / "empty-home"), "PULUMI_ACCESS_TOKEN": TOKEN}
    backend = choose_backend(tmp_path, environ)
    assert (backend.kind, backend.url) == ("cloud", PULUMI_CLOUD_API)
    assert "PULUMI_ACCESS_TOKEN" in backend.chosen_by
    # apply runs the Pulumi CLI on the backend plan reads, not on the stack directory
    assert backend_url(StackOptions(stack_dir=tmp_path, env="staging"), environ) == PULUMI_CLOUD_API
    assert choose_backend(tmp_path, {**environ, "PULUMI_API": "https://pulumi.example.com"}).url == \
        "https://pulumi.example.com"


def test_without_a_token_plan_and_apply_both_keep_the_stack_directory(tmp_path: Path) -> None:
    environ = {"PULUMI_HOME": str(tmp_path / "empty-home")}
    assert choose_backend(tmp_path, environ).url == ""
    assert backend_url(StackOptions(stack_dir=tmp_path, env="staging"), environ) == f"file://{tmp_path.resolve()}"


def test_plan_with_only_the_token_reads_the_cloud_stack(home: Path, monkeypatch) -> None:  # noqa: F811
    with running_pulumi_cloud({("jdoe", "fraud-detection", "staging"): export_of(staging_checkpoint())},
                              token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("PULUMI_API", cloud.url)  # the stand-in as the default cloud URL
        result = plan_staging()
    assert result.code == 0, result.stderr
    assert [r["path"] for r in cloud.requests] == ["/api/user/organizations/default", "/api/user",
                                                   "/api/stacks/jdoe/fraud-detection/staging/export"]
    assert (f"Prior state: Pulumi Cloud stack jdoe/fraud-detection/staging at {cloud.url} (68 resources; "
            "backend: PULUMI_ACCESS_TOKEN with no `pulumi login` and no backend URL") in result.stderr
    assert TOKEN not in result.stderr + result.stdout
