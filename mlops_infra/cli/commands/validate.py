"""``mlops-infra validate FILE [--env ENV] [--format text|json]``.

Contract: exit 0 when the document is valid (warnings allowed, printed), 1 when it is not, or when a
mandatory guardrail fails in an environment (advisory ones are warnings; docs/guardrails.md).
Text format: diagnostics go to stderr like a compiler's (``file:line:col: error: summary``, the fix,
the source line with a caret); a valid document prints a one-line summary on stdout. JSON format:
one JSON object on stdout (docs/diagnostics.md), nothing on stderr.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from mlops_infra.cli.guardrails import check_guardrails
from mlops_infra.cli.output import diagnostics_json, error_console, keep_for_exit, print_diagnostics
from mlops_infra.cli.usage import exit_codes
from mlops_infra.spec import LoadedSystem, MLSystem, load_system
from mlops_infra.spec.references import SINGULAR
from mlops_infra.spec.system import SECTIONS


class Format(StrEnum):
    """Output formats of validate."""

    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate", epilog=exit_codes("valid (warnings are printed and allowed)",
                                              "not valid, or the file cannot be read"))(validate)


def validate(
    file: Path = typer.Argument(..., help="The MLSystem YAML file.", show_default=False),
    env: str | None = typer.Option(None, "--env", "-e", help="Validate only this environment (default: all)."),
    output_format: Format = typer.Option(Format.TEXT, "--format", "-f", help="text (for people) or json (for tools)."),
) -> None:
    """Check an MLSystem document: syntax, fields, references, hardware, monitors and every environment."""
    result = check_guardrails(load_system(file, env))
    if output_format is Format.JSON:
        extra = {"file": str(file), "env": env, "summary": summary(result) if result.ok else None}
        typer.echo(diagnostics_json(result.diagnostics, **extra), nl=False)
    else:
        print_diagnostics(result.diagnostics, error_console(), result.source_line)
        if result.ok:
            typer.echo(summary(result))
    keep_for_exit(result)
    if not result.ok:
        raise typer.Exit(1)


def summary(result: LoadedSystem) -> str:
    """``ok: <name>: 2 data sources, 1 cluster, ...; environments dev, staging, prod (production: prod)``.

    The production set is derived (docs/guardrails.md: ``guardrails.production``, else the environment
    that ends a promotion chain), so another environment's ``promote_from`` can change it: the line
    shows it (audit envs-5). With ``--env``: ``environment prod (production)`` or ``(not production)``."""
    from mlops_infra.spec.guardrails import is_production

    system = result.system
    assert system is not None, "summary() needs a valid system"
    envs = [result.env] if result.env else list(system.environments)
    production = [e for e in envs if is_production(system.environments, e)]
    if result.env:
        which = " (production)" if production else " (not production)"
    else:
        which = f" (production: {', '.join(production)})" if production else " (no production environment)"
    where = f"; environment{'s' * (len(envs) != 1)} {', '.join(envs)}{which}" if envs else "; no environments"
    return f"ok: {system.metadata.name}: {counts(system)}{where}"


def counts(system: MLSystem) -> str:
    """'2 data sources, 1 cluster, ...' for every non-empty section, in document order."""
    parts = []
    for section in SECTIONS:
        n = len(getattr(system, section))
        if n:
            noun = SINGULAR[section]
            parts.append(f"{n} {noun}{'s' * (n != 1)}")
    return ", ".join(parts) or "no items"
