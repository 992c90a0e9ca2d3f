"""One reconcile pass over many endpoints (mlops_infra/rollout/fleet.py) against a moto server."""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import EndpointTarget, SageMakerDriver
from mlops_infra.rollout.fleet import Member, reconcile_fleet
from mlops_infra.rollout.runner import NoGates
from tests.rollout.aws_world import canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, STEPS, Clock, spec
from tests.support.moto_server import client, running_moto_server

pytestmark = pytest.mark.moto


def test_a_pass_over_many_endpoints_moves_each_one_step_and_reports_a_failure_alone():
    with running_moto_server() as url:
        sm = client("sagemaker", url)
        targets = [deploy(sm, f"fleet-{i}", count=2) for i in range(6)]
        missing = EndpointTarget("fleet-gone", "13", "fleet-gone-cfg", "fleet-gone-v13-ab12cd")
        rollout = spec("aws", gates=())
        members = [Member(rollout, SageMakerDriver(sm, t), NoGates()) for t in [*targets[:3], missing, *targets[3:]]]
        clock = Clock()
        first = reconcile_fleet(members, clock.now, max_workers=3)
        assert [r.endpoint for r in first] == [m.spec.endpoint for m in members]  # the members' order
        gone = first[3]
        assert gone.result is None and "Could not find endpoint" in gone.error
        assert all(r.result and r.result.acted and r.result.decision.action == "set_traffic"
                   for i, r in enumerate(first) if i != 3)
        clock.sleep(1)
        reconcile_fleet(members, clock.now, max_workers=3)  # the canary variant is in: its first step
        assert {canary_percent(sm, t.endpoint) for t in targets} == {STEPS[0]}
        clock.sleep(1)
        recorded = reconcile_fleet(members, clock.now, max_workers=3)  # InService at 2%: in effect, bake starts
        assert all(r.result and r.result.acted and r.result.decision.action == "record"
                   for i, r in enumerate(recorded) if i != 3)
        clock.sleep(BAKE)
        reconcile_fleet(members, clock.now, max_workers=3)
        assert {canary_percent(sm, t.endpoint) for t in targets} == {STEPS[1]}
        assert {status_tags(sm, t.endpoint)["step"] for t in targets} == {"1"}
