"""The decompressed text of a gzip file as a stream and as a seekable file (``state/compressed_text.py``)."""

from __future__ import annotations

import gzip
import io
import itertools
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.state import resource_texts
from mlops_infra.state.compressed_text import DecompressedText, GzipStream


@settings(max_examples=60, deadline=None)
@given(text=st.binary(min_size=0, max_size=3000), members=st.integers(1, 3),
       reads=st.lists(st.tuples(st.integers(0, 3100), st.integers(-1, 900)), max_size=12),
       block=st.sampled_from([64, 100, 1000]))
def test_gunzipped_text_reads_as_the_text(text: bytes, members: int, reads: list[tuple[int, int]], block: int) -> None:
    """Any seek and read of :class:`DecompressedText` gives the text's bytes there, with any block size
    (so reads come from the first block, the last one and the stream), over several members."""
    cuts = [len(text) * i // members for i in range(members + 1)]
    zipped = b"".join(gzip.compress(text[a:b]) for a, b in itertools.pairwise(cuts))
    checked: list[tuple[int, int]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resource_texts, "BLOCK", block)
        view = DecompressedText(io.BytesIO(zipped), lambda produced, consumed: checked.append((produced, consumed)))
        assert view.seek(0, io.SEEK_END) == len(text)
        for position, size in reads:
            view.seek(position)
            data = view.read(size)
            assert data == (text[position:] if size < 0 else text[position:position + size])
            assert view.tell() == min(position, len(text)) + len(data)
    assert all(0 < consumed <= len(zipped) for _, consumed in checked)


def test_the_stream_reports_growth_after_each_piece() -> None:
    """``check`` sees the bytes produced so far and the compressed bytes consumed for them: what the
    bomb ratio is computed from."""
    data = b"x" * (5 << 20)
    zipped = gzip.compress(data)
    seen: list[tuple[int, int]] = []
    stream = GzipStream(io.BytesIO(zipped), lambda produced, consumed: seen.append((produced, consumed)))
    pieces = [len(piece) for piece in iter(lambda: stream.read(1 << 20), b"")]
    assert pieces == [1 << 20] * 5
    assert [produced for produced, _ in seen][-1] == len(data)
    assert all(later >= earlier for (_, earlier), (_, later) in itertools.pairwise(seen))
    assert seen[-1][1] <= len(zipped)


@pytest.mark.parametrize(("after", "error"), [
    (b"", None),
    (b"\x00" * 3, None),  # zero padding, as gzip -d ignores it
    (b"\x00" * 3 + b"x", "unexpected bytes after the compressed data"),
    (b"\x00" * 3 + gzip.compress(b"more", mtime=0), "unexpected bytes after the compressed data"),  # a member after padding
    (b"\x1f", "unexpected bytes after the compressed data"),  # half a magic number
    (b"\x1f\x8b\x08", "ends early"),  # a member that stops in its header
])
def test_what_follows_the_last_member(after: bytes, error: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlops_infra.state.compressed_text.COMPRESSED_PIECE", 2)  # the bytes arrive two at a time
    stream = GzipStream(io.BytesIO(gzip.compress(b"text") + after), lambda produced, consumed: None)
    if error is None:
        assert stream.read(100) == b"text"
        assert stream.read(100) == b""
    else:
        with pytest.raises(zlib.error, match=error):
            stream.read(100)
