"""``mlops-infra schema``: print, write, and check the committed schema."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.spec.schema import SCHEMA_FILE, render_schema
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_prints_the_schema() -> None:
    result = run_cli("schema")
    assert result.code == 0
    assert result.stdout == render_schema()
    assert json.loads(result.stdout)["title"] == "MLSystem (mlops-infra/v1)"


def test_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "nested" / SCHEMA_FILE
    result = run_cli("schema", "--out", str(out))
    assert result.code == 0
    assert out.read_text() == render_schema()


def test_check_passes_on_the_committed_schema() -> None:
    result = run_cli("schema", "--check", "--out", str(ROOT / "schemas" / SCHEMA_FILE))
    assert result.code == 0, result.output
    assert "up to date" in result.stdout


def test_check_fails_on_a_stale_schema_and_says_how_to_regenerate(tmp_path: Path) -> None:
    stale = tmp_path / SCHEMA_FILE
    stale.write_text(render_schema().replace("Always MLSystem.", "Always something else."))
    result = run_cli("schema", "--check", "--out", str(stale))
    assert result.code == 1
    assert "stale" in result.stderr
    assert f"mlops-infra schema --out {stale}" in result.stderr
    assert "Traceback" not in result.output


def test_check_fails_when_the_file_is_missing(tmp_path: Path) -> None:
    result = run_cli("schema", "--check", "--out", str(tmp_path / "none.json"))
    assert result.code == 1
    assert f"{tmp_path / 'none.json'}:1:1: error: The schema file does not exist" in result.stderr
