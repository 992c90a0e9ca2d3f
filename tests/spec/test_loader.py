"""Loader limits and errors: every way a file can fail before validation, reported with a position."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra import fileio
from mlops_infra.spec import load_system, loader, parse_system
from mlops_infra.spec.loader import MAX_BYTES, load_document

HEADER = "apiVersion: mlops-infra/v1\nkind: MLSystem\nmetadata: {name: demo}\n"


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def only(result):
    assert result.system is None
    assert len(result.diagnostics) == 1, result.diagnostics
    return result.diagnostics[0]


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n# and another\n", "\n# c\n   # d\n"])
def test_empty_and_comment_only_documents(text: str) -> None:
    d = only(parse_system(text, "x.yaml"))
    assert d.code == "empty-document"
    assert (d.location.file, d.location.line) == ("x.yaml", 1)
    assert "apiVersion" in d.detail


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "a str"), ("42\n", "a int")])
def test_non_mapping_root(text: str, kind: str) -> None:
    d = only(parse_system(text))
    assert d.code == "root-not-mapping"
    assert kind in d.summary


def test_binary_file_is_refused_with_the_line_of_the_nul(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"apiVersion: mlops-infra/v1\nkind: \x00MLSystem\n")
    d = only(load_system(path))
    assert d.code == "binary-file"
    assert d.location.line == 2


def test_non_utf8_file_is_refused_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(HEADER.encode() + b"# caf\xe9\n")
    d = only(load_system(path))
    assert d.code == "not-utf8"
    assert (d.location.line, d.location.column) == (4, 6)
    assert "UTF-8" in d.detail


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode())
    assert load_system(path).ok


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert only(load_system(tmp_path / "nope.yaml")).code == "file-not-found"
    assert only(load_system(tmp_path)).code == "not-a-file"


def test_syntax_error_has_line_and_column() -> None:
    d = only(parse_system(HEADER + "endpoints: [a, b\n"))
    assert d.code == "yaml-syntax"
    assert d.location.line >= 4
    assert d.location.column >= 1
    assert d.detail


def test_duplicate_key_points_at_the_second_key() -> None:
    text = HEADER + "models:\n  - name: m\n    framework: pytorch\n    framework: onnx\n"
    d = only(parse_system(text))
    assert d.code == "duplicate-key"
    assert '"framework"' in d.summary
    assert (d.location.line, d.location.column) == (7, 5)


def _alias_bomb(levels: int, width: int = 9) -> str:
    """``a`` a list of ``width`` scalars, then ``levels`` lists each of ``width`` aliases of the one
    before: the last expands to ``width ** (levels + 1)`` scalars."""
    lines = ["a: &a [" + ", ".join(['"x"'] * width) + "]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * width)}]" for i in range(levels)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_by_counting_replays_not_by_expanding() -> None:
    """The bound is on the events aliases replay (``loader.MAX_ALIAS_EVENTS``), counted as they are
    replayed, not on time. Four levels of nine (9**5 scalars) stay under it and load (the document is
    then only invalid); five levels (9**6 scalars) pass it and are refused, at the alias that passes
    it (line 6), where a loader bounded only by the parser's own default would load them; eight levels
    (9**9 scalars, which no machine here could build) are refused the same way, at the same alias."""
    under = parse_system(_alias_bomb(4))
    assert "alias-limit" not in codes(under)
    d = only(parse_system(_alias_bomb(5)))
    assert d.code == "alias-limit"
    assert d.location.line == 6
    at_bound = (d.location.line, d.location.column)
    d = only(parse_system(_alias_bomb(8)))
    assert d.code == "alias-limit"
    assert (d.location.line, d.location.column) == at_bound


def test_modest_aliases_are_fine() -> None:
    text = HEADER + "x-replicas: &r {min: 1, max: 2}\n"
    result = parse_system(text)
    assert codes(result) == ["unknown-field"]  # the alias loads; only the unknown top-level key is reported


def test_oversized_file_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused after reading at most the limit (plus one byte), and nothing decodes or parses it.

    No timing: the proof is that every parser and the decoder are never called, and that the bytes
    read are counted (a file four times the limit, sparse, is not read to its end)."""
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.write(b"# " + b"x" * 100 + b"\n")
        handle.truncate(4 * MAX_BYTES)

    def never(*_a, **_k):
        raise AssertionError("an oversized file must not be read whole, decoded or parsed")

    monkeypatch.setattr(Path, "read_bytes", never)
    monkeypatch.setattr(Path, "read_text", never)
    for target in (loader.yaml_rs, loader.yaml):
        for parser in ("loads", "load", "safe_load", "compose", "parse"):
            if hasattr(target, parser):
                monkeypatch.setattr(target, parser, never)
    monkeypatch.setattr(loader, "decode_source", never)
    monkeypatch.setattr(loader, "parse_document", never)
    read: list[int] = []
    real_open = open

    class Counted:
        def __init__(self, handle):
            self._handle = handle

        def read(self, size: int = -1) -> bytes:
            assert size >= 0, "an unbounded read"
            data = self._handle.read(size)
            read.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self._handle.close()

    monkeypatch.setattr(fileio, "open", lambda *a, **k: Counted(real_open(*a, **k)), raising=False)
    document, diagnostics = load_document(path)
    assert document is None
    assert [d.code for d in diagnostics] == ["file-too-large"]
    assert 0 < sum(read) <= MAX_BYTES + 1


