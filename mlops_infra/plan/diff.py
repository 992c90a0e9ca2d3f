"""Property-level diff of normalised inputs: the only module that uses deepdiff (and only for lists of scalars).

Contract:
- :func:`diff_inputs` turns a :class:`~mlops_infra.plan.normalize.Normalized` pair into
  :class:`~mlops_infra.plan.model.AttributeChange` rows sorted by path (indices numerically).
  Equal inputs (the common case at scale) return ``()`` without calling deepdiff: when the
  normalising walk proved them equal (``Normalized.differs`` False) no further check runs, else
  equal canonical JSON decides.
- Values in a change are display-safe: the engine's unknown sentinel becomes
  ``UNKNOWN_AFTER_APPLY``; a path under a sensitive rule path or a secret found in state becomes
  ``REDACTED`` (a change above such a path is redacted inside and marked ``sensitive``). No secret
  value leaves this module.
- The state's side of an environment variable is shown only when the desired side holds that same
  variable with the same value, else ``REDACTED`` (:func:`_prior_shown`); the desired side stays
  visible. Where environment values live (a Lambda function's ``environment.variables.<NAME>``, a
  Kubernetes container's ``env[i].value``, the ``data`` of a ConfigMap a container takes environment
  from, a SageMaker pipeline step's ``Arguments.Environment.<NAME>``), the rule and its sources are
  :mod:`mlops_infra.plan.env_values`' (applied unguarded: the desired side is printed in the same row).
  After a ``pulumi refresh`` the state holds what was typed in the console, under names no detector
  knows (audits closing-34d-2, closing-34g-1/-2). Which ConfigMaps are environments is the graph's
  answer when the caller passes it (``diff_inputs(env_data=...)``, the planner does), else every
  ConfigMap's keys shaped like a variable name count. Only the display changes: paths, actions and
  ``sensitive`` flags are the same.
- :func:`creation_changes` lists a new resource's top-level inputs (before = None), with the same
  display rules; :func:`new_resource_changes` gives the same from the desired inputs, without
  the normalised tree.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import Any

import orjson

from mlops_infra.graph import ARCHIVE, JSON, REF
from mlops_infra.plan.env_values import (
    CONTAINER_ENV,
    DataKeys,
    by_name,
    data_keys,
    entry_shown,
    env_entry_value,
    env_map,
    env_map_entry,
    shown,
)
from mlops_infra.plan.model import REDACTED, UNKNOWN_AFTER_APPLY, AttributeChange
from mlops_infra.plan.normalize import (
    _UNKNOWN_JSON,
    MISSING,
    Lookup,
    Normalized,
    _abnormal,
    _num,
    _trie,
    _Unresolved,
    _Walker,
    created_text,
)
from mlops_infra.plan.rules import Path, PathMatcher, ReplaceRule, format_path
from mlops_infra.state.model import UNKNOWN

_SECRET_PLACEHOLDER = {"(secret)": "(encrypted)"}


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, compact): equal text means equal values, types included."""
    return _CANONICAL.encode(value)


def _surely_differ(a: Any, b: Any) -> bool:
    """Whether ``canonical(a) != canonical(b)``, answered by orjson (sorted keys) when it writes both: True only
    then; False means "ask :func:`canonical`". Each encoder writes JSON values of the same types as the same text
    exactly when they are equal (one order of keys, shortest round-trip floats, every string escaped its one way),
    except that orjson writes NaN and the infinities as ``null``: two texts it writes differently are of values
    ``canonical`` writes differently too. What orjson refuses (a key that is not a string, an integer past 64
    bits, a lone surrogate, another type) is left to ``canonical``. The common case of :func:`diff_inputs`,
    trees that differ, so costs one C-speed write of each instead of the json module's sorted one."""
    try:
        return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) != orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return False


class _Sensitivity:
    """Rule paths (patterns) plus concrete secret paths found in state."""

    def __init__(self, rule: PathMatcher, secrets: Iterable[Path]) -> None:
        self.rule = rule
        self.secrets = tuple(set(secrets))

    def covers(self, path: Path) -> bool:
        if self.rule.covers(path):
            return True
        if not self.secrets:
            return False
        return any(len(s) <= len(path) and path[: len(s)] == s for s in self.secrets)

    def touches(self, path: Path) -> bool:
        if self.rule.touches(path):
            return True
        if not self.secrets:
            return False
        n = len(path)
        return any(s[:n] == path[: len(s)] for s in self.secrets)


