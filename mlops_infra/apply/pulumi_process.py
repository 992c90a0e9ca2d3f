"""The Pulumi CLI processes of an apply, and what a SIGINT or SIGTERM to mlops-infra does to them (audit applypath-3).

Why. The Python Automation API runs each ``pulumi`` command inside ``with subprocess.Popen(..., stdout=PIPE,
stderr=PIPE)`` and reads both pipes on threads (``pulumi/automation/_cmd.py`` ``PulumiCommand.run``). A
KeyboardInterrupt in the calling thread leaves that ``with``: CPython's ``Popen.__exit__`` closes both pipes,
waits 0.25 s and re-raises; a SIGTERM kills Python and closes them too. The Pulumi CLI handles the first
SIGINT or SIGTERM by cancelling gracefully - it finishes the steps in flight, writes the checkpoint and
unlocks the stack - and a second by terminating at once (pulumi/pulumi ``pkg/backend/cancellation_scope.go``
``NewScope``: "^C received; cancelling. If you would like to terminate immediately, press ^C again."), and it
writes its progress to stdout; a Go program writing to a closed stdout dies of SIGPIPE (Go
``src/os/file_unix.go`` ``epipecheck``). So Ctrl-C killed Pulumi in the middle of its cancel: the lock and
the pending operations stayed (``pkg/backend/snapshot.go`` ``BeginMutation`` records each step before it
runs), and a SIGTERM reached only Python.

Contract:
- :class:`SignalGuard` ``.installed()`` (a context manager) replaces the SIGINT and SIGTERM handlers for its
  duration, in the main thread only (elsewhere ``signal.signal`` is not allowed, and nothing changes), and
  restores the previous ones after. Its handler never raises: it records the signal and passes the same
  signal on to the running Pulumi process, once per request - the first cancels, the second
  terminates, as at Pulumi's own terminal. A repeat of the same signal less than :data:`REPEAT_WINDOW`
  after the last request is the same request, not passed on (audit closing-34a-1): GNU ``timeout`` sends
  its signal to the command's pid and then to its whole process group (coreutils ``src/timeout.c``
  ``cleanup()``: ``send_sig (monitored_pid, sig);`` then, without ``--foreground``, ``send_sig (0, sig);``),
  so apply gets one SIGTERM twice, microseconds apart, and passing both on made Pulumi terminate instead of
  cancel. A different signal, or the same one later, is a new request. systemd's default
  ``KillMode=control-group`` is another case (audit closing-34f-1): it signals apply once and ``pulumi``
  once, directly - a control group is not a process group (systemd.kill(5)). So the first SIGTERM to a
  cancellable command waits up to :data:`ECHO_WAIT` for Pulumi's own "SIGTERM received; cancelling"
  (:data:`ECHO`) and is not sent if Pulumi said it within that time of apply's, before or after; otherwise
  it is sent then. Pulumi then only cancels. A command that is not an update (:data:`CANCELLABLE`) is short
  and would die mid-way of the first: it gets only the second. Pulumi's Go Automation API does the same: it interrupts the
  CLI process and waits for it (``sdk/go/auto/cmd.go`` ``Run``: ``cmd.Cancel`` ->
  ``interruptProcess`` = ``proc.Signal(os.Interrupt)``, ``cmd.WaitDelay``). Each signal is acknowledged
  on stderr in one line (what Pulumi is doing, what the next Ctrl-C does, the pid to kill after that).
- :meth:`SignalGuard.command` is a ``PulumiCommand`` whose ``run`` is the Automation API's, with three
  differences: the CLI starts in its own process group (``process_group=0``; Windows below), so a terminal's Ctrl-C,
  which the tty driver sends to every process of the foreground process group (POSIX "General Terminal
  Interface", 11.1.9 Special Characters, INTR), reaches Pulumi once, through the guard - otherwise
  Pulumi would get it twice and terminate at the first Ctrl-C; its stdin is the null device (what Go's
  ``os/exec`` gives a nil ``Cmd.Stdin``, as the Go Automation API runs it; a background process group
  reading the terminal would be stopped by SIGTTIN); and after a signal no further command starts
  (:class:`Interrupted`). The pipes are read until Pulumi exits, however many signals come.
- On Windows (:data:`WINDOWS`; audit portab45-2) there are no signals to pass on: ``os.kill`` of any number but
  ``CTRL_C_EVENT``/``CTRL_BREAK_EVENT`` "will cause the process to be unconditionally killed by the
  TerminateProcess API" (Python docs, ``os.kill``), and ``process_group`` is ignored there (CPython
  ``Lib/subprocess.py``, Windows ``_execute_child(..., unused_start_new_session, unused_process_group)``). So
  Pulumi starts with ``CREATE_NEW_PROCESS_GROUP`` (:func:`start_flags`: the group's id is Pulumi's pid, and
  "CTRL+C signals will be disabled for all processes within the new process group", Win32 Process Creation
  Flags, so the console's Ctrl-C reaches Pulumi only through the guard, as ``process_group=0`` does on POSIX),
  and each request is passed on as ``CTRL_BREAK_EVENT`` to that group (:func:`send_request`:
  ``GenerateConsoleCtrlEvent``, the one event that can be sent to a process group). Go delivers both console
  events as ``os.Interrupt`` (``src/runtime/os_windows.go`` ``ctrlHandler``: ``case _CTRL_C_EVENT,
  _CTRL_BREAK_EVENT: s = _SIGINT``), which ``cancellation_scope.go`` handles: the first cancels, the second
  terminates, as on POSIX. Python on Windows only ever sees SIGINT (the console's Ctrl-C) here; a SIGTERM is
  passed on as the same event.
- Installed before ``pulumi up`` (``apply --drain-queues`` installs it before the drain and passes it to
  :func:`mlops_infra.apply.engine.up`), :meth:`SignalGuard.check` and :meth:`SignalGuard.sleep` stop the steps
  between commands at the first request: so a Ctrl-C or SIGTERM there takes the same path as during ``up``.
  Inside :meth:`SignalGuard.interruptible` (apply's drain: Kubernetes requests, no Pulumi process) the handler
  also raises :class:`Interrupted` at once, while no Pulumi command runs (audit closing-35c-4): a handler that
  does not raise lets the blocking call it interrupted resume (PEP 475; Doc/whatsnew/3.5.rst: system calls
  "are now retried when interrupted by a signal ... if the Python signal handler does not raise an
  exception"), so a request hanging on an
  API server that accepts and never answers went on through its timeouts and retries (minutes:
  ``KubeClient.request``) and every Ctrl-C said "stopping" with nothing stopping.
- Nothing here decides what the interruption means for the stack: :func:`mlops_infra.apply.engine.up`
  reads the state and the lock afterwards and says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

WINDOWS = os.name == "nt"
"""Whether signals are Windows console events (see the module contract); tests model Windows by setting it."""

CREATE_NEW_PROCESS_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x00000200)
"""``subprocess.CREATE_NEW_PROCESS_GROUP`` (Windows only; WinBase.h ``0x00000200``)."""

CTRL_BREAK_EVENT = getattr(signal, "CTRL_BREAK_EVENT", 1)
"""``signal.CTRL_BREAK_EVENT`` (Windows only; wincon.h ``1``)."""


def start_flags() -> dict[str, int]:
    """The ``subprocess`` arguments that start a ``pulumi`` command in its own process group: ``process_group=0``
    on POSIX, ``creationflags=CREATE_NEW_PROCESS_GROUP`` on Windows (see the module contract)."""
    return {"creationflags": CREATE_NEW_PROCESS_GROUP} if WINDOWS else {"process_group": 0}


def send_request(pid: int, signum: int) -> None:
    """Pass a SIGINT/SIGTERM request on to the ``pulumi`` process ``pid`` started with :func:`start_flags`:
    the signal itself on POSIX, ``CTRL_BREAK_EVENT`` to its process group on Windows, never a number that
    Windows' ``os.kill`` turns into ``TerminateProcess``. A process that has exited is not an error."""
    if WINDOWS:
        with suppress(OSError):  # GenerateConsoleCtrlEvent fails once the group is gone
            os.kill(pid, CTRL_BREAK_EVENT)
        return
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


