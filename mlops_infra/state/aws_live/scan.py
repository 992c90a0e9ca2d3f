"""The scan: :func:`scan_aws` groups the readable resources into units of work
(:func:`plan_units`), runs them on a bounded thread pool with retries, and assembles the
:class:`~mlops_infra.state.model.LiveState` (see the package docstring for the contract).
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.progress import NO_PROGRESS, ProgressReporter
from mlops_infra.state.aws_live import account as accounts
from mlops_infra.state.aws_live import tagging
from mlops_infra.state.aws_live.concurrency import AdaptiveLimit
from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.registry import READERS
from mlops_infra.state.aws_live.retry import (
    RetryPolicy,
    call_with_retry,
    classify,
    describe_error,
    error_code,
    is_not_found,
    is_throttling,
)
from mlops_infra.state.model import LiveState, StateResource

CONNECT_TIMEOUT = 5
"""Seconds to open a connection (botocore ``connect_timeout``)."""
READ_TIMEOUT = 10
"""Seconds of silence on an open connection before a read fails (botocore ``read_timeout``)."""
DEFAULT_DEADLINE = 30.0
"""Seconds the whole scan may take, plus :data:`DEADLINE_PER_RESOURCE` for each resource to read
(``plan --refresh-timeout``, ``MLOPS_INFRA_REFRESH_TIMEOUT`` replace the sum)."""
DEADLINE_PER_RESOURCE = 0.02
"""Seconds added to the default deadline per readable resource: a large stack is not cut off. The
scan takes a few ms per resource against moto here (``benchmarks/bench_live_scan.py`` prints its
figures) and a few ms against AWS with 8 reads in flight (~0.6 calls per resource at 20-50 ms each),
so 20 ms leaves several times that for throttling; 18,000 resources (a 1,000-endpoint system) get 390 s."""


def default_deadline(readable: int) -> float:
    """The scan's deadline in seconds when none is given: :data:`DEFAULT_DEADLINE` plus
    :data:`DEADLINE_PER_RESOURCE` for each of ``readable`` resources."""
    return DEFAULT_DEADLINE + DEADLINE_PER_RESOURCE * readable


@dataclass(frozen=True, slots=True)
class _Unit:
    """One unit of work for the pool: one resource, or a batch for a ``read_many`` reader."""

    reader: Reader
    region: str
    resources: tuple[StateResource, ...]


def _provider_regions(resources: Sequence[StateResource]) -> dict[str, str]:
    """Provider URN -> its ``region`` input, for providers among the scanned resources."""
    return {
        r.urn: r.inputs["region"] for r in resources
        if r.type.startswith("pulumi:providers:") and isinstance(r.inputs.get("region"), str)
    }


def _region_for(resource: StateResource, providers: Mapping[str, str], default: str) -> str:
    own = resource.inputs.get("region")
    if isinstance(own, str) and own:
        return own
    return providers.get(resource.provider or "", default)  # the provider's URN (the state reader split it)


def _readable(resource: StateResource) -> bool:
    return (resource.custom and resource.id is not None and resource.id != ""
            and not resource.type.startswith("pulumi:providers:") and resource.type in READERS)


def plan_units(resources: Sequence[StateResource], region: str) -> list[_Unit]:
    """Group the readable resources into units: one per resource, or batches of ``batch_size``
    per (type, region) for readers that read many at once. Deterministic order."""
    providers = _provider_regions(resources)
    groups: dict[tuple[str, str], list[StateResource]] = {}
    for res in sorted(filter(_readable, resources), key=lambda r: r.urn):
        groups.setdefault((res.type, _region_for(res, providers, region)), []).append(res)
    units: list[_Unit] = []
    for (type_, where), members in sorted(groups.items()):
        reader = READERS[type_]
        size = reader.batch_size if reader.read_many else 1
        units.extend(_Unit(reader, where, tuple(members[i:i + size])) for i in range(0, len(members), size))
    return units


def _read_unit(unit: _Unit, ctx: ScanContext) -> dict[str, Reading | None]:
    client = ctx.client(unit.reader.service, unit.region)
    if unit.reader.read_many is not None:
        return unit.reader.read_many(client, unit.resources, ctx)
    res = unit.resources[0]
    assert unit.reader.read_one is not None, "reader without read function (this is a bug in mlops-infra)"
    return {res.urn: unit.reader.read_one(client, res, ctx)}


def _run_unit(unit: _Unit, ctx: ScanContext, progress: ProgressReporter = NO_PROGRESS,
              stop: Callable[[], bool] = lambda: False) -> tuple[dict[str, Reading | None], dict[str, Failure]]:
    """Read one unit; returns (readings with ``None`` = missing, failures by URN). Reports the
    unit's resources as done, each throttled try and each failed resource to ``progress``."""
    try:
        found, failed = _read_unit_reporting(unit, ctx, progress, stop)
    finally:
        progress.advance(len(unit.resources))
    if failed:
        progress.count("failed", len(failed))
    return found, failed


