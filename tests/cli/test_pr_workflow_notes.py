"""What the pull-request comment says about where things are, and its budget (audit prcomment items
1-3): the plan's "Saved the plan to $RUNNER_TEMP/..." note names the artifact instead; a failed plan's
error counts in its section's share, so it pushes no later section out; the comment says the job
summary holds a fuller copy, or the plans left out, only when the summary written holds them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_infra.cli import pr_workflow
from mlops_infra.cli.pr_workflow import PlanTarget, comment_body, error_excerpt, run_plans, summary_content
from tests.cli.test_pr_workflow import CONSOLE_SCRIPT, QUICKSTART
from tests.cli.test_pr_workflow_plans import GUARDED, RUN, fraud_repo

SHA = "f" * 40
FULLER = "holds a fuller copy"


@pytest.fixture
def plan_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "ph"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)


def sections(body: str) -> list[str]:
    """The comment's sections, each from its hidden target marker to its closing rule."""
    return re.findall(r"<!-- mlops-infra-plan-target: .*?\n---\n\n", body, re.DOTALL)


# -- item 1: the saved plan's note ---------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_the_saved_plan_note_names_the_artifact_not_the_runner_path(tmp_path: Path, plan_env):
    root = tmp_path / "repo"
    target = fraud_repo(root)
    out = tmp_path / "plans"
    out.mkdir()
    [result] = run_plans(root, [target], out, str(CONSOLE_SCRIPT))
    assert result["exit"] == 2 and Path(result["json"]).is_file()
    body = comment_body([result], RUN, SHA)
    assert "> Saved the plan as `000-systems_fraud-staging.json` in the run's `mlops-infra-plans` artifact.\n" in body
    assert "Saved the plan to" not in body and str(out) not in body


# -- item 2: a failed plan's error counts in its share ------------------------------------------------------


def broken_system(root: Path, fields: int = 40) -> str:
    """A system file whose plan fails with a long error (one diagnostic per unknown field)."""
    directory = root / "systems" / "broken"
    directory.mkdir(parents=True)
    text = QUICKSTART.read_text(encoding="utf-8") + "".join(f"bogus_section_number_{i}: 1\n" for i in range(fields))
    (directory / "mlsystem.yaml").write_text(text)
    return "systems/broken/mlsystem.yaml"


def churn_system(root: Path) -> str:
    directory = root / "systems" / "churn"
    directory.mkdir(parents=True)
    (directory / "mlsystem.yaml").write_text(QUICKSTART.read_text(encoding="utf-8"))
    return "systems/churn/mlsystem.yaml"


def test_a_cut_error_keeps_to_its_limit():
    stderr = "".join(f"mlsystem.yaml:{i}:1: error: Unknown field \"bogus_{i}\"\n" for i in range(200))
    for limit in (500, 1234, pr_workflow.ERROR_LIMIT):
        text = error_excerpt(stderr, limit)
        assert len(text) <= limit and text.endswith("\n... (cut; see the log)")


@pytest.mark.timeout(900)
def test_a_long_error_does_not_push_a_later_section_out(tmp_path: Path, plan_env, monkeypatch):
    root = tmp_path / "repo"
    fraud = fraud_repo(root)
    broken, churn = broken_system(root), churn_system(root)
    limit = 9_000  # the old shares (2,000-character plans, errors not counted) came to 9,680
    monkeypatch.setattr(pr_workflow.plans, "COMMENT_LIMIT", limit)
    targets = [PlanTarget(broken, "dev"), PlanTarget(churn, "dev"), PlanTarget(churn, "prod"), fraud]
    out = tmp_path / "plans"
    out.mkdir()
    results = run_plans(root, targets, out, str(CONSOLE_SCRIPT))
    assert [r["exit"] for r in results] == [1, 2, 2, 2]
    body = comment_body(results, RUN, SHA, limit)
    assert len(body) <= limit
    assert "did not fit in one comment" not in body
    found = sections(body)
    assert len(found) == 4 and found[-1].startswith("<!-- mlops-infra-plan-target: systems/fraud/mlsystem.yaml staging")
    assert "bogus_section_number_0" in found[0] and "... (cut; see the log)" in found[0]
    share = (limit - pr_workflow.COMMENT_FRAME) // 4
    assert all(len(text) <= share for text in found), [len(text) for text in found]
    assert all("to keep this comment under" in text for text in found[1:])  # the plans were cut to their shares


