"""A command stopped by Ctrl-C on Windows exits 130 without a traceback (audit portab45-5): ``cli/main.py``
``_die_of`` ends the process by the signal itself only where POSIX signals exist (``signal.pthread_sigmask`` is
"Availability: Unix"; on Windows ``os.kill`` with SIGINT is ``TerminateProcess`` with exit code 2, Python docs)."""

from __future__ import annotations

import os
import signal

import pytest

from mlops_infra.cli import main as cli_main


def _interrupted(argv):
    raise SystemExit(130)


def test_ctrl_c_on_windows_exits_130_without_killing_itself(monkeypatch):
    """Windows is modelled by what it lacks: ``signal.pthread_sigmask`` (patching ``os.name`` breaks pathlib)."""
    kills = []
    monkeypatch.setattr(cli_main, "_run", _interrupted)
    monkeypatch.setattr(os, "kill", lambda pid, sig: kills.append((pid, sig)))
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep the test process's own handlers
    monkeypatch.delattr(signal, "pthread_sigmask")
    with pytest.raises(SystemExit) as stop:
        cli_main.main(None)
    assert stop.value.code == 130
    assert kills == []
