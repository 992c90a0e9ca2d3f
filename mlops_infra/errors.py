"""Errors the user can fix, raised below the CLI and printed by its single error boundary.

Contract: a :class:`UserError` carries everything needed to print a clear message (where, what,
how to fix) and maps to its ``exit_code``: 1 unless the raiser sets another (an apply stopped by a signal:
128 + the signal's number, the shell's convention, :func:`mlops_infra.apply.engine.interrupted`). Any other exception escaping to the CLI is a bug in
mlops-infra and is reported as such (with a traceback only when ``MLOPS_INFRA_DEBUG=1``).
"""

from __future__ import annotations

from mlops_infra.diagnostics import Diagnostic, printable


class UserError(Exception):
    """A problem with the user's input or environment; never a bug."""

    def __init__(self, summary: str, detail: str = "", *, source: str | None = None,
                 diagnostics: list[Diagnostic] | None = None, exit_code: int = 1) -> None:
        summary, detail = printable(summary, lines=False), printable(detail)
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.source = None if source is None else printable(source, lines=False)
        self.diagnostics = list(diagnostics or [])
        self.exit_code = exit_code