def test_oversized_text_is_refused() -> None:
    d = only(parse_system("#" * (MAX_BYTES + 1)))
    assert d.code == "file-too-large"


@pytest.mark.parametrize(("line", "code"), [
    ("apiVersion: mlops-infra/v2", "unsupported-api-version"),
    ("apiVersion: v1", "unsupported-api-version"),
])
def test_unsupported_api_version(line: str, code: str) -> None:
    d = only(parse_system(HEADER.replace("apiVersion: mlops-infra/v1", line)))
    assert d.code == code
    assert d.location.line == 1
    assert "mlops-infra/v1" in d.detail


def test_unsupported_kind() -> None:
    d = only(parse_system(HEADER.replace("kind: MLSystem", "kind: Deployment")))
    assert d.code == "unsupported-kind"
    assert d.location.line == 2


def test_multiple_documents() -> None:
    d = only(parse_system(HEADER + "---\n" + HEADER))
    assert d.code == "multiple-documents"


def test_leading_document_marker_is_one_document() -> None:
    assert parse_system("---\n" + HEADER).ok


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system [ls]", "!custom value", "!!binary aGVsbG8="])
def test_unsafe_and_unknown_tags_are_refused(tag: str) -> None:
    d = only(parse_system(HEADER + f"x: {tag}\n"))
    assert d.code == "unsupported-tag"
    assert d.location.line == 4


def test_core_tags_are_allowed() -> None:
    result = parse_system(HEADER.replace("{name: demo}", "{name: !!str demo}"))
    assert result.ok, result.diagnostics


def test_yaml_1_2_scalars_stay_strings() -> None:
    result = parse_system(HEADER.replace("{name: demo}", "{name: demo, owner: no}"))
    assert result.ok
    assert result.system.metadata.owner == "no"


def test_all_errors_at_once_sorted_by_line() -> None:
    text = HEADER + (
        "models:\n"
        "  - name: Bad_Name\n"
        "    framework: pytorchh\n"
        "endpoints:\n"
        "  - name: e\n"
        "    model: {name: m, version: 0}\n"
        "    replicas: {min: 3, max: 1}\n"
    )
    result = parse_system(text)
    lines = [d.location.line for d in result.diagnostics]
    assert len(lines) >= 4
    assert lines == sorted(lines)
    assert {"invalid-format", "invalid-value", "out-of-range"} <= set(codes(result))