_NOTHING_SENSITIVE = _Sensitivity(PathMatcher(()), ())


def _display(value: Any, path: Path, sens: _Sensitivity) -> Any:
    """``value`` made safe to show: secrets redacted, unknowns spelled out."""
    if value is _ABSENT:
        return None
    if sens.covers(path) or value == _SECRET_PLACEHOLDER:
        return REDACTED
    if isinstance(value, dict):
        if not sens.touches(path):
            return _unknowns(value)
        return {k: _display(v, (*path, k), sens) for k, v in value.items()}
    if isinstance(value, list):
        if not sens.touches(path):
            return _unknowns(value)
        return [_display(v, (*path, i), sens) for i, v in enumerate(value)]
    return UNKNOWN_AFTER_APPLY if value == UNKNOWN else value


def _prior_shown(before: Any, after: Any, path: Path, keys: DataKeys = None) -> Any:
    """The displayed state side ``before`` with every environment value the desired side ``after``
    does not hold (same variable, same value) replaced by ``REDACTED`` (module contract; where and when:
    :mod:`mlops_infra.plan.env_values`, unguarded). ``before`` is already display-safe; a copy is made
    where something is hidden. ``keys``: which keys of a ConfigMap's ``data`` are environment
    variables (:func:`~mlops_infra.plan.env_values.data_keys`; None for any other resource)."""
    if before is None or before == REDACTED:
        return before
    n = len(path)
    if env_map_entry(path, keys) or env_entry_value(path):
        return shown(str(path[-1]), before, after, hidden=REDACTED, guarded=False)
    if env_map(path, keys) and isinstance(before, dict):
        ours = after if isinstance(after, dict) else {}
        return {k: _prior_shown(v, ours.get(k), (*path, k), keys) for k, v in before.items()}
    if n and path[-1] == CONTAINER_ENV and isinstance(before, list):
        ours = by_name(after)
        return [_env_entry(e, ours) for e in before]
    if n >= 2 and path[-2] == CONTAINER_ENV and isinstance(path[-1], int):
        return _env_entry(before, by_name([after]))
    if isinstance(before, dict):
        theirs = after if isinstance(after, dict) else {}
        return {k: _prior_shown(v, theirs.get(k), (*path, k), keys) for k, v in before.items()}
    if isinstance(before, list):
        theirs = after if isinstance(after, list) else []
        return [_prior_shown(v, theirs[i] if i < len(theirs) else None, (*path, i), keys)
                for i, v in enumerate(before)]
    return before


def _env_entry(entry: Any, ours: dict[Any, Any]) -> Any:
    """A container ``env`` entry with its ``value`` shown only when ``ours`` (name -> desired entry)
    gives that name the same value."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return entry_shown(str(name), entry, ours.get(name), hidden=REDACTED, guarded=False)


def _unknowns(value: Any) -> Any:
    """``value`` with the engine's unknown sentinel spelled out; ``value`` itself (not a copy) when
    it holds none (values are read, never changed, once planned). An object or list that holds
    it is written once by orjson, each sentinel that is a value (not a key: :data:`_UNKNOWN_VALUE`)
    replaced in the text, and read back: the same values as :func:`_spell_unknowns` gives, without a
    Python-level walk of the whole tree (plan values are JSON data, objects and lists as the
    normalising walk or orjson made them, which read back as written; a text holding ``null``,
    which NaN would also be written as, is walked instead)."""
    if type(value) in _CONTAINERS:
        try:
            text = orjson.dumps(value)
        except (orjson.JSONEncodeError, TypeError):
            return _spell_unknowns(value)
        if text.find(_UNKNOWN_TEXT) < 0:  # find, not `in`: see normalize.created_text
            return value
        if text.find(b"null") < 0:
            return orjson.loads(_UNKNOWN_VALUE.sub(_SPELLED_TEXT, text))
    return _spell_unknowns(value)


_CONTAINERS = frozenset({dict, list})
_UNKNOWN_TEXT = orjson.dumps(UNKNOWN)
"""The sentinel as a JSON string token: absent from a value's JSON, no string in it is the sentinel."""
_UNKNOWN_VALUE = re.compile(re.escape(_UNKNOWN_TEXT) + rb"(?<=[\[:,]" + re.escape(_UNKNOWN_TEXT) + rb")(?=[\],}])")
"""The sentinel as a value in compact JSON: after ``[``, ``:`` or ``,`` and before ``]``, ``,`` or ``}``
(a key is followed by ``:``; inside a string a quote is escaped, so ``\\"`` precedes it there). The
pattern starts with the token itself, which the regex engine scans for quickly; the byte before it
is checked by a lookbehind over the token and that byte."""
_SPELLED_TEXT = orjson.dumps(UNKNOWN_AFTER_APPLY)


