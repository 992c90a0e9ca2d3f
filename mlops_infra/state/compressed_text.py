"""The decompressed text of a gzip or zstd file, read forward or as a seekable file, never held whole.

Contract:
- :func:`compression_of` tells a compressed stack file by its first bytes, as Pulumi's own reader
  does (pulumi/pulumi ``sdk/go/common/encoding/marshal.go`` ``DetectCompression``: gzip's
  ``1f 8b``, zstd's frame magic ``28 b5 2f fd``), not by the name ``.json.gz``/``.json.zst``.
  Its :class:`Compression` opens the format's stream (``Compression.stream(raw, check)``).
- :class:`GzipStream` decompresses the gzip members of a binary file one piece at a time
  (``read(n)``), as ``gzip -d`` reads a file: members one after another, zero bytes after the last
  member ignored (padding), anything else after a member, a member cut short or a failed CRC-32 or
  length check (zlib's ``wbits=31`` checks the gzip trailer) raises ``zlib.error``.
- :class:`ZstdStream` decompresses the zstd frames of a binary file the same way, with zstandard's
  ``ZstdDecompressor().stream_reader`` (``read_across_frames=True``: frames one after another,
  skippable frames skipped, as Pulumi's ``zstdMarshaller.Unmarshal`` reads them with
  klauspost/compress ``zstd.Decoder.DecodeAll``, ``zstd/decoder.go``, ``zstd/framedec.go`` ``reset``).
  libzstd checks each block and the frame's content checksum; the stream reader does not tell a
  file cut short from a whole one (it returns the text decoded so far and then ``b""``), so
  :class:`_ZstdFrames` follows the frame layout of the compressed bytes as the reader takes them
  (RFC 8878 section 3.1: frame header, block headers, checksum; skippable frames, 3.1.2) and the
  end of the file must be the end of a frame. Anything else after a frame, a frame cut short, a
  reserved block type or what libzstd refuses (corrupt blocks, a wrong checksum, a window over
  :data:`MAX_ZSTD_WINDOW`) raises :class:`ZstdDataError`. ``zstandard`` is imported only when a
  zstd file is read.
- Both call ``check(produced, consumed)`` after every piece (decompressed bytes so far, compressed
  bytes consumed so far), which may raise: the caller's size and ratio limits stop a compression
  bomb after a few MiB, whatever it would expand to. :data:`CORRUPT_DATA` is what they raise for
  damaged data.
- :class:`DecompressedText` is the decompressed text of a seekable compressed file as a read-only
  seekable file (``seek``, ``read``), for readers that look at the end of a text before they read it
  from the start (:func:`~mlops_infra.state.resource_texts.outline`). Neither deflate nor zstd can be
  entered in the middle, so :meth:`DecompressedText.scan` decompresses the whole file once (pass 1):
  it learns the size and keeps the first and the last :data:`~mlops_infra.state.resource_texts.BLOCK`
  bytes; reads inside those are served from them, and any other read decompresses from the start
  again (pass 2, continued as long as reads go forward). Both passes run every ``check``. Memory:
  those two blocks, one read's result and about 1 MiB of compressed input, not the text (and for
  zstd the frame's window, at most 8 MiB as Pulumi writes it, below).
- Layout, as Pulumi writes a compressed stack file: ``pkg/backend/diy/state.go`` ``saveCheckpoint``
  wraps the JSON marshaler with ``encoding.Compress`` and ``sdk/go/common/encoding/marshal.go`` writes
  the whole document at once, the JSON text inside unchanged. ``PULUMI_DIY_BACKEND_GZIP=true``
  (formerly ``PULUMI_SELF_MANAGED_STATE_GZIP``; ``sdk/go/common/env/env.go`` ``DIYBackendGzip``):
  ``gzipMarshaller.Marshal``, one ``gzip.NewWriter`` member, ``<stack>.json.gz``.
  ``PULUMI_DIY_BACKEND_ZSTD=true`` (``env.DIYBackendZstd``, ``pkg/backend/diy/backend.go``
  ``resolveCompression``; both set is an error there): ``zstdMarshaller.Marshal``, one frame from
  klauspost/compress ``Encoder.EncodeAll`` (``zstd/encoder.go``: the content size and a checksum in
  the header, an 8 MiB window, ``encoder_options.go`` ``setDefault``), ``<stack>.json.zst``. That text
  is indented up to Pulumi 3.237 and compact from 3.238 (pulumi/pulumi 50c8b16e, "diy: Minify json
  state files", ``state.go`` ``compactJSONMarshaler``); :mod:`~mlops_infra.state.resource_texts`
  cuts both.
- Cost: pass 1 is one more decompression of the whole text than reading it whole (measured in
  ``benchmarks/bench_gzip_state.py``).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from mlops_infra.state import resource_texts

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
"""A zstd frame's Magic_Number 0xFD2FB528, little-endian (RFC 8878 section 3.1.1)."""
COMPRESSED_PIECE = 1 << 20
"""Compressed bytes read from the file at a time."""
MAX_ZSTD_WINDOW = 1 << 27
"""The largest zstd window decoded (libzstd's own default limit, ``ZSTD_WINDOWLOG_LIMIT_DEFAULT`` 27):
the decoder holds a window's worth of text. Pulumi's frames use 8 MiB; ``zstd --long`` or
``--ultra -22`` use 128 MiB."""

