"""One reconcile pass (observe, read gates, decide, act) and the loop around it.

Contract:
- A :class:`Driver` owns one endpoint: :meth:`Driver.observe` returns :class:`Observed` (with a
  concurrency token); :meth:`Driver.act` carries out a :class:`Decision` only if the endpoint still
  matches that observation, else raises :class:`Lost` (another reconciler acted first: the pass does
  nothing more; the next pass observes again), or :class:`RollbackImpossible` when the endpoint is in a state
  it cannot carry the decision out from (what happened, the traffic as the endpoint serves it, what to do:
  ``mlops-infra rollout`` prints it as an error, exit 1, no traceback; the scheduled runner logs it as the
  endpoint's error).
- A :class:`GateReader` reads the spec's gates for a step window, judging the new version by its own
  series (``canary``: ``Observed.canary``, the Knative revision serving it; AWS readers know the
  canary variant from the plan); it never raises for a cloud answer: an error is an ``unreadable``
  reading.
- :func:`reconcile_once` is one pass; gates are read only while a rollout is in progress
  (:func:`gate_window`); :func:`decide_and_act` is its second half, for callers that observe and
  read gates themselves (a fleet pass batches the gate reads).
- When the decision is ``none`` (settled: finished, rolled back or aborted), a driver that has
  ``tidy(observed, now)`` deletes what it kept for a rollback once that is due (SageMaker: the previous
  versions' models and configs, see ``drivers/sagemaker.py``); the pass reports what it deleted
  (``Pass.tidied``).
- A rollback the controller makes on its own (a gate fired, or stayed unreadable past
  ``gate_timeout``, or a new KServe revision failed or never became ready, or SageMaker could not
  carry out the rollout's own update: action ``rollback`` writing phase ``rolled_back``) is written
  with its notice
  pending (:func:`announce`: ``RolloutStatus.notice`` = ``pending``), whoever makes the pass (the
  scheduled runner, ``mlops-infra rollout``, ``--watch``): the scheduled runner sends the notice of any
  such status and records it sent (``rollout/scheduled.py``, "Rollback notices"), so a rollback made
  from a terminal, or completed by a later pass, is told too. An operator's ``--abort`` (phase
  ``aborted``) has no notice.
- :func:`watch` repeats passes until the rollout is in a terminal phase (or ``max_passes``), sleeping
  until the decision's ``next_check`` (at most ``poll_seconds``); ``clock`` and ``sleep`` are
  injectable, so a test runs hours of bake instantly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from mlops_infra.rollout.model import NOTICE_PENDING, Decision, GateReading, Observed, RolloutSpec
from mlops_infra.rollout.reconcile import Command, reconcile


class Lost(Exception):
    """The endpoint changed since it was observed: another reconciler acted first."""


class RollbackImpossible(Exception):
    """A decision the driver cannot carry out on the endpoint as it is (SageMaker: a rolled-back or aborted
    status over an endpoint with no rollout config to go back to, ``drivers/sagemaker.py`` **Races**).
    ``what``: what happened; ``traffic``: the split the endpoint serves now (each variant's version and share);
    ``fix``: what the operator can do. ``str()`` says all three, for a log line."""

    def __init__(self, what: str, traffic: str, fix: str) -> None:
        super().__init__(f"{what}; traffic now: {traffic}; {fix}")
        self.what, self.traffic, self.fix = what, traffic, fix


class Driver(Protocol):
    def observe(self) -> Observed: ...

    def act(self, decision: Decision, observed: Observed, now: float) -> None: ...


class GateReader(Protocol):
    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]: ...


class NoGates:
    """A rollout without ``rollback_on``: nothing to read."""

    def read(self, spec: RolloutSpec, since: float, now: float, canary: str | None = None) -> list[GateReading]:
        return []


@dataclass(frozen=True)
class Pass:
    """The outcome of one pass: what was seen, read and decided, and whether it was carried out
    (``lost``: another reconciler acted first)."""

    observed: Observed
    gates: list[GateReading]
    decision: Decision
    acted: bool
    lost: bool = False
    tidied: tuple[str, ...] = ()


def gate_window(observed: Observed, command: Command = None) -> float | None:
    """When the current step started, if the gates must be read for this observation (a rollout of
    the observed revision in progress, and no abort); None: no gates to read. The readers count the
    step's requests from there; the CloudWatch reader reads the canary variant's series from one
    period earlier, so the previous step's last minute, published after the pass that moved on, is
    judged (``gates/cloudwatch.py``, audit rolloutaws-8)."""
    status = observed.status
    if status is None or status.phase != "progressing" or status.revision != observed.revision or command == "abort":
        return None
    return status.since


def reconcile_once(spec: RolloutSpec, driver: Driver, gates: GateReader, now: float,
                   command: Command = None) -> Pass:
    observed = driver.observe()
    since = gate_window(observed, command)
    readings = gates.read(spec, since, now, observed.canary) if since is not None else []
    return decide_and_act(spec, driver, observed, readings, now, command)


def decide_and_act(spec: RolloutSpec, driver: Driver, observed: Observed, readings: list[GateReading], now: float,
                   command: Command = None) -> Pass:
    """The second half of a pass: decide from what was observed and read, then act (see the contract)."""
    decision = announce(reconcile(spec, observed, readings, now, command))
    if not decision.changes_anything:
        tidy = getattr(driver, "tidy", None)
        tidied = tuple(tidy(observed, now)) if tidy is not None and decision.action == "none" else ()
        return Pass(observed, readings, decision, acted=False, tidied=tidied)
    try:
        driver.act(decision, observed, now)
    except Lost:
        return Pass(observed, readings, decision, acted=False, lost=True)
    return Pass(observed, readings, decision, acted=True)


def rolls_back_on_its_own(decision: Decision) -> bool:
    """Whether ``decision`` is a rollback the controller makes on its own (a gate fired, stayed
    unreadable past ``gate_timeout``, the new revision never became ready, or SageMaker could not carry
    out the rollout's update): action ``rollback`` writing phase ``rolled_back``; an ``--abort`` writes
    ``aborted``."""
    return (decision.action == "rollback" and decision.status is not None
            and decision.status.phase == "rolled_back")


def announce(decision: Decision) -> Decision:
    """``decision`` with its rollback notice pending when it rolls the rollout back on its own (see the
    contract); the status it writes keeps no ``blind_since`` (no gate is read once rolled back)."""
    if not rolls_back_on_its_own(decision):
        return decision
    return replace(decision, status=decision.status.evolve(notice=NOTICE_PENDING, blind_since=None))


@dataclass
class Watch:
    """Options of :func:`watch`."""

    poll_seconds: float = 30.0
    max_passes: int | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    on_pass: Callable[[Pass], None] = field(default=lambda p: None)


def finished(p: Pass) -> bool:
    """True when nothing more will happen without a new version or an operator command."""
    return p.decision.action == "none"


def watch(spec: RolloutSpec, driver: Driver, gates: GateReader, options: Watch, command: Command = None) -> Pass:
    """Reconcile until the rollout settles (see the module contract); returns the last pass."""
    passes = 0
    while True:
        result = reconcile_once(spec, driver, gates, options.clock(), command)
        command = None  # an operator command applies to the first pass only
        passes += 1
        options.on_pass(result)
        if finished(result) or (options.max_passes is not None and passes >= options.max_passes):
            return result
        now = options.clock()
        next_check = result.decision.next_check
        delay = options.poll_seconds if next_check is None else min(options.poll_seconds, max(0.0, next_check - now))
        if result.decision.action in ("set_traffic", "record", "rollback", "finish"):
            delay = min(delay, 1.0) if options.poll_seconds >= 1 else delay
        options.sleep(delay)
