"""Two processes appending to one ``releases.jsonl`` (two system files of one directory promoted at
once): every record is kept (audit finding concurrency-1). Real processes, since the race is between
one's read and the other's ``rename(2)``."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mlops_infra import fileio
from mlops_infra.errors import UserError
from mlops_infra.promote.record import append_release, read_releases, releases_path

pytestmark = pytest.mark.timeout(120)
APPENDS = 100


def _append_many(file: str, name: str, start: multiprocessing.synchronize.Event) -> None:
    start.wait(30)
    for number in range(APPENDS):
        append_release(Path(file), {"system": name, "number": number})


def test_two_processes_appending_in_one_directory_lose_no_record(tmp_path):
    fraud, churn = tmp_path / "fraud.yaml", tmp_path / "churn.yaml"
    for file in (fraud, churn):
        file.write_text("x: 1\n")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_append_many, args=(str(f), f.stem, start)) for f in (fraud, churn)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(100)
    assert [w.exitcode for w in workers] == [0, 0]
    records = read_releases(releases_path(fraud))
    for name in ("fraud", "churn"):
        assert [r["number"] for r in records if r["system"] == name] == list(range(APPENDS))
    assert len(records) == 2 * APPENDS


def test_a_writer_that_cannot_get_the_lock_writes_nothing_and_says_so(tmp_path, monkeypatch):
    file = tmp_path / "fraud.yaml"
    file.write_text("x: 1\n")
    path = releases_path(file)
    path.write_text('{"src": "a"}\n')
    monkeypatch.setattr(fileio, "LOCK_TIMEOUT", 0.2)
    # another writer holds it (here a second descriptor of this process: flock(2) treats it apart)
    with fileio.locked(file) as lock, pytest.raises(UserError) as refused:
        append_release(file, {"src": "dev"})
    assert lock == tmp_path  # the directory: no lock file is left beside the record
    assert "another process has been updating the release record for over 0.2 s; nothing was written" \
        in refused.value.summary and refused.value.source == str(path)
    assert path.read_text() == '{"src": "a"}\n'
    append_release(file, {"src": "dev"})  # released: the next writer gets it
    assert [r["src"] for r in read_releases(path)] == ["a", "dev"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fraud.yaml", "releases.jsonl"]


def test_a_directory_that_cannot_be_locked_is_locked_through_its_lock_file(tmp_path, monkeypatch):
    """Over NFS an exclusive flock(2) needs a descriptor open for writing, which a directory's is
    not: the lock falls back to ``.mlops-infra.lock`` (simulated: flock refuses directories)."""
    import errno
    import fcntl
    import os
    import stat

    real = fcntl.flock

    def nfs_like(fd: int, operation: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and operation & fcntl.LOCK_EX:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", nfs_like)
    monkeypatch.setattr(fileio, "LOCK_TIMEOUT", 0.2)
    file = tmp_path / "fraud.yaml"
    with fileio.locked(file) as lock, pytest.raises(UserError, match="another process has been updating"):
        append_release(file, {"src": "dev"})
    assert lock == tmp_path / ".mlops-infra.lock" and lock.is_file()
    append_release(file, {"src": "dev"})
    assert [r["src"] for r in read_releases(releases_path(file))] == ["dev"]
