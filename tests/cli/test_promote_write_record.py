"""``promote --write`` never leaves FILE promoted without its release record (audit robust-7): the record
beside FILE is read and checked before FILE is written, and a record that cannot be read refuses the
promotion with FILE byte for byte as it was (docs/promote.md: "Every written promotion appends one JSON
line to ``releases.jsonl``")."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.promote.record import read_releases
from tests.support.cli import run_cli
from tests.support.promotion import copy_reference, reference_registries

OLD_LINE = b"      endpoints.scorer.model.version: 13\n"
NEW_LINE = b"      endpoints.scorer.model.version: 3\n"


def _unreadable_record(record: Path, case: str) -> None:
    if case == "utf-16":  # e.g. saved as UTF-16 by an editor
        record.write_bytes(b"\xff\xfe{\x00}\x00\n")
    else:
        record.mkdir()


@pytest.mark.parametrize("case", ["utf-16", "directory"])
def test_an_unreadable_record_refuses_the_write_and_leaves_file_as_it_was(tmp_path: Path, case: str) -> None:
    file, registries = copy_reference(tmp_path), reference_registries(tmp_path, staging_has_v14=3)
    record = file.parent / "releases.jsonl"
    _unreadable_record(record, case)
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert result.code == 1, result.output
    assert file.read_bytes() == before
    assert "cannot read the release record" in result.stderr and "nothing was written" in result.stderr
    assert "internal error" not in result.output
    assert f"Written: {file}" not in result.stdout
    if case == "directory":
        record.rmdir()
    else:
        record.unlink()
    again = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert again.code == 0, again.output
    assert file.read_bytes() == before.replace(OLD_LINE, NEW_LINE)
    [entry] = read_releases(record)
    assert (entry["src"], entry["dst"]) == ("dev", "staging")
