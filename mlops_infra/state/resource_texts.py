"""Cut the ``"resources"`` array of a state document (indented or compact) into one text per resource.

Contract:
- :class:`ResourceTexts` reads a JSON document through ``read(n)`` (a file or ``io.BytesIO``)
  a block at a time and yields, in order, the text of each element of the first
  ``"resources": [...]`` array it finds (or, with :meth:`ResourceTexts.groups`, texts of runs of
  consecutive elements), holding a few blocks and one text at a time, never the whole document. After the iteration, :attr:`ResourceTexts.head` is the text before the array's
  ``[`` and :attr:`ResourceTexts.tail` the text after its ``]``.
- :func:`outline` guesses that head and tail from the first and last blocks alone, so that the
  caller can read the deployment around the array before the resources.
- It relies on the layouts Pulumi writes. Indented (``json.MarshalIndent``, one token per line: the
  file backend up to Pulumi 3.237, ``pulumi stack export``): each element is an object starting
  with ``{`` on its own line and ending with ``}`` at the start of a line indented as that ``{``.
  Compact (``json.Encoder`` without indentation: the file backend from Pulumi 3.238, pulumi/pulumi
  50c8b16e "diy: Minify json state files", ``pkg/backend/diy/state.go`` ``compactJSONMarshaler``):
  elements are joined by ``},{"urn":`` (:meth:`ResourceTexts._compact_groups` says why those bytes
  are tokens), and the array's end is found by parsing candidates from the end of the document
  (the only JSON this module parses, to find that end). It proves nothing by itself: the caller
  proves the cut by parsing every yielded text as one complete JSON value, and the head and tail
  around :data:`SENTINEL` as a document whose deployment holds :data:`SENTINEL` as its
  ``"resources"``. A raw newline never occurs inside a JSON string, so a ``{`` or ``}`` after a
  newline and indentation is a token; a text cut anywhere but at an element's bounds is not one
  complete JSON value (it opens an object it does not close, or holds more than one value), and
  the separators between texts are checked to be one comma and JSON whitespace. Together these
  make the texts exactly the array's elements.
- Anything else (another layout, no such array, more than ``limit`` bytes) raises
  :class:`NotSplittable`; the caller then reads the document whole.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO

import orjson

BLOCK = 4 << 20
"""Bytes read at a time."""
SENTINEL = b"mlops-infra:resources-read-one-by-one"
"""The JSON string the caller puts in the array's place between the head and the tail."""

_KEY = re.compile(rb'"resources"[ \t\r\n]*:[ \t\r\n]*\[')
_KEY_OVERLAP = 64
_COMPACT_CUT = b'},{"urn":'
"""Between two elements of a compact ``"resources"`` array (see :meth:`ResourceTexts._compact_groups`)."""
_ARRAY_END_TRIES = 64
"""Candidates for the end of a compact array tried from the end of the document (a ``]`` inside
the tail, in ``pending_operations`` or ``metadata``, is one each)."""
_NOT_WHITESPACE = re.compile(rb"[^ \t\r\n]")


def outline(handle: BinaryIO, limit: int) -> tuple[bytes, bytes]:
    """A guess at (:attr:`ResourceTexts.head`, :attr:`ResourceTexts.tail`) of the document in the
    seekable ``handle``, from its first and last blocks only: the head ends at the first
    ``"resources": [``; the tail starts after the last ``]`` at the start of a line indented as the
    line holding that key, or, in a compact document (no newline before that key), after the
    ``]`` with which the head, a JSON string and the tail parse (:func:`_compact_tail`). A guess:
    :class:`ResourceTexts` finds the real ones, which the caller compares with it (another array
    closing at that indentation after ``resources``, such as ``pending_operations``, makes them
    differ). Leaves ``handle`` at its start."""
    size = handle.seek(0, io.SEEK_END)
    if size > limit:
        raise NotSplittable("larger than the limit")
    handle.seek(0)
    first = handle.read(BLOCK)
    match = _KEY.search(first)
    if match is None:
        raise NotSplittable('no "resources" array in the first block')
    line = first.rfind(b"\n", 0, match.start()) + 1
    indent = first[line:match.start()]
    if line and indent.strip(b" \t"):
        raise NotSplittable('"resources" is not the first key on its line')
    handle.seek(max(match.end(), size - BLOCK))
    last = handle.read()
    handle.seek(0)
    if not line:
        return first[:match.end() - 1], _compact_tail(first[:match.end() - 1], last)
    closing = last.rfind(b"\n" + indent + b"]")
    if closing == -1:
        raise NotSplittable("no array end in the last block")
    return first[:match.end() - 1], last[closing + len(indent) + 2:]


