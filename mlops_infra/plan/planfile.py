"""Saved plans: a plan's JSON in a versioned envelope that ties it to one state and one graph.

Contract:
- File format (JSON, UTF-8)::

      {"planfile": {"formatVersion": 1, "kind": "mlops-infra-plan",
                    "stateSerial": "<sha256>", "graphDigest": "<sha256>"},
       "plan": <Plan.to_json()>,
       "graph": <DesiredGraph.to_json()> | null}

  ``stateSerial``/``graphDigest`` repeat the plan's own and must agree with them. ``graph`` is the
  desired graph the plan was made from, when the caller saved it (so an apply can register exactly
  what was reviewed). No clock, user or host is recorded: equal plans give equal files.
- :func:`dumps_plan` is the file's text; :func:`dumps_plan_bytes` the same text as its bytes (ASCII:
  ``json.dumps`` escapes every other character, and orjson's bytes are taken only when ASCII), made
  without the text (a plan file's tens of megabytes are not decoded, then encoded back to be
  scanned and written).
- :func:`save_plan` writes atomically (``mlops_infra.fileio.write_bytes_atomic``).
- :func:`load_plan` raises :class:`~mlops_infra.errors.UserError` for an unreadable, corrupt or
  foreign file and for an unknown format version, saying what to do (re-run plan); the plan part
  is validated against ``plan_json_schema()``.
- :func:`check_fresh` raises ``UserError("stale plan: ...")`` when the state serial or the graph
  digest differs from the current ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_infra import jsoncodec
from mlops_infra.errors import UserError
from mlops_infra.fileio import write_bytes_atomic
from mlops_infra.plan.model import PLAN_FORMAT_VERSION, LazyChange, Plan, lazy_json, plan_json_schema

PLANFILE_FORMAT_VERSION = 1
PLANFILE_KIND = "mlops-infra-plan"
_RERUN = "Re-run `mlops-infra plan --out <file>` to make a new plan file."


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan read back from a file, with the identity it was computed against."""

    plan: Plan
    state_serial: str
    graph_digest: str
    graph: dict[str, Any] | None = None
    format_version: int = PLANFILE_FORMAT_VERSION


def plan_file_document(plan: Plan, graph: Any | None = None, *, lazy: bool = False) -> dict[str, Any]:
    """The plan file's JSON data (the envelope of the module contract). ``lazy``: its plan is
    ``plan.to_json_lazy()`` (:class:`~mlops_infra.plan.model.LazyChange` items, which
    :func:`dumps_plan_bytes` writes as their ``to_json()``, one at a time)."""
    return {
        "planfile": {"formatVersion": PLANFILE_FORMAT_VERSION, "kind": PLANFILE_KIND,
                     "stateSerial": plan.state_serial, "graphDigest": plan.graph_digest},
        "plan": plan.to_json_lazy() if lazy else plan.to_json(),
        "graph": graph.to_json() if graph is not None else None,
    }


def dumps_plan(plan: Plan, graph: Any | None = None) -> str:
    """The plan file text (sorted keys, indent 2, trailing newline): byte-stable for equal plans;
    :func:`dumps_plan_bytes` decoded (ASCII)."""
    return dumps_plan_bytes(plan, graph).decode("ascii")


def dumps_plan_bytes(plan: Plan, graph: Any | None = None, *, document: dict[str, Any] | None = None,
                     proves: Callable[[bytes], bool] | None = None) -> bytes:
    """``dumps_plan(plan, graph).encode()``, without the text: orjson's bytes as they are where
    :func:`_orjson_bytes` answers, else ``json.dumps``' text encoded (ASCII, ``ensure_ascii``).
    ``document``: :func:`plan_file_document` of ``plan`` and ``graph`` (``lazy`` or not), when the
    caller has it; else the lazy one is made. ``proves``: see :func:`_orjson_bytes`."""
    envelope = plan_file_document(plan, graph, lazy=True) if document is None else document
    data = _orjson_bytes(envelope, proves)
    return _stdlib_bytes(envelope) if data is None else data


