"""``endpoints[].exposure`` (audit secpost45-2): Kubernetes endpoints are cluster-local unless the spec says
``exposure: public``; anything else is refused at its line with the values it takes, and the schema lists them."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.spec import parse_system
from tests.support.cli import assert_clear_error, run_cli
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text()
REPLICAS = "    replicas: {min: 1, max: 3}\n"


def _exposure(value: str) -> str:
    return edit(QUICKSTART, REPLICAS, f"{REPLICAS}    exposure: {value}\n")


def test_an_endpoint_is_cluster_local_unless_it_says_public() -> None:
    (endpoint,) = parse_system(QUICKSTART).system.endpoints
    assert endpoint.exposure == "cluster"
    (endpoint,) = parse_system(_exposure("public")).system.endpoints
    assert endpoint.exposure == "public"


def test_an_unknown_exposure_is_refused_at_its_line() -> None:
    text = _exposure("internet")
    errors = [d for d in parse_system(text).diagnostics if d.is_error]
    assert len(errors) == 1
    message = f"{errors[0].summary} {errors[0].detail}"
    assert "cluster" in message and "public" in message
    assert errors[0].location is not None and errors[0].location.line == line_of(text, "    exposure: internet")


def test_validate_prints_the_file_and_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(_exposure("internet"))
    assert_clear_error(run_cli("validate", str(path)), f"{path}:{line_of(path.read_text(), '    exposure: internet')}")


def test_the_schema_lists_both_values_with_cluster_the_default() -> None:
    schema = json.loads((ROOT / "schemas" / "mlsystem-v1.schema.json").read_text())
    field = schema["$defs"]["Endpoint"]["properties"]["exposure"]
    assert field["enum"] == ["cluster", "public"] and field["default"] == "cluster"
    assert "external ingress gateway" in field["description"]
