"""The pull-request workflow in a repository of many systems (audit monorepo, stop 42): two system
files with one ``metadata.name`` (monorepo-2), a Plan step that died (monorepo-4), a failed plan's
error (monorepo-6), a system or environment the pull request deletes (monorepo-1).

One git repository serves the module: its ``main`` holds two systems; each pull request is a branch
checked out in a worktree of its own, and the steps run in-process (``main([...])``)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from mlops_infra.cli import pr_workflow
from tests.cli.test_pr_workflow import CONSOLE_SCRIPT, QUICKSTART

SHA = "f" * 40
RUN = "https://ci/run/1"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def quickstart(name: str = "churn-quickstart") -> str:
    return QUICKSTART.read_text(encoding="utf-8").replace("name: churn-quickstart", f"name: {name}", 1)


def stack_dirs(name: str, directory: str = "teams/churn") -> dict[str, str]:
    """The stack directories ``mlops-infra init`` makes beside ``directory``'s system file, projects named ``name``."""
    from mlops_infra.stacks import scaffold_files

    where = Path("/r") / directory
    files = scaffold_files(name, ["dev", "prod"], where / "mlsystem.yaml", where)
    return {f"{directory}/{file}": text for file, text in files.items()
            if file.startswith("stacks/") and file.endswith(".yaml")}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``main``: teams/churn (churn-quickstart: dev, prod) and teams/old (old-system: dev, prod);
    one worktree per pull request (branch), keyed by its name."""
    root = tmp_path_factory.mktemp("monorepo") / "repo"
    for directory, text in (("teams/churn", quickstart()), ("teams/old", quickstart("old-system"))):
        (root / directory).mkdir(parents=True)
        (root / directory / "mlsystem.yaml").write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    changes = {
        # a new system file copied from teams/churn, its metadata.name kept (monorepo-2)
        "clash": {"teams/churn-copy/mlsystem.yaml": quickstart()},
        # teams/old deleted, prod cut from teams/churn (monorepo-1)
        "removed": {"teams/old/mlsystem.yaml": None,
                    "teams/churn/mlsystem.yaml": quickstart().split("  prod:\n")[0]},
        # teams/old moved: its stacks old-system/<env> keep their system
        "moved": {"teams/old/mlsystem.yaml": None, "teams/older/mlsystem.yaml": quickstart("old-system")},
        # a root requirements.txt pinning the mlops-infra every plan runs (monorepo-3)
        "pins": {"requirements.txt": "mlops-infra[pulumi]==0.2.0\n"},
        # teams/churn's stack directories as `mlops-infra init` made them, committed
        "stacks-base": stack_dirs("churn-quickstart"),
        # ... and then teams/churn's metadata.name changed in place (closing-42a-2; branched from stacks-base)
        "rename": {"teams/churn/mlsystem.yaml": quickstart("churn-renamed")},
        # ... the same rename with the stack directories made again, `init --force` (closing-42b-3)
        "rename-init": {"teams/churn/mlsystem.yaml": quickstart("churn-renamed"), **stack_dirs("churn-renamed")},
        # ... the same rename in a repository that commits no stack directory (branched from main)
        "rename-bare": {"teams/churn/mlsystem.yaml": quickstart("churn-renamed")},
        # system files not named *mlsystem.yaml saved with CRLF line ends / a UTF-8 BOM (closing-42b-4)
        "crlf-bom": {"teams/rank/ranker.yaml": quickstart("ranker-crlf").replace("\n", "\r\n"),
                     "teams/bom/scorer.yml": "\ufeff" + quickstart("scorer-bom")},
        # teams/old's dev state committed in its stack directory, as apply leaves it with no login (closing-42a-3)
        "state-base": {"teams/old/stacks/dev/.pulumi/stacks/old-system/dev.json": "{}\n"},
        # ... and then teams/old deleted (branched from state-base)
        "state-pr": {"teams/old/mlsystem.yaml": None},
    }
    parents = {"state-pr": "state-base", "rename": "stacks-base", "rename-init": "stacks-base"}
    trees = {}
    for branch, files in changes.items():
        tree = root.parent / branch
        git(root, "worktree", "add", "-q", "-b", branch, str(tree), parents.get(branch, "main"))
        for name, text in files.items():
            path = tree / name
            if text is None:
                git(tree, "rm", "-q", name)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            git(tree, "add", name)
        git(tree, "commit", "-qm", branch)
        trees[branch] = tree
    return trees


def run_step(tree: Path, out: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(tree)
    return pr_workflow.main([args[0], "--dir", str(out), *args[1:]])


def targets_step(tree: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> tuple[list[dict], str]:
    output = out.parent / f"{out.name}-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert run_step(tree, out, "targets", "--base", "main", *options, monkeypatch=monkeypatch) == 0
    return json.loads((out / "targets.json").read_text()), output.read_text()


# -- monorepo-2: one metadata.name in two system files --------------------------------------------------


def test_two_system_files_with_one_name_are_an_error_naming_both(repo, tmp_path: Path, monkeypatch):
    out = tmp_path / "plans"
    targets, output = targets_step(repo["clash"], out, monkeypatch)
    assert targets == [], "a plan of either would read the one stack both are"
    assert output == "count=1\n", "the comment and the check still run"
    assert run_step(repo["clash"], out, "plan", monkeypatch=monkeypatch) == 0
    assert run_step(repo["clash"], out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "**Error: system files share `metadata.name`** `churn-quickstart`" in body
    assert "`teams/churn-copy/mlsystem.yaml:8`, `teams/churn/mlsystem.yaml:8`" in body
    assert "environment(s) `dev`, `prod`" in body and "ONE Pulumi stack `churn-quickstart/<env>`" in body
    assert "no longer changes" not in body
    assert run_step(repo["clash"], out, "check", monkeypatch=monkeypatch) == 1


def test_a_shared_name_without_a_shared_environment_or_untouched_is_no_clash():
    facts = {"a/mlsystem.yaml": pr_workflow.SystemFacts("x", 3, ("dev",)),
             "b/mlsystem.yaml": pr_workflow.SystemFacts("x", 3, ("prod",)),
             "c/mlsystem.yaml": pr_workflow.SystemFacts("y", 3, ("dev", "prod")),
             "d/mlsystem.yaml": pr_workflow.SystemFacts("y", 5, ("prod",))}
    assert pr_workflow.find_clashes(facts, {"a/mlsystem.yaml", "b/mlsystem.yaml"}) == []
    assert pr_workflow.find_clashes(facts, {"a/mlsystem.yaml"}) == []  # y clashes, but this PR touches neither
    assert pr_workflow.find_clashes(facts, {"d/mlsystem.yaml"}) == [
        pr_workflow.NameClash("y", ("prod",), (("c/mlsystem.yaml", 3), ("d/mlsystem.yaml", 5)))]


# -- monorepo-4: a Plan step that died; a long system path -------------------------------------------------


def write_targets(out: Path, targets: list[tuple[str, str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "targets.json").write_text(json.dumps([{"file": f, "env": e} for f, e in targets]))


def test_a_plan_step_that_died_is_said_never_no_longer_changes(tmp_path: Path, monkeypatch):
    out = tmp_path / "plans"
    write_targets(out, [("teams/new/mlsystem.yaml", "dev"), ("teams/new/mlsystem.yaml", "prod")])
    summary_path = tmp_path / "summary"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_path))
    assert run_step(tmp_path, out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "no longer changes" not in body
    assert f"**The plan step did not finish:** 2 plan(s) were not made; the [workflow log]({RUN}) says why." in body
    assert "- `teams/new/mlsystem.yaml` · `dev`\n- `teams/new/mlsystem.yaml` · `prod`\n" in body
    assert "The plan step did not finish" in summary_path.read_text()
    assert "No ML system is changed" not in summary_path.read_text()
    assert run_step(tmp_path, out, "check", monkeypatch=monkeypatch) == 1


def test_the_plans_made_before_the_step_died_are_shown_with_the_rest_listed(tmp_path: Path, monkeypatch):
    out = tmp_path / "plans"
    write_targets(out, [("teams/a/mlsystem.yaml", "dev"), ("teams/b/mlsystem.yaml", "dev")])
    (out / "000.md").write_text("<!-- mlops-infra-plan: a/dev -->\nthe plan of a\n")
    (out / "results.json").write_text(json.dumps([{"file": "teams/a/mlsystem.yaml", "env": "dev", "exit": 2,
                                                   "markdown": str(out / "000.md"), "json": None, "errors": ""}]))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert run_step(tmp_path, out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "the plan of a" in body and "1 plan(s) were not made" in body
    assert "- `teams/b/mlsystem.yaml` · `dev`\n" in body and "`teams/a/mlsystem.yaml` · `dev`\n" not in body


def test_a_long_system_path_is_planned_under_a_short_file_name(tmp_path: Path):
    """The slug is cut and hashed: ``<n>-<slug>.summary.md`` stays far under NAME_MAX (255 bytes)."""
    root = tmp_path / "repo"
    parts = [f"part-{i}-" + "x" * 38 for i in range(6)]  # a 275-character directory: over NAME_MAX as one name
    file = "/".join(parts) + "/mlsystem.yaml"
    (root / file).parent.mkdir(parents=True)
    (root / file).write_text("kind: MLSystem\n")
    stub = tmp_path / "mlops-infra"
    stub.write_text("#!/bin/sh\nprintf '<!-- mlops-infra-plan: long/dev -->\\nthe plan\\n'\nexit 2\n")
    stub.chmod(0o755)
    targets = [pr_workflow.PlanTarget(file, "dev"), pr_workflow.PlanTarget(file, "prod")]
    results = pr_workflow.run_plans(root, targets, tmp_path, str(stub))
    assert [r["exit"] for r in results] == [2, 2]
    names = [Path(r["markdown"]).name for r in results]
    assert all(len(name.encode()) <= 100 for name in names), names
    assert names[0] != names[1] and names[0].startswith("000-part-0-")
    assert pr_workflow.slug(pr_workflow.PlanTarget("systems/fraud/mlsystem.yaml", "staging")) == "systems_fraud-staging"


# -- monorepo-6: the error that failed a plan is in its section -------------------------------------------


def warning(line: int) -> str:
    """A warning as ``mlops-infra`` prints it: its line, its indented fix (700 characters), the quoted source."""
    return (f"f.yaml:{line}:5: warning: Training job \"retrain\" uses 1 of the 4 GPUs\n"
            + "  Fix: " + "start it with torchrun " * 28 + "\n"
            + f"  {line:>3} |     command: [python, -m, fraud.train]\n            ^\n")


ERROR = ('f.yaml:137:19: error: Unknown environment "stagin" in promote_from\n'
         '  Environment "prod" promotes from "stagin", which is not defined. Did you mean "staging"?\n'
         '  137 |     promote_from: stagin\n                      ^\n')


def test_the_error_is_kept_before_the_warnings_that_precede_it():
    stderr = "Spec: x\n" + "".join(warning(40 + i) for i in range(5)) + ERROR + "1 error, 5 warnings\n" \
             "stacks/prod/Pulumi.prod.yaml: error: cannot read the Pulumi file\n"
    text = pr_workflow.error_excerpt(stderr)
    assert len(text) <= pr_workflow.ERROR_LIMIT and text.endswith("\n... (cut; see the log)")
    assert 'f.yaml:137:19: error: Unknown environment "stagin" in promote_from\n' \
           '  Environment "prod" promotes from "stagin"' in text
    assert "1 error, 5 warnings\nstacks/prod/Pulumi.prod.yaml: error: cannot read the Pulumi file" in text
    assert text.startswith("f.yaml:40:5: warning:"), "warnings while room remains, in their order"
    assert "promote_from: stagin" not in text, "no quoted source line"


def test_a_failed_plan_keeps_all_of_its_error_its_share_holds(tmp_path: Path):
    """Over 3,000 characters of warnings before the error: one target's share holds all of them."""
    stderr = "".join(warning(40 + i) for i in range(5)) + ERROR + "1 error, 5 warnings\n"
    (tmp_path / "stderr.txt").write_text(stderr)
    stub = tmp_path / "mlops-infra"
    stub.write_text(f"#!/bin/sh\ncat '{tmp_path / 'stderr.txt'}' >&2\nexit 1\n")
    stub.chmod(0o755)
    root = tmp_path / "repo"
    (root / "teams" / "fraud").mkdir(parents=True)
    [result] = pr_workflow.run_plans(root, [pr_workflow.PlanTarget("teams/fraud/mlsystem.yaml", "prod")],
                                     tmp_path, str(stub))
    assert result["exit"] == 1
    assert result["errors"] == pr_workflow.error_excerpt(stderr, 10**6) and len(result["errors"]) > 3000
    assert "error: Unknown environment" in pr_workflow.comment_body([result], RUN, SHA)