Check = Callable[[int, int], None]


class ZstdDataError(ValueError):
    """Damaged zstd data: what libzstd refuses, or frames that do not end where the file ends."""


CORRUPT_DATA: tuple[type[Exception], ...] = (zlib.error, ZstdDataError)
"""What :class:`GzipStream` and :class:`ZstdStream` raise for damaged data."""


class TextStream(Protocol):
    """A forward-only stream of decompressed bytes (:class:`GzipStream`, :class:`ZstdStream`)."""

    produced: int

    def read(self, size: int) -> bytes: ...


@dataclass(frozen=True)
class Compression:
    """A compression format a stack file may be written in."""

    name: str
    """``gzip`` or ``zstd``: as in ``corrupt gzip data``."""
    magic: bytes
    """The first bytes of a file in this format."""
    compressed: str
    """The adjective, as in ``the gzipped file``."""
    stream: Callable[[BinaryIO, Check], TextStream]
    """The decompressed bytes of a binary file in this format from its current position."""


class GzipStream:
    """The decompressed bytes of the gzip members in ``raw`` from its current position, read forward
    (see the module contract). ``check(produced, consumed)`` runs after each piece."""

    def __init__(self, raw: BinaryIO, check: Check) -> None:
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


class ZstdStream:
    """The decompressed bytes of the zstd frames in ``raw`` from its current position, read forward
    (see the module contract). ``check(produced, consumed)`` runs after each piece."""

    def __init__(self, raw: BinaryIO, check: Check) -> None:
        import zstandard  # only for a zstd file (a core dependency: see pyproject.toml)

        self._frames = _ZstdFrames()
        self._source = _Taken(raw, self._frames)
        self._error: type[Exception] = zstandard.ZstdError
        self._reader = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_reader(
            self._source, read_size=COMPRESSED_PIECE, read_across_frames=True, closefd=False)
        self._check = check
        self._ended = False
        self.produced = 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` (> 0) decompressed bytes, fewer only at the end; ``b""`` there."""
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0 and not self._ended:
            try:
                piece = self._reader.read(wanted)
            except self._error as err:
                self._frames.raise_found()  # the layout's own error says more than libzstd's
                raise ZstdDataError(str(err).removeprefix("zstd decompress error: ")) from None
            self._frames.raise_found()
            if not piece:
                self._frames.finish()
                self._ended = True
                break
            self.produced += len(piece)
            self._check(self.produced, self._source.taken)
            pieces.append(piece)
            wanted -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class _Taken:
    """``raw``'s ``read``, each piece shown to the frame layout and counted (``taken``)."""

    def __init__(self, raw: BinaryIO, frames: _ZstdFrames) -> None:
        self._raw = raw
        self._frames = frames
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.taken += len(data)
        self._frames.feed(data)
        return data


_FCS_BYTES = (0, 2, 4, 8)  # Frame_Content_Size_Flag -> bytes (flag 0: 1 byte in a single segment)
_DID_BYTES = (0, 1, 2, 4)  # Dictionary_ID_Flag -> bytes
_SKIPPABLE = b"\x2a\x4d\x18"  # skippable frames: magic 0x184D2A5?, little-endian (RFC 8878 3.1.2)
_FIELD_BYTES = {"magic": 4, "descriptor": 1, "block": 3, "checksum": 4, "skippable size": 4}


class _ZstdFrames:
    """The frame layout of zstd data fed to it in pieces (RFC 8878 section 3.1), followed only far
    enough to know where each frame ends: the header's size from its descriptor, then each block's
    3-byte header (last-block bit, type, size: a raw or compressed block holds ``size`` bytes, an RLE
    block one) and the 4-byte checksum when the descriptor says so. It never decompresses. What it
    finds wrong is kept (``found``) and raised by :meth:`raise_found`, not where it is found: it is
    fed inside libzstd's read of the source."""

    def __init__(self) -> None:
        self._part = "magic"  # what the next ``_need`` bytes are
        self._need = 4
        self._held = b""
        self._skip = 0  # bytes of the current block (or skippable frame) still to pass, then ``_after_skip``
        self._after_skip = "magic"
        self._checksum = False
        self.frames = 0
        self.found: str | None = None

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end and self.found is None:
            if self._skip:
                passed = min(self._skip, end - pos)
                self._skip -= passed
                pos += passed
                if not self._skip:
                    self._go(self._after_skip)
                continue
            taken = data[pos:pos + self._need - len(self._held)]
            self._held += taken
            pos += len(taken)
            if len(self._held) == self._need:
                field, self._held = self._held, b""
                self._read(field)

    def _go(self, part: str) -> None:
        if part == "end":
            self.frames += 1
            part = "magic"
        self._part, self._need = part, _FIELD_BYTES[part]

    def _pass(self, size: int, then: str) -> None:
        if size:
            self._skip, self._after_skip = size, then
        else:
            self._go(then)

    def _read(self, field: bytes) -> None:
        if self._part == "magic":
            self._read_magic(field)
        elif self._part == "descriptor":
            self._read_descriptor(field[0])
        elif self._part == "header":
            self._go("block")
        elif self._part == "block":
            self._read_block(int.from_bytes(field, "little"))
        elif self._part == "checksum":
            self._go("end")
        else:  # the size of a skippable frame
            self._pass(int.from_bytes(field, "little"), "magic")

    def _read_magic(self, magic: bytes) -> None:
        if magic == ZSTD_MAGIC:
            self._go("descriptor")
        elif magic[1:] == _SKIPPABLE and magic[0] & 0xF0 == 0x50:
            self._go("skippable size")
        else:
            self.found = "unexpected bytes after the compressed data" if self.frames else "not zstd data"

    def _read_descriptor(self, descriptor: int) -> None:
        if descriptor & 0x08:
            self.found = "a frame header has its reserved bit set"
            return
        single = bool(descriptor & 0x20)
        self._checksum = bool(descriptor & 0x04)
        fcs = _FCS_BYTES[descriptor >> 6] or (1 if single else 0)
        rest = (0 if single else 1) + _DID_BYTES[descriptor & 0x03] + fcs
        if rest:
            self._part, self._need = "header", rest
        else:
            self._go("block")

    def _read_block(self, header: int) -> None:
        kind, size = (header >> 1) & 0x03, header >> 3
        if kind == 3:
            self.found = "a block of the reserved type"
            return
        then = ("checksum" if self._checksum else "end") if header & 0x01 else "block"
        self._pass(1 if kind == 1 else size, then)  # an RLE block holds one byte

    def raise_found(self) -> None:
        if self.found is not None:
            raise ZstdDataError(self.found)

    def finish(self) -> None:
        """Raise unless the data fed so far ends at the end of a frame."""
        self.raise_found()
        if not self.frames or self._part != "magic" or self._held or self._skip:
            raise ZstdDataError("the compressed data ends early")


GZIP = Compression("gzip", GZIP_MAGIC, "gzipped", GzipStream)
ZSTD = Compression("zstd", ZSTD_MAGIC, "zstd-compressed", ZstdStream)
COMPRESSIONS = (GZIP, ZSTD)


def compression_of(head: bytes) -> Compression | None:
    """The format of data starting with ``head`` (its first 4 bytes or more); None when it is none."""
    return next((c for c in COMPRESSIONS if head.startswith(c.magic)), None)


class DecompressedText:
    """The decompressed text of the seekable file ``raw``, compressed as ``compression`` says, as a
    read-only seekable file (see the module contract). ``check`` is the stream's, run in both passes."""

    def __init__(self, raw: BinaryIO, check: Check, compression: Compression = GZIP) -> None:
        self._raw = raw
        self._check = check
        self._compression = compression
        self.size: int | None = None
        """The length of the text, once :meth:`scan` has run."""
        self._first = b""
        self._last = b""
        self._last_start = 0
        self._pos = 0
        self._stream: TextStream | None = None
        self._stream_pos = 0

    def _open(self) -> TextStream:
        self._raw.seek(0)
        return self._compression.stream(self._raw, self._check)

    def scan(self) -> int:
        """Pass 1: decompress the whole file, keeping its first and last blocks; the text's length.
        Raises what the stream raises (:data:`CORRUPT_DATA`, and what ``check`` raises)."""
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
