"""plan_promotion: DST's system after the edit carries the pins; an edit that changes anything else is refused."""

from __future__ import annotations

import pytest

from mlops_infra.promote.edit import Pin
from mlops_infra.promote.promote import _check_edit, plan_promotion
from mlops_infra.spec import load_system, parse_system
from tests.support.promotion import REFERENCE, dev_view, staging_view
from tests.support.text_edits import line_of


def test_dst_system_after_the_edit_is_what_the_edited_file_validates_to():
    systems = {env: load_system(REFERENCE, env).system for env in ("dev", "staging")}
    promotion = plan_promotion(REFERENCE.read_text(), "m.yaml", "dev", systems["dev"], dev_view(), "staging",
                               systems["staging"], staging_view())
    reread = parse_system(promotion.edit.after, "m.yaml", "staging").system
    assert promotion.dst_system == reread
    assert promotion.dst_system.endpoints[0].model.version == 3


def test_an_edit_that_changes_more_than_its_pins_is_a_bug():
    text = REFERENCE.read_text()
    pins = [Pin("endpoints.scorer.model.version", 3)]
    good = text.replace("model.version: 13", "model.version: 3")
    _check_edit(text, good, "staging", pins)
    with pytest.raises(RuntimeError, match="changes more than its pins"):
        _check_edit(text, good.replace("threshold: 0.2", "threshold: 0.3"), "staging", pins)
    with pytest.raises(RuntimeError, match="changes more than its pins"):
        _check_edit(text, text, "staging", pins)


def test_a_pin_read_back_as_another_type_is_a_bug():
    text = REFERENCE.read_text()
    pins = [Pin("endpoints.scorer.model.version", 3)]
    with pytest.raises(RuntimeError, match="changes more than its pins"):
        _check_edit(text, text.replace("model.version: 13", "model.version: 3.0"), "staging", pins)


def test_the_loaders_data_stands_for_the_original_text():
    from mlops_infra.spec.loader import parse_document

    text = REFERENCE.read_text()
    data = parse_document(text, "m.yaml")[0].data
    pins = [Pin("endpoints.scorer.model.version", 3)]
    _check_edit(text, text.replace("model.version: 13", "model.version: 3"), "staging", pins, data)
    with pytest.raises(RuntimeError, match="changes more than its pins"):
        _check_edit(text, text.replace("model.version: 13", "model.version: 3").replace("threshold: 0.2",
                                                                                          "threshold: 0.3"),
                    "staging", pins, data)


def test_dst_systems_item_index_describes_the_pinned_endpoints():
    """The edited system is built with ``MLSystem.with_updates``: its cached item index (which the
    compilers read, e.g. an alarm's endpoint) is rebuilt, not copied from the system before the pins."""
    systems = {env: load_system(REFERENCE, env).system for env in ("dev", "staging")}
    before = systems["staging"].item("endpoints", "scorer")  # the index is built (and cached) before the edit
    assert before.model.version == 13
    promotion = plan_promotion(REFERENCE.read_text(), "m.yaml", "dev", systems["dev"], dev_view(), "staging",
                               systems["staging"], staging_view())
    after = promotion.dst_system
    assert after.item("endpoints", "scorer") is after.endpoints[0]
    assert after.item("endpoints", "scorer").model.version == 3
    reread = parse_system(promotion.edit.after, "m.yaml", "staging").system
    assert after.positions == reread.positions
    assert after.registering == reread.registering


def test_dst_plan_decides_the_pinned_version_for_every_reader_of_the_endpoint():
    """Staging's graph after the promotion records the decision for v3 (registered and approved),
    also where an alarm reads its endpoint by name (before the fix, the stale index gave v13 there,
    overwriting the endpoint's own decision)."""
    from mlops_infra.compile import compile_system

    systems = {env: load_system(REFERENCE, env).system for env in ("dev", "staging")}
    systems["staging"].item("endpoints", "scorer")
    view = staging_view(staging_has_v14=3)
    promotion = plan_promotion(REFERENCE.read_text(), "m.yaml", "dev", systems["dev"], dev_view(), "staging",
                               systems["staging"], view)
    graph = compile_system(promotion.dst_system, "staging", registry=view)
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["pinned"], decision["serve"], decision["state"]) == (3, 3, "ready")


