"""``apply --plan FILE`` holds the plan to the guardrails of the spec as it is now, not the ones recorded in
FILE when ``plan --out`` ran (audit robust-1; docs/guardrails.md: "A mandatory rule that fails is an error
... ``apply`` refuses to run").

A guardrail's level and caps are spec, not graph: making a rule mandatory after ``plan --out`` leaves the
state serial and the graph digest as they were, so the saved plan is still fresh. The real Automation API
drives the recording ``pulumi`` stand-in (:mod:`tests.support.pulumi_stand_in`): no ``pulumi up`` runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import pulumi_stand_in
from tests.support.cli import run_cli

FRAUD = "examples/fraud-detection/mlsystem.yaml"
DEV = "    target: {kind: kubernetes, context: kind-mlops, namespace: fraud-dev}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """fraud-detection's spec and ``stacks/dev`` in a copy of the repository layout; no Pulumi login, an empty
    passphrase, cwd = the copy."""
    return pulumi_stand_in.repo_copy(tmp_path, monkeypatch, (FRAUD, "stacks/dev/Pulumi.yaml", "stacks/dev/Pulumi.dev.yaml",
                                                             "stacks/dev/__main__.py", "Pulumi.yaml"))


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch) -> pulumi_stand_in.StandIn:
    return pulumi_stand_in.install(tmp_path / "bin", monkeypatch)


def _dev_guardrails(root: Path, enforcement: str) -> None:
    spec = root / FRAUD
    text = spec.read_text(encoding="utf-8")
    assert DEV in text
    spec.write_text(text.replace(DEV, DEV + f"    guardrails: {{max_gpus: 0, enforcement: {enforcement}}}\n"),
                    encoding="utf-8")


def _made_mandatory(root: Path) -> None:
    spec = root / FRAUD
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("enforcement: advisory", "enforcement: mandatory"), encoding="utf-8")


def test_a_rule_made_mandatory_after_plan_out_refuses_the_saved_plan(repo: Path, pulumi) -> None:
    _dev_guardrails(repo, "advisory")
    planned = run_cli("plan", FRAUD, "--env", "dev", "--out", "plan.json")
    assert planned.code == 0, planned.stderr
    assert [g["rule"] for g in json.loads((repo / "plan.json").read_text())["plan"]["guardrails"]] == ["max_gpus"]
    _made_mandatory(repo)
    result = run_cli("apply", FRAUD, "--env", "dev", "--plan", "plan.json", "--yes")
    assert result.code == 1, result.stderr
    assert "1 mandatory guardrail(s) fail in dev: max_gpus" in result.stderr
    assert "advisory" not in result.stdout  # the plan shown is held to the rule as it is now
    assert pulumi.ran("up") == [] and pulumi.ran("config") == []


def test_a_rule_made_advisory_after_plan_out_no_longer_blocks_the_saved_plan(repo: Path, pulumi) -> None:
    _dev_guardrails(repo, "mandatory")
    planned = run_cli("plan", FRAUD, "--env", "dev", "--out", "plan.json")
    assert planned.code == 1 and (repo / "plan.json").exists(), planned.stderr
    spec = repo / FRAUD
    spec.write_text(spec.read_text(encoding="utf-8").replace("enforcement: mandatory", "enforcement: advisory"),
                    encoding="utf-8")
    result = run_cli("apply", FRAUD, "--env", "dev", "--plan", "plan.json", "--yes")
    assert "mandatory guardrail(s) fail" not in result.stderr, result.stderr
    assert len(pulumi.ran("up")) == 1, result.stderr  # the stand-in's `up` then fails: what ran is the point

