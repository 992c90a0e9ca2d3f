"""A promotion for people and programs: terminal text, a pull-request body (Markdown) and JSON.

Contract: every renderer shows, in this order, the version mapping (``fraud-model v14 in dev = v3
in staging, sha256:...``, with the approval status SRC's registry gives the version it serves), the edit of FILE as a unified diff, the gate results,
the serving findings (:mod:`mlops_infra.promote.contracts`: a model whose serving contract changes
across clouds, refused or warned, each with its detail; a package DST holds with the wrong image:
:func:`mlops_infra.promote.artifacts.package_image_findings`), the artifact steps
(each with its details: the serving image a registration carries or why it is refused, the accounts
that must own the copy's buckets or that an owner is not checked),
whether FILE was written, then DST's plan after the edit in the same format (rendered by the
caller with the plan renderers, so the PR comment shows it as ``plan`` does). Pure: data in, text out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.promote.promote import Promotion
from mlops_infra.render.markdown import GITHUB_COMMENT_LIMIT, CutList, fence


@dataclass(frozen=True)
class Report:
    """Everything a promotion shows. ``gates`` and ``steps`` are objects with ``to_json()`` and
    ``line()``; ``written`` is None for a preview (no ``--write``)."""

    promotion: Promotion
    plan_text: str
    plan_json: str | None = None
    """DST's plan as ``render_json`` wrote it (JSON text), for the JSON format."""
    gates: Sequence[Any] = ()
    serving: Sequence[Any] = ()
    """:class:`~mlops_infra.promote.contracts.ServingFinding` s (``refuses``, ``line()``, ``detail``)."""
    steps: Sequence[Any] = ()
    written: bool | None = None
    notes: Sequence[str] = field(default_factory=tuple)
    plan_markdown: Callable[[int], str] | None = None
    """For the Markdown format: DST's plan as Markdown of at most the given number of characters
    (``render_markdown(plan, max_chars=...)``), so the report fits one pull-request body."""


def _headline(report: Report) -> str:
    p = report.promotion
    return f"Promotion {p.src} -> {p.dst} ({p.file})"


def _status(report: Report) -> str:
    p = report.promotion
    if not p.changed:
        return f"No edit: {p.dst} already pins what {p.src} serves."
    if report.written is None:
        return "Preview only: nothing was written (run with --write to write the edit)."
    if report.written:
        return f"Written: {p.file} (environments.{p.dst}.overrides)."
    if any(f.refuses for f in report.serving):
        return f"Not written: {p.dst} cannot serve what {p.src} serves (see Serving); the file is unchanged."
    return ("Not written: a gate failed, or a mandatory guardrail fails in the plan below (see Gates and "
            "Guardrails); the file is unchanged.")


def _approval(mapping: Any) -> str:
    """SRC's approval status of the version it serves (SageMaker ``ModelApprovalStatus``, MLflow's
    approval tag), as its registry read says."""
    return mapping.src_record.approval or "unknown"


def step_lines(step: Any, first: str, under: str) -> list[str]:
    """An artifact step as the reports show it: its line, then its details (a copy's bucket owners, a
    registration's serving image or why it is refused: ``ArtifactStep.details``), indented."""
    return [f"{first}{step.line()}", *(f"{under}{d}" for d in step.details())]


def render_text(report: Report) -> str:
    return "".join(text_parts(report))


def text_parts(report: Report) -> tuple[str, str, str]:
    """The text report as :func:`render_parts` gives it."""
    p = report.promotion
    out = [_headline(report), ""]
    out += [*(f"  {n}" for n in report.notes), ""] if report.notes else []
    out.append("Versions (artifacts are matched by digest, not by number):")
    out += [f"  {m.endpoint}: {m.sentence(p.src, p.dst)}; approval in {p.src}: {_approval(m)}"
            for m in p.versions.mappings] or ["  (no endpoints)"]
    out += ["", f"Edit of {p.file}:"]
    out += [f"  {line}" for line in p.edit.diff(p.file).splitlines()] or ["  (none)"]
    if report.gates:
        out += ["", f"Gates of {p.dst}:", *(f"  {g.line()}" for g in report.gates)]
    if report.serving:
        out += ["", f"Serving ({p.src} -> {p.dst}):",
                *(line for f in report.serving for line in (f"  {f.line()}", f"    {f.detail}"))]
    if report.steps:
        out += ["", "Artifact steps (run them with `mlops-infra promote ... --execute-artifacts`):",
                *(line for s in report.steps for line in step_lines(s, "  ", "    "))]
    out += ["", _status(report), "", f"Plan of {p.dst} after the edit:", ""]
    return "\n".join(out) + "\n", report.plan_text, ""


def render_markdown(report: Report, max_chars: int = GITHUB_COMMENT_LIMIT) -> str:
    return "".join(markdown_parts(report, max_chars))