def _stdlib_bytes(value: Any) -> bytes:
    """``json.dumps(value, indent=2, sort_keys=True) + "\\n"`` encoded, where ``value`` may hold
    :class:`~mlops_infra.plan.model.LazyChange` items (written as their ``to_json()``: ``default``)."""
    return (json.dumps(value, indent=2, sort_keys=True, default=lazy_json) + "\n").encode()


def _orjson_bytes(value: Any, proves: Callable[[bytes], bool] | None = None) -> bytes | None:
    """The bytes of ``json.dumps(value, indent=2, sort_keys=True) + "\\n"`` as orjson writes them
    (:func:`mlops_infra.jsoncodec.orjson_pretty_bytes`), where that is provably the same text: ``value``
    is JSON data (objects, lists, strings, integers, booleans, None, finite floats) and orjson's bytes
    are ASCII with nothing :func:`~mlops_infra.jsoncodec.spelled_as_stdlib` says ``json`` spells
    otherwise (the shortcut ``graph --format json`` takes, for data without NaN or infinity, which
    orjson writes as ``null`` and ``json`` as ``NaN``/``Infinity``: orjson 3.13's README, "float";
    a prior state read leniently may hold them; orjson raises on a key that is not a string and on
    an integer beyond 64 bits: README, ``dumps``); None otherwise, for ``json`` to write it
    (``json.dumps`` with an indent runs the standard library's Python encoder, not its C one:
    ``json/encoder.py``, ``JSONEncoder.iterencode``, ``c_make_encoder`` only when ``indent is None``).

    ``proves``, when given, is asked instead of :func:`~mlops_infra.jsoncodec.spelled_as_stdlib`
    and must answer true only where that does (``plan --out`` proves it in its secret scan's pass,
    :func:`mlops_infra.cli.commands.plan.saved_bytes`).

    ``value`` may hold :class:`~mlops_infra.plan.model.LazyChange` items: orjson asks
    :func:`_checked_json` for each one's ``to_json()`` and writes it in its place (see ``LazyChange``),
    which refuses data that is not JSON data as :func:`_json_data` says."""
    if not _json_data(value):
        return None
    data = jsoncodec.orjson_pretty_bytes(value, default=_checked_json)
    if data is None or not (jsoncodec.spelled_as_stdlib if proves is None else proves)(data):
        return None
    return data


def _checked_json(value: Any) -> dict[str, Any]:
    """``lazy_json(value)`` (a :class:`~mlops_infra.plan.model.LazyChange`'s ``to_json()``) where
    :func:`_json_data` holds for it; ``TypeError`` otherwise (orjson then raises, and ``json`` writes)."""
    data = lazy_json(value)
    if not _json_data(data):
        raise TypeError("not JSON data as json.dumps writes it alike")
    return data


def _json_data(value: Any) -> bool:
    """Whether ``value`` holds only objects, lists, strings, integers, booleans, None and finite
    floats, of exactly those types (keys are not read: orjson refuses a key that is not a string),
    or :class:`~mlops_infra.plan.model.LazyChange` items, not read here (:func:`_checked_json`
    checks each one's data as orjson writes it).
    The types of a container's members are collected at C speed; only a container holding another
    container or a float has its members looked at one by one."""
    if type(value) not in _CONTAINERS:
        return _scalar_is_json(value)
    stack = [value]
    pop, push, finite = stack.pop, stack.append, math.isfinite
    while stack:
        item = pop()
        members = item.values() if type(item) is dict else item
        kinds = set(map(type, members))
        if kinds <= _SCALARS:
            continue
        if not kinds <= _JSON_TYPES:
            return False
        for member in members:
            kind = type(member)
            if kind is dict or kind is list:
                push(member)
            elif kind is float and not finite(member):
                return False
    return True


