"""graph: ``DesiredGraph.written_json`` is written as ``to_json`` is, by orjson and by the standard
library alike (``graph --format json`` prints it)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra import graph as graph_module
from mlops_infra.graph import GraphBuilder, ResourceOptions, ref
from mlops_infra.jsoncodec import orjson_pretty_bytes, stdlib_dumps_bytes, stdlib_pretty_bytes
from tests.support.cli import run_cli
from tests.test_graph import _OPTIONS, _VALUES

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fraud-detection" / "mlsystem.yaml"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | st.just(ResourceOptions()) | _OPTIONS, st.booleans(), _VALUES,
                          st.integers(0, 3), st.text(max_size=3), st.booleans()), max_size=6),
       st.booleans())
def test_written_json_is_written_as_to_json(rows, versions) -> None:
    """Options of every kind (none, the default as another object, set), dependencies none, one or
    several, components, odd inputs (NaN, big integers, non-ASCII: the standard library's fallback),
    with and without modelVersions: the same text from orjson (sorted, indented) and from ``json``;
    with graph.REF_HINTS off it is ``to_json()`` itself."""
    builder = GraphBuilder("proj", "dev")
    urns: list[str] = []
    for n, (options, custom, value, deps, address, provider) in enumerate(rows):
        urns.append(builder.add("t:m:T", f"r{n}", {"v": value, "r": ref(urns[-1], "arn") if urns else 1},
                                custom=custom, options=options, depends_on=urns[:deps], address=address,
                                provider="urn:pulumi:dev::proj::pulumi:providers:aws::p" if provider else None))
    if versions:
        builder.model_versions["endpoints.x"] = {"state": "ready"}
    graph = builder.build()
    written, full = graph.written_json(), graph.to_json()
    assert orjson_pretty_bytes(written) == orjson_pretty_bytes(full)
    assert stdlib_dumps_bytes(written) == stdlib_dumps_bytes(full)
    assert stdlib_pretty_bytes(written) == stdlib_pretty_bytes(full)
    assert json.dumps(written, allow_nan=True) == json.dumps(full, allow_nan=True)  # keys in to_json's order too
    real = graph_module.REF_HINTS
    graph_module.REF_HINTS = False
    try:
        assert graph.written_json() == full
    finally:
        graph_module.REF_HINTS = real


def test_graph_json_prints_the_dumps_of_the_graph() -> None:
    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system

    result = run_cli("graph", str(EXAMPLE), "--env", "prod", "--format", "json")
    assert result.code == 0, result.stderr
    assert result.stdout == compile_system(load_system(EXAMPLE, "prod").system, "prod").dumps()
