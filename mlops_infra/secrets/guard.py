"""The two ways output passes the redaction layer: documents are refused, messages are redacted.

Contract:
- :func:`check_output` is called on every document before any byte of it is printed or written
  (plans in every format, ``graph`` in every format, plan files and any later output file). A
  document holding a secret shape raises :class:`SecretInOutputError` (a ``UserError``: exit 1)
  naming where (a path given by ``locate``, else line and column of the output) and what kind,
  never the value. A refused document is not printed, not even in part.
- :class:`RedactingStream` wraps a text stream (stderr) and replaces every secret-shaped span of
  what passes through it with ``<redacted: KIND>``. It buffers until a newline (or ``flush``), so
  a secret split across two ``write`` calls of one line is still found; and while a private key is
  open (its first line written, its last not yet), until its last line, so a key written a line
  per ``write`` (Python's ``print`` of each line, a traceback) is redacted whole, body included.
  ``flush`` writes out everything it holds, redacted as it stands: a key split by a flush (two
  ``print`` calls of a rich console, which flushes after each) loses its body only where the
  second part is shaped like a secret on its own.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import IO, Any

from mlops_infra.errors import UserError
from mlops_infra.secrets.rules import KEY_REACH, RULES, Rule
from mlops_infra.secrets.scan import Finding, find_secrets, line_and_column, redact

MAX_LISTED = 10
HOLD_LIMIT = 2 * KEY_REACH
"""The most characters :class:`RedactingStream` holds back for an open private key (twice the reach
of a key's last line, :data:`~mlops_infra.secrets.rules.KEY_REACH`); past it the text is written,
redacted as it stands."""


class SecretInOutputError(UserError):
    """A document holds a value shaped like a secret; it was neither printed nor written."""


def check_output(text: str | bytes, what: str,
                 locate: Callable[[], Sequence[tuple[str, str]]] | None = None, *,
                 findings: Sequence[Finding] | None = None) -> None:
    """Raise :class:`SecretInOutputError` when ``text`` (the whole document) holds a secret shape.

    ``what`` names the document ("the plan", "the graph", "plan file plan.json"); ``locate``, when
    given, returns ``(where, kind)`` pairs in the document's own terms (a JSON path, a resource),
    and is only called when something was found. ``findings``: ``find_secrets(text)``, when the
    caller has them already (:func:`~mlops_infra.secrets.scan.find_secrets_beside`).
    """
    if findings is None:
        findings = find_secrets(text)
    if not findings:
        return
    places = list(locate()) if locate is not None else []
    if not places:
        places = _line_places(text, findings)
    listed = "\n".join(f"  {where}: looks like {kind}" for where, kind in places[:MAX_LISTED])
    more = f"\n  ... and {len(places) - MAX_LISTED} more" if len(places) > MAX_LISTED else ""
    raise SecretInOutputError(
        f"refusing to print or save {what}: it holds a value that looks like a secret",
        f"{listed}{more}\nNothing was printed or written, and the values are not shown here. Keep "
        f"credentials in the environment's secret store and refer to them by name ({{secret: <name>}} "
        f"in mlsystem.yaml where a field takes a secret). If the value is not a secret, this is a bug in "
        f"mlops-infra: please report it with the kind and place above.")


def _line_places(text: str | bytes, findings: Sequence[Finding]) -> list[tuple[str, str]]:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if isinstance(text, bytes):
        findings = find_secrets(decoded)
    places = []
    for f in findings:
        line, column = line_and_column(decoded, f.start)
        places.append((f"line {line}, column {column}", f.kind))
    return places


class RedactingStream(io.TextIOBase):
    """A text stream that redacts secret shapes before they reach ``target()`` (see the contract).

    ``target`` is called at each write, so the stream follows ``sys.stderr`` when it is swapped
    (``contextlib.redirect_stderr`` in tests).
    """

    def __init__(self, target: Callable[[], IO[str]]) -> None:
        super().__init__()
        self._target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = self._pending.rfind("\n") + 1
        if cut and not (len(self._pending) <= HOLD_LIMIT and _key_open(self._pending[:cut])):
            ready, self._pending = self._pending[:cut], self._pending[cut:]
            self._target().write(redact(ready))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            ready, self._pending = self._pending, ""
            self._target().write(redact(ready))
        self._target().flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self._target(), "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._target().fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target(), "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._target(), "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def _key_open(text: str) -> bool:
    """Whether a private key starts in ``text`` whose last line (``last_line`` of its rule) does not
    follow within :data:`~mlops_infra.secrets.rules.KEY_REACH` characters: a key still being
    written (or one cut short), which the scan would end at the first character its body cannot
    hold (a header's quote or bracket), leaving the lines still to come unredacted."""
    for rule, first, last in _key_rules():
        if any(anchor in text for anchor in rule.anchors):
            for start in first.finditer(text):
                end = last.search(text, start.end())
                if end is None or end.start() - start.end() > KEY_REACH:
                    return True
    return False


@cache
def _key_rules() -> list[tuple[Rule, re.Pattern[str], re.Pattern[str]]]:
    """The private key rules with a last line: each with its first line's and its last line's patterns."""
    return [(rule, re.compile(rule.pattern), re.compile(rule.last_line)) for rule in RULES if rule.last_line]
