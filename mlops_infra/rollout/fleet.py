"""One reconcile pass over many endpoints at once, with bounded concurrency.

What the scheduled reconciler (and ``apply`` after a release of many endpoints) runs: each endpoint's
pass is independent (its own status, its own concurrency token), so passes run on a thread pool of
``max_workers`` threads (bounded: the cloud API's request rate, not the CPU, is the limit). A pass
that raises is reported for its endpoint and never stops the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Driver, GateReader, Pass, reconcile_once


@dataclass(frozen=True)
class Member:
    spec: RolloutSpec
    driver: Driver
    gates: GateReader


@dataclass(frozen=True)
class FleetResult:
    endpoint: str
    result: Pass | None
    error: str = ""


def reconcile_fleet(members: Sequence[Member], now: float, *, max_workers: int = 16) -> list[FleetResult]:
    """One pass per member (see the module contract), in the members' order."""
    def one(member: Member) -> FleetResult:
        try:
            return FleetResult(member.spec.endpoint, reconcile_once(member.spec, member.driver, member.gates, now))
        except Exception as exc:  # one endpoint's failure must not stop the fleet
            return FleetResult(member.spec.endpoint, None, f"{type(exc).__name__}: {exc}"[:300])

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        return list(pool.map(one, members))
