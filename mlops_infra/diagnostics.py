"""Diagnostics: what every stage reports about a user's mistakes.

Contract:
- A stage never raises for a user mistake; it returns its result together with a list of
  :class:`Diagnostic`. Exceptions are for broken invariants (bugs) and for I/O the user cannot fix
  by editing the document.
- ``summary`` is a short title (no trailing period); ``detail`` says what is wrong and how to fix it.
- ``path`` addresses the offending node in the *raw document* (keys and list indexes), so positions
  can be looked up; ``address`` is the human name of the item (``endpoints.scorer.replicas``).
- Diagnostics sort by (file, line, column, severity, summary) so output is stable.
- Text taken from a document (keys, values, file names) can hold terminal control sequences
  (``ESC ]0;...``, ``ESC [2J``) or bidirectional overrides; a diagnostic never carries them:
  :func:`printable` shows them as escapes (``\x1b``) when the diagnostic is made, so every
  printer, text or JSON, is safe.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from mlops_infra.name_lists import join_names

Path = tuple[str | int, ...]


class Severity(StrEnum):
    """How bad a diagnostic is: errors make a document invalid, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = True) -> str:
    """``text`` with terminal control characters and bidirectional overrides written as escapes.

    C0 controls (ESC starts every terminal sequence), DEL and C1 controls (CSI, OSC), and the Unicode
    directional marks that reorder what a terminal shows ("Trojan Source", CVE-2021-42574) become
    ``\\x1b``/``\\u202e``. Tabs stay; newlines stay when ``lines`` is true (multi-line details).
    """
    pattern = _UNPRINTABLE if lines else _UNPRINTABLE_OR_NEWLINE
    if not pattern.search(text):
        return text
    if lines:
        return pattern.sub(_escaped, text)
    return pattern.sub(lambda m: m.group() if m.group() == "\t" else _escaped(m), text)


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A 1-based line and column in a file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{printable(self.file, lines=False)}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a document.

    Fields:
        severity: error or warning.
        code: a stable kebab-case identifier (``unknown-reference``), for tooling and tests.
        summary: a short title.
        detail: what is wrong and how to fix it (may span lines).
        path: raw-document path of the node the finding is about.
        location: where that node is in its file, once positions are attached.
        address: the dotted item address (``endpoints.scorer``), when one applies.
        names: every name of the lists the detail shortens (:mod:`mlops_infra.name_lists`: the first six, then
            how many more), by what they are (``repositories``), for a script; ``--format json`` writes them as
            ``names`` only when there are some (docs/diagnostics.md). Never used to decide anything.
    """

    severity: Severity
    code: str
    summary: str
    detail: str = ""
    path: Path = ()
    location: SourceLocation | None = None
    address: str = ""
    names: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "summary", printable(self.summary, lines=False))
        object.__setattr__(self, "detail", printable(self.detail))
        object.__setattr__(self, "address", printable(self.address, lines=False))
        if self.names:
            object.__setattr__(self, "names", tuple(
                (key, tuple(printable(n, lines=False) for n in values)) for key, values in self.names))

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        loc = self.location
        return (
            loc.file if loc else "",
            loc.line if loc else 0,
            loc.column if loc else 0,
            0 if self.is_error else 1,
            self.summary,
        )

    def to_json(self) -> dict:
        """The JSON shape used by ``--format json`` (stable, documented in docs/diagnostics.md)."""
        loc = self.location
        names = {"names": {key: list(values) for key, values in self.names}} if self.names else {}
        return {
            "severity": str(self.severity),
            "code": self.code,
            "summary": self.summary,
            "detail": self.detail,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "path": [str(p) for p in self.path],
            "address": self.address or None,
            **names,
        }


def error(code: str, summary: str, detail: str = "", path: Path = (), address: str = "",
          names: Mapping[str, Sequence[str]] | None = None) -> Diagnostic:
    """Shorthand for an error diagnostic (``names``: see :class:`Diagnostic`; an error whose fix is to change every
    item of a list the text shortens carries the list whole, as a warning does: audit closing-44c-2)."""
    return Diagnostic(Severity.ERROR, code, summary, detail, tuple(path), None, address, _names(names))


def warning(code: str, summary: str, detail: str = "", path: Path = (), address: str = "",
            names: Mapping[str, Sequence[str]] | None = None) -> Diagnostic:
    """Shorthand for a warning diagnostic (``names``: see :class:`Diagnostic`)."""
    return Diagnostic(Severity.WARNING, code, summary, detail, tuple(path), None, address, _names(names))


def _names(names: Mapping[str, Sequence[str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((key, tuple(values)) for key, values in (names or {}).items())


@dataclass
class Diagnostics:
    """An ordered, append-only collection of diagnostics with helpers."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(_dedupe(self.items), key=Diagnostic.sort_key)


def _dedupe(items: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple] = set()
    out = []
    for d in items:
        key = (d.severity, d.code, d.summary, d.path, d.location)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean "x"?' suffix when a candidate is close to ``word``, else ''."""
    matches = difflib.get_close_matches(str(word), sorted({str(c) for c in candidates}), n=1, cutoff=0.6)
    return f' Did you mean "{matches[0]}"?' if matches else ""


def known_list(candidates: Sequence[str] | Iterable[str], limit: int = 12) -> str:
    """Human list of valid values, sorted and quoted: '"a", "b" or "c"'; past ``limit + 1``, the first ``limit``
    and how many more (:func:`mlops_infra.name_lists.join_names`)."""
    items = sorted({str(c) for c in candidates})
    if not items:
        return "(none defined)"
    return join_names([f'"{s}"' for s in items], limit, last=" or ")


def with_location(diagnostic: Diagnostic, location: SourceLocation | None) -> Diagnostic:
    """Return the diagnostic with ``location`` attached."""
    return replace(diagnostic, location=location)
