"""A gzipped state is read a few resources at a time, never decompressed whole (issue 14 memory).

The file backend gzips the stack file with ``PULUMI_DIY_BACKEND_GZIP=true`` (pulumi/pulumi
``pkg/backend/diy/state.go`` ``saveCheckpoint``, ``sdk/go/common/encoding/marshal.go``
``gzipMarshaller``: one gzip member around the same JSON). Until 2026-12-06 ``parse_state``
decompressed it whole before streaming the text: 2,547 MB peak at 10,000 endpoints, where the
plain file took 1,346 MB. Here the whole-gzip path (``pulumi_state._gunzip``) is made to fail, so
every test that reads a gzipped indented state proves it was streamed; the limits (size, bomb
ratio) still hold while streaming.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.state import pulumi_state, resource_texts
from mlops_infra.state.pulumi_state import MAX_GZIP_RATIO, StateError, load_state, parse_state

REPO = Path(__file__).resolve().parents[2]


def benchmark_checkpoint() -> dict:
    """The applied checkpoint of the 4-endpoint benchmark system (74 resources), in the engine's order."""
    sys.path[:0] = [str(REPO / "benchmarks")]
    try:
        from bench_plan import applied_checkpoint, engine_order
        from bench_validate import load_generated
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    with tempfile.TemporaryDirectory() as tmp:
        system = load_generated(4, "prod", Path(tmp))
    return engine_order(applied_checkpoint(compile_system(system, "prod")))


@pytest.fixture(scope="module")
def state_text() -> bytes:
    """The applied state of the 4-endpoint benchmark system, as the file backend writes it (indent 4,
    ``bench_cli.py --write-inputs``' layout): about 400 KB, 74 resources."""
    return (json.dumps(benchmark_checkpoint(), indent=4) + "\n").encode()


