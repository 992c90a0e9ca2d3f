"""Atomic writes rename the temporary file only once it is closed: Windows refuses to rename a file the process
holds open (audit portab45-1; ``MoveFileExW`` fails with ERROR_SHARING_VIOLATION, "[WinError 32] The process cannot
access the file because it is being used by another process", as mkstemp opens without FILE_SHARE_DELETE).

Linux allows that rename, so the rule is modelled: ``os.replace`` refuses a source this process has a descriptor on
(read from ``/proc/self/fd``), as Windows does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_infra import fileio

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to see open files")


def _open_paths() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return found


@pytest.fixture
def windows_rename(monkeypatch):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.realpath(src) in _open_paths():
            raise PermissionError(13, "The process cannot access the file because it is being used by another "
                                      "process", str(src), 32)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_new_file_is_written(tmp_path, windows_rename):
    target = tmp_path / "plan.json"
    fileio.write_text_atomic(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_a_file_is_replaced_keeping_its_mode(tmp_path, windows_rename):
    target = tmp_path / "mlsystem.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    fileio.write_bytes_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["mlsystem.yaml"]
