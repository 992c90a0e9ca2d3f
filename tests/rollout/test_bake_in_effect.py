"""The bake of a step counts from when the step is in effect, not from the traffic call (audit spec-1).

``bake`` is "time at each step before the next" (docs/spec.md). SageMaker's
``UpdateEndpointWeightsAndCapacities`` "sets the endpoint status to ``Updating``. After updating the
endpoint, it sets the status to ``InService``" (botocore ``sagemaker`` service-2), for minutes when a
step adds canary instances; a KServe ``canaryTrafficPercent`` patch is in effect once Knative's route
serves it (``drivers/kserve.py`` ``traffic_in_effect``). The gates' window still starts at the call.
These are the reconciler's rules on the pure model (and the KServe driver's reading of the
InferenceService status); ``test_bake_in_effect_live.py`` runs them against the patched moto server.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.rollout import model
from mlops_infra.rollout.drivers import kserve
from mlops_infra.rollout.model import Decision, GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.runner import gate_window
from tests.rollout.sim import BAKE, spec

T0 = 1_800_000_000.0


def aws() -> RolloutSpec:
    return spec("aws")


def seen(status: RolloutStatus | None, percent: int | None, ready: bool = True, in_effect: bool = True) -> Observed:
    return Observed("13", "12", percent, ready=ready, status=status, in_effect=in_effect)


OK = [GateReading("scorer-latency", "ok", 0.01)]


def test_a_step_bakes_from_the_first_pass_that_sees_it_in_effect_not_from_the_traffic_call() -> None:
    """25% -> 75% adds canary instances: the endpoint stays Updating for 7 minutes; the bake (10m) runs
    from the first pass that sees it InService at 75%, so 75% is served for the full bake."""
    baking = RolloutStatus("progressing", "13", "12", 3, T0, in_effect=T0 + 5)
    moved = reconcile(aws(), seen(baking, 25), OK, T0 + 5 + BAKE)
    assert moved.action == "set_traffic" and moved.percent == 75
    assert moved.status.since == T0 + 5 + BAKE and moved.status.in_effect is None
    called = moved.status.since
    updating = reconcile(aws(), seen(moved.status, 25, ready=False), OK, called + 60)
    assert updating.action == "wait" and updating.status is None
    up = called + 420  # InService again after 7 minutes
    first = reconcile(aws(), seen(moved.status, 75), OK, up)
    assert first.action == "record" and first.percent == 75 and first.next_check == up + BAKE
    assert first.status == moved.status.evolve(in_effect=up)  # since (the gates' window) is kept
    for now in (called + BAKE, up + BAKE - 1):  # the old end (from the call), then just before the new one
        waiting = reconcile(aws(), seen(first.status, 75), OK, now)
        assert waiting.action == "wait" and waiting.next_check == up + BAKE, now
    assert reconcile(aws(), seen(first.status, 75), OK, up + BAKE).percent == 100


def test_the_gates_window_still_starts_at_the_traffic_call() -> None:
    """A breach while the endpoint is Updating is still read (the window is ``since``) and rolls back on
    the first pass that can act, before the step is even recorded in effect."""
    moved = RolloutStatus("progressing", "13", "12", 4, T0)
    assert gate_window(seen(moved, 75)) == T0
    recorded = moved.evolve(in_effect=T0 + 420)
    assert gate_window(seen(recorded, 75)) == T0
    firing = [GateReading("scorer-latency", "firing", 0.42)]
    back = reconcile(aws(), seen(moved, 75), firing, T0 + 420)
    assert back.action == "rollback" and back.status.phase == "rolled_back"


def test_gates_unreadable_when_the_step_comes_into_effect_hold_and_record_it() -> None:
    moved = RolloutStatus("progressing", "13", "12", 1, T0)
    blind = [GateReading("scorer-latency", "unreadable")]
    held = reconcile(aws(), seen(moved, 5), blind, T0 + 30)
    assert held.action == "hold" and held.status == moved.evolve(blind_since=T0 + 30, in_effect=T0 + 30)
    again = reconcile(aws(), seen(held.status, 5), blind, T0 + 40)
    assert again.action == "hold" and again.status is None  # both already recorded
    assert reconcile(aws(), seen(held.status, 5), OK, T0 + 30 + BAKE - 1).action == "wait"
    assert reconcile(aws(), seen(held.status, 5), OK, T0 + 30 + BAKE).action == "set_traffic"


def test_the_start_and_a_step_put_back_bake_once_in_effect() -> None:
    started = reconcile(aws(), Observed("13", "12", 0, status=None), OK, T0)
    assert started.action == "set_traffic" and started.status.in_effect is None and started.next_check is None
    back = reconcile(aws(), seen(RolloutStatus("progressing", "13", "12", 2, T0, in_effect=T0), 50), OK, T0 + 60)
    assert back.action == "set_traffic" and back.percent == 10 and back.status.in_effect is None
    assert back.status.since == T0 + 60


def test_a_step_an_earlier_pass_set_is_recorded_in_effect_when_it_is() -> None:
    """Rule 5: the traffic is the next step's (a pass stopped before recording it)."""
    status = RolloutStatus("progressing", "13", "12", 2, T0, in_effect=T0)
    now = T0 + BAKE + 5
    recorded = reconcile(aws(), seen(status, 25), OK, now)
    assert recorded.action == "record" and recorded.status.step == 3 and recorded.status.in_effect == now
    pending = reconcile(spec("kubernetes"), seen(status, 25, in_effect=False), OK, now)
    assert pending.action == "record" and pending.status.step == 3 and pending.status.in_effect is None


