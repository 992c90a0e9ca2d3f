"""``apply`` with a ``pulumi`` on PATH that cannot run: the same error as the pre-flight's "`pulumi version`
failed", exit 1, never "internal error" (audit robust-2). The Automation API runs ``pulumi version`` first
(``pulumi/automation/_cmd.py`` ``PulumiCommand.__init__``: ``subprocess.check_output``), which raises
``CalledProcessError`` for a non-zero exit and ``OSError`` (``ENOEXEC``, ``execve(2)``) for a file that is no
program of this machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import pulumi_stand_in
from tests.support.cli import run_cli

FRAUD = "examples/fraud-detection/mlsystem.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    return pulumi_stand_in.repo_copy(tmp_path, monkeypatch, (FRAUD, "stacks/dev/Pulumi.yaml", "stacks/dev/Pulumi.dev.yaml",
                                                             "stacks/dev/__main__.py", "Pulumi.yaml"))


def _pulumi_on_path(tmp_path: Path, monkeypatch, content: bytes) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_bytes(content)
    pulumi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(("content", "said"), [
    (bytes(range(128, 228)), "`pulumi version` failed: the `pulumi` on PATH (pulumi) cannot run (Exec format error)"),
    (b"#!/bin/sh\nexit 1\n", "`pulumi version` failed: it exited with status 1"),
], ids=["exec-format-error", "version-exits-1"])
def test_a_pulumi_that_cannot_run_is_a_clear_error(repo: Path, tmp_path: Path, monkeypatch, content, said) -> None:
    _pulumi_on_path(tmp_path, monkeypatch, content)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert "internal error" not in result.output
    assert said in result.stderr and "nothing was applied" in result.stderr
    assert "Install the Pulumi CLI" in result.stderr
