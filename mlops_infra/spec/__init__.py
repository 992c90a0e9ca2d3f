"""The MLSystem spec language: models, loading, validation and environments.

Public entry point: :func:`load_system` (file) or :func:`validate_document` (already parsed).
Contract: user mistakes come back as diagnostics with file:line:col; ``system`` is None whenever
there is an error. With ``env`` the result is that environment's effective system (overrides
applied and re-validated); without it the base system is returned and every environment is
validated too. Every error is reported at once: when validation fails, the semantic checks still
run on the items that validated (see :mod:`mlops_infra.spec.partial`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath

from pydantic import ValidationError

from mlops_infra.diagnostics import Diagnostic, Diagnostics, did_you_mean, error, known_list
from mlops_infra.spec.checks import check_environment, check_system
from mlops_infra.spec.context import NOTHING_ELSEWHERE, KnownElsewhere
from mlops_infra.spec.effective import apply_overrides, override_causing, revalidate
from mlops_infra.spec.errors import diagnostics_from_validation
from mlops_infra.spec.loader import LoadedDocument, load_document, parse_document
from mlops_infra.spec.partial import overrides_left_out, prune_invalid
from mlops_infra.spec.secrets import check_document_secrets, explain_secret_diagnostics
from mlops_infra.spec.serving_contract import check_serving_contracts
from mlops_infra.spec.system import MLSystem

__all__ = ["LoadedSystem", "MLSystem", "embedded_quickstart_path", "load_system", "parse_system",
           "validate_document"]


@dataclass
class LoadedSystem:
    """The outcome of loading: the (effective) system when valid, and every diagnostic."""

    document: LoadedDocument | None
    system: MLSystem | None
    env: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    effective: dict[str, MLSystem] = field(default_factory=dict)
    """The effective system of each environment validated (all of them, or ``env``), when valid."""

    @property
    def ok(self) -> bool:
        return self.system is not None and not any(d.is_error for d in self.diagnostics)

    def source_line(self, file: str, line: int) -> str:
        return self.document.source_line(line) if self.document and file == self.document.name else ""


def embedded_quickstart_path() -> FsPath:
    """Path of the quickstart document shipped inside the package (a copy of examples/quickstart)."""
    from importlib.resources import files

    return FsPath(str(files("mlops_infra").joinpath("examples", "quickstart.yaml")))


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
    return system, document.attach(check_system(system, document.data, source_dir=source_dir(document)))


def validate_document(document: LoadedDocument, env: str | None = None) -> LoadedSystem:
    """Validate a parsed document and, with ``env``, its effective environment.

    Without ``env`` every environment is validated. A problem of the base document is reported
    once, not again for each environment; problems that only an environment has say so in their
    detail ("in environment dev: ...") and point at the override that caused them when there is one.
    A credential anywhere in the raw document (any field, overrides included) is an error
    (:mod:`mlops_infra.spec.secrets`), reported once by place and kind, never by value.
    """
    result = _validate_document(document, env)
    found = document.attach(check_document_secrets(document.data, document.locate))
    diagnostics = _sorted(explain_secret_diagnostics(found, result.diagnostics, document.data))
    ok = not any(d.is_error for d in diagnostics)
    return replace(result, system=result.system if ok else None, diagnostics=diagnostics)


def _validate_document(document: LoadedDocument, env: str | None) -> LoadedSystem:
    base, diagnostics = _validate(document)
    if base is None:
        partial = _partial_checks(document, diagnostics, env)
        diagnostics += _override_problems(document) + partial
        return LoadedSystem(document, None, env, _sorted(diagnostics))
    if env is not None and env not in base.environments:
        names = sorted(base.environments)
        diagnostics.append(document.attach([error(
            "unknown-environment", f'No environment "{env}"',
            f"Environments in this system: {known_list(names)}.{did_you_mean(env, names)}",
            ("environments",))])[0])
        return LoadedSystem(document, None, env, _sorted(diagnostics))
    reported = {(d.code, d.path) for d in diagnostics}
    selected = [env] if env is not None else sorted(base.environments)
    effective_system: MLSystem | None = base
    effective: dict[str, MLSystem] = {}
    for name in selected:
        system, env_diags = _effective(document, base, name, reported=reported)
        diagnostics.extend(d for d in env_diags if (d.code, d.path) not in reported)
        if system is not None:
            effective[name] = system
        if env is not None:
            effective_system = system
    diagnostics += document.attach(list(check_serving_contracts(effective))) if env is None else []
    result = _sorted(diagnostics)
    ok = not any(d.is_error for d in result)
    return LoadedSystem(document, effective_system if ok else None, env, result, effective if ok else {})


def _partial_checks(document: LoadedDocument, invalid: list[Diagnostic], env: str | None) -> list[Diagnostic]:
    """Semantic diagnostics of the part of an invalid document that validates, with raw paths.

    ``invalid`` are the validation errors; the items they are in are left out, and references to
    them count as resolved (see :mod:`mlops_infra.spec.partial`). An environment is checked too
    unless it was left out or one of its overrides names a left-out item (its effective system is
    unknown); override paths themselves are checked on the raw document by
    :func:`_override_problems`.
    """
    pruned = prune_invalid(document.data, [d.path for d in invalid])
    if pruned is None:
        return []
    data, elsewhere = pruned
    try:
        base = MLSystem.model_validate(data)
    except ValidationError:
        return []  # an error the paths did not place in an item: the validation errors say it all
    doc = document.pruned(data, dict(elsewhere.raw_indexes))
    diagnostics = [_raw(d, doc) for d in doc.attach(check_system(base, data, known_elsewhere=elsewhere,
                                                                           source_dir=source_dir(document)))]
    reported = {(d.code, d.path) for d in [*invalid, *diagnostics]}
    selected = [env] if env is not None else sorted(base.environments)
    for name in selected:
        environment = base.environments.get(name)
        if environment is None or overrides_left_out(environment.overrides, elsewhere):
            continue
        env_diags = _effective(doc, base, name, elsewhere, reported)[1]
        diagnostics.extend(d for d in env_diags if (d.code, d.path) not in reported)
    return diagnostics


def _override_problems(document: LoadedDocument) -> list[Diagnostic]:
    """Override paths that resolve to nothing, for every environment of a document that is invalid."""
    envs = document.data.get("environments")
    names = [n for n in envs if isinstance(n, str)] if isinstance(envs, dict) else []
    return [d for n in names for d in document.attach(apply_overrides(document.data, n)[2])]


def _effective(document: LoadedDocument, base: MLSystem, env: str,
               known_elsewhere: KnownElsewhere = NOTHING_ELSEWHERE,
               reported: frozenset | set = frozenset()) -> tuple[MLSystem | None, list[Diagnostic]]:
    """The effective system of ``env`` and its diagnostics (paths already translated to raw paths).

    Only the items an override touches are validated again; every other item is shared with
    ``base``, so an environment costs in proportion to its overrides plus the linear checks.
    ``known_elsewhere`` is set when ``document`` is the pruned part of an invalid document.
    ``reported`` holds (code, path) of the base document's diagnostics: the others come from the
    overrides and are moved onto the override that caused them (:func:`_at_overrides`); the
    environment checks (gates, budgets, schedules) stay where they are, caused by the target.
    """
    data, redirects, problems = apply_overrides(document.data, env)
    effective = document.with_data(data, redirects) if redirects else document
    system, invalid = revalidate(base, data, redirects)
    out = effective.attach(problems)
    prefix = f"In environment {env}: "
    if system is None:  # data paths, as before; only indexes of a pruned document become raw ones
        moved = _at_overrides(document, env, invalid, data, redirects, reported)
        return None, out + [_raw(_in_env(d, prefix), document) for d in effective.attach(moved)]
    folder = source_dir(document)
    checked = _at_overrides(document, env, check_system(system, data, env, known_elsewhere, folder), data,
                            redirects, reported)
    out += [_in_env(d, prefix) for d in effective.attach(checked)]
    out += effective.attach(check_environment(system, data, env, known_elsewhere, folder))
    return (None if problems else system), [_raw(d, effective) for d in out]


def source_dir(document: LoadedDocument) -> FsPath | None:
    """The folder of the document's file (relative artifact paths resolve there), or None for text
    that was not read from a file (``<string>``, ``<stdin>``)."""
    name = document.name
    return None if name.startswith("<") else FsPath(name).parent


def _at_overrides(document: LoadedDocument, env: str, diagnostics: list[Diagnostic], data: dict,
                  redirects: dict, reported: frozenset | set) -> list[Diagnostic]:
    """Move each problem only environment ``env`` has onto the override that caused it.

    ``diagnostics`` have paths in the effective ``data``. A problem under an overridden value is
    located at the override already (``redirects``); one elsewhere (a reference a rename broke, a
    field a ``kind`` override made unknown) is moved when :func:`override_causing` can tell which
    override caused it, and its detail says where the problem shows. A problem the base document
    has too (``reported``) is left alone: it is reported once, at its own line.
    """
    if not redirects or not diagnostics:
        return diagnostics
    out = []
    for d in diagnostics:
        removal = _removed_required(d, document.data, redirects)
        if removal is not None:
            out.append(removal)
            continue
        covered = any(d.path[: len(t)] == t for t in redirects)
        origin = None if covered or (d.code, document.raw_path(d.path)) in reported else override_causing(
            d.path, document.data, data, redirects, d.summary)
        if origin is None:
            out.append(d)
            continue
        detail = (f"{d.detail} (This follows from the override {origin[-1]}; the problem shows at "
                  f"{_where(d, document.data)}.)")
        out.append(replace(d, path=(*origin, *d.path), detail=detail.strip()))  # located at the override
    return out


def _removed_required(d: Diagnostic, raw: dict, redirects: dict) -> Diagnostic | None:
    """A required field an override with ``null`` removed (docs/spec.md "Overrides": null removes a
    field, and a required one cannot be removed), said as such at the override; None otherwise."""
    origin = redirects.get(d.path) if d.code == "missing-field" else None
    if origin is None:
        return None
    _, env, _, key = origin
    overrides = ((raw.get("environments") or {}).get(env) or {}).get("overrides") or {}
    if key not in overrides or overrides[key] is not None:
        return None
    field = str(d.path[-1])
    meaning = d.detail.partition(" It is: ")[2]
    return replace(d, summary=f'Override "{key}: null" removes the required field "{field}"',
                   detail=f"In an override, null removes the field, and this item cannot be without {field}"
                          f"{' (' + meaning.rstrip('.') + ')' if meaning else ''}. Give it a value instead, or "
                          "remove this override. (A channel changes kind with an override of its kind: a field "
                          "only the old kind takes can then be removed.)")


def _where(d: Diagnostic, data: dict) -> str:
    """``monitors.drift.endpoint`` for a diagnostic at ``("monitors", 0, "endpoint")`` of item ``drift``."""
    parts = [str(p) for p in d.path if p != "[key]"]
    if len(d.path) >= 2 and isinstance(d.path[1], int):
        items = data.get(str(d.path[0]))
        item = items[d.path[1]] if isinstance(items, list) and d.path[1] < len(items) else None
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            parts[1] = name
    return ".".join(parts)


def _raw(diagnostic: Diagnostic, document: LoadedDocument) -> Diagnostic:
    raw = document.raw_path(diagnostic.path)
    return diagnostic if raw == diagnostic.path else replace(diagnostic, path=raw)


def _in_env(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    return replace(diagnostic, detail=prefix + diagnostic.detail) if diagnostic.detail else diagnostic


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return Diagnostics(diagnostics).sorted()
