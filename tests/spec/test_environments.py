"""Environments: effective systems, overrides re-validated at the override's line, reported once."""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of


@pytest.mark.parametrize(("env", "replicas", "version"), [
    (None, (2, 10), 12), ("dev", (1, 2), 14), ("staging", (2, 10), 13), ("prod", (3, 20), 12),
])
def test_effective_system_per_environment(reference_text: str, env, replicas, version) -> None:
    result = parse_system(reference_text, env=env)
    assert result.ok
    scorer = result.system.endpoints[0]
    assert (scorer.replicas.min, scorer.replicas.max) == replicas
    assert scorer.model.version == version


def test_effective_system_shares_untouched_items(reference_text: str) -> None:
    base = parse_system(reference_text).system
    dev = parse_system(reference_text, env="dev").system
    assert dev.clusters[0].nodes.max == 1
    assert dev.monitors == base.monitors
    assert dev.data_sources == base.data_sources


def test_override_error_is_at_the_override_line_in_its_environment(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13", "      endpoints.scorer.model.version: 0")
    result = parse_system(text)
    assert not result.ok
    [d] = [d for d in result.diagnostics if d.is_error]
    assert d.code == "out-of-range"
    assert d.location.line == line_of(text, "endpoints.scorer.model.version: 0")
    assert d.detail.startswith("In environment staging:")


def test_selecting_a_clean_environment_ignores_another_environments_errors(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13", "      endpoints.scorer.model.version: 0")
    assert parse_system(text, env="prod").ok
    assert not parse_system(text, env="staging").ok


def test_unknown_environment_has_did_you_mean(reference_text: str) -> None:
    result = parse_system(reference_text, env="prd")
    [d] = [d for d in result.diagnostics if d.is_error]
    assert d.code == "unknown-environment"
    assert 'Did you mean "prod"?' in d.detail


def test_base_problem_is_reported_once_not_per_environment(reference_text: str) -> None:
    text = edit(reference_text, "    cluster: gpu-train", "    cluster: gpu-trian")
    result = parse_system(text)
    assert [d.code for d in result.diagnostics if d.is_error] == ["unknown-reference"]
    assert not result.diagnostics[0].detail.startswith("In environment")


def test_problem_only_an_override_causes_says_so(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13",
                "      endpoints.scorer.model.version: 13\n      endpoints.scorer.capture: null")
    [d] = [d for d in parse_system(text).diagnostics if d.is_error]
    assert d.code == "capture-required"
    assert d.detail.startswith("In environment staging:")


def test_override_path_problems_are_reported_even_when_the_base_is_invalid(reference_text: str) -> None:
    text = edit(reference_text, "    framework: pytorch", "    framework: torch")
    text = edit(text, "      endpoints.scorer.model.version: 13", "      endpoints.scorr.model.version: 13")
    codes = sorted(d.code for d in parse_system(text).diagnostics if d.is_error)
    assert codes == ["invalid-value", "unknown-override-path"]  # (plus dev's node warning, from partial checks)


@pytest.mark.parametrize(("key", "fragment"), [
    ("endpoint.scorer.replicas", 'names no section'),
    ("endpoints.scorer", "is incomplete"),
    ("data_sources.feature-snapshots.contract.freshness", '"contract" is not set'),
    ("endpoints.scorer.replicas.mn", 'unknown field "mn"'),
])
def test_override_path_messages(reference_text: str, key: str, fragment: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13", f"      {key}: 13")
    result = parse_system(text)
    [d] = [d for d in result.diagnostics if d.is_error]
    assert d.code == "unknown-override-path"
    assert fragment in d.summary
    assert d.location.line == line_of(text, f"      {key}: 13")
    assert d.detail


def test_metadata_override(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13",
                "      endpoints.scorer.model.version: 13\n      metadata.labels: {team: risk-staging}")
    result = parse_system(text, env="staging")
    assert result.ok
    assert result.system.metadata.labels == {"team": "risk-staging"}


def test_override_of_a_discriminated_channel(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13",
                "      endpoints.scorer.model.version: 13\n      channels.oncall.webhook_url: https://hooks.example.com/x")
    [d] = [d for d in parse_system(text).diagnostics if d.is_error]
    assert d.code == "plaintext-secret"
    assert d.location.line == line_of(text, "channels.oncall.webhook_url:")


def test_effective_system_indexes_its_own_items_even_after_the_base_indexed_its(reference_text: str) -> None:
    """An effective system is a copy of the base with the overridden items replaced: what the base
    had cached about its items (the name index of ``item()``, the positions the checks read) must
    not come along, or an environment's checks and compile would read the base's items."""
    from mlops_infra.spec.effective import apply_overrides, revalidate
    from mlops_infra.spec.loader import parse_document

    document, _ = parse_document(reference_text, "<string>")
    base = parse_system(reference_text).system
    scorer = base.endpoints[0].name
    assert base.item("endpoints", scorer) is base.endpoints[0] and base.positions["endpoints"][scorer] == 0
    data, redirects, problems = apply_overrides(document.data, "prod")
    prod, diagnostics = revalidate(base, data, redirects)
    assert not problems and not diagnostics
    assert prod.endpoints[0] is not base.endpoints[0]  # prod overrides the scorer's replicas
    assert prod.item("endpoints", scorer) is prod.endpoints[0]
    assert (prod.item("endpoints", scorer).replicas.min, prod.item("endpoints", scorer).replicas.max) == (3, 20)
    assert prod.positions == base.positions
