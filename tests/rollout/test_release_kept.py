"""What apply adopts into the Pulumi state is no longer the rollout controller's to delete (audit rolloutaws-7,
:func:`mlops_infra.rollout.drivers.sagemaker.release_kept`).

After version 13's finished rollout the endpoint records 12's model and config as kept, and the first pass past the
rollback window deletes them (``tidy``). Setting 12 back in the spec compiles their very names, and apply adopts
them (Pulumi's import) after untagging their kept entries; a runner still on 13's graph while ``pulumi up`` runs
must then leave them alone. On a moto server (tests/support/moto_server.py).
"""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import KEPT_PREFIX, SageMakerDriver, release_kept
from mlops_infra.rollout.runner import NoGates, Watch, reconcile_once, watch
from tests.rollout.aws_world import all_tags, deploy, model_name, status_tags
from tests.rollout.sim import BAKE, Clock, spec

pytestmark = pytest.mark.moto
E = "adopt-scorer"
HOUR = 3600


def _kept(sm) -> dict[str, str]:
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    return {t["Key"][len(KEPT_PREFIX):]: t["Value"] for t in all_tags(sm, arn) if t["Key"].startswith(KEPT_PREFIX)}


def _finished(sm):
    target = deploy(sm, E)  # 12 serving, 13 the target
    clock = Clock()
    watch(spec("aws", gates=()), SageMakerDriver(sm, target, keep_seconds=HOUR), NoGates(),
          Watch(poll_seconds=BAKE, max_passes=60, clock=clock, sleep=clock.sleep))
    assert status_tags(sm, E)["phase"] == "finished"
    return target, float(status_tags(sm, E)["since"])


def test_an_adopted_model_and_config_outlive_the_old_targets_tidy(sm) -> None:
    target, finished = _finished(sm)
    old_model, old_config = model_name(E, 12), f"{E}-cfg-v12"
    assert {f"model:{old_model}", f"config:{old_config}"} <= set(_kept(sm))

    released = release_kept(sm, E, [("model", old_model), ("config", old_config)])

    assert released == [("config", old_config), ("model", old_model)]
    assert set(_kept(sm)) and not {f"model:{old_model}", f"config:{old_config}"} & set(_kept(sm))
    late = reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target, keep_seconds=HOUR), NoGates(),
                          finished + 2 * HOUR)  # past the window, the runner still on 13's graph
    assert late.tidied and all("-rollout-v13-" in name for name in late.tidied), late.tidied
    assert old_model in {m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]}
    sm.describe_endpoint_config(EndpointConfigName=old_config)  # still there: the state owns it now


def test_without_the_release_the_same_pass_deletes_them(sm) -> None:
    """The control: what release_kept prevents."""
    target, finished = _finished(sm)

    late = reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target, keep_seconds=HOUR), NoGates(),
                          finished + 2 * HOUR)

    assert {f"model/{model_name(E, 12)}", f"config/{E}-cfg-v12"} <= set(late.tidied)


def test_nothing_kept_or_no_endpoint_releases_nothing(sm) -> None:
    deploy(sm, E)
    assert release_kept(sm, E, [("model", model_name(E, 12))]) == []
    assert release_kept(sm, "no-such-endpoint", [("model", model_name(E, 12))]) == []
