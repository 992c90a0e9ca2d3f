"""Ctrl-C during ``apply`` on Windows (audit portab45-2): Pulumi starts in a new process group and each request is
passed on as ``CTRL_BREAK_EVENT``, which Go delivers as ``os.Interrupt`` (Pulumi cancels, then terminates); never
``os.kill(pid, 2)`` or ``os.kill(pid, 15)``, which Windows' ``os.kill`` turns into ``TerminateProcess`` (Python
docs, ``os.kill``).

Windows is modelled through the module's own seam (``pulumi_process.WINDOWS``; patching ``os.name`` would break
pathlib inside pytest); what reaches ``os.kill``, ``subprocess.Popen`` and ``subprocess.run`` is recorded, not
sent or started."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mlops_infra.apply import engine, pulumi_process
from mlops_infra.apply.pulumi_process import ECHO_WAIT, REPEAT_WINDOW, SignalGuard
from tests.support import pulumi_stand_in

CTRL_BREAK_EVENT = 1  # wincon.h; signal.CTRL_BREAK_EVENT on Windows
CREATE_NEW_PROCESS_GROUP = 0x00000200  # WinBase.h; subprocess.CREATE_NEW_PROCESS_GROUP on Windows


class _Running:
    """A ``pulumi up`` that runs (the guard reads ``pid`` and ``returncode`` only)."""

    pid, returncode = 4242, None


class _Started(Exception):
    """Raised by the recording ``Popen``/``run`` instead of starting anything."""


@pytest.fixture
def windows(monkeypatch) -> list[tuple[int, int]]:
    monkeypatch.setattr(pulumi_process, "WINDOWS", True)
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, int(sig))))
    return sent


def test_ctrl_c_cancels_then_terminates_through_ctrl_break(windows) -> None:
    now = [100.0]
    said: list[str] = []
    guard = SignalGuard(said.append, clock=lambda: now[0])
    guard._attach(_Running(), "up")
    for _ in range(3):
        guard._handle(signal.SIGINT, None)
        now[0] += REPEAT_WINDOW + 1
    assert windows == [(4242, CTRL_BREAK_EVENT)] * 3
    assert guard.passed == {"up": 3}
    assert said[0].startswith("Ctrl-C: Pulumi is cancelling `pulumi up`")
    assert said[1] == "Ctrl-C again: Pulumi is terminating `pulumi up` at once (pid 4242)."
    assert "`taskkill /F /PID 4242` ends it now" in said[2] and "kill -9" not in said[2]


def test_a_sigterm_is_passed_on_as_ctrl_break_too(windows) -> None:
    now = [100.0]
    guard = SignalGuard(lambda line: None, clock=lambda: now[0])
    process = _Running()
    guard._attach(process, "up")
    guard._handle(signal.SIGTERM, None)
    assert windows == []  # waits ECHO_WAIT for Pulumi's own "SIGTERM received", as on POSIX
    now[0] += ECHO_WAIT + 0.1
    guard._pass_on(process)
    assert windows == [(4242, CTRL_BREAK_EVENT)]


def test_a_pulumi_that_is_gone_is_not_an_error(monkeypatch) -> None:
    monkeypatch.setattr(pulumi_process, "WINDOWS", True)

    def gone(pid: int, sig: int) -> None:
        raise OSError(errno.EINVAL, "The parameter is incorrect", None, 87)  # GenerateConsoleCtrlEvent

    monkeypatch.setattr(os, "kill", gone)
    guard = SignalGuard(lambda line: None)
    guard._attach(_Running(), "up")
    guard._handle(signal.SIGINT, None)
    assert guard.passed == {"up": 1}


def test_pulumi_starts_in_a_new_process_group(windows, monkeypatch, tmp_path: Path) -> None:
    started: list[dict] = []

    def popen(args, **kwargs):
        started.append(kwargs)
        raise _Started

    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="slow")
    command = SignalGuard(lambda line: None).command()  # the Automation API runs `pulumi version` here
    monkeypatch.setattr(subprocess, "Popen", popen)
    with pytest.raises(_Started):
        command.run(["up", "--yes"], str(tmp_path), {})
    [kwargs] = started
    assert kwargs["creationflags"] == CREATE_NEW_PROCESS_GROUP and "process_group" not in kwargs


def test_the_preflight_commands_start_in_a_new_process_group(windows, monkeypatch, tmp_path: Path) -> None:
    started: list[dict] = []

    def run(args, **kwargs):
        started.append(kwargs)
        raise _Started

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(_Started):
        engine._run_cli(["whoami"], {}, tmp_path, "the backend")
    [kwargs] = started
    assert kwargs["creationflags"] == CREATE_NEW_PROCESS_GROUP and "process_group" not in kwargs


def test_posix_is_unchanged(monkeypatch) -> None:
    monkeypatch.setattr(pulumi_process, "WINDOWS", False)
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, int(sig))))
    assert pulumi_process.start_flags() == {"process_group": 0}
    guard = SignalGuard(lambda line: None)
    guard._attach(_Running(), "up")
    guard._handle(signal.SIGINT, None)
    assert sent == [(4242, int(signal.SIGINT))]