Failure = tuple[str, str, str]
"""(cause, code, scrubbed message) of a failed read."""


def _read_unit_reporting(unit: _Unit, ctx: ScanContext, progress: ProgressReporter,
                         stop: Callable[[], bool] = lambda: False) -> tuple[dict[str, Reading | None], dict[str, Failure]]:
    def attempt() -> dict[str, Reading | None]:
        try:
            return _read_unit(unit, ctx)
        except Exception as error:
            if is_throttling(error):
                progress.count("throttled")
            raise

    try:
        return call_with_retry(attempt, ctx.retry, stop), {}
    except Exception as error:
        if is_not_found(error) and len(unit.resources) == 1:
            return {unit.resources[0].urn: None}, {}
        cause, code = classify(error)
        message = describe_error(error)
        if cause == "other" and not (error_code(error) or _is_botocore_error(error)):
            message += " (this is a bug in mlops-infra)"
        return {}, {r.urn: (cause, code, message) for r in unit.resources}


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError

    return isinstance(error, BotoCoreError)


def _botocore_config(max_workers: int, endpoint_url: str | None, retry: RetryPolicy) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": retry.botocore_max_attempts},
        max_pool_connections=max(10, max_workers),
        connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )


def _default_session() -> Any:
    import boto3

    return boto3.Session()


def scan_aws(resources: Iterable[StateResource], *, region: str, session_factory: Callable[[], Any] | None = None,
             endpoint_url: str | None = None, max_workers: int = 8,
             retry: RetryPolicy | None = None, progress: ProgressReporter = NO_PROGRESS,
             deadline: float | None = None, account: str | None = None, environment: str = "") -> LiveState:
    """Read every readable resource live and return a :class:`LiveState` (see module docstring).

    ``session_factory`` returns a ``boto3.Session`` (called once; default ``boto3.Session()``
    with the usual credential chain); ``endpoint_url`` points every client at one endpoint (a
    moto server in tests). At most ``max_workers`` reads are in flight at once, fewer while more
    do not measurably read faster (:class:`~mlops_infra.state.aws_live.concurrency.AdaptiveLimit`:
    a larger ``max_workers`` is never slower). ``progress`` (:mod:`mlops_infra.progress`) hears the
    number of readable resources, each one read, throttled tries, failures, and the number of reads
    in flight as a status (``"<n> reads in flight"``) whenever it changes. ``deadline`` bounds the
    whole scan in seconds (default :func:`default_deadline` of the readable resources): what is not
    read by then fails with cause ``timeout`` (code ``DeadlineExceeded``) and the scan returns at
    once; the reads still in flight run on daemon threads that never hold the process open.

    ``account`` (the environment's ``target.account``; ``environment`` names it in the error): before any
    read, the scan's session asks STS whose credentials it has (:func:`.account.caller_account`,
    ``GetCallerIdentity``, within the deadline) and raises :class:`.account.WrongAccount` (a UserError: exit 1)
    when they are another account's: every resource would read "not found" there and be reported deleted
    (audit envs-7). When the question itself fails (no credentials, AWS unreachable) or finds no answer
    within the deadline, the scan goes on: its reads fail the same way and are reported by cause, as always.

    The cyclic garbage collector is paused while scanning and restored afterwards, as the compiler
    and the planner do: the scan allocates many short-lived acyclic objects (requests, responses,
    readings) that reference counting frees, and collections would only walk the caller's heap
    again and again; the few cycles a scan leaves (its session and clients) are collected after.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(resources, region, session_factory, endpoint_url, max_workers, retry, progress, deadline,
                     (account, environment))
    finally:
        if was_enabled:
            gc.enable()


def _scan(resources: Iterable[StateResource], region: str, session_factory: Callable[[], Any] | None,
          endpoint_url: str | None, max_workers: int, retry: RetryPolicy | None, progress: ProgressReporter,
          deadline: float | None, expected: tuple[str | None, str] = (None, "")) -> LiveState:
    retry = retry or RetryPolicy()
    units = plan_units(list(resources), region)
    readable = sum(len(u.resources) for u in units)
    progress.set_total(readable)
    deadline = default_deadline(readable) if deadline is None else deadline
    ctx = ScanContext(session_factory or _default_session, endpoint_url,
                      _botocore_config(max_workers, endpoint_url, retry), retry)
    readings: dict[str, Reading | None] = {}
    failures: dict[str, Failure] = {}
    end = time.monotonic() + deadline
    if expected[0] and units:
        _check_account(ctx, region, expected[0], expected[1], deadline)
    remaining = max(0.0, end - time.monotonic())
    clients_made = _make_clients(ctx, units)
    limit = AdaptiveLimit(max_workers, work=ctx.calls, ready=clients_made.is_set, total=len(units))
    finished = _run_with_deadline(units, lambda u, stop: _run_unit(u, ctx, progress, stop),
                                  _Reporting(limit, progress), remaining)
    for index, unit in enumerate(units):
        if index in finished:
            found, failed = finished[index]
            readings.update(found)
            failures.update(failed)
        else:
            failures.update({r.urn: _timed_out(deadline) for r in unit.resources})
    before = len(failures)
    _add_tags(units, readings, failures, ctx, max_workers, max(0.0, end - time.monotonic()), deadline)
    if len(failures) > before:
        progress.count("failed", len(failures) - before)
    return _live_state(units, readings, failures)


def _check_account(ctx: ScanContext, region: str, account: str, environment: str, deadline: float) -> None:
    """Raise :class:`.account.WrongAccount` when the scan's credentials are of another account than ``account``
    (``GetCallerIdentity`` on a daemon thread, waited for at most ``deadline`` seconds); nothing when they are
    ``account``'s or the question fails or is not answered in time (the reads then fail and say why)."""
    answer: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def ask() -> None:
        try:
            answer.put(accounts.caller_account(ctx.client("sts", region)))
        except Exception:  # no credentials, unreachable: the resource reads report it, by cause
            answer.put(None)

    threading.Thread(target=ask, name="aws-live-account", daemon=True).start()
    try:
        caller = answer.get(timeout=max(deadline, 0.001))
    except queue.Empty:
        return
    if caller is not None and caller != account:
        raise accounts.wrong_account(
            caller, account, environment or "?", region, doing="live AWS reads",
            nothing="Nothing was read: every resource of the environment would read \"not found\" in another "
                    "account and look deleted.")


