"""What the pull-request comment and the job summary show of each plan (audit prcomment-2, -3, -4):
a cut plan's command carries the ``--state`` the plan used, the summary holds a fuller copy within
GitHub's 1 MiB, the section names the ``mlops-infra-plans`` artifact; a plan that fails a mandatory
guardrail keeps its plan in the comment and the log; the system file cannot break the marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mlops_infra.cli import pr_workflow
from mlops_infra.cli.pr_workflow import PlanTarget, comment_body, run_plans, section, summary, summary_content
from tests.cli.test_pr_workflow import BASE, CONSOLE_SCRIPT, REPO, step
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

GUARDED = REPO / "tests" / "scenarios" / "prod-endpoint-without-capture-fails-a-mandatory-guardrail" / "mlsystem.yaml"
RUN = "https://ci/run/1"


@pytest.fixture
def plan_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "ph"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)


def fraud_repo(root: Path) -> PlanTarget:
    """fraud-detection with a committed state of its staging stack, and a change to plan against it."""
    system = root / "systems" / "fraud"
    (system / "stacks" / "staging").mkdir(parents=True)
    (system / "stacks" / "staging" / "state.json").write_text(dumps(applied_state(compile_file(BASE, "staging"))))
    text = BASE.read_text(encoding="utf-8")
    assert "replicas: {min: 2, max: 10}" in text and "version: 12}" in text
    (system / "mlsystem.yaml").write_text(text.replace("replicas: {min: 2, max: 10}", "replicas: {min: 3, max: 12}")
                                          .replace("version: 12}", "version: 13}"))
    return PlanTarget("systems/fraud/mlsystem.yaml", "staging")


@pytest.mark.timeout(600)
def test_a_cut_plan_names_its_state_the_summary_and_the_artifact(tmp_path: Path, plan_env, monkeypatch, capsys):
    root = tmp_path / "repo"
    target = fraud_repo(root)
    monkeypatch.setattr(pr_workflow.plans, "COMMENT_LIMIT", 6000)  # a 2,000-character share: the plan is cut
    out = tmp_path / "plans"
    out.mkdir()
    [result] = run_plans(root, [target], out, str(CONSOLE_SCRIPT))
    assert result["exit"] == 2
    comment = comment_body([result], RUN, "f" * 40, shown=summary_content([result], RUN))
    # the command the cut note quotes plans against the same committed state
    assert "`mlops-infra plan systems/fraud/mlsystem.yaml --env staging --state " \
           "systems/fraud/stacks/staging/state.json --format text`" in comment
    assert "`mlops-infra-plans` artifact holds the JSON plan `000-systems_fraud-staging.json`" in comment
    assert f"> This plan was shortened: the [job summary]({RUN}) holds a fuller copy; " in comment
    # the summary holds the plan uncut, within its share of 1 MiB
    text = summary([result], RUN)
    assert len(text.encode("utf-8")) <= pr_workflow.SUMMARY_LIMIT
    comment_section, summary_section = section(result, RUN), section(result, RUN, fuller=True)
    assert len(summary_section) > len(comment_section)
    assert summary_section in text
    assert "to keep this comment under" not in summary_section
    assert "<details><summary><code>endpoints.scorer</code>" in summary_section
    assert Path(result["summary_markdown"]).read_text().startswith("<!-- mlops-infra-plan: fraud-detection/staging")
    assert sorted(p.name for p in out.glob("*.json")) == ["000-systems_fraud-staging.json"]  # one saved plan


def test_the_summary_never_passes_its_limit(tmp_path: Path):
    """Over the limit, the comment's copies are used, then whole sections are left out with a note."""
    results = []
    for index in range(3):
        short, full = tmp_path / f"{index}.md", tmp_path / f"{index}.summary.md"
        short.write_text("<!-- mlops-infra-plan: p/s -->\nshort é to keep this comment under 10\n")
        full.write_text("<!-- mlops-infra-plan: p/s -->\n" + "é" * 3000 + "\n")
        results.append({"file": "mlsystem.yaml", "env": f"e{index}", "exit": 2, "markdown": str(short),
                        "summary_markdown": str(full), "json": None, "errors": ""})
    roomy = summary(results, RUN, limit=100_000)
    assert roomy.count("é" * 3000) == 3
    fallback = summary(results, RUN, limit=6000)  # 3 x 6,000 bytes of fuller copies do not fit
    assert "é" * 3000 not in fallback and fallback.count("short é") == 3
    assert "holds a fuller copy" not in fallback  # the summary holds the comment's copies only
    assert len(fallback.encode("utf-8")) <= 6000
    tight = summary(results, RUN, limit=400)  # 3 sections of the comment's copies do not fit
    assert len(tight.encode("utf-8")) <= 400
    assert "more plan(s) did not fit in the job summary" in tight and "`mlops-infra-plans` artifact" in tight


def test_the_artifact_named_in_the_comment_is_the_one_the_workflow_uploads():
    assert step("Upload the JSON plans")["with"]["name"] == pr_workflow.ARTIFACT == "mlops-infra-plans"


@pytest.mark.timeout(600)
def test_a_failed_mandatory_guardrail_keeps_the_plan_in_the_comment_and_the_log(tmp_path: Path, plan_env, capsys):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "mlsystem.yaml").write_text(GUARDED.read_text(encoding="utf-8"))
    out = tmp_path / "plans"
    out.mkdir()
    results = run_plans(root, [PlanTarget("mlsystem.yaml", "prod")], out, str(CONSOLE_SCRIPT))
    log = capsys.readouterr().out
    [result] = results
    assert result["exit"] == 1
    body = comment_body(results, RUN, "f" * 40)
    failure, plan = body.split("the plan it printed follows.", 1)
    assert "**The plan failed** (exit 1)" in failure
    assert "1 mandatory guardrail(s) fail in prod: capture" in failure
    assert "## mlops-infra plan: `guarded` / `prod`" in plan and "### Guardrails" in plan
    assert "| **fail** | `capture` (mandatory) |" in plan
    # "The whole output is in the workflow log" is true: the log has the plan too
    assert "### Guardrails" in log and "mandatory guardrail(s) fail in prod" in log
    (out / "results.json").write_text(json.dumps(results))
    assert pr_workflow.main(["check", "--dir", str(out)]) == 1


def test_a_system_path_cannot_end_the_marker_or_break_out_of_its_code_span(tmp_path: Path):
    plan = tmp_path / "p.md"
    plan.write_text("<!-- mlops-infra-plan: p/s -->\n## mlops-infra plan: `p` / `s`\n")
    file = "a --> **No changes** <!--\n```\n/mlsystem.yaml"
    text = section({"file": file, "env": "dev", "exit": 2, "markdown": str(plan), "json": None, "errors": ""}, RUN)
    html = MarkdownIt("commonmark").render(text)
    assert "<strong>No changes</strong>" not in html and "<pre>" not in html
    assert html.count("<strong>") == 2  # System, environment
    assert text.splitlines()[0] == ("<!-- mlops-infra-plan-target: a --%3E %2A%2ANo changes%2A%2A %3C%21--%0A%60%60%60%0A"
                                    "/mlsystem.yaml dev -->")


def test_an_error_quoting_tildes_stays_inside_its_fence():
    errors = "mlsystem.yaml: error: a\n~~~~~\n**not bold**"
    text = section({"file": "mlsystem.yaml", "env": "dev", "exit": 1, "markdown": "", "json": None,
                    "errors": errors}, RUN)
    html = MarkdownIt("commonmark").render(text)
    assert "<strong>not bold</strong>" not in html and "~~~~~\n**not bold**" in html
