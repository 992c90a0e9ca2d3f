"""The steps of the pull-request plan workflow (.github/workflows/plan.yml), as testable Python.

Run as ``python -m mlops_infra.cli.pr_workflow <step> --dir DIR``:

- ``targets --base SHA [--repo-wide GLOB]... [--exclude GLOB]...``: which (system, environment)
  pairs the pull request changes (:func:`find_targets`; a change to a repository-wide input,
  :data:`REPO_WIDE`, plans every system; excluded files are no systems); writes
  ``DIR/targets.json``, what else the comment must say (``DIR/notices.json``: the repository-wide
  inputs changed, system files sharing a ``metadata.name`` and an environment,
  :func:`find_clashes`, whose environments are not planned; systems and environments of the base
  commit the pull request removes, :func:`find_removed`) and ``count=<n>`` to ``$GITHUB_OUTPUT``
  (targets plus notices: with either, the comment is written and ``check`` runs).
- ``plan``: runs ``mlops-infra plan --format markdown --detailed-exitcode --env ENV ... -- FILE`` for
  each target (exit 0 or 2 with a plan printed is a success: 2 is also click's usage error),
  against that system's own state (:func:`state_args`), saving the JSON plan with ``--out`` as
  ``DIR/<n>-<system>-<env>.json``; writes ``DIR/results.json``. A plan cut to its share of the
  comment is rendered again, once, at its share of the job summary (:func:`run_plans`). The plan's
  note "Saved the plan to DIR/..." names a runner's temporary directory, gone with the runner: in the
  comment it says where the JSON plan is, the ``mlops-infra-plans`` artifact and its file name.
- ``comment --run-url URL --sha SHA``: the sticky comment's body (``DIR/comment.md``, at most
  65,536 characters) and the job summary (appended to ``$GITHUB_STEP_SUMMARY``, at most 1 MiB)
  (:func:`comment_body`, :func:`summary_content`). With no target, the body says the pull request no
  longer changes a system, which replaces an earlier comment's plans. Targets ``targets.json`` lists
  without a result (the plan step died: ``plan`` writes ``results.json`` after each target) are
  listed as not planned (:func:`unplanned_section`), and ``check`` fails. The comment says the job
  summary holds a plan (or a fuller copy of a cut one) only when the summary written holds it.
- ``check``: exits 1 when a plan failed, system files share a name or a kept file's ``metadata.name``
  changed (:attr:`Removed.renamed_to`) while a stack directory in the pull request still names the
  old project (:attr:`Removed.stale_stacks`), with one ``::error::`` line each; a rename whose stack
  directories are made again (or not in the repository) is a ``::warning::``, as a move is.

The steps' parts, each a module named after what it owns, in the order the data flows (each imports
only modules before it): :mod:`~mlops_infra.cli.pr_workflow.limits` (the comment's and the summary's
sizes), :mod:`~mlops_infra.cli.pr_workflow.targets` (which systems a change touches),
:mod:`~mlops_infra.cli.pr_workflow.clashes` and :mod:`~mlops_infra.cli.pr_workflow.removals` (what else
``targets`` finds), :mod:`~mlops_infra.cli.pr_workflow.notices` (how the comment says it),
:mod:`~mlops_infra.cli.pr_workflow.plan_errors` and :mod:`~mlops_infra.cli.pr_workflow.section` (a
target's section), :mod:`~mlops_infra.cli.pr_workflow.plans` (the ``plan`` step),
:mod:`~mlops_infra.cli.pr_workflow.comment` (the comment and the job summary),
:mod:`~mlops_infra.cli.pr_workflow.steps` (the command line); this package names them all and
:func:`run` is the entry (``__main__.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys

from mlops_infra.cli.pr_workflow.clashes import NameClash, find_clashes, unclashed
from mlops_infra.cli.pr_workflow.comment import (
    MARKER,
    UNPLANNED_SHOWN,
    SummaryContent,
    comment_body,
    summary,
    summary_content,
    unplanned_section,
)
from mlops_infra.cli.pr_workflow.limits import (
    COMMENT_FRAME,
    COMMENT_LIMIT,
    RUN_URL_ROOM,
    SUMMARY_LIMIT,
    SUMMARY_RESERVE,
)
from mlops_infra.cli.pr_workflow.notices import NOTICES, notice_sections, notices_text, removed_section
from mlops_infra.cli.pr_workflow.plan_errors import ERROR_LIMIT, FINAL_ERROR_LIMIT, error_excerpt, final_error
from mlops_infra.cli.pr_workflow.plans import (
    MIN_ERROR,
    MIN_PLAN_CHARS,
    PLAN_MARKER,
    SLUG_CHARS,
    run_plans,
    slug,
    state_args,
)
from mlops_infra.cli.pr_workflow.removals import (
    Removed,
    base_facts,
    find_removed,
    with_local_state,
    with_stale_stacks,
)
from mlops_infra.cli.pr_workflow.section import ARTIFACT, CUT_MARK, plan_failed, section
from mlops_infra.cli.pr_workflow.steps import PROG, main
from mlops_infra.cli.pr_workflow.targets import (
    REPO_WIDE,
    SNIFF_BYTES,
    SYSTEM_FILE,
    PlanTarget,
    SystemFacts,
    environments,
    file_facts,
    find_targets,
    git_lines,
    is_system_file,
    read_facts,
    repo_wide_changes,
    system_files,
)

__all__ = [
    "ARTIFACT", "COMMENT_FRAME", "COMMENT_LIMIT", "CUT_MARK", "ERROR_LIMIT", "FINAL_ERROR_LIMIT", "MARKER",
    "MIN_ERROR", "MIN_PLAN_CHARS", "NOTICES", "PLAN_MARKER", "PROG", "REPO_WIDE", "RUN_URL_ROOM", "SLUG_CHARS",
    "SNIFF_BYTES", "SUMMARY_LIMIT", "SUMMARY_RESERVE", "SYSTEM_FILE", "UNPLANNED_SHOWN", "NameClash", "PlanTarget",
    "Removed", "SummaryContent", "SystemFacts", "base_facts", "comment_body", "environments", "error_excerpt",
    "file_facts", "final_error", "find_clashes", "find_removed", "find_targets", "git_lines", "is_system_file",
    "main", "notice_sections", "notices_text", "plan_failed", "read_facts", "removed_section", "repo_wide_changes",
    "run", "run_plans", "section", "slug", "state_args", "summary", "summary_content", "system_files", "unclashed",
    "unplanned_section", "with_local_state", "with_stale_stacks",
]


def run(argv: list[str] | None = None) -> int:
    """:func:`main` as the workflow runs it: a program it needs that fails or is missing (``git`` with a
    ``--base`` this checkout does not have: a shallow clone, a wrong SHA; ``mlops-infra`` not installed) is one
    line naming the command, its error and the fix, exit 1, no traceback (``MLOPS_INFRA_DEBUG=1`` shows it)."""
    from mlops_infra.cli.main import debug_enabled

    try:
        return main(argv)
    except subprocess.CalledProcessError as err:
        if debug_enabled():
            raise
        command = " ".join(str(part) for part in err.cmd)
        said = (err.stderr or "").strip().splitlines() if isinstance(err.stderr, str) else []
        fix = (" Check that --base names a commit this checkout has (actions/checkout with fetch-depth: 0)."
               if err.cmd and err.cmd[0] == "git" else "")
        print(f"{PROG}: `{command}` failed (exit {err.returncode})" + (f": {said[-1]}" if said else "") + "." + fix,
              file=sys.stderr)
    except FileNotFoundError as err:
        if debug_enabled():
            raise
        if err.filename and os.sep not in str(err.filename):  # a program run by name
            print(f"{PROG}: `{err.filename}` is not installed or not on PATH: install it first (the workflow's "
                  f"install step: mlops-infra and git).", file=sys.stderr)
        else:
            print(f"{PROG}: {err.filename}: no such file or directory.", file=sys.stderr)
    return 1
