"""The smallest edit of FILE: only the edited lines change, byte for byte; idempotent; every style."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.promote.edit import EditError, Pin, edit_overrides, format_scalar
from mlops_infra.spec import parse_system
from tests.support.promotion import REFERENCE

VERSION = "endpoints.scorer.model.version"
FRAUD = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """Lines only in ``before`` and lines only in ``after`` (an edit that keeps everything else)."""
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def effective_version(text: str, env: str) -> int:
    loaded = parse_system(text, "x.yaml", env)
    assert loaded.ok, loaded.diagnostics
    return loaded.system.endpoints[0].model.version


def test_existing_key_changes_only_its_value():
    text = REFERENCE.read_text(encoding="utf-8")
    edit = edit_overrides(text, "staging", [Pin(VERSION, 3)])
    assert changed_lines(text, edit.after) == (["      endpoints.scorer.model.version: 13\n"],
                                               ["      endpoints.scorer.model.version: 3\n"])
    assert edit.changed_keys == (VERSION,)
    assert effective_version(edit.after, "staging") == 3
    assert edit_overrides(edit.after, "staging", [Pin(VERSION, 3)]).after == edit.after  # idempotent


def test_missing_key_is_one_new_line_after_the_last_override():
    text = REFERENCE.read_text(encoding="utf-8")
    edit = edit_overrides(text, "prod", [Pin(VERSION, 1)])
    removed, added = changed_lines(text, edit.after)
    assert removed == [] and added == ["      endpoints.scorer.model.version: 1\n"]
    lines = edit.after.splitlines()
    assert lines[lines.index("      endpoints.scorer.model.version: 1") - 1] == \
        "      endpoints.scorer.replicas: {min: 3, max: 20}"
    assert effective_version(edit.after, "prod") == 1


def test_comment_after_the_value_and_quote_style_stay():
    text = "environments:\n  s:\n    overrides:\n      'endpoints.scorer.model.version': '13'   # pinned by hand\n"
    edit = edit_overrides(text, "s", [Pin(VERSION, 3)])
    assert edit.after == "environments:\n  s:\n    overrides:\n      'endpoints.scorer.model.version': 3   # pinned by hand\n"
    text = "environments:\n  s:\n    overrides:\n      x.y.image: 'a:1'  # c\n"
    assert edit_overrides(text, "s", [Pin("x.y.image", "b@sha256:00")]).after == \
        "environments:\n  s:\n    overrides:\n      x.y.image: 'b@sha256:00'  # c\n"


def test_environment_without_overrides_gets_a_block():
    text = ("environments:\n  staging:\n    target: {kind: aws}\n    promote_from: dev   # from dev\n\n"
            "  # prod comes last\n  prod:\n    target: {kind: aws}\n")
    edit = edit_overrides(text, "staging", [Pin(VERSION, 3)])
    assert edit.after == ("environments:\n  staging:\n    target: {kind: aws}\n    promote_from: dev   # from dev\n"
                          "    overrides:\n      endpoints.scorer.model.version: 3\n\n"
                          "  # prod comes last\n  prod:\n    target: {kind: aws}\n")


def test_flow_style_environments():
    text = "environments:\n  staging: {target: {kind: aws}, promote_from: dev}  # flow\n"
    first = edit_overrides(text, "staging", [Pin(VERSION, 3)]).after
    assert first == ("environments:\n  staging: {target: {kind: aws}, promote_from: dev, "
                     "overrides: {endpoints.scorer.model.version: 3}}  # flow\n")
    second = edit_overrides(first, "staging", [Pin("endpoints.scorer.model.name", "other")]).after
    assert second.endswith("overrides: {endpoints.scorer.model.version: 3, endpoints.scorer.model.name: other}}  # flow\n")
    assert edit_overrides(second, "staging", [Pin(VERSION, 4)]).after == second.replace("version: 3", "version: 4")
    empty = "environments:\n  staging: {overrides: {}}\n"
    assert edit_overrides(empty, "staging", [Pin(VERSION, 3)]).after == \
        "environments:\n  staging: {overrides: {endpoints.scorer.model.version: 3}}\n"


def test_null_overrides_and_crlf_line_endings():
    text = "environments:\r\n  staging:\r\n    overrides:\r\n  prod: {}\r\n"
    after = edit_overrides(text, "staging", [Pin(VERSION, 3)]).after
    assert after == "environments:\r\n  staging:\r\n    overrides:\r\n      endpoints.scorer.model.version: 3\r\n  prod: {}\r\n"
    assert yaml.safe_load(after)["environments"]["staging"]["overrides"] == {VERSION: 3}


def test_last_line_without_newline_and_nested_last_value():
    text = "environments:\n  s:\n    overrides:\n      endpoints.scorer.replicas:\n        min: 1\n        max: 2"
    after = edit_overrides(text, "s", [Pin(VERSION, 3)]).after
    assert after == text + "\n      endpoints.scorer.model.version: 3"
    assert yaml.safe_load(after)["environments"]["s"]["overrides"][VERSION] == 3


@pytest.mark.parametrize(("value", "written"), [
    (3, "3"), ("plain/image:1.2@sha256:ab", "plain/image:1.2@sha256:ab"), ("true", '"true"'), ("123", '"123"'),
    ("a: b", '"a: b"'), ("#x", '"#x"'), ("ünï", '"ünï"'),
])
def test_scalars_read_back_as_written(value, written):
    assert format_scalar(value) == written
    assert yaml.safe_load(f"v: {written}")["v"] == value


def test_unknown_environment_and_non_mapping_overrides_are_refused():
    with pytest.raises(EditError, match="no environment qa"):
        edit_overrides("environments:\n  dev: {}\n", "qa", [Pin(VERSION, 1)])
    with pytest.raises(EditError, match="line 3: the overrides of environment dev are not a mapping"):
        edit_overrides("environments:\n  dev:\n    overrides: [1]\n", "dev", [Pin(VERSION, 1)])


SECTIONS = "apiVersion: mlops-infra/v1\nkind: MLSystem\n# a comment\nmetadata: {name: x}\n"


@pytest.mark.parametrize(("text", "region"), [
    # the environments entry alone is composed: from its key to the next top-level line
    (SECTIONS + "environments:\n  s:\n    overrides:\n      a.b: 1\n# trailing\nendpoints: []\n", "section"),
    (SECTIONS + '"environments" :\n  s:\n    promote_from: dev\n', "section"),
    # an alias of an anchor defined before it: the whole text
    ("defaults: &t {kind: aws}\nenvironments:\n  s:\n    target: *t\n", "whole"),
    ("v: &v 2\nenvironments:\n  s:\n    overrides: {a.b: *v}\n", "whole"),
    # a flow-style root, and a second document: the whole text
    ("{environments: {s: {promote_from: dev}}}\n", "whole"),
    ("environments:\n  s: {}\nother: |\n  environments:\nx: 1\nenvironments2: {}\n", "section"),
])
def test_only_the_environments_entry_is_composed_when_it_stands_alone(text, region):
    edit = edit_overrides(text, "s", [Pin(VERSION, 3)])
    whole = yaml.safe_load(text)
    reread = yaml.safe_load(edit.after)
    assert reread["environments"]["s"]["overrides"][VERSION] == 3
    reread["environments"]["s"]["overrides"].pop(VERSION)
    if not reread["environments"]["s"]["overrides"]:
        reread["environments"]["s"].pop("overrides")
    assert reread == whole
    start, end = edit.region
    assert edit.after[:start] == text[:start] and edit.after[len(edit.after) - (len(text) - end):] == text[end:]
    if region == "whole":
        assert (start, end) == (0, len(text))
    else:
        assert text[start:].startswith(("environments", '"environments"'))
        assert (start, end) != (0, len(text))


def test_an_environments_line_inside_a_block_scalar_is_not_taken_for_the_key():
    text = "notes: |\n  environments:\n    s: {}\nenvironments:\n  s: {}\n"
    edit = edit_overrides(text, "s", [Pin(VERSION, 3)])
    assert edit.after == "notes: |\n  environments:\n    s: {}\nenvironments:\n  s: {overrides: {" + VERSION + ": 3}}\n"


def test_the_diff_of_a_large_file_shows_the_changed_lines_at_their_line_numbers():
    import difflib

    filler = "".join(f"k{i}: {i}\n" for i in range(3000))
    text = filler + "environments:\n  s:\n    overrides:\n      a.b: 1\n" + filler.replace("k", "z")
    edit = edit_overrides(text, "s", [Pin(VERSION, 3), Pin("a.b", 2)])
    expected = "".join(difflib.unified_diff(text.splitlines(True), edit.after.splitlines(True), "a/m.yaml",
                                            "b/m.yaml", n=2))
    assert edit.diff("m.yaml") == expected
    assert "@@ -3002,5 +3002,6 @@" in expected
    assert edit.diff("m.yaml", context=0) == "".join(difflib.unified_diff(
        text.splitlines(True), edit.after.splitlines(True), "a/m.yaml", "b/m.yaml", n=0))


def test_an_alias_is_edited_where_it_is_written_not_at_its_anchor():
    text = "v: &v 13\nenvironments:\n  s:\n    overrides:\n      " + VERSION + ": *v  # shared\n"
    after = edit_overrides(text, "s", [Pin(VERSION, 3)]).after
    assert after == text.replace("*v  # shared", "3  # shared")


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"], ids=["cr", "crlf", "lf"])
@pytest.mark.parametrize("env", ["dev", "staging"])
def test_a_new_pin_goes_into_its_environment_whatever_the_line_endings(newline: str, env: str):
    """Audit yamledge-5: CR is a YAML 1.2 line break (section 5.4, [28] b-break), and the loader reads a
    CR-only file line by line; the new line went to the end of the file (the last environment's
    overrides) with an LF, before."""
    text = FRAUD.replace("\n", newline)
    after = edit_overrides(text, env, [Pin("endpoints.scorer.model.name", "fraud-model-v2")]).after
    envs = yaml.safe_load(after)["environments"]
    assert envs[env]["overrides"]["endpoints.scorer.model.name"] == "fraud-model-v2"
    assert [name for name, e in envs.items() if "endpoints.scorer.model.name" in (e.get("overrides") or {})] == [env]
    assert after.replace(newline, "\n").count("\n") == text.replace(newline, "\n").count("\n") + 1
    assert after.count(newline) == text.count(newline) + 1 and after.replace(newline, "").count("\r") == 0
    assert after.replace(newline, "").count("\n") == 0  # every line ends as the file's lines do


def test_an_edit_error_counts_cr_only_lines():
    text = "kind: MLSystem\renvironments:\r  staging:\r    overrides: &ov {a.b: 1}\r  prod: {overrides: *ov}\r"
    with pytest.raises(EditError, match=r"^line 4: environments\.staging\.overrides shares the anchor &ov"):
        edit_overrides(text, "staging", [Pin(VERSION, 1)])
