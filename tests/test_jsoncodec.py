"""jsoncodec: hashing a large object one list item at a time gives the whole value's digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.jsoncodec import ItemsDigest, canonical_bytes

REPO = Path(__file__).resolve().parents[1]

keys = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€"), max_size=4) | st.just("items")
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
           | st.text(max_size=6) | st.just("mlops-infra:the-items-go-here"))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                      max_leaves=15)
deep = st.integers(250, 256).map(lambda n: _nested(n))


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=400, deadline=None)
@given(envelope=st.dictionaries(keys, values, max_size=4), items=st.lists(values | deep, max_size=4))
def test_items_digest_is_the_digest_of_the_whole_value_or_refuses(envelope: dict, items: list) -> None:
    whole = hashlib.sha256(canonical_bytes({**envelope, "items": items})).hexdigest()
    try:
        digest = ItemsDigest(envelope, "items")
        for item in items:
            digest.add(item)
    except (TypeError, ValueError):
        return  # the caller hashes canonical_bytes of the whole value (its fallback writes other bytes)
    assert digest.hexdigest() == whole



@settings(max_examples=300, deadline=None)
@given(envelope=st.dictionaries(keys, values, max_size=3), batches=st.lists(st.lists(values, max_size=4), max_size=5))
def test_items_digest_fed_in_batches_is_the_digest_of_the_whole_value(envelope: dict, batches: list) -> None:
    """add_many of batches (empty ones too) gives the whole value's digest, as add of each item does."""
    items = [item for batch in batches for item in batch]
    try:
        digest = ItemsDigest(envelope, "items")
        for batch in batches:
            digest.add_many(batch)
    except (TypeError, ValueError):
        return
    assert digest.hexdigest() == hashlib.sha256(canonical_bytes({**envelope, "items": items})).hexdigest()

@pytest.mark.parametrize("path", sorted(REPO.glob("examples/*/mlsystem.yaml")), ids=lambda p: p.parent.name)
def test_graph_digest_is_the_digest_of_the_graph_json(path: Path) -> None:
    from mlops_infra.spec import load_system
    from tests.scenarios.harness import compile_file

    for env in sorted(load_system(path).system.environments):
        graph = compile_file(path, env)
        data = graph.to_json()
        data.pop("modelVersions", None)
        assert graph.digest() == hashlib.sha256(canonical_bytes(data)).hexdigest()


def test_spelled_otherwise_answers_as_the_stdlib_spelling_regex() -> None:
    """The fast scan of stdlib_pretty finds exactly what its documented regex finds."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.jsoncodec import _STDLIB_SPELLING, spelled_otherwise

    pieces = st.sampled_from([b"e-", b"1", b"0", b"9", b".", b"0000", b"e", b"-", b"\x7f", b"a", b'"', b" ", b"5e-",
                              b".0000", b"e-1", b"1e-5"])

    @settings(max_examples=2000, deadline=None)
    @given(st.lists(pieces, max_size=12).map(b"".join))
    def check(data: bytes) -> None:
        assert spelled_otherwise(data) == bool(_STDLIB_SPELLING.search(data))

    check()
    for data in (b"1e-5", b"x1e-5", b"1e-50", b"ae-5", b"e-5", b"10.00001", b".00001", b"a.0000", b"\x7f", b""):
        assert spelled_otherwise(data) == bool(_STDLIB_SPELLING.search(data)), data


def test_integers_beyond_64_bits_are_read_as_floats_as_documented() -> None:
    """The module contract's one difference from ``json.loads``: orjson reads an integer beyond
    64 bits as the nearest float (the bounds themselves stay exact integers)."""
    from mlops_infra.jsoncodec import loads, loads_utf8

    text = f"[{2**64 - 1}, {-(2**63)}, {2**64}, {-(2**63) - 1}, {10**30}]"
    expected = [2**64 - 1, -(2**63), float(2**64), float(-(2**63) - 1), 1e30]
    for parsed in (loads(text), loads(text.encode()), loads_utf8(text.encode())):
        assert parsed == expected
        assert [type(v) for v in parsed] == [int, int, float, float, float]


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(keys, values | st.text(st.sampled_from("aé€\x7f")), max_size=4))
def test_pretty_is_sorted_indented_ascii_text_with_a_newline(value: dict) -> None:
    """orjson's sorted two-space text with its newline appended by orjson, else the standard
    library's (non-ASCII text, integers orjson does not write): ASCII, one trailing newline, the
    same text as orjson's decoded and a newline added."""
    import json

    import orjson

    from mlops_infra.jsoncodec import pretty

    text = pretty(value)
    try:
        expected = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
    except TypeError:
        expected = None
    if expected is None or not expected.isascii():
        expected = json.dumps(value, sort_keys=True, indent=2)
    assert text == expected + "\n" and text.isascii()
    assert json.loads(text).keys() == value.keys()


def test_spelled_as_stdlib_near_the_spans_of_the_pass_answers_for_the_whole_text() -> None:
    """Where the secret scan's pass beside STDLIB_SPELLING_TRIGGERS reported none of them, checking
    its spans (each with the reach of a match starting in it) answers spelled_as_stdlib of the whole
    bytes: never True when the whole is spelled otherwise."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from mlops_infra.jsoncodec import STDLIB_SPELLING_TRIGGERS, spelled_as_stdlib, spelled_as_stdlib_near
    from mlops_infra.secrets import find_secrets_beside

    pieces = st.sampled_from([b"e-", b"1", b"9", b".", b"0000", b"e", b"-", b"\x7f", b"\xc3\xa9", b'"', b" ", b"1e-5",
                              b".00001", b"a" * 39, b"AKIA", b"user:", b"pa55word", b"@", b"\n", b"Zq8/3kP2vN+7xR4mW1t"])

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(pieces, max_size=14).map(b"".join))
    @example(b'"' + b"a" * 39 + b'9.00001"')
    @example(b"user:p\xc3\xa4sswort@r")
    def check(data: bytes) -> None:
        scanned = find_secrets_beside(data, STDLIB_SPELLING_TRIGGERS)
        if scanned is not None and spelled_as_stdlib_near(data, scanned[1]):
            assert spelled_as_stdlib(data)

    check()
