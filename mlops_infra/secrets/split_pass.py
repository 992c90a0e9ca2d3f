"""One pass of a compiled RE2 pattern over a large text, run in parts on threads, with the one
pass's result exactly.

Contract:
- :func:`find_all` returns the matches ``list(pattern.finditer(data))`` returns (the same spans,
  groups and order; the match objects' ``pos`` and ``endpos`` attributes differ), or None when one
  of them has the group ``mark``: the answer of the one pass that stops at such a match. Asked for
  ``parts`` of 2 or more, it cuts ``data`` only where no match of the pattern can span the cut
  (:func:`cuts`) and runs one pass per part, each on a thread of its own (the first on the
  caller's); where it finds no such place (or cannot analyse the pattern), it runs fewer parts or
  the one pass.
- Threads: every thread started is joined before :func:`find_all` returns or raises; what one
  raises is raised on the caller's thread; an error there (``KeyboardInterrupt`` too), or a match
  with the group ``mark`` anywhere, stops the others at their next match (or their part's end). Only RE2 matching runs without the GIL, so this pays only where
  matching is most of the work (a prefilter with few hits over megabytes).

Why the parts give the one pass's matches (what it relies on; RE2 sources as of google/re2
972a15c, the binding as installed, google-re2 1.1):
1. google-re2's ``finditer`` over bytes (``re2/__init__.py``, ``_Regexp._match``) calls
   ``RE2::Match(text, pos, endpos)`` (``UNANCHORED``) and continues from the end of each match: the
   one pass is ``M(0)``, where ``M(p)`` is the match ``first(p)`` found from ``p`` followed by ``M``
   of where it ends. ``RE2::Match`` searches ``text[pos:endpos]`` with the whole text as the
   context of its empty-width assertions (``re2/re2.cc``, ``RE2::Match``: ``SearchDFA(subtext, text,
   ...)``; ``re2/prog.cc``, ``Prog::EmptyFlags(context, p)``, used by the NFA, one-pass and
   bit-state engines; ``re2/dfa.cc`` reads the byte after ``endpos`` from the context): ``^``, ``$``
   and ``\\b`` see the text around the part. So a match ``[s, e)`` is found in the part
   ``[a, b)`` exactly when it is a match of the whole text with ``a <= s`` and ``e <= b``.
2. RE2 reports the leftmost match and, among those starting there, the one the pattern prefers
   (the first match, not the longest: ``re2/re2.h``, ``Options``, ``longest_match (false)``): the
   first accepting way through the pattern in its order of preference. Cutting the text at ``b``
   only removes ways that need bytes past ``b``; so while the one pass's next match ends at or
   before ``b``, the pass over ``[a, b)`` finds the same one, by induction from ``a``.
3. A cut ``c`` where no match can span it (``s < c < e``) is one where the byte pair
   ``data[c - 1:c + 1]`` occurs in no string the pattern matches (:func:`_pairs`: an
   over-approximation of those pairs, from the pattern's parse with the standard library's
   ``re._parser``, as hypothesis's ``from_regex`` reads patterns; assertions read as matching
   anything, classes as their widest reading in RE2 or ``re``). The one pass's matches then each lie
   in one part, the first of its matches at or after ``c`` starts at or after it (no match starts
   before ``c`` and ends after it), so ``M(0)`` is the pass over ``[0, c)`` (1, 2) followed by
   ``M(c)``; by induction over the cuts, the parts' passes in order. A pattern that matches the
   empty text is not split (an empty match at a cut would be found twice).
4. ``RE2::Match`` runs without the GIL: the binding releases it around the call (google-re2's
   ``python/_re2.cc``, ``RE2MatchShim``: ``py::gil_scoped_release release_gil;`` before
   ``self.Match(text, pos, endpos, ...)``), and an ``RE2`` is "thread-safe and logically immutable"
   (``re2/re2.h``), so the parts' passes run on several cores at once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

CUT_REACH = 4096
"""How far past an even share of the text a cut is looked for (:func:`cuts`)."""


def find_all(pattern: Any, data: bytes, parts: int = 1, mark: int | None = None) -> list[Any] | None:
    """The matches of ``pattern.finditer(data)``, or None when one has the group ``mark`` (see the
    module contract); ``parts``: how many passes to run at once at most (1: the one pass)."""
    places = cuts(pattern, data, parts) if parts > 1 else [0]
    if len(places) < 2:
        return _pass(pattern, data, 0, len(data), mark, None)
    return find_all_from(pattern, data, places, mark)


def find_all_from(pattern: Any, data: bytes, places: list[int], mark: int | None = None) -> list[Any] | None:
    """The parts' passes from ``places`` (ascending, the first 0, each one where :func:`can_cut`),
    joined: :func:`find_all`'s answer."""
    import threading

    ends = [*places[1:], len(data)]
    stop = threading.Event()
    found: list[list[Any] | BaseException | None] = [None] * len(places)

    def run(i: int) -> None:
        try:
            found[i] = _pass(pattern, data, places[i], ends[i], mark, stop)
        except BaseException as error:  # raised again on the caller's thread, below
            found[i] = error
            stop.set()

    threads = [threading.Thread(target=run, args=(i,), name="secret-scan-part") for i in range(1, len(places))]
    try:
        for thread in threads:
            thread.start()
        run(0)
        if not isinstance(found[0], list):  # an error, or a mark: the others need not finish
            stop.set()
        for thread in threads:
            thread.join()
    finally:  # after an error here (KeyboardInterrupt in a join): stop the others, then wait
        stop.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    for part in found:
        if isinstance(part, BaseException):
            raise part
    if any(part is None for part in found):
        return None
    return [match for part in found for match in part]  # type: ignore[union-attr]


