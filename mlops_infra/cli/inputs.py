"""Which system file and environment a command works on, the same way for every command.

Contract:
- ``FILE`` defaults to the system a Pulumi stack directory names when the command runs in one (a
  ``stacks/<env>/`` made by ``mlops-infra init``: ``mlops:systemFile`` and ``mlops:environment`` in
  its ``Pulumi.<env>.yaml``, see :mod:`mlops_infra.stacks`), else ``./mlsystem.yaml`` when there is
  one, else the quickstart embedded in the package (so the README's first command works on a fresh
  machine); a note says which was used.
- The stack directory whose state a plan reads and where ``apply`` runs ``pulumi up``
  (:meth:`Target.stack_dir`): the directory the command runs in when it is a stack directory of
  ``FILE``; else ``<FILE's directory>/stacks/<ENV>`` when it exists (one system per directory: a
  repository with several systems keeps each system's stacks beside it); else ``./stacks/<ENV>``;
  else the current directory. A ``stacks/<ENV>`` whose Pulumi configuration names
  another file (``mlops:systemFile``, :func:`mlops_infra.stacks.stack_context`; a stored path that no
  longer exists, another checkout's, names none: :func:`mlops_infra.stacks.stands_for`) is another
  system's and is passed over (audit applypath-1: ``apply`` of the quickstart from a repository root whose
  ``stacks/prod`` is fraud-detection's ran ``pulumi up`` on fraud-detection/prod); a directory that
  names no system file is used as before (``apply`` then checks its project name,
  :func:`mlops_infra.apply.engine.check_stack_dir`).
- ``ENV`` defaults to the only environment, else ``dev`` when there is one, else the first in the file.
- :func:`load_for_env` prints every diagnostic (warnings too) on stderr and exits 1 when invalid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlops_infra.cli.output import print_diagnostics
from mlops_infra.errors import UserError
from mlops_infra.spec import LoadedSystem, MLSystem, embedded_quickstart_path, validate_document
from mlops_infra.spec.loader import load_document

if TYPE_CHECKING:
    from rich.console import Console

    from mlops_infra.stacks import StackContext

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


@dataclass(frozen=True)
class Target:
    """What a command works on: the system file, the environment asked for (None: the default),
    a note saying where a default came from, and the stack directory whose state it uses."""

    path: Path
    env: str | None
    note: str
    explicit_file: bool

    def stack_dir(self, env: str) -> Path:
        """The stack directory of ``env`` (see the module contract)."""
        from mlops_infra.stacks import stack_context, stands_for

        here = Path.cwd()
        context = stack_context(here, env)
        if context is not None and stands_for(context.system_file, self.path):
            return here

        def ours(directory: Path) -> bool:  # not a stack directory of another system
            named = stack_context(directory, env)
            return named is None or stands_for(named.system_file, self.path)

        beside = self.path.parent / "stacks" / env
        if self.explicit_file and beside.is_dir() and ours(beside):
            return beside
        local = Path("stacks") / env
        return local if local.is_dir() and ours(local) else here


def resolve_target(file: Path | None, env: str | None) -> Target:
    """The system file and environment for ``FILE``/``--env`` here (see the module contract)."""
    if file is not None:
        return Target(file, env, "", True)
    from mlops_infra.stacks import stack_context

    context = stack_context(Path.cwd(), env)
    if context is not None:
        if not context.system_file.is_file():
            raise _stored_path_missing(context)
        chosen_env = env or context.env
        note = (f"Spec: {os.path.relpath(context.system_file)} for environment {chosen_env} "
                f"(mlops:systemFile in {context.config_file.name})")
        return Target(context.system_file, chosen_env, note, True)
    path, note = resolve_file(None)
    return Target(path, env, note, path.name == DEFAULT_FILE)


def _stored_path_missing(context: StackContext) -> UserError:
    """The stack directory's ``mlops:systemFile`` names no file here: most often the absolute path an
    apply in another checkout stored (apply wrote absolute paths until 2026-12-06; audit
    closing-33c-2). Says where it is set, and the file of the same path's tail under a parent of
    this directory when there is one (the same repository, checked out elsewhere)."""
    stored = context.system_file
    guess = _same_tail(stored, context.directory)
    hint = (f" This checkout has {os.path.relpath(guess)}: pass it (`mlops-infra plan {os.path.relpath(guess)}`) "
            f"or set mlops:systemFile to {os.path.relpath(guess, context.directory)}." if guess is not None else
            " Pass the system file (`mlops-infra plan path/to/mlsystem.yaml`) or set mlops:systemFile to its path "
            "relative to this stack directory.")
    return UserError(f"the system file this stack directory names does not exist: {stored}",
                     f"mlops:systemFile in {context.config_file.name} names {stored}, which is not here (an apply "
                     f"in another checkout or on another machine stored its absolute path).{hint}",
                     source=os.path.relpath(context.config_file))


def _same_tail(stored: Path, directory: Path) -> Path | None:
    """The file at the longest tail of ``stored``'s path (two parts at least: not a bare file name)
    under ``directory`` or one of its parents, nearest first; None when there is none."""
    parts = stored.parts[1:] if stored.is_absolute() else stored.parts
    here = directory.resolve()
    for start in range(len(parts) - 1):
        tail = Path(*parts[start:])
        for parent in (here, *here.parents):
            if (parent / tail).is_file():
                return parent / tail
    return None


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
    loaded = load_environment(path, env, err)
    assert loaded.system is not None and loaded.env is not None
    return loaded.system, loaded.env


def load_environment(path: Path, env: str | None, err: Console) -> LoadedSystem:
    """:func:`load_for_env` keeping the document (positions for later diagnostics, such as guardrails)."""
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
    document.forget_lines()  # kept for later diagnostics, held while the state is read and the graph compiled
    return result


def require_extra(module: str, extra: str, purpose: str) -> None:
    """Raise a one-line :class:`UserError` when ``module`` (from the ``extra`` extra) is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"{purpose} needs {module}, which is not installed: pip install 'mlops-infra[{extra}]'")
