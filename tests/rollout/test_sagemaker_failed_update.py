"""Audit rolloutaws-1: the rollout's own SageMaker update fails, and the rollout rolls back instead of
issuing the same update at every pass for ever.

SageMaker leaves the endpoint InService on the configuration and weights it had, with a ``FailureReason``
(botocore sagemaker ``EndpointMetadata.FailureReason``: "If the status of the endpoint is Failed, or the
status is InService but update operation fails, this provides the reason why it failed"); the stand-in plays
that with ``endpoint_updates_fail`` (patch 20 of tests/support/moto_server.py). Before the fix the driver read
only ``EndpointStatus``: each pass saw "traffic on version 13 is 0%, not 2%" and called ``UpdateEndpoint`` again
(a new fleet each time), the status stayed ``progressing`` and no notice was pending. The failure's
``LastModifiedTime`` is the simulated clock's (the stand-in takes it), compared with the status' ``since``.
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec
from tests.support.moto_server import endpoint_updates_fail

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"
WHY = "The primary container for production variant canary did not pass the ping health check."


def _counting(sm, name: str) -> list[dict]:
    """The calls of ``sm.<name>`` from now on (their arguments)."""
    calls: list[dict] = []
    original = getattr(sm, name)

    def call(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    setattr(sm, name, call)
    return calls


def _passes(sm, target, clock, count: int, gates=None) -> list:
    results = []
    for _ in range(count):
        results.append(reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates or ScriptedGates(), clock.now))
        clock.sleep(BAKE)
    return results


def _walk_to_step(sm, target, clock, step: str) -> None:
    """Healthy passes until the status is at ``step`` (0-based, as stored) and that share is in effect."""
    for _ in range(60):
        if status_tags(sm, E).get("step") == step and status_tags(sm, E).get("in-effect") != "pending":
            return
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), ScriptedGates(), clock.now)
        clock.sleep(BAKE)
    raise AssertionError(f"never reached step {step}")


def test_a_failed_start_rolls_back_once_with_the_reason_and_a_pending_notice(sm):
    target = deploy(sm)
    updates = _counting(sm, "update_endpoint")
    clock = Clock()
    with endpoint_updates_fail(WHY, clock):
        results = _passes(sm, target, clock, 5)
    assert len(updates) == 1  # the start's; no pass repeats it
    assert [r.decision.action for r in results[:2]] == ["set_traffic", "rollback"]
    assert {r.decision.action for r in results[2:]} == {"none"}
    tags = status_tags(sm, E)
    assert tags["phase"] == "rolled_back" and tags["notice"] == "pending"
    assert tags["reason"].startswith("update_failed at step 1 (2% on version 13): version 13 has 0%")
    assert WHY in tags["reason"]
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == f"{E}-cfg-v12"  # the stable one serves


def test_a_failed_step_rolls_back_to_the_stable_version(sm):
    target = deploy(sm)
    clock = Clock()
    _walk_to_step(sm, target, clock, "2")  # 10 %, baking
    clock.sleep(BAKE)
    weights = _counting(sm, "update_endpoint_weights_and_capacities")
    with endpoint_updates_fail(WHY, clock):
        first, second = _passes(sm, target, clock, 2)
    assert first.decision.action == "set_traffic" and first.decision.percent == 25
    assert second.decision.action == "rollback"
    assert len(weights) == 2  # the step's (failed), then the rollback's (failed too, still failing)
    tags = status_tags(sm, E)
    assert tags["phase"] == "rolled_back" and tags["notice"] == "pending"
    assert tags["reason"].startswith("update_failed at step 4 (25% on version 13): version 13 has 10%")
    assert WHY in tags["reason"]
    _passes(sm, target, clock, 1)  # updates succeed again: the rollback is completed
    assert canary_percent(sm, E) == 0
    assert status_tags(sm, E)["phase"] == "rolled_back"


def test_a_failed_finish_rolls_back_rather_than_repeat_it(sm):
    target = deploy(sm)
    clock = Clock()
    _walk_to_step(sm, target, clock, "5")  # 100 % on the canary, baking
    clock.sleep(BAKE)
    updates = _counting(sm, "update_endpoint")
    with endpoint_updates_fail(WHY, clock):
        results = _passes(sm, target, clock, 4)
    assert [r.decision.action for r in results[:2]] == ["finish", "rollback"]
    assert len(updates) == 1  # the finish's UpdateEndpoint, once
    tags = status_tags(sm, E)
    assert tags["phase"] == "rolled_back" and tags["notice"] == "pending"
    assert tags["reason"].startswith("update_failed at the finish (100% on version 13): version 13 has 100%")
    _passes(sm, target, clock, 1)
    assert canary_percent(sm, E) == 0  # all traffic back on version 12


def test_a_stale_failure_reason_does_not_stop_a_start_killed_before_its_update(sm):
    """An earlier, unrelated update failed (its FailureReason stays); the start is killed after its status
    write, before its UpdateEndpoint: the next pass makes the start again, and the rollout finishes."""
    target = deploy(sm)
    clock = Clock()
    with endpoint_updates_fail("an earlier update: insufficient capacity for ml.g5.xlarge", clock):
        sm.update_endpoint(EndpointName=E, EndpointConfigName=f"{E}-cfg-v12")
    assert sm.describe_endpoint(EndpointName=E)["FailureReason"]
    clock.sleep(3600)  # the rollout starts an hour after that failure
    with pytest.raises(Exception, match="killed right after the status write"):
        reconcile_once(spec("aws"), SageMakerDriver(sm, target, crash_at="status"), ScriptedGates(), clock.now)
    clock.sleep(60)
    again = reconcile_once(spec("aws"), SageMakerDriver(sm, target), ScriptedGates(), clock.now)
    assert again.decision.action == "set_traffic" and again.acted
    results = _passes(sm, target, clock, 20)
    assert "rollback" not in {r.decision.action for r in results}
    assert status_tags(sm, E)["phase"] == "finished"


def test_a_fleet_pass_sees_the_failure_in_the_search_record(sm):
    target = deploy(sm)
    clock = Clock()
    with endpoint_updates_fail(WHY, clock):
        _passes(sm, target, clock, 1)  # the start, failed
    driver = SageMakerDriver(sm, target)
    found = driver.observe_many([driver])[0]
    observed = found() if callable(found) else found
    assert observed is not None and observed.not_ready is not None
    assert observed.not_ready.failed and observed.not_ready.why == WHY
    assert observed.not_ready.revision == f"{E}-cfg-v12"