# -- monorepo-1: a system file or an environment the pull request deletes ---------------------------------


def test_a_deleted_system_and_a_removed_environment_are_said_with_how_to_destroy_them(repo, tmp_path, monkeypatch):
    out = tmp_path / "plans"
    targets, output = targets_step(repo["removed"], out, monkeypatch)
    assert targets == [{"file": "teams/churn/mlsystem.yaml", "env": "dev"}]
    assert output == "count=3\n"
    assert json.loads((out / "notices.json").read_text())["removed"] == [
        {"file": "teams/churn/mlsystem.yaml", "name": "churn-quickstart", "envs": ["prod"], "file_deleted": False,
         "renamed_to": None, "local_state": [], "stale_stacks": []},
        {"file": "teams/old/mlsystem.yaml", "name": "old-system", "envs": ["dev", "prod"], "file_deleted": True,
         "renamed_to": None, "local_state": [], "stale_stacks": []}]
    (out / "000.md").write_text("<!-- mlops-infra-plan: churn-quickstart/dev -->\nthe plan of dev\n")
    (out / "results.json").write_text(json.dumps([{**targets[0], "exit": 0, "markdown": str(out / "000.md"),
                                                   "json": None, "errors": ""}]))
    assert run_step(repo["removed"], out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "**System removed:** `teams/old/mlsystem.yaml` (`old-system`), environment(s) `dev`, `prod`. " \
           "This pull request deletes its file, not its resources" in body
    assert "`cd teams/old/stacks/dev && pulumi destroy --stack dev`; " \
           "`cd teams/old/stacks/prod && pulumi destroy --stack prod`" in body
    assert "**Environment removed:** `prod` of `teams/churn/mlsystem.yaml` (`churn-quickstart`). " in body
    assert "`cd teams/churn/stacks/prod && pulumi destroy --stack prod`" in body
    assert "the plan of dev" in body and "no longer changes" not in body
    assert run_step(repo["removed"], out, "check", monkeypatch=monkeypatch) == 0, "a warning: it may be destroyed"


def test_a_stack_whose_state_is_in_its_stack_directory_is_destroyed_there(repo, tmp_path, monkeypatch):
    """closing-42a-3: with no ``pulumi login`` mlops-infra keeps the stack in the stack directory's ``.pulumi/``,
    which a bare ``pulumi destroy`` there does not read (pulumi/pulumi ``pkg/cmd/pulumi/backend/backend.go``
    ``CurrentBackend``: no URL, the Pulumi Cloud login); the command names that backend and the passphrase."""
    out = tmp_path / "plans"
    assert run_step(repo["state-pr"], out, "targets", "--base", "state-base", monkeypatch=monkeypatch) == 0
    [removed] = json.loads((out / "notices.json").read_text())["removed"]
    assert removed["local_state"] == ["dev"] and removed["envs"] == ["dev", "prod"]
    text = pr_workflow.removed_section(removed)
    assert "`cd teams/old/stacks/dev && PULUMI_BACKEND_URL=file://$PWD pulumi destroy --stack dev` (their state " \
           "is in the stack directory's `.pulumi/`: with the `PULUMI_CONFIG_PASSPHRASE`" in text
    assert "`cd teams/old/stacks/dev && pulumi destroy --stack dev`" not in text
    # prod's state is not in the commit: both forms, each saying which backend it is for
    assert "`cd teams/old/stacks/prod && PULUMI_BACKEND_URL=file://$PWD pulumi destroy --stack prod` if apply ran " \
           "with no `pulumi login`" in text
    assert "else `cd teams/old/stacks/prod && pulumi destroy --stack prod`, which runs against the current " \
           "`pulumi login`" in text


def test_a_renamed_system_is_an_error_not_an_environment_removed(repo, tmp_path, monkeypatch):
    """closing-42a-2: a kept file whose ``metadata.name`` changed keeps its environments, but its stacks are
    ``<old name>/<env>`` of another Pulumi project, its stack directories' ``Pulumi.yaml`` name the old project
    (``apply/engine.py`` ``check_stack_dir`` refuses) and every physical name changes."""
    out = tmp_path / "plans"
    targets, output = targets_step(repo["rename"], out, monkeypatch)
    assert targets == [{"file": "teams/churn/mlsystem.yaml", "env": "dev"},
                       {"file": "teams/churn/mlsystem.yaml", "env": "prod"}]
    assert output == "count=3\n"
    [removed] = json.loads((out / "notices.json").read_text())["removed"]
    assert (removed["name"], removed["renamed_to"], removed["envs"]) == ("churn-quickstart", "churn-renamed",
                                                                         ["dev", "prod"])
    assert removed["stale_stacks"] == ["dev", "prod"], "stacks/<env>/Pulumi.yaml still name churn-quickstart"
    (out / "results.json").write_text(json.dumps([{**t, "exit": 2, "markdown": str(out / "p.md"), "json": None,
                                                   "errors": ""} for t in targets]))
    (out / "p.md").write_text("<!-- mlops-infra-plan: churn-renamed -->\nthe plan\n")
    assert run_step(repo["rename"], out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "**Error: system renamed** `churn-quickstart` -> `churn-renamed` in `teams/churn/mlsystem.yaml`" in body
    assert "Environment removed" not in body and "mlops-infra init --force" in body
    assert "`teams/churn/stacks/dev/Pulumi.yaml`, `teams/churn/stacks/prod/Pulumi.yaml` still name " \
           "`churn-quickstart`" in body
    assert "`cd teams/churn/stacks/dev && PULUMI_BACKEND_URL=file://$PWD pulumi destroy --stack dev`" in body
    assert run_step(repo["rename"], out, "check", monkeypatch=monkeypatch) == 1
    assert pr_workflow.find_removed({"a/mlsystem.yaml": pr_workflow.SystemFacts("x", 8, ("dev",))},
                                    {"a/mlsystem.yaml": pr_workflow.SystemFacts("x", 8, ("dev",))},
                                    {"a/mlsystem.yaml"}) == []  # the name kept: nothing renamed


@pytest.mark.parametrize("branch", ["rename-init", "rename-bare"])
def test_a_rename_whose_stack_dirs_are_made_again_is_a_warning_like_a_move(repo, tmp_path, monkeypatch, capsys,
                                                                           branch):
    """closing-42b-3: the rename error's own fix (`mlops-infra init --force` in the pull request, which makes
    stacks/<env>/Pulumi.yaml name the new project) clears it; where apply would not refuse (stack directories made
    again, or none committed) the rename is a warning, as the same rename by a move (a deleted file) is. The old
    stacks are still said, with how to destroy them."""
    out = tmp_path / "plans"
    targets, output = targets_step(repo[branch], out, monkeypatch)
    assert targets == [{"file": "teams/churn/mlsystem.yaml", "env": "dev"},
                       {"file": "teams/churn/mlsystem.yaml", "env": "prod"}]
    assert output == "count=3\n"
    [removed] = json.loads((out / "notices.json").read_text())["removed"]
    assert (removed["renamed_to"], removed["envs"], removed["stale_stacks"]) == ("churn-renamed", ["dev", "prod"], [])
    (out / "results.json").write_text(json.dumps([{**t, "exit": 2, "markdown": str(out / "p.md"), "json": None,
                                                   "errors": ""} for t in targets]))
    (out / "p.md").write_text("<!-- mlops-infra-plan: churn-renamed -->\nthe plan\n")
    assert run_step(repo[branch], out, "comment", "--run-url", RUN, "--sha", SHA, monkeypatch=monkeypatch) == 0
    body = (out / "comment.md").read_text()
    assert "**Warning: system renamed** `churn-quickstart` -> `churn-renamed` in `teams/churn/mlsystem.yaml`" in body
    assert "**Error: system renamed**" not in body and "apply` refuses" not in body
    assert "`cd teams/churn/stacks/dev && PULUMI_BACKEND_URL=file://$PWD pulumi destroy --stack dev`" in body
    capsys.readouterr()
    assert run_step(repo[branch], out, "check", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out.splitlines() == [
        "::warning::teams/churn/mlsystem.yaml: metadata.name churn-quickstart renamed to churn-renamed (dev, prod): "
        "its old stacks are not destroyed"]


def test_a_system_file_with_crlf_line_ends_or_a_bom_is_planned(repo, tmp_path, monkeypatch):
    """closing-42b-4: the loader reads a system file with CRLF line breaks or a UTF-8 byte order mark (YAML 1.2
    sections 5.2, 5.4), so kind detection does too: a pull request adding one plans it."""
    text = quickstart().encode()
    for head in (text.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + text, b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n")):
        assert pr_workflow.is_system_file("teams/ranker.yaml", head)
    assert not pr_workflow.is_system_file("teams/ranker.yaml", text.replace(b"kind: MLSystem", b"kind: MLSystems"))
    targets, _ = targets_step(repo["crlf-bom"], tmp_path / "plans", monkeypatch)
    assert targets == [{"file": "teams/bom/scorer.yml", "env": "dev"}, {"file": "teams/bom/scorer.yml", "env": "prod"},
                       {"file": "teams/rank/ranker.yaml", "env": "dev"},
                       {"file": "teams/rank/ranker.yaml", "env": "prod"}]


def test_a_moved_system_keeps_its_stacks_and_is_planned_where_it_is(repo, tmp_path, monkeypatch):
    out = tmp_path / "plans"
    targets, output = targets_step(repo["moved"], out, monkeypatch)
    assert targets == [{"file": "teams/older/mlsystem.yaml", "env": "dev"},
                       {"file": "teams/older/mlsystem.yaml", "env": "prod"}]
    assert json.loads((out / "notices.json").read_text()) == {"repo_wide": [], "clashes": [], "removed": []}
    assert output == "count=2\n"


def test_an_only_deletion_is_never_no_longer_changes():
    notices = {"removed": [{"file": "a/mlsystem.yaml", "name": "a", "envs": ["dev"], "file_deleted": True}]}
    body = pr_workflow.comment_body([], RUN, SHA, notices=notices)
    assert "**System removed:** `a/mlsystem.yaml` (`a`)" in body and "no longer changes" not in body


def test_a_deleted_copy_is_removed_and_a_move_covers_only_the_file_it_moves():
    """The audit's pr1 (teams/churn-copy, named like teams/churn, deleted) and pr3 (teams/churn-copy
    moved to teams/churn-renamed, prod cut from teams/churn)."""
    facts = pr_workflow.SystemFacts
    both = ("dev", "prod")
    base = {"teams/churn/mlsystem.yaml": facts("churn-quickstart", 8, both),
            "teams/churn-copy/mlsystem.yaml": facts("churn-quickstart", 8, both)}
    head = {"teams/churn/mlsystem.yaml": facts("churn-quickstart", 8, both)}
    assert pr_workflow.find_removed(base, head, set(base)) == [
        pr_workflow.Removed("teams/churn-copy/mlsystem.yaml", "churn-quickstart", both, True)]
    head = {"teams/churn/mlsystem.yaml": facts("churn-quickstart", 8, ("dev",)),
            "teams/churn-renamed/mlsystem.yaml": facts("churn-quickstart", 8, both)}
    assert pr_workflow.find_removed(base, head, set(base)) == [
        pr_workflow.Removed("teams/churn/mlsystem.yaml", "churn-quickstart", ("prod",), False)]
    unreadable = {"teams/churn/mlsystem.yaml": facts(None, 0, ("?",))}  # a broken edit removes nothing
    assert pr_workflow.find_removed({"teams/churn/mlsystem.yaml": base["teams/churn/mlsystem.yaml"]}, unreadable,
                                    set(base)) == []


# -- monorepo-8: which files are systems; several in one directory -----------------------------------------


def test_a_system_is_known_by_its_kind_and_a_directory_of_two_plans_both(tmp_path: Path):
    """The audit's pr11b/pr11c: teams/ranker/mlsystem.yml, and teams/churn/shadow-mlsystem.yaml beside
    teams/churn/mlsystem.yaml."""
    files = {"teams/ranker/mlsystem.yml": quickstart("ranker"), "teams/churn/mlsystem.yaml": quickstart(),
             "teams/churn/shadow-mlsystem.yaml": quickstart("churn-shadow"),
             "deploy/app.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
             "deploy/crd.yml": "apiVersion: example.com/v1\nkind: MLSystem\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    systems = pr_workflow.system_files(tmp_path, sorted(files))
    assert systems == ["teams/churn/mlsystem.yaml", "teams/churn/shadow-mlsystem.yaml", "teams/ranker/mlsystem.yml"]
    both = ("dev", "prod")
    assert pr_workflow.find_targets(["teams/ranker/mlsystem.yml"], systems, tmp_path) == [
        pr_workflow.PlanTarget("teams/ranker/mlsystem.yml", env) for env in both]
    assert pr_workflow.find_targets(["teams/churn/README.md"], systems, tmp_path) == [
        pr_workflow.PlanTarget(file, env) for file in systems[:2] for env in both]


# -- monorepo-5: exit 2 is changes only with a plan; a file named like an option ------------------------


def test_an_exit_2_without_a_plan_is_a_failed_plan(tmp_path: Path, monkeypatch):
    stub = tmp_path / "mlops-infra"
    stub.write_text("#!/bin/sh\necho 'Usage: mlops-infra plan [OPTIONS] [FILE]' >&2\n"
                    "echo 'Error: No such option: --bogus' >&2\nexit 2\n")
    stub.chmod(0o755)
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    out = tmp_path / "plans"
    out.mkdir()
    [result] = pr_workflow.run_plans(root, [pr_workflow.PlanTarget("a/mlsystem.yaml", "dev")], out, str(stub))
    assert "Error: No such option: --bogus" in result["errors"]
    assert result["exit"] == 2 and result["failed"] is True
    (out / "results.json").write_text(json.dumps([result]))
    assert "**The plan failed** (exit 2, no plan printed)" in pr_workflow.comment_body([result], RUN, SHA)
    assert run_step(tmp_path, out, "check", monkeypatch=monkeypatch) == 1


@pytest.mark.timeout(300)
def test_a_system_file_named_like_an_option_is_planned(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "ph"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    root = tmp_path / "repo"
    (root / "-ml").mkdir(parents=True)
    (root / "-ml" / "mlsystem.yaml").write_text(quickstart())
    [result] = pr_workflow.run_plans(root, [pr_workflow.PlanTarget("-ml/mlsystem.yaml", "dev")], tmp_path,
                                     str(CONSOLE_SCRIPT))
    assert Path(result["markdown"]).read_text().startswith("<!-- mlops-infra-plan: churn-quickstart/dev -->")
    assert (result["exit"], result["failed"]) == (2, False)


def test_many_notices_keep_the_comment_under_its_limit():
    removed = [{"file": f"teams/t{i}/mlsystem.yaml", "name": f"t{i}", "envs": ["dev", "prod"], "file_deleted": True}
               for i in range(200)]
    body = pr_workflow.comment_body([], RUN, SHA, notices={"removed": removed})
    assert len(body) <= pr_workflow.COMMENT_LIMIT and "`teams/t0/mlsystem.yaml`" in body
    assert re.search(r"\*\*\d+ more notice\(s\) did not fit in one comment:\*\* see the log", body)


# -- monorepo-3 (2): repository-wide inputs plan every system; files that are not systems ----------------


def test_a_root_requirements_change_plans_every_system_and_says_why(repo, tmp_path: Path, monkeypatch):
    out = tmp_path / "plans"
    targets, output = targets_step(repo["pins"], out, monkeypatch)
    assert [(t["file"], t["env"]) for t in targets] == [
        (f"teams/{name}/mlsystem.yaml", env) for name in ("churn", "old") for env in ("dev", "prod")]
    notices = json.loads((out / "notices.json").read_text())
    assert notices["repo_wide"] == ["requirements.txt"] and output == "count=5\n"
    body = pr_workflow.comment_body([], RUN, SHA, notices=notices)
    assert "**Every system is planned:** this pull request changes `requirements.txt`" in body
    assert "no longer changes" not in body
    assert targets_step(repo["pins"], tmp_path / "other", monkeypatch, "--repo-wide", "constraints.txt")[0] == []


def test_excluded_files_are_not_systems(repo, tmp_path: Path, monkeypatch):
    targets, output = targets_step(repo["clash"], tmp_path / "plans", monkeypatch, "--exclude", "teams/churn-copy/*")
    assert (targets, output) == ([], "count=0\n")
    assert json.loads((tmp_path / "plans" / "notices.json").read_text())["clashes"] == []
