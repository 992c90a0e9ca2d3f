"""Audit rolloutaws-6: a rollback decided while the SageMaker endpoint is ``Updating`` (a step adding canary
instances: minutes on GPU) is recorded at once and carried out by the first InService pass.

Tagging does not depend on the endpoint's status (botocore sagemaker ``AddTags``: no status condition, no error
shapes), and SageMaker refuses a second update while one is in progress. ``endpoint_updates_held`` (patch 3 of
tests/support/moto_server.py) keeps the step's update ``Updating`` until the test settles it. Before the fix the
abort wrote nothing and raised ``Lost``; the CLI said "another pass changed the rollout first" at every try, and
the next runner pass recorded the 75 % step in effect and baked it; a gate firing meanwhile was not read at all.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from mlops_infra.cli.commands.rollout import _after_lost_abort
from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec
from tests.support.moto_server import endpoint_updates_held

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"


def _to_step_four_baked(sm, target, clock, gates) -> None:
    """Healthy passes to step 4 (25 %), in effect and baked."""
    for _ in range(60):
        if status_tags(sm, E).get("step") == "3" and canary_percent(sm, E) == 25:
            clock.sleep(BAKE)
            return
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        clock.sleep(BAKE)
    raise AssertionError("never reached step 4")


def _to_step_five_updating(sm, target, clock, gates) -> None:
    """The pass that sets step 5 (75 %: canary 1 -> 3 instances), whose update stays Updating. Run inside
    ``endpoint_updates_held``."""
    for _ in range(10):
        result = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        if result.decision.action == "set_traffic":
            clock.sleep(60)
            break
        clock.sleep(BAKE)
    assert result.decision.percent == 75
    assert sm.describe_endpoint(EndpointName=E)["EndpointStatus"] == "Updating"


def test_abort_while_updating_is_recorded_and_carried_out_when_in_service(sm):
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    _to_step_four_baked(sm, target, clock, gates)
    with endpoint_updates_held() as settle:
        _to_step_five_updating(sm, target, clock, gates)
        aborted = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now, "abort")
        assert aborted.decision.action == "rollback"
        tags = status_tags(sm, E)
        assert tags["phase"] == "aborted"
        assert tags["reason"] == "aborted by the operator at step 5 (75%)"
        assert "notice" not in tags  # an operator's abort announces nothing
        out = Console(record=True, width=300)
        _after_lost_abort(out, SageMakerDriver(sm, target).observe(), "scorer", "mlsystem.yaml")  # no error
        said = out.export_text()
        assert "the abort is recorded: aborted by the operator at step 5 (75%)" in said
        assert ("the endpoint is updating (EndpointStatus Updating): the traffic moves back to version 12 when the "
                "update ends") in said
        clock.sleep(60)
        waiting = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        assert waiting.decision.action == "wait" and status_tags(sm, E)["phase"] == "aborted"
        settle()
    assert canary_percent(sm, E) == 75  # the step's update ended
    done = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now + 60)
    assert done.decision.action == "rollback" and done.acted
    assert canary_percent(sm, E) == 0
    assert status_tags(sm, E)["phase"] == "aborted"


def test_a_gate_firing_while_updating_rolls_back_at_once(sm):
    target = deploy(sm)
    clock = Clock()
    firing = {"on": False}
    gates = ScriptedGates(decide=lambda percent: "firing" if firing["on"] else "ok",
                          percent=lambda: canary_percent(sm, E))
    _to_step_four_baked(sm, target, clock, gates)
    with endpoint_updates_held() as settle:
        _to_step_five_updating(sm, target, clock, gates)
        firing["on"] = True
        fired = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        assert fired.decision.action == "rollback"
        tags = status_tags(sm, E)
        assert tags["phase"] == "rolled_back" and tags["notice"] == "pending"
        assert tags["reason"].startswith("scorer-latency = 0.42 fired at step 5 (75% on version 13)")
        settle()
    firing["on"] = False
    done = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now + 60)
    assert done.decision.action == "rollback" and done.acted
    assert canary_percent(sm, E) == 0
    assert status_tags(sm, E)["phase"] == "rolled_back"
