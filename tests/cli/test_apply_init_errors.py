"""``mlops-infra apply`` runs ``pulumi up`` when the state records ``initErrors`` (audit finding k8sapply-2).

Before the fix a state whose Deployment (or SageMaker endpoint) did not finish initializing planned as
"No changes" and ``apply`` printed "Nothing to apply" and exited 0 without Pulumi; Pulumi's own next ``up``
updates such a resource to wait for it again (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``:
"generate an empty update step to attempt to 'continue' awaiting initialization"). The real Automation API
drives the recording ``pulumi`` stand-in (:mod:`tests.support.pulumi_stand_in`).
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_apply_stack_identity import FRAUD, fraud_dev_state, pulumi, repo, write_backend_state
from tests.support.applied_state import edit_resource
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo"]  # fixtures

REASONS = ['the Kubernetes API server reported that "fraud-dev/mlops-retrain-trigger" failed to fully initialize '
           "or become live: 'mlops-retrain-trigger' timed out waiting to be Ready",
           "[MinimumReplicasUnavailable] Deployment does not have minimum availability."]


def failed_rollout(checkpoint: dict) -> dict:
    def mark(record: dict) -> dict:
        record["initErrors"] = REASONS
        return record

    return edit_resource(checkpoint, lambda r: r["type"] == "kubernetes:apps/v1:Deployment"
                         and r["urn"].endswith("::mlops-retrain-trigger"), mark)


def test_apply_runs_up_for_a_resource_that_did_not_finish_initializing(repo: Path, pulumi) -> None:
    write_backend_state(repo / "stacks/dev", failed_rollout(fraud_dev_state()))
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert "Nothing to apply" not in result.stdout and "No changes" not in result.stdout, result.output
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy." in result.stdout
    assert "the last apply did not finish initializing it ('mlops-retrain-trigger' timed out" in result.stdout
    [up] = pulumi.ran("up")
    assert up["cwd"] == str(repo / "stacks/dev")
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr  # up ran, and failed


def test_the_same_state_without_them_has_nothing_to_apply(repo: Path, pulumi) -> None:
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 0 and "Nothing to apply" in result.stdout, result.output
    assert pulumi.calls() == []
