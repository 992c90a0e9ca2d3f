"""``mlops-infra schema [--check] [--out PATH]``: the JSON Schema of MLSystem documents.

Contract: without options the schema is printed on stdout. ``--out PATH`` writes it to PATH
(its missing directories created) through :func:`mlops_infra.fileio.write_output`: atomically (a
temporary file renamed over PATH, so an editor or a ``--check`` reading it meanwhile sees the old
schema or the new one, never a truncated file: audit finding concurrency-5), a symlink written
through, a directory, FIFO or read-only file refused with exit 1.
``--check`` writes nothing: it exits 0 when PATH (default ``schemas/mlsystem-v1.schema.json``)
holds exactly the current schema, and 1 with a message saying how to regenerate it otherwise.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mlops_infra.diagnostics import SourceLocation, error, with_location
from mlops_infra.errors import UserError
from mlops_infra.fileio import write_output
from mlops_infra.spec.schema import SCHEMA_FILE, render_schema

DEFAULT_PATH = Path("schemas") / SCHEMA_FILE


def register(app: typer.Typer) -> None:
    """Add the ``schema`` command to ``app``."""
    app.command("schema")(schema)


def schema(
    check: bool = typer.Option(False, "--check", help="Exit 1 when the schema file is stale; write nothing."),
    out: Path | None = typer.Option(None, "--out", "-o", help=f"Write the schema here (--check default: {DEFAULT_PATH})."),
) -> None:
    """Print, write or check the JSON Schema of MLSystem documents (for editors and CI)."""
    text = render_schema()
    if check:
        path = out or DEFAULT_PATH
        if not path.is_file():
            _fail(path, "schema-missing", "The schema file does not exist")
        if path.read_text(encoding="utf-8") != text:
            _fail(path, "schema-stale", "The schema file is stale: it differs from the schema of the spec models")
        typer.echo(f"ok: {path} is up to date")
        return
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    write_output(out, text, what="schema file")
    typer.echo(f"wrote {out}", err=True)


def _fail(path: Path, code: str, summary: str) -> None:
    detail = f"Regenerate it with: mlops-infra schema --out {path}"
    diagnostic = with_location(error(code, summary, detail), SourceLocation(str(path), 1, 1))
    raise UserError(summary, detail, source=str(path), diagnostics=[diagnostic])
