"""``schema --out`` replaces the file atomically (audit finding concurrency-5): a reader never sees
a truncated schema, a symlink stays a link, a directory is refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mlops_infra.cli.commands.schema import schema
from mlops_infra.spec.schema import SCHEMA_FILE, render_schema
from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(120)


def test_a_reader_during_regeneration_sees_the_whole_schema_every_time(tmp_path: Path) -> None:
    out = tmp_path / SCHEMA_FILE
    whole = render_schema()
    out.write_text(whole)
    seen = {"reads": 0, "other": 0}
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen["reads"] += 1
            seen["other"] += out.read_text() != whole

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(30):
            schema(check=False, out=out)  # the command's own function: `mlops-infra schema --out PATH`
    finally:
        stop.set()
        reader.join(30)
    assert seen["reads"] > 0 and seen["other"] == 0, seen
    assert out.read_text() == whole


def test_a_symlink_stays_a_link_and_its_target_gets_the_schema(tmp_path: Path) -> None:
    target = tmp_path / "schemas" / SCHEMA_FILE
    target.parent.mkdir()
    target.write_text("{}\n")
    link = tmp_path / "mlsystem.schema.json"
    link.symlink_to(target)
    result = run_cli("schema", "--out", str(link))
    assert result.code == 0, result.output
    assert link.is_symlink() and target.read_text() == render_schema()


def test_a_directory_is_refused_without_a_traceback(tmp_path: Path) -> None:
    result = run_cli("schema", "--out", str(tmp_path))
    assert result.code == 1
    assert f"{tmp_path}: error: refusing to write the schema file to a directory" in result.stderr
    assert "Traceback" not in result.output
