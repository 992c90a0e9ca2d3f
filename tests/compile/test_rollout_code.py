"""compile/rollout_code: the runner's document is shipped as ``json.dumps(indent=2, sort_keys=True)``
wrote it, byte for byte (each runner's code digest, and so every golden plan, is taken over it)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mlops_infra.compile import rollout_code

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
documents = st.dictionaries(st.text(), st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                                                    | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20))


def _stdlib(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_a_runner_document_is_written_as_json_dumps_writes_it():
    document = {"version": 1, "endpoints": [
        {"endpoint": "fraud-scorer-prod", "steps": [2, 5, 10, 25, 75, 100], "bake_seconds": 600,
         "error_rate": 0.02, "latency_p99_ms": 1e-05, "owner": "équipe-risque", "gates": []},
        {"endpoint": "other", "autoscaling": {"target": {"MinCapacity": 1, "MaxCapacity": 4}, "policies": [{}]}}]}
    assert rollout_code.document_text(document) == _stdlib(document)


@given(documents)
def test_any_json_document_is_written_as_json_dumps_writes_it(document):
    assert rollout_code.document_text(document) == _stdlib(document)
