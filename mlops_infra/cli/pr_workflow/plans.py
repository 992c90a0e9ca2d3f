"""The ``plan`` step: ``mlops-infra plan --format markdown --detailed-exitcode --env ENV ... -- FILE`` for
each target (:func:`run_plans`), against that system's own state (:func:`state_args`).

Contract: exit 0 or 2 with a plan printed is a success (2 is also click's usage error); the JSON plan is
saved with ``--out`` as ``DIR/<n>-<slug>.json`` (:func:`slug`), and the plan's note "Saved the plan to
DIR/..." (a runner's temporary directory, gone with the runner) says instead where the JSON plan is, the
``mlops-infra-plans`` artifact and its file name. A plan that exits 1 after printing the whole plan (a
mandatory guardrail fails: ``plan`` prints the plan, then refuses) keeps its plan, under the failure line.
Each section fits its equal share of the comment whole: its head, failure line and error, plan and notes
are all counted; a plan cut to its share of the comment is rendered again, once, at its share of the job
summary.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path, PurePosixPath

from mlops_infra.cli.pr_workflow.limits import (
    COMMENT_FRAME,
    COMMENT_LIMIT,
    RUN_URL_ROOM,
    SUMMARY_LIMIT,
    SUMMARY_RESERVE,
)
from mlops_infra.cli.pr_workflow.plan_errors import error_excerpt, final_error
from mlops_infra.cli.pr_workflow.section import ARTIFACT, CUT_MARK, NO_MESSAGE, section_text
from mlops_infra.cli.pr_workflow.targets import PlanTarget, stack_dir_of

PLAN_MARKER = "<!-- mlops-infra-plan: "
"""How ``plan --format markdown`` output starts (``render.markdown.MARKER_PREFIX``)."""

MIN_PLAN_CHARS = 1000
"""The smallest ``--max-chars`` ``mlops-infra plan`` takes."""

MIN_ERROR = 500
"""Characters of a failed plan's error kept however many sections share the comment."""


def state_args(root: Path, target: PlanTarget) -> list[str]:
    """``--state`` for a committed state export of this system's stack, if there is one.

    Looked for in the system's own stack directory (``<system dir>/stacks/<env>/state.json[.gz]``),
    then in a repository-level ``stacks/<env>/`` only when its stack configuration names this system.
    Without one, ``mlops-infra plan`` finds the state where ``pulumi`` keeps it for that stack.
    """
    system_dir = PurePosixPath(target.file).parent
    candidates = [system_dir / "stacks" / target.env]
    legacy = PurePosixPath("stacks") / target.env
    if legacy not in candidates and (stack_dir_of(root, legacy / "Pulumi.yaml") or {}).get(target.env) == target.file:
        candidates.append(legacy)
    for directory in candidates:
        for name in ("state.json", "state.json.gz"):
            if (root / directory / name).is_file():
                return ["--state", str(directory / name)]
    return []


SLUG_CHARS = 80
"""Characters of a target's directory and environment kept in its file names (:func:`slug`)."""


def slug(target: PlanTarget) -> str:
    """The part of a target's file names (``<n>-<slug>.json``, ``.md``, ``.summary.md``) that says
    which it is: its system's directory and its environment. Over :data:`SLUG_CHARS`, it is cut and
    ends with 8 hex digits of a SHA-256 of the file and environment, so the longest file name stays
    far under NAME_MAX (255 bytes on ext4, the runner's file system; a longer name is ENAMETOOLONG,
    open(2)) and two long names cut alike stay apart."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{PurePosixPath(target.file).parent}-{target.env}").strip("_.")
    if len(text) <= SLUG_CHARS:
        return text
    digest = hashlib.sha256(f"{target.file}\0{target.env}".encode()).hexdigest()[:8]
    return f"{text[:SLUG_CHARS].rstrip('_.-')}-{digest}"


def run_plans(root: Path, targets: list[PlanTarget], out_dir: Path, mlops_infra: str = "mlops-infra",
              done: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Plan every target (see the module docstring); the results as JSON-able dicts.

    Each target's section gets an equal share of the comment (what :data:`COMMENT_FRAME` leaves):
    its head, its failure line and error, its plan and the note on a cut plan all count, each link to
    the run as :data:`RUN_URL_ROOM` characters, so a failed plan's error cannot push a later section
    out. A plan is rendered at its share less the rest of its section (``markdown``); a failed plan
    whose error then overflows the share is rendered once more, shorter by the overflow (the same
    inputs: the same plan); a failed plan without a plan keeps as much of its error as the share
    holds (at least :data:`MIN_ERROR` characters). Its stdout is kept whenever it is a plan (it
    starts with :data:`PLAN_MARKER`), also on exit 1: a failed mandatory guardrail exits 1 after
    printing the whole plan. The workflow log gets stderr and, for a failed plan, stdout too (the
    failure line in the comment points there). A plan cut to its comment share is rendered again,
    without ``--out``, at its share of the job summary (``summary_markdown``; kept only when it is a
    plan within that share in UTF-8 bytes, so the summary never passes 1 MiB). ``done`` is called
    with the results so far after each target (the ``plan`` step writes ``results.json`` each time:
    when the step dies, the comment shows the plans made and lists the others)."""
    count = max(1, len(targets))
    share = (COMMENT_LIMIT - COMMENT_FRAME) // count
    summary_share = (SUMMARY_LIMIT - SUMMARY_RESERVE) // count
    results: list[dict] = []
    for index, target in enumerate(targets):
        results.append(_plan_target(root, target, out_dir / f"{index:03d}-{slug(target)}", mlops_infra, share,
                                    summary_share))
        if done is not None:
            done(results)
    return results


