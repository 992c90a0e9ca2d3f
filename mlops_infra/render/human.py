"""The terminal view of a plan: like ``terraform plan``, told in ML terms.

Contract: :func:`render_text` is pure (Plan -> str) and deterministic. Sections, in order: header
(project / stack / target), notes from the caller, warnings, drift (only when the plan was
refreshed or holds drift), the resources the live read found not ready (reason ``not-ready``, only
when there are some), the ML summary, the cost, the resource changes grouped by ML item, and
last the line ``Plan: N to add, N to change, N to replace, N to destroy.`` -- or, with nothing to
do, ``No changes. Your ML system matches the desired state.`` (``No changes to apply, but N resources
are not ready (see Not ready above).`` when some are). No-op resources are never listed among the
changes.
Colour (ANSI, via rich) only with ``color=True``; golden files use ``color=False``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

from mlops_infra.name_lists import join_names
from mlops_infra.plan.model import CostEstimate, MLChange, Plan, ResourceChange, UnreadGroup
from mlops_infra.render.common import (
    AttrLine,
    DriftView,
    attr_line,
    delete_first_note,
    drift_views,
    explain,
    group_changes,
    guardrails_sentence,
    line_range,
    ml_sorted,
    money,
    money_range,
    no_changes_but_not_ready,
    not_ready_changes,
    not_ready_heading,
    plural,
    resource_label,
    target_text,
)
from mlops_infra.render.safety import check_rendered

NO_CHANGES = "No changes. Your ML system matches the desired state."

STYLES = {"+": "green", "~": "yellow", "-/+": "magenta", "-": "red", "<=": "cyan", "!": "bold red",
          "heading": "bold", "dim": "dim", "warning": "yellow", "address": "bold cyan"}

class _Lines:
    """Collects styled lines; plain text or ANSI at the end. A line is kept as the parts it was
    given and made a rich ``Text`` only for colour: the plain text (golden files, CI logs) is its
    parts joined, with the control codes ``Text`` strips stripped the same way."""

    def __init__(self) -> None:
        self.lines: list[tuple[tuple[str, str | None] | str, ...]] = []

    def add(self, *parts: tuple[str, str | None] | str) -> None:
        self.lines.append(parts)

    def blank(self) -> None:
        if self.lines and _plain(self.lines[-1]):
            self.lines.append(())

    def render(self, color: bool, width: int) -> str:
        if not color:
            return "".join([_plain(line).rstrip() + "\n" for line in self.lines])
        from rich.console import Console
        from rich.text import Text

        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=True, color_system="standard", width=width,
                          soft_wrap=True, highlight=False, emoji=False, markup=False)
        for line in self.lines:
            text = Text()
            for part in line:
                if isinstance(part, str):
                    text.append(part)
                else:
                    text.append(part[0], style=part[1] or "")
            console.print(text)
        return buffer.getvalue()


def _plain(parts: tuple[tuple[str, str | None] | str, ...]) -> str:
    """What ``Text.plain`` gives for ``parts`` (``Text.append`` strips control codes). A text that
    ``str.isprintable`` holds none of them (they are control characters, Unicode category Cc, which
    the Python docs of ``str.isprintable`` count as not printable) is returned without ``translate``,
    which looks up every character in the table (most lines of a large plan)."""
    text = "".join([p if isinstance(p, str) else p[0] for p in parts])
    return text if text.isprintable() else text.translate(STRIPPED_CONTROL_CODES)


STRIPPED_CONTROL_CODES = dict.fromkeys((7, 8, 11, 12, 13))
"""The table of rich's ``strip_control_codes`` (``rich.control.STRIP_CONTROL_CODES``: bell,
backspace, vertical tab, form feed, carriage return, removed): the plain text needs no rich import
(a test keeps it equal to rich's)."""


def render_text(plan: Plan, *, color: bool = False, width: int = 100, notes: Sequence[str] = ()) -> str:
    """The plan as terminal text. ``notes`` are lines the caller adds under the header
    (for example where the prior state came from)."""
    out = _Lines()
    _header(out, plan, notes, width)
    _warnings(out, plan.warnings)
    _guardrails(out, plan)
    if plan.refreshed or plan.drift:
        _drift(out, drift_views(plan.drift, plan.changes), plan.refreshed, plan.unread)
    not_ready = not_ready_changes(plan.changes)
    _not_ready(out, not_ready)
    _ml(out, plan.ml)
    if plan.cost is not None and (plan.has_changes or plan.cost.after.max_usd or plan.cost.before.max_usd):
        _cost(out, plan.cost)
    groups = group_changes(plan.changes)
    if groups:
        out.blank()
        out.add(("Resource changes", STYLES["heading"]),
                ("  (+ create, ~ update in place, -/+ replace, - destroy)", STYLES["dim"]))
        for group in groups:
            out.blank()
            out.add(("# ", STYLES["dim"]), (group.address, STYLES["address"]), (f"  ({group.tally()})", STYLES["dim"]))
            if not group.resources:
                out.add((f"    {group.facts_only_note()}", STYLES["dim"]))
            for change in group.resources:
                _resource(out, change)
    out.blank()
    if plan.has_changes:
        out.add((plan.counts.sentence(), STYLES["heading"]))
    elif not_ready:
        out.add((no_changes_but_not_ready(len(not_ready)), STYLES["warning"]))
    else:
        out.add((NO_CHANGES, "green"))
    return check_rendered(out.render(color, width), plan)


def _header(out: _Lines, plan: Plan, notes: Sequence[str], width: int) -> None:
    out.add(("mlops-infra plan: ", STYLES["heading"]), (f"{plan.project} / {plan.stack}", STYLES["heading"]))
    out.add(f"Target:  {target_text(plan.target)}")
    refreshed = "live state read (--refresh)" if plan.refreshed else "last applied state only (no --refresh)"
    out.add(f"Against: state serial {plan.state_serial[:12]}, {refreshed}")
    for note in notes:
        out.add((note, STYLES["dim"]))
    out.add(("-" * min(width, 100), STYLES["dim"]))


def _warnings(out: _Lines, warnings: Sequence[str]) -> None:
    if not warnings:
        return
    out.blank()
    for warning in warnings:
        first, *rest = warning.splitlines() or [""]
        out.add(("Warning: ", STYLES["warning"]), first)
        for line in rest:
            out.add(f"         {line}")


def _guardrails(out: _Lines, plan: Plan) -> None:
    """The guardrail rules that fail (docs/guardrails.md): mandatory ones first, each finding with its fix."""
    if not plan.guardrails:
        return
    out.blank()
    out.add((f"Guardrails of {plan.stack}: ", STYLES["heading"]), guardrails_sentence(plan.guardrails))
    for result in plan.guardrails:
        label, style = ("FAIL", STYLES["!"]) if result.blocks else ("WARN", STYLES["warning"])
        for finding in result.findings:
            out.add((f"  {label} ", style), (f"{result.rule} ({result.level}): ", STYLES["heading"]), finding.message)
            out.add((f"       fix: {finding.fix}", STYLES["dim"]))


def _unread(out: _Lines, unread: Sequence[UnreadGroup], drifted: int) -> None:
    """The refresh was incomplete: say so before anything about drift, by cause, with what to do."""
    total = sum(g.count for g in unread)
    found = f"; {plural(drifted, 'resource')} that could be read drifted" if drifted else ""
    out.add(("Drift: ", STYLES["heading"]), (f"unknown for {plural(total, 'resource')} that could not be read "
                                              f"(the refresh is incomplete){found}", STYLES["warning"]))
    for group in unread:
        out.add(f"  {group.count} {group.cause} ({', '.join(group.codes)}): ", (group.advice, STYLES["dim"]))


def _drift(out: _Lines, items: list[DriftView], refreshed: bool, unread: Sequence[UnreadGroup] = ()) -> None:
    out.blank()
    if unread:
        _unread(out, unread, len(items))
        if not items:
            return
        out.blank()
    if not items:
        out.add(("Drift: ", STYLES["heading"]), "none. Live resources match the last applied state.")
        return
    out.add(("Drift: ", STYLES["heading"]),
            f"{plural(len(items), 'resource')} changed outside mlops-infra since the last apply")
    out.add(("  (the changes below are planned against the last applied state; `apply --plan` of this plan runs "
             "`pulumi up --refresh`: a deleted resource is created again and changed values are put back; a plain "
             "`apply` plans from the state alone and does neither)", STYLES["dim"]))
    for item in items:
        out.blank()
        where = f"{item.address}: " if item.address else ""
        out.add("  ", (item.symbol, STYLES.get(item.symbol)), " ", (where, STYLES["address"]), f"{item.name} ({item.type})",
                (f"  [{item.kind}]" if item.kind else "", STYLES["dim"]))
        if item.summary:
            out.add(("      # ", STYLES["dim"]), (item.summary, STYLES["dim"]))
        for change in item.changes:
            line = attr_line(change)
            if line.symbol == "~" and not line.more:
                line = dataclasses.replace(line, text=line.text.replace(" -> ", " (last applied) -> ", 1) + " (live)")
            _attribute(out, line, "      ")


def _not_ready(out: _Lines, changes: Sequence[ResourceChange]) -> None:
    """Resources the live read found not ready (reason ``not-ready``, :mod:`mlops_infra.plan.readiness`),
    each with the live reason and what to do; nothing when there are none."""
    if not changes:
        return
    out.blank()
    out.add(("Not ready: ", STYLES["heading"]), (not_ready_heading(len(changes)), STYLES["warning"]))
    for change in changes:
        out.blank()
        where = f"{change.address}: " if change.address else ""
        planned = f"  [{change.action.symbol.strip()} planned below]" if change.action.is_change else ""
        out.add("  ", ("!", STYLES["!"]), " ", (where, STYLES["address"]), f"{change.name} ({change.type})",
                (planned, STYLES["dim"]))
        out.add(("      # ", STYLES["dim"]), (change.reason.message, STYLES["dim"]))


def _ml(out: _Lines, ml: Sequence[MLChange]) -> None:
    if not ml:
        return
    out.blank()
    out.add(("ML changes", STYLES["heading"]))
    width = max(len(m.address) for m in ml)
    previous = None
    for item in ml_sorted(ml):
        address = item.address if item.address != previous else ""
        previous = item.address
        out.add("  ", (address.ljust(width), STYLES["address"]), f"  {item.summary}")
        for extra in _ml_details(item):
            out.add(" " * (width + 4), (extra, STYLES["dim"]))


def _ml_details(item: MLChange) -> list[str]:
    """Extra lines for the numbers a summary may not spell out (rollout stages)."""
    steps = item.details.get("steps") if isinstance(item.details, dict) else None
    if not steps or not isinstance(steps, list) or "%" in item.summary:
        return []
    stages = " -> ".join(f"{s}%" for s in steps)
    bake = item.details.get("bakeSeconds")
    return [f"stages: {stages}" + (f", {_duration(bake)} bake at each" if bake else "")]


def _duration(seconds: int | float) -> str:
    seconds = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cost(out: _Lines, cost: CostEstimate) -> None:
    out.blank()
    out.add(("Cost", STYLES["heading"]), ("  (USD per month, on-demand, 730 h; range = min to max replicas/nodes)", STYLES["dim"]))
    delta = cost.delta
    if round(delta.min_usd, 2) == 0 and round(delta.max_usd, 2) == 0:
        out.add(f"  unchanged  {money_range(cost.after.min_usd, cost.after.max_usd)}")
    else:
        out.add(f"  before  {money_range(cost.before.min_usd, cost.before.max_usd)}")
        out.add(f"  after   {money_range(cost.after.min_usd, cost.after.max_usd)}")
        style = "red" if delta.max_usd > 0 else "green" if delta.max_usd < 0 else None
        out.add("  change  ", (money_range(delta.min_usd, delta.max_usd, sign=True), style))
    if cost.not_counted:
        out.add(f"  not counted  {_items(cost.not_counted)} (no price or no schedule: see the notes below)")
    if cost.rollout_extra_usd:
        out.add(f"  rollout extra  at least {money(cost.rollout_extra_usd)} one-off (at min replicas: see the notes), "
                "while rollouts run old and new capacity side by side")
    if cost.lines:
        out.add(("  by item:", STYLES["dim"]))
        width = max(len(line.address) for line in cost.lines)
        for line in cost.lines:
            before, after = line_range(line, "before"), line_range(line, "after")
            if before == "-":
                amounts = f"{after} (new)"
            elif after == "-":
                amounts = f"{before} -> removed"
            else:
                amounts = after if before == after else f"{before} -> {after}"
            note = f" ({line.note})" if line.note else ""
            out.add(f"    {line.address.ljust(width)}  {amounts}", (f"  {line.basis}{note}", STYLES["dim"]))
    for source in cost.sources:
        label = "" if source.lower().startswith("price") else "Prices: "
        out.add((f"  {label}{source}", STYLES["dim"]))
    for note in cost.notes:
        out.add(("  Note: ", STYLES["dim"]), (note, STYLES["dim"]))


def _items(addresses: tuple[str, ...], shown: int = 3) -> str:
    """``a, b`` or ``a, b, c and 4 more``: the items a total leaves out (:func:`mlops_infra.name_lists.join_names`)."""
    return join_names(addresses, shown)


def _resource(out: _Lines, change: ResourceChange) -> None:
    symbol = change.action.symbol
    out.add("  ", (f"{symbol:>3}", STYLES.get(symbol)), f" {resource_label(change)}")
    out.add(("        # ", STYLES["dim"]), (explain(change), STYLES["dim"]))
    note = delete_first_note(change)
    if note:
        out.add(("        # ", STYLES["dim"]), (note, STYLES["warning"]))
    if change.blocked:
        out.add(("        ! blocked: ", STYLES["!"]), change.blocked)
    for attribute in change.changes:
        _attribute(out, attr_line(attribute), "        ")


def _attribute(out: _Lines, line: AttrLine, indent: str) -> None:
    suffix = "  # forces replacement" if line.forces_replacement else ""
    out.add(indent, (line.symbol, STYLES.get(line.symbol)), f" {line.text}", (suffix, STYLES["-/+"]))
    for marker, text in line.more:
        out.add(indent, (marker, STYLES.get(marker)), f" {text}")
