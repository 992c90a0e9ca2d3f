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