def kill_hint(pid: int) -> str:
    """How a user ends ``pid`` at once on this platform."""
    return f"`taskkill /F /PID {pid}`" if WINDOWS else f"`kill -9 {pid}`"


HANDLED = (signal.SIGINT, signal.SIGTERM)
"""The signals Pulumi handles by cancelling (``cancellation_scope.go``: ``signal.Notify(c.sigint,
os.Interrupt, syscall.SIGTERM)``)."""


REPEAT_WINDOW = 0.5
"""Seconds after a request within which the same signal again is the same request. ``timeout``'s two sends
are consecutive ``kill`` calls in one handler (``cleanup()``), measured here under ``strace -ttt`` at 0.1 to
0.4 ms apart; CPython runs the Python handler of two such signals back to back, or once when both arrived
before it ran (``Modules/signalmodule.c`` ``trip_signal`` sets one flag per signal number). A person's second
Ctrl-C answers the "Press Ctrl-C again" line the guard prints at the first: well over half a second later;
a faster double press is taken as one (and said so), and the next press terminates."""


ECHO = {signal.SIGINT: "^C received; cancelling", signal.SIGTERM: "SIGTERM received; cancelling"}
"""What the Pulumi CLI prints on stdout when a signal starts its cancel (``cancellation_scope.go`` ``NewScope``:
"^C received; cancelling. If you would like to terminate immediately, press ^C again." and "SIGTERM
received; cancelling. If you would like to terminate immediately, send SIGTERM again.", sent as a
``StdoutEventPayload`` on the engine's event channel, which ``pkg/backend/diy/backend.go`` ``apply`` forwards
to ``display.ShowEvents``; ``up --diff``, as the Automation API runs it, renders it in ``display/diff.go``
``ShowDiffEvents`` -> ``renderStdoutColorEvent`` and writes it to stdout at once)."""

