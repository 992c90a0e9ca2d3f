"""Read Pulumi's own plan, so a user can compare our offline plan with ``pulumi preview``.

Contract:
- :func:`parse_preview` reads ``pulumi preview --json`` output (``{steps, changeSummary,
  diagnostics}``); :func:`parse_engine_events` reads an engine event log (``.events.jsonl``, one
  JSON event per line, as written by ``pulumi up/preview --event-log``). Both return a
  :class:`Preview` of small frozen dataclasses.
- Steps keep Pulumi's order and op names (``same``, ``create``, ``update``, ``delete``, ``replace``,
  ``create-replacement``, ``delete-replaced``, ``read``, ...). In an event log the same step is
  reported several times (pre-event, outputs event); it is listed once per (urn, op), first seen.
- Unknown fields and unknown event kinds are ignored. A document that is not JSON, or whose steps
  lack ``op``/``urn``, raises :class:`~mlops_infra.state.pulumi_state.StateError`.
- ``detailed_diff`` is ``None`` when Pulumi had no detailed diff for the step (the provider did not
  return one, or the op has none), else property path -> :class:`PropertyDiff`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.state.pulumi_state import StateError, decode_text, parse_json_document, parse_urn

_PREVIEW_KEYS = ("steps", "changeSummary", "diagnostics")
_STEP_EVENTS = ("resourcePreEvent", "resOutputsEvent")


@dataclass(frozen=True, slots=True)
class PropertyDiff:
    """How one property changes: ``kind`` is add, update, delete or ``*-replace``; ``input_diff``
    says the diff is between old and new inputs (else between old outputs and new inputs)."""

    kind: str
    input_diff: bool = False


@dataclass(frozen=True, slots=True)
class PreviewStep:
    """One step Pulumi plans for one resource."""

    op: str
    urn: str
    type: str
    diff_reasons: tuple[str, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    detailed_diff: dict[str, PropertyDiff] | None = None


@dataclass(frozen=True, slots=True)
class PreviewDiagnostic:
    """A message Pulumi printed while planning (``severity``: error, warning, info, ...)."""

    severity: str
    message: str
    urn: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """Pulumi's plan: the steps in order, its own per-op totals, and what it reported."""

    steps: tuple[PreviewStep, ...]
    change_summary: dict[str, int] = field(default_factory=dict)
    diagnostics: tuple[PreviewDiagnostic, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether Pulumi reported an error: the steps are then not a complete plan."""
        return any(d.severity == "error" for d in self.diagnostics)

    def op_counts(self) -> dict[str, int]:
        """Steps per op, counted from ``steps`` (compare with ``change_summary``)."""
        return dict(Counter(step.op for step in self.steps))


def parse_preview(data: bytes | str, source: str = "(pulumi preview --json)") -> Preview:
    """Parse ``pulumi preview --json`` output (plain or gzipped bytes, or text)."""
    doc = parse_json_document(data, source)
    if not isinstance(doc, dict) or not any(key in doc for key in _PREVIEW_KEYS):
        raise _not_a_preview(source, doc)
    raw_steps = _list(doc.get("steps"), "steps", source)
    steps = tuple(_json_step(raw, f"steps[{i}]", source) for i, raw in enumerate(raw_steps))
    return Preview(
        steps=steps,
        change_summary=_change_summary(doc.get("changeSummary"), "changeSummary", source),
        diagnostics=tuple(_diagnostic(d, f"diagnostics[{i}]", source)
                          for i, d in enumerate(_list(doc.get("diagnostics"), "diagnostics", source))),
    )


def parse_engine_events(lines: str | bytes | Iterable[str | bytes],
                        source: str = "(engine events)") -> Preview:
    """Parse an engine event log: the whole text, or its lines. Blank lines are skipped.

    Steps come from ``resourcePreEvent``/``resOutputsEvent``, the summary from the last
    ``summaryEvent`` (``{}`` when the run stopped before one), diagnostics from ``diagnosticEvent``.
    """
    steps: dict[tuple[str, str], PreviewStep] = {}
    summary: dict[str, int] = {}
    diagnostics: list[PreviewDiagnostic] = []
    for number, event in _events(lines, source):
        where = f"line {number}"
        for kind in _STEP_EVENTS:
            if kind in event:
                step = _event_step(event[kind], f"{where} ({kind})", source)
                steps.setdefault((step.urn, step.op), step)
        if "summaryEvent" in event:
            summary = _change_summary(_object(event["summaryEvent"], where, source).get("resourceChanges"),
                                      f"{where} resourceChanges", source)
        if "diagnosticEvent" in event:
            diagnostics.append(_diagnostic(event["diagnosticEvent"], where, source))
    return Preview(tuple(steps.values()), summary, tuple(diagnostics))


# --------------------------------------------------------------------------------------------
# Event log lines
# --------------------------------------------------------------------------------------------


def _events(lines: str | bytes | Iterable[str | bytes], source: str) -> Iterable[tuple[int, dict]]:
    """(1-based line number, event object) for each non-blank line."""
    if isinstance(lines, (str, bytes)):
        # Not splitlines(): that also splits at U+0085/U+2028, which JSON strings may hold raw.
        lines = decode_text(lines, source).split("\n")
    texts = [decode_text(line, f"{source} line {n}") for n, line in enumerate(lines, start=1)]
    last = max((n for n, text in enumerate(texts, start=1) if text.strip()), default=0)
    for number, text in enumerate(texts, start=1):
        if text.strip():
            yield number, _parse_event_line(text, number, number == last, source)


def _parse_event_line(text: str, number: int, last: bool, source: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except json.JSONDecodeError as err:
        cut = last and not text.rstrip().endswith("}")
        hint = (" It is the last line and ends early: the log was cut off while Pulumi was writing it."
                if cut else " Each line of an event log must be one complete JSON event.")
        raise StateError(source, f"line {number} of the event log is not JSON",
                         f"{err.msg} at column {err.colno}.{hint}") from None
    except (ValueError, RecursionError) as err:
        raise StateError(source, f"line {number} of the event log is not JSON", str(err)) from None
    if not isinstance(event, dict):
        raise StateError(source, f"line {number} of the event log is not an engine event",
                         "Each line must be a JSON object such as {\"resourcePreEvent\": {...}}; "
                         "is this `pulumi preview --json` output instead?")
    return event


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def _json_step(raw: Any, where: str, source: str) -> PreviewStep:
    step = _object(raw, where, source)
    op, urn = _required_str(step, "op", where, source), _required_str(step, "urn", where, source)
    return PreviewStep(
        op=op,
        urn=urn,
        type=_step_type(urn, step.get("newState"), step.get("oldState")),
        diff_reasons=_strings(step.get("diffReasons"), f"{where}.diffReasons", source),
        replace_reasons=_strings(step.get("replaceReasons"), f"{where}.replaceReasons", source),
        detailed_diff=_detailed_diff(step.get("detailedDiff"), f"{where}.detailedDiff", source),
    )


def _event_step(raw: Any, where: str, source: str) -> PreviewStep:
    metadata = _object(_object(raw, where, source).get("metadata"), f"{where} metadata", source)
    op, urn = _required_str(metadata, "op", where, source), _required_str(metadata, "urn", where, source)
    rtype = metadata.get("type")
    return PreviewStep(
        op=op,
        urn=urn,
        type=rtype if isinstance(rtype, str) and rtype else _step_type(urn, metadata.get("new"),
                                                                       metadata.get("old")),
        diff_reasons=_strings(metadata.get("diffs"), f"{where} diffs", source),
        replace_reasons=_strings(metadata.get("keys"), f"{where} keys", source),
        detailed_diff=_detailed_diff(metadata.get("detailedDiff"), f"{where} detailedDiff", source),
    )


def _step_type(urn: str, *states: Any) -> str:
    """The type from the new or old state, else from the URN; ``""`` if none says."""
    for state in states:
        if isinstance(state, dict) and isinstance(state.get("type"), str) and state["type"]:
            return state["type"]
    parts = parse_urn(urn)
    return parts.type if parts else ""


def _detailed_diff(raw: Any, where: str, source: str) -> dict[str, PropertyDiff] | None:
    """``{path: {kind|diffKind, inputDiff}}``: preview JSON says ``kind``, engine events ``diffKind``."""
    if raw is None:
        return None
    diffs = {}
    for path, entry in _object(raw, where, source).items():
        entry = _object(entry, f"{where}[{path!r}]", source)
        kind = entry.get("kind", entry.get("diffKind"))
        if not isinstance(kind, str):
            raise _bad_field(source, f"{where}[{path!r}]", '"kind"', "a string")
        diffs[path] = PropertyDiff(kind, entry.get("inputDiff") is True)
    return diffs


def _diagnostic(raw: Any, where: str, source: str) -> PreviewDiagnostic:
    entry = _object(raw, where, source)
    severity, message, urn = entry.get("severity"), entry.get("message"), entry.get("urn")
    return PreviewDiagnostic(
        severity=severity if isinstance(severity, str) else "info",
        message=message if isinstance(message, str) else "",
        urn=urn if isinstance(urn, str) and urn else None,
    )


def _change_summary(raw: Any, where: str, source: str) -> dict[str, int]:
    if raw is None:
        return {}
    summary = _object(raw, where, source)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in summary.values()):
        raise _bad_field(source, where, "every count", "a whole number")
    return dict(summary)


# --------------------------------------------------------------------------------------------
# Small typed accessors
# --------------------------------------------------------------------------------------------


def _object(raw: Any, where: str, source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad_field(source, where, "the value", "an object")
    return raw


def _list(raw: Any, where: str, source: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad_field(source, where, "the value", "an array")
    return raw


def _strings(raw: Any, where: str, source: str) -> tuple[str, ...]:
    items = _list(raw, where, source)
    if not all(isinstance(item, str) for item in items):
        raise _bad_field(source, where, "every item", "a string")
    return tuple(items)


def _required_str(obj: dict[str, Any], key: str, where: str, source: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise StateError(source, f'{where} has no "{key}"',
                         'Every step Pulumi reports has an "op" and a "urn". Produce the file again '
                         "with `pulumi preview --json > preview.json` (or `--event-log`).")
    return value


def _bad_field(source: str, where: str, what: str, expected: str) -> StateError:
    return StateError(source, "not a Pulumi preview",
                      f"In {where}, {what} should be {expected}. Produce the file again with "
                      f"`pulumi preview --json > preview.json` (or `--event-log`).")


def _not_a_preview(source: str, doc: Any) -> StateError:
    if isinstance(doc, dict) and ("checkpoint" in doc or "deployment" in doc):
        hint = "This is a stack's state, not a preview."
    else:
        hint = f"Expected an object with {', '.join(_PREVIEW_KEYS)}."
    return StateError(source, "not `pulumi preview --json` output",
                      f"{hint} Produce one with `pulumi preview --json > preview.json`.")
