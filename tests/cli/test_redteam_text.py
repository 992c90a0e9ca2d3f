"""Red-team review 2026-12-03, free text (M9, M10, M13), through the console script.

M9: validate wrote raw ESC/OSC sequences taken from document keys to stderr, so a document could
retitle or clear the reader's terminal. Every diagnostic now shows control characters and
directional overrides as escapes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.text_edits import edit

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
CONTROL = ("\x1b", "\x07", "\x9b", "\u202e")


def _write(tmp_path: Path, text: str, name: str = "mlsystem.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("key", [r"x\e]0;PWNED\a\e[2J", r"caf\u00e9\u202e", r"a\x9b31mb", r"two\nlines"])
def test_m9_control_sequences_in_keys_are_escaped_in_diagnostics(tmp_path: Path, key: str) -> None:
    spec = _write(tmp_path, edit(REFERENCE, "  owner:", f'  "{key}": 1\n  owner:'))
    for result in (run_cli("validate", spec), run_cli_subprocess("validate", spec)):
        assert result.code == 1
        assert not any(c in result.output for c in CONTROL), repr(result.output)
        assert "Unknown field" in result.stderr
    text = run_cli("validate", spec).stderr
    assert text.splitlines()[0].count("Unknown field") == 1  # a newline in a key does not split the summary


def test_m9_a_file_name_with_an_escape_sequence_is_escaped(tmp_path: Path) -> None:
    missing = str(tmp_path / "x\x1b]0;T\x07.yaml")
    result = run_cli_subprocess("validate", missing)
    assert result.code == 1
    assert "\x1b" not in result.output and "\\x1b]0;T\\x07.yaml" in result.stderr


def test_m9_an_environment_name_with_an_escape_sequence_is_escaped() -> None:
    result = run_cli("plan", str(ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"), "--env", "\x1b[2Jprod")
    assert result.code == 1
    assert "\x1b" not in result.output and "\\x1b[2Jprod" in result.stderr
