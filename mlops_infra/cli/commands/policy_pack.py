"""``mlops-infra policy-pack [FILE] [--dir DIR] [--force]``: the guardrails as a CrossGuard policy pack.

Contract:
- ``FILE`` defaults to ``./mlsystem.yaml``; it must be valid in every environment (diagnostics are
  printed and nothing is written otherwise).
- Writes :func:`mlops_infra.stacks.policy_pack_files` under ``DIR`` (default: ``policy/`` beside
  ``FILE``), each file atomically; a file that exists is never overwritten without ``--force`` (the
  command lists them, writes nothing and exits 1).
- ``pulumi up --policy-pack DIR`` in a stack directory then evaluates the rules ``mlops-infra plan``
  evaluates, at the levels the spec sets for the stack's environment (docs/guardrails.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mlops_infra.cli.output import error_console, print_diagnostics
from mlops_infra.cli.usage import exit_codes

EXIT_CODES = exit_codes("the pack was written", "the system is not valid, or files exist already (use --force)")


def register(app: typer.Typer) -> None:
    """Add the ``policy-pack`` command to ``app``."""
    app.command("policy-pack", epilog=EXIT_CODES)(policy_pack)


def policy_pack(
    file: Path = typer.Argument(Path("mlsystem.yaml"), help="The MLSystem YAML file (default: ./mlsystem.yaml)."),
    directory: Path | None = typer.Option(
        None, "--dir", "-d", help="Where to write the pack (default: policy/ beside FILE)."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist already."),
) -> None:
    """Write a Pulumi CrossGuard policy pack of the system's guardrails (pulumi up --policy-pack DIR)."""
    from mlops_infra.cli.commands.init import installed_from
    from mlops_infra.fileio import write_new_files
    from mlops_infra.spec import load_system
    from mlops_infra.stacks import policy_pack_files

    loaded = load_system(file)
    print_diagnostics(loaded.diagnostics, error_console(), loaded.source_line)
    if not loaded.ok or loaded.system is None:
        raise typer.Exit(1)
    target = directory if directory is not None else file.parent / "policy"
    venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else None
    files = policy_pack_files(loaded.system.metadata.name, file, target, venv, installed_from())
    write_new_files(target, files, force=force)
    typer.echo(f"Policy pack of {loaded.system.metadata.name!r} for {file}: wrote {len(files)} files under {target}")
    for name in files:
        typer.echo(f"  {target / name}")
    typer.echo(f"Use: pulumi preview --policy-pack {target} (in a stack directory; needs pip install "
               "'mlops-infra[policy]')")
