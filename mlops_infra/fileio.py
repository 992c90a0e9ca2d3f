"""Files in and out: bounded reads of untrusted input, and output files that never destroy anything.

Contract:
- :func:`read_limited` reads at most ``limit`` bytes of a file, counting what it reads (never
  trusting ``stat``, so ``/dev/zero`` or an endless pipe stops at the limit) and raises
  :class:`TooLarge` past it.
- :func:`output_file` decides where an output file (``plan --out``, ``schema --out``, later
  ``promote``/``apply`` outputs) may be written, before anything is computed or written, and
  raises :class:`~mlops_infra.errors.UserError` (exit 1) for:

  - a path that is one of the command's inputs (the spec, the state file, ...), compared by
    resolved path and by device and inode (a hard link or a second symlink to an input is caught);
  - a directory, a device, a FIFO or a socket (only regular files are replaced);
  - a dangling symlink or a symlink loop, a missing directory, a file that is not writable;
  - a path given as text that ends in ``/`` (``--out plans/``): it names a directory, and ``Path()`` would
    drop the slash and write a file named ``plans`` (``open(2)`` with ``O_CREAT`` on such a name fails with
    EISDIR, as a shell redirection does). Commands take ``--out`` as text for that.

  **Symlinks are written through**: ``--out link.json`` where ``link.json -> plans/x.json``
  replaces ``plans/x.json`` (atomically, in its own directory) and leaves the link a link, as a
  shell redirection would.
- :func:`write_bytes_atomic` writes the whole byte string to a temporary file in the target's
  directory (same file system), flushes and fsyncs it, then ``os.replace``-s it over the target,
  so a reader sees either the old file or the new one, never a mix. On any error, and on SIGTERM
  or SIGHUP while writing (main thread), the temporary file is removed and the target is untouched
  (SIGKILL cannot be caught: a ``.NAME.*.tmp`` file may then remain). An existing target keeps
  its permission bits; a new one gets ``0o644``. :func:`write_text_atomic` is the same for a text,
  written as its encoded bytes (no newline translation); a text that cannot be encoded raises
  before any file is made.
- :func:`write_new_files` writes a set of generated files (``init``'s stack, ``policy-pack``'s
  pack, ``test-alerts``' bundle) under a directory, each atomically, refusing before writing any when one
  exists already and ``force`` is not given, or when a destination cannot be a regular file (a parent that
  is a file, a file that is a directory); an OS error while writing removes what it created.
- :func:`write_output` is the one call for a command's output file: the path checks, the
  redaction layer's refusal of a secret (:func:`mlops_infra.secrets.check_output`, before any
  byte is written) and the atomic write.
- :func:`locked` serialises the read-check-replace of a file that several processes may update
  (``releases.jsonl``, ``promote --write``'s edit of FILE): an atomic replace alone is not enough,
  since ``rename(2)`` swaps the name whatever the file held meanwhile, so of two writers that both
  read the old text the second replaces the first one's update. It holds an exclusive
  ``flock(2)`` on the DIRECTORY holding the file (symlinks followed, so every path to one file
  takes one lock; one lock for every file of the directory): a directory's inode outlives every
  rename in it and locking it leaves no file behind. Where a directory cannot be locked so (over
  NFS, below), the lock is taken on ``.mlops-infra.lock`` in it instead, created (``0o644``) and
  never deleted (a waiter would otherwise lock an unlinked file while a newcomer locks a new one).
  Linux ``flock(2)`` (man-pages): locks "are associated with an open file description" and are
  released "when all such file descriptors have been closed", so also when the process dies (a
  crashed writer leaves no stale lock); they are advisory (only callers of :func:`locked` wait);
  two descriptors one process opens on the file "are treated independently" (never nest
  :func:`locked` on one directory: it would wait for itself); over NFS (Linux 2.6.12+) they are
  emulated as ``fcntl(2)`` locks on the whole file, for which "the file must be opened for
  writing", which a directory cannot be (the lock file is opened read-write; read-only only when
  another user owns it, enough for a local lock). A lock not obtained within ``timeout`` seconds
  raises a ``UserError`` naming the file (exit 1, nothing written); polling, not blocking, keeps
  that bound.

  Windows has no ``flock`` (the ``fcntl`` module is "Availability: Unix", and neither ``os.O_DIRECTORY`` nor
  ``os.O_CLOEXEC`` exists: the CRT's ``_wopen`` cannot open a directory; a Python descriptor is non-inheritable
  anyway, PEP 446), so there the lock is always taken on ``.mlops-infra.lock``: ``msvcrt.locking(fd, LK_NBLCK, 1)``
  on its first byte (CRT ``_locking``, learn.microsoft.com/cpp/c-runtime-library/reference/locking: the region
  starts "at the current position of the file pointer", locking "past end of file" is allowed, and a locking
  violation fails at once with ``EACCES``, which Python raises as ``PermissionError``; CPython
  ``PC/msvcrtmodule.c`` ``msvcrt_locking``: ``PyErr_SetFromErrno``), in the same polling loop and timeout.
  ``LockFileEx`` (learn.microsoft.com/windows/win32/api/fileapi/nf-fileapi-lockfileex): a second handle of the
  same process on the file is refused like another process (never nest :func:`locked` there either), and the
  lock is released on close or exit, "However, the time it takes for the operating system to unlock these
  locks depends upon available system resources", so the region is unlocked explicitly (``LK_UNLCK``) before
  the descriptor is closed. A platform with neither module gets a ``UserError`` naming it (audit portab45-3).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlops_infra.errors import UserError

NEW_FILE_MODE = 0o644
HEAD_BYTES = 64 * 1024
LOCK_TIMEOUT = 60.0
"""Seconds :func:`locked` waits for another writer (each holds the lock for a read and a write)."""


class TooLarge(Exception):
    """More than ``limit`` bytes were read (the input was cut there)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def read_limited(path: str | os.PathLike[str], limit: int,
                 check_head: Callable[[bytes], None] | None = None) -> bytes:
    """At most ``limit`` bytes of ``path``; :class:`TooLarge` when it holds more (see contract).

    ``check_head``, when given, sees the first 64 KiB before the rest is read and may raise (a
    binary device is refused at once, not after ``limit`` bytes). ``OSError`` (missing file,
    directory, permissions) propagates for the caller to word.
    """
    with open(path, "rb") as handle:
        head = handle.read(min(HEAD_BYTES, limit + 1))
        if check_head is not None:
            check_head(head)
        data = head + handle.read(limit + 1 - len(head)) if len(head) == min(HEAD_BYTES, limit + 1) else head
    if len(data) > limit:
        raise TooLarge(limit)
    return data


