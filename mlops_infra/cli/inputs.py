"""Which system file and environment a command works on, the same way for every command.

Contract:
- ``FILE`` defaults to ``./mlsystem.yaml`` when there is one, else the quickstart embedded in the
  package (so the README's first command works on a fresh machine); a note says which was used.
- ``ENV`` defaults to the only environment, else ``dev`` when there is one, else the first in the file.
- :func:`load_for_env` prints every diagnostic (warnings too) on stderr and exits 1 when invalid.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from mlops_infra.cli.output import print_diagnostics
from mlops_infra.errors import UserError
from mlops_infra.spec import MLSystem, embedded_quickstart_path, validate_document
from mlops_infra.spec.loader import load_document

DEFAULT_FILE = "mlsystem.yaml"
PREFERRED_ENVS = ("dev",)


def resolve_file(file: Path | None) -> tuple[Path, str]:
    """The system file to use and, when it was not given, a note saying which one was used."""
    if file is not None:
        return file, ""
    local = Path(DEFAULT_FILE)
    if local.is_file():
        return local, f"Spec: ./{DEFAULT_FILE} (no FILE given)"
    return embedded_quickstart_path(), "Spec: the embedded quickstart example (no FILE given)"


def pick_env(names: list[str]) -> str | None:
    """The default environment: the only one, else ``dev``, else the first in the file."""
    if len(names) == 1:
        return names[0]
    for preferred in PREFERRED_ENVS:
        if preferred in names:
            return preferred
    return names[0] if names else None


def load_for_env(path: Path, env: str | None, err: Console) -> tuple[MLSystem, str]:
    """Load and validate ``path`` for ``env`` (or the default); diagnostics to stderr; exit 1 if invalid."""
    document, diagnostics = load_document(path)
    if document is None:
        print_diagnostics(diagnostics, err)
        raise typer.Exit(1)
    if env is None:
        envs = document.data.get("environments") if isinstance(document.data, dict) else None
        env = pick_env([str(k) for k in envs] if isinstance(envs, dict) else [])
        if env is None:
            raise UserError("the system has no environments",
                            "Add one under `environments:` (for example dev: {target: {kind: kubernetes, ...}}) "
                            "and choose it with --env.", source=str(path))
    result = validate_document(document, env)
    print_diagnostics(result.diagnostics, err, result.source_line)
    if not result.ok or result.system is None:
        raise typer.Exit(1)
    return result.system, env
