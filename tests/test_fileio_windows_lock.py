"""``fileio.locked`` on Windows (audit portab45-3): no ``fcntl`` module, no ``os.O_DIRECTORY``/``os.O_CLOEXEC``, and
a directory cannot be opened, so the lock is a byte-range lock on ``.mlops-infra.lock`` taken with
``msvcrt.locking(fd, LK_NBLCK, 1)``.

Windows cannot run here, so it is modelled: ``sys.modules["fcntl"] = None`` (what ``import fcntl`` meets there),
the two flags deleted from ``os``, ``os.open`` refusing a directory (the CRT's ``_wopen``: EACCES), and a fake
``msvcrt`` with the documented semantics of CRT ``_locking`` (learn.microsoft.com/cpp/c-runtime-library/reference/
locking): the region starts at the descriptor's file position; ``LK_NBLCK`` fails at once with EACCES on a locking
violation (CPython ``PC/msvcrtmodule.c``: ``PyErr_SetFromErrno``, so ``PermissionError``); overlapping regions
conflict, also between two handles of one process (``LockFileEx``); ``LK_UNLCK`` must name a region locked
through that handle. Closing a descriptor is not modelled as releasing its lock (Windows does so only "eventually"):
the code must unlock before it closes."""

from __future__ import annotations

import errno
import os
import sys
import types
from pathlib import Path

import pytest

from mlops_infra import fileio
from mlops_infra.errors import UserError
from mlops_infra.promote.record import append_release, read_releases, releases_path
from tests.support.cli import run_cli
from tests.support.promotion import copy_reference, reference_registries

OLD_LINE = b"      endpoints.scorer.model.version: 13\n"
NEW_LINE = b"      endpoints.scorer.model.version: 3\n"


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` as the CRT documents it (module docstring); ``held`` lists the locked regions."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held: list[tuple[tuple[int, int], int, int, int]] = []  # (file id, fd, start, length)

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        st = os.fstat(fd)  # EBADF for a closed descriptor
        file, start = (st.st_dev, st.st_ino), os.lseek(fd, 0, os.SEEK_CUR)
        if mode == self.LK_UNLCK:
            if (file, fd, start, nbytes) not in self.held:
                raise OSError(errno.EACCES, os.strerror(errno.EACCES))
            self.held.remove((file, fd, start, nbytes))
            return
        if mode not in (self.LK_NBLCK, self.LK_NBRLCK):
            raise AssertionError("LK_LOCK/LK_RLCK retry for 10 s inside the CRT: the polling loop must not use them")
        if any(f == file and s < start + nbytes and start < s + n for f, _, s, n in self.held):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        self.held.append((file, fd, start, nbytes))


@pytest.fixture
def windows(monkeypatch) -> FakeMsvcrt:
    msvcrt = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.delattr(os, "O_DIRECTORY")
    monkeypatch.delattr(os, "O_CLOEXEC")
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    return msvcrt


def test_promote_write_on_windows_writes_file_and_record(tmp_path: Path, windows: FakeMsvcrt) -> None:
    file, registries = copy_reference(tmp_path), reference_registries(tmp_path, staging_has_v14=3)
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert result.code == 0, result.output
    assert "internal error" not in result.output
    assert file.read_bytes() == before.replace(OLD_LINE, NEW_LINE)
    [entry] = read_releases(file.parent / "releases.jsonl")
    assert (entry["src"], entry["dst"]) == ("dev", "staging")
    assert (file.parent / fileio.LOCK_FILE).is_file()
    assert windows.held == []  # unlocked before the descriptor was closed


def test_a_second_holder_waits_then_is_refused_and_the_lock_is_released_after(tmp_path: Path, windows: FakeMsvcrt,
                                                                              monkeypatch) -> None:
    file = tmp_path / "fraud.yaml"
    file.write_text("x: 1\n")
    path = releases_path(file)
    path.write_text('{"src": "a"}\n')
    monkeypatch.setattr(fileio, "LOCK_TIMEOUT", 0.2)
    with fileio.locked(file) as lock, pytest.raises(UserError) as refused:
        assert len(windows.held) == 1
        append_release(file, {"src": "dev"})  # a second handle: refused as another process would be
    assert lock == tmp_path / fileio.LOCK_FILE
    assert "another process has been updating the release record for over 0.2 s; nothing was written" \
        in refused.value.summary and refused.value.source == str(path)
    assert path.read_text() == '{"src": "a"}\n'
    assert windows.held == []
    append_release(file, {"src": "dev"})
    assert [r["src"] for r in read_releases(path)] == ["a", "dev"]
    assert windows.held == []


def test_a_lock_file_another_user_owns_is_locked_read_only(tmp_path: Path, windows: FakeMsvcrt, monkeypatch) -> None:
    """LockFile needs GENERIC_READ or GENERIC_WRITE: a read-only descriptor is enough for the byte lock (another
    user's lock file, modelled as one that refuses read-write opens: root could write any file)."""
    (tmp_path / fileio.LOCK_FILE).write_text("")
    windows_open = os.open

    def another_users(path, flags, *args, **kwargs):
        if Path(path).name == fileio.LOCK_FILE and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return windows_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", another_users)
    with fileio.locked(tmp_path / "fraud.yaml") as lock:
        assert lock == tmp_path / fileio.LOCK_FILE and len(windows.held) == 1
    assert windows.held == []


def test_a_platform_without_either_lock_is_a_user_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    with pytest.raises(UserError) as refused, fileio.locked(tmp_path / "fraud.yaml", what="release record"):
        pass
    assert "cannot lock the release record for writing" in refused.value.summary
    assert sys.platform in refused.value.summary
    assert list(tmp_path.iterdir()) == []
