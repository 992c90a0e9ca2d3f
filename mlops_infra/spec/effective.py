"""The effective document of one environment: the base document with its overrides applied.

Override keys are dotted paths: ``<section>.<item name>.<field>[.<field>...]`` for named-item
sections (``endpoints.scorer.replicas``) and ``metadata.<field>...`` for metadata, except
``metadata.name``: it is the Pulumi project name, which a Pulumi project has once for all its stacks
(Pulumi.yaml ``name``, https://www.pulumi.com/docs/iac/concepts/projects/project-file/), so an
environment cannot change it (``system-name-override``). An override
replaces the value at its path as a whole (no deep merge), and overrides apply in file order, so an
override whose path a *later* override of the same environment equals or encloses has no effect at
all (:func:`replaced_overrides`): it is an error, ``override-replaced``, at the dead override's line
(the file would say ``replicas.min: 3`` while the stack gets the later ``replicas``' min). Applying
overrides never mutates the input; the result records, for every replaced path, the raw path of the
override that wrote it, so diagnostics on the effective document point at the override's line.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from mlops_infra.diagnostics import Diagnostic, Path, did_you_mean, error, known_list
from mlops_infra.spec.errors import diagnostics_from_validation, field_names
from mlops_infra.spec.system import SECTIONS, Metadata, MLSystem


def apply_overrides(data: dict, env_name: str) -> tuple[dict, dict[Path, Path], list[Diagnostic]]:
    """Return (effective data, redirects, diagnostics) for ``env_name`` of raw ``data``.

    Copy on write: only the containers on the way to an overridden value are copied, so the
    cost is proportional to the overrides, not to the document. ``data`` may be any parsed YAML
    (even one that fails validation); malformed parts simply give no effective change.
    """
    environments = data.get("environments")
    env = environments.get(env_name) if isinstance(environments, dict) else None
    overrides = env.get("overrides") if isinstance(env, dict) else None
    if not isinstance(overrides, dict) or not overrides:
        return data, {}, []
    effective = dict(data)
    copied: set[Path] = set()
    names: dict[str, dict[str, int]] = {}
    redirects: dict[Path, Path] = {}
    diagnostics: list[Diagnostic] = []
    applied: list[str] = []
    for key, value in overrides.items():
        origin: Path = ("environments", env_name, "overrides", key)
        target, problem = _resolve_path(effective, str(key), origin, names, value is None)
        if problem is not None:
            diagnostics.append(problem)
            continue
        _set(effective, target, value, copied)  # shared, never mutated: no copy (and no recursion)
        redirects[target] = origin
        applied.append(key)
    for dead, later in replaced_overrides(applied).items():
        diagnostics.append(_replaced(env_name, applied[dead], applied[later]))
    return effective, redirects, diagnostics


def replaced_overrides(keys: Iterable[Any]) -> dict[int, int]:
    """Which overrides a later one replaces: index of the dead override -> index of the last later
    override that replaces it, for the override keys of one environment in file order.

    The one rule of override order (``validate``'s ``override-replaced`` and ``promote``'s refusal of
    a pin a later override replaces both use it): overrides apply in file order and each replaces
    the value at its path as a whole, so a later override whose path equals or encloses an earlier
    one's (whole dotted segments: ``endpoints.scorer.replicas`` encloses
    ``endpoints.scorer.replicas.min``, not ``endpoints.scorer.replicas_x``) discards what the
    earlier one wrote. A later override *inside* an earlier one's value is a merge, not a
    replacement. Cost: one dictionary lookup per path segment.
    """
    keys = [str(k) for k in keys]
    last = {key: i for i, key in enumerate(keys)}
    out: dict[int, int] = {}
    for i, key in enumerate(keys):
        parts = key.split(".")
        later = max((last.get(".".join(parts[:n]), -1) for n in range(1, len(parts) + 1)), default=-1)
        if later > i:
            out[i] = later
    return out


def _replaced(env: str, dead: str, later: str) -> Diagnostic:
    """``override-replaced`` at the dead override ``dead``, which ``later`` replaces."""
    rest = dead[len(later) + 1:].split(".") if dead != later else []
    moved = "<this value>"
    for name in reversed(rest):
        moved = f"{{..., {name}: {moved}}}"
    fix = (f"Put this override after {later} (a later override inside a mapping changes just that field), "
           f"or move its value into that override ({later}: {moved}) and remove this line"
           if rest else "Remove one of the two")
    return error("override-replaced",
                 f'Override "{dead}" has no effect in environment {env}: the later override "{later}" replaces it',
                 f"Overrides apply in file order and each replaces the value at its path as a whole, so {later}, "
                 f"written after this one, discards what it set: the file says one value, the environment gets "
                 f"another. {fix}.", ("environments", env, "overrides", dead))


def _name_index(data: dict, section: str, names: dict[str, dict[str, int]]) -> dict[str, int]:
    """Item name -> index of its first occurrence in ``section`` (computed once per section)."""
    index = names.get(section)
    if index is None:
        items = data.get(section)
        index = {}
        for i, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str):
                index.setdefault(name, i)
        names[section] = index
    return index


def _resolve_path(data: dict, key: str, origin: Path, names: dict[str, dict[str, int]],
                  remove: bool = False) -> tuple[Path, Diagnostic | None]:
    parts = key.split(".")
    section = parts[0]
    sections = [*SECTIONS, "metadata"]
    if section not in sections:
        return (), error("unknown-override-path", f'Override path "{key}" names no section',
                         f'"{section}" is not a section.{did_you_mean(section, sections)} '
                         f"Paths look like endpoints.<name>.<field>; sections: {known_list(sections)}.", origin)
    if section == "metadata":
        if not isinstance(data.get("metadata"), dict):
            return (), error("unknown-override-path", f'Override path "{key}": the document has no metadata',
                             "Add metadata to the document before overriding its fields.", origin)
        if parts[1:2] == ["name"]:
            return (), error("system-name-override", f'Override path "{key}": the system name is one for every '
                             "environment",
                             "metadata.name is the Pulumi project name, and a Pulumi project has one name for all "
                             "its stacks (Pulumi.yaml `name`; `mlops-infra init` writes the base name): an "
                             "environment with another name would plan against another project's state and "
                             "`apply` would refuse its stack directory. Remove this override; to tell environments "
                             "apart, override metadata.labels or metadata.description.", origin)
        return _walk(data, ("metadata",), parts[1:], key, origin, remove)
    if len(parts) < 3:
        return (), error("unknown-override-path", f'Override path "{key}" is incomplete',
                         f"Name the item and the field: {section}.<name>.<field>, for example "
                         "endpoints.scorer.replicas.", origin)
    index = _name_index(data, section, names)
    if parts[1] not in index:
        return (), error("unknown-override-path", f'Override path "{key}": no {section} item "{parts[1]}"',
                         f"Known {section}: {known_list(index)}.{did_you_mean(parts[1], index)}", origin)
    return _walk(data, (section, index[parts[1]]), parts[2:], key, origin, remove)


def _walk(data: dict, base: Path, fields: list[str], key: str, origin: Path,
          remove: bool = False) -> tuple[Path, Diagnostic | None]:
    """Check every field on the way exists in the model; intermediate mappings must be present.

    Each field is checked against the union member the effective data selects so far (a channel's
    ``kind``), except the last one of a removal (``remove``: the value is ``null``), which may be a
    field of any member: removing a Slack channel's ``webhook_url`` after ``kind: email`` is how a
    channel changes kind (the effective item is validated as a whole afterwards)."""
    from mlops_infra.spec.errors import _annotation_at  # the model walk shared with error mapping

    current: Any = data
    for part in base:
        current = current[part]
    path: list[str | int] = list(base)
    for i, name in enumerate(fields):
        annotation = _annotation_at(tuple(path), data)
        if _free_form(annotation):
            path.append(".".join(fields[i:]))  # the rest is one key: `metadata.labels.cost.center`
            break
        allowed = field_names(annotation)
        if allowed and name not in allowed and remove and i == len(fields) - 1:
            allowed = field_names(_annotation_at(tuple(path), None))  # every member of the union
        if allowed and name not in allowed:
            return (), error("unknown-override-path", f'Override path "{key}": unknown field "{name}"',
                             f"Allowed fields here: {known_list(allowed, 20)}.{did_you_mean(name, allowed)}", origin)
        path.append(name)
        last = i == len(fields) - 1
        if not last:
            value = current.get(name) if isinstance(current, dict) else None
            if not isinstance(value, dict):
                whole = ".".join(key.split(".")[: len(base) + i + 1])
                return (), error("unknown-override-path", f'Override path "{key}": "{name}" {_not_a_mapping(value)}',
                                 f"An override replaces a value as a whole and reaches into mappings only. Override "
                                 f"{whole} as a whole instead, for example {whole}: {_example(value)}.", origin)
            current = value
    if not fields:
        return (), error("unknown-override-path", f'Override path "{key}" names no field',
                         "Add the field to override, for example endpoints.scorer.replicas.", origin)
    return tuple(path), None


def _free_form(annotation: Any) -> bool:
    """Whether the spec has a free-form mapping here (``dict[str, ...]``: labels, hyperparameters, a data
    source's columns), whose keys may hold dots: AWS tag keys allow ``_ . : / = + - @``
    (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html), a Kubernetes label key's
    prefix is a DNS subdomain such as ``app.kubernetes.io``
    (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
    Every such mapping of the spec holds scalars, so an override path's rest is one key there (audit
    yamledge-7: ``metadata.labels.cost.center`` was walked into a label ``cost``, and the fix offered
    added that label to every resource)."""
    from typing import get_origin

    from mlops_infra.spec.errors import _union_members

    return any(get_origin(member) is dict for member in _union_members(annotation))


def _not_a_mapping(value: Any) -> str:
    """Why an override path cannot go through ``value`` (it is not a mapping)."""
    if value is None:
        return "is not set in the base document"
    if isinstance(value, list):
        return "is a list, not a mapping (items of a list are not addressed by index)"
    return "is a single value, not a mapping"


def _example(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, int | str) for v in value) and len(value) <= 8:
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "<new value>"


def _set(data: dict, path: Path, value: Any, copied: set[Path]) -> None:
    """Set ``path`` in ``data`` (a copy of the root), copying each container on the way once; a
    ``None`` value (YAML ``null``) removes the key instead."""
    current: Any = data
    for depth in range(1, len(path)):
        prefix = path[:depth]
        child = current[path[depth - 1]]
        if prefix not in copied:
            child = list(child) if isinstance(child, list) else dict(child)
            current[path[depth - 1]] = child
            copied.add(prefix)
        current = child
    if value is None:
        current.pop(path[-1], None)  # null removes the field (a copy: the input is never mutated)
    else:
        current[path[-1]] = value


def override_causing(path: Path, base_data: dict, data: dict, redirects: dict[Path, Path],
                     message: str = "") -> Path | None:
    """The raw path of the override that caused a problem at ``path`` of an effective document.

    Only an environment's problems are asked about, so one of its overrides caused it; this
    finds which, in order: an override inside the same item (the one sharing the longest path);
    an override of an item's ``name`` whose old or new name is the value at ``path`` (a reference
    the rename broke, or a name the rename now repeats); an override inside an item the problem's
    item refers to (:data:`~mlops_infra.spec.references.REFERENCES`: a job's cluster, a monitor's
    endpoint, an alert's monitor, ...), nearest first, following references on through the items
    referred to; the only override. Among referred items, one the diagnostic's ``message`` names
    (``cluster "gpu-train"``) is preferred, and within an item the override ending in the problem's
    own field name (``clusters.gpu-train.nodes`` for ``training_jobs.retrain.nodes``). None when it
    cannot tell.
    """
    if not redirects:
        return None
    item = path[:1] if path[:1] == ("metadata",) else path[:2]
    same_item = [t for t in redirects if t[: len(item)] == item]
    if same_item:
        return redirects[max(same_item, key=lambda t: _common_prefix(t, path))]
    value = _value_at(data, path)
    if isinstance(value, str):
        for target, origin in redirects.items():
            if target[-1] == "name" and len(target) == 3 and value in (
                    _value_at(base_data, target), _value_at(data, target)):
                return origin
    referred = _in_referred_item(path, data, redirects, message)
    if referred is not None:
        return referred
    return next(iter(redirects.values())) if len(redirects) == 1 else None


def _in_referred_item(path: Path, data: dict, redirects: dict[Path, Path], message: str) -> Path | None:
    """The override inside the nearest item that the item at ``path`` refers to (breadth first over
    references), or None when no referred item is overridden or the nearest ones tie."""
    from mlops_infra.spec.references import REFERENCES

    if len(path) < 2 or not isinstance(path[1], int):
        return None
    overridden: dict[Path, list[Path]] = {}
    for target in redirects:
        if len(target) > 2 and isinstance(target[1], int):
            overridden.setdefault(target[:2], []).append(target)
    seen = {path[:2]}
    level = [path[:2]]
    indexes: dict[str, dict[str, int]] = {}
    while level and overridden:
        found: list[Path] = []
        following: list[Path] = []
        for section, index in level:
            for owner, fields, into in REFERENCES:
                if owner != section:
                    continue
                names = _value_at(data, (section, index, *fields))
                positions = _name_index(data, into, indexes)
                for name in names if isinstance(names, list) else [names]:
                    where = (into, positions[name]) if isinstance(name, str) and name in positions else None
                    if where is None or where in seen:
                        continue
                    seen.add(where)
                    following.append(where)
                    if where in overridden:
                        found.append(where)
        if found:
            named = [w for w in found if f'"{_value_at(data, (*w, "name"))}"' in message]
            if len(named) == 1 or len(found) == 1:
                targets = overridden[(named or found)[0]]
                return redirects[max(targets, key=lambda t: (t[-1] == path[-1], -targets.index(t)))]
            return None
        level = following
    return None


def _common_prefix(a: Path, b: Path) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _value_at(data: Any, path: Path) -> Any:
    current = data
    for part in path:
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            return None
    return current


def revalidate(base: MLSystem, data: dict, redirects: dict[Path, Path]) -> tuple[MLSystem | None, list[Diagnostic]]:
    """The effective system: ``base`` with the items that overrides touched validated again from ``data``.

    Returns (system, []) or (None, diagnostics with raw paths into ``data``). Items no override
    touched are shared with ``base``; the root model has no cross-field validators, so replacing
    validated items gives the same system as validating ``data`` as a whole.
    """
    touched: dict[Path, None] = {}
    for target in sorted(redirects, key=str):
        touched.setdefault(target[:1] if target[0] == "metadata" else target[:2])
    updates: dict[str, Any] = {}
    diagnostics: list[Diagnostic] = []
    for where in touched:
        section = str(where[0])
        try:
            if section == "metadata":
                updates[section] = Metadata.model_validate(data[section])
            else:
                items = updates.setdefault(section, list(getattr(base, section)))
                items[where[1]] = _item_adapter(section).validate_python(data[section][where[1]])
        except ValidationError as exc:
            diagnostics += diagnostics_from_validation(exc, data, MLSystem, where)
    if diagnostics:
        return None, diagnostics
    return base.with_updates(updates), []


@cache
def _item_adapter(section: str) -> TypeAdapter:
    """A validator for one item of ``section`` (the list's item type, unions included)."""
    return TypeAdapter(get_args(MLSystem.model_fields[section].annotation)[0])
