"""The rollout's progress display: one line per reconcile pass (steps, traffic, gates, next check).

Kept behind one small interface (:meth:`RolloutDisplay.show`) so it can move onto the shared progress
display when that lands. Plain lines, no cursor tricks: it reads the same in a terminal, a CI log and
a Lambda or CronJob log.

A pass that rolls the rollout back on its own writes its rollback notice pending
(``rollout/runner.py`` ``announce``); this process has no notifier (a laptop often cannot reach the
in-cluster Pushgateway nor may ``PutMetricData``), the scheduled runner sends it
(``rollout/scheduled.py``, "Rollback notices"). With ``notice`` (who is told, for an endpoint whose
rollbacks are announced) such a pass is followed by one line saying so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from mlops_infra.rollout.model import NOTICE_PENDING, RolloutSpec
from mlops_infra.rollout.runner import Pass

GATE_STYLE = {"ok": "green", "pending": "yellow", "firing": "bold red", "unreadable": "yellow"}


class RolloutDisplay:
    def __init__(self, console: Console, spec: RolloutSpec, notice: tuple[str, ...] = ()) -> None:
        """``notice``: the channels the endpoint's rollback notices tell (empty: none announced)."""
        self.console, self.spec, self.notice = console, spec, notice

    def notice_line(self, result: Pass) -> str | None:
        """What happens to the rollback notice this pass wrote pending (None: it wrote none)."""
        status = result.decision.status
        if not (self.notice and result.acted and status is not None and status.notice == NOTICE_PENDING):
            return None
        return (f"  rollback notice: pending; the scheduled rollout runner sends it to {', '.join(self.notice)} "
                "on its next pass (each minute) and records it sent in the rollout status")

    def line(self, result: Pass) -> str:
        observed, decision = result.observed, result.decision
        status = decision.status or observed.status
        step = f"step {status.step + 1}/{len(self.spec.steps)}" if status and status.phase == "progressing" else \
            (status.phase.replace("_", " ") if status else "idle")
        traffic = f"{decision.percent if decision.percent is not None else observed.percent}%"
        gates = "  ".join(f"[{GATE_STYLE[g.state]}]{escape(g.name)} {g.state}"
                          f"{'' if g.value is None else f' {g.value:g}'}[/]" for g in result.gates)
        when = datetime.now(UTC).strftime("%H:%M:%S")
        acted = " (another reconciler acted first)" if result.lost else ""
        nxt = ""
        if decision.next_check and decision.action in ("wait", "hold", "set_traffic", "record"):
            nxt = f"  next check in {max(0, round(decision.next_check - time.time()))}s"
        return (f"{when}  {escape(self.spec.endpoint)}  v{escape(observed.revision)}  {step}  {traffic} new"
                f"{'  ' + gates if gates else ''}  {escape(decision.message)}{acted}{nxt}")

    def show(self, result: Pass) -> None:
        self.console.print(self.line(result))
        notice = self.notice_line(result)
        if notice is not None:
            self.console.print(escape(notice))
