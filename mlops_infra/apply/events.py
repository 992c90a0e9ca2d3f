"""Pulumi engine events -> progress lines (what ``mlops-infra apply`` streams while ``pulumi up`` runs).

Contract:
- Input: engine events in their JSON form, as the Pulumi CLI writes them to its event log
  (``--event-log``; https://www.pulumi.com/docs/iac/concepts/... and ``sdk/go/common/apitype/events.go``):
  one object per event with ``sequence``, ``timestamp`` and exactly one of ``preludeEvent``,
  ``resourcePreEvent``, ``resOutputsEvent``, ``resOpFailedEvent``, ``diagnosticEvent``,
  ``summaryEvent``, ``cancelEvent``, ``policyEvent``... The Automation API hands the same events to
  ``on_event`` as objects; :func:`from_engine_event` turns those back into this form.
- :class:`EventRenderer` keeps no more than the start time of each resource step. It prints one line
  when a resource step starts and one when it ends (with its duration), skips ``same`` steps and
  the root stack, prints error and warning diagnostics (through the one redaction layer,
  :func:`mlops_infra.secrets.scan.redact`: a secret-shaped value never reaches the screen), a failed step, and a
  summary (counts by operation, total time). Lines go to a callable, so the CLI streams them and
  tests collect them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "create-replacement": "+",
           "delete-replaced": "-", "read": "<=", "refresh": "~", "import": "=", "discard": "-"}
VERBS = {"create": ("creating", "created"), "update": ("updating", "updated"), "delete": ("deleting", "deleted"),
         "replace": ("replacing", "replaced"), "create-replacement": ("creating replacement", "created replacement"),
         "delete-replaced": ("deleting replaced", "deleted replaced"), "read": ("reading", "read"),
         "refresh": ("refreshing", "refreshed"), "import": ("importing", "imported"),
         "discard": ("discarding", "discarded")}
ROOT = "pulumi:pulumi:Stack"


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class EventRenderer:
    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.started: dict[tuple[str, str], int] = {}
        self.failed = 0

    def __call__(self, event: dict[str, Any]) -> None:
        for kind, handler in (("resourcePreEvent", self._pre), ("resOutputsEvent", self._outputs),
                              ("resOpFailedEvent", self._failed), ("diagnosticEvent", self._diagnostic),
                              ("summaryEvent", self._summary)):
            if kind in event:
                handler(event[kind], int(event.get("timestamp") or 0))

    def _step(self, body: dict[str, Any]) -> tuple[str, str, str] | None:
        meta = body.get("metadata") or {}
        op, urn, rtype = meta.get("op", ""), meta.get("urn", ""), meta.get("type", "")
        if op == "same" or rtype == ROOT or not urn:
            return None
        return op, urn, rtype

    def _pre(self, body: dict[str, Any], at: int) -> None:
        step = self._step(body)
        if step is None:
            return
        op, urn, rtype = step
        self.started[(op, urn)] = at
        self.emit(f"  {SYMBOLS.get(op, op)} {rtype} {_name(urn)}: {VERBS.get(op, (op, op))[0]}...")

    def _outputs(self, body: dict[str, Any], at: int) -> None:
        step = self._step(body)
        if step is None:
            return
        op, urn, rtype = step
        began = self.started.pop((op, urn), at)
        self.emit(f"  {SYMBOLS.get(op, op)} {rtype} {_name(urn)}: {VERBS.get(op, (op, op))[1]} ({at - began}s)")

    def _failed(self, body: dict[str, Any], at: int) -> None:
        self.failed += 1
        meta = body.get("metadata") or {}
        self.emit(f"  ! {meta.get('type', '')} {_name(meta.get('urn', ''))}: {meta.get('op', '')} failed "
                  f"(status {body.get('status', '?')})")

    def _diagnostic(self, body: dict[str, Any], at: int) -> None:
        severity = body.get("severity", "")
        if severity not in ("error", "warning"):
            return
        from mlops_infra.secrets.scan import redact

        message = redact(str(body.get("message", "")).strip())
        where = f" {_name(body['urn'])}" if body.get("urn") else ""
        for number, line in enumerate(message.splitlines() or [""]):
            self.emit(f"  {severity}{where}: {line}" if number == 0 else f"    {line}")

    def _summary(self, body: dict[str, Any], at: int) -> None:
        changes = body.get("resourceChanges") or {}
        parts = [f"{count} {op}d" if op.endswith("e") else f"{count} {op}" for op, count in sorted(changes.items())
                 if op != "same" and count]
        same = changes.get("same", 0)
        counted = ", ".join(parts) or "no changes"
        tail = f", {same} unchanged" if same else ""
        self.emit(f"Pulumi finished in {body.get('durationSeconds', 0)}s: {counted}{tail}.")


def from_engine_event(event: Any) -> dict[str, Any]:
    """The JSON form of an Automation API ``EngineEvent`` (the fields :class:`EventRenderer` reads)."""
    out: dict[str, Any] = {"sequence": event.sequence, "timestamp": event.timestamp}

    def step(body: Any) -> dict[str, Any]:
        meta = body.metadata
        return {"metadata": {"op": getattr(meta.op, "value", meta.op), "urn": meta.urn, "type": meta.type}}

    if event.resource_pre_event is not None:
        out["resourcePreEvent"] = step(event.resource_pre_event)
    if event.res_outputs_event is not None:
        out["resOutputsEvent"] = step(event.res_outputs_event)
    if event.res_op_failed_event is not None:
        out["resOpFailedEvent"] = {**step(event.res_op_failed_event), "status": event.res_op_failed_event.status}
    if event.diagnostic_event is not None:
        diag = event.diagnostic_event
        out["diagnosticEvent"] = {"message": diag.message, "severity": diag.severity, "urn": diag.urn}
    if event.summary_event is not None:
        summary = event.summary_event
        out["summaryEvent"] = {"durationSeconds": summary.duration_seconds, "resourceChanges": {
            getattr(op, "value", op): n for op, n in (summary.resource_changes or {}).items()}}
    return out