def _spell_unknowns(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _spell_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spell_unknowns(v) for v in value]
    return UNKNOWN_AFTER_APPLY if value == UNKNOWN else value


def _sort_key(path: Path) -> tuple:
    return tuple((0, t, "") if isinstance(t, int) else (1, 0, t) for t in path)


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "(absent)"


_ABSENT: Any = _Absent()
"""The side of an added or removed key or item (deepdiff's ``notpresent``)."""

_SCALARS = frozenset({str, int, float, bool, type(None)})
_WALKED = _SCALARS | {dict, list}


def _changed_paths(before: Any, after: Any) -> list[tuple[Path, Any, Any]]:
    """(path, before, after) of every change, exactly as ``DeepDiff(before, after, view="tree",
    threshold_to_diff_deeper=0, ignore_private_variables=False)`` reports them (in another order;
    the caller sorts). Objects, lists holding an object or a list (paired by index, as deepdiff
    pairs them), scalars and type changes are walked here; the rest (lists of scalars only, which
    deepdiff aligns with difflib, and types JSON does not have) is handed to deepdiff, imported
    only then and without the array libraries (:func:`_import_deepdiff`). A property test checks
    the two agree."""
    found: list[tuple[Path, Any, Any]] = []
    _walk(before, after, (), found)
    return found


def _walk(a: Any, b: Any, path: Path, found: list[tuple[Path, Any, Any]]) -> None:
    if a is b:
        return
    ta = type(a)
    if ta is not type(b):
        found.append((path, a, b))
    elif ta is dict:
        for key, value in b.items():
            if key not in a:
                found.append(((*path, key), _ABSENT, value))
        for key, value in a.items():
            if key not in b:
                found.append(((*path, key), value, _ABSENT))
        for key, value in b.items():
            if key in a:
                _walk(a[key], value, (*path, key), found)
    elif ta is list and _pairs_by_index(a, b):
        common = min(len(a), len(b))
        for i in range(common):
            _walk(a[i], b[i], (*path, i), found)
        found.extend(((*path, i), a[i], _ABSENT) for i in range(common, len(a)))
        found.extend(((*path, i), _ABSENT, b[i]) for i in range(common, len(b)))
    elif ta in _SCALARS:
        if a != b:
            found.append((path, a, b))
    elif not (ta is list and canonical(a) == canonical(b)):
        found.extend(((*path, *p), x, y) for p, x, y in _deepdiff_paths(a, b))


def _pairs_by_index(a: list, b: list) -> bool:
    """Whether deepdiff compares these lists item by item (one holds an object or a list, and
    every item is of a JSON type); lists of scalars only are aligned with difflib instead."""
    types = {type(x) for x in a} | {type(x) for x in b}
    return types <= _WALKED and not types <= _SCALARS


_ARRAY_LIBRARIES = ("numpy", "pandas", "polars")
"""What deepdiff imports when it can, to compare their arrays and frames; plans hold JSON values."""


def _import_deepdiff() -> tuple[Any, Any]:
    """``DeepDiff`` and ``notpresent``, imported without the array libraries that are not loaded yet:
    deepdiff 9 imports each in ``try``/``except ImportError`` (``deepdiff/helper.py``,
    ``deepdiff/deephash.py``), and a missing one only leaves its types out of deepdiff's type
    tables, which JSON values never hold. Importing them is most of what importing deepdiff costs,
    in time and memory, in a process that only compares lists of JSON scalars (the plan's peak RSS
    is what ``benchmarks/bench_cli.py`` prints). The names are blocked only while deepdiff imports;
    a library already loaded is used as it is."""
    blocked = [name for name in _ARRAY_LIBRARIES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        from deepdiff import DeepDiff
        from deepdiff.helper import notpresent
    finally:
        for name in blocked:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]
    return DeepDiff, notpresent


