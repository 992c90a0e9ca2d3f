"""The progress display every long command shares (``plan --refresh``; later apply, rollout, copies).

Contract of :func:`progress_display`:
- yields a thread-safe :class:`~mlops_infra.progress.ProgressReporter` for the operation;
- **live** (stderr is a terminal, ``live`` not False, ``TERM`` not ``dumb``): a rich progress line on
  stderr, redrawn in place: title, bar, ``done/total <unit>``, the counted events (``3 throttled``),
  the current status and the elapsed time; it is removed when the operation ends;
- **not live** (a pipe, a CI log, ``--format json`` passes ``live=False``): nothing while it runs;
- in both modes exactly one final line goes to stderr when the operation ends (also on an error):
  ``<title>: <done> <unit> in <seconds> s (<counts>)``. stdout is never touched, so plan text and
  JSON stay byte-identical with and without progress.

Usage::

    with progress_display("Reading live AWS resources", unit="resources", live=not json) as progress:
        live = scan_aws(resources, region=region, progress=progress)
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from mlops_infra.progress import ProgressReporter


class _Reporter:
    """Counts progress under a lock and forwards it to a rich task when live."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._lock = threading.Lock()
        self._bar, self._task = bar, task
        self.total: int | None = None
        self.done = 0
        self.counts: dict[str, int] = {}
        self.text = ""

    def set_total(self, total: int) -> None:
        with self._lock:
            self.total = max(0, int(total))
        self._update(total=self.total)

    def advance(self, done: int = 1) -> None:
        with self._lock:
            self.done += done
        self._update(completed=self.done)

    def count(self, label: str, n: int = 1) -> None:
        with self._lock:
            self.counts[label] = self.counts.get(label, 0) + n
        self._update(extra=self.describe_counts())

    def status(self, text: str) -> None:
        with self._lock:
            self.text = text.splitlines()[0][:80] if text else ""
        self._update(status=self.text)

    def describe_counts(self) -> str:
        return ", ".join(f"{n:,} {label}" for label, n in sorted(self.counts.items()) if n)

    def _update(self, **fields: Any) -> None:
        if self._bar is None:
            return
        with contextlib.suppress(Exception):  # a display problem never stops the operation
            self._bar.update(self._task, **fields)


def final_line(title: str, unit: str, reporter: _Reporter, seconds: float) -> str:
    """``<title>: <done>[/<total>] <unit> in <s> s[ (<counts>)]``."""
    amount = f"{reporter.done:,}"
    if reporter.total is not None and reporter.total != reporter.done:
        amount += f"/{reporter.total:,}"
    counts = reporter.describe_counts()
    return f"{title}: {amount} {unit} in {seconds:.1f} s" + (f" ({counts})" if counts else "")


def is_live(console: Console, live: bool | None) -> bool:
    """Whether to draw live progress on ``console`` (see the module contract)."""
    if live is False:
        return False
    return console.is_terminal and os.environ.get("TERM") != "dumb"


@contextmanager
def progress_display(title: str, *, unit: str = "resources", live: bool | None = None,
                     console: Console | None = None) -> Iterator[ProgressReporter]:
    """A progress display for one long operation (see the module contract)."""
    from mlops_infra.cli.output import real_console

    console = real_console(console) if console is not None else Console(stderr=True, highlight=False, soft_wrap=True)
    started = time.monotonic()
    if not is_live(console, live):
        reporter = _Reporter()
        try:
            yield reporter
        finally:
            console.print(final_line(title, unit, reporter, time.monotonic() - started), markup=False, highlight=False)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn(unit), TextColumn("{task.fields[extra]}", style="yellow"),
                   TextColumn("{task.fields[status]}", style="dim"), TimeElapsedColumn(),
                   console=console, transient=True, redirect_stdout=False, redirect_stderr=False)
    task = bar.add_task(title, total=None, extra="", status="")
    reporter = _Reporter(bar, task)
    try:
        with bar:
            yield reporter
    finally:
        console.print(final_line(title, unit, reporter, time.monotonic() - started), markup=False, highlight=False)
