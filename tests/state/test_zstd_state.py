"""A zstd-compressed stack file (``PULUMI_DIY_BACKEND_ZSTD=true``) is found and read like a gzipped one.

Pulumi writes ``<stack>.json.zst`` with one klauspost/compress ``Encoder.EncodeAll`` frame
(pulumi/pulumi ``sdk/go/common/encoding/marshal.go`` ``zstdMarshaller``; klauspost ``zstd/encoder.go``:
the content size and a checksum in the header, an 8 MiB window) and reads whichever of ``.json``,
``.json.gz`` and ``.json.zst`` was modified last, the last by name on a tie (``pkg/backend/diy/state.go``
``stackPath``), detecting the format by its magic bytes (``encoding.DetectCompression``). Until
2026-12-06 mlops-infra did not look for ``.json.zst`` (a zstd stack was "no state") and refused a
zstd file given with ``--state`` as binary data. Here the whole-file path (``pulumi_state._unzstd``)
is made to fail where a test says the state is streamed. Compressed bytes never appear in test ids
(xdist workers must collect the same ids).
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.state import pulumi_state, resource_texts
from mlops_infra.state.compressed_text import (
    ZSTD,
    DecompressedText,
    ZstdDataError,
    ZstdStream,
    compression_of,
)
from mlops_infra.state.pulumi_state import (
    MAX_GZIP_RATIO,
    MAX_ZSTD_RATIO,
    StateError,
    find_state_file,
    load_state,
    parse_state,
)
from tests.scenarios.harness import compile_file
from tests.state.test_gzip_streaming import benchmark_checkpoint
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
BASE = REPO / "tests" / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"  # fraud-detection
STRATIFY_EXPORT = "stratify_sample-export.json"


def pulumi_zstd(text: bytes) -> bytes:
    """``text`` as Pulumi's ``zstdMarshaller`` writes it: one frame with the content size and a
    checksum, zstd's default level (klauspost ``SpeedDefault``), an 8 MiB window."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=23, write_checksum=1,
                                                            write_content_size=1)
    return zstandard.ZstdCompressor(compression_params=params).compress(text)


def read_all(data: bytes) -> bytes:
    stream = ZstdStream(io.BytesIO(data), lambda produced, consumed: None)
    return b"".join(iter(lambda: stream.read(1 << 16), b""))


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Pulumi login, backend URL or token (``PULUMI_HOME`` an empty directory: Pulumi reads the login
    from the passwd home, not ``$HOME``, closing-42a-1); HOME and cwd (``repo``) in ``tmp_path``; no colour."""
    for name in ("PULUMI_CREDENTIALS_PATH", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN",
                 "AWS_ENDPOINT_URL", "MLOPS_INFRA_DEBUG", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "pulumi-home").mkdir()
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


def same_state(compressed: pulumi_state.PriorState, plain: pulumi_state.PriorState) -> bool:
    return dataclasses.replace(compressed, source=plain.source) == plain


@pytest.fixture(scope="module")
def state_text() -> bytes:
    """The applied state of the 4-endpoint benchmark system as the file backend writes it (indent 4)."""
    return (json.dumps(benchmark_checkpoint(), indent=4) + "\n").encode()


@pytest.fixture
def no_whole_unzstd(monkeypatch: pytest.MonkeyPatch) -> None:
    def whole(data: bytes, source: str) -> bytes:
        raise AssertionError("the zstd state was decompressed whole")

    monkeypatch.setattr(pulumi_state, "_unzstd", whole)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 16 KiB: the 400 KB state spans many, so pass 1's blocks and pass 2's stream all serve reads."""
    monkeypatch.setattr(resource_texts, "BLOCK", 16 << 10)


# -- reading ------------------------------------------------------------------------------------------


def test_the_magic_bytes_say_zstd_as_pulumi_detects_it() -> None:
    assert pulumi_zstd(b"{}")[:4] == b"\x28\xb5\x2f\xfd"
    assert compression_of(pulumi_zstd(b"{}")) is ZSTD
    assert compression_of(b"\x28\xb5\x2f") is None  # isZstdCompressed wants all four bytes