def _deepdiff_paths(before: Any, after: Any) -> list[tuple[Path, Any, Any]]:
    DeepDiff, notpresent = _import_deepdiff()

    tree = DeepDiff(before, after, view="tree", threshold_to_diff_deeper=0, verbose_level=1,
                    ignore_private_variables=False)
    return [(tuple(level.path(output_format="list")),
             _ABSENT if level.t1 is notpresent else level.t1, _ABSENT if level.t2 is notpresent else level.t2)
            for levels in tree.values() for level in levels]


def diff_inputs(norm: Normalized, *, replace: PathMatcher, keep: PathMatcher, sensitive: PathMatcher,
                extra_replace: PathMatcher | None = None, env_data: bool | None = None) -> tuple[AttributeChange, ...]:
    """The attribute changes from ``norm.prior`` to ``norm.desired``, sorted by path.

    ``replace`` (the type's rule) and ``extra_replace`` (``options.replace_on_changes``) mark
    forcing paths; ``keep`` paths never force; ``sensitive`` plus ``norm.sensitive`` redact.
    ``env_data`` (a ConfigMap): whether the graph makes its ``data`` a container's environment
    (:func:`~mlops_infra.plan.env_values.env_config_maps`); None when the caller has no graph, which
    leaves the key-shape rule.
    """
    if not norm.differs or (not _surely_differ(norm.prior, norm.desired)
                            and canonical(norm.prior) == canonical(norm.desired)):
        return ()
    sens = _Sensitivity(sensitive, norm.sensitive)
    keys = data_keys(norm.desired.get("kind") == "ConfigMap", env_data)
    changes = []
    for path, before, after in sorted(_changed_paths(norm.prior, norm.desired), key=lambda c: _sort_key(c[0])):
        forces = (replace.touches(path) and not keep.covers(path)) or bool(extra_replace and extra_replace.touches(path))
        changes.append(AttributeChange(
            path=format_path(path) or "(all)",
            before=_prior_shown(_display(before, path, sens), after, path, keys),
            after=_display(after, path, sens),
            forces_replacement=forces, sensitive=sens.touches(path)))
    return tuple(changes)


def creation_changes(norm: Normalized, *, sensitive: PathMatcher,
                     made: dict[tuple[str, type, Any], AttributeChange] | None = None) -> tuple[AttributeChange, ...]:
    """A new resource's top-level inputs as changes from nothing, sorted by key.

    With no sensitive path (none in the rule, no secret found) each value is only spelled out
    (:func:`_display`'s answer when nothing is sensitive), without the per-path checks; and, given
    ``made`` (a dict the caller keeps for one plan), a change of a scalar input is the change
    already made for the same name and value (its type included: ``1`` and ``True`` differ; floats are
    not shared, ``0.0 == -0.0``),
    when there is one: changes are immutable, and many new resources share inputs (a region, a
    policy name, a ref known after apply). An object or list under one of ``norm.plain_keys`` (the
    walk wrote its JSON and found no unknown in it) is shown as it is, without writing it again."""
    if not sensitive and not norm.sensitive:
        if made is None:
            return tuple(AttributeChange(_top_path(key), None, _shown(value))
                         for key, value in sorted(norm.desired.items()))
        changes = []
        plain = norm.plain_keys
        for key, value in sorted(norm.desired.items()):
            kind = type(value)
            if kind in _SHAREABLE:
                found = made.get((key, kind, value))
                if found is None:
                    found = made[key, kind, value] = AttributeChange.added(_top_path(key), _shown(value))
                changes.append(found)
            else:
                changes.append(AttributeChange.added(_top_path(key), _shown_known(value, key in plain)))
        return tuple(changes)
    sens = _Sensitivity(sensitive, norm.sensitive)
    changes = []
    for key, value in sorted(norm.desired.items()):
        path = (key,)
        changes.append(AttributeChange(path=_top_path(key), before=None, after=_display(value, path, sens),
                                       sensitive=sens.touches(path)))
    return tuple(changes)


