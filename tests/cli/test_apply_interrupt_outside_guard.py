"""Ctrl-C outside apply's guarded steps says so, as the docs say (audit closing-35c-3).

typer 0.29 (typer/core.py ``_main``): ``except KeyboardInterrupt as e: raise Exit(130) from e``, returned as the
code with ``standalone_mode=False``: a silent exit 130; typer/_click/termui.py ``confirm``: ``except
(KeyboardInterrupt, EOFError): raise Abort()``: "aborted", exit 1 at the prompt. After ``pulumi up`` applied, the
steps after it ran with the default handler: a Ctrl-C exited 130 with nothing said.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import sys
import time
from pathlib import Path

from mlops_infra.apply import engine, forgotten
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests/scenarios/model-version-bump-with-canary-rollout"


def _scenario(tmp_path: Path) -> Path:
    for name in ("mlsystem.yaml", "prior.json"):
        shutil.copy(SCENARIO / name, tmp_path / name)
    return tmp_path


def test_ctrl_c_after_up_applied_says_it_was_applied_and_what_did_not_run(tmp_path: Path, monkeypatch) -> None:
    """Real CLI in-process; ``pulumi up`` is a successful RunResult (not what is examined), the Ctrl-C comes while
    the forgotten SageMaker models are deleted. Fails on main 33961cf: exit 130, stderr empty."""
    work = _scenario(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/bin/" + name)
    monkeypatch.setattr(engine, "up", lambda *a, **k: engine.RunResult("up", {"update": 3}, {}, ""))
    started = []

    def after_up(*args, **kwargs):
        started.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # a slow delete: the signal must stop it
        raise AssertionError("not stopped")

    monkeypatch.setattr(forgotten, "after_up", after_up)
    result = run_cli("apply", str(work / "mlsystem.yaml"), "--env", "staging", "--state", str(work / "prior.json"),
                     "--yes")
    assert result.code == 130, result.output
    assert time.monotonic() - started[0] < 3
    assert "error: interrupted (Ctrl-C) after `pulumi up` applied: the steps after it did not finish" in result.stderr
    assert "Pulumi's changes are in place" in result.stderr
    assert "--env staging --watch" in result.stderr  # the announced rollout, to start by hand
    assert "Traceback" not in result.output and "not stopped" not in result.output


def test_ctrl_c_at_the_confirmation_prompt_says_interrupted(tmp_path: Path) -> None:
    """The real console script on a pseudo-terminal; Ctrl-C typed at the prompt (the tty driver sends SIGINT).
    Fails on main 33961cf: "aborted", exit status 1."""
    work = _scenario(tmp_path)
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "pulumi").chmod(0o755)
    pid, fd = pty.fork()
    if pid == 0:  # the child: apply, without --yes, on the terminal
        os.environ["PATH"] = f"{bindir}:{os.environ['PATH']}"
        os.environ["PYTHONPATH"] = str(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "mlops_infra.cli.main", "apply", str(work / "mlsystem.yaml"),
                                  "--env", "staging", "--state", str(work / "prior.json")])
    out, deadline = b"", time.monotonic() + 60
    while b"Apply these changes" not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    assert b"Apply these changes" in out, out[-500:]
    time.sleep(0.3)
    os.write(fd, b"\x03")  # Ctrl-C typed at the terminal
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert "interrupted" in text.splitlines()[-1], text[-300:]
    assert "aborted" not in text
    assert os.waitstatus_to_exitcode(status) == -signal.SIGINT  # a shell's $? 130 (closing-35c-1)
