"""Fast JSON for the large documents (state files, plan JSON, graph digests), with stdlib fallbacks.

Contract:
- :func:`loads` parses like ``json.loads``; orjson does the work, and anything orjson refuses
  (NaN, nesting past 1,024 levels, invalid JSON) is parsed again by the standard library, so errors
  and leniency are the standard library's. One difference: an integer beyond 64 bits (below
  ``-2**63`` or above ``2**64 - 1``) is read as orjson reads it, as the nearest float, where
  ``json.loads`` gives the exact integer (no Pulumi provider schema has such an integer; checking
  every number's digits would cost about a third of the parse).
- :func:`canonical_bytes` is the byte string used for fingerprints (sorted keys, compact). It is
  deterministic: equal values always give equal bytes. :class:`ItemsDigest` hashes the same
  bytes of a large object holding a list, one item at a time.
- :func:`pretty` is sorted, two-space indented, ASCII-only JSON text with a trailing newline.
- :func:`loads_utf8` parses UTF-8 bytes without decoding them first; :func:`stdlib_pretty` is
  ``json.dumps(indent=2, sort_keys=True)``'s bytes, written by orjson.
``benchmarks/bench_cli.py`` prints what the commands built on these take, against the floors.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    """Parse JSON text (see the module contract)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


UNPARSED: Any = object()
"""What :func:`loads_utf8` returns for bytes it leaves to the caller's slower, more lenient path."""