def _timed_out(deadline: float) -> Failure:
    return ("timeout", "DeadlineExceeded", f"not read within the {deadline:g} s deadline")


@dataclass(frozen=True, slots=True)
class _TagUnit:
    """The tags of up to :data:`~.tagging.ARNS_PER_CALL` read resources of one region: (URN, ARN) pairs."""

    region: str
    resources: tuple[tuple[str, str], ...]


def plan_tag_units(units: Sequence[_Unit], readings: Mapping[str, Reading | None]) -> list[_TagUnit]:
    """The tag reads after the resource reads: the resources read (not gone, not failed) of the
    types whose reader says ``tags``, by region, :data:`~.tagging.ARNS_PER_CALL` ARNs (the
    reading's ``outputs.arn``) per unit. Deterministic order."""
    by_region: dict[str, list[tuple[str, str]]] = {}
    for unit in units:
        if not unit.reader.tags:
            continue
        for res in unit.resources:
            reading = readings.get(res.urn)
            arn = reading.outputs.get("arn") if reading is not None else None
            if isinstance(arn, str) and arn:
                by_region.setdefault(unit.region, []).append((res.urn, arn))
    return [_TagUnit(region, tuple(pairs[i:i + tagging.ARNS_PER_CALL]))
            for region, pairs in sorted(by_region.items()) for i in range(0, len(pairs), tagging.ARNS_PER_CALL)]


def _add_tags(units: Sequence[_Unit], readings: dict[str, Reading | None], failures: dict[str, Failure],
              ctx: ScanContext, max_workers: int, remaining: float, deadline: float) -> None:
    """Read the tags :func:`plan_tag_units` plans, within ``remaining`` seconds, into ``readings``
    (``inputs.tags``). A resource whose tags were not read fails as its read would (its other
    properties are not reported without them: a reading without ``tags`` would be compared as
    untagged). A tag-read resource without an ARN in its reading is a bug."""
    for unit in units:
        for res in unit.resources:
            reading = readings.get(res.urn)
            if unit.reader.tags and reading is not None and not reading.outputs.get("arn"):
                failures[res.urn] = ("other", "NoArn", "the read gave no ARN to read the tags by "
                                                       "(this is a bug in mlops-infra)")
    tag_units = plan_tag_units(units, readings)
    if not tag_units:
        return
    if remaining <= 0:
        failures.update({urn: _timed_out(deadline) for unit in tag_units for urn, _ in unit.resources})
        return
    limit = AdaptiveLimit(max_workers, work=ctx.calls, total=len(tag_units))
    finished = _run_with_deadline(tag_units, lambda u, stop: _run_tag_unit(u, ctx, stop),
                                  _Reporting(limit, NO_PROGRESS), remaining)
    for index, unit in enumerate(tag_units):
        tags, failure = finished.get(index, (None, _timed_out(deadline)))
        for urn, arn in unit.resources:
            reading = readings[urn]
            if failure is not None or tags is None or reading is None:
                failures[urn] = failure or _timed_out(deadline)
            else:
                readings[urn] = Reading({**reading.inputs, "tags": tags[arn]}, reading.outputs)


