"""One YAML path with positions (issue 11 item 9; red-team review 2026-12-03, area 1).

The decision (spec/loader.py): yaml-rs, a YAML 1.2 parser, is the only path the data takes;
libyaml's composer (through PyYAML) is only the index of where each node was written, consulted
when a diagnostic needs a line, with keys resolved as yaml-rs resolves them (``loader.core_value``)
so that both agree. PyYAML as the data path would read YAML 1.1 (``on``, ``yes`` change meaning) and costs many times yaml-rs on the 1,000-endpoint benchmark
document (benchmarks/bench_yaml_parsers.py prints both); yaml-rs has no positions.

What could go wrong with two parsers is a node the data has but the index does not: a diagnostic
would fall back to its parent's line. These tests pin that every node yaml-rs reads has its own
position (a key such as ``1_000``, ``0b101`` or ``-0x1F``, which yaml-rs reads as a number and
YAML 1.1 or the core schema as text, was not found and its error fell back to the parent's line),
and that errors in the constructs where the parsers differ are reported through the console script
at the right line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from mlops_infra.spec.loader import parse_document
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
DOCUMENTS = sorted([*ROOT.glob("examples/*/mlsystem.yaml"), *ROOT.glob("tests/scenarios/*/mlsystem.yaml")])

TRICKY = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata:
  name: tricky
  labels: {on: "yes", yes: 'no', 0o14: x, 1_000: y, ? multi
    line key : z, "quoted: key": w}
endpoints: [{name: a, model: {name: m,
  version: 0x1F}, instance_type: ml.m5.large}, &e {name: b, model: {name: m, version: 1}}]
models:
  - name: m
    framework: sklearn
environments: {dev: {target: {kind: kubernetes, context: c, namespace: n}}}
"""


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*path, key if isinstance(key, str) else str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*path, index))
    return out


@pytest.mark.parametrize("source", [*DOCUMENTS, "tricky"], ids=lambda p: p if isinstance(p, str) else p.parent.name)
def test_every_node_yaml_rs_reads_has_its_own_position(source: Path | str) -> None:
    text = TRICKY if source == "tricky" else source.read_text()
    document, diagnostics = parse_document(text)
    assert document is not None, diagnostics
    assert document.data == yaml_rs.loads(text, parse_datetime=False)  # the data is yaml-rs's
    missing = [p for p in _paths(document.data) if p not in document.positions]
    assert missing == []


def test_yaml_1_2_keys_are_found_where_yaml_1_1_would_read_them_differently() -> None:
    document, _ = parse_document(TRICKY)
    labels = document.data["metadata"]["labels"]
    assert labels == {"on": "yes", "yes": "no", 12: "x", 1000: "y", "multi line key": "z", "quoted: key": "w"}
    assert document.locate(("metadata", "labels", "12")).column == TRICKY.splitlines()[4].index("x") + 1
    assert document.locate(("metadata", "labels", "1000")).column == TRICKY.splitlines()[4].index("1_000: y") + 8
    assert document.locate(("endpoints", 0, "model", "version")).line == 8
    assert document.locate(("metadata", "labels", "multi line key")).line == 6


@pytest.mark.parametrize(("old", "new", "at", "message"), [
    ("    team: risk", "    team: risk\n    0b101: x", "0b101", 'A key in "labels" is the number 5, not text'),
    ("    team: risk", "    team: risk\n    1_000: x", "1_000", 'A key in "labels" is the number 1000, not text'),
    ("    team: risk", "    team: risk\n    -0x1F: x", "-0x1F", 'A key in "labels" is the number -31, not text'),
    ("version: 12}", "version: 0o0}", "0o0", '"version" is out of range'),
    ("    team: risk", "    team: risk\n    on: \"$(id)\"", '"$(id)"', 'The value of label "on" is not a valid AWS tag'),
    ("    team: risk", "    team: risk\n    yes: \"a\\nb\"", '"a\\nb"', 'The value of label "yes" is not a valid AWS tag'),
])
def test_errors_where_yaml_1_1_and_1_2_differ_are_at_their_value(
        tmp_path: Path, old: str, new: str, at: str, message: str) -> None:
    text = edit(REFERENCE, old, new)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec))
    assert result.code == 1
    line = line_of(text, new.splitlines()[-1].strip())
    column = text.splitlines()[line - 1].index(at) + 1
    assert f"{spec}:{line}:{column}: error: {message}" in result.stderr, result.stderr


def test_crlf_and_a_byte_order_mark_keep_lines_and_columns(tmp_path: Path) -> None:
    text = edit(REFERENCE, "version: 12}", "version: 0}")
    spec = tmp_path / "mlsystem.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    result = run_cli_subprocess("validate", str(spec))
    line = line_of(text, "version: 0}")
    column = text.splitlines()[line - 1].index("0}") + 1
    assert result.code == 1 and f'{spec}:{line}:{column}: error: "version" is out of range' in result.stderr