def new_resource_changes(inputs: dict[str, Any], *, name: str, rule: ReplaceRule, lookup: Lookup,
                         secrets_provider: str | None, sensitive: PathMatcher,
                         made: dict[tuple[str, type, Any], AttributeChange]) -> tuple[AttributeChange, ...] | None:
    """``creation_changes(normalize_inputs(None, inputs, name=name, rule=rule, lookup=lookup,
    secrets_provider=secrets_provider), sensitive=sensitive, made=made)`` (a resource to create),
    in one loop over the inputs in key order that makes each change as it goes, without the
    normalised tree; None (the caller takes that way) when the rule stringifies or has sensitive
    paths, or a secret is met. Each input is what the walk makes of it: a plain scalar as it is; a
    ref resolving to the unknown sentinel or a plain scalar, that value; an object or list whose JSON
    holds nothing the walk changes (:func:`~mlops_infra.plan.normalize._abnormal`) as it is; anything
    else walked on its own, as ``normalize_inputs`` walks it (a property test compares the two)."""
    if rule.stringify or sensitive:
        return None
    ign = _trie(rule.ignore) if rule.ignore else None
    if ign is not None:
        ign_get, ign_any = ign.get, ign.get("*")
    walker = None
    changes = []
    append, found_made, added, paths = changes.append, made.get, AttributeChange.added, _CREATED_PATHS
    for key in sorted(inputs):
        path = paths.get(key, _NEW_KEY)
        if path is None:  # an engine key (``__``): the walk drops it
            continue
        value = inputs[key]
        kind = type(value)
        if kind is str or kind is int or kind is bool:  # most inputs: as the walk leaves them, shared
            if ign is not None and ign_get(key, ign_any) is True:
                continue
            if path is _NEW_KEY:
                path = _created_path(key)
                if path is None:  # an engine key met for the first time in this process (closing-44a-1)
                    continue
            found = found_made((key, kind, value))
            if found is None:
                found = made[key, kind, value] = added(path, _shown(value))
            append(found)
            continue
        if value is None:
            continue
        if path is _NEW_KEY:
            path = _created_path(key)
            if path is None:
                continue
        child = None
        if ign is not None:
            child = ign_get(key, ign_any)
            if child is True:
                continue
        if kind is dict and REF in value and len(value) == 2 and "output" in value:
            resolved = lookup(value[REF], value["output"]).value
            if resolved is UNKNOWN or resolved == UNKNOWN:
                value, kind = UNKNOWN, str
            elif type(resolved) in _PLAIN:
                value, kind = resolved, type(resolved)
        elif kind is float:
            value = _num(value)  # what the walk makes of a float: shown as it is, or an int (shared below)
            kind = type(value)
            if kind is float:
                append(added(path, value))
                continue
        elif kind is dict and child is None and len(value) == 1 and JSON in value:
            shown = _created_document(value[JSON], lookup)
            if shown is not MISSING:
                append(added(path, shown))
                continue
        elif (child is None and (kind is list or (kind is dict and REF not in value and JSON not in value
                                                  and ARCHIVE not in value))):
            try:
                text = orjson.dumps(value)
            except (orjson.JSONEncodeError, TypeError):
                text = None
            if text is not None and not _abnormal(text):
                append(added(path, _shown_known(value, text.find(_UNKNOWN_JSON) < 0)))
                continue
            if kind is list and text is not None and text.find(b'"$ref"') >= 0:
                shown = _shown_refs(value, lookup)
                if shown is not None:
                    append(added(path, shown))
                    continue
        if kind is not str and kind is not int and kind is not bool:  # walked as normalize_inputs walks it
            if walker is None:
                walker = _Walker(name, rule, lookup, (), secrets_provider)
                walker.creating = True
            value = walker.pair(MISSING, value, (key,), child, None)[1]
            if walker.sensitive:
                return None
            if value is MISSING:
                continue
            kind = type(value)
            if kind not in _SHAREABLE:
                append(added(path, _shown_known(value, key in walker.plain_keys)))
                continue
        found = found_made((key, kind, value))
        if found is None:
            found = made[key, kind, value] = added(path, _shown(value))
        append(found)
    return tuple(changes)


_PLAIN = frozenset({str, int, bool})


