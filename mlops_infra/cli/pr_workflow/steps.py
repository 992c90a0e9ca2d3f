"""The workflow's four steps on the command line (:func:`main`): ``targets``, ``plan``, ``comment`` and
``check``, each reading and writing its files in ``--dir`` (the package docstring,
:mod:`mlops_infra.cli.pr_workflow`, says what each does)."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from mlops_infra.cli.pr_workflow.clashes import find_clashes, unclashed
from mlops_infra.cli.pr_workflow.comment import comment_body, summary_content, unplanned_section
from mlops_infra.cli.pr_workflow.notices import NOTICES, notice_sections
from mlops_infra.cli.pr_workflow.plans import run_plans
from mlops_infra.cli.pr_workflow.removals import base_facts, find_removed, with_local_state, with_stale_stacks
from mlops_infra.cli.pr_workflow.section import plan_failed
from mlops_infra.cli.pr_workflow.targets import (
    REPO_WIDE,
    PlanTarget,
    file_facts,
    find_targets,
    git_lines,
    repo_wide_changes,
    system_files,
)

PROG = "python -m mlops_infra.cli.pr_workflow"


def main(argv: list[str] | None = None) -> int:
    """Run the step ``argv`` names (the package docstring, :mod:`mlops_infra.cli.pr_workflow`); its exit status."""
    parser = argparse.ArgumentParser(prog=PROG)
    parser.add_argument("step", choices=["targets", "plan", "comment", "check"])
    parser.add_argument("--dir", required=True, type=Path, help="where the step's files go")
    parser.add_argument("--base", help="targets: the pull request's base commit")
    parser.add_argument("--run-url", default="")
    parser.add_argument("--sha", default="")
    parser.add_argument("--repo-wide", action="append", metavar="GLOB",
                        help=f"targets: a path whose change plans every system (default: {', '.join(REPO_WIDE)})")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="targets: files that are not systems (test fixtures, copies of examples)")
    args = parser.parse_args(argv)
    root = Path.cwd()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.step == "targets":
        return _targets_step(root, args)
    if args.step == "plan":
        targets = [PlanTarget(**t) for t in _targets(args.dir)]

        def done(results: list[dict]) -> None:
            (args.dir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")

        done(run_plans(root, targets, args.dir, done=done))
        return 0
    results = _results(args.dir)
    unplanned = [PlanTarget(**t) for t in _targets(args.dir)[len(results):]]
    notices = _notices(args.dir)
    if args.step == "comment":
        lead = unplanned_section(unplanned, args.run_url) + "".join(notice_sections(notices))
        shown = summary_content(results, args.run_url, lead=lead) if os.environ.get("GITHUB_STEP_SUMMARY") else None
        (args.dir / "comment.md").write_text(comment_body(results, args.run_url, args.sha, shown=shown,
                                                          notices=notices, unplanned=unplanned),
                                             encoding="utf-8")
        if shown is not None:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
                out.write(shown.text)
        return 0
    failed = [r for r in results if plan_failed(r)]
    for r in failed:
        print(f"::error::mlops-infra plan {r['file']} --env {r['env']} failed (exit {r['exit']})")
    for t in unplanned:
        print(f"::error::mlops-infra plan {t.file} --env {t.env} was not run: the plan step did not finish")
    clashes = notices.get("clashes", [])
    for clash in clashes:
        print(f"::error::{' and '.join(f for f, _ in clash['files'])} share metadata.name {clash['name']} "
              f"and environment(s) {', '.join(clash['envs'])}: one Pulumi stack, the same AWS names")
    renamed = [r for r in notices.get("removed", []) if r.get("renamed_to") and r.get("stale_stacks")]
    for r in renamed:  # closing-42a-2, closing-42b-3: apply refuses until the stack directories are made again
        print(f"::error::{r['file']}: metadata.name {r['name']} renamed to {r['renamed_to']}: its stacks "
              f"{r['name']}/<env> are another Pulumi project; apply refuses until the stack directories "
              f"({', '.join(r['stale_stacks'])}) are made again (mlops-infra init --force), and the old stacks' "
              f"resources are not destroyed")
    for removed in notices.get("removed", []):
        if removed.get("renamed_to"):
            if not removed.get("stale_stacks"):
                print(f"::warning::{removed['file']}: metadata.name {removed['name']} renamed to "
                      f"{removed['renamed_to']} ({', '.join(removed['envs']) or 'environments unknown'}): its old "
                      f"stacks are not destroyed")
            continue
        print(f"::warning::{removed['file']}: {'deleted' if removed['file_deleted'] else 'environment(s) removed'}"
              f" ({', '.join(removed['envs']) or 'environments unknown'}): its deployed stacks are not destroyed")
    return 1 if failed or clashes or unplanned or renamed else 0


def _targets_step(root: Path, args: argparse.Namespace) -> int:
    """``targets``: ``DIR/targets.json``, ``DIR/notices.json`` and ``count`` (the module docstring)."""
    changed = git_lines("diff", "--name-only", "-z", f"{args.base}...HEAD", cwd=root)
    tracked = git_lines("ls-files", "-z", cwd=root)
    kept = [name for name in tracked if not any(fnmatch.fnmatchcase(name, glob) for glob in args.exclude)]
    systems = system_files(root, kept)
    facts = {system: file_facts(root, system) for system in systems if (root / system).is_file()}
    repo_wide = tuple(args.repo_wide or REPO_WIDE)
    targets = find_targets(changed, systems, root, repo_wide, facts)
    clashes = find_clashes(facts, {t.file for t in targets})
    targets = unclashed(targets, clashes)
    base, base_files = base_facts(root, args.base, changed, set(tracked))
    removed = find_removed({f: fact for f, fact in base.items()
                            if not any(fnmatch.fnmatchcase(f, glob) for glob in args.exclude)}, facts, base_files)
    removed = with_stale_stacks(with_local_state(removed, base_files), root)
    notices = {"repo_wide": repo_wide_changes(changed, repo_wide), "clashes": [asdict(c) for c in clashes],
               "removed": [asdict(r) for r in removed]}
    (args.dir / "targets.json").write_text(json.dumps([asdict(t) for t in targets], indent=2), encoding="utf-8")
    (args.dir / NOTICES).write_text(json.dumps(notices, indent=2), encoding="utf-8")
    print(json.dumps([asdict(t) for t in targets], indent=2))
    sections = notice_sections(notices)
    for text in sections:
        print(text, file=sys.stderr)
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"count={len(targets) + len(sections)}\n")
    return 0


def _results(directory: Path) -> list[dict]:
    path = directory / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _targets(directory: Path) -> list[dict]:
    path = directory / "targets.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _notices(directory: Path) -> dict:
    path = directory / NOTICES
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