@pytest.mark.timeout(900)
def test_a_failed_guardrail_plan_is_cut_to_leave_room_for_its_error(tmp_path: Path, plan_env, monkeypatch):
    root = tmp_path / "repo"
    (root / "systems" / "guarded").mkdir(parents=True)
    (root / "systems" / "guarded" / "mlsystem.yaml").write_text(GUARDED.read_text(encoding="utf-8"))
    churn = churn_system(root)
    limit = 9_000
    monkeypatch.setattr(pr_workflow.plans, "COMMENT_LIMIT", limit)
    targets = [PlanTarget("systems/guarded/mlsystem.yaml", "prod"), PlanTarget(churn, "dev"), PlanTarget(churn, "prod")]
    out = tmp_path / "plans"
    out.mkdir()
    results = run_plans(root, targets, out, str(CONSOLE_SCRIPT))
    assert [r["exit"] for r in results] == [1, 2, 2]
    body = comment_body(results, RUN, SHA, limit)
    found = sections(body)
    assert len(found) == 3 and len(body) <= limit
    guarded = found[0]
    assert "1 mandatory guardrail(s) fail in prod: capture" in guarded
    assert "the plan it printed follows." in guarded and "## mlops-infra plan: `guarded` / `prod`" in guarded
    assert "to keep this comment under" in guarded
    assert len(guarded) <= (limit - pr_workflow.COMMENT_FRAME) // 3


# -- item 3: the job summary is named only for what it holds ------------------------------------------


def cut_results(directory: Path, fuller_chars: int, count: int = 2) -> list[dict]:
    """``count`` cut plans, each with a fuller copy of ``fuller_chars`` characters and a JSON plan."""
    results = []
    for index in range(count):
        short, full = directory / f"{index:03d}.md", directory / f"{index:03d}.summary.md"
        short.write_text(f"<!-- mlops-infra-plan: p/e{index} -->\nshort, {pr_workflow.CUT_MARK} 10\n")
        full.write_text(f"<!-- mlops-infra-plan: p/e{index} -->\n" + "f" * fuller_chars + "\n")
        plan = directory / f"{index:03d}-p-e{index}.json"
        plan.write_text("{}")
        results.append({"file": "mlsystem.yaml", "env": f"e{index}", "exit": 2, "markdown": str(short),
                        "summary_markdown": str(full), "json": str(plan), "errors": ""})
    (directory / "results.json").write_text(json.dumps(results))
    return results


def comment_step(directory: Path) -> str:
    assert pr_workflow.main(["comment", "--dir", str(directory), "--run-url", RUN, "--sha", SHA]) == 0
    return (directory / "comment.md").read_text(encoding="utf-8")


def test_without_a_job_summary_the_comment_does_not_name_one(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    cut_results(tmp_path, 100)
    body = comment_step(tmp_path)
    assert FULLER not in body and "job summary" not in body
    assert body.count("`mlops-infra-plans` artifact holds the JSON plan `000-p-e0.json`") == 1


def test_the_comment_names_the_fuller_copy_the_summary_holds(tmp_path: Path, monkeypatch):
    written = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(written))
    cut_results(tmp_path, 100)
    body = comment_step(tmp_path)
    assert body.count(f"> This plan was shortened: the [job summary]({RUN}) {FULLER}; ") == 2
    assert written.read_text(encoding="utf-8").count("f" * 100) == 2


def test_a_summary_too_big_for_the_fuller_copies_is_not_named_for_them(tmp_path: Path, monkeypatch):
    written = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(written))
    cut_results(tmp_path, 600_000)  # two fuller copies pass the summary's 1 MiB: it holds the comment's copies
    body = comment_step(tmp_path)
    text = written.read_text(encoding="utf-8")
    assert "f" * 1000 not in text and text.count("short, ") == 2
    assert FULLER not in body and FULLER not in text


def test_plans_left_out_of_the_comment_are_sent_where_they_are(tmp_path: Path):
    results = cut_results(tmp_path, 100, count=3)
    held = summary_content(results, RUN)
    full = comment_body(results, RUN, SHA, 800, shown=held)
    assert f"more plan(s) did not fit in one comment:** see the job summary of the [run]({RUN})" in full
    for shown in (None, summary_content(results, RUN, limit=600)):  # no summary, or one without them all
        assert shown is None or shown.sections < 3
        body = comment_body(results, RUN, SHA, 800, shown=shown)
        assert len(body) <= 800 and "did not fit in one comment" in body
        assert "job summary" not in body
        assert f"see the `mlops-infra-plans` artifact and the log of the [run]({RUN})" in body


def test_a_system_file_with_a_pipe_is_shown_as_written(tmp_path: Path):
    """Outside a table a code span shows every backslash (GFM spec 6.3): the section's system file
    is written without ``\\|`` (render.markdown.code_span)."""
    from markdown_it import MarkdownIt

    from mlops_infra.cli.pr_workflow import section

    plan = tmp_path / "p.md"
    plan.write_text("<!-- mlops-infra-plan: p/s -->\n## mlops-infra plan: `p` / `s`\n")
    text = section({"file": "a|b/mlsystem.yaml", "env": "dev", "exit": 2, "markdown": str(plan), "json": None,
                    "errors": ""}, RUN)
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<code>a|b/mlsystem.yaml</code>" in html and "\\|" not in html
