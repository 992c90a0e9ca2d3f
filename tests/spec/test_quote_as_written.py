"""The fix for a number where text is meant quotes what the user wrote, not the parsed number
(mlops_infra/spec/as_written.py; audit yamledge, stop 44, finding 2: ``account: 012345678901`` was told
``Quote it: account: "12345678901"``, an 11-digit id, and ``team: 1.10`` to write "1.1")."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.diagnostics import SourceLocation, error, with_location
from mlops_infra.spec.as_written import as_written, quote_fix
from mlops_infra.spec.loader import _plain_scalar
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"


def _validate(tmp_path: Path, text: str) -> str:
    file = tmp_path / "mlsystem.yaml"
    file.write_text(text)
    result = run_cli("validate", str(file))
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("written", ["012345678901", "2026_12", "1.10", "0777", "1e3", "0x1F"])
def test_a_label_value_is_quoted_as_written(tmp_path, written):
    text = edit(QUICKSTART.read_text(), "    team: data\n", f"    team: data\n    release: {written}\n")
    out = _validate(tmp_path, text)
    assert f'Quote it: release: "{written}".' in out, out


def test_an_account_id_keeps_its_leading_zero(tmp_path):
    text = QUICKSTART.read_text()
    account = '"123456789012"'
    assert account in text
    text = text.replace(account, "012345678901", 1)
    out = _validate(tmp_path, text)
    assert '"012345678901"' in out and '"12345678901"' not in out, out


def test_a_key_is_quoted_as_written(tmp_path):
    text = edit(QUICKSTART.read_text(), "    team: data\n", "    team: data\n    0777: x\n")
    out = _validate(tmp_path, text)
    assert 'for example "0777": value.' in out, out
    assert f"mlsystem.yaml:{line_of(text, '0777: x')}:5" in out, out


def test_a_number_written_as_shown_is_unchanged(tmp_path):
    text = edit(QUICKSTART.read_text(), "    team: data\n", "    team: data\n    release: 42\n")
    assert 'Quote it: release: "42".' in _validate(tmp_path, text)


@pytest.mark.parametrize("line", ["  release: 13  # 12", "  release: 12", "  release: [12]", ""])
def test_other_text_at_the_location_leaves_the_fix_alone(line):
    diagnostic = with_location(error("wrong-type", "x", quote_fix("release", "12")),
                               SourceLocation("f.yaml", 1, 12))
    assert as_written(diagnostic, line, _plain_scalar) == diagnostic


FRAUD = QUICKSTART.parents[1] / "fraud-detection" / "mlsystem.yaml"


@pytest.mark.parametrize("word", ["yes", "on", "Off", "N"])
def test_a_yaml_1_1_boolean_word_is_told_why_it_is_text_not_to_remove_quotes(tmp_path, word):
    out = _validate(tmp_path, edit(FRAUD.read_text(), "spot: true", f"spot: {word}"))
    assert "Remove the quotes" not in out, out
    assert (f"Write true or false here. YAML 1.2, which mlops-infra reads, takes only true and false as booleans: "
            f"{word} is text here; write true or false.") in out, out


def test_a_quoted_boolean_keeps_remove_the_quotes(tmp_path):
    out = _validate(tmp_path, edit(FRAUD.read_text(), "spot: true", 'spot: "true"'))
    assert "Write true or false here. Remove the quotes." in out, out


def test_a_plain_word_in_a_number_field_has_no_quotes_to_remove(tmp_path):
    out = _validate(tmp_path, edit(QUICKSTART.read_text(), "version: 1}", "version: latest}"))
    assert "Write a whole number here." in out and "Remove the quotes" not in out, out
    quoted = _validate(tmp_path, edit(QUICKSTART.read_text(), "version: 1}", 'version: "1"}'))
    assert "Write a whole number here. Remove the quotes." in quoted, quoted


OVERRIDE = "      endpoints.churn-api.replicas: {min: 1, max: 1}"


def _override_detail(override: str) -> str:
    from mlops_infra.spec import parse_system

    loaded = parse_system(edit(QUICKSTART.read_text(), OVERRIDE, override), "t.yaml")
    return next(d for d in loaded.diagnostics if d.code == "wrong-type").detail


def test_a_value_inside_an_overrides_mapping_keeps_remove_the_quotes():
    """Located at the override's key (its value is a mapping), there is no value text to read: the fix stays
    as written before (review44-rest-2: the key was read as an unquoted value and the fix lost its last part)."""
    assert _override_detail('      endpoints.churn-api.capture: {sample_percent: "10"}').endswith(
        "Write a whole number here. Remove the quotes.")
    assert _override_detail('      endpoints.churn-api.capture.sample_percent: "10"').endswith(
        "Write a whole number here. Remove the quotes.")


def test_a_word_runs_to_the_end_of_its_scalar():
    """``Yes#1`` is one plain scalar (``#`` starts a comment only after a space): not the word ``Yes``."""
    diagnostic = with_location(error("wrong-type", "x", "Write true or false here. Remove the quotes."),
                               SourceLocation("f.yaml", 1, 11))
    assert as_written(diagnostic, "    spot: Yes#1", _plain_scalar).detail == "Write true or false here."
    assert as_written(diagnostic, "    spot: Yes #1", _plain_scalar).detail.endswith("Yes is text here; write true or false.")
