"""The decompressed text of a gzip file, read forward or as a seekable file, never held whole.

Contract:
- :class:`GzipStream` decompresses the gzip members of a binary file one piece at a time
  (``read(n)``), as ``gzip -d`` reads a file: members one after another, zero bytes after the last
  member ignored (padding), anything else after a member, a member cut short or a failed CRC-32 or
  length check (zlib's ``wbits=31`` checks the gzip trailer) raises ``zlib.error``. After every
  piece it calls ``check(produced, consumed)`` (decompressed bytes so far, compressed bytes
  consumed so far), which may raise: the caller's size and ratio limits stop a gzip bomb after a
  few MiB, whatever it would expand to.
- :class:`GunzippedText` is the decompressed text of a seekable gzip file as a read-only seekable
  file (``seek``, ``read``), for readers that look at the end of a text before they read it from
  the start (:func:`~mlops_infra.state.resource_texts.outline`). Deflate cannot be entered in the
  middle, so :meth:`GunzippedText.scan` decompresses the whole file once (pass 1): it learns the size
  and keeps the first and the last :data:`~mlops_infra.state.resource_texts.BLOCK` bytes; reads
  inside those are served from them, and any other read decompresses from the start again (pass 2,
  continued as long as reads go forward). Both passes run every ``check``. Memory: those two
  blocks, one read's result and about 1 MiB of compressed input, not the text.
- Layout, as Pulumi writes a gzipped stack file (``PULUMI_DIY_BACKEND_GZIP=true``, formerly
  ``PULUMI_SELF_MANAGED_STATE_GZIP``; pulumi/pulumi ``sdk/go/common/env/env.go`` ``DIYBackendGzip``):
  ``pkg/backend/diy/state.go`` ``saveCheckpoint`` wraps the JSON marshaler with
  ``encoding.Compress`` and ``sdk/go/common/encoding/marshal.go`` ``gzipMarshaller.Marshal`` writes
  the whole document through one ``gzip.NewWriter``: one member, the JSON text inside unchanged.
  Readers detect it by the magic bytes (``DetectCompression``), not the name ``.json.gz``. That text
  is indented up to Pulumi 3.237 and compact from 3.238 (pulumi/pulumi 50c8b16e, "diy: Minify json
  state files", ``state.go`` ``compactJSONMarshaler``); :mod:`~mlops_infra.state.resource_texts`
  cuts both.
- Cost: pass 1 is one more zlib decompression of the whole text than reading it whole (measured in
  ``benchmarks/bench_gzip_state.py``).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import BinaryIO

from mlops_infra.state import resource_texts

GZIP_MAGIC = b"\x1f\x8b"
COMPRESSED_PIECE = 1 << 20
"""Compressed bytes read from the file at a time."""


class GzipStream:
    """The decompressed bytes of the gzip members in ``raw`` from its current position, read forward
    (see the module contract). ``check(produced, consumed)`` runs after each piece."""

    def __init__(self, raw: BinaryIO, check: Callable[[int, int], None]) -> None:
        self._raw = raw
        self._check = check
        self._inflate: zlib._Decompress | None = None  # None between members
        self._members = 0
        self._input = b""  # compressed bytes read, not yet consumed
        self._taken = 0  # compressed bytes read from raw
        self._ended = False
        self.produced = 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` (> 0) decompressed bytes, fewer only at the end; ``b""`` there."""
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0 and not self._ended:
            if self._inflate is None and not self._start_member():
                self._ended = True
                break
            assert self._inflate is not None
            if not self._input and not self._take():
                raise zlib.error("the compressed data ends early")
            piece = self._inflate.decompress(self._input, wanted)
            if self._inflate.eof:
                self._input, self._inflate = self._inflate.unused_data, None
            else:
                self._input = self._inflate.unconsumed_tail
            if piece:
                self.produced += len(piece)
                self._check(self.produced, self._taken - len(self._input))
                pieces.append(piece)
                wanted -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _take(self) -> bool:
        """Read more compressed bytes; False at the end of the file."""
        more = self._raw.read(COMPRESSED_PIECE)
        self._taken += len(more)
        self._input += more
        return bool(more)

    def _start_member(self) -> bool:
        """Begin the next member; False when only zero padding (or nothing) follows the last one."""
        while len(self._input) < len(GZIP_MAGIC) and self._take():
            pass
        if self._members and self._input[:2] != GZIP_MAGIC:
            while True:  # zero padding is ignored, as gzip does; anything else is not
                if self._input.strip(b"\x00"):
                    raise zlib.error("unexpected bytes after the compressed data")
                self._input = b""
                if not self._take():
                    return False
        if not self._input:
            return False
        self._inflate = zlib.decompressobj(wbits=31)
        self._members += 1
        return True


class GunzippedText:
    """The decompressed text of the seekable gzip file ``raw`` as a read-only seekable file (see
    the module contract). ``check`` is :class:`GzipStream`'s, run in both passes."""

    def __init__(self, raw: BinaryIO, check: Callable[[int, int], None]) -> None:
        self._raw = raw
        self._check = check
        self.size: int | None = None
        """The length of the text, once :meth:`scan` has run."""
        self._first = b""
        self._last = b""
        self._last_start = 0
        self._pos = 0
        self._stream: GzipStream | None = None
        self._stream_pos = 0

    def _open(self) -> GzipStream:
        self._raw.seek(0)
        return GzipStream(self._raw, self._check)

    def scan(self) -> int:
        """Pass 1: decompress the whole file, keeping its first and last blocks; the text's length.
        Raises what :class:`GzipStream` raises."""
        block = resource_texts.BLOCK
        stream = self._open()
        first = stream.read(block)
        window = bytearray(first)
        size = len(first)
        while piece := stream.read(block):
            size += len(piece)
            window += piece
            if len(window) > 2 * block:
                del window[:-block]
        self._first, self._last = first, bytes(window[-block:])
        self._last_start, self.size = size - len(self._last), size
        return size

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (from the start, the current position or the end: the end runs
        :meth:`scan` if it has not run)."""
        if whence == io.SEEK_END:
            base = self.size if self.size is not None else self.scan()
        else:
            base = self._pos if whence == io.SEEK_CUR else 0
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes from the current position (to the end when ``size`` is negative)."""
        total = self.size if self.size is not None else self.scan()
        start = min(self._pos, total)
        end = total if size is None or size < 0 else min(total, start + size)
        if end <= len(self._first):
            data = self._first[start:end]
        elif start >= self._last_start:
            data = self._last[start - self._last_start:end - self._last_start]
        else:
            data = self._read_stream(start, end - start)
        self._pos = start + len(data)
        return data

    def _read_stream(self, start: int, size: int) -> bytes:
        """Pass 2: ``size`` bytes at ``start``, from the current stream when it is not past it."""
        if self._stream is None or self._stream_pos > start:
            self._stream, self._stream_pos = self._open(), 0
        while self._stream_pos < start:
            skipped = self._stream.read(min(resource_texts.BLOCK, start - self._stream_pos))
            if not skipped:
                return b""  # shorter than pass 1 found: the file changed; the reader sees an early end
            self._stream_pos += len(skipped)
        data = self._stream.read(size)
        self._stream_pos += len(data)
        return data
