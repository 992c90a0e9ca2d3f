"""secrets/split_pass.py: the prefilter's pass in parts on threads gives the one pass's matches.

Its premise (no match of the pattern spans a place :func:`can_cut` takes) is checked against the
strings each trigger matches and against RE2's own matches in random texts; the parts' passes are
compared with the one pass for random texts cut at every place it may take, and through the scan
(find_secrets, find_secrets_beside) with the split forced on small texts. The threads: joined on
every way out, errors raised on the caller's thread.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlops_infra.jsoncodec import STDLIB_SPELLING_TRIGGERS
from mlops_infra.secrets import find_secrets, split_pass
from mlops_infra.secrets import scan as scan_module
from mlops_infra.secrets.rules import RULES
from tests.secrets.test_scan_fast_path import beside_texts, texts

BESIDE = scan_module._prefilter_beside(STDLIB_SPELLING_TRIGGERS)
"""The pattern graph --format json passes over (the prefilter, then the standard library's spellings)."""

TRIGGERS = [*dict.fromkeys(t for rule in RULES for t in rule.triggers), STDLIB_SPELLING_TRIGGERS.decode()]

JSON_GLUE = ["{\n", "\n}", " }", "[\n", "\n]", '": ', '",\n', "  ", "\n", '"']
"""What pretty JSON puts between values: the places the bench's outputs are cut at."""


def _spans(matches: list[Any] | None) -> list[tuple[tuple[int, int], ...]] | None:
    if matches is None:
        return None
    return [tuple(m.span(g) for g in range(m.re.groups + 1)) for m in matches]


def _one_pass(pattern: Any, data: bytes, mark: int | None) -> list[Any] | None:
    found = []
    for match in pattern.finditer(data):
        if mark is not None and match.start(mark) != -1:
            return None
        found.append(match)
    return found


def test_the_bench_patterns_are_read() -> None:
    """The prefilter and the pass beside the standard library's spellings can be cut: they are
    read, and pretty JSON's ``{`` + newline is a place no match spans."""
    for pattern in (scan_module._prefilter(), BESIDE):
        assert split_pass._pairs(pattern.pattern) is not None
        assert split_pass.can_cut(pattern, b'{\n  "a"', 1)
        assert not split_pass.can_cut(pattern, b"AKIA", 2)


@pytest.mark.parametrize("source", [rb"a*", rb"(a)\1", rb"a(?=b)", rb"[[:alpha:]]", rb"\pN", rb"a{,3}", "a"])
def test_patterns_not_read_are_not_cut(source: Any) -> None:
    """A pattern matching the empty text, or with a construct read otherwise by re (or not RE2's), is passed over in one part."""
    assert split_pass._pairs(source) is None


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_pair_of_bytes_a_trigger_matches_is_known(data: st.DataObject) -> None:
    """The premise, from the strings themselves: every adjacent pair of bytes in a string a trigger
    matches is one the pattern's reading allows (so no match spans a place it excludes)."""
    follow = split_pass._pairs(BESIDE.pattern)
    assert follow is not None
    trigger = data.draw(st.sampled_from(TRIGGERS))
    text = data.draw(st.from_regex(trigger.encode(), fullmatch=True))
    assert all(follow[x] >> y & 1 for x, y in pairwise(text)), (trigger, text)


def _glued(draw: st.DrawFn, make: Any) -> bytes:
    parts = [draw(make)]
    for _ in range(draw(st.integers(0, 3))):
        parts += [draw(st.sampled_from(JSON_GLUE)).encode(), draw(make)]
    return b"".join(p if isinstance(p, bytes) else p.encode("utf-8", "surrogatepass") for p in parts)


@st.composite
def cut_texts(draw: st.DrawFn) -> bytes:
    """Random texts of secrets, triggers, the standard library's spellings and JSON glue."""
    return _glued(draw, st.one_of(texts(), beside_texts()))


@settings(max_examples=500, deadline=None)
@given(data=cut_texts())
@example(data=b'{\n"u": "https://user:hunter22@example.com"}\n{\n')
@example(data=b'"AKIAIOSFODNN7EXAMPLE"\n}\n{\n  "a": 1e-5\n}')
def test_no_match_spans_a_place_that_may_be_cut(data: bytes) -> None:
    """The premise, from RE2's matches: no match of the one pass starts before a place can_cut
    takes and ends after it."""
    for pattern in (scan_module._prefilter(), BESIDE):
        for match in pattern.finditer(data):
            start, end = match.span()
            assert not any(split_pass.can_cut(pattern, data, place) for place in range(start + 1, end)), match


@settings(max_examples=500, deadline=None)
@given(data=st.data(), text=cut_texts())
@example(data=None, text=b'{\n"u": "https://user:hunter22@example.com"}\n{\n')
def test_the_parts_passes_give_the_one_pass(data: st.DataObject | None, text: bytes) -> None:
    """Cut at any set of places can_cut takes: the same matches (spans of every group), in order,
    and None exactly when the one pass meets the standard library's spelling."""
    for pattern, mark in ((scan_module._prefilter(), None), (BESIDE, BESIDE.groups)):
        places = [p for p in range(1, len(text)) if split_pass.can_cut(pattern, text, p)]
        chosen = sorted(data.draw(st.sets(st.sampled_from(places), max_size=4))) if data and places else places
        expected = _spans(_one_pass(pattern, text, mark))
        assert _spans(split_pass.find_all_from(pattern, text, [0, *chosen], mark)) == expected, chosen
        for parts in (2, 3, 5):
            assert _spans(split_pass.find_all(pattern, text, parts, mark)) == expected, parts


@pytest.fixture()
def split_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan splits every text, into 3 parts (the machine's cores notwithstanding)."""
    monkeypatch.setattr(scan_module, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(scan_module, "_cores", lambda: 3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=cut_texts())
def test_the_scan_finds_the_same_split(monkeypatch: pytest.MonkeyPatch, split_always: None, text: bytes) -> None:
    """find_secrets and find_secrets_beside with every text split give what they give in one pass
    (the shortcuts-off switch of test_scan_fast_path turns the split off)."""
    split = find_secrets(text), scan_module.find_secrets_beside(text, STDLIB_SPELLING_TRIGGERS)
    with monkeypatch.context() as patched:
        patched.setattr(scan_module, "SPLIT_ABOVE", None)
        assert split == (find_secrets(text), scan_module.find_secrets_beside(text, STDLIB_SPELLING_TRIGGERS))


def test_small_texts_start_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("a thread for a small text")

    monkeypatch.setattr(split_pass, "find_all_from", refuse)
    text = b'{\n  "a": "AKIAIOSFODNN7EXAMPLE"\n}\n' * 1000
    assert scan_module._parts(len(text)) == 1
    assert find_secrets(text) and scan_module.find_secrets_beside(text, STDLIB_SPELLING_TRIGGERS) is not None


# -- the threads ---------------------------------------------------------------------------------------


class _Match:
    def __init__(self, start: int) -> None:
        self._start = start

    def start(self, group: int = 0) -> int:
        return self._start if group == 0 else -1


class _Pattern:
    """A pattern whose passes are scripted: ``behave(start)`` yields its matches or raises."""

    pattern = rb"x"

    def __init__(self, behave: Any) -> None:
        self.behave = behave

    def finditer(self, data: bytes, start: int, end: int) -> Iterator[Any]:
        return self.behave(start)


def _endless(start: int) -> Iterator[Any]:
    while True:
        time.sleep(0.001)
        yield _Match(start)


def _threads_after(call: Any) -> int:
    before = threading.active_count()
    call()
    return threading.active_count() - before


def test_an_error_on_a_part_is_raised_and_every_thread_joined() -> None:
    def behave(start: int) -> Iterator[Any]:
        if start == 4:
            raise ValueError("part 2")
        return _endless(start) if start else iter([_Match(0)])

    def call() -> None:
        with pytest.raises(ValueError, match="part 2"):
            split_pass.find_all_from(_Pattern(behave), b"x" * 9, [0, 2, 4])

    assert _threads_after(call) == 0


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_error_on_the_callers_part_stops_the_others(error: type[BaseException]) -> None:
    """The others pass over an endless text: the call returns only because they stop."""
    def behave(start: int) -> Iterator[Any]:
        if start == 0:
            raise error()
        return _endless(start)

    def call() -> None:
        with pytest.raises(error):
            split_pass.find_all_from(_Pattern(behave), b"x" * 9, [0, 3, 6])

    assert _threads_after(call) == 0


def test_a_mark_on_a_part_stops_the_others_and_gives_none() -> None:
    class Marked(_Match):
        def start(self, group: int = 0) -> int:
            return self._start

    def behave(start: int) -> Iterator[Any]:
        return iter([Marked(start)]) if start == 3 else _endless(start)

    assert _threads_after(lambda: split_pass.find_all_from(_Pattern(behave), b"x" * 9, [0, 3, 6], mark=1) is None) == 0
    assert split_pass.find_all_from(_Pattern(behave), b"x" * 9, [0, 3, 6], mark=1) is None


def test_one_part_runs_on_the_callers_thread() -> None:
    seen = []

    def behave(start: int) -> Iterator[Any]:
        seen.append(threading.current_thread() is threading.main_thread())
        return iter([_Match(start)])

    assert [m.start() for m in split_pass.find_all(_Pattern(behave), b"xx", 1)] == [0]
    assert seen == [True]


def test_re_is_not_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard re module holds the GIL while it matches: no parts."""
    monkeypatch.setattr(scan_module, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(scan_module, "engine", lambda: re)
    assert scan_module._parts(10 << 20) == 1
