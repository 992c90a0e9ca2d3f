"""``write_and_record``: FILE and its release record are written as one step (audit robust-7)."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.record import read_releases, releases_path, write_and_record

BEFORE = "\ufeffenvironments:\n  staging:\n    overrides: {}\r\n"
AFTER = "environments:\n  staging:\n    overrides: {endpoints.scorer.model.version: 3}\r\n"


def _promotion() -> SimpleNamespace:
    return SimpleNamespace(changed=True, edit=SimpleNamespace(after=AFTER))


def test_file_and_record_are_written_together(tmp_path: Path) -> None:
    file = tmp_path / "mlsystem.yaml"
    file.write_text(BEFORE, encoding="utf-8", newline="")
    original = file.read_bytes()
    releases_path(file).write_text('{"src": "old"}', encoding="utf-8")  # no final newline: one is added
    assert write_and_record(file, _promotion(), original, {"src": "dev", "dst": "staging"}) is True
    assert file.read_bytes() == ("\ufeff" + AFTER).encode("utf-8")  # the byte order mark kept
    assert read_releases(releases_path(file)) == [{"src": "old"}, {"src": "dev", "dst": "staging"}]


def test_a_record_that_cannot_be_written_puts_file_back(tmp_path: Path, monkeypatch) -> None:
    file = tmp_path / "mlsystem.yaml"
    file.write_text(BEFORE, encoding="utf-8", newline="")
    original = file.read_bytes()
    from mlops_infra import fileio

    written = fileio.write_text_atomic

    def full_disk(path, text, **kwargs):
        if Path(path).name == "releases.jsonl":
            raise OSError(errno.ENOSPC, "No space left on device")
        written(path, text, **kwargs)

    monkeypatch.setattr(fileio, "write_text_atomic", full_disk)
    with pytest.raises(UserError) as err:
        write_and_record(file, _promotion(), original, {"src": "dev"})
    assert "cannot write the release record: No space left on device" in err.value.summary
    assert "nothing was written" in err.value.summary
    assert file.read_bytes() == original
    assert not releases_path(file).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["mlsystem.yaml"]  # no temporary file left


def test_a_promotion_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "mlsystem.yaml"
    file.write_text(BEFORE, encoding="utf-8")
    assert write_and_record(file, SimpleNamespace(changed=False), file.read_bytes(), {"src": "dev"}) is False
    assert not releases_path(file).exists()
