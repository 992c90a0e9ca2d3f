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
- ``version`` prints ``v3.200.0`` (above the Automation API's minimum); ``stack output`` prints ``{}``;
  ``stack history`` one succeeded update; ``up`` fails (``error: ...``, exit 1) unless the installer
  said ``up="ok"``; everything else exits 0 silently.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

LOG_ENV = "PULUMI_STAND_IN_LOG"
UP_ENV = "PULUMI_STAND_IN_UP"
VERSION = "v3.200.0"
RECORDED_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "MLOPS_INFRA_")


@dataclass(frozen=True)
class StandIn:
    """The installed stand-in: where it logs."""

    log: Path

    def calls(self) -> list[dict]:
        """Every recorded call, in order."""
        if not self.log.is_file():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]

    def commands(self) -> list[list[str]]:
        """The arguments of every call, in order."""
        return [call["args"] for call in self.calls()]

    def ran(self, *prefix: str) -> list[dict]:
        """The calls whose arguments start with ``prefix`` (for example ``"up"`` or ``"config", "set-all"``)."""
        return [call for call in self.calls() if call["args"][:len(prefix)] == list(prefix)]


def install(directory: Path, monkeypatch, up: str = "fail") -> StandIn:
    """Install the stand-in as ``pulumi`` in ``directory`` (see the module contract)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "pulumi-calls.jsonl"
    script = directory / "pulumi"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setenv(UP_ENV, up)
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
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    if args[:1] == ["version"]:
        print(VERSION)
    elif args[:2] == ["stack", "output"]:
        print("{}")
    elif args[:2] == ["stack", "history"]:
        print(json.dumps([{"kind": "update", "startTime": "2026-12-05T00:00:00Z", "message": "", "environment": {},
                           "config": {}, "result": "succeeded", "endTime": "2026-12-05T00:00:01Z",
                           "resourceChanges": {"create": 1}}]))
    elif args[:1] == ["up"]:
        if os.environ.get(UP_ENV) != "ok":
            print("error: the pulumi stand-in fails every up (tests/support/pulumi_stand_in.py)", file=sys.stderr)
            return 1
        print("Resources:\n    + 1 created")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
