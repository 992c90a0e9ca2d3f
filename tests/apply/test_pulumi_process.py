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

from mlops_infra.apply.pulumi_process import ECHO_WAIT, REPEAT_WINDOW, Interrupted, SignalGuard
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


def _up_in_thread(command, tmp_path: Path) -> tuple[threading.Thread, list[BaseException]]:
    """``pulumi up`` through the guarded ``command`` on a started thread, and the list its exception goes to."""
    failed: list[BaseException] = []

    def up() -> None:
        try:
            command.run(["up", "--yes", "--stack", "dev"], str(tmp_path), {})
        except BaseException as exc:  # handed to the test thread
            failed.append(exc)

    worker = threading.Thread(target=up)
    worker.start()
    return worker, failed


def test_each_signal_is_passed_on_once_to_pulumi_in_its_own_process_group(tmp_path, pulumi) -> None:
    said: list[str] = []
    guard = SignalGuard(said.append)
    command = guard.command()
    worker, failed = _up_in_thread(command, tmp_path)
    start: dict = {}
    try:
        _wait_for(lambda: "start" in pulumi.events())
        [start] = [r for r in pulumi.records() if r.get("event") == "start"]
        assert start["pgid"] == start["pid"] != os.getpgid(0)  # the terminal's Ctrl-C does not reach it directly
        guard._handle(signal.SIGINT, None)
        _wait_for(lambda: "signal" in pulumi.events())
        time.sleep(REPEAT_WINDOW)  # a second press, not a repeat taken as the same request
        guard._handle(signal.SIGINT, None)
        worker.join(30)
        assert not worker.is_alive()
    finally:
        if worker.is_alive() and start and pulumi_stand_in.alive(start["pid"]):
            os.kill(start["pid"], signal.SIGKILL)
    assert pulumi.events() == ["start", "signal", "signal", "terminated"]
    assert guard.passed == {"up": 2} and guard.started == ["up"]
    assert len(failed) == 1 and isinstance(failed[0], CommandError)
    assert said[0].startswith("Ctrl-C: Pulumi is cancelling `pulumi up`: it finishes the operations in flight")
    assert said[1] == f"Ctrl-C again: Pulumi is terminating `pulumi up` at once (pid {start['pid']})."


def test_the_same_signal_twice_at_once_is_one_request_and_pulumi_cancels_cleanly(tmp_path, pulumi) -> None:
    """``timeout`` (coreutils ``cleanup()``: the pid, then the process group) and systemd's control-group kill
    deliver one SIGTERM twice, microseconds apart (audit closing-34a-1): passing both on made Pulumi terminate
    (``cancellation_scope.go``: any signal after the first calls ``Terminate``). Back-to-back calls of the handler
    are one request: the stand-in gets one SIGTERM and finishes its cancel."""
    said: list[str] = []
    guard = SignalGuard(said.append)
    command = guard.command()
    worker, failed = _up_in_thread(command, tmp_path)
    start: dict = {}
    try:
        _wait_for(lambda: "start" in pulumi.events())
        [start] = [r for r in pulumi.records() if r.get("event") == "start"]
        guard._handle(signal.SIGTERM, None)
        guard._handle(signal.SIGTERM, None)
        worker.join(30)
        assert not worker.is_alive()
    finally:
        if worker.is_alive() and start and pulumi_stand_in.alive(start["pid"]):
            os.kill(start["pid"], signal.SIGKILL)
    assert pulumi.events() == ["start", "signal", "cancel-finished-cleanly"]
    assert [r["signum"] for r in pulumi.records() if r.get("event") == "signal"] == [signal.SIGTERM]
    assert guard.passed == {"up": 1} and guard.signals == [signal.SIGTERM] and guard.repeats == 1
    assert len(failed) == 1 and isinstance(failed[0], CommandError)  # Pulumi's exit 255 after a cancel
    assert said[0].startswith("SIGTERM: Pulumi is cancelling `pulumi up`")
    assert said[1] == (f"SIGTERM again within {REPEAT_WINDOW:g} s: taken as the same request (`timeout` and "
                       "service managers send it twice at once); send it again to stop at once.")


def test_the_window_merges_only_a_quick_repeat_of_the_same_signal(monkeypatch) -> None:
    """The window, on a clock the test moves: the same signal within :data:`REPEAT_WINDOW` of the last request is
    not sent; a different signal at once, or the same one after the window, is a new request (one ``os.kill``
    each). The child this test started stands for ``pulumi up``; ``os.kill`` to it is recorded, not sent."""
    import subprocess
    import sys

    now = [100.0]
    sent: list[tuple[int, int]] = []
    said: list[str] = []
    guard = SignalGuard(said.append, clock=lambda: now[0])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], process_group=0)
    try:
        monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
        guard._attach(child, "up")
        guard._handle(signal.SIGTERM, None)
        now[0] += 0.0004  # timeout's second send (0.1-0.4 ms under strace)
        guard._handle(signal.SIGTERM, None)
        assert sent == [] and guard.repeats == 1  # the first SIGTERM waits ECHO_WAIT for Pulumi's own
        now[0] += REPEAT_WINDOW / 2
        guard._handle(signal.SIGTERM, None)  # still within the window of the request at 100.0
        assert sent == [] and guard.repeats == 2
        now[0] = 100.0 + REPEAT_WINDOW  # the window's end: a new request, which settles the waiting one
        guard._handle(signal.SIGTERM, None)
        assert sent == [(child.pid, signal.SIGTERM)] * 2 and guard.passed == {"up": 2}
        now[0] += 0.0001
        guard._handle(signal.SIGINT, None)  # a different signal at once: a new request
        assert sent[2:] == [(child.pid, signal.SIGINT)] and guard.passed == {"up": 3}
        assert guard.signals == [signal.SIGTERM, signal.SIGTERM, signal.SIGINT]
    finally:
        monkeypatch.undo()
        child.kill()
        child.wait(timeout=10)


