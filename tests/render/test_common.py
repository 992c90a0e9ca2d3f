"""Shared formatting: values, blocks, line diffs, money, targets, grouping, drift shapes."""

from __future__ import annotations

import contextlib
import json
from random import Random
from typing import Any

from mlops_infra.plan.model import REDACTED, Action, AttributeChange, Reason, ResourceChange
from mlops_infra.render.common import (
    BLOCK_MAX_LINES,
    INLINE_MAX,
    attr_line,
    drift_view,
    explain,
    fmt_value,
    group_changes,
    money,
    money_range,
    target_text,
)


def test_values_print_as_json_and_markers_bare() -> None:
    assert fmt_value("ml.g5.xlarge") == '"ml.g5.xlarge"'
    assert fmt_value(3) == "3" and fmt_value(True) == "true"
    assert fmt_value({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'
    assert fmt_value(REDACTED) == "(sensitive)"
    assert fmt_value("(known after apply)") == "(known after apply)"


def test_scalar_changes_are_one_line() -> None:
    line = attr_line(AttributeChange("productionVariants[0].instanceType", "ml.g5.xlarge", "ml.g5.2xlarge", True))
    assert (line.symbol, line.text, line.forces_replacement, line.more) == (
        "~", 'productionVariants[0].instanceType: "ml.g5.xlarge" -> "ml.g5.2xlarge"', True, ())
    assert attr_line(AttributeChange("x", None, 1)).text == "x: 1"
    assert attr_line(AttributeChange("x", None, 1)).symbol == "+"
    assert attr_line(AttributeChange("x", 1, None)).symbol == "-"


def test_large_values_are_yaml_like_blocks() -> None:
    spec = {"containers": [{"name": "capture", "image": "python:3.12", "env": [{"name": "A", "value": "1"}]}],
            "serviceAccountName": "mlops-capture"}
    line = attr_line(AttributeChange("spec", None, spec))
    assert line.text == "spec:"
    assert [m for m, _ in line.more] == ["+"] * len(line.more)
    assert [t for _, t in line.more] == [
        "  containers:",
        '    - env: [{"name": "A", "value": "1"}]',
        '      image: "python:3.12"',
        '      name: "capture"',
        '  serviceAccountName: "mlops-capture"',
    ]


def test_long_created_blocks_are_capped() -> None:
    big = {f"key{i:03d}": "v" * 10 for i in range(200)}
    line = attr_line(AttributeChange("data", None, big))
    assert len(line.more) == BLOCK_MAX_LINES + 1
    assert "140 more lines; see --format json" in line.more[-1][1]


def test_texts_show_a_preview_when_created_and_a_line_diff_when_changed() -> None:
    script = "\n".join(f"line {i}" for i in range(50)) + "\n"
    created = attr_line(AttributeChange("data", None, {"job.py": script}))
    assert [t for _, t in created.more] == ["  job.py: <<EOT", "    line 0", "    line 1", "    line 2",
                                            "    ... (47 more lines)", "    EOT"]
    changed = attr_line(AttributeChange("code", script, script.replace("line 20", "line twenty")))
    assert changed.text == "code: <<EOT"
    assert ("-", "  line 20") in changed.more and ("+", "  line twenty") in changed.more
    assert ("  line 0" not in [t for _, t in changed.more])  # only the hunk, with context
    assert changed.more[-1] == (" ", "EOT")


def test_json_documents_are_diffed_as_documents() -> None:
    before = json.dumps({"Statement": [{"Action": "s3:GetObject", "Effect": "Allow"}]})
    after = json.dumps({"Statement": [{"Action": "s3:PutObject", "Effect": "Allow"}]})
    line = attr_line(AttributeChange("policy", before, after))
    assert line.text == "policy: <<JSON"
    assert ("-", '        "Action": "s3:GetObject",') in line.more
    assert ("+", '        "Action": "s3:PutObject",') in line.more


def test_sensitive_changes_hide_both_sides_whatever_they_hold() -> None:
    line = attr_line(AttributeChange("environment", {"TOKEN": "abc"}, {"TOKEN": "def"}, sensitive=True))
    assert line.text == "environment: (sensitive) -> (sensitive)" and not line.more


def test_money_and_ranges() -> None:
    assert money(1234.5) == "$1,234.50" and money(-3.1) == "-$3.10" and money(0, sign=True) == "$0.00"
    assert money(12, sign=True) == "+$12.00"
    assert money_range(10, 10) == "$10.00" and money_range(10, 20, sign=True) == "+$10.00 to +$20.00"


def test_targets() -> None:
    assert target_text({"cloud": "aws", "region": "eu-west-1", "account": "222222222222"}) == \
        "aws eu-west-1, account 222222222222"
    assert target_text({"cloud": "kubernetes", "context": "kind-mlops", "namespace": "fraud-dev"}) == \
        "kubernetes context kind-mlops, namespace fraud-dev"


def _change(address: str, action: Action, custom: bool = True, name: str = "r") -> ResourceChange:
    return ResourceChange(f"urn:pulumi:s::p::t::{address}-{name}", "t", name, action, Reason("x", ""),
                          address=address, custom=custom)


def test_groups_follow_spec_order_and_hide_no_ops() -> None:
    groups = group_changes([_change("alerts.a", Action.CREATE), _change("endpoints.e", Action.UPDATE),
                            _change("platform", Action.CREATE), _change("", Action.DELETE),
                            _change("data_sources.d", Action.NOOP)])
    assert [g.address for g in groups] == ["(shared)", "platform", "endpoints.e", "alerts.a"]


def test_component_only_groups_say_what_happens() -> None:
    [group] = group_changes([_change("monitors.m", Action.DELETE, custom=False)])
    assert group.resources == () and group.tally() == "removed"
    assert group.facts_only_note() == "no cloud resources of its own (see ML changes)"
    [group] = group_changes([_change("monitors.m", Action.UPDATE, custom=False)])
    assert group.tally() == "ML facts change"


def test_reasons_are_not_repeated() -> None:
    created = ResourceChange("u", "t", "n", Action.CREATE, Reason("new", "n is not in the state: it will be created"))
    assert explain(created) == "n is not in the state: it will be created"
    replaced = ResourceChange("u", "t", "n", Action.REPLACE, Reason("forces-replacement", "name cannot be updated"))
    assert explain(replaced) == "must be replaced: name cannot be updated"
    assert explain(ResourceChange("u", "t", "n", Action.DELETE, Reason("x", ""))) == "will be destroyed"


def test_drift_items_in_every_shape() -> None:
    triple = drift_view(type("DriftItem", (), {"urn": "urn:pulumi:s::p::t::bucket", "type": "aws:s3/bucket:Bucket",
                                                "kind": "changed", "summary": "versioning suspended",
                                                "changes": (("versioning.status", "Enabled", "Suspended"),)})())
    as_json = drift_view({"urn": "urn:pulumi:s::p::t::bucket", "type": "aws:s3/bucket:Bucket", "kind": "deleted",
                          "changes": [{"path": "x", "prior": 1, "live": 2}]})
    assert (triple.symbol, triple.name, triple.changes[0].after) == ("~", "bucket", "Suspended")
    assert (as_json.symbol, as_json.changes[0].before, as_json.changes[0].after) == ("-", 1, 2)


def test_values_and_keys_print_as_json_dumps_prints_them() -> None:
    """fmt_value, _key and the <<JSON blocks use encoders made once (and json.encoder.encode_basestring
    for strings): the text json.dumps gives with the same arguments, for values of every JSON kind
    (non-ASCII, control characters, NaN, str subclasses, the plan's markers) and odd keys."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.render import common

    class Name(str):
        pass

    text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u2028😀\x7f\n\"\\"), max_size=8)
    scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | text | text.map(Name)
               | st.sampled_from([REDACTED, "(known after apply)"]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(text, inner, max_size=4), max_leaves=20)

    @settings(max_examples=500, deadline=None)
    @given(values, text)
    def check(value, key) -> None:
        if isinstance(value, str) and value in (REDACTED, "(known after apply)"):
            assert common.fmt_value(value) == value
        elif isinstance(value, str):
            assert common.fmt_value(value) == json.dumps(value, ensure_ascii=False)
        else:
            assert common.fmt_value(value) == json.dumps(value, sort_keys=True, ensure_ascii=False,
                                                         separators=(", ", ": "))
        assert common._key(key) in (key, json.dumps(key, ensure_ascii=False))
        assert common._DOCUMENT.encode(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)

    check()


@contextlib.contextmanager
def render_slow():
    """The value renderers' shortcuts off: whether a container fits on its line is decided by
    encoding it (``_longer`` proves nothing), a created JSON document is encoded and split whole
    (``_document_head`` declines), and the plan's JSON is made whole (``json._streamed_bytes``
    declines: ``jsoncodec.pretty_bytes(plan.to_json())``)."""
    from mlops_infra.render import common, markdown
    from mlops_infra.render import json as json_module

    real = common._longer, common._document_head, markdown._short_fence, json_module._streamed_bytes
    common._longer = lambda value, budget: False
    common._document_head = lambda document, count: None
    markdown._short_fence = lambda body: None
    json_module._streamed_bytes = lambda plan: None
    try:
        yield
    finally:
        common._longer, common._document_head, markdown._short_fence, json_module._streamed_bytes = real


def _grown(rng, leaves: tuple[list, Any, list], size: int, depth: int, named: bool | None = None) -> list | dict:
    """A list (or, ``named``, a dict; None: either) of ``size`` items grown by ``rng`` from ``leaves``,
    (scalars, a nested value, dict keys): each item a scalar (or, one time in ten, the nested value) or,
    half the time while ``depth`` lasts, a container of up to 6 items grown the same way, a fifth of
    those written as a JSON document (a string). Dict keys are drawn from the keys and made unique."""
    scalars, nested, keys = leaves
    items = []
    for _ in range(size):
        roll = rng.random()
        if depth == 0 or roll < 0.5:
            items.append(nested if rng.random() < 0.1 else rng.choice(scalars))
            continue
        inner = _grown(rng, leaves, rng.randrange(7), depth - 1)
        items.append(json.dumps(inner, indent=rng.choice((None, 1))) if roll >= 0.9 else inner)
    if not (rng.random() < 0.5 if named is None else named):
        return items
    by_key: dict = {}
    for item in items:
        key = rng.choice(keys)
        while key in by_key:
            key += rng.choice("_9\u2028")
        by_key[key] = item
    return by_key


def _nested_values():
    """Nested JSON values for the renderers: texts with newlines (and the line boundaries JSON leaves
    as they are), markers, JSON documents inside strings, and containers long enough to pass the
    line and block limits: a fifth drawn item by item (they shrink), two fifths JSON documents of 0 to
    50 items, two fifths lists or dicts of 20 to 80.

    The documents and the long containers are grown (:func:`_grown`) by a seeded random from a few
    drawn scalars, one drawn nested value and a few keys: drawn item by item, they took most of the
    test's time, and a third of the test cases drawn were invalid, thrown away
    (``--hypothesis-show-statistics``). What the values reach is counted by :func:`_reached`."""
    from hypothesis import strategies as st

    text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é\u2028\x85\u2029\x0b\r\n\"\\{["),
                   max_size=12)
    words = st.sampled_from(["name", "image", "a" * 30, "ml.g5.xlarge", "x\ny\nz\nw\nv", "", REDACTED,
                             "(known after apply)"])
    scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | text | words
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                          | st.dictionaries(text | words, inner, max_size=6), max_leaves=40)
    leaves = st.tuples(st.lists(scalars, min_size=1, max_size=6), values,
                       st.lists(text | words, min_size=1, max_size=4))
    # A seeded random drawn by Hypothesis (not st.randoms(use_true_random=True)): a failing example
    # replays from its database entry and shrinks towards seed 0, at the same speed.
    random = st.integers(0, 2**32 - 1).map(Random)

    def document(named: bool):
        return st.builds(lambda leaves, rng: json.dumps(_grown(rng, leaves, rng.randrange(51), 2, named),
                                                        indent=rng.choice((None, 1, 2))), leaves, random)

    def long(named: bool):
        return st.builds(lambda leaves, rng: _grown(rng, leaves, rng.randrange(20, 81), 2, named), leaves, random)

    return st.one_of(values, document(False), document(True), long(False), long(True))


def _depth(value: Any) -> int:
    if isinstance(value, dict | list):
        return 1 + max(map(_depth, value.values() if isinstance(value, dict) else value), default=0)
    return 0


def _reached(value: Any, width: int) -> set[str]:
    """The shortcuts' bounds ``value`` (rendered created, destroyed and changed, and checked at
    ``width``) goes past."""
    from mlops_infra.render import common

    reached = set()
    if isinstance(value, dict | list):
        if len(common.fmt_value(value)) > INLINE_MAX + 10:
            reached.add("a container longer than any line")
        if common._longer(value, width):
            reached.add("a container proved longer than the width")
        if _depth(value) >= 4:
            reached.add("a container 4 deep")
        if len(common._nested(value, True)) > BLOCK_MAX_LINES:
            reached.add("a container block cut after its first lines")
    document = common._json_document(value) if isinstance(value, str) else None
    if document is not None:
        text = common._DOCUMENT.encode(document)
        if len(text.splitlines()) > max(width, BLOCK_MAX_LINES):
            reached.add("a document head stopped before its end")
        if len(text.splitlines()) > text.count("\n") + 1:
            reached.add("a document with line boundaries JSON keeps")
    return reached


def test_value_shortcuts_render_as_the_slow_path() -> None:
    """Created, destroyed and changed values (nested, long, texts, JSON documents) render the same
    lines with the shortcuts (``_longer``'s bound, ``_document_head``/``_document_lines``) as
    without them; and the values drawn go past every bound of the shortcuts, many times each."""
    from collections import Counter

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.render import common

    values = _nested_values()
    reached: Counter[str] = Counter()

    @settings(max_examples=400, deadline=None)
    @given(values, values, st.integers(0, 90))
    def check(before, after, width) -> None:
        changes = [AttributeChange("p", None, after), AttributeChange("p", before, None),
                   AttributeChange("p", before, after)]
        fast = [attr_line(c) for c in changes]
        with render_slow():
            slow = [attr_line(c) for c in changes]
        assert fast == slow
        for value in (before, after):
            if isinstance(value, dict | list):  # a lower bound: never more than the length itself
                assert not common._longer(value, len(common.fmt_value(value)))
                assert not common._longer(value, width) or len(common.fmt_value(value)) > width
        document = common._json_document(after) if isinstance(after, str) else None
        if document is not None:
            lines = common._DOCUMENT.encode(document).splitlines()
            assert common._document_lines(document) == len(lines)
            assert common._document_head(document, width) == lines[:width]
        reached.update(_reached(before, width) | _reached(after, width))

    check()
    bounds = ("a container longer than any line", "a container proved longer than the width", "a container 4 deep",
              "a container block cut after its first lines", "a document head stopped before its end",
              "a document with line boundaries JSON keeps")
    assert all(reached[bound] >= 40 for bound in bounds), reached


def test_a_document_head_leaves_nothing_of_the_document_behind() -> None:
    """An encoding stopped after the shown lines keeps no reference to the document: batch commands
    run without cyclic GC, and json's circular-reference markers, held in a cycle of the encoder's
    closures, kept the open containers of 1,100 dashboard bodies (21 MB of the bench's first plan's
    peak) until exit. The head is the encoded text's first lines all the same."""
    import gc
    import weakref

    from mlops_infra.render import common

    class Document(dict):  # a dict that can be weakly referenced
        pass

    document = Document(widgets=[{"x": i, "y": [i, i + 1]} for i in range(40)], name="d")
    expected = common._DOCUMENT.encode(document).splitlines()[:5]
    alive = weakref.ref(document)
    enabled = gc.isenabled()
    gc.disable()
    try:
        assert common._document_head(document, 5) == expected
        del document
        assert alive() is None
    finally:
        if enabled:
            gc.enable()
