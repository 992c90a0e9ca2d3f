"""Attribute diff: paths, ordering, replacement marks, redaction and the equal fast path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_infra.plan.diff as diff_module
from mlops_infra.plan.diff import creation_changes, diff_inputs
from mlops_infra.plan.model import REDACTED, UNKNOWN_AFTER_APPLY, AttributeChange
from mlops_infra.plan.normalize import Normalized
from mlops_infra.plan.rules import PathMatcher
from mlops_infra.state.model import UNKNOWN

NONE = PathMatcher([])


def run(prior, desired, *, replace=NONE, keep=NONE, sensitive=NONE, extra=None, secrets=()):
    return diff_inputs(Normalized(prior, desired, list(secrets)), replace=replace, keep=keep, sensitive=sensitive,
                       extra_replace=extra)


def test_equal_inputs_skip_deepdiff(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("no diff (ours or deepdiff's) must run for equal inputs")

    monkeypatch.setattr(diff_module, "_changed_paths", boom)
    monkeypatch.setattr(diff_module, "_deepdiff_paths", boom)
    assert run({"a": {"b": [1, 2]}, "c": "x"}, {"c": "x", "a": {"b": [1, 2]}}) == ()


def test_bool_and_int_are_not_equal() -> None:
    assert [c.path for c in run({"a": True}, {"a": 1})] == ["a"]


def test_keys_that_look_private_are_compared() -> None:
    assert [c.path for c in run({"code": {"__index.js": "sha256:a"}}, {"code": {"__index.js": "sha256:b"}})] == [
        'code["__index.js"]']


def test_paths_values_and_numeric_index_order() -> None:
    prior = {"productionVariants": [{"instanceType": "ml.g5.xlarge"}], "items": list(range(12)), "gone": 1}
    desired = {"productionVariants": [{"instanceType": "ml.g5.2xlarge"}],
               "items": [*range(2), 99, *range(3, 10), 98, 11], "new": {"k": "v"}}
    changes = run(prior, desired)
    assert [c.path for c in changes] == ["gone", "items[2]", "items[10]", "new",
                                         "productionVariants[0].instanceType"]
    by_path = {c.path: c for c in changes}
    assert (by_path["gone"].before, by_path["gone"].after) == (1, None)
    assert (by_path["new"].before, by_path["new"].after) == (None, {"k": "v"})
    assert by_path["productionVariants[0].instanceType"].after == "ml.g5.2xlarge"


def test_replacement_marks_from_rule_keep_and_options() -> None:
    replace = PathMatcher(["*"])
    keep = PathMatcher(["tags"])
    changes = run({"image": "a", "tags": {"t": "1"}}, {"image": "b", "tags": {"t": "2"}}, replace=replace, keep=keep)
    assert {c.path: c.forces_replacement for c in changes} == {"image": True, "tags.t": False}
    extra = PathMatcher(["spec.replicas"])
    changes = run({"spec": {"replicas": 1}}, {"spec": {"replicas": 2}}, extra=extra)
    assert changes[0].forces_replacement


def test_sensitive_paths_are_redacted_even_inside_a_larger_change() -> None:
    sensitive = PathMatcher(["stringData"])
    changes = run({"stringData": {"token": "old-secret"}}, {"stringData": {"token": "new-secret"}}, sensitive=sensitive)
    assert [(c.path, c.before, c.after, c.sensitive) for c in changes] == [
        ("stringData.token", REDACTED, REDACTED, True)]
    env = PathMatcher(["environment.variables.TOKEN"])
    changes = run({}, {"environment": {"variables": {"TOKEN": "s3cr3t", "MODE": "x"}}}, sensitive=env)
    assert changes[0].after == {"variables": {"TOKEN": REDACTED, "MODE": "x"}} and changes[0].sensitive


def test_secret_paths_from_state_are_redacted() -> None:
    changes = run({"url": "https://hooks.example/old"}, {"url": "https://hooks.example/new"}, secrets=[("url",)])
    assert (changes[0].before, changes[0].after, changes[0].sensitive) == (REDACTED, REDACTED, True)


def test_unknowns_are_spelled_out() -> None:
    changes = run({"role": "arn:old", "nested": {"a": "x"}}, {"role": UNKNOWN, "nested": {"a": UNKNOWN}})
    assert [(c.path, c.after) for c in changes] == [("nested.a", UNKNOWN_AFTER_APPLY), ("role", UNKNOWN_AFTER_APPLY)]


def test_creation_changes_list_top_level_inputs_redacted() -> None:
    norm = Normalized({}, {"name": "x", "password": "p", "role": UNKNOWN, "cfg": {"a": [UNKNOWN]}})
    changes = creation_changes(norm, sensitive=PathMatcher(["password"]))
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("cfg", None, {"a": [UNKNOWN_AFTER_APPLY]}), ("name", None, "x"), ("password", None, REDACTED),
        ("role", None, UNKNOWN_AFTER_APPLY)]


def test_unknowns_are_spelled_out_only_where_a_value_is_exactly_the_sentinel() -> None:
    """A value holding no unknown is shown as it is (the same object, values are never changed);
    one holding it anywhere, as a value, is spelled out there, not in keys nor in longer strings."""
    plain = {"a": [1, {"b": "x"}], "c": f"not {UNKNOWN}"}
    deep = {"a": [1, {"b": UNKNOWN}], UNKNOWN: "key", "c": f"{UNKNOWN}!", "d": [UNKNOWN, 2.5, None]}
    norm = Normalized({}, {"plain": plain, "deep": deep, "odd": {1: UNKNOWN}})
    after = {c.path: c.after for c in creation_changes(norm, sensitive=PathMatcher([]))}
    assert after["plain"] is plain
    assert after["deep"] == {"a": [1, {"b": UNKNOWN_AFTER_APPLY}], UNKNOWN: "key", "c": f"{UNKNOWN}!",
                             "d": [UNKNOWN_AFTER_APPLY, 2.5, None]}
    assert after["odd"] == {1: UNKNOWN_AFTER_APPLY}  # keys orjson does not write: walked



def test_creation_changes_share_equal_scalar_changes_within_one_plan() -> None:
    made: dict = {}
    first = creation_changes(Normalized({}, {"a": 1, "b": "x", "c": UNKNOWN, "d": 0.0, "e": [1]}),
                             sensitive=PathMatcher([]), made=made)
    second = creation_changes(Normalized({}, {"a": True, "b": "x", "c": UNKNOWN, "d": -0.0, "e": [1]}),
                              sensitive=PathMatcher([]), made=made)
    alone = creation_changes(Normalized({}, {"a": True, "b": "x", "c": UNKNOWN, "d": -0.0, "e": [1]}),
                             sensitive=PathMatcher([]))
    assert [repr(c) for c in second] == [repr(c) for c in alone]  # True is not 1, -0.0 is not 0.0
    assert second[1] is first[1] and second[2] is first[2] and second[2].after == UNKNOWN_AFTER_APPLY
    assert second[0] is not first[0] and second[3] is not first[3]

_unknown_trees = st.recursive(
    st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 2.0, -0.0]),
              st.sampled_from(["", "a", UNKNOWN, f'"{UNKNOWN}"', f"{UNKNOWN}:", f"[{UNKNOWN}", "null"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["a", "b", UNKNOWN, f'"{UNKNOWN}"']), inner, max_size=4)),
    max_leaves=16)


@settings(max_examples=500, deadline=None)
@given(_unknown_trees)
def test_unknowns_read_back_through_json_are_what_the_walk_spells(value) -> None:
    """The orjson round trip of a value holding the sentinel gives exactly what the Python walk
    gives: the same values and types, the sentinel spelled out only where it is a whole value."""
    import json

    fast, walked = diff_module._unknowns(value), diff_module._spell_unknowns(value)
    assert json.dumps(fast) == json.dumps(walked) and repr(fast) == repr(walked)


# -- the walk reports exactly what deepdiff reports ---------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.5]),
                     st.sampled_from(["", "a", "b", "x"]))
_trees = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "c", "__d"]), inner, max_size=4)),
    max_leaves=20)


def _mutated(draw, value):
    """``value`` with a few random edits (so the pair shares structure, as prior and desired do)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(_trees)
    if isinstance(value, dict):
        out = {k: _mutated(draw, v) for k, v in value.items() if draw(st.integers(0, 5))}
        if draw(st.booleans()):
            out[draw(st.sampled_from(["a", "b", "e"]))] = draw(_trees)
        return out
    if isinstance(value, list):
        out = [_mutated(draw, v) for v in value]
        if draw(st.booleans()):
            out.insert(draw(st.integers(0, len(out))), draw(_trees))
        elif out and draw(st.booleans()):
            out.pop(draw(st.integers(0, len(out) - 1)))
        return out
    return value