def test_a_lone_sigterm_waits_echo_wait_for_pulumi_then_is_passed_on(monkeypatch) -> None:
    """The first SIGTERM to a cancellable command is held :data:`ECHO_WAIT` seconds (on a clock the test moves) in
    case Pulumi got its own from a control-group kill (audit closing-34f-1); no word from Pulumi: it is sent, once,
    and said once when it came. A Ctrl-C is never held (the terminal's reaches Pulumi only through the guard).
    The child this test started stands for ``pulumi up``; ``os.kill`` to it is recorded, not sent."""
    import subprocess
    import sys

    now = [100.0]
    sent: list[tuple[int, int]] = []
    said: list[str] = []
    guard = SignalGuard(said.append, clock=lambda: now[0])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], process_group=0)
    try:
        monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
        guard._attach(child, "up")
        guard._handle(signal.SIGTERM, None)
        assert sent == [] and len(said) == 1 and said[0].startswith("SIGTERM: Pulumi is cancelling `pulumi up`")
        now[0] += ECHO_WAIT - 0.01
        guard._pass_on(child)  # the poll of the thread waiting for Pulumi
        assert sent == [] and guard.passed == {}
        now[0] += 0.01
        guard._pass_on(child)
        assert sent == [(child.pid, signal.SIGTERM)] and guard.passed == {"up": 1} and len(said) == 1
        guard._attach(child, "preview")
        guard._handle(signal.SIGINT, None)
        assert sent[1:] == [(child.pid, signal.SIGINT)]  # at once
    finally:
        monkeypatch.undo()
        child.kill()
        child.wait(timeout=10)


@pytest.mark.parametrize("order", ["apply-first", "pulumi-first"])
def test_a_sigterm_pulumi_got_directly_is_not_sent_again_and_pulumi_cancels_cleanly(tmp_path, pulumi, order) -> None:
    """systemd's default ``KillMode=control-group`` sends SIGTERM to every process of the unit: apply and, in the
    same control group whatever its process group, ``pulumi`` (audit closing-34f-1). Passing apply's on made it
    Pulumi's second: terminate (``cancellation_scope.go``). The stand-in prints Pulumi's "SIGTERM received;
    cancelling" line; seen within :data:`ECHO_WAIT` of apply's SIGTERM, before or after, nothing is sent.
    Signals go only to the stand-in this test started (its pid from its own log)."""
    said: list[str] = []
    guard = SignalGuard(said.append)
    command = guard.command()
    worker, failed = _up_in_thread(command, tmp_path)
    start: dict = {}
    try:
        _wait_for(lambda: "start" in pulumi.events())
        [start] = [r for r in pulumi.records() if r.get("event") == "start"]
        if order == "pulumi-first":
            os.kill(start["pid"], signal.SIGTERM)
            _wait_for(lambda: "signal" in pulumi.events())
            time.sleep(0.2)  # its line on the pipe, read
            guard._handle(signal.SIGTERM, None)
        else:
            guard._handle(signal.SIGTERM, None)
            time.sleep(0.02)
            os.kill(start["pid"], signal.SIGTERM)
        worker.join(30)
        assert not worker.is_alive()
    finally:
        if worker.is_alive() and start and pulumi_stand_in.alive(start["pid"]):
            os.kill(start["pid"], signal.SIGKILL)
    assert pulumi.events() == ["start", "signal", "cancel-finished-cleanly"]
    assert guard.passed == {"up": 1} and guard.signals == [signal.SIGTERM]
    assert len(failed) == 1 and isinstance(failed[0], CommandError)
    assert said[0].startswith("SIGTERM: Pulumi is cancelling `pulumi up`")
    assert said[1:] == ["SIGTERM reached Pulumi directly too (a service manager signalling every process of the "
                        "unit, e.g. systemd's KillMode=control-group): not sent again, so Pulumi only cancels."]


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


def test_a_command_that_is_not_an_update_finishes_unless_signalled_twice(tmp_path) -> None:
    """Pulumi handles signals only in an update's cancellation scope: a first SIGINT would kill ``config set-all``
    mid-way. A child this test starts stands for it (attached under that name). The test waits for the child's
    "ready" line before the first Ctrl-C: a SIGINT while Python is still starting (slow under load) ends it with
    exit status 1, not by the signal, whatever the guard did."""
    import subprocess
    import sys

    said: list[str] = []
    guard = SignalGuard(said.append)
    child = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
                             process_group=0, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"  # started: handler set
        guard._attach(child, "config set-all")
        guard._handle(signal.SIGINT, None)
        time.sleep(REPEAT_WINDOW)  # and past the window: the next Ctrl-C is a second press
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
        if child.stdout is not None:
            child.stdout.close()
