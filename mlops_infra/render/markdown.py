"""The plan as a GitHub pull-request comment.

Contract: :func:`render_markdown` is pure and deterministic. The first line is the hidden marker
``<!-- mlops-infra-plan: <project>/<stack> -->`` that the PR workflow uses to find and update its
own comment. Then: a title with the counts, a summary table (changes, cost, drift, target; the
resources not ready when a refreshed plan found some), the resources not ready (reason ``not-ready``,
only when there are some), the cost per ML item, the ML summary, drift, and one collapsible ``<details>`` per ML item holding its
resource changes in a ```` ```diff ```` block (GitHub colours ``+`` green, ``-`` red and ``!``
orange, so in-place updates -- ``~`` in the terminal -- are written ``!`` here).

The result is never longer than ``max_chars`` (GitHub refuses comments over 65,536 characters:
``422 Validation Failed``, "Body is too long (maximum is 65536 characters)", REST API "Create an
issue comment", https://docs.github.com/rest/issues/comments#create-an-issue-comment).
When the whole plan does not fit, resource details are left out, largest first, then the lists are
shortened, the least important first: the cost notes ("... and N more notes"), the cost rows (the
head's "Monthly cost" row sums them), drift, ML changes, guardrail rows, the resources not ready, the caller's notes and
last the warnings (they carry facts that block an apply, such as a quota ``pulumi up`` would
exceed). A note says how many were left out and the command that prints the full plan. If even
the head does not fit, whole lines of it are cut, but the warnings, that note with its command and
the footer are reserved first. Blocks are cut whole, never inside a code block.

Free text is printed outside code only through :func:`_esc` (``&``, ``<``, ``|`` escaped, line
breaks turned into spaces: a line break ends a GFM table row and a line of three backticks opens a
code block, CommonMark 0.31.2 section 4.5, GFM section 4.10). The redaction layer scans the
rendered text and that text with the escaping undone, so ``&token=`` written as ``&amp;token=``
is still seen by the query-string rule. Code spans come from :func:`code_span`, with pipes
escaped in table cells only (elsewhere GitHub would show the backslash).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlops_infra.plan.model import Action, Plan, ResourceChange
from mlops_infra.render.common import (
    AttrLine,
    DriftView,
    Group,
    attr_line,
    delete_first_note,
    drift_views,
    explain,
    group_changes,
    guardrails_sentence,
    line_delta,
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
from mlops_infra.render.human import NO_CHANGES
from mlops_infra.render.limits import GITHUB_COMMENT_LIMIT
from mlops_infra.render.safety import check_rendered

MARKER_PREFIX = "<!-- mlops-infra-plan: "

_DIFF_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "!", Action.REPLACE: "-/+", Action.DELETE: "-",
                Action.READ: "<="}
_ATTR_SYMBOL = {"+": "+", "-": "-", "~": "!", " ": " "}


def marker(plan: Plan) -> str:
    """The hidden comment that identifies this stack's plan comment on a pull request."""
    return f"{MARKER_PREFIX}{plan.project}/{plan.stack} -->"


def render_markdown(plan: Plan, *, max_chars: int = GITHUB_COMMENT_LIMIT, notes: Sequence[str] = (),
                    command: str | None = None) -> str:
    """The plan as GitHub-flavoured markdown of at most ``max_chars`` characters.

    ``notes`` are lines the caller adds under the summary (where the prior state came from);
    ``command`` is the command line that prints the full plan, quoted in the cut note.
    """
    full_command = command or f"mlops-infra plan <mlsystem.yaml> --env {plan.stack} --format text"
    doc = _Document(
        head=_head(plan),
        lists=[*_notes_section(notes, plan.warnings), _guardrails_section(plan), _not_ready_section(plan),
               *_cost_section(plan), _ml_section(plan), _drift_section(plan)],
        details=_details(group_changes(plan.changes)),
        foot=_foot(plan),
        command=full_command,
    )
    text = doc.fit(max_chars)
    check_rendered(_unescape(text), plan)  # the values as written: `&amp;token=` hides `&token=` from a rule
    return check_rendered(text, plan)