LATER = "      endpoints.scorer.model: {name: fraud-model, version: 13}   # staging pinned\n"
PIN = "      endpoints.scorer.model.version: 13\n"


def _staging_as_served(text: str):
    """Staging's system as the file makes it serve: the later override alone (the dead pin dropped).
    The document with the dead pin is refused by validate (override-replaced), so promote's own
    refusal is exercised with what staging really runs."""
    return parse_system(text.replace(PIN.replace("13", "3"), "").replace(PIN, ""), "m.yaml", "staging").system


@pytest.mark.parametrize("existing", [13, 3])  # 13: the pin edits the line; 3: it already holds the pin (no edit)
def test_a_later_override_that_replaces_the_pin_is_refused_at_its_line(existing):
    """Audit finding 3: overrides apply in file order (spec.effective.apply_overrides), so a later
    endpoints.scorer.model override wins over the endpoints.scorer.model.version the edit sets; the
    report and plan showed v3 while the file makes staging serve v13. Validate refuses the same
    file (override-replaced at the dead pin, audit envs-1: one rule, spec.effective.replaced_overrides)."""
    from mlops_infra.errors import UserError

    text = REFERENCE.read_text()
    assert text.count(PIN) == 1
    text = text.replace(PIN, f"      endpoints.scorer.model.version: {existing}\n{LATER}")
    [dead] = [d for d in parse_system(text, "m.yaml", "staging").diagnostics if d.is_error]
    assert dead.code == "override-replaced"
    assert dead.location.line == line_of(text, f"endpoints.scorer.model.version: {existing}\n{LATER[:30]}")
    systems = {"dev": parse_system(text, "m.yaml", "dev").system, "staging": _staging_as_served(text)}
    assert systems["staging"].endpoints[0].model.version == 13  # what the file makes staging serve
    with pytest.raises(UserError) as refused:
        plan_promotion(text, "m.yaml", "dev", systems["dev"], dev_view(), "staging", systems["staging"], staging_view())
    error = refused.value
    assert error.summary == ("cannot pin fraud-model v3 on endpoint scorer in staging: the override "
                             "endpoints.scorer.model comes later and makes it serve fraud-model v13")
    assert "Nothing was written" in error.detail
    line = text.splitlines().index(LATER.rstrip("\n")) + 1
    assert [(d.location.line if d.location else None) for d in error.diagnostics] == [line]


def test_a_later_override_that_holds_the_pin_still_replaces_it():
    """The same later override already holding the mapped version: the pin line is still dead (the
    next edit of the later override would change what staging serves while the pin says v3), so
    validate reports override-replaced at the pin and promote refuses at the later override, by the
    one rule (spec.effective.replaced_overrides; audit envs-1). It used to be accepted."""
    from mlops_infra.errors import UserError

    text = REFERENCE.read_text().replace(PIN, PIN.replace("13", "3") + LATER.replace("13", "3"))
    [dead] = [d for d in parse_system(text, "m.yaml", "staging").diagnostics if d.is_error]
    assert dead.code == "override-replaced"
    assert dead.location.line == line_of(text, f"endpoints.scorer.model.version: 3\n{LATER[:30]}")
    systems = {"dev": parse_system(text, "m.yaml", "dev").system, "staging": _staging_as_served(text)}
    with pytest.raises(UserError) as refused:
        plan_promotion(text, "m.yaml", "dev", systems["dev"], dev_view(), "staging", systems["staging"],
                       staging_view())
    assert refused.value.summary == ("cannot pin fraud-model v3 on endpoint scorer in staging: the override "
                                     "endpoints.scorer.model comes later and replaces the pin")
    line = line_of(text, LATER.replace("13", "3").rstrip("\n"))
    assert [(d.location.line if d.location else None) for d in refused.value.diagnostics] == [line]
