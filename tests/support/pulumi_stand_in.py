"""A recording stand-in for the Pulumi CLI, for tests that drive the real Automation API without Pulumi.

The Python Automation API runs the ``pulumi`` it finds on ``PATH`` in a subprocess with ``cwd`` = the
workspace's work directory (``pulumi/automation/_cmd.py`` ``PulumiCommand.run``: ``Popen(..., cwd=cwd)``)
and reads its stdout. This stand-in answers what the Automation API needs for ``stack select``,
``config set-all`` and ``up`` and records every call, so a test can assert which Pulumi commands an
``mlops-infra`` command ran, where (the work directory and the project Pulumi would read from its
``Pulumi.yaml``) and against which backend (``PULUMI_BACKEND_URL``), and that nothing ran at all.

Contract:
- :func:`install` writes ``<directory>/pulumi`` (a shell script running this file with the interpreter
  running the tests), puts the directory first on ``PATH`` (``monkeypatch``) and returns a
  :class:`StandIn`. Nothing here touches a stack's state or config files.
- Every call appends one JSON line to the log: ``cwd``, ``args`` (``--non-interactive`` dropped),
  ``project`` (``name:`` of ``./Pulumi.yaml``, None without one) and ``env`` (the ``PULUMI_BACKEND_URL``,
  ``PULUMI_CONFIG_PASSPHRASE*`` and ``MLOPS_INFRA_*`` variables it got).
- ``version`` prints ``v3.272.0`` (above the Automation API's minimum and mlops-infra's, ``apply/cli_version.py``), or the installer's ``version=``
  (``"v3.0.0"``: below ``pulumi/automation/_minimum_version.py``'s 3.1.0); ``stack output`` prints ``{}``;
  ``stack history`` one succeeded update; ``whoami`` prints ``stand-in-user`` (a diy backend's
  ``CurrentUser`` is the OS user name); ``up`` fails (``error: ...``, exit 1) unless the installer
  said ``up="ok"`` or ``up="slow"``; everything else exits 0 silently.
- ``backend=`` (installer; default ``"ok"``, the behaviour above) acts out a CLI that cannot use its
  backend, for every command but ``version`` (each of them logs in to the backend first,
  ``pkg/cmd/pulumi/backend/backend.go`` ``CurrentBackend``): ``"logged-out"`` prints Pulumi's
  non-interactive login error (``pkg/backend/backenderr/backenderr.go``
  ``MissingEnvVarForNonInteractiveError``) and exits 1; ``"unreachable"`` prints the diy backend's
  error for a bucket it cannot read (``pkg/backend/diy/meta.go`` ``readPulumiMeta``: ``read
  ".pulumi/meta.yaml": ...``, here with the AWS SDK's no-credentials cause) and exits 1; ``"hang"`` waits
  :data:`HANG_SECONDS` first (a backend that does not answer), then behaves as ``"ok"``.
- ``up="slow"`` acts out a long ``pulumi up`` on a file backend and its cancellation the way the Pulumi CLI
  does it (:func:`slow_up`): it takes the diy backend's stack lock, writes a progress line to stdout every
  0.1 s for :data:`SLOW_SECONDS` and handles SIGINT and SIGTERM as ``pkg/backend/cancellation_scope.go``
  does: the first cancels (prints Pulumi's message, finishes the operation in flight for
  :data:`CANCEL_SECONDS` while still writing, removes its lock, exits 255), a second terminates at once
  (records a pending operation in the stack's checkpoint and exits 255 with the lock left). SIGPIPE is at
  its default, as in a Go program (Go ``os/file_unix.go`` ``epipecheck``: a write to a closed stdout
  kills it). Each step is one log line ``{"event": ...}``: ``start``, ``signal`` (with ``signum``),
  ``cancel-finished-cleanly``, ``terminated``, ``finished`` - a stand-in killed by SIGPIPE logs none of
  the last three. It writes ``cancelEvent`` last to ``--event-log``, as the engine ends every event log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOG_ENV = "PULUMI_STAND_IN_LOG"
UP_ENV = "PULUMI_STAND_IN_UP"
VERSION = "v3.272.0"
RECORDED_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "MLOPS_INFRA_")
SLOW_SECONDS = 60.0
"""How long ``up="slow"`` runs when no signal comes (tests signal it long before)."""
CANCEL_SECONDS = 3.0
"""How long ``up="slow"`` goes on after the first signal: the operations in flight finishing."""
VERSION_ENV = "PULUMI_STAND_IN_VERSION"
BACKEND_ENV = "PULUMI_STAND_IN_BACKEND"
HANG_SECONDS = 30.0
"""How long ``backend="hang"`` waits before answering (tests give up long before)."""
BACKEND_ERRORS = {
    "logged-out": "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
    "unreachable": 'error: read ".pulumi/meta.yaml": blob (key ".pulumi/meta.yaml") (code=Unknown): operation '
                   "error S3: GetObject, get identity: get credentials: failed to refresh cached credentials, no "
                   "EC2 IMDS role found",
}
"""What the CLI prints on stderr for each failing ``backend=`` mode."""


@dataclass(frozen=True)
class StandIn:
    """The installed stand-in: where it logs."""

    log: Path

    def records(self) -> list[dict]:
        """Every logged line, in order: the calls and the steps of ``up="slow"``."""
        if not self.log.is_file():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]

    def calls(self) -> list[dict]:
        """Every recorded call, in order."""
        return [record for record in self.records() if "args" in record]

    def commands(self) -> list[list[str]]:
        """The arguments of every call, in order."""
        return [call["args"] for call in self.calls()]

    def ran(self, *prefix: str) -> list[dict]:
        """The calls whose arguments start with ``prefix`` (for example ``"up"`` or ``"config", "set-all"``)."""
        return [call for call in self.calls() if call["args"][:len(prefix)] == list(prefix)]

    def events(self) -> list[str]:
        """The ``event`` of every step ``up="slow"`` logged, in order."""
        return [record["event"] for record in self.records() if "event" in record]


def install(directory: Path, monkeypatch, up: str = "fail", version: str = VERSION, backend: str = "ok") -> StandIn:
    """Install the stand-in as ``pulumi`` in ``directory`` (see the module contract)."""
    assert backend in ("ok", "hang", *BACKEND_ERRORS), backend
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "pulumi-calls.jsonl"
    script = directory / "pulumi"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setenv(UP_ENV, up)
    monkeypatch.setenv(VERSION_ENV, version)
    monkeypatch.setenv(BACKEND_ENV, backend)
    return StandIn(log)


def _project() -> str | None:
    try:
        import yaml

        data = yaml.safe_load(Path("Pulumi.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--non-interactive"]
    record = {"cwd": os.getcwd(), "args": args, "project": _project(),
              "env": {k: v for k, v in os.environ.items() if k.startswith(RECORDED_ENV)}}
    _log(record)
    backend = os.environ.get(BACKEND_ENV, "ok")
    if args[:1] == ["version"]:
        print(os.environ.get(VERSION_ENV, VERSION))
        return 0
    if backend == "hang":
        time.sleep(HANG_SECONDS)
    elif backend in BACKEND_ERRORS:
        print(BACKEND_ERRORS[backend], file=sys.stderr)
        return 1
    if args[:1] == ["whoami"]:
        print("stand-in-user")
    elif args[:2] == ["stack", "output"]:
        print("{}")
    elif args[:2] == ["stack", "history"]:
        print(json.dumps([{"kind": "update", "startTime": "2026-12-05T00:00:00Z", "message": "", "environment": {},
                           "config": {}, "result": "succeeded", "endTime": "2026-12-05T00:00:01Z",
                           "resourceChanges": {"create": 1}}]))
    elif args[:1] == ["up"]:
        if os.environ.get(UP_ENV) == "slow":
            return slow_up(args, _log)
        if os.environ.get(UP_ENV) != "ok":
            print("error: the pulumi stand-in fails every up (tests/support/pulumi_stand_in.py)", file=sys.stderr)
            return 1
        print("Resources:\n    + 1 created")
    return 0


def _log(record: dict) -> None:
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def _lock_path(stack: str) -> Path | None:
    """Where the diy backend keeps this process's lock of ``stack`` (``pkg/backend/diy/lock.go`` ``lockPath``:
    ``.pulumi/locks/<fully qualified stack name>/<lock id>.json``; ``backend.go`` ``FullyQualifiedName``:
    ``organization/<project>/<stack>``), or None when the backend is not a file backend."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    if not url.startswith("file://"):
        return None
    return (Path(url[len("file://"):]) / ".pulumi" / "locks" / "organization" / (_project() or "")
            / stack / f"stand-in-{os.getpid()}.json")


