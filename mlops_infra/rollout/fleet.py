"""One reconcile pass over many endpoints at once, with bounded concurrency.

What a scheduled reconciler (and ``apply`` after a release of many endpoints) runs. Contract of
:func:`reconcile_fleet`:
- Each endpoint's pass is the same as :func:`~mlops_infra.rollout.runner.reconcile_once` (its own
  status, its own concurrency token), in three phases: observe every endpoint, read the gates of those
  with a rollout in progress, then decide and act for each.
- Observing and acting run on a thread pool of ``max_workers`` threads: bounded, because the cloud
  API's request rate, not the CPU, is the limit.
- Observations are read in batches where the driver can: members whose drivers have a ``batch_key``
  (equal keys: one client) are observed together by the first one's ``observe_many(drivers)``
  (:meth:`~mlops_infra.rollout.drivers.sagemaker.SageMakerDriver.observe_many`: SageMaker ``Search``,
  100 endpoints per call), which answers per driver an :class:`Observed`, a callable completing it
  (run on the pool), or None (observed alone with ``observe``). A batch read that raises (say, the
  caller may not ``Search``) falls back to observing each member alone. A batch observation is an
  observation like any other: each driver's ``act`` still compares before it writes.
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
        observed = _observe(members, pool, guarded)
        readings = _read_gates(members, observed, now, errors)
        passes: list[Pass | None] = list(pool.map(
            lambda i: None if observed[i] is None or i in errors else guarded(i, lambda: decide_and_act(
                members[i].spec, members[i].driver, observed[i], readings.get(i, []), now)), range(len(members))))
    return [FleetResult(m.spec.endpoint, passes[i], errors.get(i, "")) for i, m in enumerate(members)]


def _observe(members: Sequence[Member], pool: ThreadPoolExecutor,
             guarded: Callable[[int, Callable[[], Any]], Any]) -> list[Observed | None]:
    """Each member's observation (None: its error is recorded by ``guarded``), batched where the
    drivers can (see the module contract)."""
    work: list[Callable[[], Any]] = [m.driver.observe for m in members]
    groups: dict[Any, list[int]] = {}
    for index, member in enumerate(members):
        key = getattr(member.driver, "batch_key", None)
        if key is not None and hasattr(member.driver, "observe_many"):
            groups.setdefault(key, []).append(index)
    done: dict[int, Observed] = {}
    for indexes in groups.values():
        drivers = [members[i].driver for i in indexes]
        try:
            answers = drivers[0].observe_many(drivers)  # type: ignore[attr-defined]
        except Exception:  # the batch read failed: observe each member alone
            continue
        for index, answer in zip(indexes, answers, strict=True):
            if isinstance(answer, Observed):
                done[index] = answer
            elif answer is not None:
                work[index] = answer
    rest = [i for i in range(len(members)) if i not in done]
    for index, seen in zip(rest, pool.map(lambda i: guarded(i, work[i]), rest), strict=True):
        if seen is not None:
            done[index] = seen
    return [done.get(i) for i in range(len(members))]


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
                seen = observed[i]
                out[i] = reader.read(members[i].spec, since, now, seen.canary if seen is not None else None)
            except Exception as exc:
                errors[i] = _failure(exc)
    return out
