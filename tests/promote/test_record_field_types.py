"""Wrong-typed fields in the JSON files promote and releases read -- a hand-edited ``releases.jsonl`` line, a
``--registry ENV=FILE`` saved read -- are ``file:line``/file errors naming the field, never "internal error"
(audit robust-4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.record import read_releases
from mlops_infra.promote.registries import read_snapshot
from tests.support.cli import assert_clear_error, run_cli
from tests.support.promotion import copy_reference, dev_view, reference_registries

GOOD = {"who": "Ann <ann@example.com>", "when": "2026-12-03T18:00:00Z", "src": "dev", "dst": "staging",
        "versions": [{"endpoint": "scorer", "model": "fraud-model", "srcVersion": 14, "dstVersion": 3,
                      "digest": "sha256:" + "14" * 32}],
        "pins": [], "gates": [{"name": "model_approved", "status": "pass"}], "skippedGates": []}


@pytest.mark.parametrize(("field", "value", "said"), [
    ("versions", "x", '"versions" is a string where promote writes an array of objects'),
    ("versions", [5], '"versions"[0] is a number where promote writes an object'),
    ("gates", "abc", '"gates" is a string where promote writes an array of objects'),
    ("skippedGates", "x", '"skippedGates" is a string where promote writes an array of objects'),
    ("pins", {"key": "v"}, '"pins" is an object where promote writes an array of objects'),
    ("gates", [{"name": "a"}, None], '"gates"[1] is null where promote writes an object'),
])
def test_releases_names_the_line_and_the_field(tmp_path, field, value, said):
    file = copy_reference(tmp_path)
    bad = {**GOOD, field: value}
    (tmp_path / "releases.jsonl").write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n")
    result = run_cli("releases", str(file))
    assert_clear_error(result, f"{tmp_path / 'releases.jsonl'}:2", f"line 2: {said}", "git log -p releases.jsonl")


def test_absent_or_null_arrays_are_none(tmp_path):
    path = tmp_path / "releases.jsonl"
    path.write_text(json.dumps({"src": "dev", "dst": "staging", "gates": None}) + "\n")
    assert read_releases(path) == [{"src": "dev", "dst": "staging", "gates": None}]


def _saved(tmp_path: Path, edit) -> Path:
    data = dev_view().to_json()
    edit(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    return path


def _version(data) -> dict:
    return data["models"]["fraud-model"]["versions"][-1]


@pytest.mark.parametrize(("edit", "said"), [
    (lambda d: _version(d).update(digest=5), "models.fraud-model.versions[2].digest is a number, not a string"),
    (lambda d: _version(d).update(version="14"), "models.fraud-model.versions[2].version is a string, not an integer"),
    (lambda d: _version(d).pop("version"), "models.fraud-model.versions[2].version is null, not an integer"),
    (lambda d: d["models"]["fraud-model"].update(versions={"a": 1}), "models.fraud-model.versions is an object"),
    (lambda d: d["models"]["fraud-model"].update(complete="yes"), "models.fraud-model.complete is a string"),
    (lambda d: d.update(serving={"scorer": "14"}), "serving.scorer is a string, not an integer"),
    (lambda d: d.update(warnings="x"), "warnings is a string, not an array of strings"),
    (lambda d: d.update(runningModels={"scorer": {"fraud-model": ["12"]}}),
     "runningModels.scorer.fraud-model is an array, not an array of integers"),
    (lambda d: d.update(runningModels={"scorer": [12]}), "runningModels.scorer is an array, not an object"),
])
def test_a_saved_read_names_the_field(tmp_path, edit, said):
    path = _saved(tmp_path, edit)
    with pytest.raises(UserError) as caught:
        read_snapshot(path)
    assert caught.value.source == str(path) and said in caught.value.summary


def test_an_infinite_version_is_named_not_an_overflow(tmp_path):
    path = _saved(tmp_path, lambda d: None)
    path.write_text(path.read_text().replace('"version": 14', '"version": 1e400', 1))
    assert "1e400" in path.read_text()
    with pytest.raises(UserError) as caught:
        read_snapshot(path)
    assert "models.fraud-model.versions[2].version is a number, not an integer" in caught.value.summary


def test_a_good_saved_read_still_reads(tmp_path):
    path = _saved(tmp_path, lambda d: None)
    assert read_snapshot(path).to_json() == dev_view().to_json()


@pytest.mark.parametrize("case", ["digest", "infinity"])
def test_promote_with_a_bad_registry_file_names_it(tmp_path, case):
    file = copy_reference(tmp_path)
    registries = reference_registries(tmp_path)
    dev = tmp_path / "bad-dev.json"
    data = dev_view().to_json()
    if case == "digest":
        _version(data)["digest"] = 5
        dev.write_text(json.dumps(data))
    else:
        dev.write_text(json.dumps(data).replace('"version": 14', '"version": 1e400', 1))
    staging = next(a for a in registries if a.startswith("staging="))
    result = run_cli("promote", str(file), "--to", "staging", "--registry", f"dev={dev}", "--registry", staging)
    assert_clear_error(result, str(dev), "not a saved registry read: models.fraud-model.versions[2].")
