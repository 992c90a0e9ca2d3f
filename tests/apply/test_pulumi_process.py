"""The guarded Pulumi command (:mod:`mlops_infra.apply.pulumi_process`, audit applypath-3), driven without
signalling this test process: the guard's handler is called directly, and what it passes on goes to the
``pulumi`` stand-in this test started (:mod:`tests.support.pulumi_stand_in`, ``up="slow"``). The real signals
to the console script are in ``tests/cli/test_apply_interrupt.py``."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from pulumi.automation.errors import CommandError

from mlops_infra.apply.pulumi_process import Interrupted, SignalGuard
from tests.support import pulumi_stand_in


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch) -> pulumi_stand_in.StandIn:
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    return pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="slow")


def _wait_for(condition) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_each_signal_is_passed_on_once_to_pulumi_in_its_own_process_group(tmp_path, pulumi) -> None:
    said: list[str] = []
    guard = SignalGuard(said.append)
    command = guard.command()
    failed: list[BaseException] = []

    def up() -> None:
        try:
            command.run(["up", "--yes", "--stack", "dev"], str(tmp_path), {})
        except BaseException as exc:  # handed to the test thread
            failed.append(exc)

    worker = threading.Thread(target=up)
    worker.start()
    start: dict = {}
    try:
        _wait_for(lambda: "start" in pulumi.events())
        [start] = [r for r in pulumi.records() if r.get("event") == "start"]
        assert start["pgid"] == start["pid"] != os.getpgid(0)  # the terminal's Ctrl-C does not reach it directly
        guard._handle(signal.SIGINT, None)
        _wait_for(lambda: "signal" in pulumi.events())
        guard._handle(signal.SIGINT, None)
        worker.join(30)
        assert not worker.is_alive()
    finally:
        if worker.is_alive() and start and _alive(start["pid"]):
            os.kill(start["pid"], signal.SIGKILL)
    assert pulumi.events() == ["start", "signal", "signal", "terminated"]
    assert guard.passed == {"up": 2} and guard.started == ["up"]
    assert len(failed) == 1 and isinstance(failed[0], CommandError)
    assert said[0].startswith("Ctrl-C: Pulumi is cancelling `pulumi up`: it finishes the operations in flight")
    assert said[1] == f"Ctrl-C again: Pulumi is terminating `pulumi up` at once (pid {start['pid']})."


def test_after_a_signal_no_pulumi_command_starts(tmp_path, pulumi) -> None:
    said: list[str] = []
    guard = SignalGuard(said.append)
    command = guard.command()
    before = pulumi.commands()
    guard._handle(signal.SIGTERM, None)
    with pytest.raises(Interrupted):
        command.run(["up", "--yes", "--stack", "dev"], str(tmp_path), {})
    assert pulumi.commands() == before and guard.started == []
    assert said == ["SIGTERM: stopping before the next Pulumi command."]


def test_outside_the_main_thread_the_handlers_are_left_alone() -> None:
    seen: list[object] = []

    def inside() -> None:
        with SignalGuard().installed():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=inside)
    worker.start()
    worker.join(10)
    assert seen == [before]
    with SignalGuard().installed() as guard:
        assert signal.getsignal(signal.SIGINT) == guard._handle
    assert signal.getsignal(signal.SIGINT) == before


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_command_that_is_not_an_update_finishes_unless_signalled_twice(tmp_path) -> None:
    """Pulumi handles signals only in an update's cancellation scope: a first SIGINT would kill ``config set-all``
    mid-way. A child this test starts stands for it (attached under that name)."""
    import subprocess
    import sys

    said: list[str] = []
    guard = SignalGuard(said.append)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], process_group=0)
    try:
        guard._attach(child, "config set-all")
        guard._handle(signal.SIGINT, None)
        time.sleep(0.3)
        assert child.poll() is None and guard.passed == {}
        assert said == ["Ctrl-C: waiting for `pulumi config set-all` to finish (Pulumi would stop it at once, "
                        "mid-way); nothing runs after it. Press Ctrl-C again to stop it now."]
        guard._handle(signal.SIGINT, None)
        assert child.wait(timeout=10) == -signal.SIGINT and guard.passed == {"config set-all": 1}
        assert said[1] == f"Ctrl-C again: stopping `pulumi config set-all` at once (pid {child.pid})."
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