def _compact_tail(head: bytes, last: bytes) -> bytes:
    """The text after the ``]`` of the compact array whose document starts with ``head`` and ends
    with ``last``: after the first ``]`` (of the last :data:`_ARRAY_END_TRIES` in ``last``) with
    which ``head``, a JSON string and the rest parse as one JSON document. The first, not the last:
    with ``pending_operations`` after the resources, the end of that array parses too (the
    operations then look absent)."""
    found: bytes | None = None
    stop = len(last)
    for _ in range(_ARRAY_END_TRIES):
        end = last.rfind(b"]", 0, stop)
        if end == -1:
            break
        stop = end
        try:
            orjson.loads(head + b'""' + last[end + 1:])
        except orjson.JSONDecodeError:
            continue
        found = last[end + 1:]
    if found is None:
        raise NotSplittable("no array end in the last block")
    return found


class NotSplittable(Exception):
    """The document is not laid out as :class:`ResourceTexts` expects (read it whole instead)."""


class ResourceTexts:
    """The texts of the ``"resources"`` elements of the document behind ``read`` (see the module contract)."""

    def __init__(self, read: Callable[[int], bytes], limit: int) -> None:
        self._read = read
        self._limit = limit
        self._total = 0
        self._buf = bytearray()
        self._eof = False
        self.head = b""
        self.tail = b""

    def _more(self) -> bool:
        if self._eof:
            return False
        block = self._read(BLOCK)
        if not block:
            self._eof = True
            return False
        self._total += len(block)
        if self._total > self._limit:
            raise NotSplittable("larger than the limit")
        self._buf += block
        return True

    def _skip_whitespace(self, pos: int) -> int:
        """The index of the first byte at or after ``pos`` that is not JSON whitespace."""
        while (found := _NOT_WHITESPACE.search(self._buf, pos)) is None:
            pos = len(self._buf)
            if not self._more():
                raise NotSplittable("the document ends inside the array")
        return found.start()

    def __iter__(self) -> Iterator[bytes]:
        return self.groups(0)

    def groups(self, size: int, *, brackets: bool = False) -> Iterator[bytes]:
        """Like iterating, but each text holds consecutive elements, as they are in the document
        (separated by a comma and JSON whitespace), and ends at the first element end found past
        ``size`` bytes from its start (``0``, or within ``size`` bytes of the document's end: one
        element each). Fewer, longer searches: the caller
        parses ``b"[" + text + b"]"``, which proves the cut as parsing each element alone does (a
        text that parses as a list of values, between separators checked here, is a run of whole
        elements: the array is the concatenation of those lists). ``brackets``: each text is
        yielded as that ``b"[" + text + b"]"``, made in one copy from the buffer read."""
        buf = self._buf
        searched = 0
        while (match := _KEY.search(buf, searched)) is None:
            searched = max(0, len(buf) - _KEY_OVERLAP)
            if not self._more():
                raise NotSplittable('no "resources" array')
        self.head = bytes(buf[:match.end() - 1])
        pos = self._skip_whitespace(match.end())
        if buf[pos] == ord("{"):
            newline = buf.rfind(b"\n", match.end(), pos)
            if newline == -1:
                pos = yield from self._compact_groups(pos, size, brackets)
            else:
                pos = yield from self._indented_groups(pos, b"\n" + bytes(buf[newline + 1:pos]) + b"}", size, brackets)
        if buf[pos] != ord("]"):
            raise NotSplittable("the array does not end after an element")
        while self._more():
            pass
        self.tail = bytes(buf[pos + 1:])
        buf.clear()

    def _cut(self, pos: int, end: int, brackets: bool) -> bytes:
        """The text of ``buf[pos:end]`` (in brackets: see :meth:`groups`), in one copy."""
        with memoryview(self._buf) as view, view[pos:end] as part:  # released before buf changes size
            return b"".join((b"[", part, b"]")) if brackets else part.tobytes()

    def _next_element(self, end: int) -> int | None:
        """After an element ending at ``end``: where the next one starts, or None when the array
        ends there; drops what was read before it (amortised: a block at a time)."""
        buf = self._buf
        after = self._skip_whitespace(end)
        if buf[after] != ord(","):
            return None
        pos = self._skip_whitespace(after + 1)
        if buf[pos] != ord("{"):
            raise NotSplittable("an element is not an object")
        if pos > 2 * BLOCK:
            del buf[:pos]
            pos = 0
        return pos

    def _indented_groups(self, pos: int, closing: bytes, size: int, brackets: bool) -> Generator[bytes, None, int]:
        """:meth:`groups` of an indented array, whose elements end at ``closing`` (a newline, the
        indentation of their ``{`` and ``}``); returns where the array's ``]`` is."""
        buf = self._buf
        while True:
            while len(buf) < pos + size and self._more():
                pass
            found = buf.find(closing, pos + size if len(buf) >= pos + size else pos)
            while found == -1:
                searched = max(pos, len(buf) - len(closing))
                if not self._more():
                    raise NotSplittable("an element does not end")
                found = buf.find(closing, searched)
            end = found + len(closing)
            yield self._cut(pos, end, brackets)
            following = self._next_element(end)
            if following is None:
                return self._skip_whitespace(end)
            pos = following

    def _compact_groups(self, pos: int, size: int, brackets: bool) -> Generator[bytes, None, int]:
        """:meth:`groups` of a compact array (Go's ``json.Encoder`` without indentation: the file
        backend's stack files since Pulumi 3.238): elements are cut at :data:`_COMPACT_CUT`, the
        ``}`` ending one, the comma and the start of the next, whose first key is ``"urn"``
        (pulumi/pulumi ``sdk/go/common/apitype/core.go``: ``URN`` is ``ResourceV3``'s first field,
        and ``encoding/json`` writes fields in order). Those bytes are JSON tokens, never string
        content: a ``"`` inside a string is escaped, and one closing a string is followed by ``:``,
        ``,``, ``}``, ``]`` or whitespace, never by ``urn``; so that ``"`` opens a key and the ``{``,
        ``,`` and ``}`` before it are outside strings. They may also join two nested objects (in a
        list, the second's first key ``"urn"``): the caller's parse refuses such a cut (the text
        then ends inside an element) and the document is read whole. The last run ends at the
        array's ``]``, found from the end of the document (:meth:`_array_end`); returns where it is."""
        buf = self._buf
        while True:
            while len(buf) < pos + size and self._more():
                pass
            found = buf.find(_COMPACT_CUT, pos + size if len(buf) >= pos + size else pos)
            while found == -1:
                searched = max(pos, len(buf) - len(_COMPACT_CUT))
                if not self._more():
                    end = self._array_end(pos)
                    yield self._cut(pos, end, brackets)
                    return end
                found = buf.find(_COMPACT_CUT, searched)
            yield self._cut(pos, found + 1, brackets)
            pos = found + 2
            if pos > 2 * BLOCK:
                del buf[:pos]
                pos = 0

    def _array_end(self, pos: int) -> int:
        """Where the ``]`` closing a compact array is, the document read to its end and the last
        elements starting at ``pos``: the ``]`` after a ``}`` with which ``buf[pos:]`` up to it
        parses as whole elements, tried from the end (only the tail, usually a few bytes, follows
        it)."""
        buf = self._buf
        stop = len(buf)
        for _ in range(_ARRAY_END_TRIES):
            found = buf.rfind(b"}]", pos, stop)
            if found == -1:
                break
            try:
                orjson.loads(self._cut(pos, found + 1, True))
            except orjson.JSONDecodeError:
                stop = found + 1
                continue
            return found + 1
        raise NotSplittable("the array does not end")