@dataclass(frozen=True)
class OutputFile:
    """Where an output goes: ``requested`` as the user wrote it, ``target`` the regular file the
    bytes replace (``requested`` with symlinks followed)."""

    requested: Path
    target: Path

    def write_text(self, text: str) -> None:
        """Write ``text`` atomically to :attr:`target`; OS errors become a ``UserError``."""
        try:
            write_text_atomic(self.target, text)
        except OSError as err:
            raise _refuse(self.requested, f"cannot write it: {err.strerror or err}") from None

    def write_bytes(self, data: bytes) -> None:
        """Write ``data`` atomically to :attr:`target`; OS errors become a ``UserError``."""
        try:
            write_bytes_atomic(self.target, data)
        except OSError as err:
            raise _refuse(self.requested, f"cannot write it: {err.strerror or err}") from None


def output_file(path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str] | None] = (),
                what: str = "output file") -> OutputFile:
    """Check that ``path`` may be written as ``what`` (see the module contract)."""
    requested = Path(path)
    if str(path) in ("", "."):
        raise _refuse(requested, f"the {what} needs a file name", "Pass a file path such as plan.json.")
    if isinstance(path, str) and path.endswith(("/", os.sep)):  # Path() drops the slash: check the text
        raise UserError(f"refusing to write the {what} to {path}: a path ending in / names a directory",
                        f"Pass a file path, such as {path}{_EXAMPLE_NAMES.get(what, 'output.json')}; as with a shell "
                        "redirection, a name ending in / is never created as a file.", source=path)
    target = _follow(requested)
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise _refuse(requested, f"cannot use it as the {what}: {err.strerror or err}") from None
    if st is not None:
        _check_kind(requested, st, what)
    if not target.parent.is_dir():
        raise _refuse(requested, f"cannot write the {what}: its directory {target.parent} does not exist",
                      "Create the directory first, or pick another path.")
    for other in inputs:
        if other is not None and _same_file(target, st, Path(other)):
            raise _refuse(requested, f"refusing to write the {what} over an input of this command ({other})",
                          "The output would destroy the file this command reads. Pick another path, "
                          "for example plan.json.")
    if st is not None and not os.access(target, os.W_OK):
        raise _refuse(requested, f"refusing to replace a read-only file with the {what}",
                      "Make it writable (chmod u+w) if it is meant to be replaced, or pick another path.")
    return OutputFile(requested, target)


