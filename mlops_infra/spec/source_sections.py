"""Cut an MLSystem document's text into the pieces a position lookup composes alone.

A diagnostic's ``file:line`` comes from libyaml's composer (:mod:`mlops_infra.spec.loader`), and
composing the whole 1,000-endpoint document costs about as much as validating it: one warning on
one cluster doubled ``validate``. A path lives in one top-level section (``clusters:``) and, when
that section is a block sequence, in one item of it (``clusters[3]``), so composing that piece alone
gives the same marks once its line offset is added back: columns are untouched, since a piece is
whole lines of the text.

Contract:
- :func:`cut` returns the :class:`Sections` of a text, or None when the text is not plainly a block
  mapping at column 0 whose top-level keys are the only column-0 lines other than comments and
  compact sequence entries (``- ``). None (the caller composes the whole text) also for what would
  make a piece read differently alone: an anchor (``&`` anywhere: an alias in one piece may name a
  node in another, and the composer shares aliased nodes between paths), a directive or a document
  marker other than one leading ``---``, a BOM, a CR and the controls Python's ``splitlines`` breaks
  at. NEL, LS and PS are content in YAML 1.2 (section 5.4) and stay in their line here: the loader
  composes every piece through :func:`mlops_infra.spec.loader.for_libyaml`, where libyaml (YAML 1.1)
  no longer reads them as line breaks (audit yamledge-1).
- The cut is only a candidate: :mod:`mlops_infra.spec.loader` accepts a section only when it
  composes to a mapping of exactly one key, and an item only when it composes to a sequence of
  exactly one item; otherwise it composes the whole text. A false cut (a column-0 line inside a
  flow collection or a quoted scalar) leaves an unterminated piece, which does not compose.
- :func:`entry_value_at` answers, for a key of a sequence item whose plain value is on the key's line,
  where the composer puts that value, read from the item's lines alone when nothing in them up to the key
  can be read two ways; else None, and the caller composes the item.
- Pure text work: no YAML is parsed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_KEY_START = re.compile(r"[A-Za-z0-9_\"']")
"""A column-0 line starting a top-level key: plain or quoted. Anything else at column 0 (flow
``{``/``[``, a tag ``!``, a complex key ``?``, an alias ``*``) makes the text uncut."""
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\ufeff")


@dataclass(frozen=True)
class Piece:
    """Lines ``[start, end)`` (0-based) of the text."""

    start: int
    end: int


@dataclass
class Sections:
    """The text's lines and its top-level sections, in document order (one per top-level key)."""

    lines: list[str]
    sections: list[Piece]
    _items: dict[int, list[Piece] | None] = field(default_factory=dict)

    def text(self, piece: Piece) -> str:
        return "\n".join(self.lines[piece.start:piece.end]) + "\n"

    def items(self, index: int) -> list[Piece] | None:
        """The entries of section ``index`` when its value is a block sequence (``- `` lines at one
        indentation, the first non-blank, non-comment line after the key), else None."""
        if index not in self._items:
            self._items[index] = _sequence_items(self.lines, self.sections[index])
        return self._items[index]


def cut(text: str) -> Sections | None:
    """The sections of ``text`` (see the module contract), or None."""
    if "&" in text or any(mark in text for mark in _OTHER_BREAKS):
        return None
    lines = text.split("\n")
    starts: list[int] = []
    leading_marker_allowed = True
    for number in _column_zero_lines(text):
        line = lines[number]
        if line[0] == "-" and (len(line) == 1 or line[1] in " \t"):
            if not starts:
                return None  # a sequence before any key: the root is not a mapping
            leading_marker_allowed = False
            continue
        if line.startswith("---") and leading_marker_allowed and not starts and line[3:].strip() == "":
            leading_marker_allowed = False
            continue
        if not _KEY_START.match(line):
            return None
        leading_marker_allowed = False
        starts.append(number)
    if not starts:
        return None
    ends = [*starts[1:], len(lines)]
    return Sections(lines, [Piece(s, e) for s, e in zip(starts, ends, strict=True)])


_AFTER_A_BREAK = re.compile(r"\n[^ #\n]")
"""A line break followed by a character other than a space, ``#`` or another break: the start of a line
that holds something at column 0 other than a comment (:func:`_column_zero_lines`)."""


def _column_zero_lines(text: str) -> list[int]:
    """The numbers (0-based, as ``text.split("\\n")`` counts) of the lines of ``text`` that are neither
    empty nor start with a space or ``#``, the only lines :func:`cut` reads: found by one regular-expression
    scan for :data:`_AFTER_A_BREAK` (its leading break a literal the scan looks for, not a Python step per
    line: a 1,000-endpoint document has tens of thousands of indented lines and a dozen keys), each
    numbered by counting the breaks since the one before."""
    numbers = [0] if text and text[0] not in " #\n" else []
    number, at = 0, 0
    for found in _AFTER_A_BREAK.finditer(text):
        start = found.start()
        number += text.count("\n", at, start) + 1
        at = start + 1
        numbers.append(number)
    return numbers


_ENTRY_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):(?: +|$)")
"""A key line of an entry's mapping, from the key's column: a plain word, ``:``, then spaces or the line's end."""
_NOT_READ = re.compile(r"[\"'\[\]{}&*!|>%@`#?\t]")
"""What makes a line one :func:`entry_value_at` does not read: a quote, a flow collection, an anchor or alias,
a tag, a block scalar, a directive or reserved character, a comment, a complex key, a tab."""
_READ_OTHERWISE = frozenset({"null", "true", "false", "inf", "nan"})
"""Plain words the document's parser reads as something other than their text
(:func:`mlops_infra.spec.loader.core_value`): such a key is left to the composer."""


def entry_value_at(lines: list[str], entry: Piece, key: str) -> tuple[int, int] | None:
    """The 1-based (line, column) of the value of ``key`` in the block mapping that is the sequence entry
    ``entry`` (``- name: x`` and the keys under it), where libyaml's composer puts that value's node, or None
    when it is not read here (the caller composes the entry).

    Read only where the text admits one reading: every line of the entry up to the key's holds none of
    :data:`_NOT_READ`; the mapping's keys are plain words at one column (the first one's, after ``- ``);
    deeper lines (nested values, continuations) are passed over; any other line at that column, a key the
    parser reads otherwise (:data:`_READ_OTHERWISE`) or a value that is not a plain scalar started on the
    key's line (empty, starting with ``-``, ``:`` or ``,``, or holding ``: ``) answers None. A plain scalar's
    node starts at its first character (its mark), the first occurrence of a key is the one located (the
    position index keeps the first), and a mark depends only on the text before it: lines after the key's
    are not read. tests/spec/test_source_sections_scan.py compares the answers with the composer's for every
    entry key of the shipped documents, the style documents and the benchmark document."""
    if key.lower().lstrip(".") in _READ_OTHERWISE:
        return None
    first = lines[entry.start]
    dash = len(first) - len(first.lstrip(" "))
    if first[dash:dash + 2] != "- ":
        return None
    column = len(first) - len(first[dash + 1:].lstrip(" "))
    for number in range(entry.start, entry.end):
        line = lines[number]
        if _NOT_READ.search(line):
            return None
        if number > entry.start:
            lead = len(line) - len(line.lstrip(" "))
            if lead == len(line) or lead > column:
                continue  # blank, or deeper: a nested value or a continuation
            if lead < column:
                return None
        found = _ENTRY_KEY.match(line, column)
        if found is None:
            return None
        if found.group(1) != key:
            continue
        value = line[found.end():]
        if not value or value[0] in "-:," or ": " in value or value.endswith(":"):
            return None
        return number + 1, found.end() + 1
    return None


def _sequence_items(lines: list[str], section: Piece) -> list[Piece] | None:
    indent = None
    starts: list[int] = []
    for number in range(section.start + 1, section.end):
        line = lines[number]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(line) - len(stripped)
        if indent is None:
            if not _entry(stripped):
                return None  # a mapping or a scalar under the key: the section is the piece
            indent = depth
        if depth < indent:
            return None
        if depth == indent:
            if not _entry(stripped):
                return None
            starts.append(number)
    if not starts:
        return None
    ends = [*starts[1:], section.end]
    return [Piece(s, e) for s, e in zip(starts, ends, strict=True)]


def _entry(stripped: str) -> bool:
    """Whether a line (its indentation removed) starts a block sequence entry: ``-`` then a space, a tab
    (yaml-rs reads it; libyaml refuses it, so that entry's piece does not compose) or the line's end."""
    return stripped == "-" or stripped.startswith(("- ", "-\t"))
