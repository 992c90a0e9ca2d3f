"""The lock refusal's ``pulumi cancel`` reaches the backend apply used (audit closing-37b-6).

With no login, no ``PULUMI_BACKEND_URL``, no ``backend.url`` and no token, apply runs Pulumi with
``PULUMI_BACKEND_URL=file://<stack dir>`` (:func:`mlops_infra.apply.engine.backend_url`), but a plain ``pulumi cancel``
there finds no backend (pulumi/pulumi ``pkg/workspace/creds.go`` ``GetCurrentCloudURLWithSource``) and logs in to
Pulumi Cloud (``pkg/cmd/pulumi/backend/login_manager.go``), never deleting ``<stack dir>/.pulumi/locks``
(only the diy backend's ``CancelCurrentUpdate``, ``pkg/backend/diy/backend.go``, does). The advice carries the URL.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from mlops_infra.apply.engine import StackOptions, check_unlocked, interrupted, pulumi_failure
from mlops_infra.errors import UserError
from tests.apply.test_interrupt_report import _guard


def _locked(tmp_path: Path) -> Path:
    stack_dir = tmp_path / "stacks" / "dev"
    stack_dir.mkdir(parents=True)
    (stack_dir / "Pulumi.yaml").write_text("name: fraud-detection\nruntime: python\n", encoding="utf-8")
    lock = stack_dir / ".pulumi/locks/organization/fraud-detection/dev/abc.json"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": 4242, "username": "ci", "hostname": "runner-7",
                                "timestamp": "2026-12-06T13:00:00Z"}), encoding="utf-8")
    return stack_dir


def test_the_stack_directory_backend_is_named_in_the_cancel_advice(tmp_path: Path) -> None:
    """The audit's reproduction. Fails before: plain `pulumi cancel --stack dev`."""
    stack_dir = _locked(tmp_path)
    options = StackOptions(stack_dir, "dev", project="fraud-detection")
    environ = {"PULUMI_HOME": str(tmp_path / "home")}
    with pytest.raises(UserError) as refused:
        check_unlocked(options, environ)
    command = f"`PULUMI_BACKEND_URL=file://{stack_dir.resolve()} pulumi cancel --stack dev`"
    assert f"remove the lock with {command}" in refused.value.detail
    assert "once you know no `pulumi` runs on the stack" in refused.value.detail
    error = interrupted(options, _guard(signal.SIGINT, signal.SIGINT), environ)
    assert f"run {command}" in error.detail and "to remove the lock" in error.detail


def test_pulumis_own_lock_error_gets_the_same_command(tmp_path: Path, monkeypatch) -> None:
    stack_dir = _locked(tmp_path)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    for name in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CREDENTIALS_PATH"):
        monkeypatch.delenv(name, raising=False)
    failed = pulumi_failure(RuntimeError("\n code: 255\n stdout: \n stderr: error: the stack is currently locked by "
                                         "1 lock(s)"), StackOptions(stack_dir, "dev", project="fraud-detection"))
    assert f"Run `PULUMI_BACKEND_URL=file://{stack_dir.resolve()} pulumi cancel --stack dev`" in failed.detail


def test_a_backend_plain_pulumi_chooses_too_needs_no_prefix(tmp_path: Path) -> None:
    stack_dir = _locked(tmp_path)
    options = StackOptions(stack_dir, "dev", project="fraud-detection")
    environ = {"PULUMI_HOME": str(tmp_path / "home"), "PULUMI_BACKEND_URL": f"file://{stack_dir}"}
    with pytest.raises(UserError) as refused:
        check_unlocked(options, environ)
    assert "remove the lock with `pulumi cancel --stack dev`" in refused.value.detail
