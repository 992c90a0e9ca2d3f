"""Audit closing-37b-7: an ``--abort`` that loses SageMaker's update to a scheduled finish (SageMaker).

The other order than ``test_sagemaker_abort_race.py``: the operator's abort compares, the scheduled finish runs
whole (its ``UpdateEndpoint`` to the graph's final config goes through), then the abort writes its status and
its traffic call is refused (the endpoint is ``Updating``: ValidationException "Cannot update in-progress
endpoint", ``endpoint_updates_held``, patch 3 of tests/support/moto_server.py: ``Updating`` until the test
settles it, however slowly the machine runs the abort). Before the fix the status said
``aborted`` while the aborted version served 100 % on the final config, and every later pass crashed with
``KeyError: 'canary'`` (the rollback moved weights of a variant the final config does not have).
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import RollbackImpossible, SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import canary_percent, deploy, model_name, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec
from tests.rollout.test_sagemaker_abort_race import _walk_to, interleaved
from tests.support.moto_server import endpoint_updates_held

pytestmark = pytest.mark.moto


def _abort_loses(sm, endpoint: str, settle):
    """Deploy ``endpoint``, walk its rollout to the finish, then race: the operator's abort compares, the
    scheduled finish runs whole, then the abort writes. Run inside ``endpoint_updates_held`` (``settle``: what it
    yields); returns the target, the clock, the gates and the two passes by role."""
    target = deploy(sm, endpoint)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, endpoint))
    _walk_to(sm, target, clock, gates, "finish", settle)
    return target, clock, gates, interleaved(sm, target, clock, gates, compares="operator", runs_whole="scheduled")


def _serving(sm, endpoint):
    described = sm.describe_endpoint(EndpointName=endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    models = {v["VariantName"]: v["ModelName"] for v in config["ProductionVariants"]}
    weights = {v["VariantName"]: float(v.get("CurrentWeight") or 0.0) for v in described["ProductionVariants"]}
    return described["EndpointConfigName"], models, weights


def test_an_abort_that_loses_to_the_finish_is_told_and_then_carried_out(sm):
    E = "fraud-prod-scorer-lostabort"
    with endpoint_updates_held() as settle:
        target, clock, gates, results = _abort_loses(sm, E, settle)
        operator, scheduled = results["operator"], results["scheduled"]
        assert (scheduled.decision.action, scheduled.acted) == ("finish", True)
        assert (operator.decision.action, operator.lost) == ("rollback", True)
        tags = status_tags(sm, E)
        assert tags["phase"] == "aborted"
        # the truth is recorded: the finish went through, the next pass moves the traffic back
        assert "lost to a concurrent finish" in tags["reason"]
        assert f"version {target.version} serves" in tags["reason"]
        passes = []
        for _ in range(4):  # no pass crashes; the abort is carried out for real
            settle()
            clock.sleep(BAKE)
            passes.append(reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now))
        settle()
    assert passes[0].decision.action == "rollback" and passes[0].acted
    config, models, weights = _serving(sm, E)
    assert config != target.final_config and config.startswith(f"{E}-rollout-v{target.version}-")
    assert models == {"primary": model_name(E, 12), "canary": model_name(E, 13)}
    assert weights["canary"] == 0.0 and weights["primary"] > 0
    assert status_tags(sm, E)["phase"] == "aborted"
    last = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
    assert last.decision.action == "none" and last.observed.percent == 0 and last.observed.stable == "12"


def _abort_lost_and_its_config_gone(sm, endpoint: str):
    """:func:`_abort_loses` (the abort lost, the updates settled), then the rollout config the abort kept removed
    from ``endpoint``'s tags (the rollout config no longer known): an aborted status over the final config with
    nowhere to move back to. Returns the target, the clock and the gates."""
    with endpoint_updates_held() as settle:
        target, clock, gates, results = _abort_loses(sm, endpoint, settle)
        assert results["operator"].lost
        settle()
    arn = sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    kept = [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"] if t["Key"].startswith("mlops-infra:kept:config:")]
    sm.delete_tags(ResourceArn=arn, TagKeys=kept)
    return target, clock, gates


def test_a_rollback_with_nowhere_to_go_says_so_instead_of_a_key_error(sm):
    """An aborted status over the final config whose rollout config is gone: a clear error, no KeyError."""
    E = "fraud-prod-scorer-nowhere"
    target, clock, gates = _abort_lost_and_its_config_gone(sm, E)
    with pytest.raises(RollbackImpossible) as raised:
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
    message = str(raised.value)
    assert f"version {target.version} serves all traffic" in message and "--resume" in message
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config


def test_resume_keeps_the_version_an_abort_could_not_move_back(sm):
    """The error says the traffic split and what to do; ``--resume`` (its advice to keep the version) does keep it:
    the status becomes ``finished`` and the passes after it stop raising. Before, ``--resume`` decided "nothing to
    roll out", wrote nothing, and every later pass raised again (the scheduled runner's invocation failing every
    minute)."""
    E = "fraud-prod-scorer-resumekeeps"
    target, clock, gates = _abort_lost_and_its_config_gone(sm, E)
    with pytest.raises(RollbackImpossible) as raised:
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
    assert raised.value.traffic == f"version {target.version} 100% (primary) on {target.final_config}"
    assert "set version 12 again in the spec and apply it" in raised.value.fix
    assert "run `mlops-infra rollout` with `--resume`" in raised.value.fix
    clock.sleep(BAKE)
    resumed = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now, "resume")
    assert (resumed.decision.action, resumed.acted) == ("finish", True)
    tags = status_tags(sm, E)
    assert (tags["phase"], tags["revision"], tags["step"]) == ("finished", target.version, "5")
    assert tags["reason"] == f"resumed: version {target.version} already served all traffic (its abort was never carried out)"
    later = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
    assert later.decision.action == "none" and later.observed.percent == 100
    assert sm.describe_endpoint(EndpointName=E)["EndpointConfigName"] == target.final_config