# -- escaping ------------------------------------------------------------------------------------


_LINE_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""What ``str.splitlines`` splits at (CommonMark's line endings, ``\\n``, ``\\r\\n`` and ``\\r``, among them)."""


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", str(text))


def _esc(text: str) -> str:
    """Text safe in markdown prose and table cells: no HTML (``&``, ``<`` escaped), pipes escaped,
    line breaks made spaces (a line break would end a table row, and the next line could open a
    code block or a heading)."""
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def _unescape(text: str) -> str:
    """``text`` with :func:`_esc`'s escapes undone (for the redaction layer's second look)."""
    return text.replace("\\|", "|").replace("&lt;", "<").replace("&amp;", "&")


def code_span(text: str, *, in_table: bool = False) -> str:
    """An inline code span showing ``text``, backticks included; line breaks are made spaces (a line
    of three backticks would open a code block).

    Pipes are escaped (``\\|``) only ``in_table``, a GFM table cell: a table row is split into cells
    at unescaped pipes before its inlines are read, and ``\\|`` gives ``|`` back, inside code spans
    too (GFM spec, section 4.10 "Tables (extension)": "Include a pipe in a cell's content by escaping
    it, including inside other inline spans", https://github.github.com/gfm/#tables-extension-).
    Anywhere else the backslash would be shown: "Note that backslash escapes do not work in code
    spans. All backslashes are treated literally" (section 6.3 "Code spans",
    https://github.github.com/gfm/#code-spans)."""
    return _code(text, in_table=in_table)


def _cell_code(text: str) -> str:
    """:func:`code_span` in a table cell."""
    return _code(text, in_table=True)


def _code(text: str, *, in_table: bool = False) -> str:
    """See :func:`code_span`."""
    text = _one_line(text)
    text = text.replace("|", "\\|") if in_table else text
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(lines: Sequence[str]) -> str:
    """A code fence longer than any run of backticks in ``lines`` (at least three), so no line closes it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=2)
    return "`" * max(3, longest + 1)


def _short_fence(body: str) -> str | None:
    """``fence(lines)`` without a search per line when ``body``, the lines joined by newlines, holds
    no three backticks in a row: then no line does (a newline is not a backtick), so the fence is
    three. None when it does (then :func:`fence` searches)."""
    return None if "```" in body else "```"


def fenced(lang: str, lines: Sequence[str]) -> str:
    """``lines`` as a fenced code block (see :func:`fence`)."""
    body = "\n".join(lines)
    ticks = _short_fence(body) or fence(lines)
    return f"{ticks}{lang}\n{body}\n{ticks}\n"


# -- sections --------------------------------------------------------------------------------


@dataclass
class CutList:
    """A section whose items can be cut from the end: ``title`` + items + a "more" line + ``tail``;
    no text at all when it has no items. Each item carries its own line ending.

    ``rank``: lists are shortened lowest rank first (see :meth:`_Document.fit`). ``reserve``: kept
    ahead of the head's lines when even the head does not fit (the warnings)."""

    title: str
    items: list[str]
    more: Callable[[int], str]
    tail: str = ""
    keep: int = -1
    rank: int = 0
    reserve: bool = False

    def __post_init__(self) -> None:
        self.keep = len(self.items)

    def text(self, keep: int | None = None) -> str:
        keep = self.keep if keep is None else keep
        if not self.items:
            return ""
        left_out = len(self.items) - keep
        return self.title + "".join(self.items[:keep]) + (self.more(left_out) if left_out else "") + self.tail

    def shrink_to(self, budget: int) -> None:
        """Keep the longest prefix whose text fits ``budget`` characters (possibly none)."""
        fixed = len(self.title) + len(self.tail)
        total, keep = fixed, 0
        for index, item in enumerate(self.items):
            more = len(self.more(len(self.items) - index - 1)) if index + 1 < len(self.items) else 0
            if total + len(item) + more > budget:
                break
            total += len(item)
            keep = index + 1
        self.keep = keep


def _head(plan: Plan) -> str:
    counts = plan.counts
    not_ready = len(not_ready_changes(plan.changes))
    title = (counts.sentence() if plan.has_changes else no_changes_but_not_ready(not_ready) if not_ready
             else NO_CHANGES)
    rows = [("Target", _esc(target_text(plan.target))),
            ("Changes", f"{counts.add} to add, {counts.change} to change, {counts.replace} to replace, "
                        f"{counts.destroy} to destroy" + (f", {counts.blocked} blocked" if counts.blocked else "")
                        if plan.has_changes else "none")]
    if plan.cost is not None:
        cost = plan.cost
        delta = money_range(cost.delta.min_usd, cost.delta.max_usd, sign=True)
        after = money_range(cost.after.min_usd, cost.after.max_usd)
        if round(cost.delta.min_usd, 2) == 0 and round(cost.delta.max_usd, 2) == 0:
            rows.append(("Monthly cost", f"{after} (unchanged)"))
        else:
            rows.append(("Monthly cost", f"{money_range(cost.before.min_usd, cost.before.max_usd)} &rarr; "
                                         f"{after} (**{delta}**)"))
        if cost.not_counted:
            rows.append(("Not counted", f"{len(cost.not_counted)} item{'s' if len(cost.not_counted) != 1 else ''} "
                                        "without a price or a schedule (see the cost notes)"))
        if cost.rollout_extra_usd:
            rows.append(("Rollout extra", f"at least {money(cost.rollout_extra_usd)} one-off (old and new capacity "
                                          "during rollouts, at min replicas: see the notes)"))
    if plan.guardrails:
        rows.append(("Guardrails", f"**{_esc(guardrails_sentence(plan.guardrails))}** (see Guardrails)"))
    rows.append(("Drift", _drift_cell(plan)))
    if not_ready:
        rows.append(("Not ready", f"**{plural(not_ready, 'resource')}** read live (see Not ready)"))
    rows.append(("Prior state", f"serial {_cell_code(plan.state_serial[:12])}"))
    table = "| | |\n|---|---|\n" + "".join(f"| **{k}** | {v} |\n" for k, v in rows)
    return (f"{marker(plan)}\n## mlops-infra plan: {_code(plan.project)} / {_code(plan.stack)}\n\n"
            f"**{_esc(title)}**\n\n{table}\n")


def _drift_cell(plan: Plan) -> str:
    if plan.unread:
        total = sum(g.count for g in plan.unread)
        causes = ", ".join(f"{g.count} {g.cause} ({_esc(', '.join(g.codes))})" for g in plan.unread)
        found = f"; {plural(len(plan.drift), 'resource')} that could be read changed" if plan.drift else ""
        return f"**unknown for {plural(total, 'resource')}: the refresh is incomplete** ({causes}){found}"
    if plan.drift:
        return f"**{plural(len(plan.drift), 'resource')} changed outside mlops-infra** (see Drift)"
    if plan.refreshed:
        return "none: live resources match the last applied state"
    return "not checked (plan with `--refresh` to read live resources)"


# Shortening order (lowest first): the least important go first, the warnings last.
# The cost rows go before drift and the ML changes: the head's "Monthly cost" row sums them, and
# the ML changes are what a reviewer reviews.
_RANK_COST_NOTES, _RANK_COST, _RANK_DRIFT, _RANK_ML, _RANK_GUARDRAILS, _RANK_NOTES, _RANK_WARNINGS = range(7)


def note_line(note: str) -> str:
    """A caller's note as the plan writes it, a block-quote line (what ``pr_workflow`` finds a note by)."""
    return f"> {_esc(note)}\n"


def _notes_section(notes: Sequence[str], warnings: Sequence[str]) -> tuple[CutList, CutList]:
    """The caller's notes, then the warnings, as one block quote (two lists: the warnings are
    shortened last and reserved before a head cut)."""
    more = lambda n: f"> ... and {n} more (see the full plan)\n"  # noqa: E731
    return (CutList("", [note_line(n) for n in notes], more, tail="" if warnings else "\n", rank=_RANK_NOTES),
            CutList("", [f"> **Warning:** {_esc(w)}\n" for w in warnings], more, tail="\n", rank=_RANK_WARNINGS,
                    reserve=True))


def _guardrails_section(plan: Plan) -> CutList:
    """The guardrail rules that fail, one row per finding (mandatory first), with the fix."""
    rows = [f"| {'**fail**' if r.blocks else 'warn'} | {_cell_code(r.rule)} ({r.level}) | {_esc(f.message)} | {_esc(f.fix)} |\n"
            for r in plan.guardrails for f in r.findings]
    title = (f"### Guardrails\n{_esc(guardrails_sentence(plan.guardrails))} (docs/guardrails.md).\n\n"
             "| | rule | finding | fix |\n|---|---|---|---|\n")
    return CutList(title, rows, lambda n: f"| | | ... and {n} more (see the full plan) | |\n", tail="\n",
                   rank=_RANK_GUARDRAILS)


def _cost_section(plan: Plan) -> tuple[CutList, CutList]:
    """The cost table with its sources, then the cost notes: a list of their own, shortened first
    ("... and N more notes"): a fresh environment has one per endpoint waiting for a model version,
    700 lines at 1,000 endpoints, more than a whole comment."""
    cost = plan.cost
    if cost is None:
        return CutList("", [], lambda n: ""), CutList("", [], lambda n: "")
    rows = []
    for line in cost.lines:
        before, after = line_range(line, "before"), line_range(line, "after")
        note = f" ({_esc(line.note)})" if line.note else ""
        rows.append(f"| {_cell_code(line.address)} | {_esc(line.basis)}{note} | {before} | {after} | "
                    f"{line_delta(line)} |\n")
    sources = "".join(f"{'' if s.lower().startswith('price') else 'Prices: '}{_esc(s)}  \n" for s in cost.sources)
    title = ("### Cost\nUSD per month, on-demand, 730 hours; ranges run from min to max replicas or nodes.\n\n"
             "| ML item | basis | before | after | change |\n|---|---|---:|---:|---:|\n")
    tail = f"\n{sources}" + ("\n" if sources and not cost.notes else "")
    section = CutList(title, rows, lambda n: f"| ... | {n} more items (see the full plan) | | | |\n", tail=tail,
                      rank=_RANK_COST)
    if not rows:
        section.items = ["| (nothing priced) | | | | |\n"]
        section.keep = 1
    notes = CutList("", [f"Note: {_esc(n)}  \n" for n in cost.notes],
                    lambda n: f"Note: ... and {n} more notes (see the full plan)  \n", tail="\n",
                    rank=_RANK_COST_NOTES)
    return section, notes


def _ml_section(plan: Plan) -> CutList:
    items = []
    for item in ml_sorted(plan.ml):
        steps = item.details.get("steps") if isinstance(item.details, dict) else None
        extra = ""
        if isinstance(steps, list) and steps and "%" not in item.summary:
            extra = f" (stages: {' &rarr; '.join(f'{s}%' for s in steps)})"
        items.append(f"- {_code(item.address)} {_esc(item.summary)}{extra}\n")
    return CutList("### ML changes\n", items, lambda n: f"- ... and {n} more (see the full plan)\n", tail="\n",
                   rank=_RANK_ML)


def _drift_section(plan: Plan) -> CutList:
    views = drift_views(plan.drift, plan.changes)
    items = [_drift_item(v) for v in views]
    title = ("### Drift\nChanged outside mlops-infra since the last apply. The resource changes below are "
             "planned against the last applied state; `apply --plan` of this plan runs `pulumi up --refresh`: a "
             "deleted resource is created again and changed values are put back; a plain `apply` plans from the "
             "state alone and does neither.\n\n")
    return CutList(title, items, lambda n: f"- ... and {n} more drifted resources (see the full plan)\n", tail="\n",
                   rank=_RANK_DRIFT)


def _not_ready_section(plan: Plan) -> CutList:
    """The resources the live read found not ready (reason ``not-ready``), each with the live reason
    and what to do (:mod:`mlops_infra.plan.readiness`); no text when there are none."""
    changes = not_ready_changes(plan.changes)
    items = []
    for change in changes:
        where = f"{_code(change.address)}: " if change.address else ""
        planned = f" ({_code(change.action.symbol.strip())} planned below)" if change.action.is_change else ""
        items.append(f"- {where}**{_esc(change.name)}** ({_code(change.type)}){planned}: "
                     f"{_esc(change.reason.message)}\n")
    title = f"### Not ready\n{_esc(not_ready_heading(len(changes)))}.\n\n"
    return CutList(title, items, lambda n: f"- ... and {n} more not ready (see the full plan)\n", tail="\n",
                   rank=_RANK_GUARDRAILS)  # as important as a failing guardrail: shortened after drift and ML


def _drift_item(view: DriftView) -> str:
    where = f"{_code(view.address)}: " if view.address else ""
    text = f"- {_code(view.symbol)} {where}**{_esc(view.name)}** ({_code(view.type)})"
    text += f" {_esc(view.kind)}" if view.kind else ""
    text += f": {_esc(view.summary)}\n" if view.summary else "\n"
    if view.changes:
        lines = []
        for change in view.changes:
            lines += _attribute_lines(attr_line(change), 4)
        text += "\n  <details><summary>last applied &rarr; live</summary>\n\n" + _indent(fenced("diff", lines)) + \
            "\n  </details>\n\n"
    return text


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())


