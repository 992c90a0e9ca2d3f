"""The GC at the end of a batch command: frozen for the interpreter's exit only when the command is
the process (console script, ``python -m``), never for an in-process caller."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from mlops_infra.cli import main as main_module
from tests.support.cli import run_cli, run_cli_subprocess

SPEC = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def test_an_in_process_run_leaves_the_gc_as_it_was() -> None:
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    result = run_cli("validate", str(SPEC))
    assert result.code == 0, result.stderr
    assert gc.get_freeze_count() == frozen and gc.isenabled() == enabled


@pytest.mark.parametrize(("command", "frozen"), [("validate", True), ("graph", True), ("plan", True),
                                                 ("apply", False), ("rollout", False), ("promote", False)])
def test_only_a_batch_command_run_as_the_process_is_frozen_for_exit(
        monkeypatch: pytest.MonkeyPatch, command: str, frozen: bool) -> None:
    monkeypatch.setattr(sys, "argv", ["mlops-infra", command, "x.yaml"])
    before = gc.get_freeze_count()
    try:
        main_module._freeze_for_exit([command, "x.yaml"])  # an in-process caller's argv
        assert gc.get_freeze_count() == before
        main_module._freeze_for_exit(None)
        assert (gc.get_freeze_count() > before) == frozen
    finally:
        gc.unfreeze()


def test_the_process_still_writes_everything_and_exits_with_its_code() -> None:
    in_process = run_cli("graph", str(SPEC), "--env", "dev", "--format", "json")
    process = run_cli_subprocess("graph", str(SPEC), "--env", "dev", "--format", "json")
    assert (process.code, process.stdout, process.stderr) == (in_process.code, in_process.stdout, in_process.stderr)
    assert process.code == 0 and process.stdout.endswith("}\n")
    bad = run_cli_subprocess("graph", str(SPEC), "--env", "nope")
    assert bad.code == 1 and "Traceback" not in bad.stderr
