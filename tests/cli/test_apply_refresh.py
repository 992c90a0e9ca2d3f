"""``mlops-infra apply`` runs ``pulumi up --refresh`` exactly when the plan it shows was made with ``--refresh``
(audit autoscale-6).

Without ``--refresh`` the engine diffs the program against the state's records: a resource deleted outside keeps
its record and is not re-created (the bridged provider's ``Read``, which drops it, runs only on refresh:
terraform-provider-aws ``appautoscaling/target.go`` ``resourceTargetRead``). A refreshed plan shows it created
again (``missing-in-cloud``), so ``apply --plan`` of that plan refreshes first (``Stack.up(refresh=True)``: pulumi
3.272.0 ``automation/_stack.py`` adds ``--refresh``); a plain apply shows an offline plan and does not.

The real Automation API drives the recording ``pulumi`` stand-in (:mod:`tests.support.pulumi_stand_in`); the saved
plan is the offline plan with ``refreshed`` set, as ``plan --refresh --out`` writes it when the cloud matches.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_apply_stack_identity import (
    FRAUD,
    fraud_dev_state,
    pulumi,
    repo,
    without_last_resource,
    write_backend_state,
)
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo"]  # fixtures


def _saved_plan(repo: Path, *, refreshed: bool) -> str:
    planned = run_cli("plan", FRAUD, "--env", "dev", "--out", "plan.json")
    assert planned.code == 0 and "1 to add" in planned.stdout, planned.output
    doc = json.loads((repo / "plan.json").read_text(encoding="utf-8"))
    assert doc["plan"]["refreshed"] is False
    doc["plan"]["refreshed"] = refreshed
    (repo / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    return "plan.json"


def test_apply_of_a_refreshed_plan_runs_pulumi_up_with_refresh(repo: Path, pulumi) -> None:
    write_backend_state(repo / "stacks/dev", without_last_resource(fraud_dev_state()))
    result = run_cli("apply", FRAUD, "--env", "dev", "--plan", _saved_plan(repo, refreshed=True), "--yes")
    [up] = pulumi.ran("up")
    assert "--refresh" in up["args"], result.output
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr  # up ran, and failed


def test_apply_of_an_offline_plan_runs_pulumi_up_without_refresh(repo: Path, pulumi) -> None:
    write_backend_state(repo / "stacks/dev", without_last_resource(fraud_dev_state()))
    for args in (("--plan", _saved_plan(repo, refreshed=False)), ()):
        result = run_cli("apply", FRAUD, "--env", "dev", *args, "--yes")
        assert "the pulumi stand-in fails every up" in result.stderr, result.output
    ups = pulumi.ran("up")
    assert len(ups) == 2 and all("--refresh" not in up["args"] for up in ups)