_EXAMPLE_NAMES = {"plan file": "plan.json", "schema file": "mlsystem-v1.schema.json",
                  "price catalog": "mlops-infra-prices.json"}


def write_output(path: str | os.PathLike[str], text: str, *, inputs: Iterable[str | os.PathLike[str] | None] = (),
                 what: str = "output file") -> OutputFile:
    """Check ``path`` and ``text`` (no secret), then write atomically; returns where it went."""
    from mlops_infra.secrets import check_output

    destination = output_file(path, inputs=inputs, what=what)
    check_output(text, f"the {what} {path}")
    destination.write_text(text)
    return destination


def _refuse(path: Path, summary: str, detail: str = "") -> UserError:
    return UserError(summary, detail, source=str(path))


def _follow(requested: Path) -> Path:
    """``requested`` with every symlink followed; a dangling link or a loop is refused."""
    if not requested.is_symlink():
        return requested
    try:
        resolved = requested.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError) as err:
        # a loop: RuntimeError up to Python 3.12, OSError(ELOOP) from 3.13, ELOOP being 40 on Linux and 62 on
        # macOS (xnu bsd/sys/errno.h; audit portab45-7)
        reason = "a symlink loop" if isinstance(err, RuntimeError) or getattr(err, "errno", 0) == errno.ELOOP \
            else "a symlink to nothing"
        raise _refuse(requested, f"refusing to write through {reason}",
                      f"{requested} points at {os.readlink(requested)!s}. Remove the link or point it at a "
                      "file.") from None
    return resolved