def _created_document(inner: Any, lookup: Lookup) -> Any:
    """How a new resource's top-level ``$json`` document ``inner`` is shown: :func:`_shown` of what
    the walk makes of it where its shortcut for a resource to create applies (an object or list
    whose text, refs resolved by :func:`~mlops_infra.plan.normalize.created_text`, holds nothing in
    :data:`~mlops_infra.plan.normalize._ABNORMAL`: read back from that text), made from that text
    at once: read back with each unknown sentinel spelled out (a ref's as it is resolved, one the
    document holds by :data:`_UNKNOWN_VALUE`), as
    :func:`_unknowns` would write, spell and read the tree again (orjson writes what it read from
    its own text as it was); MISSING where the shortcut does not apply or gives a scalar (a document
    that is a ref: the walk's value, a change shared through ``made``)."""
    if type(inner) not in _CONTAINERS:
        return MISSING
    try:  # a ref resolving to the unknown sentinel is a value: spelled out as it is resolved
        text = created_text(inner, lookup, unknown=_SPELLED_TEXT)
    except (_Unresolved, orjson.JSONEncodeError, TypeError):
        return MISSING
    if text[:1] not in (b"{", b"[") or _abnormal(text):  # null included: what is read back held no NaN
        return MISSING
    if text.find(_UNKNOWN_TEXT) >= 0:  # a sentinel the document holds itself; then not the secret placeholder either
        return orjson.loads(_UNKNOWN_VALUE.sub(_SPELLED_TEXT, text))
    value = orjson.loads(text)
    return REDACTED if value == _SECRET_PLACEHOLDER else value


def _shown_refs(items: list, lookup: Lookup) -> list | None:
    """How a new resource's list of plain scalars and refs (alarm actions, subnets) is shown: what
    the walk makes of it (each ref resolved to the unknown sentinel or a plain scalar), spelled out as
    :func:`_unknowns` spells it (every item that is the sentinel); None for a list holding anything else."""
    shown = []
    append = shown.append
    for item in items:
        kind = type(item)
        if kind is dict and REF in item and len(item) == 2 and "output" in item:
            item = lookup(item[REF], item["output"]).value
            kind = type(item)
        if kind is str:
            append(UNKNOWN_AFTER_APPLY if item == UNKNOWN else item)
        elif kind is int or kind is bool:
            append(item)
        else:
            return None
    return shown


def _shown(value: Any) -> Any:
    """:func:`_display` of a value no sensitive path covers or touches."""
    kind = type(value)
    if kind is str:
        return UNKNOWN_AFTER_APPLY if value == UNKNOWN else value
    if kind is dict:
        return REDACTED if value == _SECRET_PLACEHOLDER else _unknowns(value)
    if kind is list:
        return _unknowns(value)
    return _display(value, (), _NOTHING_SENSITIVE)


def _shown_known(value: Any, plain: bool) -> Any:
    """:func:`_shown` of ``value``; ``plain``: ``value`` is an object or list whose JSON holds no
    unknown sentinel (the walk wrote it and looked), so there is nothing to spell out in it."""
    if plain:
        return REDACTED if value == _SECRET_PLACEHOLDER else value
    return _shown(value)


_SHAREABLE = frozenset({str, int, bool, type(None)})
"""Scalar types whose equal values (of one type) are the same JSON (not floats: ``0.0 == -0.0``)."""
_TOP_PATHS: dict[str, str] = {}


def _top_path(key: str) -> str:
    """``format_path((key,))``, remembered (the same few input names recur on every resource)."""
    text = _TOP_PATHS.get(key)
    if text is None:
        text = _TOP_PATHS[key] = format_path((key,))
    return text


_NEW_KEY: Any = object()
"""What :data:`_CREATED_PATHS` answers for an input name it has not seen yet."""
_CREATED_PATHS: dict[str, str | None] = {}
"""An input name -> its path (:func:`_top_path`), or None for an engine key (``__``, which the walk drops):
:func:`new_resource_changes` asks one dict for both (the same few names recur on every resource)."""


def _created_path(key: str) -> str | None:
    """``key``'s entry of :data:`_CREATED_PATHS`, made and remembered."""
    path = _CREATED_PATHS[key] = None if key[:2] == "__" else _top_path(key)
    return path
