"""One reconcile pass over many endpoints at once, with bounded concurrency.

What a scheduled reconciler (and ``apply`` after a release of many endpoints) runs. Contract of
:func:`reconcile_fleet`:
- Each endpoint's pass is the same as :func:`~mlops_infra.rollout.runner.reconcile_once` (its own
  status, its own concurrency token), in three phases: observe every endpoint, read the gates of those
  with a rollout in progress, then decide and act for each.
- Observing and acting run on a thread pool of ``max_workers`` threads: bounded, because the cloud
  API's request rate, not the CPU, is the limit.
- Gates are read in batches: members sharing one gate reader that has ``read_many(requests, now)``
  (:class:`~mlops_infra.rollout.gates.cloudwatch.CloudWatchGates`: 100 alarms per DescribeAlarms,
  500 queries per GetMetricData) are read together; other readers are read one member at a time.
- A member whose pass raises is reported with its error and never stops the others; results come in
  the members' order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec
from mlops_infra.rollout.runner import Driver, GateReader, Pass, decide_and_act, gate_window


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


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def reconcile_fleet(members: Sequence[Member], now: float, *, max_workers: int = 16) -> list[FleetResult]:
    """One pass per member (see the module contract)."""
    errors: dict[int, str] = {}

    def guarded(index: int, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception as exc:  # one endpoint's failure must not stop the fleet
            errors[index] = _failure(exc)
            return None

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        observed: list[Observed | None] = list(pool.map(
            lambda i: guarded(i, members[i].driver.observe), range(len(members))))
        readings = _read_gates(members, observed, now, errors)
        passes: list[Pass | None] = list(pool.map(
            lambda i: None if observed[i] is None or i in errors else guarded(i, lambda: decide_and_act(
                members[i].spec, members[i].driver, observed[i], readings.get(i, []), now)), range(len(members))))
    return [FleetResult(m.spec.endpoint, passes[i], errors.get(i, "")) for i, m in enumerate(members)]


def _read_gates(members: Sequence[Member], observed: Sequence[Observed | None], now: float,
                errors: dict[int, str]) -> dict[int, list[GateReading]]:
    wanted: dict[int, list[tuple[int, float]]] = {}  # id(reader) -> [(member index, step start)]
    readers: dict[int, GateReader] = {}
    for index, seen in enumerate(observed):
        since = gate_window(seen) if seen is not None else None
        if since is not None:
            reader = members[index].gates
            readers[id(reader)] = reader
            wanted.setdefault(id(reader), []).append((index, since))
    out: dict[int, list[GateReading]] = {}
    for key, items in wanted.items():
        reader = readers[key]
        read_many = getattr(reader, "read_many", None)
        try:
            if read_many is not None:
                answers = read_many([(members[i].spec, since) for i, since in items], now)
                out.update({i: list(a) for (i, _), a in zip(items, answers, strict=True)})
                continue
        except Exception as exc:  # a reader must not raise; if it does, its members report it
            errors.update(dict.fromkeys((i for i, _ in items), _failure(exc)))
            continue
        for i, since in items:
            try:
                out[i] = reader.read(members[i].spec, since, now)
            except Exception as exc:
                errors[i] = _failure(exc)
    return out