def _attribute_lines(line: AttrLine, marker_width: int = 6) -> list[str]:
    suffix = "  # forces replacement" if line.forces_replacement else ""
    symbol = _ATTR_SYMBOL[line.symbol]
    lines = [f"{symbol:<{marker_width}}{line.text}{suffix}"]
    lines += [f"{_ATTR_SYMBOL.get(marker, ' '):<{marker_width}}{text}" for marker, text in line.more]
    return lines


def _resource_lines(change: ResourceChange) -> list[str]:
    symbol = _DIFF_SYMBOL.get(change.action, " ")
    lines = [f"{symbol:<3} {resource_label(change)}", f"#     {explain(change)}"]
    note = delete_first_note(change)
    if note:
        lines.append(f"#     {note}")
    if change.blocked:
        lines.append(f"!     BLOCKED: {change.blocked}")
    for attribute in change.changes:
        lines += _attribute_lines(attr_line(attribute))
    return lines


def _details(groups: list[Group]) -> list[tuple[Group, str]]:
    blocks = []
    for group in groups:
        lines: list[str] = []
        for change in group.resources:
            lines.extend(_resource_lines(change))
        if not group.resources:
            lines.append(f"#   {group.facts_only_note()}")
        summary = f"<code>{_esc(group.address)}</code>: {_esc(group.tally())}"
        blocks.append((group, f"<details><summary>{summary}</summary>\n\n{fenced('diff', lines)}\n</details>\n\n"))
    return blocks


