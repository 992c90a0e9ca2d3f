"""Both drivers keep ``pending_since`` with the rest of the rollout status (audit closing-33b-3).

Rule 8's pending bound counts from the first pass after the bake that read a gate pending
(``rollout/reconcile.py``); each pass is a new process (the CronJob / Lambda runner), so the time
lives only in the status the driver stores: ``pending-since``, a tag on the SageMaker endpoint
(``mlops-infra:rollout:pending-since``) here on a moto server, beside the other status fields and
within the driver's tag budget (``endpoint_tags.py``). The KServe driver's ConfigMap is checked in
``test_pending_bound.py`` against a real Prometheus. An unreadable pass removes it (``blind-since``
takes its place), and the next pending reading starts the count again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mlops_infra.endpoint_tags import DRIVER_MAX_TAGS
from mlops_infra.rollout.model import GateReading, RolloutSpec
from tests.rollout.aws_world import status_tags
from tests.rollout.sim import BAKE
from tests.rollout.test_driver_tag_budget import SMALL, E, new_world

pytestmark = pytest.mark.moto
HOLD = 2 * (300 + 60)


@dataclass
class Gates:
    """Every gate reads ``state`` (pending with a bound of ``HOLD``)."""

    state: str = "ok"

    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]:
        if self.state == "pending":
            return [GateReading(name, "pending", 0.4, "alert pending", hold=HOLD) for name in spec.gates]
        return [GateReading(name, self.state, detail="cannot read" if self.state == "unreadable" else "")  # type: ignore[arg-type]
                for name in spec.gates]


def test_the_sagemaker_driver_stores_pending_since_in_the_endpoint_tags(moto_url) -> None:
    world = new_world(moto_url)
    target, gates = world.target(13, SMALL), Gates("pending")
    for _ in range(BAKE // 60 + 3):  # start, in effect, bake at 2%: a pending gate does not hold a bake
        world.one_pass(target, gates)
        if "pending-since" in status_tags(world.sm, E):
            break
        world.clock.sleep(60)
    first = world.clock.now
    tags = status_tags(world.sm, E)
    assert tags["pending-since"] == f"{first:.3f}" and tags["step"] == "0" and "blind-since" not in tags
    world.clock.sleep(60)
    assert world.one_pass(target, gates).decision.next_check == first + HOLD  # read back from the tags
    gates.state = "unreadable"
    world.clock.sleep(60)
    assert world.one_pass(target, gates).decision.action == "hold"
    tags = status_tags(world.sm, E)
    # closing-33d-1: an unreadable pass keeps the pending count (no blind-since beside it)
    assert tags["pending-since"] == f"{first:.3f}" and "blind-since" not in tags
    gates.state = "pending"
    world.clock.sleep(60)
    assert world.one_pass(target, gates).decision.next_check == first + HOLD  # not anew
    again = first
    while world.clock.now < again + HOLD:
        world.clock.sleep(60)
        result = world.one_pass(target, gates)
    assert result.decision.action == "rollback"
    assert result.decision.status.reason.startswith("held 12m00s by pending alert budget-latency")
    tags = status_tags(world.sm, E)
    assert tags["phase"] == "rolled_back" and "pending-since" not in tags
    assert world.peak <= DRIVER_MAX_TAGS
