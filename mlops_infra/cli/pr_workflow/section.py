"""One target's section of the comment or the job summary (:func:`section`): which system and environment,
then its plan, its error, or both; a cut plan's section says where the rest is (the job summary, when it
holds a fuller copy, and the :data:`ARTIFACT` artifact)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

ARTIFACT = "mlops-infra-plans"
"""The artifact .github/workflows/plan.yml uploads the JSON plans as (tests pin the two alike)."""

CUT_MARK = "to keep this comment under"
"""In every cut Markdown plan's note on what was left out (``render.markdown``)."""


def plan_failed(result: dict) -> bool:
    """Whether a result is a failed plan: ``failed`` (:func:`~mlops_infra.cli.pr_workflow.plans._plan_once`), else
    (a ``results.json`` of an earlier mlops-infra) an exit other than 0 and 2."""
    return bool(result.get("failed", result["exit"] not in (0, 2)))


def section(result: dict, run_url: str, *, fuller: bool = False, summary_has_fuller: bool = False) -> str:
    """One target's part of the comment (or, ``fuller``, of the job summary): which system and
    environment, then its plan, its error, or both (a plan that exits 1 after printing the plan).

    The system file is data from the pull request: in the hidden marker it is percent-encoded
    (``>``, ``!`` and line breaks included, so ``-->`` cannot end the HTML comment early:
    CommonMark 0.31.2 section 4.6, HTML block type 2 ends at the first line holding ``-->``), and it
    is shown as a code span that survives backticks and line breaks. A cut plan says where the
    rest is: the job summary, only when ``summary_has_fuller`` (the summary written holds this
    plan's fuller copy: :attr:`~mlops_infra.cli.pr_workflow.comment.SummaryContent.fuller`), and the :data:`ARTIFACT`
    artifact."""
    path = result.get("summary_markdown") if fuller else None
    plan = Path(path or result["markdown"]).read_text(encoding="utf-8").strip() if result.get("markdown") else ""
    return section_text(result, plan, run_url, fuller=fuller, summary_has_fuller=summary_has_fuller)


NO_MESSAGE = "(no message)"


def section_text(result: dict, plan: str, run_url: str, *, fuller: bool = False,
                 summary_has_fuller: bool = False) -> str:
    """:func:`section` with its plan's text given (what :func:`~mlops_infra.cli.pr_workflow.plans.run_plans`
    measures)."""
    from mlops_infra.render.markdown import code_span

    file, env = result["file"], result["env"]
    head = f"<!-- mlops-infra-plan-target: {quote(file, safe='/ ')} {quote(env, safe='')} -->\n" \
           f"**System** {code_span(file)} · **environment** {code_span(env)}\n\n"
    text = head
    if plan_failed(result):
        errors = result.get("errors") or NO_MESSAGE
        fence = "~" * max(4, 1 + max((len(run) for run in re.findall(r"~{3,}", errors)), default=0))
        exit_text = f"exit {result['exit']}" + (", no plan printed" if result["exit"] in (0, 2) else "")
        text += (f"**The plan failed** ({exit_text}):\n\n{fence}text\n{errors}\n{fence}\n\n"
                 f"The whole output is in the [workflow log]({run_url})"
                 + (": the plan it printed follows.\n\n" if plan else ".\n\n"))
    if plan:
        text += plan + "\n\n"
        if CUT_MARK in plan:
            kept = summary_has_fuller and not fuller and result.get("summary_markdown")
            where = [f"the [job summary]({run_url}) holds a fuller copy"] if kept else []
            if result.get("json"):
                where.append(f"the run's `{ARTIFACT}` artifact holds the JSON plan "
                             f"`{PurePosixPath(result['json']).name}`")
            if where:
                text += f"> This plan was shortened: {'; '.join(where)}.\n\n"
    return text + "---\n\n"
