"""diff_inputs: trees the walk found different are told apart by orjson first, not by the json module's sorted
write (``diff._surely_differ``), with the same answers."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_infra.plan.diff as diff
from mlops_infra.plan.normalize import Normalized
from mlops_infra.plan.rules import PathMatcher

NOTHING = PathMatcher(())


def test_trees_that_differ_are_not_written_by_the_json_module() -> None:
    """The common case (an updated resource: its trees differ) costs orjson's writes, not ``canonical``'s; trees
    orjson cannot tell apart (NaN is null to it) or cannot write (an integer key) still ask ``canonical``."""
    asked = []
    real = diff.canonical
    diff.canonical = lambda value: asked.append(value) or real(value)
    try:
        changes = diff.diff_inputs(Normalized({"tags": {"team": "a"}}, {"tags": {"team": "b"}}),
                                   replace=NOTHING, keep=NOTHING, sensitive=NOTHING)
        assert [c.path for c in changes] == ["tags.team"] and asked == []
        nan = float("nan")
        assert diff.diff_inputs(Normalized({"x": nan}, {"x": None}), replace=NOTHING, keep=NOTHING,
                                sensitive=NOTHING)  # null to orjson, NaN to canonical: a change
        assert len(asked) == 2
        assert diff.diff_inputs(Normalized({"x": {1: "a"}}, {"x": {1: "a"}}), replace=NOTHING, keep=NOTHING,
                                sensitive=NOTHING) == ()  # orjson refuses the key: canonical says equal
        assert len(asked) == 4
    finally:
        diff.canonical = real


scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(2**63, 2**64 + 5),
                    st.sampled_from([0.0, -0.0, 1.0, 1.5, 1e16, 1e-7, math.inf, -math.inf, math.nan]),
                    st.sampled_from(["", "a", "é", "\u2028", "\ud800", "null", "1", "true", '"', "\\"]))
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=3), st.tuples(children, children),
    st.dictionaries(st.one_of(st.sampled_from(["a", "b", "é", "B", "1"]), st.integers(0, 1)), children, max_size=3)),
    max_leaves=8)


@settings(max_examples=1500, deadline=None)
@given(values, values)
def test_surely_differ_only_where_canonical_texts_differ(a, b) -> None:
    """``_surely_differ`` answers True only where ``canonical`` writes the two values differently (so
    ``diff_inputs`` answers as it did with ``canonical`` alone): for values of every JSON type, NaN, the infinities,
    -0.0, integers past 64 bits, keys that are not strings, strings with escapes or a lone surrogate."""
    if diff._surely_differ(a, b):
        assert diff.canonical(a) != diff.canonical(b)
    if diff._surely_differ(a, a):
        raise AssertionError(a)


def test_surely_differ_tells_apart_what_it_can() -> None:
    assert diff._surely_differ({"a": 1}, {"a": 1.0}) and diff._surely_differ([True], [1])
    assert diff._surely_differ({"b": 1, "a": 2}, {"a": 2, "b": 3})
    assert not diff._surely_differ({"b": 1, "a": 2}, {"a": 2, "b": 1})
    assert not diff._surely_differ(2**64, 2**64 + 1)  # past 64 bits: canonical decides