def markdown_parts(report: Report, max_chars: int = GITHUB_COMMENT_LIMIT) -> tuple[str, str, str]:
    """The Markdown report as :func:`render_parts` gives it: a pull-request body of at most
    ``max_chars`` characters when the report has ``plan_markdown`` (GitHub refuses a body or a
    comment over 65,536 characters; the promotion workflow passes this text to ``gh pr create``).

    The promotion's title, gates, serving findings and status are kept whole. When the whole report does not fit, the
    plan gets what the promotion leaves, but at least half (its renderer fits itself: it leaves out
    resource details first, see :func:`mlops_infra.render.markdown.render_markdown`), and then the
    promotion's lists are cut from the end, whole lines only, code fences closed, each with a line
    saying how many were left out: the edit first (the pull request's changed files show it whole),
    then the artifact steps, the version table and the notes. ``mlops-infra promote ... --format
    text`` prints everything. Without ``plan_markdown`` the plan is ``plan_text`` as given, uncut."""
    sections, cut_order = _markdown_sections(report)
    if report.plan_markdown is None:
        return _joined(sections), report.plan_text, ""
    plan = report.plan_markdown(max_chars - min(len(_joined(sections)), max_chars // 2))
    budget = max_chars - len(plan)
    for cut in cut_order:
        if len(_joined(sections)) <= budget:
            break
        others = len(_joined(sections)) - len(cut.text())
        cut.shrink_to(max(0, budget - others))
    return _joined(sections), plan, ""


def _joined(sections: Sequence[str | CutList]) -> str:
    return "".join(s if isinstance(s, str) else s.text() for s in sections)


def _markdown_sections(report: Report) -> tuple[list[str | CutList], list[CutList]]:
    """The promotion's Markdown sections in order, and its :class:`CutList` in the order they are
    cut (see :func:`markdown_parts`)."""
    p = report.promotion
    command = f"`mlops-infra promote {p.file} --from {p.src} --to {p.dst} --format text`"
    notes = CutList("", [f"> {n}\n" for n in report.notes], lambda n: f"> ... and {n} more notes: {command}\n",
                    tail="\n")
    table = (f"| endpoint | model | {p.src} | {p.dst} | digest | registered in {p.dst} | approval in {p.src} |\n"
             "|---|---|---|---|---|---|---|\n")
    rows = [f"| {m.endpoint} | {m.model} | v{m.src_version} | v{m.dst_version} | `{m.digest}` | "
            f"{'yes' if m.registered else 'no (artifact steps)'} | {_approval(m)} |\n" for m in p.versions.mappings]
    more_rows = lambda n: f"\n_... and {n} more endpoints, left out to fit GitHub's limit: {command}._\n"  # noqa: E731
    versions: str | CutList = CutList(table, rows, more_rows) if rows else table
    lines = p.edit.diff(p.file).rstrip("\n").splitlines()
    ticks = fence(lines)
    edit: str | CutList = "\n### Edit\n\nNo edit.\n" if not lines else CutList(f"\n### Edit\n\n{ticks}diff\n", [f"{line}\n" for line in lines],
                   lambda n: f"... {n} more lines of the edit left out: the pull request's changed files show it\n",
                   tail=f"{ticks}\n")
    steps = CutList("\n### Artifact steps\n\n", ["".join(f"{line}\n" for line in step_lines(s, "- ", "  - "))
                                                   for s in report.steps],
                    lambda n: f"- ... and {n} more: {command}\n")
    gates = ""
    if report.gates:
        gates = "".join([f"\n### Gates of `{p.dst}`\n\n| gate | result | reason |\n|---|---|---|\n",
                         *(f"{g.markdown_row()}\n" for g in report.gates)])
    serving = "".join([f"\n### Serving (`{p.src}` → `{p.dst}`)\n\n",
                       *(f"- {f.line()}\n  {f.detail}\n" for f in report.serving)]) if report.serving else ""
    head = f"## Promotion `{p.src}` → `{p.dst}`\n\nFile: `{p.file}`\n\n"
    closing = f"\n{_status(report)}\n\n### Plan of `{p.dst}` after the edit\n\n"
    ordered: list[str | CutList] = [head, notes, versions, edit, gates, serving, steps, closing]
    return ordered, [s for s in (edit, steps, versions, notes) if isinstance(s, CutList)]


def to_json(report: Report) -> dict[str, Any]:
    p = report.promotion
    return {
        "src": p.src, "dst": p.dst, "file": p.file, "changed": p.changed, "written": report.written,
        "versions": [m.to_json() for m in p.versions.mappings],
        "pins": [{"key": pin.key, "value": pin.value} for pin in p.versions.pins],
        "editedKeys": list(p.edit.changed_keys), "diff": p.edit.diff(p.file),
        "gates": [g.to_json() for g in report.gates], "serving": [f.to_json() for f in report.serving],
        "artifactSteps": [s.to_json() for s in report.steps],
        "notes": list(report.notes),
    }


def render_json(report: Report) -> str:
    """``{"promotion": ..., "plan": ...}``: the plan's JSON text is embedded as written, not re-encoded.

    The promotion is ``json.dumps(..., indent=2)``'s text (keys in the order :func:`to_json` gives
    them, ASCII only), written by orjson when it writes the same bytes (ASCII text; the standard
    library writes anything else)."""
    return "".join(json_parts(report))


def json_parts(report: Report) -> tuple[str, str, str]:
    """The JSON report as :func:`render_parts` gives it: the plan's text as rendered (it ends with
    a newline: ``render_json``), closed by ``}``."""
    promotion = _indented({"promotion": to_json(report)})
    plan = report.plan_json or "null\n"
    if plan[:1].isspace() or not plan.endswith("\n") or plan[-2:-1].isspace():  # not as render_json writes it
        plan = plan.strip() + "\n"
    return promotion[:-2] + ',\n  "plan": ', plan, "}\n"


def render_parts(report: Report, output_format: str) -> tuple[str, str, str]:
    """``(promotion, plan, closing)``: the report in ``output_format`` (text, markdown or json) is
    their concatenation. Only the first is the promotion's own text; the plan is DST's plan as its
    renderer wrote it (and checked it), passed through without a copy of tens of megabytes."""
    return {"json": json_parts, "markdown": markdown_parts}.get(output_format, text_parts)(report)


def _indented(value: Any) -> str:
    """``json.dumps(value, indent=2)`` (see :func:`render_json`)."""
    import orjson

    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = None
    return text if text is not None and text.isascii() else json.dumps(value, indent=2)
