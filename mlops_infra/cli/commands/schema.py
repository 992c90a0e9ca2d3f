"""``mlops-infra schema [--check] [--out PATH]``: the JSON Schema of MLSystem documents.

Contract: without options the schema is printed on stdout. ``--out PATH`` writes it to PATH
(its missing directories created, after every check that can run before: a PATH ending in ``/``, a parent
that is a file; none left behind when the write is refused) through :func:`mlops_infra.fileio.write_output`: atomically (a
temporary file renamed over PATH, so an editor or a ``--check`` reading it meanwhile sees the old
schema or the new one, never a truncated file: audit finding concurrency-5), a symlink written
through, a directory, FIFO or read-only file refused with exit 1.
``--check`` writes nothing: it exits 0 when PATH (default ``schemas/mlsystem-v1.schema.json``)
holds exactly the current schema (byte for byte: a file in another encoding is stale), and 1 with a message
saying how to regenerate it otherwise, or that PATH is a directory, or why it cannot be read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import NoReturn

import typer

from mlops_infra.diagnostics import SourceLocation, error, with_location
from mlops_infra.errors import UserError
from mlops_infra.fileio import output_file, write_output
from mlops_infra.spec.schema import SCHEMA_FILE, render_schema

DEFAULT_PATH = Path("schemas") / SCHEMA_FILE


def register(app: typer.Typer) -> None:
    """Add the ``schema`` command to ``app``."""
    app.command("schema")(schema)


def schema(
    check: bool = typer.Option(False, "--check", help="Exit 1 when the schema file is stale; write nothing."),
    out: str | None = typer.Option(None, "--out", "-o", help=f"Write the schema here (--check default: {DEFAULT_PATH})."),
) -> None:
    """Print, write or check the JSON Schema of MLSystem documents (for editors and CI)."""
    text = render_schema()
    if check:
        _check(Path(out) if out else DEFAULT_PATH, text)
        return
    if out is None:
        typer.echo(text, nl=False)
        return
    write_schema_file(str(out), text)  # text: the command line gives it as typed (a Path from a direct call)
    typer.echo(f"wrote {out}", err=True)


def _check(path: Path, text: str) -> None:
    """``--check``: the file's bytes against the schema's UTF-8 bytes (a file in another encoding is stale,
    not an error); a directory or another non-file is said to be one, an unreadable file says why."""
    from mlops_infra.fileio import TooLarge, read_limited

    expected = text.encode("utf-8")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        _fail(path, "schema-missing", "The schema file does not exist")
    except OSError as err:
        _fail(path, "schema-missing", f"Cannot read the schema file: {err.strerror or err}")
    if stat.S_ISDIR(mode):
        _fail(path, "schema-missing", "The schema path is a directory, not the schema file")
    if not stat.S_ISREG(mode):
        _fail(path, "schema-missing", "The schema path is not a regular file")
    try:
        data = read_limited(path, len(expected))
    except TooLarge:
        data = b""  # longer than the schema: stale
    except OSError as err:
        _fail(path, "schema-missing", f"Cannot read the schema file: {err.strerror or err}")
    if data != expected:
        _fail(path, "schema-stale", "The schema file is stale: it differs from the schema of the spec models")
    typer.echo(f"ok: {path} is up to date")


def write_schema_file(out: str, text: str) -> None:
    """``--out``: every check of :func:`mlops_infra.fileio.output_file` that can run before the missing parents
    exist (a trailing ``/``, a parent that is a file, an existing path that is not a writable regular file),
    then the parents created (an ``OSError`` a UserError naming the path), then the atomic write; a refused
    write removes the directories this call created."""
    path = Path(out)
    if out.endswith(("/", os.sep)) or path.exists() or path.is_symlink():
        output_file(out, what="schema file")  # refuses those (a symlink: written through, or refused)
    missing = []
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"cannot write the schema file: {parent} is not a directory",
                                "Pick a path whose directories are directories.", source=out)
            break
        if parent.is_symlink():
            output_file(out, what="schema file")  # a dangling link on the way: refused (its directory is missing)
        missing.append(parent)
    created = []
    try:
        for parent in reversed(missing):
            parent.mkdir()
            created.append(parent)
        write_output(out, text, what="schema file")
    except (OSError, UserError) as err:
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()
        if isinstance(err, UserError):
            raise
        raise UserError(f"cannot create the directory of the schema file: {err.strerror or err}",
                        "Pick a path you can write.", source=out) from None


def _fail(path: Path, code: str, summary: str) -> NoReturn:
    detail = f"Regenerate it with: mlops-infra schema --out {path}"
    diagnostic = with_location(error(code, summary, detail), SourceLocation(str(path), 1, 1))
    raise UserError(summary, detail, source=str(path), diagnostics=[diagnostic])