@st.composite
def _pairs(draw):
    before = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "tags", "__x"]), _trees, max_size=5))
    return before, _mutated(draw, before)


def _deepdiff_reference(before, after):
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent

    tree = DeepDiff(before, after, view="tree", threshold_to_diff_deeper=0, verbose_level=1,
                    ignore_private_variables=False)
    shown = lambda v: diff_module._ABSENT if v is notpresent else v  # noqa: E731
    return sorted((repr(tuple(level.path(output_format="list"))), repr(shown(level.t1)), repr(shown(level.t2)))
                  for levels in tree.values() for level in levels)


@settings(max_examples=400, deadline=None)
@given(_pairs())
def test_changed_paths_match_deepdiff(pair) -> None:
    before, after = pair
    ours = sorted((repr(p), repr(a), repr(b)) for p, a, b in diff_module._changed_paths(before, after))
    assert ours == _deepdiff_reference(before, after)


def test_lists_of_objects_pair_by_index_and_scalar_lists_use_deepdiff() -> None:
    before = {"v": [{"w": 1}, {"w": 2}], "s": [1, 2, 3]}
    after = {"v": [{"w": 1}, {"w": 3}, {"w": 4}], "s": [1, 3]}
    ours = sorted((repr(p), repr(a), repr(b)) for p, a, b in diff_module._changed_paths(before, after))
    assert ours == _deepdiff_reference(before, after)
    assert ("('v', 1, 'w')", "2", "3") in ours


