"""Every example the schema publishes is a value ``validate`` accepts at that field (audit schemas-4: every
duration field shared ``10m, 6h, 90d``, which the editor offers as completions and shows in hover, and
``retention: 10m`` or an alert's ``for: 90d`` are refused). JSON Schema 2020-12 Validation, "examples":
"It is RECOMMENDED that these values be valid against the associated schema"."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from mlops_infra.spec import parse_system
from mlops_infra.spec.schema import build_schema
from tests.support.shared_files import SHARED

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {"reference": SHARED / "spec" / "reference-mlsystem.yaml",
             "llm": ROOT / "examples" / "llm-platform" / "mlsystem.yaml"}

PLACES: dict[tuple[str, str], list[tuple[str, tuple]]] = {
    ("Alert", "for"): [("reference", ("alerts", 1, "for"))],
    ("DataContract", "freshness"): [("reference", ("data_sources", 0, "contract", "freshness"))],
    ("DataSource", "retention"): [("reference", ("data_sources", 0, "retention"))],
    ("Model", "parameters"): [("llm", ("models", 0, "parameters"))],
    ("Monitor", "baseline_window"): [("reference", ("monitors", 0, "baseline_window"))],
    ("Monitor", "threshold"): [("reference", ("monitors", i, "threshold")) for i in range(3)],
    ("Monitor", "schedule"): [("reference", ("monitors", 0, "schedule"))],
    ("Rollout", "bake"): [("reference", ("endpoints", 0, "rollout", "bake"))],
    ("Rollout", "not_ready_timeout"): [("reference", ("endpoints", 0, "rollout", "not_ready_timeout"))],
    ("TrainingJob", "max_runtime"): [("reference", ("training_jobs", 0, "max_runtime"))],
    ("TrainingJob", "trainable_parameters"): [("llm", ("training_jobs", 0, "trainable_parameters"))],
    ("Triggers", "schedule"): [("reference", ("training_jobs", 0, "triggers", "schedule"))],
}
"""Where each field with published examples is put: a document and the path of one of its items (a
threshold is valid at one of the three monitors: a drift score, a latency or an error rate)."""


def _examples() -> list[tuple[str, str, Any]]:
    found = []
    for name, definition in build_schema()["$defs"].items():
        for field, prop in definition.get("properties", {}).items():
            values = list(prop.get("examples", [])) + [e for branch in prop.get("anyOf", [])
                                                        for e in branch.get("examples", [])]
            found += [(name, field, value) for value in values]
    return found


EXAMPLES = _examples()


def test_every_field_with_examples_has_a_place() -> None:
    assert EXAMPLES
    assert {(name, field) for name, field, _ in EXAMPLES} <= set(PLACES)


def _put(document: Any, path: tuple, value: Any) -> Any:
    out = copy.deepcopy(document)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.fixture(scope="module")
def documents() -> dict[str, Any]:
    return {name: yaml_rs.loads(path.read_text(), parse_datetime=False) for name, path in DOCUMENTS.items()}


@pytest.mark.parametrize(("name", "field", "value"), EXAMPLES, ids=lambda v: str(v))
def test_every_published_example_is_valid_at_its_field(documents, name: str, field: str, value: Any) -> None:
    refused = []
    for document, path in PLACES[(name, field)]:
        result = parse_system(json.dumps(_put(documents[document], path, value)))
        if result.ok:
            return
        refused += [d.summary for d in result.diagnostics if d.is_error]
    pytest.fail(f"{name}.{field}: the example {value!r} is refused: {refused}")
