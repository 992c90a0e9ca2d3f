"""The MLSystem spec language: models, loading, validation and environments.

Public entry point: :func:`load_system` (file) or :func:`validate_document` (already parsed).
Contract: user mistakes come back as diagnostics with file:line:col; ``system`` is None whenever
there is an error. With ``env`` the result is that environment's effective system (overrides
applied and re-validated); without it the base system is returned and every environment is
validated too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath

from pydantic import ValidationError

from mlops_infra.diagnostics import Diagnostic, did_you_mean, error, known_list
from mlops_infra.spec.checks import check_system
from mlops_infra.spec.effective import apply_overrides
from mlops_infra.spec.errors import diagnostics_from_validation
from mlops_infra.spec.loader import LoadedDocument, load_document, parse_document
from mlops_infra.spec.system import MLSystem

__all__ = ["LoadedSystem", "MLSystem", "load_system", "parse_system", "validate_document"]


@dataclass
class LoadedSystem:
    """The outcome of loading: the (effective) system when valid, and every diagnostic."""

    document: LoadedDocument | None
    system: MLSystem | None
    env: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.system is not None and not any(d.is_error for d in self.diagnostics)

    def source_line(self, file: str, line: int) -> str:
        return self.document.source_line(line) if self.document and file == self.document.name else ""


def load_system(path: str | FsPath, env: str | None = None) -> LoadedSystem:
    """Load, validate and (with ``env``) resolve one environment of the system in ``path``."""
    document, diagnostics = load_document(path)
    if document is None:
        return LoadedSystem(None, None, env, diagnostics)
    return validate_document(document, env)


def parse_system(text: str, name: str = "<string>", env: str | None = None) -> LoadedSystem:
    """Like :func:`load_system` for text already in memory."""
    document, diagnostics = parse_document(text, name)
    if document is None:
        return LoadedSystem(None, None, env, diagnostics)
    return validate_document(document, env)


def _validate(document: LoadedDocument) -> tuple[MLSystem | None, list[Diagnostic]]:
    try:
        system = MLSystem.model_validate(document.data)
    except ValidationError as exc:
        return None, document.attach(diagnostics_from_validation(exc, document.data, MLSystem))
    return system, document.attach(check_system(system, document.data))


def validate_document(document: LoadedDocument, env: str | None = None) -> LoadedSystem:
    """Validate a parsed document and, with ``env``, its effective environment."""
    base, diagnostics = _validate(document)
    if base is None:
        return LoadedSystem(document, None, env, _sorted(diagnostics))
    if env is not None and env not in base.environments:
        names = sorted(base.environments)
        diagnostics.append(document.attach([error(
            "unknown-environment", f'No environment "{env}"',
            f"Environments in this system: {known_list(names)}.{did_you_mean(env, names)}",
            ("environments",))])[0])
        return LoadedSystem(document, None, env, _sorted(diagnostics))
    selected = [env] if env is not None else sorted(base.environments)
    effective_system = base
    for name in selected:
        system, env_diags = _effective(document, name)
        diagnostics.extend(env_diags)
        if env is not None:
            effective_system = system
    result = _sorted(diagnostics)
    ok = not any(d.is_error for d in result)
    return LoadedSystem(document, effective_system if ok else None, env, result)


def _effective(document: LoadedDocument, env: str) -> tuple[MLSystem | None, list[Diagnostic]]:
    data, redirects, problems = apply_overrides(document.data, env)
    diagnostics = document.attach(problems)
    if not redirects:
        system, more = _validate(document) if problems else (MLSystem.model_validate(document.data), [])
        return (None if problems else system), diagnostics + more
    effective = document.with_data(data, redirects)
    system, more = _validate(effective)
    prefix = f"in environment {env}: "
    more = [_in_env(d, prefix) for d in more]
    return (None if problems else system), diagnostics + more


def _in_env(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    from dataclasses import replace

    return replace(diagnostic, detail=prefix + diagnostic.detail) if diagnostic.detail else diagnostic


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (d.severity, d.code, d.summary, d.location)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
