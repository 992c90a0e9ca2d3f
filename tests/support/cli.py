"""Run the real ``mlops-infra`` entry point in-process or in a subprocess, capturing its output.

``run_cli`` goes through :func:`mlops_infra.cli.main.main` (the one error boundary), so exit codes
and messages are exactly what a user sees. ``run_cli_subprocess`` runs ``python -m
mlops_infra.cli.main`` to prove nothing leaks (tracebacks, warnings) in a real process.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured streams of one CLI run."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str) -> CliResult:
    """Run ``mlops-infra ARGS`` in-process through ``main`` and capture stdout and stderr."""
    from mlops_infra.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_subprocess(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run ``python -m mlops_infra.cli.main ARGS`` in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-m", "mlops_infra.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_clear_error(result: CliResult, *needles: str) -> None:
    """``result`` is a user error as the project promises one: exit 1, no traceback, no "internal error ...
    This is a bug", and each of ``needles`` in its output."""
    assert result.code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    assert "This is a bug" not in result.output, result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