@pytest.mark.usefixtures("no_whole_unzstd")
@pytest.mark.parametrize("layout", ["indented", "compact"])
@pytest.mark.parametrize("blocks", ["4 MiB", "16 KiB"])
def test_a_zstd_state_is_streamed_and_reads_as_the_plain_file(state_text: bytes, tmp_path: Path, layout: str,
                                                              blocks: str, request: pytest.FixtureRequest) -> None:
    if blocks == "16 KiB":
        request.getfixturevalue("small_blocks")
    text = state_text if layout == "indented" else json.dumps(
        json.loads(state_text), separators=(",", ":"), ensure_ascii=False).encode()
    plain_path = tmp_path / "dev.json"
    plain_path.write_bytes(state_text)
    zst_path = tmp_path / "dev.json.zst"
    zst_path.write_bytes(pulumi_zstd(text))

    plain = load_state(plain_path)
    assert len(plain.resources) > 50
    from_file = load_state(zst_path)
    assert from_file.source == str(zst_path)
    assert same_state(from_file, plain)  # every resource, the serial, the stack
    assert same_state(parse_state(zst_path.read_bytes(), "s3://b/dev.json.zst"), plain)  # S3, Pulumi Cloud


def test_a_real_pulumi_export_reads_the_same_zstd_compressed(shared_dir: Path, tmp_path: Path) -> None:
    """A state Pulumi wrote (a recorded ``pulumi stack export``), under a name that does not say zstd:
    the magic bytes decide, as ``DetectCompression`` does."""
    plain = shared_dir / "fixtures" / "pulumi" / STRATIFY_EXPORT
    misnamed = tmp_path / "dev.json"
    misnamed.write_bytes(pulumi_zstd(plain.read_bytes()))
    assert same_state(load_state(misnamed), load_state(plain))
    assert load_state(misnamed).resources and load_state(misnamed).source == str(misnamed)


def test_a_layout_read_whole_is_decompressed_whole_with_the_same_result(shared_dir: Path) -> None:
    """A state JSON-encoded once more as a string is not cut into resources: ``_unzstd`` reads it."""
    plain = (shared_dir / "fixtures" / "pulumi" / STRATIFY_EXPORT).read_bytes()
    wrapped = json.dumps(plain.decode()).encode()
    assert same_state(parse_state(pulumi_zstd(wrapped), "dev.json.zst"), parse_state(plain, "dev.json"))


@pytest.mark.usefixtures("no_whole_unzstd", "small_blocks")
def test_frames_and_skippable_frames_are_read_as_pulumi_reads_them(state_text: bytes) -> None:
    """klauspost ``DecodeAll`` reads frames one after another and skips skippable frames (``framedec.go``
    ``reset``); so does libzstd. Frames here come without checksum or content size too."""
    cut = len(state_text) // 3 + 7  # inside a resource
    skippable = b"\x5a\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"hello"
    bare = zstandard.ZstdCompressor(level=1, write_checksum=False, write_content_size=False)
    data = pulumi_zstd(state_text[:cut]) + skippable + bare.compress(state_text[cut:])
    assert same_state(parse_state(data, "dev.json.zst"), parse_state(state_text, "dev.json"))


# -- damage -------------------------------------------------------------------------------------------


DAMAGE = ["cut in the frame header", "cut in a block", "cut before the checksum", "cut in the checksum",
          "a flipped byte", "garbage after the frame", "zero bytes after the frame", "half a frame after it"]


