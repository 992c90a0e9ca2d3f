"""What a long operation reports while it runs, without knowing how it is shown.

Contract: a long operation (a live refresh, an apply, a rollout, an artifact copy) takes a
:class:`ProgressReporter` and calls it from any thread: :meth:`~ProgressReporter.set_total` once the
amount of work is known, :meth:`~ProgressReporter.advance` as units finish (resources read, steps
done, bytes copied), :meth:`~ProgressReporter.count` for notable events shown beside the count
(``"throttled"``, ``"failed"``, ``"retried"``) and :meth:`~ProgressReporter.status` for the current
step in words. Reporting never raises and never changes what the operation does. The pure core
stays free of display code: ``mlops_infra.cli.progress`` draws it; :data:`NO_PROGRESS` ignores it.
"""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    """Receives progress from a long operation (thread safe; see the module contract)."""

    def set_total(self, total: int) -> None:
        """The number of units of work, once known."""

    def advance(self, done: int = 1) -> None:
        """``done`` more units finished."""

    def count(self, label: str, n: int = 1) -> None:
        """``n`` more events of kind ``label`` (e.g. ``"throttled"``), shown beside the count."""

    def status(self, text: str) -> None:
        """The current step in words (one short line)."""


class NullProgress:
    """A reporter that ignores everything (the default of every long operation)."""

    def set_total(self, total: int) -> None:
        pass

    def advance(self, done: int = 1) -> None:
        pass

    def count(self, label: str, n: int = 1) -> None:
        pass

    def status(self, text: str) -> None:
        pass


NO_PROGRESS: ProgressReporter = NullProgress()
