"""A signal stops ``apply --drain-queues`` at once even while a Kubernetes request of the drain hangs (audit
closing-35c-4, a regression of 6ff01e6).

The guard's handler records a signal and returns; a handler that does not raise lets the blocking call it
interrupted resume (PEP 475; Doc/whatsnew/3.5.rst: calls "are now retried when interrupted by a signal ... if the
Python signal handler does not raise an exception"). So with the guard installed for the drain, a PATCH to an
API server that accepts and does not answer went on through ``KubeClient.request``'s timeouts and retries
(minutes), every Ctrl-C said "stopping" and the end was exit 1 "not reachable". Before 6ff01e6 SIGINT raised
KeyboardInterrupt in that read at once.

Real apply (in-process, the real entry point), real drain and KubeClient (the kubeconfig's default timeouts)
against the Kubernetes API stand-in, whose answer to the ClusterQueue PATCH is held back (its write hook blocks);
the recording ``pulumi`` stand-in answers the preflight. The signal is sent to this process 0.5 s into the hung
PATCH.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.apply import test_queue_drain
from tests.apply.test_interrupt_exit_codes import NOTHING, quick_drain, sigterm_raises  # noqa: F401  (a fixture)
from tests.apply.test_queue_drain import QUEUE, stand_in
from tests.apply.test_queue_drain_held import apply, release_line
from tests.support import pulumi_stand_in

work = test_queue_drain.work


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"),
                                                       (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_stops_a_hung_drain_request_within_seconds(work: Path, monkeypatch, capfd, signum: int,
                                                            code: int, name: str) -> None:
    """Fails on main f808c63: the signal is recorded and the PATCH waits for its 30 s read timeout and retries
    (here until the stand-in's hook gives up, 40 s), then apply goes on or says "not reachable"."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch)
    answer = threading.Event()
    started: list[float] = []

    def hang(verb: str, obj: dict) -> None:
        if obj["kind"] == "ClusterQueue" and not started:
            started.append(time.monotonic())
            threading.Timer(0.5, os.kill, [os.getpid(), signum]).start()
            answer.wait(40)  # the API server accepts the PATCH and does not answer

    try:
        with stand_in() as api, sigterm_raises():
            api.on_write(hang)
            result = apply(work, api, monkeypatch)
            stopped = time.monotonic()
    finally:
        answer.set()
    assert started, result.output
    assert stopped - started[0] < 10, f"stopped {stopped - started[0]:.1f} s after the hung PATCH began"
    assert result.code == code, result.output
    assert "Traceback" not in result.output and "this is a bug" not in result.output
    assert f"error: interrupted ({name}) {NOTHING}" in result.stderr
    assert "not reachable" not in result.stderr.split("error:", 1)[1].splitlines()[0]
    assert f"ClusterQueue {QUEUE}" in result.stderr and release_line(QUEUE) in result.stderr
    assert f"{name}: stopping now; no Pulumi command starts." in capfd.readouterr().err  # the guard writes fd 2
    assert pulumi.commands() == [["version"], ["whoami"]]  # the preflight only: no Pulumi command after it
