"""Printing diagnostics like a compiler: ``path:line:col: error: summary``, detail, source, caret.

Contract: ``print_diagnostics`` writes plain text (markup only for colour) and never raises for a
missing source line; ``diagnostics_json`` is the documented machine shape (docs/diagnostics.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from rich.console import Console
from rich.markup import escape

from mlops_infra.diagnostics import Diagnostic

SourceLine = Callable[[str, int], str]


def error_console() -> Console:
    """The stderr console every command uses: no wrapping of user text, no auto-highlighting.

    Rich wraps at 80 columns when stderr is not a terminal (CI), which would split file paths and
    break ``path:line:col`` for tools that parse it.
    """
    return Console(stderr=True, soft_wrap=True, highlight=False)


def print_diagnostics(diagnostics: Iterable[Diagnostic], console: Console,
                      source_line: SourceLine | None = None) -> None:
    """Print each diagnostic, sorted, with its source line and a caret when known."""
    items = sorted(diagnostics, key=Diagnostic.sort_key)
    for d in items:
        colour = "bold red" if d.is_error else "bold yellow"
        where = f"{d.location}: " if d.location else ""
        console.print(f"[bold]{escape(where)}[/][{colour}]{d.severity}[/]: {escape(d.summary)}", highlight=False, soft_wrap=True)
        for line in d.detail.splitlines():
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
        if d.location and source_line:
            text = source_line(d.location.file, d.location.line)
            if text.strip():
                gutter = f"{d.location.line:>5} | "
                console.print(f"[dim]{gutter}[/]{escape(text)}", highlight=False, soft_wrap=True)
                console.print(" " * (len(gutter) + max(d.location.column - 1, 0)) + "[bold green]^[/]",
                              highlight=False, soft_wrap=True)
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    if items:
        console.print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", highlight=False, soft_wrap=True)


def diagnostics_json(diagnostics: Iterable[Diagnostic], **extra) -> str:
    """``{"version": 1, "valid": bool, "diagnostics": [...]} `` plus ``extra`` keys, stable order."""
    items = sorted(diagnostics, key=Diagnostic.sort_key)
    payload = {"version": 1, "valid": not any(d.is_error for d in items), **extra,
               "diagnostics": [d.to_json() for d in items]}
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"
