"""The end of a batch command: the GC frozen for the interpreter's exit and the command's data left
to the exit only when the command is the process (console script, ``python -m``), never for an
in-process caller."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from mlops_infra.cli import main as main_module
from mlops_infra.cli import output
from mlops_infra.cli.commands import graph as graph_cmd
from tests.support.cli import run_cli, run_cli_subprocess

SPEC = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def _watch_keep(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each keep_for_exit call of graph kept anything."""
    seen: list[bool] = []

    def keep(*objects: object) -> None:
        seen.append(output.KEPT_FOR_EXIT is not None)
        output.keep_for_exit(*objects)

    monkeypatch.setattr(graph_cmd, "keep_for_exit", keep)
    return seen


def test_an_in_process_run_leaves_the_gc_as_it_was_and_keeps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _watch_keep(monkeypatch)
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    for args in (("validate", str(SPEC)), ("graph", str(SPEC), "--env", "dev", "--format", "json")):
        result = run_cli(*args)
        assert result.code == 0, result.stderr
        assert gc.get_freeze_count() == frozen and gc.isenabled() == enabled
    assert seen == [False] and output.KEPT_FOR_EXIT is None


def test_a_batch_command_run_as_the_process_keeps_its_data_for_the_exit(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen = _watch_keep(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["mlops-infra", "graph", str(SPEC), "--env", "dev", "--format", "json"])
    before, enabled = gc.get_freeze_count(), gc.isenabled()
    try:
        with pytest.raises(SystemExit) as exit_:
            main_module.main()  # argv None: as the console script runs it
        assert exit_.value.code == 0
        assert seen == [True] and output.KEPT_FOR_EXIT is None
        assert gc.get_freeze_count() > before and gc.isenabled() == enabled
    finally:
        gc.unfreeze()
    assert capsys.readouterr().out == run_cli("graph", str(SPEC), "--env", "dev", "--format", "json").stdout


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
