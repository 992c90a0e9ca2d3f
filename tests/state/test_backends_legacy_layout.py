"""A DIY backend in the legacy (non-project) layout, which every Pulumi CLI mlops-infra supports refuses (audit
stateformats-8).

pulumi/pulumi ``pkg/backend/diy/backend.go`` ``New`` (since 480b346566, #24216, v3.257.0): ``if !projectMode &&
!opts.Env.GetBool(env.DIYBackendIgnoreDeprecationError) { return nil, errors.New("... Legacy DIY state is
deprecated, please upgrade your state to project mode using: 'pulumi state upgrade' ...") }``. mlops-infra read such
a backend and planned normally; apply went on to a ``pulumi up`` that stops there. ``plan`` now warns and ``apply``
refuses before its confirmation, both saying how to upgrade (the upgrade needs the variable too:
``state_upgrade.go`` opens the backend with ``cmdBackend.CurrentBackend``) or keep the layout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_infra.state.backends import IGNORE_LEGACY_ERROR, legacy_layout_warning, read_stack_state
from tests.state.test_backends import BASE, RECORDED_EXPORT, staging_checkpoint
from tests.support.applied_state import dumps
from tests.support.cli import run_cli


@pytest.fixture()
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file backend holding fraud-detection's staging stack in the legacy layout (no meta.yaml), chosen with
    PULUMI_BACKEND_URL; no login or token; cwd = an empty repo directory."""
    for name in ("PULUMI_CREDENTIALS_PATH", "PULUMI_ACCESS_TOKEN", IGNORE_LEGACY_ERROR, "MLOPS_INFRA_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    root = tmp_path / "legacy"
    (root / ".pulumi" / "stacks").mkdir(parents=True)
    (root / ".pulumi" / "stacks" / "staging.json").write_text(dumps(staging_checkpoint()), encoding="utf-8")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{root}")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    return root


def test_plan_of_a_legacy_layout_says_pulumi_refuses_it_and_how_to_upgrade(legacy: Path) -> None:
    """The audit's reproduction. Fails before: the plan is shown with no word of the layout."""
    result = run_cli("plan", str(BASE), "--env", "staging")
    assert result.code == 0, result.output
    text = " ".join(result.output.split())
    assert f"Prior state: {legacy}/.pulumi/stacks/staging.json (68 resources; backend: PULUMI_BACKEND_URL)" in text
    assert (f"the backend keeps its stacks in the legacy DIY layout ({legacy}/.pulumi/stacks/staging.json, no "
            "`.pulumi/meta.yaml` with `version: 1`; backend: PULUMI_BACKEND_URL), which Pulumi >= 3.257 refuses for "
            "every command") in text
    assert f"`{IGNORE_LEGACY_ERROR}=1 pulumi state upgrade`" in text
    assert f"keep the layout with {IGNORE_LEGACY_ERROR}=1 set for plan, apply and pulumi alike" in text


@pytest.mark.parametrize(("value", "refused"), [("1", False), ("TRUE", False), ("0", True), ("yes", True)])
def test_the_variable_lifts_it_as_pulumi_reads_it(legacy: Path, monkeypatch: pytest.MonkeyPatch, value: str,
                                                  refused: bool) -> None:
    """``BoolValue.Value``: ``v == "1" || strings.EqualFold(v, "true")``."""
    monkeypatch.setenv(IGNORE_LEGACY_ERROR, value)
    assert (legacy_layout_warning("staging", Path(".")) is not None) is refused


def test_meta_version_0_is_legacy_and_version_1_is_not(legacy: Path) -> None:
    (legacy / ".pulumi" / "meta.yaml").write_text("version: 0\n", encoding="utf-8")
    assert "legacy DIY layout" in legacy_layout_warning("staging", Path("."))
    (legacy / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    assert legacy_layout_warning("staging", Path(".")) is None


def test_a_new_backend_and_the_stack_directory_without_state_are_project_mode(legacy: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``ensurePulumiMeta``: no meta.yaml and no legacy stack file is a new backend, made version 1."""
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'new'}")
    assert legacy_layout_warning("staging", Path(".")) is None
    monkeypatch.delenv("PULUMI_BACKEND_URL")
    assert legacy_layout_warning("staging", Path(".")) is None


def test_apply_refuses_before_the_confirmation_and_before_pulumi(legacy: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails before: apply shows the plan and runs the stand-in's `pulumi` (which a real CLI refuses)."""
    from tests.cli.test_apply_stack_identity import FRAUD, QUICKSTART, fraud_dev_state
    from tests.support import pulumi_stand_in

    pulumi_stand_in.repo_copy(tmp_path, monkeypatch, (FRAUD, QUICKSTART, "stacks/dev/Pulumi.yaml",
                                                      "stacks/dev/Pulumi.dev.yaml", "stacks/dev/__main__.py",
                                                      "Pulumi.yaml"))
    (legacy / ".pulumi" / "stacks" / "dev.json").write_text(dumps(fraud_dev_state()), encoding="utf-8")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{legacy}")  # repo_copy unset it
    pulumi = pulumi_stand_in.install(tmp_path / "bin", monkeypatch)
    result = run_cli("apply", FRAUD, "--env", "dev")  # no --yes: refused before it would ask
    assert result.code == 1, result.output
    assert "Traceback" not in result.output and "Do you want to" not in result.output
    text = " ".join(result.stderr.split())
    assert "Pulumi refuses the backend's legacy DIY layout; nothing was applied" in text
    assert f"`{IGNORE_LEGACY_ERROR}=1 pulumi state upgrade`" in text
    assert pulumi.calls() == []


@pytest.mark.moto
def test_an_s3_backend_in_the_legacy_layout(legacy: Path) -> None:
    from tests.support.moto_server import client, running_moto_server

    warnings = {}
    with running_moto_server() as url:
        s3 = client("s3", url)
        s3.create_bucket(Bucket="backendfix-legacy-layout")
        s3.put_object(Bucket="backendfix-legacy-layout", Key="ml/.pulumi/stacks/dev.json",
                      Body=RECORDED_EXPORT.read_bytes())
        s3.create_bucket(Bucket="backendfix-project-layout")
        s3.put_object(Bucket="backendfix-project-layout", Key="ml/.pulumi/meta.yaml", Body=b"version: 1\n")
        for bucket in ("backendfix-legacy-layout", "backendfix-project-layout"):
            environ = {**os.environ, "PULUMI_BACKEND_URL": f"s3://{bucket}/ml?region=us-east-1&endpoint={url}"}
            warnings[bucket] = legacy_layout_warning("dev", Path("."), environ, s3_client=s3)
            read_stack_state("sample", "dev", Path("."), environ, s3_client=s3)  # remembers the layout it read
            assert legacy_layout_warning("dev", Path("."), environ) == warnings[bucket]  # no second client
    assert warnings["backendfix-project-layout"] is None
    assert "legacy DIY layout (s3://backendfix-legacy-layout/ml/.pulumi/stacks/dev.json, no `.pulumi/meta.yaml`" \
        in warnings["backendfix-legacy-layout"]
