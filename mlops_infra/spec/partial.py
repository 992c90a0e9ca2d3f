"""Partial checks: which part of a document that failed validation can still be checked.

A document with a type error in one endpoint and an unknown GPU type in another should report
both at once. Validation errors sit inside items; leaving those items out gives a smaller document
that validates, and the semantic checks run on it.

Contract: :func:`prune_invalid` takes the raw data and the raw paths of its validation errors and
returns a pruned copy (the input is never mutated) without every item an error is in (a named item
of :data:`~mlops_infra.spec.system.SECTIONS` or an environment), together with what was left out
(:class:`~mlops_infra.spec.context.KnownElsewhere`: the left-out names, which references treat as
existing, and the raw index of every kept item). It returns None when an error is outside any item
(the root, ``apiVersion``, ``kind``, ``metadata``, a section that is not a list or mapping): then
there is nothing trustworthy to check and only the validation errors are reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mlops_infra.diagnostics import Path
from mlops_infra.spec.base import NAME_PATTERN
from mlops_infra.spec.context import KnownElsewhere
from mlops_infra.spec.system import SECTIONS

ENVIRONMENTS = "environments"


def prune_invalid(data: Any, error_paths: Iterable[Path]) -> tuple[dict[str, Any], KnownElsewhere] | None:
    """The data without the items the errors at ``error_paths`` are in, and what was left out.

    None when some error is not inside an item (see the module docstring).
    """
    invalid = _invalid_items(data, error_paths)
    if invalid is None:
        return None
    pruned = dict(data)
    names: dict[str, set[str]] = {}
    unnamed: set[str] = set()
    raw_indexes: dict[str, tuple[int, ...]] = {}
    for section, keys in invalid.items():
        container = data[section]
        if section == ENVIRONMENTS:
            pruned[section] = {k: v for k, v in container.items() if k not in keys}
            left_out = list(keys)
        else:
            raw_indexes[section] = tuple(i for i in range(len(container)) if i not in keys)
            pruned[section] = [container[i] for i in raw_indexes[section]]
            left_out = [_item_name(container[i]) for i in keys]
        for name in left_out:
            if _is_name(name):
                names.setdefault(section, set()).add(name)
            else:
                unnamed.add(section)  # its name is what is wrong: any reference may mean it
    frozen = {section: frozenset(found) for section, found in names.items()}
    return pruned, KnownElsewhere(frozen, frozenset(unnamed), raw_indexes)


def _invalid_items(data: Any, error_paths: Iterable[Path]) -> dict[str, set[Any]] | None:
    """Section -> indexes (or environment names) of the items with an error; None if one is outside."""
    if not isinstance(data, dict):
        return None
    invalid: dict[str, set[Any]] = {}
    for path in error_paths:
        if len(path) < 2:
            return None
        section, key = path[0], path[1]
        container = data.get(section)
        if section in SECTIONS and isinstance(container, list):
            if not (isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(container)):
                return None
        elif not (section == ENVIRONMENTS and isinstance(container, dict) and key in container):
            return None
        invalid.setdefault(str(section), set()).add(key)
    return invalid


def _item_name(item: Any) -> Any:
    return item.get("name") if isinstance(item, dict) else None


def _is_name(name: Any) -> bool:
    """A valid item name: only then can a reference written correctly be matched against it."""
    return isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) is not None


def overrides_left_out(overrides: Iterable[str], left_out: KnownElsewhere) -> bool:
    """Whether an override path (``section.name.field``) may name an item that was left out.

    Such an environment's effective system cannot be known: in the pruned data the override would
    name no item, or another item of the same name.
    """
    for key in overrides:
        parts = str(key).split(".")
        if len(parts) > 1 and parts[0] in SECTIONS and left_out.resolves(parts[0], parts[1]):
            return True
    return False
