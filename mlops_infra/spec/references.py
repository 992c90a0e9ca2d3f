"""Names and references: names are unique per section and every reference names an existing item.

Contract: :func:`check_unique_names` reports the second (and later) item of a name, at its
``name``; :func:`check_references` reports each reference that resolves to nothing, at the
reference itself, with a did-you-mean and the list of known names, and each name a list of
references repeats, at the repeat (a list names a set: ``on_alerts: [drift, drift]`` would make
two retraining rules of one name, which the compiler refuses as a duplicate resource). In a partial check (an invalid
document), an item left out as invalid still exists: references to it resolve
(:attr:`~mlops_infra.spec.context.CheckContext.known_elsewhere`), and only repeats among the
items checked are reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops_infra.diagnostics import Diagnostic, did_you_mean, error, known_list
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.system import SECTIONS

SINGULAR = {
    "data_sources": "data source", "clusters": "cluster", "training_jobs": "training job", "models": "model",
    "endpoints": "endpoint", "monitors": "monitor", "alerts": "alert", "channels": "channel",
}
"""How an item of each section is called in messages."""

REFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("training_jobs", ("cluster",), "clusters"),
    ("training_jobs", ("inputs",), "data_sources"),
    ("training_jobs", ("outputs",), "data_sources"),
    ("training_jobs", ("registers",), "models"),
    ("training_jobs", ("triggers", "on_alerts"), "alerts"),
    ("training_jobs", ("notify",), "channels"),
    ("endpoints", ("model", "name"), "models"),
    ("endpoints", ("rollout", "rollback_on"), "alerts"),
    ("monitors", ("endpoint",), "endpoints"),
    ("monitors", ("baseline",), "data_sources"),
    ("alerts", ("monitor",), "monitors"),
    ("alerts", ("notify",), "channels"),
)
"""(section, field path in an item, section referred to): every cross-item reference of the language."""


def check_unique_names(ctx: CheckContext) -> Iterator[Diagnostic]:
    """An item name may appear once per section; report each repeat at its name."""
    for section in SECTIONS:
        first = ctx.names[section]
        for i, item in enumerate(getattr(ctx.system, section)):
            if first[item.name] != i:
                noun = SINGULAR[section]
                number = ctx.known_elsewhere.raw_index(section, first[item.name]) + 1
                yield error(
                    "duplicate-name", f'Duplicate {noun} name "{item.name}"',
                    f'Item {number} of {section} is already called "{item.name}"; names must be '
                    f"unique within a section because references and overrides use them. Rename or remove this one.",
                    (section, i, "name"), f"{section}.{item.name}")


def check_references(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Every name in a reference field resolves to an item of the section it refers to."""
    elsewhere = ctx.known_elsewhere
    for section, fields, target in REFERENCES:
        known = ctx.names[target]
        items = getattr(ctx.system, section)
        first = fields[0]
        values_of = ([getattr(item, first, None) for item in items] if len(fields) == 1
                     else [_get(item, fields) for item in items])
        for i, value in enumerate(values_of):
            if value is None or (type(value) is str and value in known):
                continue  # the common cases first: nothing, or a name that resolves
            item = items[i]
            values = value if isinstance(value, list) else [value]
            for j, name in enumerate(values):
                if j and name in values[:j]:
                    yield _repeated(section, item.name, fields, target, name, values.index(name),
                                    (section, i, *fields, j))
                    continue
                if name in known or elsewhere.resolves(target, name):
                    continue
                path = (section, i, *fields, j) if isinstance(value, list) else (section, i, *fields)
                names = [*known, *elsewhere.names.get(target, ())]
                yield _unknown(section, item.name, fields, target, name, names, path)


def _unknown(section: str, owner: str, fields: tuple[str, ...], target: str, name: str,
             known: list[str], path: tuple) -> Diagnostic:
    noun = SINGULAR[target]
    return error(
        "unknown-reference", f'Unknown {noun} "{name}"',
        f'{SINGULAR[section].capitalize()} "{owner}" refers in {".".join(fields)} to {noun} "{name}", which is not '
        f"defined in {target}.{did_you_mean(name, known)} Known {target}: {known_list(known)}.",
        path, f"{section}.{owner}")


def _repeated(section: str, owner: str, fields: tuple[str, ...], target: str, name: str, first: int,
              path: tuple) -> Diagnostic:
    noun = SINGULAR[target]
    return error(
        "repeated-reference", f'{noun.capitalize()} "{name}" is listed twice',
        f'{SINGULAR[section].capitalize()} "{owner}" already names {noun} "{name}" in {".".join(fields)} '
        f"(item {first + 1}); each {noun} is listed once. Remove this one.",
        path, f"{section}.{owner}")


def _get(item: Any, fields: tuple[str, ...]) -> Any:
    value = item
    for name in fields:
        value = getattr(value, name, None)
        if value is None:
            return None
    return value