def loads_utf8(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes (a UTF-8 BOM is skipped) without decoding them to text first;
    :data:`UNPARSED` for anything orjson refuses (another encoding, invalid UTF-8 or JSON, NaN,
    nesting past 1,024 levels): decode and call :func:`loads` for those. Integers beyond 64 bits
    are read as floats, as by :func:`loads`."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UNPARSED
    try:
        return orjson.loads(memoryview(data)[3:] if data.startswith(codecs.BOM_UTF8) else data)
    except orjson.JSONDecodeError:
        return UNPARSED


def canonical_bytes(value: Any) -> bytes:
    """Sorted, compact JSON bytes of ``value`` for hashing."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


_ITEMS_MARKER = b"mlops-infra:the-items-go-here"


class ItemsDigest:
    """The SHA-256 of ``canonical_bytes({**envelope, key: items})`` fed one item at a time, without
    the whole text (or the whole list) at once: the envelope's text before and after the list,
    and each item as orjson writes it at the depth it has there (inside two lists, as inside the
    envelope and the list). Raises ``orjson.JSONEncodeError`` (a ``TypeError``) where orjson
    cannot write a value, and ``ValueError`` when the envelope's text already holds the marker
    standing for the list: the caller then hashes :func:`canonical_bytes` of the whole value,
    whose standard-library fallback writes other bytes."""

    def __init__(self, envelope: dict[str, Any], key: str) -> None:
        text = orjson.dumps({**envelope, key: _ITEMS_MARKER.decode()}, option=orjson.OPT_SORT_KEYS)
        if text.count(_ITEMS_MARKER) != 1:
            raise ValueError("the envelope holds the marker")
        before, _, self._after = text.partition(b'"' + _ITEMS_MARKER + b'"')
        self._hash = hashlib.sha256(before + b"[")
        self._first = True

    def add(self, item: Any) -> None:
        """Feed the next item of the list."""
        self._update(orjson.dumps([[item]], option=orjson.OPT_SORT_KEYS))

    def add_many(self, items: list[Any]) -> None:
        """Feed the next items of the list, as :meth:`add` of each would (one serialisation)."""
        if items:
            self._update(orjson.dumps([items], option=orjson.OPT_SORT_KEYS))

    def _update(self, text: bytes) -> None:
        """Hash ``text`` without its first two and last two bytes (the brackets of the two lists),
        after a comma unless it is the first: the hash reads them in place, no copy of the text."""
        if not self._first:
            self._hash.update(b",")
        with memoryview(text) as view, view[2:-2] as inner:
            self._hash.update(inner)
        self._first = False

    def hexdigest(self) -> str:
        """The digest of the envelope with the items fed so far."""
        done = self._hash.copy()
        done.update(b"]" + self._after)
        return done.hexdigest()


_STDLIB_SPELLING = re.compile(rb"\x7f|[0-9]e-[1-9](?![0-9])|[0-9]\.0000")
"""Where orjson's bytes can differ from the standard library's for finite JSON data: the DEL
character (escaped by ``json``) and floats below 1e-4 (``1e-05`` in ``json``, ``1e-5`` or
``0.00001`` in orjson). Text that merely looks like them is matched too (then ``json`` writes it).
:func:`spelled_otherwise` answers whether it matches, faster."""

_EXPONENT = re.compile(rb"e-[1-9](?![0-9])")
_SMALL_FIXED = re.compile(rb"\.0000")
_DIGITS = frozenset(b"0123456789")


def spelled_otherwise(data: bytes) -> bool:
    """Whether :data:`_STDLIB_SPELLING` matches ``data``. Its leading digit class makes the regex
    engine try every byte of a graph's tens of megabytes; here a memchr finds DEL, and patterns
    starting with a literal (fast to scan for) find the candidates, whose preceding byte is then
    checked for a digit."""
    if b"\x7f" in data:
        return True
    for pattern in (_EXPONENT, _SMALL_FIXED):
        first = pattern.search(data)  # most texts (a $json value) have no candidate: no iterator
        if first is not None and any(m.start() and data[m.start() - 1] in _DIGITS
                                     for m in pattern.finditer(data, first.start())):
            return True
    return False


def stdlib_pretty(value: Any) -> str:
    """Exactly ``json.dumps(value, indent=2, sort_keys=True) + "\\n"`` for JSON data without NaN or
    infinity (which orjson writes as ``null``; the spec admits neither, ``allow_inf_nan=False``),
    faster (``benchmarks/bench_cli.py`` times ``graph --format json``): orjson writes it, and
    whatever orjson would spell otherwise (non-ASCII text, :data:`_STDLIB_SPELLING`, what it
    refuses: non-string keys, integers beyond 64 bits) is written by ``json``."""
    return stdlib_pretty_bytes(value).decode()


def stdlib_pretty_bytes(value: Any) -> bytes:
    """:func:`stdlib_pretty`'s text as (ASCII) bytes, without decoding what orjson wrote (orjson
    writes the newline too: a graph's tens of megabytes are not copied again to add it)."""
    data = orjson_pretty_bytes(value)
    if data is None or not spelled_as_stdlib(data):
        return stdlib_dumps_bytes(value)
    return data


PRETTY_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
"""orjson's options for :func:`orjson_pretty_bytes`' text (sorted keys, two-space indent, trailing
newline)."""


def orjson_pretty_bytes(value: Any, default: Callable[[Any], Any] | None = None) -> bytes | None:
    """orjson's sorted, two-space indented bytes of ``value`` with a trailing newline, not checked
    (:func:`spelled_as_stdlib`); None where orjson cannot write ``value``. ``default``: orjson's, called
    for each object it cannot write, whose answer it writes in its place (a ``TypeError`` it raises
    makes the answer None)."""
    try:
        return orjson.dumps(value, default=default, option=PRETTY_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return None


def stdlib_dumps_bytes(value: Any) -> bytes:
    """``json.dumps(value, indent=2, sort_keys=True) + "\\n"``, encoded (ASCII)."""
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def spelled_as_stdlib(data: bytes) -> bool:
    """Whether :func:`stdlib_pretty_bytes` takes orjson's bytes ``data`` as they are: ASCII, and
    :data:`_STDLIB_SPELLING` matches nowhere."""
    return data.isascii() and not spelled_otherwise(data)


STDLIB_SPELLING_TRIGGERS = rb"[\x80-\xff]|\x7f|[0-9]e-[1-9]|[0-9]\.0000"
"""A pattern (RE2 syntax, one byte one character) matching at the start of every place that makes
:func:`spelled_as_stdlib` false: a byte that is not ASCII, DEL, and the digit before a match of
:data:`_STDLIB_SPELLING`'s exponent or fixed form (without its look-ahead); every match is at most
:data:`STDLIB_SPELLING_REACH` bytes long."""

STDLIB_SPELLING_REACH = 6


def spelled_as_stdlib_near(data: bytes, spans: Iterable[tuple[int, int]]) -> bool:
    """:func:`spelled_as_stdlib` of ``data`` when no match of :data:`STDLIB_SPELLING_TRIGGERS` starts
    outside ``spans`` (as :func:`mlops_infra.secrets.find_secrets_beside` proves): each span is
    checked with what follows it up to the reach of a match starting in it, the rest is not read.

    Every place that makes :func:`spelled_as_stdlib` false starts a match of the triggers (a digit
    before the exponent or fixed form, else the byte itself), so one starts in a span, and the
    slice from the span's start to the end of that match, with the byte after it (the exponent's
    look-ahead), holds it with the digit before it."""
    return all(spelled_as_stdlib(data[start:end + STDLIB_SPELLING_REACH]) for start, end in spans)


def pretty(value: Any) -> str:
    """Sorted, indented, ASCII-only JSON text ending in a newline (orjson writes the newline: the
    whole text is not copied again to add it)."""
    return pretty_bytes(value).decode()


def pretty_bytes(value: Any) -> bytes:
    """:func:`pretty`'s text as the ASCII bytes it is, as orjson wrote them (not decoded: a caller
    that checks or writes bytes saves a copy of a plan's tens of megabytes each way)."""
    data = orjson_pretty_bytes(value)
    if data is None or not data.isascii():
        return stdlib_dumps_bytes(value)
    return data
