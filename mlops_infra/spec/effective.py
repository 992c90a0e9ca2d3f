"""The effective document of one environment: the base document with its overrides applied.

Override keys are dotted paths: ``<section>.<item name>.<field>[.<field>...]`` for named-item
sections (``endpoints.scorer.replicas``) and ``metadata.<field>...`` for metadata. An override
replaces the value at its path as a whole (no deep merge). Applying overrides never mutates the
input; the result records, for every replaced path, the raw path of the override that wrote it, so
diagnostics on the effective document point at the override's line.
"""

from __future__ import annotations

import copy
from typing import Any

from mlops_infra.diagnostics import Diagnostic, Path, did_you_mean, error, known_list
from mlops_infra.spec.errors import field_names
from mlops_infra.spec.system import SECTIONS, MLSystem


def apply_overrides(data: dict, env_name: str) -> tuple[dict, dict[Path, Path], list[Diagnostic]]:
    """Return (effective data, redirects, diagnostics) for ``env_name`` of raw ``data``."""
    env = (data.get("environments") or {}).get(env_name) or {}
    overrides = env.get("overrides") or {} if isinstance(env, dict) else {}
    if not isinstance(overrides, dict):
        return data, {}, []
    effective = dict(data)
    copied: set[str] = set()
    redirects: dict[Path, Path] = {}
    diagnostics: list[Diagnostic] = []
    for key, value in overrides.items():
        origin: Path = ("environments", env_name, "overrides", key)
        target, problem = _resolve_path(effective, str(key), origin)
        if problem is not None:
            diagnostics.append(problem)
            continue
        section = target[0]
        if section not in copied:
            effective[section] = copy.deepcopy(effective.get(section))
            copied.add(section)
        _set(effective, target, copy.deepcopy(value))
        redirects[target] = origin
    return effective, redirects, diagnostics


def _resolve_path(data: dict, key: str, origin: Path) -> tuple[Path, Diagnostic | None]:
    parts = key.split(".")
    section = parts[0]
    sections = [*SECTIONS, "metadata"]
    if section not in sections:
        return (), error("unknown-override-path", f'Override path "{key}" names no section',
                         f'"{section}" is not a section.{did_you_mean(section, sections)} '
                         f"Paths look like endpoints.<name>.<field>; sections: {known_list(sections)}.", origin)
    if section == "metadata":
        return _walk(data, ("metadata",), parts[1:], key, origin)
    if len(parts) < 3:
        return (), error("unknown-override-path", f'Override path "{key}" is incomplete',
                         f"Name the item and the field: {section}.<name>.<field>, for example "
                         "endpoints.scorer.replicas.", origin)
    items = data.get(section) or []
    names = [it.get("name") for it in items if isinstance(it, dict)]
    if parts[1] not in names:
        return (), error("unknown-override-path", f'Override path "{key}": no {section} item "{parts[1]}"',
                         f"Known {section}: {known_list(n for n in names if n)}.{did_you_mean(parts[1], filter(None, names))}",
                         origin)
    return _walk(data, (section, names.index(parts[1])), parts[2:], key, origin)


def _walk(data: dict, base: Path, fields: list[str], key: str, origin: Path) -> tuple[Path, Diagnostic | None]:
    """Check every field on the way exists in the model; intermediate mappings must be present."""
    from mlops_infra.spec.errors import _annotation_at  # the model walk shared with error mapping

    current: Any = data
    for part in base:
        current = current[part]
    path: list[str | int] = list(base)
    for i, name in enumerate(fields):
        allowed = field_names(_annotation_at(tuple(path), data))
        if allowed and name not in allowed:
            return (), error("unknown-override-path", f'Override path "{key}": unknown field "{name}"',
                             f"Allowed fields here: {known_list(allowed, 20)}.{did_you_mean(name, allowed)}", origin)
        path.append(name)
        last = i == len(fields) - 1
        if not last:
            if not isinstance(current, dict) or not isinstance(current.get(name), dict):
                return (), error("unknown-override-path", f'Override path "{key}": "{name}" is not set',
                                 f'The base document has no "{name}" mapping to override a field of. Override '
                                 f"{'.'.join(key.split('.')[: key.split('.').index(name) + 1])} as a whole instead.",
                                 origin)
            current = current[name]
    if not fields:
        return (), error("unknown-override-path", f'Override path "{key}" names no field',
                         "Add the field to override, for example endpoints.scorer.replicas.", origin)
    return tuple(path), None


def _set(data: dict, path: Path, value: Any) -> None:
    current: Any = data
    for part in path[:-1]:
        current = current[part]
    current[path[-1]] = value


def environment_names(system: MLSystem) -> list[str]:
    return sorted(system.environments)
