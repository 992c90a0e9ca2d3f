"""``init`` without a file writes the quickstart and the schema its ``$schema`` modeline names, so the
editor finds it (audit schemas-1: the copied modeline named ``../../schemas/...``, which exists only in this
repository's examples/quickstart/, and the wheel ships no schema)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import load_system
from mlops_infra.spec.schema import SCHEMA_FILE, render_schema
from tests.support.cli import run_cli

MODELINE = "# yaml-language-server: $schema="


@pytest.fixture()
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory to run ``init`` in, isolated from any Pulumi login."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def _modeline_target(document: Path) -> Path:
    first = document.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith(MODELINE), first
    return document.parent / first.removeprefix(MODELINE)


def test_the_modeline_of_the_written_quickstart_names_the_published_schema(fresh: Path) -> None:
    result = run_cli("init")
    assert result.code == 0, result.output
    target = _modeline_target(fresh / "mlsystem.yaml")
    assert target.resolve() == (fresh / "schemas" / SCHEMA_FILE).resolve()
    assert target.read_text(encoding="utf-8") == render_schema()
    assert f"wrote schemas/{SCHEMA_FILE}" in result.stdout
    text = (fresh / "mlsystem.yaml").read_text(encoding="utf-8")
    assert "mlops-infra validate mlsystem.yaml" in text and "examples/quickstart" not in text
    assert load_system(fresh / "mlsystem.yaml").ok


def test_a_schema_file_there_already_is_left_as_it_is(fresh: Path) -> None:
    (fresh / "schemas").mkdir()
    (fresh / "schemas" / SCHEMA_FILE).write_text("{}\n", encoding="utf-8")
    result = run_cli("init")
    assert result.code == 0, result.output
    assert (fresh / "schemas" / SCHEMA_FILE).read_text(encoding="utf-8") == "{}\n"
    assert f"left schemas/{SCHEMA_FILE} as it is" in result.stdout
    assert _modeline_target(fresh / "mlsystem.yaml").resolve() == (fresh / "schemas" / SCHEMA_FILE).resolve()


def test_a_file_named_schemas_is_a_clear_error_and_nothing_is_written(fresh: Path) -> None:
    """The schema is written with ``schema --out``'s checks (cli/commands/schema.write_schema_file): a ``schemas``
    that is a file is exit 1 naming it, no traceback, and neither the schema nor the quickstart is written."""
    (fresh / "schemas").write_text("not a directory\n", encoding="utf-8")
    result = run_cli("init")
    assert result.code == 1, result.output
    assert "is not a directory" in result.output and "Traceback" not in result.output
    assert not (fresh / "mlsystem.yaml").exists()
    assert (fresh / "schemas").read_text(encoding="utf-8") == "not a directory\n"