def _run_tag_unit(unit: _TagUnit, ctx: ScanContext,
                  stop: Callable[[], bool]) -> tuple[dict[str, dict[str, str]] | None, Failure | None]:
    """``GetResources`` for one tag unit, retried on throttling: (tags by ARN, None) or (None, the failure)."""
    client = ctx.client(tagging.SERVICE, unit.region)
    try:
        return call_with_retry(lambda: tagging.read_tags(client, [arn for _, arn in unit.resources]),
                               ctx.retry, stop), None
    except Exception as error:
        cause, code = classify(error)
        return None, (cause, code, f"tags: {describe_error(error)}")


def _make_clients(ctx: ScanContext, units: Sequence[_Unit]) -> threading.Event:
    """Make the clients the units need, in their order, on a daemon thread beside the readers (a
    reader needing one that is being made waits for it); the event is set once all exist or failed
    (a failure is left to the reader that needs the client: it fails again there, classified)."""
    done = threading.Event()
    pairs = list(dict.fromkeys((u.reader.service, u.region) for u in units))

    def make() -> None:
        try:
            for service, region in pairs:
                with contextlib.suppress(Exception):
                    ctx.client(service, region)
        finally:
            done.set()

    threading.Thread(target=make, name="aws-live-clients", daemon=True).start()
    return done


class _Reporting:
    """An :class:`AdaptiveLimit` that tells ``progress`` the reads in flight whenever they change."""

    def __init__(self, limit: AdaptiveLimit, progress: ProgressReporter) -> None:
        self.limit, self._progress, self._shown = limit, progress, 0
        self._show()

    @property
    def ceiling(self) -> int:
        return self.limit.ceiling

    def acquire(self, give_up: Callable[[], bool]) -> bool:
        return self.limit.acquire(give_up)

    def release(self) -> None:
        self.limit.release()
        self._show()

    def close(self) -> None:
        self.limit.close()

    def _show(self) -> None:
        if self.limit.limit != self._shown:
            self._shown = self.limit.limit
            self._progress.status(f"{self._shown} reads in flight")


def _run_with_deadline(units: Sequence[_Unit], run: Callable[[_Unit, Callable[[], bool]], Any],
                       limit: _Reporting, deadline: float) -> dict[int, Any]:
    """``run(unit, stop)`` for every unit on at most ``limit.ceiling`` daemon threads, with at most
    ``limit``'s current limit running at once; the results that arrived before ``deadline``
    seconds, by unit index. ``stop()`` turns true at the deadline."""
    if not units:
        return {}
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(units)):
        todo.put(index)
    results: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    expired = threading.Event()

    def worker() -> None:
        while not expired.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            if not limit.acquire(expired.is_set):
                return
            try:
                results.put((index, run(units[index], expired.is_set)))
            finally:
                limit.release()

    for n in range(min(limit.ceiling, len(units))):
        threading.Thread(target=worker, name=f"aws-live-{n}", daemon=True).start()
    finished = results_until(results, len(units), time.monotonic() + deadline)
    expired.set()
    limit.close()
    return finished


def results_until(results: queue.SimpleQueue[tuple[int, Any]], count: int, end: float) -> dict[int, Any]:
    """The ``(index, result)`` pairs ``results`` gives before ``end`` (a ``time.monotonic()`` time), by
    index, at most ``count`` of them: what a scan's daemon readers finished by its deadline (this
    scan's and the Kubernetes one, :func:`mlops_infra.state.kube_live.scan_kubernetes`)."""
    finished: dict[int, Any] = {}
    while len(finished) < count:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, result = results.get(timeout=remaining)
        except queue.Empty:
            break
        finished[index] = result
    return finished


def _live_state(units: Sequence[_Unit], readings: Mapping[str, Reading | None],
                failures: Mapping[str, Failure]) -> LiveState:
    live: dict[str, StateResource] = {}
    missing: set[str] = set()
    for res in sorted((r for u in units for r in u.resources), key=lambda r: r.urn):
        if res.urn in failures or res.urn not in readings:
            continue
        reading = readings[res.urn]
        if reading is None:
            missing.add(res.urn)
            continue
        live[res.urn] = StateResource(urn=res.urn, type=res.type, custom=True, id=res.id, parent=res.parent,
                                      provider=res.provider, inputs=reading.inputs, outputs=reading.outputs)
    ordered = sorted(failures.items())
    return LiveState(resources=live, missing=frozenset(missing), errors={u: f[2] for u, f in ordered},
                     failures={u: (f[0], f[1]) for u, f in ordered})