ECHO_WAIT = 1.0
"""Seconds the first SIGTERM to a cancellable command waits for Pulumi's :data:`ECHO` before it is passed on
(audit closing-34f-1). systemd's default ``KillMode=control-group`` sends SIGTERM to every process of the
unit's control group, ``pulumi`` included whatever its process group (systemd.kill(5): "all remaining
processes in the control group of this unit will be killed"; systemd ``src/core/unit.c``
``unit_kill_context``: ``kill_and_sigcont(main_pid, sig)``, then, for ``KILL_CONTROL_GROUP`` - or
``KILL_MIXED`` only at the final ``KILL_KILL`` - ``cg_kill_recursive`` on the rest of the cgroup), the main
process first; passing apply's SIGTERM on as well made it Pulumi's second signal, so it terminated. If Pulumi says it got SIGTERM within this long of apply's (before or
after), it got its own and apply sends none. The stand-in of the tests says it within 0.1 s (it polls); the
CLI's path from signal to stdout is two unbuffered channels and one write. A SIGTERM that reached apply
alone (``kill <apply's pid>``) is passed on this much later; a second request meanwhile settles it at once."""

POLL = 0.05
"""Seconds between the checks of a SIGTERM waiting for :data:`ECHO_WAIT`, while apply waits for Pulumi."""


CANCELLABLE = frozenset({"up", "preview", "refresh", "destroy"})
"""The commands that run the engine under a cancellation scope, the only place the CLI handles a signal
(``cancellation_scope.go`` is pulumi/pulumi's one ``signal.Notify`` of SIGINT outside tests and ``pulumi
cloud api``). Any other command (``stack select``, ``config set-all``, ``stack output``...) dies at once of
a SIGINT, Go's default: the first signal lets it finish, and only a second one is passed on."""


class Interrupted(Exception):
    """A Pulumi command was not started, or a wait before it (:meth:`SignalGuard.sleep`) stopped, because
    mlops-infra had been signalled."""


def _stderr(line: str) -> None:
    """Write one line to fd 2 directly: a signal handler must not re-enter a buffered stream mid-write."""
    with suppress(OSError):
        os.write(2, (line + "\n").encode("utf-8", "replace"))


def signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


