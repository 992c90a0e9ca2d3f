"""The ``comment`` step's texts: the sticky comment's body (:func:`comment_body`, at most
:data:`~mlops_infra.cli.pr_workflow.limits.COMMENT_LIMIT` characters) and the job summary
(:func:`summary_content`, at most :data:`~mlops_infra.cli.pr_workflow.limits.SUMMARY_LIMIT` bytes).

Contract: with no target, the body says the pull request no longer changes a system, which replaces an
earlier comment's plans; targets without a result (the plan step died) are listed as not planned
(:func:`unplanned_section`). The comment says the job summary holds a plan (or a fuller copy of a cut one)
only when the summary written holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.cli.pr_workflow.limits import COMMENT_LIMIT, SUMMARY_LIMIT
from mlops_infra.cli.pr_workflow.notices import notice_sections, notices_text
from mlops_infra.cli.pr_workflow.section import ARTIFACT, section
from mlops_infra.cli.pr_workflow.targets import PlanTarget

MARKER = "<!-- mlops-infra-plan: pull-request -->"

UNPLANNED_SHOWN = 50
"""Targets the note on a plan step that did not finish lists by name (the rest are counted)."""


def unplanned_section(unplanned: list[PlanTarget], run_url: str) -> str:
    """What the comment says when the plan step did not finish (``targets.json`` lists targets that
    ``results.json`` has no result for: the step was killed, or failed before writing them): which
    plans were not made, never that the pull request changes no system."""
    from mlops_infra.render.markdown import code_span

    if not unplanned:
        return ""
    lines = [f"- {code_span(t.file)} · {code_span(t.env)}\n" for t in unplanned[:UNPLANNED_SHOWN]]
    more = len(unplanned) - UNPLANNED_SHOWN
    return (f"**The plan step did not finish:** {len(unplanned)} plan(s) were not made; "
            f"the [workflow log]({run_url}) says why. Not planned:\n\n" + "".join(lines)
            + (f"- and {more} more\n" if more > 0 else "") + "\n---\n\n")


def comment_body(results: list[dict], run_url: str, sha: str, limit: int = COMMENT_LIMIT, *,
                 shown: SummaryContent | None = None, notices: dict | None = None,
                 unplanned: list[PlanTarget] | None = None) -> str:
    """The sticky comment: every section that fits, whole ones only, with a note for those left out.

    ``shown``: the job summary written beside it (None: none). The comment sends the reader to the
    summary only for what it holds: a cut plan's fuller copy, the plans left out of the comment
    (else to the run's :data:`ARTIFACT` artifact and log). ``notices``: what ``targets`` found
    besides plans (:func:`notice_sections`), shown first, before the plans. ``unplanned``: targets
    ``targets`` listed that have no result (the plan step died: :func:`unplanned_section`); the
    comment then never says the pull request changes no system."""
    head = (f"{MARKER}\n# mlops-infra plans\n\n" + unplanned_section(unplanned or [], run_url)
            + notices_text(notices or {}, run_url, limit // 2))
    foot = f"<sub>Updated for {sha[:7]} by the [plan workflow]({run_url}).</sub>\n"
    if not results and (unplanned or notice_sections(notices or {})):
        return head + foot
    if not results:
        return (f"{MARKER}\n# mlops-infra plans\n\nThis pull request no longer changes any ML system "
                f"(as of {sha[:7]}); earlier plans were removed.\n\n" + foot)
    held = shown.sections if shown is not None else 0
    sections = [section(r, run_url, summary_has_fuller=bool(shown and shown.fuller and i < held))
                for i, r in enumerate(results)]
    omitted = 0
    where = (f"see the job summary of the [run]({run_url})" if held == len(results)
             else f"see the `{ARTIFACT}` artifact and the log of the [run]({run_url})")

    def note(n: int) -> str:
        return f"**{n} more plan(s) did not fit in one comment:** {where}.\n\n"

    while sections and len(head) + len(foot) + sum(map(len, sections)) + (len(note(omitted)) if omitted else 0) > limit:
        sections.pop()
        omitted += 1
    return head + "".join(sections) + (note(omitted) if omitted else "") + foot


@dataclass(frozen=True)
class SummaryContent:
    """The job summary: its ``text``; it holds the first ``sections`` sections, in order; ``fuller``:
    those are the fuller copies of the plans cut for the comment (else the comment's copies)."""

    text: str
    sections: int
    fuller: bool


def summary(results: list[dict], run_url: str, limit: int = SUMMARY_LIMIT) -> str:
    """The job summary's text (:func:`summary_content`)."""
    return summary_content(results, run_url, limit).text


def summary_content(results: list[dict], run_url: str, limit: int = SUMMARY_LIMIT, *,
                    lead: str = "") -> SummaryContent:
    """The job summary: every section, with the fuller copy of a plan cut for the comment
    (:func:`~mlops_infra.cli.pr_workflow.plans.run_plans`); never over ``limit`` UTF-8 bytes
    (:data:`SUMMARY_LIMIT`: over it GitHub shows no summary at all): the comment's copies instead, then
    whole sections left out with a note.
    ``lead``: the comment's sections before the plans (plans not made, notices), shown first too."""
    title = "# mlops-infra plans\n\n" + lead
    if not results and lead:
        return SummaryContent(title, 0, False)
    if not results:
        return SummaryContent(title + "No ML system is changed by this pull request.\n", 0, False)

    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    sections = [section(r, run_url, fuller=True) for r in results]
    fuller = size(title) + sum(map(size, sections)) <= limit
    if not fuller:
        sections = [section(r, run_url) for r in results]
    omitted = 0

    def note(n: int) -> str:
        return f"**{n} more plan(s) did not fit in the job summary:** see the `{ARTIFACT}` artifact of the run.\n"

    while sections and size(title) + sum(map(size, sections)) + (size(note(omitted)) if omitted else 0) > limit:
        sections.pop()
        omitted += 1
    return SummaryContent(title + "".join(sections) + (note(omitted) if omitted else ""), len(sections), fuller)
