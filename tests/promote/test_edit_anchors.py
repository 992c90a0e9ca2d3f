"""Audit finding xpromote-5: overrides shared through a YAML anchor are refused with the anchor, its line and
who shares it, not an "internal error ... bug in mlops-infra".

PyYAML composes an alias (``*name``) as the very node of its anchor (``&name``), so editing the pinned value
of ``staging: {overrides: &staging_ov {...}}`` edits prod's ``overrides: *staging_ov`` too. ``validate``
accepts such a file (its merge-key error recommends aliasing a whole value); the promotion's own check of the
edit used to raise ``RuntimeError`` after the edit had been made in memory."""

from __future__ import annotations

import pytest

from mlops_infra.promote.edit import EditError, Pin, edit_overrides
from tests.support.cli import run_cli
from tests.support.promotion import copy_reference, reference_registries

PIN = [Pin("endpoints.scorer.model.version", 3)]
SHARED = """environments:
  staging:
    overrides: &staging_ov
      endpoints.scorer.model.version: 13
  prod:
    overrides: *staging_ov
"""
SHARED_VALUE = """environments:
  staging:
    overrides:
      endpoints.scorer.model.version: &v 13
  prod:
    overrides: {endpoints.scorer.model.version: *v}
"""


@pytest.mark.parametrize(("env", "other"), [("staging", "prod"), ("prod", "staging")])
def test_shared_overrides_name_the_anchor_its_line_and_the_other_environment(env, other):
    with pytest.raises(EditError) as raised:
        edit_overrides(SHARED, env, PIN)
    assert str(raised.value) == (
        f"line 3: environments.{env}.overrides shares the anchor &staging_ov with environment {other}: a promotion "
        f"into {env} would pin environment {other} too. Write environments.{env}.overrides out (its own entries, "
        "no anchor or alias), then promote again")


def test_a_shared_pinned_value_is_refused_where_it_is_the_anchor_and_replaced_where_it_is_an_alias():
    with pytest.raises(EditError, match=r"^line 4: environments\.staging\.overrides\.endpoints\.scorer\.model\."
                                        r"version shares the anchor &v with environment prod: "):
        edit_overrides(SHARED_VALUE, "staging", PIN)
    edit = edit_overrides(SHARED_VALUE, "prod", PIN)  # the alias is prod's own text: replaced by the value
    assert edit.after == SHARED_VALUE.replace("{endpoints.scorer.model.version: *v}",
                                              "{endpoints.scorer.model.version: 3}")


def test_an_anchor_nobody_else_uses_is_edited():
    text = SHARED.replace("    overrides: *staging_ov\n", "    overrides: {}\n")
    assert edit_overrides(text, "staging", PIN).after == text.replace("version: 13", "version: 3")


def test_the_cli_refuses_the_anchored_reference_and_leaves_the_file(tmp_path):
    file = copy_reference(tmp_path)
    text = file.read_text(encoding="utf-8")
    anchored = text.replace("    overrides:\n      endpoints.scorer.model.version: 13\n",
                            "    overrides: &staging_ov\n      endpoints.scorer.model.version: 13\n")
    anchored = anchored.replace("    overrides:\n      endpoints.scorer.replicas: {min: 3, max: 20}\n",
                                "    overrides: *staging_ov\n")
    assert anchored.count("staging_ov") == 2
    file.write_text(anchored, encoding="utf-8")
    line = anchored[:anchored.index("&staging_ov")].count("\n") + 1
    before = file.read_bytes()
    assert run_cli("validate", str(file)).code == 0
    for extra in ([], ["--write"]):
        result = run_cli("promote", str(file), "--to", "staging", *reference_registries(tmp_path), *extra)
        assert result.code == 1, result.output
        assert "bug in mlops-infra" not in result.output and "internal error" not in result.output
        assert "cannot edit the overrides of staging" in result.stderr
        assert (f"line {line}: environments.staging.overrides shares the anchor &staging_ov with environment prod"
                in " ".join(result.stderr.split()))
        assert file.read_bytes() == before