def _scalar_is_json(value: Any) -> bool:
    """:func:`_json_data` of a value that is not an object or a list."""
    return type(value) in _SCALARS or (type(value) is float and math.isfinite(value))


_SCALARS = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list})
_JSON_TYPES = _SCALARS | _CONTAINERS | {float, LazyChange}


def save_plan(path: str | Path, plan: Plan, *, graph: Any | None = None) -> None:
    """Write ``plan`` (and optionally its desired graph) to ``path`` atomically.

    ``graph``, when given, must be the graph the plan was made from (its digest is checked).
    """
    if graph is not None and graph.digest() != plan.graph_digest:
        raise ValueError("the graph is not the one this plan was made from (this is a bug in mlops-infra)")
    try:
        write_bytes_atomic(path, dumps_plan_bytes(plan, graph))
    except OSError as err:
        raise UserError(f"cannot write the plan file {path}", f"{err.strerror or err}. Check the directory "
                        "exists and is writable.", source=str(path)) from None


def _corrupt(path: str, why: str) -> UserError:
    return UserError(f"{path} is not a readable plan file", f"{why}. {_RERUN}", source=path)


def load_plan(path: str | Path) -> SavedPlan:
    """Read and validate a plan file (see the module contract)."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"plan file {label} does not exist", _RERUN, source=label) from None
    except (OSError, UnicodeDecodeError) as err:
        raise _corrupt(label, f"it cannot be read ({err})") from None
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise _corrupt(label, f"it is not valid JSON ({err}); it may be truncated") from None
    return _parse(doc, label)


def _parse(doc: Any, label: str) -> SavedPlan:
    envelope = doc.get("planfile") if isinstance(doc, dict) else None
    if not isinstance(envelope, dict) or envelope.get("kind") != PLANFILE_KIND:
        raise _corrupt(label, 'it has no "planfile" envelope of kind "mlops-infra-plan"')
    version = envelope.get("formatVersion")
    if version != PLANFILE_FORMAT_VERSION:
        raise UserError(f"{label}: plan file format {version!r} is not supported",
                        f"This mlops-infra reads plan file format {PLANFILE_FORMAT_VERSION}. {_RERUN}", source=label)
    plan_doc = doc.get("plan")
    if not isinstance(plan_doc, dict) or plan_doc.get("formatVersion") != PLAN_FORMAT_VERSION:
        raise _corrupt(label, f"its plan is missing or not plan format {PLAN_FORMAT_VERSION}")
    error = _schema_error(plan_doc)
    if error:
        raise _corrupt(label, f"its plan does not match the plan schema: {error}")
    serial, digest = envelope.get("stateSerial"), envelope.get("graphDigest")
    if (serial, digest) != (plan_doc["stateSerial"], plan_doc["graphDigest"]):
        raise _corrupt(label, "the envelope's state serial or graph digest disagrees with the plan's")
    graph = doc.get("graph")
    if graph is not None and not isinstance(graph, dict):
        raise _corrupt(label, '"graph" is neither an object nor null')
    return SavedPlan(Plan.from_json(plan_doc), serial, digest, graph, version)


def _schema_error(plan_doc: dict[str, Any]) -> str | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(plan_json_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(plan_doc))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message[:200]}"


def check_fresh(saved: SavedPlan, prior_serial: str, graph_digest: str) -> None:
    """Refuse a plan computed against another state or another desired graph."""
    moved = []
    if saved.state_serial != prior_serial:
        moved.append(f"the state moved since the plan was made (serial {saved.state_serial[:12]} -> {prior_serial[:12]})")
    if saved.graph_digest != graph_digest:
        moved.append(f"the desired system changed (graph {saved.graph_digest[:12]} -> {graph_digest[:12]})")
    if moved:
        raise UserError(f"stale plan: {'; '.join(moved)}; re-run plan",
                        "Applying it could undo or repeat changes made since. Re-run plan and review the new plan.")
