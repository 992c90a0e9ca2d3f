"""Test support for rollout simulations: a settable clock and scripted gates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlops_infra.rollout.model import GateReading, RolloutSpec

STEPS = (2, 5, 10, 25, 75, 100)
BAKE = 600


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1.0)


@dataclass
class ScriptedGates:
    """Gate readings decided by a function of the current traffic share (set by the test)."""

    decide: Callable[[int | None], str] = lambda percent: "ok"
    percent: Callable[[], int | None] = lambda: None
    reads: list[str] = field(default_factory=list)

    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]:
        state = self.decide(self.percent())
        self.reads.append(state)
        return [GateReading(name, state, 0.42 if state == "firing" else 0.01) for name in spec.gates]  # type: ignore[arg-type]


def spec(target: str = "kubernetes", gates: tuple[str, ...] = ("scorer-latency",), timeout: int = 900) -> RolloutSpec:
    return RolloutSpec("scorer", "canary", STEPS, BAKE, gates, timeout, target)


def race(rollout: RolloutSpec, drivers: list, gates, now: float) -> list:
    """One pass by each driver at once: all observe, then all act (a barrier between the two)."""
    import threading

    from mlops_infra.rollout.runner import reconcile_once

    barrier = threading.Barrier(len(drivers))
    results: list = [None] * len(drivers)

    class Synchronised:
        def __init__(self, inner) -> None:
            self.inner = inner

        def observe(self):
            observed = self.inner.observe()
            barrier.wait(10)
            return observed

        def act(self, decision, observed, at):
            return self.inner.act(decision, observed, at)

    def one(i: int) -> None:
        results[i] = reconcile_once(rollout, Synchronised(drivers[i]), gates, now)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(drivers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results


def race_outcomes(results: list) -> list[str]:
    return sorted("acted" if r.acted else "lost" if r.lost else "idle" for r in results)
