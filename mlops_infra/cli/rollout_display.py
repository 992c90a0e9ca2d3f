"""The rollout's progress display: one line per reconcile pass (steps, traffic, gates, next check).

Kept behind one small interface (:meth:`RolloutDisplay.show`) so it can move onto the shared progress
display when that lands. Plain lines, no cursor tricks: it reads the same in a terminal, a CI log and
a Lambda or CronJob log.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Pass

GATE_STYLE = {"ok": "green", "firing": "bold red", "unreadable": "yellow"}


class RolloutDisplay:
    def __init__(self, console: Console, spec: RolloutSpec) -> None:
        self.console, self.spec = console, spec

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