def test_kubernetes_waits_for_the_route_to_serve_the_step_and_still_reads_its_gates() -> None:
    moved = RolloutStatus("progressing", "13", "12", 2, T0)
    kube = spec("kubernetes")
    waiting = reconcile(kube, seen(moved, 10, in_effect=False), OK, T0 + 3)
    assert waiting.action == "wait" and waiting.status is None and "not in effect yet" in waiting.message
    firing = [GateReading("scorer-latency", "firing", 0.42)]
    assert reconcile(kube, seen(moved, 10, in_effect=False), firing, T0 + 3).action == "rollback"
    recorded = reconcile(kube, seen(moved, 10), OK, T0 + 4)
    assert recorded.action == "record" and recorded.status.in_effect == T0 + 4


def test_a_status_written_by_the_previous_release_bakes_as_before() -> None:
    """No ``in-effect`` key (the previous release never wrote it): the step bakes from ``since``, as it
    did; each status this release writes while progressing carries the key."""
    old = {"phase": "progressing", "revision": "13", "previous": "12", "step": "2", "since": f"{T0:.3f}",
           "reason": ""}
    status = RolloutStatus.from_fields(old)
    assert status == RolloutStatus("progressing", "13", "12", 2, T0, in_effect=T0)
    waiting = reconcile(aws(), seen(status, 10), OK, T0 + BAKE - 1)
    assert waiting.action == "wait" and waiting.status is None and waiting.next_check == T0 + BAKE
    moved = reconcile(aws(), seen(status, 10), OK, T0 + BAKE)
    assert moved.action == "set_traffic" and moved.percent == 25
    assert moved.status.to_fields()["in-effect"] == model.IN_EFFECT_PENDING
    assert RolloutStatus.from_fields(moved.status.to_fields()) == moved.status
    finished = dict(old, phase="finished", reason="all steps passed")
    assert RolloutStatus.from_fields(finished).in_effect is None


def _isvc(percent: int, traffic: list[dict[str, Any]] | None, route: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"components": {"predictor": {"latestCreatedRevision": "s-2",
                                                           "latestReadyRevision": "s-2"}}}
    if traffic is not None:
        status["components"]["predictor"]["traffic"] = traffic
    if route is not None:
        status["conditions"] = [{"type": "PredictorRouteReady", "status": route}]
    return {"spec": {"predictor": {"canaryTrafficPercent": percent}}, "status": status}


def _split(latest: int) -> list[dict[str, Any]]:
    """KServe's canary traffic as Knative reports it (ksvc_reconciler.go: latest at the percent, ``prev``)."""
    return [{"revisionName": "s-2", "latestRevision": True, "percent": latest, "tag": "latest"},
            {"revisionName": "s-1", "latestRevision": False, "percent": 100 - latest, "tag": "prev"}]


def test_kserve_reports_a_share_in_effect_once_its_route_serves_it() -> None:
    assert kserve.traffic_in_effect(_isvc(10, _split(5), "True"), 10) is False  # KServe not reconciled since the patch
    assert kserve.traffic_in_effect(_isvc(10, _split(10), "Unknown"), 10) is False  # split written, ingress not ready
    assert kserve.traffic_in_effect(_isvc(10, _split(10), "True"), 10) is True
    assert kserve.traffic_in_effect(_isvc(10, _split(10), None), 10) is True
    assert kserve.traffic_in_effect(_isvc(10, None, None), 10) is True  # nothing shown: nothing to wait on


def test_the_kserve_status_patch_deletes_the_keys_a_status_leaves_out() -> None:
    """A merge patch: keys the new status does not write are set to null (deleted), so a resumed
    rollout's progressing status keeps no stale ``reason`` and a finished one no ``in-effect``."""
    progressing = RolloutStatus("progressing", "13", "12", 0, T0)
    data = kserve.status_patch(Decision("set_traffic", "", 2, progressing), seen(None, 0))
    assert data["reason"] is None and data["in-effect"] == model.IN_EFFECT_PENDING
    done = progressing.evolve(phase="finished", reason="all steps passed", in_effect=T0)
    data = kserve.status_patch(Decision("finish", "", 100, done), seen(None, 100))
    assert data["in-effect"] is None and data["reason"] == "all steps passed"
