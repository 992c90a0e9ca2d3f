"""``source_sections.cut`` reads only the lines with something at column 0, found by one scan of the
text (issue 14: locating one warning of the 1,000-endpoint document stepped through every line in
Python); its sections are those of reading every line, which :func:`_cut_reading_every_line` (the
loop as it was) gives here as the oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.spec import source_sections
from mlops_infra.spec.source_sections import _KEY_START, _OTHER_BREAKS, Piece, Sections, cut
from tests.support.benchmarks import benchmark_module


def _cut_reading_every_line(text: str) -> Sections | None:
    """:func:`cut` as it was: every line of the text looked at in turn."""
    if "&" in text or any(mark in text for mark in _OTHER_BREAKS):
        return None
    lines = text.split("\n")
    starts: list[int] = []
    leading_marker_allowed = True
    for number, line in enumerate(lines):
        if not line or line[0] in " #":
            continue
        if line[0] == "-" and (len(line) == 1 or line[1] in " \t"):
            if not starts:
                return None
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


_FRAGMENTS = st.sampled_from(["", "\n", "\n\n", " ", "  ", "#", "# c", "-", "- ", "-\t", "---", "--- ", "key:",
                              "'q':", '"d":', "a", "x: 1", "\t", "[", "{", "?", "!", "*", "  - n: a", "\x85",
                              "\u2028", "\r", "&"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=30))
def test_cut_is_the_cut_of_reading_every_line(fragments: list[str]) -> None:
    text = "".join(fragments)
    assert cut(text) == _cut_reading_every_line(text)


def test_column_zero_lines_of_the_benchmark_document() -> None:
    """The generated 1,000-endpoint document (tens of thousands of lines): the same sections, and the
    scan names exactly the lines that are neither empty nor indented nor comments."""
    text = benchmark_module("bench_validate").generate(1000)
    expected = [n for n, line in enumerate(text.split("\n")) if line and line[0] not in " #"]
    assert source_sections._column_zero_lines(text) == expected
    assert cut(text) == _cut_reading_every_line(text)
    assert len(cut(text).sections) >= 10


def _entry_keys(name: str, text: str) -> tuple[int, int, list[tuple[tuple, tuple[int, int] | None, tuple[int, int]]]]:
    """For every key of every entry of every block-sequence section of ``text``: (path, the line reading's
    answer, the composer's); with how many paths the line reading answered and the number of paths."""
    from mlops_infra.spec import loader

    doc, diagnostics = loader.parse_document(text, name)
    assert doc is not None, diagnostics
    index = loader._PieceIndex(text, [str(key) for key in doc.data])
    sections = index._cut()
    rows = []
    if not sections:
        return 0, 0, rows
    for key, at in index._by_key.items():
        items = sections.items(at)
        value = doc.data.get(key)
        if items is None or not isinstance(value, list):
            continue
        for i, piece in enumerate(items):
            entry = value[i] if i < len(value) and isinstance(value[i], dict) else {}
            for field in [*map(str, entry), "not-written"]:
                path = (key, i, field)
                composed = index._compose(at, i, piece, key)
                if composed is None or path not in composed:
                    continue
                rows.append((path, source_sections.entry_value_at(sections.lines, piece, field), composed[path]))
    answered = sum(1 for _, read, _ in rows if read is not None)
    return answered, len(rows), rows


def test_entry_values_read_from_the_lines_are_where_the_composer_puts_them() -> None:
    """Every entry key of the shipped documents, the style documents and the benchmark document: where the
    lines are read, the answer is the composer's (libyaml's marks of the entry composed alone)."""
    from tests.spec.test_source_sections import _documents

    documents = [*_documents(), ("generated-1000", benchmark_module("bench_validate").generate(1000))]
    total_answered = 0
    for name, text in documents:
        answered, count, rows = _entry_keys(name, text)
        wrong = [(path, read, composed) for path, read, composed in rows if read is not None and read != composed]
        assert not wrong, (name, wrong[:5])
        total_answered += answered
        if name == "generated-1000":
            assert answered > count / 2  # most entry keys of the benchmark are read from their lines
            assert ("training_jobs", 0, "image") in {path for path, read, _ in rows if read is not None}
    assert total_answered > 1000


def test_what_the_lines_do_not_settle_is_left_to_the_composer() -> None:
    lines = ["  - name: a", "    command: [x,", "    image: b]", "    tag: !t v", "    note: 'q'", "    empty:",
             "    null: 1", "    nested:", "      image: deep", "    multi: x: y"]
    piece = Piece(0, len(lines))
    assert source_sections.entry_value_at(lines, piece, "name") == (1, 11)
    for key in ("image", "tag", "note", "empty", "null", "multi", "missing"):
        assert source_sections.entry_value_at(lines, piece, key) is None, key
    assert source_sections.entry_value_at(["  -   name: a", "      kind: b"], Piece(0, 2), "kind") == (2, 13)
    assert source_sections.entry_value_at(["  - name: a", "    # c", "    kind: b"], Piece(0, 3), "kind") is None
