"""``mlops-infra rollout --dry-run`` sizes the canary at ``replicas.min`` and, for an autoscaled endpoint, at
``replicas.max`` too, and says what a rollback keeps running per hour (audit cost-4, cost-2).

The SageMaker driver sizes the canary from the instances serving when it starts (``ceil(p% x count)``,
``rollout/drivers/sagemaker.py``): the audit's moto run, 10 live replicas, gave canaries of 1, 1, 1, 3, 8, 10
instances, 24 instance-bakes, against the dry-run's 8 at ``replicas.min``; with the 15-minute hold of an
unreadable gate that is $5.63 + $3.52 = $9.15 at $1.4084/h, not the "worst-case" $2.58 printed before.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.text_edits import edit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def dry_run(path: Path, env: str) -> list[str]:
    result = run_cli("rollout", "scorer", str(path), "--env", env, "--dry-run")
    assert result.code == 0, result.output
    return result.stdout.splitlines()


def test_an_autoscaled_endpoint_shows_the_canary_and_the_worst_case_up_to_replicas_max():
    lines = dry_run(EXAMPLE, "staging")  # us-east-1 (priced), replicas 2-10, autoscaled
    assert "     5      75%     40m00s  10m00s  2 beside 2 stable" in lines  # the schedule at replicas.min, as before
    assert ("  autoscaled up to 10 stable (replicas.max) when the rollout starts, the canary takes 1, 1, 1, 3, 8, 10 "
            "instances: it is sized from the replicas serving then, or more: each step sizes it from primary's count "
            "now when primary scaled out during the rollout") in lines  # rolloutaws-5
    # with the start's and the finish's fleet swaps (audit rolloutaws-4): 1.833 + 7 x 1200 s, 6.5 + 31 x 1200 s
    assert ("  worst-case extra cost during the overlap: $5.87 (4.167 instance-hours at $1.4084/h on-demand, "
            "us-east-1) at 2 stable (replicas.min), $23.71 (16.833 instance-hours) at 10 (replicas.max)") in lines
    assert ("  after a rollback: the canary variant keeps 1 instance, $1.41/h ($1,028 a month) until a later "
            "version rolls out or --resume") in lines


def test_a_fixed_endpoint_has_one_size_and_an_unpriced_one_no_amount(tmp_path):
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(edit(EXAMPLE.read_text(), "    autoscaling: {metric: invocations_per_replica, target: 50}\n", ""))
    lines = dry_run(fixed, "staging")
    assert not [line for line in lines if "replicas.max" in line]  # runs at replicas.min: no range
    assert ("  worst-case extra cost during the overlap: $5.87 (4.167 instance-hours at $1.4084/h on-demand, "
            "us-east-1)") in lines  # the bakes' 1.833 and the fleet swaps' 7 x 1200 s (audit rolloutaws-4)
    unpriced = dry_run(EXAMPLE, "prod")  # eu-west-1: no price in the catalog
    assert ("  worst-case overlap: 5.75 instance-hours at 3 stable (replicas.min), 32.667 at 20 (replicas.max) "
            "(no on-demand price in the catalog for this target)") in unpriced  # 2.417 and 12.333 before the swaps
    assert "  after a rollback: the canary variant keeps 1 instance until a later version rolls out or --resume" \
        in unpriced


def test_on_kubernetes_a_rollback_keeps_the_revision_at_min_replicas():
    lines = dry_run(EXAMPLE, "dev")
    assert ("  after a rollback: the new revision keeps its minReplicas (1) pod(s) until a later version rolls out "
            "(Knative keeps min-scale on a revision still in the route)") in lines
