"""An apply stopped by Ctrl-C or SIGTERM exits 130 or 143, and a signal during the ``--drain-queues`` wait takes
the path of one during ``pulumi up`` (stop 34, "Noticed and left").

A shell reports a command that a signal ended as 128 + the signal's number (Bash Reference Manual 3.7.5 "Exit
Status": "When a command terminates on a fatal signal whose number is N, Bash uses the value 128+N as the exit
status"): SIGINT 2 -> 130, SIGTERM 15 -> 143. apply handles both signals itself (it lets Pulumi cancel) and
exited 1, like any error; a CI step or script could not tell an interruption from a failed apply.

The drain is the real one against the Kubernetes API stand-in of ``tests/apply/test_queue_drain.py`` with Kueue
never evicting (the drain waits), the recording ``pulumi`` stand-in answers the preflight, ``engine.up`` is the
real one. The signal is sent to this test process (the one running apply, in-process): from a timer once the
queue is held, or, for the gap between the drain and Pulumi's first command, from inside ``engine.up``.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from tests.apply import test_queue_drain
from tests.apply.test_queue_drain import KUEUE, QUEUE, stand_in
from tests.apply.test_queue_drain_held import apply, release_line
from tests.cli.test_apply_interrupt import repo  # noqa: F401  (a fixture)
from tests.support import pulumi_stand_in

work = test_queue_drain.work
NOTHING = "before `pulumi up` started: nothing was applied"


@pytest.fixture(autouse=True)
def quick_drain(monkeypatch) -> None:
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(queue_drain, "DRAIN_TIMEOUT", 30.0)  # bounded: the signal comes within a second
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")


@contextmanager
def sigterm_raises():
    """SIGTERM raises KeyboardInterrupt in this process while apply does not handle it (old code): the test
    process is not killed by the signal it sends itself. apply's guard replaces it while installed."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_exit_code_is_128_plus_the_first_signal() -> None:
    from mlops_infra.apply.engine import interrupt_exit_code

    assert interrupt_exit_code([signal.SIGINT]) == 130
    assert interrupt_exit_code([signal.SIGTERM, signal.SIGINT]) == 143
    assert interrupt_exit_code([]) == 1


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"),
                                                       (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_during_the_drain_stops_it_nothing_applied_and_names_the_held_queue(
        work: Path, monkeypatch, signum: int, code: int, name: str) -> None:
    """Before: Ctrl-C raised KeyboardInterrupt out of the drain (exit 130, "interrupted", not a word of what was
    applied) and SIGTERM killed apply outright, the queue left held unnamed. Fails on main bd806b2."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch)
    with stand_in() as api, sigterm_raises():
        api.on_write(lambda verb, obj: threading.Timer(0.3, os.kill, [os.getpid(), signum]).start()
                     if obj["kind"] == "ClusterQueue" else None)
        result = apply(work, api, monkeypatch)

        assert result.code == code, result.output
        assert "Traceback" not in result.output and "this is a bug" not in result.output
        assert f"error: interrupted ({name}) {NOTHING}" in result.stderr
        assert f"ClusterQueue {QUEUE} is held (spec.stopPolicy: HoldAndDrain)" in result.stderr
        assert release_line(QUEUE) in result.stderr
        assert "Run `mlops-infra plan` to see what is left to apply, and apply again." in result.stderr
        assert api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]["stopPolicy"] == "HoldAndDrain"
    assert pulumi.commands() == [["version"], ["whoami"]]  # the preflight only: no Pulumi command after it


def test_a_ctrl_c_after_the_drain_before_pulumis_first_command_starts_none(work: Path, monkeypatch) -> None:
    """The signal comes inside ``engine.up``, before it opens the stack: the guard installed for the drain records
    it, so ``stack select`` is never run. Before: KeyboardInterrupt, "interrupted" and nothing more. Fails on
    main bd806b2."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch)
    check_unmoved, held = engine.check_unmoved, []

    def signalled(options, *args, **kwargs):
        if held:  # engine.up's check, not the preflight's (before the drain)
            os.kill(os.getpid(), signal.SIGINT)
        return check_unmoved(options, *args, **kwargs)

    def kueue(verb: str, obj: dict) -> None:
        if obj["kind"] == "ClusterQueue":  # Kueue evicts: the drain ends
            held.append(obj)
            threading.Timer(0.2, api.seed, [test_queue_drain.workload("retrain-abc-1", None)]).start()

    monkeypatch.setattr(engine, "check_unmoved", signalled)
    with stand_in() as api:
        api.on_write(kueue)
        result = apply(work, api, monkeypatch)

        assert result.code == 130, result.output
        assert "Drained" in result.stdout
        assert f"error: interrupted (Ctrl-C) {NOTHING}" in result.stderr
        assert f"ClusterQueue {QUEUE} is held" in result.stderr
    # the preflight's two, then the Automation API's own `pulumi version` (PulumiCommand.__init__, _cmd.py) as
    # up makes its command; no stack command
    assert pulumi.commands() == [["version"], ["whoami"], ["version"]]


def test_a_ctrl_c_between_the_two_ups_of_an_ordered_apply_says_the_first_was_applied(repo, tmp_path,  # noqa: F811
                                                                                      monkeypatch) -> None:
    """An ordered apply (:mod:`mlops_infra.apply.sequences`) runs ``up`` twice under apply's one guard; a signal
    between them stops the second before its first Pulumi command, and the error must not say "nothing was
    applied" nor that only the checks after ``up`` were skipped. Real ``engine.up`` and Automation API over the
    stand-in (``up="ok"``), the signal sent to this process while the guard is installed, as in apply. Fails on
    main bd806b2 (no ``guard`` argument: each ``up`` had its own, and Ctrl-C between them was a bare
    KeyboardInterrupt)."""
    import types

    import pulumi.automation as auto

    from mlops_infra.apply.pulumi_process import SignalGuard
    from mlops_infra.errors import UserError

    pulumi = pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    # Stack.up reads the update's summary with `stack history` (Stack.info), whose time the stand-in does not write
    # as the Automation API parses it: the summary is given here
    monkeypatch.setattr(auto.Stack, "info", lambda self, *a, **k: types.SimpleNamespace(resource_changes={"create": 1}))
    guard = SignalGuard(lambda line: None)
    options = {"passphrase": "", "project": "fraud-detection", "guard": guard}
    with guard.installed():
        assert engine.up(repo / "stacks" / "dev", "dev", **options).changes == {"create": 1}
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(UserError) as info:
            engine.up(repo / "stacks" / "dev", "dev", **options)
    assert info.value.summary == ("interrupted (Ctrl-C) before the next `pulumi up` started: the `pulumi up` before "
                                  "it was applied, this one was not")
    assert info.value.exit_code == 130
    assert len(pulumi.ran("up")) == 1
