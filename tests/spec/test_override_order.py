"""Override order (audit envs-1): an override a later one of its environment replaces is an error at its line."""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.effective import replaced_overrides
from tests.support.text_edits import edit, line_of

PROD = "      endpoints.scorer.replicas: {min: 3, max: 20}\n"


def test_an_override_a_later_enclosing_one_replaces_is_an_error_at_its_line(reference_text: str) -> None:
    """prod says replicas.min 3, then replicas {min: 1, max: 20}: the stack got min 1 and validate was silent."""
    nested = "      endpoints.scorer.replicas.min: 3\n"
    text = edit(reference_text, PROD, nested + "      endpoints.scorer.replicas: {min: 1, max: 20}\n")
    result = parse_system(text, env="prod")
    [d] = [d for d in result.diagnostics if d.is_error]
    assert d.code == "override-replaced"
    assert d.location.line == line_of(text, nested)
    assert d.summary == ('Override "endpoints.scorer.replicas.min" has no effect in environment prod: the later '
                         'override "endpoints.scorer.replicas" replaces it')
    assert "Put this override after endpoints.scorer.replicas" in d.detail
    assert "endpoints.scorer.replicas: {..., min: <this value>}" in d.detail
    assert result.system is None


def test_the_nested_override_after_the_enclosing_one_merges(reference_text: str) -> None:
    text = edit(reference_text, PROD, "      endpoints.scorer.replicas: {min: 1, max: 20}\n"
                                      "      endpoints.scorer.replicas.min: 3\n")
    result = parse_system(text, env="prod")
    assert result.ok
    replicas = result.system.endpoints[0].replicas
    assert (replicas.min, replicas.max) == (3, 20)


def test_only_the_same_environment_and_whole_segments_replace(reference_text: str) -> None:
    """staging's endpoints.scorer.model.version is not replaced by prod's replicas, nor by another
    environment's endpoints.scorer.model; a deeper path is not enclosed by a sibling that only shares
    its text prefix."""
    text = edit(reference_text, PROD, PROD + "      endpoints.scorer.model: {name: fraud-model, version: 12}\n")
    assert parse_system(text).ok
    assert replaced_overrides(["endpoints.scorer.replicas_x.min", "endpoints.scorer.replicas"]) == {}
    assert replaced_overrides(["a.b.c.d", "a.b", "a.b.c", "x.y"]) == {0: 2}  # the last that replaces it
    assert replaced_overrides(["a.b", "a.b.c"]) == {}  # a merge, not a replacement


@pytest.mark.parametrize("env", ["dev", "staging", "prod", None])
def test_the_reference_has_no_replaced_override(reference_text: str, env) -> None:
    assert not [d for d in parse_system(reference_text, env=env).diagnostics if d.code == "override-replaced"]
