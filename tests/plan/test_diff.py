"""Attribute diff: paths, ordering, replacement marks, redaction and the equal fast path."""

from __future__ import annotations

import pytest

import mlops_infra.plan.diff as diff_module
from mlops_infra.plan.diff import creation_changes, diff_inputs
from mlops_infra.plan.model import REDACTED, UNKNOWN_AFTER_APPLY
from mlops_infra.plan.normalize import Normalized
from mlops_infra.plan.rules import PathMatcher
from mlops_infra.state.model import UNKNOWN

NONE = PathMatcher([])


def run(prior, desired, *, replace=NONE, keep=NONE, sensitive=NONE, extra=None, secrets=()):
    return diff_inputs(Normalized(prior, desired, list(secrets)), replace=replace, keep=keep, sensitive=sensitive,
                       extra_replace=extra)


def test_equal_inputs_skip_deepdiff(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("deepdiff must not run for equal inputs")

    monkeypatch.setattr(diff_module, "DeepDiff", boom)
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
