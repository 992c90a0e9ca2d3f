"""A large document written to a pipe grows the pipe first (mlops_infra.cli.pipes): fewer waits for
the reader, the same bytes; anything that is not a pipe, or a kernel that refuses, is left alone."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_infra.cli import pipes
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = 65536
"""A new pipe's capacity (pipe(7): 16 pages since Linux 2.6.35)."""


def _capacity(fd: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


def test_a_large_write_grows_the_pipe_and_a_small_one_leaves_it() -> None:
    read, write = os.pipe()
    try:
        assert _capacity(write) == DEFAULT
        assert not pipes.grow_for(pipes.GROW_ABOVE, write) and _capacity(write) == DEFAULT
        assert pipes.grow_for(pipes.GROW_ABOVE + 1, write)
        assert _capacity(read) == _capacity(write) == pipes.CAPACITY  # one pipe: its reader sees it too
        assert not pipes.grow_for(50 << 20, write) and _capacity(write) == pipes.CAPACITY  # grown once, never lowered
    finally:
        os.close(read)
        os.close(write)


def test_a_file_a_closed_fd_and_a_refusal_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "out.json").open("wb") as file:
        assert not pipes.grow_for(50 << 20, file.fileno())
    read, write = os.pipe()
    os.close(read)
    os.close(write)
    assert not pipes.grow_for(50 << 20, write)  # EBADF
    read, write = os.pipe()
    try:
        def refuse(fd: int, cmd: int, arg: int = 0) -> int:
            if cmd == fcntl.F_SETPIPE_SZ:
                raise PermissionError(1, "Operation not permitted")  # over pipe-max-size or the user's limit
            return DEFAULT

        monkeypatch.setattr(fcntl, "fcntl", refuse)
        assert not pipes.grow_for(50 << 20, write)
    finally:
        os.close(read)
        os.close(write)


def test_an_in_process_stdout_without_a_descriptor_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not pipes.grow_for(50 << 20)


def test_graph_json_on_a_pipe_grows_it_and_writes_the_same_bytes(tmp_path: Path) -> None:
    """The command as a process writing a document of more than 1 MiB to a pipe: the pipe it wrote
    to holds 1 MiB (64 KiB before), and the bytes are those of the in-process run."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(generate(40))
    args = ["graph", str(spec), "--env", "prod", "--format", "json"]
    with (tmp_path / "stderr").open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "mlops_infra.cli.main", *args], stdout=subprocess.PIPE,
                                stderr=err, cwd=tmp_path)
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()  # to the end: the pipe's read end stays open to be asked its capacity
        capacity = _capacity(proc.stdout.fileno())
    assert proc.wait(timeout=120) == 0, (tmp_path / "stderr").read_text()[-2000:]
    assert len(out) > pipes.GROW_ABOVE
    assert capacity == pipes.CAPACITY
    assert out.decode() == run_cli(*args).stdout
