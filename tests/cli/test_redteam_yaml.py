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


# audit yamledge-1: characters the two parsers read differently. YAML 1.2.2 section 5.4 (b-char is LF
# or CR only; NEL, LS and PS are content "as of version 1.2"), section 5.1 (c-printable: C0 controls
# other than tab and the breaks, DEL, C1 other than NEL, U+FFFE/U+FFFF are not allowed unescaped).
# libyaml (the index of positions) reads YAML 1.1, where NEL/LS/PS break lines, and refuses the rest.
CONTENT_BREAKS = ["\x85", "\u2028", "\u2029"]
UNPRINTABLE = ["\x0c", "\x1b", "\x0b", "\x01", "\x1e", "\x7f", "\x9b", "\ufffe"]
BAD_VERSION = ("version: 12}", "version: 0}", "0}")


def _with(text: str, char: str, where: str) -> str:
    if where == "comment":  # inside the endpoint item, before the error
        return edit(text, "    replicas: {min: 2, max: 10}", f"    replicas: {{min: 2, max: 10}}  # from {char}helm")
    if where == "quoted":  # in a quoted scalar of an earlier section
        return edit(text, "  owner: risk-ml@example.com", f'  owner: risk-ml@example.com\n  description: "a{char}b"')
    return edit(text, "  owner: risk-ml@example.com", f"  owner: risk-ml@example.com\n  description: a{char}b")


@pytest.mark.parametrize("where", ["comment", "quoted", "plain"])
@pytest.mark.parametrize("char", CONTENT_BREAKS, ids=ascii)
def test_nel_ls_and_ps_are_content_and_every_diagnostic_keeps_its_line(tmp_path: Path, char: str, where: str) -> None:
    old, new, at = BAD_VERSION
    text = _with(edit(REFERENCE, old, new), char, where)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text, encoding="utf-8")
    result = run_cli("validate", str(spec))
    lines = text.split("\n")  # what editors and YAML 1.2 count
    line = line_of(text, new)
    column = lines[line - 1].index(at) + 1
    assert result.code == 1
    assert f'{spec}:{line}:{column}: error: "version" is out of range' in result.stderr, result.stderr
    assert f"{line:>5} | {lines[line - 1]}" in result.stderr  # the snippet is that line too


@pytest.mark.parametrize("char", CONTENT_BREAKS, ids=ascii)
def test_a_syntax_error_after_nel_ls_or_ps_is_at_its_own_position(char: str) -> None:
    broken = edit(REFERENCE, "      bake: 10m", "      bake: [10m")
    _, plain = parse_document(broken, "m.yaml")
    _, odd = parse_document(_with(broken, char, "comment"), "m.yaml")
    assert [d.location for d in odd] == [d.location for d in plain] and plain[0].location.line > 1, (odd, plain)
    assert odd[0].summary == plain[0].summary


@pytest.mark.parametrize("where", ["comment", "quoted", "plain"])
@pytest.mark.parametrize("char", UNPRINTABLE, ids=ascii)
def test_a_control_character_is_refused_at_its_own_line_and_column(tmp_path: Path, char: str, where: str) -> None:
    text = _with(edit(REFERENCE, *BAD_VERSION[:2]), char, where)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text, encoding="utf-8")
    result = run_cli_subprocess("validate", str(spec))
    index = text.index(char)
    line = text.count("\n", 0, index) + 1
    column = index - text.rfind("\n", 0, index)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"{spec}:{line}:{column}: error: Control character U+{ord(char):04X}" in result.stderr, result.stderr
    escape = {"\x0c": "\\f", "\x1b": "\\e", "\x0b": "\\v"}.get(char, f"\\x{ord(char):02X}" if ord(char) < 256 else
                                                               f"\\u{ord(char):04X}")
    assert f"write it as the escape {escape}" in result.stderr
    assert char not in result.stderr  # never printed raw


def test_control_characters_are_placed_by_cr_and_crlf_lines_too() -> None:
    text = "apiVersion: mlops-infra/v1\r\nkind: MLSystem\rmetadata: {name: \x0cx}\r\n"
    _, diagnostics = parse_document(text, "m.yaml")
    assert [(d.code, d.location.line, d.location.column) for d in diagnostics] == [("control-character", 3, 18)]


def test_promote_edits_a_file_with_a_line_separator_in_a_comment() -> None:
    from mlops_infra.promote.edit import Pin, edit_overrides
    text = edit(REFERENCE, "      endpoints.scorer.model.version: 13",
                "      endpoints.scorer.model.version: 13  # from the \u2028release notes: v13")
    after = edit_overrides(text, "staging", [Pin("endpoints.scorer.model.version", 14)]).after
    assert after == text.replace("version: 13  #", "version: 14  #")
