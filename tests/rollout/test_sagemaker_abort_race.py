"""Audit concurrency-6: an ``--abort`` racing a scheduled pass that moves the rollout on (SageMaker).

SageMaker's ``AddTags`` takes no condition, so a pass that compared before the abort and writes its status after
it overwrites the abort's status; SageMaker then refuses that pass's traffic call (one update at a time:
ValidationException "Cannot update in-progress endpoint", modelled by ``endpoint_updates_held``, patch 3 of
tests/support/moto_server.py: an update stays ``Updating`` until the test settles it, so the losing pass meets the
endpoint ``Updating`` however slowly the machine runs it; a wall-clock window ran out under load). Before the fix
the status said ``finished`` over the abort's traffic (all on ``primary``), and the next pass landed the aborted
version on the final config at 100 %. The forced interleaving is
the auditor's (/tmp/conc/audit_conc/test_abort_race.py): the scheduled pass's compare, then the whole abort, then
the scheduled pass's writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from mlops_infra.rollout.drivers.sagemaker import ROLLED_BACK, SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec
from tests.support.moto_server import endpoint_updates_held

pytestmark = pytest.mark.moto
E = "fraud-prod-scorer"


def _walk_to(sm, target, clock, gates, action: str, settle: Callable[[], None]) -> None:
    """Reconcile until the next pass would decide ``action`` (settled: InService, bake over). Run inside
    ``endpoint_updates_held``; ``settle`` is what it yields."""
    for _ in range(60):
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        clock.sleep(BAKE)
        settle()
        if reconcile_once(spec("aws"), _Peek(sm, target), gates, clock.now).decision.action == action:
            return
    raise AssertionError(f"never reached a {action} decision")


class _Peek(SageMakerDriver):
    """Decides without acting (what the next pass would do)."""

    def act(self, *args, **kwargs):
        return None


def interleaved(sm, target, clock, gates, *, compares: str, runs_whole: str, command: str | None = "abort") -> dict:
    """Two passes of one rollout, forced into one order: the pass named ``compares`` reads and decides, the pass
    named ``runs_whole`` then runs whole, and only then does the first write its status. The two names are
    ``"operator"`` (the pass given ``command``: ``abort``, or None for a plain pass) and ``"scheduled"``; the
    results are keyed by them. ``gates``: one reader for both, or a dict of one reader per name."""
    compared, whole_done = threading.Event(), threading.Event()

    class Compares(SageMakerDriver):
        acting = False

        def act(self, *args, **kwargs):
            self.acting = True
            return super().act(*args, **kwargs)

        def _read(self):
            out = super()._read()
            if self.acting and not compared.is_set():
                compared.set()
            return out

        def _write_status(self, *args, **kwargs):
            whole_done.wait(10)
            return super()._write_status(*args, **kwargs)

    class RunsWhole(SageMakerDriver):
        def act(self, *args, **kwargs):
            compared.wait(10)
            try:
                return super().act(*args, **kwargs)
            finally:
                whole_done.set()

    drivers = {compares: Compares, runs_whole: RunsWhole}
    commands = {"operator": command, "scheduled": None}
    results: dict = {}
    threads = [threading.Thread(target=lambda role=role: results.__setitem__(role, reconcile_once(
        spec("aws"), drivers[role](sm, target), gates[role] if isinstance(gates, dict) else gates, clock.now,
        commands[role])))
               for role in (compares, runs_whole)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _race(sm, target, clock, gates, command: str | None = "abort") -> dict:
    """The scheduled pass compares; the operator's pass (``command``) runs whole; then the scheduled pass writes."""
    return interleaved(sm, target, clock, gates, compares="scheduled", runs_whole="operator", command=command)


def test_an_abort_racing_the_finish_keeps_all_traffic_on_primary(sm):
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    with endpoint_updates_held() as settle:
        _walk_to(sm, target, clock, gates, "finish", settle)
        assert canary_percent(sm, E) == 100
        results = _race(sm, target, clock, gates)
        operator, scheduled = results["operator"], results["scheduled"]
        assert (operator.decision.action, operator.acted) == ("rollback", True)
        assert (scheduled.decision.action, scheduled.lost) == ("finish", True)
        assert status_tags(sm, E)["phase"] in ROLLED_BACK and canary_percent(sm, E) == 0
        # the record says what happened: the operator's abort, which moved the traffic back (no notice: not a gate)
        tags = status_tags(sm, E)
        assert tags["phase"] == "aborted" and "notice" not in tags
        assert tags["reason"].startswith("aborted by the operator at step 6 (100% on version 13): all traffic moved "
                                         "back to version 12; recorded again after a concurrent pass moving the "
                                         "version on (finish) overwrote the status")
        for _ in range(3):  # the passes after it hold the rollback
            settle()
            clock.sleep(BAKE)
            reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
    assert status_tags(sm, E)["phase"] == "aborted"
    assert canary_percent(sm, E) == 0
    shown = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now).decision.message
    assert shown.startswith("version 13 was aborted: aborted by the operator at step 6")
    endpoint = sm.describe_endpoint(EndpointName=E)
    assert endpoint["EndpointConfigName"] != target.final_config
    assert {v["VariantName"]: v["CurrentWeight"] for v in endpoint["ProductionVariants"]}["canary"] == 0.0


def test_a_gates_rollback_racing_the_finish_stays_rolled_back_and_keeps_its_notice(sm):
    """The same order with a gate's rollback instead of an abort: ``rolled_back``, and its notice still pending for
    the scheduled runner to send (the forward pass's overwrite had taken it with the status)."""
    endpoint = "fraud-prod-scorer-gaterace"
    target = deploy(sm, endpoint)
    clock = Clock()
    ok = ScriptedGates(percent=lambda: canary_percent(sm, endpoint))
    with endpoint_updates_held() as settle:
        _walk_to(sm, target, clock, ok, "finish", settle)
        firing = ScriptedGates(decide=lambda percent: "firing")
        results = interleaved(sm, target, clock, {"scheduled": ok, "operator": firing}, compares="scheduled",
                              runs_whole="operator", command=None)
        operator, scheduled = results["operator"], results["scheduled"]
        assert (operator.decision.action, operator.acted, operator.decision.status.notice) == ("rollback", True,
                                                                                               "pending")
        assert (scheduled.decision.action, scheduled.lost) == ("finish", True)
        tags = status_tags(sm, endpoint)
        assert (tags["phase"], tags.get("notice")) == ("rolled_back", "pending")
        assert tags["reason"].startswith("rolled back by a concurrent pass (a gate) at step 6 (100% on version 13): "
                                         "all traffic moved back to version 12")
        assert canary_percent(sm, endpoint) == 0


def test_a_race_on_one_decision_still_keeps_the_winners_status(sm):
    """Two passes that decide the same (the finish) do not turn it into a rollback."""
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    with endpoint_updates_held() as settle:
        _walk_to(sm, target, clock, gates, "finish", settle)
        results = _race(sm, target, clock, gates, command=None)
        assert sorted(r.decision.action for r in results.values()) == ["finish", "finish"]
        assert sorted((r.acted, r.lost) for r in results.values()) == [(False, True), (True, False)]
        assert status_tags(sm, E)["phase"] == "finished"
        settle()
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
