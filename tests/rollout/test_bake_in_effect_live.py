"""Live: every share of a canary is served InService for the whole bake before the next step (audit spec-1).

The real SageMaker driver, reconcile and ``watch`` against the patched moto server, whose endpoint updates
stay ``Updating`` for ``UPDATE`` seconds (``tests/support/moto_server.endpoint_updates_take``, as
SageMaker does after ``UpdateEndpointWeightsAndCapacities``: botocore "sets the endpoint status to
``Updating``. After updating the endpoint, it sets the status to ``InService``"), on a wall clock scaled
down: bake 2 s, each update 1.2 s. The rules themselves: ``test_bake_in_effect.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.model import Observed, RolloutSpec
from mlops_infra.rollout.runner import Watch, watch
from tests.rollout.aws_world import deploy, status_tags
from tests.rollout.sim import STEPS, ScriptedGates
from tests.support.moto_server import endpoint_updates_take

pytestmark = pytest.mark.moto


@dataclass
class Recording:
    """The SageMaker driver, with the time of each observation and of each traffic change it makes."""

    inner: SageMakerDriver
    observed: list[tuple[float, bool, int | None]] = field(default_factory=list)
    moves: list[tuple[float, int | None]] = field(default_factory=list)

    def observe(self) -> Observed:
        at = time.monotonic()
        seen_now = self.inner.observe()
        self.observed.append((at, seen_now.ready, seen_now.percent))
        return seen_now

    def act(self, decision, observed, now) -> None:
        if decision.action in ("set_traffic", "finish"):
            self.moves.append((time.monotonic(), decision.percent))
        self.inner.act(decision, observed, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


LIVE_BAKE = 2
UPDATE = 1.2
SLACK = 0.1
"""A pass reads its clock just before its DescribeEndpoint: the first observation InService can be up
to one call later than the time the pass recorded (moto answers in milliseconds)."""


def test_every_share_is_observed_in_service_for_the_whole_bake_before_the_next_step(sm) -> None:
    """Each update stays Updating for 1.2 s and the bake is 2 s: the next step's traffic call comes at
    least the bake after the first pass that observed the endpoint InService at the step's share (the
    controller cannot know sooner that it was), not 0.8 s after, as when the bake ran from the call."""
    target = deploy(sm)
    rollout = RolloutSpec("scorer", "canary", STEPS, LIVE_BAKE, ("scorer-latency",), 900, "aws")
    driver = Recording(SageMakerDriver(sm, target))
    with endpoint_updates_take(UPDATE):
        last = watch(rollout, driver, ScriptedGates(), Watch(poll_seconds=0.05, max_passes=2000))
    assert last.decision.action == "none" and status_tags(sm, "fraud-prod-scorer")["phase"] == "finished"
    assert [p for _, p in driver.moves][-len(STEPS):] == [*STEPS[1:], 100]  # ... 75, 100, then the finish
    served = []  # per share: from its first observation InService to the next traffic call
    then = (*STEPS[1:], 100)  # the share each step moves to next (after 100%: the finish, 100)
    for share, following_share in zip(STEPS, then, strict=True):
        first = next(at for at, ready, percent in driver.observed if ready and percent == share)
        following = next(at for at, p in driver.moves if at > first and p == following_share)
        served.append(round(following - first, 2))
    assert all(s >= LIVE_BAKE - SLACK for s in served), served
    assert all(s < LIVE_BAKE + UPDATE for s in served), served  # the bake is not lengthened by the update