def _add_pending_operation(stack: str) -> None:
    """Record one pending ``creating`` operation in the file backend's checkpoint of ``stack``, as the engine
    does before each step (``pkg/backend/snapshot.go`` ``BeginMutation``), written atomically."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    path = Path(url[len("file://"):]) / ".pulumi" / "stacks" / (_project() or "") / f"{stack}.json"
    if not url.startswith("file://") or not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    latest = data["checkpoint"].setdefault("latest", {})
    latest.setdefault("pending_operations", []).append(
        {"resource": {"urn": f"urn:pulumi:{stack}::{_project()}::aws:s3/bucket:Bucket::in-flight",
                      "custom": True, "type": "aws:s3/bucket:Bucket"}, "type": "creating"})
    temporary = path.with_name(path.name + ".stand-in")
    temporary.write_text(json.dumps(data, indent=4), encoding="utf-8")
    temporary.replace(path)


def slow_up(args: list[str], log: Callable[[dict], None]) -> int:
    """``up="slow"`` (see the module contract). ``log`` appends one record to the call log."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a Go program: a write to a closed pipe kills it
    stack = _option(args, "--stack") or "dev"
    lock = _lock_path(stack)
    if lock is not None:
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    log({"event": "start", "pid": os.getpid(), "pgid": os.getpgid(0), "lock": str(lock) if lock else None})
    started, cancelled_at, seen, written = time.monotonic(), None, 0, 0
    code, event = 0, "finished"
    while True:
        while seen < len(received):
            signum = received[seen]
            seen += 1
            log({"event": "signal", "signum": signum})
            if cancelled_at is not None:  # cancellation_scope.go: a second signal terminates
                print(f"{'^C' if signum == signal.SIGINT else 'SIGTERM'} received; terminating", flush=True)
                _add_pending_operation(stack)
                log({"event": "terminated", "written": written})
                return 255
            cancelled_at = time.monotonic()
            print("^C received; cancelling. If you would like to terminate immediately, press ^C again."
                  if signum == signal.SIGINT else "SIGTERM received; cancelling. If you would like to terminate "
                  "immediately, send SIGTERM again.", flush=True)
        now = time.monotonic()
        if cancelled_at is not None and now - cancelled_at >= CANCEL_SECONDS:
            code, event = 255, "cancel-finished-cleanly"
            break
        if cancelled_at is None and now - started >= SLOW_SECONDS:
            break
        print(f"    aws:s3:Bucket in-flight creating ({now - started:.1f}s)", flush=True)
        written += 1
        time.sleep(0.1)
    if lock is not None:
        lock.unlink(missing_ok=True)  # diy/backend.go: `defer b.Unlock`
    event_log = _option(args, "--event-log")
    if event_log and not event_log.startswith("tcp://"):
        with open(event_log, "a", encoding="utf-8") as events:
            events.write(json.dumps({"sequence": 1, "timestamp": int(time.time()), "cancelEvent": {}}) + "\n")
    if code:
        print("error: update canceled", file=sys.stderr, flush=True)
    else:
        print("Resources:\n    + 1 created", flush=True)
    log({"event": event, "written": written})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def alive(pid: int) -> bool:
    """Whether process ``pid`` (a stand-in a test started) still exists: what a test checks before it kills one
    left running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


REPO = Path(__file__).resolve().parents[2]


def repo_copy(tmp_path: Path, monkeypatch, names: tuple[str, ...]) -> Path:
    """``names`` (paths of this repository) copied under ``tmp_path/repo``, with no Pulumi login (the
    backend and token variables unset, ``PULUMI_HOME`` in ``tmp_path``), an empty passphrase and the copy as
    the working directory: the repository layout an apply test runs the CLI in, beside :func:`install`."""
    root = tmp_path / "repo"
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    for name in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.chdir(root)
    return root
