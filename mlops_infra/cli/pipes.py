"""Growing the pipe a large document is written to, so that the writer is not blocked every 64 KiB.

Contract: :func:`grow_for(size, fd)` - when ``fd`` (stdout by default) is a pipe (a FIFO) and a
write of ``size`` bytes, more than :data:`GROW_ABOVE`, is about to start, the pipe's capacity is
raised to :data:`CAPACITY` unless it holds that much already. Nothing else changes: the bytes
written, their order and the errors of the write are the same. Anything that refuses it (not Linux,
a file or a terminal, a limit the kernel enforces, an fd that is not open) leaves the pipe as it
was, silently. The pipe is shared: its reader (a CI job's log, ``| jq``, ``benchmarks/bench_cli.py``)
sees the larger capacity too; the capacity is raised only (never lowered); the kernel counts it
against the user's pipe limits (pipe(7), ``/proc/sys/fs/pipe-user-pages-soft``: past them the
request is refused, and left) and holds pages only for the data written and not yet read.

Why (issue 14; the Linux man pages, pipe(7) "Pipe capacity" and F_GETPIPE_SZ(2const)): a pipe's
default capacity is 16 pages (65,536 bytes), and a writer whose data does not fit is blocked until
the reader drains the pipe. ``graph --format json`` writes 53 MB, ``plan --format json`` 55 MB at
1,000 endpoints: about 850 waits for the reader in one write. ``fcntl(fd, F_SETPIPE_SZ, n)`` sets
the capacity to at least ``n`` bytes; an unprivileged process may set any value up to
``/proc/sys/fs/pipe-max-size`` (1,048,576 by default) and gets ``EPERM`` above it or when the
user's pipe limits are reached; ``EBUSY`` when the pipe holds more than ``n`` already;
``F_GETPIPE_SZ`` answers the capacity. Measured here (graph json, a reader of 1 MiB chunks): 847-850
voluntary context switches of the writer with 64 KiB, 56-60 with 1 MiB, and 30-40 ms less system time.
"""

from __future__ import annotations

import os
import stat
import sys

CAPACITY = 1 << 20
"""The capacity asked for: ``/proc/sys/fs/pipe-max-size``'s default, what any process may set."""

GROW_ABOVE = 1 << 20
"""Writes of at most this many bytes leave the pipe as it is (a few waits at most)."""


def grow_for(size: int, fd: int | None = None) -> bool:
    """Raise the capacity of the pipe ``fd`` (stdout's when None) to :data:`CAPACITY` before a
    write of ``size`` bytes (see the module contract); whether it was raised."""
    if size <= GROW_ABOVE:
        return False
    try:
        import fcntl

        setter, getter = fcntl.F_SETPIPE_SZ, fcntl.F_GETPIPE_SZ  # Linux only (Python 3.10+)
        if fd is None:
            fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or fcntl.fcntl(fd, getter) >= CAPACITY:
            return False
        fcntl.fcntl(fd, setter, CAPACITY)
    except (ImportError, AttributeError, OSError, ValueError):  # no fcntl or no pipe sizes, no fd, refused
        return False
    return True
