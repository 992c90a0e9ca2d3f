"""Red-team review 2026-12-03, M7 and M8: the right line, the right code, the right words.

Each reproduction runs through the console script. Before: tags, alias bombs and deep nesting
were reported at 1:1 (tags as ``yaml-syntax``); errors an override caused sat on the base item's
lines; non-text label keys, nested hyperparameters, some webhook URLs, list and scalar override
paths and ``<<`` merge keys got misleading messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
OVERRIDE_ANCHOR = "      endpoints.scorer.model.version: 13\n"


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(text)
    return str(path)


def _diagnostics(spec: str, *args: str) -> list[dict]:
    """The errors of ``validate --format json`` (the reference has warnings of its own)."""
    result = run_cli("validate", spec, "--format", "json", *args)
    assert result.code == 1, result.stdout
    return [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]


@pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!timestamp 2001-12-14", "!!python/object/apply:os.system [x]"])
def test_m7_tags_are_unsupported_tag_at_the_tag(tmp_path: Path, tag: str) -> None:
    spec = _write(tmp_path, edit(REFERENCE, "owner: risk-ml@example.com", f"owner: {tag}"))
    found = _diagnostics(spec)
    assert [(d["code"], d["line"], d["column"]) for d in found] == [
        ("unsupported-tag", line_of(REFERENCE, "owner: risk-ml"), 10)]


def test_m7_an_alias_bomb_is_reported_at_the_alias_that_passes_the_limit(tmp_path: Path) -> None:
    bomb = "    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
    spec = _write(tmp_path, edit(REFERENCE, "    team: risk\n", "    team: risk\n" + bomb))
    found = _diagnostics(spec)
    assert len(found) == 1 and found[0]["code"] == "alias-limit"
    bomb_line = line_of(REFERENCE, "    team: risk") + 1
    assert bomb_line < found[0]["line"] <= bomb_line + 8  # an alias line, not 1:1
    assert found[0]["column"] > 10


@pytest.mark.parametrize("levels", [100, 1100])
def test_m7_deep_block_nesting_is_nesting_too_deep_at_its_node(tmp_path: Path, levels: int) -> None:
    nested = "".join("  " * (i + 3) + f"k{i}:\n" for i in range(levels)) + "  " * (levels + 3) + "x: 1\n"
    spec = _write(tmp_path, edit(REFERENCE, "    team: risk\n", "    team: risk\n    deep:\n" + nested))
    found = _diagnostics(spec)
    assert [d["code"] for d in found] == ["nesting-too-deep"]
    first = line_of(REFERENCE, "    team: risk") + 1
    assert found[0]["line"] == first + 64 - 2  # the first mapping past 64 levels (the root is level 1)


def test_new_a_deep_compact_sequence_no_longer_crashes_the_process(tmp_path: Path) -> None:
    """Found while fixing M7: yaml-rs overflowed the stack (SIGSEGV, exit 139) on ~30,000 levels of
    ``- - - ...`` (a 60 KB file), in the baseline too. The depth guard sends it to libyaml first."""
    deep = "    a:\n    " + "- " * 100_000 + "x\n"
    spec = _write(tmp_path, edit(REFERENCE, "    team: risk\n", "    team: risk\n" + deep))
    result = run_cli_subprocess("validate", spec)
    assert result.code == 1, (result.code, result.stderr[-500:])
    assert "nests more than 64 levels deep" in result.stderr
    cr_only = (tmp_path / "cr.yaml")
    cr_only.write_bytes(("a:\r" + "- " * 100_000 + "x\r").encode())
    assert run_cli_subprocess("validate", str(cr_only)).code == 1


def test_m7_a_rename_override_is_blamed_for_the_references_it_breaks(tmp_path: Path) -> None:
    text = edit(REFERENCE, OVERRIDE_ANCHOR, OVERRIDE_ANCHOR + "      endpoints.scorer.name: renamed\n")
    spec = _write(tmp_path, text)
    found = _diagnostics(spec)
    override = line_of(text, "endpoints.scorer.name: renamed")
    assert [(d["code"], d["line"]) for d in found] == [("unknown-reference", override)] * 3
    shows = sorted(d["detail"].rsplit("the problem shows at ", 1)[1] for d in found)
    assert shows == ["monitors.drift.endpoint.)", "monitors.errors.endpoint.)", "monitors.latency.endpoint.)"]


def test_m7_a_kind_override_is_blamed_for_the_fields_it_makes_wrong(tmp_path: Path) -> None:
    text = edit(REFERENCE, OVERRIDE_ANCHOR, OVERRIDE_ANCHOR + "      channels.oncall.kind: email\n")
    found = _diagnostics(_write(tmp_path, text))
    override = line_of(text, "channels.oncall.kind: email")
    assert sorted((d["code"], d["line"]) for d in found) == [("missing-field", override), ("unknown-field", override)]
    assert all(d["detail"].startswith("In environment staging: ") for d in found)


def test_m7_environment_checks_stay_on_the_item_they_are_about(tmp_path: Path) -> None:
    # the prod gate is about the endpoint's rollout, not about prod's replicas override
    text = edit(REFERENCE, "      strategy: canary              # canary | blue_green | rolling | all_at_once\n"
                           "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n",
                "      strategy: all_at_once\n")
    found = _diagnostics(_write(tmp_path, text))
    assert [(d["code"], d["line"]) for d in found] == [("gate-unsatisfiable", line_of(text, "    rollout:"))]


@pytest.mark.parametrize(("key", "summary", "fix"), [
    ("1", 'A key in "labels" is the number 1, not text', '"1": value'),
    # the fix quotes the key as written, not as parsed (spec/as_written.py, audit yamledge-2)
    ("0x1F", 'A key in "labels" is the number 31, not text', '"0x1F": value'),
    ("true", 'A key in "labels" is the boolean true, not text', '"true": value'),
    ("null", 'A key in "labels" is null, not text', "names nothing"),
    ("? [a, b]\n   ", 'A key in "labels" is a list, not text', "complex key"),  # then "    : x"
])
def test_m8_label_keys_that_are_not_text_are_named_at_the_key(tmp_path: Path, key: str, summary: str, fix: str) -> None:
    text = edit(REFERENCE, "    team: risk\n", f"    team: risk\n    {key}: x\n".replace("\n   :", "\n    :"))
    found = _diagnostics(_write(tmp_path, text))
    assert [(d["code"], d["summary"]) for d in found] == [("wrong-type", summary)]
    assert fix in found[0]["detail"]
    column = 7 if key.startswith("?") else 5  # a complex key starts after "? "
    assert (found[0]["line"], found[0]["column"]) == (line_of(REFERENCE, "    team: risk") + 1, column)


def test_m8_a_nested_hyperparameter_names_the_field_not_union_members(tmp_path: Path) -> None:
    found = _diagnostics(_write(tmp_path, edit(REFERENCE, "epochs: 10", "epochs: {a: 1}")))
    assert [d["summary"] for d in found] == ['"epochs" must be text, a number or true or false, not a mapping']


@pytest.mark.parametrize(("url", "why"), [("http://hooks.example.com/x", "must start with https://"),
                                          ("https://hooks.example.com/a b", "contains a space"),
                                          ("https://", "has no host")])
def test_m8_a_malformed_webhook_url_is_not_called_a_plaintext_secret(tmp_path: Path, url: str, why: str) -> None:
    channel = f'  - {{name: hook, kind: webhook, url: "{url}"}}\n'
    found = _diagnostics(_write(tmp_path, edit(REFERENCE, "channels:\n", "channels:\n" + channel)))
    assert [d["code"] for d in found] == ["invalid-format"]
    assert why in found[0]["detail"]
    assert found[0]["summary"] == "Invalid url"  # a URL may hold a token: never quoted


@pytest.mark.parametrize(("override", "message"), [
    ("endpoints.scorer.rollout.steps.0: 1", '"steps" is a list, not a mapping'),
    ("training_jobs.retrain.triggers.schedule.x: 1", '"schedule" is a single value, not a mapping'),
    ("endpoints.scorer.capture.sample_percent.x: 1", '"sample_percent" is a single value'),
])
def test_m8_override_paths_through_lists_and_values_say_so(tmp_path: Path, override: str, message: str) -> None:
    text = edit(REFERENCE, OVERRIDE_ANCHOR, OVERRIDE_ANCHOR + f"      {override}\n")
    found = _diagnostics(_write(tmp_path, text))
    assert [d["code"] for d in found] == ["unknown-override-path"]
    assert message in found[0]["summary"]
    assert "is not set" not in found[0]["summary"]
    assert found[0]["line"] == line_of(text, override)


def test_m8_merge_keys_get_one_error_with_a_hint(tmp_path: Path) -> None:
    text = edit(REFERENCE, "  - name: oncall\n    kind: slack", "  - &base\n    name: oncall\n    kind: slack")
    text = edit(text, "  - name: ml-team\n    kind: email", "  - <<: *base\n    name: ml-team\n    kind: email")
    found = _diagnostics(_write(tmp_path, text))
    assert [(d["code"], d["line"], d["column"]) for d in found] == [("merge-key", line_of(text, "<<: *base"), 5)]
    assert "YAML 1.2, which has no merge key" in found[0]["detail"]