def damaged(data: bytes, damage: str) -> bytes:
    if damage == "cut in the frame header":
        return data[:5]
    if damage == "cut in a block":
        return data[:len(data) // 2]
    if damage == "cut before the checksum":
        return data[:-4]
    if damage == "cut in the checksum":
        return data[:-1]
    if damage == "a flipped byte":  # the content checksum (XXH64, RFC 8878 3.1.1) or the block's own checks
        return data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x55]) + data[len(data) // 2 + 1:]
    if damage == "garbage after the frame":
        return data + b"garbage!"
    if damage == "zero bytes after the frame":
        return data + b"\x00" * 16
    return data + pulumi_zstd(b'{"more": 1}')[:9]


@pytest.mark.usefixtures("no_whole_unzstd", "small_blocks")
@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_zstd_is_a_clear_error(state_text: bytes, tmp_path: Path, damage: str) -> None:
    """zstandard's stream reader returns what it decoded of a frame cut short and then ``b""``, as if
    the file ended there: the frame layout followed beside it makes every cut an error."""
    data = damaged(pulumi_zstd(state_text), damage)
    path = tmp_path / "dev.json.zst"
    path.write_bytes(data)
    for read in (lambda: load_state(path), lambda: parse_state(data, str(path))):
        with pytest.raises(StateError) as info:
            read()
        assert info.value.summary == "corrupt zstd data"
        assert info.value.source == str(path)
        assert "cut off or damaged" in info.value.detail and ".pulumi/backups" in info.value.detail


@pytest.mark.parametrize("damage", ["cut in a block", "cut in the checksum"])
@pytest.mark.usefixtures("clean_env")
def test_a_truncated_stack_file_stops_plan_with_the_file_and_the_fix(tmp_path: Path, damage: str) -> None:
    state = tmp_path / "staging.json.zst"
    state.write_bytes(damaged(pulumi_zstd(dumps(applied_state(compile_file(BASE, "staging"))).encode()), damage))
    result = run_cli("plan", str(BASE), "--env", "staging", "--state", str(state))
    assert result.code == 1
    assert "corrupt zstd data" in result.stderr and str(state) in result.stderr
    assert "the compressed data ends early" in result.stderr and "pulumi stack export" in result.stderr
    assert "Traceback" not in result.stderr


@settings(max_examples=40, deadline=None)
@given(text=st.binary(min_size=1, max_size=4000), level=st.sampled_from([1, 3, 19]),
       checksum=st.booleans(), size=st.booleans(), data=st.data())
def test_every_cut_of_a_frame_is_refused(text: bytes, level: int, checksum: bool, size: bool,
                                         data: st.DataObject) -> None:
    frame = zstandard.ZstdCompressor(level=level, write_checksum=checksum, write_content_size=size).compress(text)
    assert read_all(frame) == text
    cut = data.draw(st.integers(1, len(frame) - 1), label="cut")
    with pytest.raises(ZstdDataError):
        read_all(frame[:cut])


@settings(max_examples=40, deadline=None)
@given(text=st.binary(min_size=0, max_size=3000), frames=st.integers(1, 3),
       reads=st.lists(st.tuples(st.integers(0, 3100), st.integers(-1, 900)), max_size=12),
       block=st.sampled_from([64, 100, 1000]))
def test_zstd_text_reads_as_the_text(text: bytes, frames: int, reads: list[tuple[int, int]], block: int) -> None:
    """Any seek and read of :class:`DecompressedText` over zstd frames gives the text's bytes there."""
    cuts = [len(text) * i // frames for i in range(frames + 1)]
    compressed = b"".join(pulumi_zstd(text[a:b]) for a, b in itertools.pairwise(cuts))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resource_texts, "BLOCK", block)
        view = DecompressedText(io.BytesIO(compressed), lambda produced, consumed: None, ZSTD)
        assert view.seek(0, io.SEEK_END) == len(text)
        for position, size in reads:
            view.seek(position)
            assert view.read(size) == (text[position:] if size < 0 else text[position:position + size])


# -- limits -------------------------------------------------------------------------------------------


def zstd_bomb(expanded: int) -> bytes:
    """A zstd frame of ``expanded`` bytes that starts like an indented state and expands ~30,000:1."""
    head = b'{\n    "version": 3,\n    "deployment": {\n        "resources": [\n'
    compressor = zstandard.ZstdCompressor(level=3)
    out = io.BytesIO()
    with compressor.stream_writer(out, closefd=False) as writer:
        writer.write(head)
        spaces = b" " * (1 << 20)
        for _ in range((expanded - len(head)) >> 20):
            writer.write(spaces)
    return out.getvalue()


@pytest.mark.usefixtures("no_whole_unzstd")
def test_a_zstd_bomb_is_refused_while_streaming_after_a_few_mib(tmp_path: Path) -> None:
    data = zstd_bomb(256 << 20)
    path = tmp_path / "dev.json.zst"
    path.write_bytes(data)
    for read in (lambda: load_state(path), lambda: parse_state(data, str(path))):
        tracemalloc.start()
        try:
            with pytest.raises(StateError) as info:
                read()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.summary == "the zstd-compressed file is a compression bomb"
        assert f"over {MAX_ZSTD_RATIO}:1" in info.value.detail
        assert peak < 32 << 20, f"{peak >> 20} MiB held"


def test_zstd_gets_its_own_ratio_limit() -> None:
    """Pulumi's zstd frames of the 10,000-endpoint benchmark state compress 85-132:1, over what a
    gzipped state does and close to gzip's 200:1: the bomb limit for zstd is its own."""
    produced = 300 << 20
    pulumi_state._check_growth(produced, produced // 300, "dev.json.zst", ZSTD)
    with pytest.raises(StateError, match="compression bomb"):
        pulumi_state._check_growth(produced, produced // 300, "dev.json.gz")
    assert MAX_ZSTD_RATIO > 300 > MAX_GZIP_RATIO


@pytest.mark.usefixtures("small_blocks")
def test_the_size_limit_holds_for_zstd_before_any_resource_is_read(state_text: bytes, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dev.json.zst"
    path.write_bytes(pulumi_zstd(state_text))
    monkeypatch.setattr(pulumi_state, "MAX_STATE_BYTES", len(state_text) - 1)

    def no_resources(*args: object, **kwargs: object) -> object:
        raise AssertionError("a resource was read")

    monkeypatch.setattr(pulumi_state, "_index_resources", no_resources)
    with pytest.raises(StateError) as info:
        load_state(path)
    assert info.value.summary == "the zstd-compressed file is too large"


def test_without_the_zstandard_package_the_error_says_what_to_install(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dev.json.zst"
    path.write_bytes(pulumi_zstd(b"{}"))
    monkeypatch.setitem(__import__("sys").modules, "zstandard", None)  # import zstandard raises ModuleNotFoundError
    with pytest.raises(StateError) as info:
        load_state(path)
    assert info.value.summary == "reading a zstd-compressed state needs the zstandard package"
    assert "pip install" in info.value.detail


# -- which file: the file backend and S3 --------------------------------------------------------------


def place(root: Path, relative: str, data: bytes, mtime_s: int | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_s is not None:
        os.utime(path, ns=(mtime_s * 10**9, mtime_s * 10**9))
    return path


def test_the_newest_stack_file_wins_and_zst_then_gz_on_a_tie(tmp_path: Path) -> None:
    """``stackPath`` keeps each listed file not older than the one kept, listing by name: .json,
    .json.gz, .json.zst."""
    place(tmp_path, ".pulumi/meta.yaml", b"version: 1\n")
    zst = place(tmp_path, ".pulumi/stacks/p/dev.json.zst", pulumi_zstd(b"{}"), 5)
    assert find_state_file(tmp_path, "p", "dev") == zst
    plain = place(tmp_path, ".pulumi/stacks/p/dev.json", b"{}", 6)
    gz = place(tmp_path, ".pulumi/stacks/p/dev.json.gz", b"\x1f\x8b", 4)
    assert find_state_file(tmp_path, "p", "dev") == plain  # the newest
    os.utime(gz, ns=(7 * 10**9, 7 * 10**9))
    assert find_state_file(tmp_path, "p", "dev") == gz
    for path in (plain, gz, zst):
        os.utime(path, ns=(8 * 10**9, 8 * 10**9))
    assert find_state_file(tmp_path, "p", "dev") == zst  # a tie of three: the last by name
    os.utime(zst, ns=(7 * 10**9, 7 * 10**9))
    assert find_state_file(tmp_path, "p", "dev") == gz  # a tie of .json and .json.gz: gzip


def test_a_legacy_backend_with_only_zst_stacks_is_read_as_legacy(tmp_path: Path) -> None:
    """No meta.yaml and a stack file directly in .pulumi/stacks: the legacy layout (``meta.go``
    ``ensurePulumiMeta`` lists legacy stacks, ``.zst`` accepted after ``.json``)."""
    zst = place(tmp_path, ".pulumi/stacks/dev.json.zst", pulumi_zstd(b"{}"))
    assert find_state_file(tmp_path, "sample", "dev") == zst


def without_prior_line(out: str) -> list[str]:
    """The plan's lines but the one naming the state and why that backend (which differs, and says so)."""
    return [line for line in out.splitlines() if not line.startswith("Prior state:")]


def test_plan_finds_and_reads_the_zst_stack_file_and_plans_as_from_the_json(tmp_path: Path, clean_env: Path) -> None:
    """The file backend's zstd stack file is found from the stack directory, and the plan (text and
    JSON) is the one planned from the same state as ``.json``."""
    state = dumps(applied_state(compile_file(BASE, "staging"))).encode()
    plain = tmp_path / "state.json"
    plain.write_bytes(state)
    stacks = clean_env / "stacks" / "staging"
    place(stacks, ".pulumi/meta.yaml", b"version: 1\n")
    zst = place(stacks, ".pulumi/stacks/fraud-detection/staging.json.zst", pulumi_zstd(state))
    shown = str(zst.relative_to(clean_env))
    for fmt in ("text", "json"):
        found = run_cli("plan", str(BASE), "--env", "staging", "--format", fmt)
        given = run_cli("plan", str(BASE), "--env", "staging", "--format", fmt, "--state", str(plain))
        assert found.code == given.code == 0, found.stderr + given.stderr
        assert f"Prior state: {shown} (68 resources" in found.stdout + found.stderr
        assert without_prior_line(found.stdout.replace(shown, "STATE")) == \
            without_prior_line(given.stdout.replace(str(plain), "STATE"))


@pytest.mark.usefixtures("clean_env")
def test_drift_from_a_zst_state_is_the_drift_from_the_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan --refresh`` against the Kubernetes API stand-in holding what was applied, one Deployment
    scaled by hand: the same drift and plan whichever file the state came from."""
    import copy

    import yaml

    from tests.state.test_kube_live import cluster_crds
    from tests.support.kube_api import KubeApiStandIn

    graph = compile_file(QUICKSTART, "dev")
    checkpoint = applied_state(graph)
    plain = tmp_path / "state.json"
    plain.write_text(dumps(checkpoint), encoding="utf-8")
    zst = tmp_path / "state.json.zst"
    zst.write_bytes(pulumi_zstd(plain.read_bytes()))
    context = graph.metadata["context"]
    outputs = {}
    with KubeApiStandIn(crds=cluster_crds()) as api:
        objects = [{k: v for k, v in r["inputs"].items() if k != "__defaults"}
                   for r in checkpoint["checkpoint"]["latest"]["resources"]
                   if r["type"].startswith("kubernetes:") and r.get("custom")]
        for obj in objects:
            api.seed(copy.deepcopy(obj))
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        api.seed({**deployment, "spec": {**deployment["spec"], "replicas": 9}})
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "c", "cluster": {"server": api.url}}], "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]}))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        for path in (plain, zst):
            result = run_cli("plan", str(QUICKSTART), "--env", "dev", "--state", str(path), "--refresh",
                             "--format", "json")
            assert result.code == 0, result.stderr
            outputs[path.name] = json.loads(result.stdout)
    assert outputs["state.json"]["drift"], "the scaled Deployment is drift"
    assert outputs["state.json.zst"] == outputs["state.json"]


@pytest.mark.moto
def test_s3_backend_reads_the_newest_and_zst_on_a_tie(tmp_path: Path) -> None:
    """The same choice on S3, whose LastModified has whole seconds: written in the same second, .json.zst
    wins over a .json.gz written after it; a .json written a second later wins over both."""
    from mlops_infra.state.backends import read_stack_state
    from tests.support.moto_server import client, reset, running_moto_server

    state = dumps(applied_state(compile_file(BASE, "staging"))).encode()
    stem = "ml/.pulumi/stacks/fraud-detection/staging"
    with running_moto_server() as url:
        reset(url)
        s3 = client("s3", url)
        s3.create_bucket(Bucket="zstd-state")
        s3.put_object(Bucket="zstd-state", Key="ml/.pulumi/meta.yaml", Body=b"version: 1\n")

        def modified(suffix: str) -> object:
            return s3.head_object(Bucket="zstd-state", Key=stem + suffix)["LastModified"]

        while True:  # both in one second (LastModified's unit), the zst one first
            s3.put_object(Bucket="zstd-state", Key=stem + ".json.zst", Body=pulumi_zstd(state))
            s3.put_object(Bucket="zstd-state", Key=stem + ".json.gz", Body=gzip.compress(state, mtime=0))
            if modified(".json.zst") == modified(".json.gz"):
                break
        environ = {"PULUMI_BACKEND_URL": f"s3://zstd-state/ml?region=us-east-1&endpoint={url}"}
        tie = read_stack_state("fraud-detection", "staging", tmp_path, environ, s3_client=s3)
        time.sleep(1.1)
        s3.put_object(Bucket="zstd-state", Key=stem + ".json", Body=state)
        newest = read_stack_state("fraud-detection", "staging", tmp_path, environ, s3_client=s3)
    assert tie.state.source == f"s3://zstd-state/{stem}.json.zst"
    assert len(tie.state.resources) == 69  # 68 and the root stack
    assert newest.state.source == f"s3://zstd-state/{stem}.json"
    assert same_state(tie.state, newest.state)