def _pass(pattern: Any, data: bytes, start: int, end: int, mark: int | None, stop: Any) -> list[Any] | None:
    """The matches of ``pattern.finditer(data, start, end)``; None at one with the group ``mark``
    (then ``stop`` is set), or when ``stop`` is set (another part's mark or error)."""
    found = []
    for match in pattern.finditer(data, start, end):
        if mark is not None and match.start(mark) != -1:
            if stop is not None:
                stop.set()
            return None
        if stop is not None and stop.is_set():
            return None
        found.append(match)
    return found


def cuts(pattern: Any, data: bytes, parts: int) -> list[int]:
    """Where the passes start: 0, then for each further even share of ``data`` the first place
    within :data:`CUT_REACH` bytes after it where no match can span (:func:`can_cut`); just 0 when
    the pattern cannot be analysed or matches the empty text."""
    pairs = _pairs(pattern.pattern)
    if pairs is None:
        return [0]
    places = [0]
    for share in range(1, parts):
        low = max(places[-1] + 1, len(data) * share // parts)
        for place in range(low, min(low + CUT_REACH, len(data))):
            if not pairs[data[place - 1]] >> data[place] & 1:
                places.append(place)
                break
    return places


def can_cut(pattern: Any, data: bytes, place: int) -> bool:
    """Whether no match of ``pattern`` can span ``place`` (start before it and end after it)."""
    pairs = _pairs(pattern.pattern)
    return pairs is not None and 0 < place < len(data) and not pairs[data[place - 1]] >> data[place] & 1


@lru_cache(maxsize=16)
def _pairs(source: bytes | str) -> tuple[int, ...] | None:
    """For each byte ``x``, the bytes ``y`` (bits of an int) such that ``xy`` may occur in a string
    the pattern ``source`` matches (an over-approximation); None when the pattern is not read here
    (a construct outside the subset both engines share) or matches the empty text."""
    import re._parser as sre_parse  # what hypothesis's from_regex reads patterns with

    if not isinstance(source, bytes) or re.search(rb"\[:\^?[a-z]+:\]|\\[pP]|\{,", source):
        return None  # RE2's POSIX and Unicode classes: re reads them otherwise, or not at all
    try:
        parsed = sre_parse.parse(source)
        nullable, _, _, follow = _Reader().read(parsed, parsed.state.flags)
    except (_Unread, re.error, OverflowError, RecursionError):
        return None
    return None if nullable else tuple(follow.get(x, 0) for x in range(256))


class _Unread(Exception):
    """A construct RE2 lacks or that is not read here."""


_IGNORECASE = int(re.IGNORECASE)
_ALL = (1 << 256) - 1
_WORD = sum(1 << b for b in b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGIT = sum(1 << b for b in b"0123456789")
_SPACE_WIDE = sum(1 << b for b in b" \t\n\r\f\v")  # re's \s over bytes
_SPACE_NARROW = sum(1 << b for b in b" \t\n\r\f")  # RE2's \s (no \v: re2/re2.h, syntax)


def _bits(value: int) -> list[int]:
    found = []
    while value:
        low = value & -value
        found.append(low.bit_length() - 1)
        value ^= low
    return found


@lru_cache(maxsize=256)
def _case_variants(byte: int) -> int:
    """``byte`` and its other cases as a Latin-1 character (RE2's Latin-1 folding; ``re``'s is ASCII)."""
    char = chr(byte)
    return sum(1 << ord(v) for v in {char, char.lower(), char.upper(), char.swapcase()} if len(v) == 1 and ord(v) < 256)


_Read = tuple[bool, int, int, dict[int, int]]


def _add(follow: dict[int, int], before: int, after: int) -> None:
    """Note that every byte of ``before`` may be followed by every byte of ``after``."""
    if after:
        for x in _bits(before):
            follow[x] = follow.get(x, 0) | after


class _Reader:
    """Reads a parsed pattern into (nullable, first bytes, last bytes, follow): ``follow[x]`` holds
    every ``y`` such that ``xy`` occurs in some string it matches (Glushkov's first/last/follow
    sets over bytes, each set an int of 256 bits)."""

    def read(self, items: Any, flags: int) -> _Read:
        nullable, first, last, follow = True, 0, 0, {}
        for op, av in items:
            n2, f2, l2, fo2 = self._item(str(op), av, flags)
            _add(follow, last, f2)
            for x, after in fo2.items():
                follow[x] = follow.get(x, 0) | after
            first |= f2 if nullable else 0
            last = l2 | (last if n2 else 0)
            nullable = nullable and n2
        return nullable, first, last, follow

    def _item(self, op: str, av: Any, flags: int) -> _Read:
        if op in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            chars = self._chars(op, av, bool(flags & _IGNORECASE))
            return False, chars, chars, {}
        if op == "AT":
            return True, 0, 0, {}  # ^ $ \b \A \Z: read as matching anything (empty)
        if op == "SUBPATTERN":
            _, add, remove, inner = av
            return self.read(inner, (flags | add) & ~remove)
        if op == "ATOMIC_GROUP":
            return self.read(av, flags)
        if op == "BRANCH":
            nullable, first, last, follow = False, 0, 0, {}
            for branch in av[1]:
                n2, f2, l2, fo2 = self.read(branch, flags)
                nullable, first, last = nullable or n2, first | f2, last | l2
                for x, after in fo2.items():
                    follow[x] = follow.get(x, 0) | after
            return nullable, first, last, follow
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, inner = av
            if high == 0:
                return True, 0, 0, {}
            nullable, first, last, follow = self.read(inner, flags)
            if high >= 2:
                follow = dict(follow)
                _add(follow, last, first)
            return nullable or low == 0, first, last, follow
        raise _Unread(op)  # back references, look-arounds, conditionals: not RE2

    def _chars(self, op: str, av: Any, fold: bool) -> int:
        if op == "ANY":
            return _ALL
        if op == "LITERAL":
            return _case_variants(av) if fold else 1 << av
        if op == "NOT_LITERAL":
            return _ALL & ~(1 << av)
        negate = any(str(kind) == "NEGATE" for kind, _ in av)
        chars = 0
        for kind, value in av:
            kind = str(kind)
            if kind == "LITERAL":
                chars |= _case_variants(value) if fold and not negate else 1 << value
            elif kind == "RANGE":
                for byte in range(value[0], value[1] + 1):
                    chars |= _case_variants(byte) if fold and not negate else 1 << byte
            elif kind == "CATEGORY":
                chars |= self._category(str(value), wide=not negate)
            elif kind != "NEGATE":
                raise _Unread(kind)
        return _ALL & ~chars if negate else chars

    @staticmethod
    def _category(name: str, wide: bool) -> int:
        """A class escape's bytes, at its widest (``wide``) or narrowest reading in RE2 and ``re``."""
        space = _SPACE_WIDE if wide else _SPACE_NARROW
        table = {"CATEGORY_DIGIT": _DIGIT, "CATEGORY_NOT_DIGIT": _ALL & ~_DIGIT, "CATEGORY_WORD": _WORD,
                 "CATEGORY_NOT_WORD": _ALL & ~_WORD, "CATEGORY_SPACE": space,
                 "CATEGORY_NOT_SPACE": _ALL & ~(_SPACE_NARROW if wide else _SPACE_WIDE)}
        if name not in table:
            raise _Unread(name)
        return table[name]
