"""Partial checks: a document that fails validation still gets the semantic checks of its valid part.

Every error is reported at once, at its raw line; nothing is reported that only follows from leaving
an invalid item out (a reference to it, an override of it); errors outside any item (apiVersion,
kind, metadata, the root) are reported alone, as before.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from mlops_infra.spec import parse_system
from mlops_infra.spec.partial import prune_invalid
from tests.support.reference import without_reference_warnings
from tests.support.text_edits import edit, line_of

RANKER = """  - name: ranker
    model: {name: fraud-model, version: 3}
    accelerator: {type: A10, count: 1}
    replicas: {min: 1, max: 1}
    rollout: {strategy: all_at_once}

monitors:
"""




def errors(text: str, env: str | None = None) -> list[tuple[str, int]]:
    result = parse_system(text, "partial.yaml", env=env)
    assert result.system is None and not result.ok
    return [(d.code, d.location.line) for d in result.diagnostics if d.is_error]


def gpu_typo(text: str) -> str:
    """A semantic error in endpoint scorer: it shows that the partial checks ran."""
    return edit(text, "type: A10G, count: 1}\n    replicas", "type: A10, count: 1}\n    replicas")


def two_defects(reference_text: str) -> str:
    """Endpoint scorer (item 0) has a type error; endpoint ranker (item 1) an unknown GPU type."""
    text = edit(reference_text, "\nmonitors:\n", "\n" + RANKER)
    return edit(text, "replicas: {min: 2, max: 10}", 'replicas: {min: "2", max: 10}')


def test_a_structural_and_a_semantic_error_are_reported_together(reference_text: str) -> None:
    text = two_defects(reference_text)
    result = parse_system(text, "partial.yaml")
    assert result.system is None
    found = [(d.code, d.location.line, d.path) for d in result.diagnostics]
    assert found == [
        # the reference's own: python -m fraud.train on 4-GPU nodes (tests/support/reference.py)
        ("one-process-per-node", line_of(text, "command: [python, -m, fraud.train]"), ("training_jobs", 0, "command")),
        ("wrong-type", line_of(text, 'replicas: {min: "2"'), ("endpoints", 0, "replicas", "min")),
        ("unknown-accelerator", line_of(text, "type: A10, count: 1"), ("endpoints", 1, "accelerator", "type")),
    ]  # item 1 is item 0 of the pruned document: its path and line are the raw ones


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_selecting_an_environment_still_reports_both(reference_text: str, env: str) -> None:
    text = two_defects(reference_text)
    assert [code for code, _ in errors(text, env)] == ["wrong-type", "unknown-accelerator"]


def test_an_unknown_channel_is_reported_next_to_a_type_error(reference_text: str) -> None:
    text = edit(reference_text, "    threshold: 1%", "    threshold: [1%]")
    text = edit(text, "    notify: [ml-team]", "    notify: [ml-tean]")
    found = errors(text)
    assert found == [("invalid-value", line_of(text, "threshold: [1%]")),
                     ("unknown-reference", line_of(text, "notify: [ml-tean]"))]
    unknown = next(d for d in parse_system(text).diagnostics if d.code == "unknown-reference")
    assert 'Did you mean "ml-team"?' in unknown.detail


def test_a_reference_to_an_invalid_item_is_not_unknown(reference_text: str) -> None:
    # alert scorer-latency watches monitor latency; scorer rolls back on that alert
    text = gpu_typo(edit(reference_text, "    threshold: 250ms", "    threshold: [250ms]"))
    assert errors(text) == [("unknown-accelerator", line_of(text, "type: A10,")),
                            ("invalid-value", line_of(text, "threshold: [250ms]"))]


@pytest.mark.parametrize(("new", "codes"), [
    ("  - name: On_Call\n", ["invalid-format"]),  # the name itself is invalid: its fix is unknown
    ("  - nam: oncall\n", ["missing-field", "unknown-field"]),  # no name: any reference may mean it
])
def test_references_into_a_section_with_an_unnamed_invalid_item_are_not_unknown(
        reference_text: str, new: str, codes: list[str]) -> None:
    # alerts scorer-latency and scorer-errors notify channel oncall
    text = gpu_typo(edit(reference_text, "  - name: oncall\n", new))
    assert sorted(code for code, _ in errors(text)) == sorted([*codes, "unknown-accelerator"])


def test_a_real_dangling_reference_is_still_reported_beside_an_invalid_item(reference_text: str) -> None:
    text = edit(reference_text, "    threshold: 250ms", "    threshold: [250ms]")
    text = edit(text, "    monitor: errors", "    monitor: erors")
    found = parse_system(text).diagnostics
    unknown = next(d for d in found if d.code == "unknown-reference")
    assert unknown.location.line == line_of(text, "monitor: erors")
    assert '"latency"' in unknown.detail, "left-out items are still listed as known"


@pytest.mark.parametrize(("old", "new", "code"), [
    ("apiVersion: mlops-infra/v1", "apiVersion: mlops-infra/v2", "unsupported-api-version"),
    ("kind: MLSystem", "kind: MLSystems", "unsupported-kind"),
    ("  name: fraud-detection", "  name: Fraud_Detection", "invalid-format"),
    ("\nmodels:\n", "\nmodel:\n", "unknown-field"),
])
def test_an_error_outside_any_item_is_reported_alone(reference_text: str, old: str, new: str, code: str) -> None:
    text = edit(gpu_typo(reference_text), old, new)
    assert [c for c, _ in errors(text)] == [code]


def test_a_section_that_is_not_a_list_is_reported_alone(reference_text: str) -> None:
    text = gpu_typo(reference_text)
    start, end = text.index("channels:\n"), text.index("# One system")
    text = text[:start] + "channels: oncall\n\n" + text[end:]
    assert [c for c, _ in errors(text)] == ["wrong-type"]


@pytest.mark.parametrize("env", [None, "dev", "staging", "prod"])
def test_overrides_of_an_invalid_item_give_no_bogus_errors(reference_text: str, env: str | None) -> None:
    # every environment overrides endpoints.scorer.*; scorer is left out of the partial checks
    text = edit(reference_text, "replicas: {min: 2, max: 10}", 'replicas: {min: "2", max: 10}')
    text = edit(text, "    notify: [ml-team]", "    notify: [ml-tean]")
    result = parse_system(text, env=env)
    assert [(d.code, d.severity) for d in result.diagnostics] == [("one-process-per-node", "warning"),  # the reference's
                                                                   ("wrong-type", "error"),
                                                                   ("unknown-reference", "error")]


def test_environments_whose_overrides_are_intact_are_checked(reference_text: str) -> None:
    text = edit(reference_text, "    threshold: 0.2", "    threshold: [0.2]")
    text = edit(text, '      schedule: "0 3 * * 1"', '      schedule: "0 3 */2 * 1"')
    result = parse_system(text)
    found = [(d.code, d.severity, d.location.line) for d in without_reference_warnings(result.diagnostics)]
    schedule = line_of(text, 'schedule: "0 3 */2 * 1"')
    assert found == [
        ("unsupported-schedule", "error", schedule),  # dev ("either" on Kubernetes' robfig/cron)
        ("unsupported-schedule", "error", schedule),  # staging
        ("unsupported-schedule", "error", schedule),  # prod
        ("invalid-value", "error", line_of(text, "threshold: [0.2]")),
    ]


def test_an_invalid_override_of_a_valid_item_is_reported_in_its_environment(reference_text: str) -> None:
    text = edit(reference_text, "    threshold: 250ms", "    threshold: [250ms]")
    text = edit(text, "      endpoints.scorer.model.version: 13", "      endpoints.scorer.model.version: 0")
    result = parse_system(text)
    override = next(d for d in result.diagnostics if d.code == "out-of-range")
    assert override.location.line == line_of(text, "endpoints.scorer.model.version: 0")
    assert override.detail.startswith("In environment staging:")


def test_an_invalid_override_after_a_left_out_item_keeps_raw_paths(reference_text: str) -> None:
    text = edit(reference_text, "endpoints:\n", "endpoints:\n  - name: broken\n    replicas: {min: 1, max: 2}\n")
    text = edit(text, "      endpoints.scorer.model.version: 13", "      endpoints.scorer.model.version: 0")
    result = parse_system(text)
    override = next(d for d in result.diagnostics if d.code == "out-of-range")
    assert override.path == ("endpoints", 1, "model", "version")  # scorer is item 1 as written, 0 once pruned
    assert override.location.line == line_of(text, "endpoints.scorer.model.version: 0")


def test_promotion_from_an_invalid_environment_is_not_unknown(reference_text: str) -> None:
    text = gpu_typo(edit(reference_text, 'account: "111111111111"', "account: 111111111111"))
    assert [c for c, _ in errors(text)] == ["unknown-accelerator", "wrong-type"]


def test_a_duplicate_name_counts_items_of_the_raw_document(reference_text: str) -> None:
    text = edit(reference_text, "    kind: slack ", "    kind: slak ")  # channel 1 of 4 is left out
    pager = "  - name: pager\n    kind: email\n    address: pager@example.com\n"
    text = edit(text, "    address: ml-team@example.com\n", "    address: ml-team@example.com\n" + pager + pager)
    result = parse_system(text)
    duplicate = next(d for d in result.diagnostics if d.code == "duplicate-name")
    assert duplicate.path == ("channels", 3, "name")
    assert duplicate.location.line == text[: text.rindex("  - name: pager")].count("\n") + 1
    assert duplicate.detail.startswith('Item 3 of channels is already called "pager"')
    assert [d.code for d in result.diagnostics if d.is_error] == ["invalid-value", "duplicate-name"]


def test_diagnostics_stay_sorted_and_unique(reference_text: str) -> None:
    text = two_defects(reference_text)
    text = edit(text, "    notify: [ml-team]", "    notify: [ml-tean]")
    result = parse_system(text)
    lines = [d.location.line for d in result.diagnostics]
    assert lines == sorted(lines)
    keys = [(d.code, d.path) for d in result.diagnostics]
    assert len(keys) == len(set(keys))


def test_pruning_copies_and_keeps_raw_indexes(reference_text: str) -> None:
    data = yaml.safe_load(reference_text)
    before = copy.deepcopy(data)
    pruned = prune_invalid(data, [("monitors", 1, "threshold"), ("environments", "staging", "target")])
    assert pruned is not None
    pruned_data, elsewhere = pruned
    assert data == before, "the input is never mutated"
    assert [m["name"] for m in pruned_data["monitors"]] == ["drift", "errors"]
    assert sorted(pruned_data["environments"]) == ["dev", "prod"]
    assert elsewhere.raw_indexes == {"monitors": (0, 2)}
    assert elsewhere.resolves("monitors", "latency") and elsewhere.resolves("environments", "staging")
    assert not elsewhere.resolves("monitors", "drift")


@pytest.mark.parametrize("path", [(), ("apiVersion",), ("metadata", "name"), ("endpoints",), ("endpoints", 7),
                                  ("nonsense", 0), ("environments", "qa")])
def test_pruning_gives_up_outside_items(reference_text: str, path: tuple) -> None:
    assert prune_invalid(yaml.safe_load(reference_text), [("monitors", 1), path]) is None
