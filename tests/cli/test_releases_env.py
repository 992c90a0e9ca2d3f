"""``releases --env NAME``: a name FILE does not declare is refused as every ``--env`` is (audit robust,
"also seen": it said "No promotions recorded ... into nosuch." and exited 0); a name whose promotions are
recorded is listed even when FILE no longer declares it (the record outlives the environment)."""

from __future__ import annotations

import json

from tests.support.cli import assert_clear_error, run_cli
from tests.support.promotion import copy_reference


def test_an_undeclared_environment_is_refused_with_the_names(tmp_path):
    file = copy_reference(tmp_path)
    result = run_cli("releases", str(file), "--env", "prd")
    assert_clear_error(result, 'No environment "prd" (--env)', 'Did you mean "prod"?', f"{file}:")


def test_a_declared_environment_without_records_says_so(tmp_path):
    file = copy_reference(tmp_path)
    result = run_cli("releases", str(file), "--env", "prod")
    assert result.code == 0, result.output
    assert "No promotions recorded" in result.stdout and "into prod" in result.stdout


def test_records_into_an_environment_the_file_no_longer_declares_are_listed(tmp_path):
    file = copy_reference(tmp_path)
    record = {"who": "Ann <ann@example.com>", "when": "2026-12-03T18:00:00Z", "src": "staging", "dst": "qa",
              "versions": [], "pins": [], "gates": [], "skippedGates": []}
    (tmp_path / "releases.jsonl").write_text(json.dumps(record) + "\n")
    result = run_cli("releases", str(file), "--env", "qa", "--format", "json")
    assert result.code == 0, result.output
    assert [r["dst"] for r in json.loads(result.stdout)] == ["qa"]


def test_a_missing_file_is_refused_not_read_as_never_promoted(tmp_path):
    missing = tmp_path / "mlsytem.yaml"  # a typo: nothing there, so no releases.jsonl either
    result = run_cli("releases", str(missing))
    assert_clear_error(result, f"No such file: {missing}", "Check the path", f"{missing}:1")
    assert "No promotions recorded" not in result.output


def test_a_directory_is_refused_with_the_fix(tmp_path):
    result = run_cli("releases", str(tmp_path), "--format", "json")
    assert_clear_error(result, f"{tmp_path} is a directory", "Pass the path of an MLSystem YAML file")