@pytest.fixture
def no_whole_gunzip(monkeypatch: pytest.MonkeyPatch) -> None:
    def whole(data: bytes, source: str) -> bytes:
        raise AssertionError("the gzipped state was decompressed whole")

    monkeypatch.setattr(pulumi_state, "_gunzip", whole)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Blocks of 16 KiB (4 MiB in use): the 400 KB state spans many, so the first and last blocks
    kept by pass 1 and the stream of pass 2 all serve reads."""
    size = 16 << 10
    monkeypatch.setattr(resource_texts, "BLOCK", size)
    return size


def same_state(zipped: pulumi_state.PriorState, plain: pulumi_state.PriorState) -> bool:
    return dataclasses.replace(zipped, source=plain.source) == plain


@pytest.mark.usefixtures("no_whole_gunzip")
@pytest.mark.parametrize("blocks", ["4 MiB", "16 KiB"])
def test_a_gzipped_state_is_streamed_and_reads_as_the_plain_file(state_text: bytes, tmp_path: Path, blocks: str,
                                                                  request: pytest.FixtureRequest) -> None:
    if blocks == "16 KiB":
        request.getfixturevalue("small_blocks")
    plain_path = tmp_path / "dev.json"
    plain_path.write_bytes(state_text)
    zipped_path = tmp_path / "dev.json.gz"
    zipped_path.write_bytes(gzip.compress(state_text, 6))

    plain = load_state(plain_path)
    assert len(plain.resources) > 50
    from_file = load_state(zipped_path)
    assert from_file.source == str(zipped_path)
    assert same_state(from_file, plain)  # every resource, the serial, the stack
    assert same_state(parse_state(zipped_path.read_bytes(), "s3://b/dev.json.gz"), plain)  # S3 and Pulumi Cloud


@pytest.mark.usefixtures("no_whole_gunzip", "small_blocks")
def test_members_and_zero_padding_are_read_as_gzip_reads_them(state_text: bytes) -> None:
    """``gzip -d`` reads concatenated members as one text and ignores zero bytes after the last."""
    cut = len(state_text) // 3 + 7  # inside a resource
    zipped = gzip.compress(state_text[:cut]) + gzip.compress(state_text[cut:]) + b"\x00" * 1000
    assert same_state(parse_state(zipped, "dev.json.gz"), parse_state(state_text, "dev.json"))


@pytest.mark.usefixtures("no_whole_gunzip", "small_blocks")
@pytest.mark.parametrize("damage", ["garbage after the member", "a wrong CRC-32", "cut off"])
def test_damaged_gzip_is_refused_while_streaming(state_text: bytes, tmp_path: Path, damage: str) -> None:
    zipped = gzip.compress(state_text)
    if damage == "garbage after the member":
        zipped += b"\x00\x00garbage"
    elif damage == "a wrong CRC-32":  # the trailer: CRC-32, then the length (RFC 1952, 2.3)
        zipped = zipped[:-8] + bytes([zipped[-8] ^ 1]) + zipped[-7:]
    else:
        zipped = zipped[:len(zipped) * 2 // 3]
    path = tmp_path / "dev.json.gz"
    path.write_bytes(zipped)

    for read in (lambda: load_state(path), lambda: parse_state(zipped, str(path))):
        with pytest.raises(StateError) as info:
            read()
        assert info.value.summary == "corrupt gzip data"
        assert ".pulumi/backups" in info.value.detail


def bomb(expanded: int) -> bytes:
    """A gzip stream of ``expanded`` bytes that starts like an indented state (so it is streamed)
    and expands about 1,000:1."""
    stream = zlib.compressobj(9, wbits=31)
    head = b'{\n    "version": 3,\n    "deployment": {\n        "resources": [\n'
    parts = [stream.compress(head)]
    spaces = b" " * (1 << 20)
    parts += [stream.compress(spaces) for _ in range((expanded - len(head)) >> 20)]
    return b"".join(parts) + stream.flush()


@pytest.mark.usefixtures("no_whole_gunzip")
def test_a_gzip_bomb_is_refused_while_streaming_after_a_few_mib(tmp_path: Path) -> None:
    """Refused by the ratio check (over 200:1 past 64 MiB) in pass 1, holding a few blocks: the
    whole read held the 64 MiB and more it had decompressed (16 MiB at a time) when it refused."""
    data = bomb(160 << 20)
    path = tmp_path / "dev.json.gz"
    path.write_bytes(data)
    for read in (lambda: load_state(path), lambda: parse_state(data, str(path))):
        tracemalloc.start()
        try:
            with pytest.raises(StateError) as info:
                read()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.summary == "the gzipped file is a compression bomb"
        assert f"over {MAX_GZIP_RATIO}:1" in info.value.detail
        assert peak < 32 << 20, f"{peak >> 20} MiB held"


@pytest.mark.usefixtures("no_whole_gunzip", "small_blocks")
def test_the_size_limit_holds_while_streaming_before_any_resource_is_read(state_text: bytes, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Pass 1 counts the whole text before pass 2 parses a resource: a state over the limit is
    refused as too large, having read none."""
    path = tmp_path / "dev.json.gz"
    path.write_bytes(gzip.compress(state_text))
    monkeypatch.setattr(pulumi_state, "MAX_STATE_BYTES", len(state_text) - 1)

    def no_resources(*args: object, **kwargs: object) -> object:
        raise AssertionError("a resource was read")

    monkeypatch.setattr(pulumi_state, "_index_resources", no_resources)
    with pytest.raises(StateError) as info:
        load_state(path)
    assert info.value.summary == "the gzipped file is too large"


def test_a_state_at_the_limit_is_streamed(state_text: bytes, monkeypatch: pytest.MonkeyPatch,
                                          no_whole_gunzip: None) -> None:
    monkeypatch.setattr(pulumi_state, "MAX_STATE_BYTES", len(state_text))
    assert same_state(parse_state(gzip.compress(state_text), "dev.json.gz"), parse_state(state_text, "dev.json"))


@pytest.mark.usefixtures("no_whole_gunzip", "small_blocks")
def test_compact_gzipped_json_is_streamed_too(state_text: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file backend of Pulumi >= 3.238 writes the stack file compact, gzipped or not
    (pulumi/pulumi ``pkg/backend/diy/state.go`` ``compactJSONMarshaler``)."""
    compact = json.dumps(json.loads(state_text), separators=(",", ":"), ensure_ascii=False).encode()
    monkeypatch.setattr(pulumi_state, "GROUP_BYTES", 1)  # a resource a run: every cut is made
    assert same_state(parse_state(gzip.compress(compact), "dev.json.gz"), parse_state(state_text, "dev.json"))
