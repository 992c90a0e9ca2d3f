"""A SageMaker canary's overlap counts its two whole-fleet swaps, the start's and the finish's (audit rolloutaws-4).

The start's ``UpdateEndpoint`` (to the rollout config: ``primary`` at the count serving plus ``canary`` at 1) and the
finish's (to the graph's single-``primary`` config) each "Deploys the EndpointConfig specified in the request to a
new fleet of instances. SageMaker shifts endpoint traffic to the new instances with the updated endpoint
configuration and then deletes the old instances" (botocore sagemaker 2017-07-24 ``UpdateEndpoint``). At 3 stable
the start runs 3 + 1 new instances beside the 3 serving and the finish 3 new beside the old 3 and the canary's 3:
4 x 1200 s + 6 x 1200 s of instances at ``FLEET_PROVISIONING_SECONDS``, which ``rollout --dry-run`` left out
(2.417 instance-hours printed, 5.75 with the swaps). A KServe canary swaps no fleet (the canary is the new revision,
which takes all traffic at the finish: kserve ``ksvc_reconciler.go``), so nothing changes on Kubernetes.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.canary_size import FLEET_PROVISIONING_SECONDS, canary_instances, fleet_swap_instances
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.schedule import schedule
from tests.support.cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
STEPS = (2, 5, 10, 25, 75, 100)


def rollout(target: str) -> RolloutSpec:
    return RolloutSpec("scorer", "canary", STEPS, 600, ("scorer-latency",), 900, target)


def bakes_and_hold(replicas: int) -> int:
    """Instance-seconds of the canary's bakes and of the hold at its largest size (what was counted before)."""
    sizes = [canary_instances(s, replicas) for s in STEPS]
    return sum(sizes) * 600 + max(sizes) * 900


def test_the_overlap_at_3_stable_includes_both_fleet_swaps() -> None:
    assert FLEET_PROVISIONING_SECONDS == 1200
    assert fleet_swap_instances(100, 3) == (4, 6)  # 3 + 1 at the start; 3 new beside the canary's 3 at the finish
    aws = schedule(rollout("aws"), 3, None)
    assert aws.overlap_instance_hours == round((bakes_and_hold(3) + 4 * 1200 + 6 * 1200) / 3600, 3) == 5.75
    assert (aws.swap_seconds, aws.swap_instances) == (1200, (4, 6))
    assert (aws.total_seconds, aws.worst_case_seconds) == (3600, 4500)  # the times: bakes only, lower bounds
    priced = schedule(rollout("aws"), 3, 2.0)
    assert priced.worst_case_usd == round(5.75 * 2.0, 2)


def test_at_20_stable_the_swaps_are_21_and_40_instances() -> None:
    assert fleet_swap_instances(100, 20) == (21, 40)
    assert schedule(rollout("aws"), 20, None).overlap_instance_hours == \
        round((bakes_and_hold(20) + 21 * 1200 + 40 * 1200) / 3600, 3)


def test_a_kserve_canary_swaps_no_fleet() -> None:
    kubernetes = schedule(rollout("kubernetes"), 3, None)
    assert (kubernetes.swap_seconds, kubernetes.swap_instances) == (0, (0, 0))
    assert kubernetes.overlap_instance_hours == round(bakes_and_hold(3) / 3600, 3)


def test_the_dry_run_says_step_1_follows_a_swap_of_the_whole_stable_fleet() -> None:
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--dry-run")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert "     1       2%         0s  10m00s  1 beside 3 stable (after a swap of the whole stable fleet, below)" in lines
    assert "     2       5%     10m00s  10m00s  1 beside 3 stable" in lines
    assert ("  fleet swaps: step 1 follows a swap of the whole stable fleet (the start's UpdateEndpoint deploys primary "
            "and the canary to a new fleet: 4 instances beside the 3 serving), and the finish swaps it again (3 new "
            "primary instances beside the 3 stable and the canary's 3: 6 beyond the stable fleet); each swap is "
            "allowed 20m00s, counted in the worst-case overlap below, not in the times") in lines
    assert ("  worst-case overlap: 5.75 instance-hours at 3 stable (replicas.min), 32.667 at 20 (replicas.max) "
            "(no on-demand price in the catalog for this target)") in lines  # before: 2.417 and 12.333
    assert ("  autoscaled up to 20 stable (replicas.max) when the rollout starts, the canary takes 1, 1, 2, 5, 15, 20 "
            "instances: it is sized from the replicas serving then, or more: each step sizes it from primary's count "
            "now when primary scaled out during the rollout") in lines  # rolloutaws-5


def test_a_kubernetes_dry_run_shows_no_swap() -> None:
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "dev", "--dry-run")
    assert result.code == 0, result.output
    assert "fleet swap" not in result.stdout and "after a swap" not in result.stdout
    assert ("  worst-case overlap: 1.25 instance-hours at 1 stable (replicas.min), 1.833 at 2 (replicas.max) "
            "(no on-demand price in the catalog for this target)") in result.stdout.splitlines()  # unchanged