def test_deepdiff_is_imported_without_the_array_libraries_and_reports_the_same() -> None:
    """In a fresh process (as the CLI runs), comparing lists of scalars imports deepdiff without
    numpy, pandas or polars, and reports what deepdiff with them reports here."""
    import json
    import subprocess
    import sys

    from mlops_infra.plan.diff import _ABSENT, _changed_paths

    pairs = [(["a", "b", "c"], ["a", "c", "d"]), ([1, 2, 3], [3, 2, 1]), ([1, "1", True, None, 1.5], [True, 1, "1"]),
             (["logs:CreateLogStream", "logs:PutLogEvents"], ["sagemaker:Search"]), ([], ["x"]), ([0.5, 2], [])]
    code = ("import json, sys; from mlops_infra.plan.diff import _changed_paths, _ABSENT\n"
            "pairs = json.loads(sys.stdin.read())\n"
            "out = [[[list(p), None if x is _ABSENT else x, None if y is _ABSENT else y, x is _ABSENT, y is _ABSENT]"
            " for p, x, y in sorted(_changed_paths(a, b), key=repr)] for a, b in pairs]\n"
            "print(json.dumps([out, sorted(m for m in ('numpy', 'pandas', 'polars') if m in sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(pairs), capture_output=True, text=True,
                          check=True)
    fresh, loaded = json.loads(done.stdout)

    here = [[[list(p), None if x is _ABSENT else x, None if y is _ABSENT else y, x is _ABSENT, y is _ABSENT]
             for p, x, y in sorted(_changed_paths(a, b), key=repr)] for a, b in pairs]
    assert loaded == [] and fresh == json.loads(json.dumps(here))


def test_changes_built_by_assignment_are_the_frozen_changes_their_fields_make() -> None:
    """``AttributeChange.added`` and ``ResourceChange.built`` (no setattr per field) give what the
    constructors give: equal, the same repr, frozen, pickled and replaced as dataclasses."""
    import dataclasses
    import pickle

    from mlops_infra.plan.model import Action, Reason, ResourceChange

    added = AttributeChange.added("tags", {"a": "b"})
    assert type(added) is AttributeChange and added == AttributeChange("tags", None, {"a": "b"})
    assert repr(added) == repr(AttributeChange("tags", None, {"a": "b"}, False, False))
    fields = ("urn:a", "t:m:T", "a", Action.REPLACE, Reason("new", "m"), (added,), "endpoints.a", "model", True,
              True, "why")
    built = ResourceChange.built(*fields)
    assert type(built) is ResourceChange and built == ResourceChange(*fields) and repr(built) == repr(ResourceChange(*fields))
    assert pickle.loads(pickle.dumps(built)) == built and dataclasses.replace(built, name="b").name == "b"
    for obj, field in ((added, "after"), (built, "urn"), (built, "blocked")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, None)


def test_an_engine_key_met_first_by_the_scalar_shortcut_is_left_out():
    """``new_resource_changes``' shortcut for str/int/bool inputs dropped an engine key (``__``) only once the
    shared path cache knew it: the first resource of a process showed it as a change without a path
    (audit closing-44a-1)."""
    from mlops_infra.plan import diff
    from mlops_infra.plan.rules import matcher, rule_for

    rule = rule_for("aws:s3/bucket:Bucket", True)
    diff._CREATED_PATHS.pop("__engineFlagFirstSeen", None)
    changes = diff.new_resource_changes({"__engineFlagFirstSeen": "x", "bucket": "b"}, made={}, name="b", rule=rule,
                                        lookup=lambda urn, output: None, secrets_provider=None,
                                        sensitive=matcher(rule.sensitive))
    assert [(c.path, c.after) for c in changes] == [("bucket", "b")]