def _check_kind(requested: Path, st: os.stat_result, what: str) -> None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return
    kind = ("a directory" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    print_it = " To print the plan, leave out --out." if what == "plan file" else ""
    raise _refuse(requested, f"refusing to write the {what} to {kind}",
                  f"Only a regular file (or a new path) is written; pass a file path such as "
                  f"{_EXAMPLE_NAMES.get(what, 'output.json')}.{print_it}")


def _same_file(target: Path, target_stat: os.stat_result | None, other: Path) -> bool:
    try:
        other_stat = other.stat()
    except OSError:
        other_stat = None
    if target_stat is not None and other_stat is not None:
        return (target_stat.st_dev, target_stat.st_ino) == (other_stat.st_dev, other_stat.st_ino)
    with contextlib.suppress(OSError, RuntimeError):
        return os.path.realpath(target) == os.path.realpath(other)
    return False


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replace ``path``'s content with ``text`` atomically (see the module contract): the bytes of
    ``text.encode(encoding)``, as a text file opened with ``newline=""`` writes them (strict errors).

    A symlink at ``path`` is written through (its target is replaced, the link stays).
    """
    write_bytes_atomic(path, text.encode(encoding))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically (see the module contract).

    A symlink at ``path`` is written through (its target is replaced, the link stays).
    """
    target = Path(path)
    if target.is_symlink():
        target = target.resolve(strict=True)
    directory = target.parent
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with _removed_on_signal(tmp):
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # Renamed once closed: Windows refuses to rename a file this process holds open (MoveFileExW:
            # ERROR_SHARING_VIOLATION, "[WinError 32] The process cannot access the file because it is being
            # used by another process"; mkstemp opens without FILE_SHARE_DELETE). Audit portab45-1.
            os.chmod(tmp, mode)
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


LOCK_FILE = ".mlops-infra.lock"
"""The lock file of a directory that cannot be locked itself (see the module contract)."""


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], *, what: str = "file", timeout: float | None = None) -> Iterator[Path]:
    """Hold the exclusive lock for updating ``path`` (see the module contract); yields what is
    locked (the directory holding ``path``, or its :data:`LOCK_FILE`).

    Raises ``UserError`` when nothing can be locked, or another process holds the lock longer
    than ``timeout`` seconds (default :data:`LOCK_TIMEOUT`)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    locks = _platform_locks(path, what)
    directory = Path(path).resolve().parent
    if locks.directories:
        target, fd = directory, _open_lock(directory, os.O_RDONLY | os.O_DIRECTORY, path, what)
    else:
        target, fd = directory / LOCK_FILE, _open_lock(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, path, what)
    deadline = time.monotonic() + timeout
    pause = 0.001
    held = False
    try:
        while True:
            try:
                held = locks.try_lock(fd)
            except OSError as err:
                if target != directory:
                    raise _refuse(Path(path), f"cannot lock the {what} for writing: {err.strerror or err}") from None
                os.close(fd)  # a directory that cannot be locked (NFS): its lock file instead
                fd, target = -1, directory / LOCK_FILE
                fd = _open_lock(target, os.O_RDWR | os.O_CREAT, path, what)
                continue
            if held:
                break
            if time.monotonic() >= deadline:
                raise _refuse(Path(path), f"another process has been updating the {what} for over "
                              f"{timeout:g} s; nothing was written",
                              f"Wait for the other command (another `mlops-infra promote --write` in {directory}) "
                              "to finish, then run this one again.")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        yield target
    finally:
        if fd >= 0:
            if held:
                with contextlib.suppress(OSError):
                    locks.unlock(fd)
            os.close(fd)  # releases the lock (flock(2): closing the last descriptor of the description)


@dataclass(frozen=True)
class _Locks:
    """This platform's exclusive, non-blocking lock on an open descriptor (see the module contract).

    ``directories``: a directory itself can be opened and locked (``flock(2)``), else the lock file is.
    ``try_lock(fd)``: True when taken, False while another holder has it; other failures raise ``OSError``.
    ``unlock(fd)``: release it before the descriptor is closed."""

    directories: bool
    try_lock: Callable[[int], bool]
    unlock: Callable[[int], None]


def _platform_locks(path: str | os.PathLike[str], what: str) -> _Locks:
    try:
        import fcntl
    except ImportError:
        pass
    else:
        def flock(fd: int) -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        return _Locks(True, flock, lambda fd: None)  # closing the descriptor releases it
    try:
        import msvcrt
    except ImportError:
        raise _refuse(Path(path), f"cannot lock the {what} for writing: this platform ({sys.platform}) has "
                      "neither flock (fcntl) nor msvcrt.locking",
                      "Run this command on Linux, macOS or Windows.") from None

    def byte_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)  # _locking locks from the file pointer
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except PermissionError:  # EACCES: a locking violation, another handle holds it
            return False
        return True

    def byte_unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    return _Locks(False, byte_lock, byte_unlock)


def _open_lock(target: Path, flags: int, path: str | os.PathLike[str], what: str) -> int:
    cloexec = getattr(os, "O_CLOEXEC", 0)  # Unix only; Python's descriptors are non-inheritable anyway (PEP 446)
    try:
        try:
            return os.open(target, flags | cloexec, NEW_FILE_MODE)
        except PermissionError:
            if not flags & os.O_RDWR:
                raise
            return os.open(target, os.O_RDONLY | cloexec)  # another user's lock file
    except OSError as err:
        raise _refuse(Path(path), f"cannot lock the {what} for writing: {err.strerror or err} ({target})") from None


def write_new_files(target: Path, files: dict[str, str], *, force: bool) -> None:
    """Write ``files`` (relative name -> text) under ``target``, each atomically, parents created.

    Every destination is checked before any file is written (:func:`_new_files_problem`): each directory
    on the way that exists must be a directory (following symlinks; ``mkdir`` would fail on a file, and
    ``exists()`` is False below one, ENOTDIR), each file that exists a regular file (only those are
    replaced, even with ``force``), no symlink dangling. Then raises :class:`UserError` (exit 1,
    nothing written) naming the path and the fix; also when a file exists already and ``force`` is false,
    listing the files and how to proceed. An ``OSError`` while writing (permissions, a full disk) is a
    UserError naming the path, after the files and directories this call created are removed again (a
    file replaced with ``force`` stays replaced: the message lists those)."""
    problem = _new_files_problem(target, files)
    if problem is not None:
        path, summary = problem
        raise UserError(f"{summary}; nothing was written",
                        "Move it out of the way, or choose another --dir (--out for test-alerts).", source=str(path))
    existing = sorted(name for name in files if (target / name).exists())
    if existing and not force:
        raise UserError(f"{len(existing)} file(s) exist already; nothing was written",
                        "\n".join(f"{target / name}" for name in existing)
                        + "\nRe-run with --force to overwrite them, or choose another --dir.", source=str(target))
    created: list[Path] = []
    replaced: list[Path] = []
    for name, text in files.items():
        path = target / name
        try:
            for directory in reversed([path.parent, *path.parent.parents]):
                if not directory.exists():
                    directory.mkdir()
                    created.append(directory)
            before = path.exists()
            write_text_atomic(path, text)
            (replaced if before else created).append(path)
        except OSError as err:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    made.rmdir() if made.is_dir() and not made.is_symlink() else made.unlink()
            kept = (" Replaced before it (kept): " + ", ".join(str(r) for r in replaced) + ".") if replaced else ""
            raise UserError(f"cannot write {path}: {err.strerror or err}; the files this command created were "
                            "removed again", f"Fix the cause (permissions, free space) or choose another --dir.{kept}",
                            source=str(path)) from None


def _new_files_problem(target: Path, files: dict[str, str]) -> tuple[Path, str] | None:
    """``(path, what is wrong)`` for the first destination of ``files`` under ``target`` that cannot be
    written as a regular file (see :func:`write_new_files`), else None."""
    checked: set[Path] = set()
    for name in files:
        path = target / name
        for directory in reversed([path.parent, *path.parent.parents]):
            if directory in checked:
                continue
            checked.add(directory)
            if directory.is_symlink() and not directory.exists():
                return directory, f"{directory} is a symlink to nothing, not a directory"
            try:
                st = directory.stat()
            except FileNotFoundError:
                break  # it and what is below it are created
            except OSError as err:
                return directory, f"cannot use {directory}: {err.strerror or err}"
            if not stat.S_ISDIR(st.st_mode):
                return directory, f"{directory} is {_kind(st.st_mode)}, not a directory"
        else:
            if path.is_symlink() and not path.exists():
                return path, f"{path} is a symlink to nothing"
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            except OSError as err:
                return path, f"cannot use {path}: {err.strerror or err}"
            if not stat.S_ISREG(st.st_mode):
                return path, f"{path} is {_kind(st.st_mode)}, not a regular file"
    return None


def _kind(mode: int) -> str:
    return ("a directory" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a regular file" if stat.S_ISREG(mode) else "not a regular file")


_CAUGHT_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


@contextlib.contextmanager
def _removed_on_signal(tmp: str) -> Iterator[None]:
    """While writing ``tmp``: on SIGTERM/SIGHUP remove it, then exit with 128 + the signal number
    (or call the handler that was installed). Only the main thread can handle signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in _CAUGHT_SIGNALS}

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)
        raise SystemExit(128 + signum)

    for s in _CAUGHT_SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