_ROOM_URL = "https://" + "x" * (RUN_URL_ROOM - len("https://"))


def _plan_target(root: Path, target: PlanTarget, stem: Path, mlops_infra: str, share: int,
                 summary_share: int) -> dict:
    """One target of :func:`run_plans`: files ``<stem>.json``, ``<stem>.md``, ``<stem>.summary.md``."""
    plan_json, markdown = Path(f"{stem}.json"), Path(f"{stem}.md")
    common = [mlops_infra, "plan", "--format", "markdown", "--detailed-exitcode"]
    if target.env != "?":
        common += ["--env", target.env, *state_args(root, target)]
    file_args = ["--", target.file]  # after `--`, a file named like an option (`-ml/...`) is a file
    saved, artifact = _saved_notes(plan_json)
    growth = max(0, len(artifact) - len(saved))
    # the largest section without its plan: no error yet, a cut plan's note naming the summary and the JSON plan
    result = {**asdict(target), "exit": 0, "markdown": str(markdown), "json": plan_json.name, "errors": "",
              "summary_markdown": "-"}
    max_chars = share - len(section_text(result, CUT_MARK, _ROOM_URL, summary_has_fuller=True)) + len(CUT_MARK)
    used = max(MIN_PLAN_CHARS, max_chars - growth)
    plan_text, over = _plan_once(root, common, file_args, plan_json, used, result, share)
    if plan_text and over > 0 and max(MIN_PLAN_CHARS, len(plan_text) - over - growth) < used:
        # its error took part of the share: the same plan again (the same inputs), shorter by as much
        max_chars = len(plan_text) - over
        plan_text, _ = _plan_once(root, common, file_args, plan_json, max(MIN_PLAN_CHARS, max_chars - growth),
                                  result, share)
    del result["summary_markdown"]
    markdown.write_text(plan_text, encoding="utf-8")
    if plan_text and CUT_MARK in plan_text and summary_share > max_chars:
        fuller = _run_logged(root, [*common, "--max-chars", str(summary_share), *file_args], log_stdout=False)
        if fuller.stdout.startswith(PLAN_MARKER) and len(fuller.stdout.encode("utf-8")) <= summary_share:
            path = Path(f"{stem}.summary.md")
            path.write_text(fuller.stdout, encoding="utf-8")
            result["summary_markdown"] = str(path)
    return result


def _plan_once(root: Path, common: list[str], file_args: list[str], plan_json: Path, max_chars: int,
               result: dict, share: int) -> tuple[str, int]:
    """Run one plan at ``max_chars``, saving its JSON plan; ``result`` updated (exit, failed, JSON
    plan, error). Returns the plan's Markdown (its ``--out`` note swapped, :func:`_saved_notes`; ""
    when it printed none) and by how many characters its section passes ``share``.

    Exit 2 is "changes present (with --detailed-exitcode), or a usage error" (``mlops-infra plan
    --help``; click's ``UsageError.exit_code`` is 2): an exit 0 or 2 that printed no plan failed."""
    proc = _run_logged(root, [*common, "--max-chars", str(max_chars), "--out", str(plan_json), *file_args])
    plan_text = proc.stdout.replace(*_saved_notes(plan_json), 1) if proc.stdout.startswith(PLAN_MARKER) else ""
    failed = proc.returncode not in (0, 2) or not plan_text
    result.update({"exit": proc.returncode, "failed": failed,
                   "json": str(plan_json) if plan_json.is_file() else None, "errors": ""})
    if failed:
        result["errors"] = (final_error(proc.stderr) if plan_text
                            else error_excerpt(proc.stderr, _error_room(result, share)))
    return plan_text, len(section_text(result, plan_text.strip(), _ROOM_URL, summary_has_fuller=True)) - share


def _saved_notes(plan_json: Path) -> tuple[str, str]:
    """``plan --out``'s note as the Markdown plan writes it ("Saved the plan to <path>.",
    ``cli/commands/plan.py``), and the note the comment shows instead: the path is in the runner's
    temporary directory, gone with the runner; the file is in the run's :data:`ARTIFACT` artifact
    (``.github/workflows/plan.yml`` uploads ``DIR/*.json`` under that name)."""
    from mlops_infra.render.markdown import note_line

    return (note_line(f"Saved the plan to {plan_json}."),
            note_line(f"Saved the plan as `{plan_json.name}` in the run's `{ARTIFACT}` artifact."))


def _error_room(result: dict, share: int) -> int:
    """How many characters of a failed plan's error (no plan printed) its section's share holds: all
    of what the share leaves (it holds no plan), at least :data:`MIN_ERROR`."""
    rest = len(section_text({**result, "errors": ""}, "", _ROOM_URL)) - len(NO_MESSAGE)
    return max(MIN_ERROR, share - rest)


def _run_logged(root: Path, args: list[str], *, log_stdout: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one plan; its stderr (and, when it failed, its stdout) go to the workflow log, grouped. Its output is
    read as UTF-8, what ``mlops-infra`` writes to a pipe (:func:`mlops_infra.cli.output.configure_output_streams`),
    not in the locale's code page (audit portab45-8)."""
    print("::group::" + " ".join(args), flush=True)
    proc = subprocess.run(args, cwd=root, capture_output=True, encoding="utf-8", errors="replace", check=False)
    if log_stdout and proc.returncode not in (0, 2) and proc.stdout:
        print(proc.stdout, flush=True)
    print(proc.stderr, flush=True)
    print("::endgroup::", flush=True)
    return proc
