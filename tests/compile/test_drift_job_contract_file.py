"""The drift job's contract reader (``compile/kubernetes/scripts/drift_job.py`` ``contract``): the file
``CONTRACT_FILE`` names when set (AWS, audit limits-1), else ``COLUMNS``/``COLUMN_TYPES`` (Kubernetes, and AWS
pipelines created before the file); a file that cannot be read stops the run instead of scoring untyped."""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile import drift_job as rules
from mlops_infra.compile.kubernetes.scripts import drift_job
from mlops_infra.spec import parse_system
from tests.support.shared_files import REFERENCE


def test_the_file_is_read_when_named_and_wins_over_the_variables(tmp_path) -> None:
    source = parse_system(REFERENCE.read_text(), "mlsystem.yaml", "prod").system.item("data_sources", "transactions")
    path = tmp_path / "contract.json"
    path.write_text(rules.contract_file(source), encoding="utf-8")
    env = {"CONTRACT_FILE": str(path), "COLUMNS": '["stale"]'}
    assert drift_job.contract(env) == (["amount", "merchant_id", "country", "is_fraud"],
                                       {"amount": "float", "merchant_id": "string", "country": "string",
                                        "is_fraud": "bool"})


def test_without_the_file_the_variables_are_read_as_before() -> None:
    env = {"COLUMNS": json.dumps(["b", "a"]), "COLUMN_TYPES": json.dumps({"a": "int", "b": "string"})}
    assert drift_job.contract(env) == (["b", "a"], {"a": "int", "b": "string"})
    assert drift_job.contract({}) == ([], {})
    assert rules.contract_file(None) is None


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]"])
def test_a_file_that_cannot_be_read_stops_the_run(tmp_path, content) -> None:
    path = tmp_path / "contract.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="CONTRACT_FILE"):
        drift_job.contract({"CONTRACT_FILE": str(path)})