class SignalGuard:
    """Signals received while Pulumi runs, passed on to it (see the module contract)."""

    def __init__(self, say: Callable[[str], None] = _stderr, clock: Callable[[], float] = time.monotonic) -> None:
        self.say = say
        self.clock = clock
        self.signals: list[int] = []
        """Every request (a SIGINT/SIGTERM received while installed, less the repeats taken as the same
        request), in order."""
        self.repeats = 0
        """How many signals were a repeat of the last request within :data:`REPEAT_WINDOW`."""
        self.passed: dict[str, int] = {}
        """Per Pulumi command (``up``, ``stack select``...), how many signals it was sent."""
        self.started: list[str] = []
        """The Pulumi commands started, in order."""
        self._process: subprocess.Popen | None = None
        self._held: dict[str, bool] = {}
        self._label = ""
        self._forwarded = 0
        self._last: tuple[int, float] | None = None  # the last request: signal, clock
        self._times: list[float] = []  # the clock at each request of self.signals
        self._echo: dict[int, float] = {}  # per signal, when the running Pulumi said it got it (ECHO)
        self._acked = False  # the running command's first request has been acknowledged, not yet settled
        self._busy = threading.Lock()  # taken without waiting: see _pass_on
        self._raising = False  # inside interruptible(): a request with no Pulumi process raises at once

    @contextmanager
    def installed(self) -> Iterator[SignalGuard]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.getsignal(signum) for signum in HANDLED}
        for signum in HANDLED:
            signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def interruptible(self) -> Iterator[SignalGuard]:
        """While no Pulumi command runs, a request raises :class:`Interrupted` in the main thread at once, out of
        whatever blocking call it interrupted (see the module contract: apply's drain). Only for steps that may
        stop anywhere: a Kubernetes request stopped mid-way changed nothing or everything it asked, and the
        caller reads what it left."""
        self._raising = True
        try:
            self.check()
            yield self
        finally:
            self._raising = False

    def check(self) -> None:
        """Raise :class:`Interrupted` if a request came: a step between Pulumi commands (``apply
        --drain-queues``' drain) stops there."""
        if self.signals:
            raise Interrupted("a signal came before the next step")

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)`` in steps of :data:`POLL`, :meth:`check` before each: a wait ends within
        :data:`POLL` of a request (a signal handler that does not raise lets ``time.sleep`` go on, PEP 475)."""
        deadline = self.clock() + seconds
        while True:
            self.check()
            left = deadline - self.clock()
            if left <= 0:
                return
            time.sleep(min(POLL, left))

    def _handle(self, signum: int, frame: Any) -> None:
        now = self.clock()
        if self._last is not None and self._last[0] == signum and now - self._last[1] < REPEAT_WINDOW:
            self.repeats += 1
            self.say(f"{signal_name(signum)} again within {REPEAT_WINDOW:g} s: taken as the same request (`timeout` "
                     "and service managers send it twice at once); send it again to stop at once.")
            return
        self._last = (signum, now)
        self.signals.append(signum)
        self._times.append(now)
        process = self._process
        if process is None or process.returncode is not None:
            if self._raising:
                self.say(f"{signal_name(signum)}: stopping now; no Pulumi command starts.")
                raise Interrupted(f"{signal_name(signum)} during a step before `pulumi up`")
            self.say(f"{signal_name(signum)}: stopping before the next Pulumi command.")
            return
        self._pass_on(process)

    def _pass_on(self, process: subprocess.Popen) -> None:
        """Send the signals not yet passed on to ``process``, saying what each does. Called by the handler and,
        every :data:`POLL` seconds, by the thread waiting for Pulumi; the lock is taken without waiting (the
        handler may interrupt that very thread), and a request left by a busy call is settled at the next poll."""
        if not self._busy.acquire(blocking=False):
            return
        try:
            self._pass_on_locked(process)
        finally:
            self._busy.release()

    def _got_it_directly(self, signum: int, label: str) -> bool | None:
        """For the first request to a cancellable command: True if Pulumi said it got ``signum`` itself within
        :data:`ECHO_WAIT` of the request (then it is not sent again), None while that can still come, else
        False. Only SIGTERM is waited for: a terminal's Ctrl-C reaches Pulumi only through the guard."""
        if signum != signal.SIGTERM or label not in CANCELLABLE or self.passed.get(label):
            return False
        at = self._times[self._forwarded]
        echo = self._echo.get(signum)
        if echo is not None and abs(echo - at) <= ECHO_WAIT:
            return True
        if self._forwarded == len(self.signals) - 1 and self.clock() - at < ECHO_WAIT:
            return None  # a later request behind it settles it at once
        return False

    def _say_cancelling(self, signum: int, what: str) -> None:
        self.say(f"{signal_name(signum)}: Pulumi is cancelling {what}: it finishes the operations in flight, saves the "
                 "state and unlocks the stack, which can take minutes. Press Ctrl-C again to stop it at once (it "
                 "may then leave operations pending and the stack locked).")

    def _pass_on_locked(self, process: subprocess.Popen) -> None:
        while self._forwarded < len(self.signals):
            signum = self.signals[self._forwarded]
            what = f"`pulumi {self._label}`"
            direct = self._got_it_directly(signum, self._label)
            if direct is not False and not self._acked:
                self._acked = True
                self._say_cancelling(signum, what)
            if direct is None:
                return
            self._forwarded += 1
            if direct:
                self.passed[self._label] = self.passed.get(self._label, 0) + 1
                self.say(f"{signal_name(signum)} reached Pulumi directly too (a service manager signalling every "
                         "process of the unit, e.g. systemd's KillMode=control-group): not sent again, so Pulumi "
                         "only cancels.")
                continue
            if self._label not in CANCELLABLE and not self._held.get(self._label):
                self._held[self._label] = True
                self.say(f"{signal_name(signum)}: waiting for {what} to finish (Pulumi would stop it at once, "
                         "mid-way); nothing runs after it. Press Ctrl-C again to stop it now.")
                continue
            send_request(process.pid, signum)
            count = self.passed[self._label] = self.passed.get(self._label, 0) + 1
            if self._label not in CANCELLABLE:
                self.say(f"{signal_name(signum)} again: stopping {what} at once (pid {process.pid}).")
            elif count == 1 and self._acked:
                pass  # said when the request came
            elif count == 1:
                self._say_cancelling(signum, what)
            elif count == 2:
                self.say(f"{signal_name(signum)} again: Pulumi is terminating {what} at once (pid {process.pid}).")
            else:
                self.say(f"Still waiting for Pulumi (pid {process.pid}) to exit; {kill_hint(process.pid)} ends it "
                         "now, leaving its lock and pending operations.")

    def _attach(self, process: subprocess.Popen | None, label: str = "") -> None:
        self._process, self._label = process, label
        self._echo, self._acked = {}, False
        if process is not None:
            self._pass_on(process)  # a signal between the check in _run and now

    def command(self) -> Any:
        """A ``pulumi.automation.PulumiCommand`` running the CLI under this guard (see the module contract)."""
        from pulumi.automation import PulumiCommand

        guard = self

        class GuardedCommand(PulumiCommand):
            def run(self, args: list[str], cwd: str, additional_env: Mapping[str, str],
                    on_output: Callable[[str], None] | None = None,
                    on_error: Callable[[str], None] | None = None) -> Any:
                return guard._run(self, args, cwd, additional_env, on_output, on_error)

        from mlops_infra.apply.cli_version import MINIMUM_CLI

        return GuardedCommand(version=MINIMUM_CLI)  # _cmd.py: the least CLI version it validates

    def _run(self, command: Any, args: list[str], cwd: str, additional_env: Mapping[str, str],
             on_output: Callable[[str], None] | None, on_error: Callable[[str], None] | None) -> Any:
        """``pulumi/automation/_cmd.py`` ``PulumiCommand.run`` under the guard."""
        from pulumi.automation._cmd import CommandResult, _fixup_path
        from pulumi.automation.errors import create_command_error

        if self.signals:
            raise Interrupted(" ".join(args))
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(command.command):
            env = _fixup_path(env, os.path.dirname(command.command))
        words = [a for a in args[:separator] if not a.startswith("-")]  # `up`, `stack select`, `config set-all`
        label = " ".join(words[:2] if words[:1] in (["stack"], ["config"]) else words[:1])
        stdout_chunks: list[str] = []
        stderr_chunks: list[str] = []

        def consumer(stream: Any, callback: Callable[[str], None] | None, chunks: list[str]) -> None:
            for line in iter(stream.readline, ""):
                stripped = line.rstrip()
                if stream is process.stdout:
                    for signum, text in ECHO.items():
                        if text in stripped:
                            self._echo.setdefault(signum, self.clock())
                if callback:
                    callback(stripped)
                chunks.append(stripped)
            stream.close()

        with subprocess.Popen([command.command, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=cwd, env=env, encoding="utf-8",
                              **start_flags()) as process:
            self.started.append(label)
            self._attach(process, label)
            try:
                readers = [threading.Thread(target=consumer, args=(process.stdout, on_output, stdout_chunks)),
                           threading.Thread(target=consumer, args=(process.stderr, on_error, stderr_chunks))]
                for reader in readers:
                    reader.start()
                for reader in readers:  # a signal runs the handler and the join goes on
                    while reader.is_alive():
                        reader.join(POLL)
                        self._pass_on(process)  # a request waiting for ECHO_WAIT
                process.wait()
            finally:
                self._attach(None)
        result = CommandResult(stderr="\n".join(stderr_chunks), stdout="\n".join(stdout_chunks),
                               code=process.returncode)
        if result.code != 0:
            raise create_command_error(result)
        return result