_DETAILS_TITLE = ("### Resource changes\n"
                  "`+` create, `!` update in place, `-/+` replace, `-` destroy. Expand an item to see its resources.\n\n")


def _foot(plan: Plan) -> str:
    return "<sub>Generated by mlops-infra. Resources without changes are not listed.</sub>\n"


# -- fitting ---------------------------------------------------------------------------------


@dataclass
class _Document:
    head: str
    lists: list[CutList]
    details: list[tuple[Group, str]]
    foot: str
    command: str
    limit: int = GITHUB_COMMENT_LIMIT
    dropped: set[int] = field(default_factory=set)

    def _details_text(self) -> str:
        if not self.details:
            return ""
        kept = [text for index, (_, text) in enumerate(self.details) if index not in self.dropped]
        return _DETAILS_TITLE + "".join(kept) + self._cut_note()

    def _cut_note(self) -> str:
        if not self.dropped:
            return ""
        total = len(self.details)
        return (f"> **The resource details of {len(self.dropped)} of {plural(total, 'ML item')} were left out** "
                f"to keep this comment under {self.limit:,} characters (GitHub's limit is "
                f"{GITHUB_COMMENT_LIMIT:,}). See the full plan with {_code(self.command)}.\n\n")

    def _shortened_note(self, *, force: bool = False) -> str:
        shortened = any(lst.keep < len(lst.items) for lst in self.lists)
        if not (shortened or force):
            return ""
        see = "" if self.dropped else f" See the full plan with {_code(self.command)}."
        return f"> Some lists above were shortened to keep this comment under {self.limit:,} characters.{see}\n\n"

    def text(self) -> str:
        return (self.head + "".join(lst.text() for lst in self.lists) + self._details_text()
                + self._shortened_note() + self.foot)

    def fit(self, limit: int) -> str:
        self.limit = limit
        text = self.text()
        if len(text) <= limit:
            return text
        # 1. Leave out resource details, largest first, until it fits (lengths add up, so count).
        sizes = [len(block) for _, block in self.details]
        kept = sum(sizes)
        fixed = len(text) - kept
        for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
            self.dropped.add(index)
            kept -= sizes[index]
            if fixed + kept + len(self._cut_note()) <= limit:
                break
        text = self.text()
        if len(text) <= limit:
            return text
        # 2. Shorten the lists, the least important (lowest rank) first.
        for lst in sorted(self.lists, key=lambda lst: lst.rank):
            others = len(self.text()) - len(lst.text())
            lst.shrink_to(max(0, limit - others - len(self._shortened_note(force=True))))
            if len(self.text()) <= limit:
                return self.text()
        return self._cut_head(limit)

    def _cut_head(self, limit: int) -> str:
        """3. A limit smaller than the head and the lists' titles: the reserved ending (the note on
        what was left out, with the command, and the footer) and the reserved lists (the warnings,
        shortened to what is left) first, then whole lines of the head and the lists before the
        first reserved one (no code blocks there: every detail is left out, every list shortened);
        the other lists are left out."""
        ending = self._cut_note() + self._shortened_note(force=True) + self.foot
        first = next((i for i, lst in enumerate(self.lists) if lst.reserve), len(self.lists))
        reserved = [lst for lst in self.lists if lst.reserve]
        lead = self.head[: self.head.find("\n", len(MARKER_PREFIX)) + 1]  # the marker line, always kept
        for lst in reserved:
            lst.shrink_to(max(0, limit - len(lead) - len(_CUT_SUFFIX) - len(ending)
                              - sum(len(other.text()) for other in reserved if other is not lst)))
        kept = "".join(lst.text() for lst in reserved)
        text = _cut_lines(self.head + "".join(lst.text() for lst in self.lists[:first]),
                          limit - len(kept) - len(ending)) + kept + ending
        return text if len(text) <= limit else _cut_lines(self.text(), limit)


_CUT_SUFFIX = "...\n"


def _cut_lines(text: str, limit: int) -> str:
    """Whole lines of ``text`` and a ``...`` line, at most ``limit`` characters ("" below 5)."""
    if len(text) <= limit:
        return text
    if limit < len(_CUT_SUFFIX) + 1:
        return text[:0]
    cut = text[: limit - len(_CUT_SUFFIX)]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else ""
    return cut + _CUT_SUFFIX
