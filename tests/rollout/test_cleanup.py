"""What a SageMaker rollout keeps for a rollback, and its cleanup, on a moto server (patched as documented
in tests/support/moto_server.py): the previous version's model and config and the controller's rollout
config are deleted once the rollout is finished past its window, or at the next finished rollout;
never what the endpoint or a rollout in flight uses."""

from __future__ import annotations

import pytest

from mlops_infra.rollout.drivers.sagemaker import KEPT_PREFIX, EndpointTarget, SageMakerDriver
from mlops_infra.rollout.runner import NoGates, Watch, decide_and_act, reconcile_once, watch
from tests.rollout.aws_world import IMAGE, ROLE, canary_percent, config, deploy, model_name, status_tags
from tests.rollout.sim import BAKE, Clock, ScriptedGates, spec

pytestmark = pytest.mark.moto
E = "tidy-scorer"
HOUR = 3600


def configs(sm) -> set[str]:
    return {c["EndpointConfigName"] for c in sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}


def models(sm) -> set[str]:
    return {m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]}


def kept_tags(sm) -> dict[str, str]:
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    return {t["Key"][len(KEPT_PREFIX):]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]
            if t["Key"].startswith(KEPT_PREFIX)}


def roll_out(sm, target: EndpointTarget, clock: Clock, gates=None, keep: float = HOUR):
    """Passes until the rollout settles (finished or rolled back); returns the last pass."""
    rollout = spec("aws", gates=() if gates is None else ("tidy-latency",))
    driver = SageMakerDriver(sm, target, keep_seconds=keep)
    if gates is not None:
        gates.percent = lambda: canary_percent(sm, E)
    return watch(rollout, driver, gates if gates is not None else NoGates(),
                 Watch(poll_seconds=BAKE, max_passes=60, clock=clock, sleep=clock.sleep))


def one_pass(sm, target: EndpointTarget, now: float, keep: float = HOUR):
    return reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target, keep_seconds=keep), NoGates(), now)


def new_version(sm, version: int) -> EndpointTarget:
    sm.create_model(ModelName=model_name(E, version), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    config(sm, f"{E}-cfg-v{version}", model_name(E, version))
    return EndpointTarget(E, str(version), f"{E}-cfg-v{version}", model_name(E, version))


def test_a_finished_rollout_keeps_the_previous_version_for_its_window_then_deletes_it(sm):
    target = deploy(sm, E)
    clock = Clock()
    last = roll_out(sm, target, clock)
    assert status_tags(sm, E)["phase"] == "finished" and not last.tidied
    [rollout_config] = [c for c in configs(sm) if "-rollout-v13-" in c]
    assert kept_tags(sm) == {f"config:{E}-cfg-v12": "13", f"config:{rollout_config}": "13",
                             f"model:{model_name(E, 12)}": "13"}
    # an entry naming what the endpoint serves now is never deleted (here planted, as a stale record)
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"{KEPT_PREFIX}config:{target.final_config}", "Value": "12"},
                                       {"Key": f"{KEPT_PREFIX}model:{target.model}", "Value": "12"}])
    finished = float(status_tags(sm, E)["since"])
    early = one_pass(sm, target, finished + HOUR - 60)  # inside the window: only the planted entries are due
    assert early.decision.action == "none" and early.tidied == ()
    assert {f"{E}-cfg-v12", rollout_config, target.final_config} <= configs(sm)
    assert models(sm) == {model_name(E, 12), model_name(E, 13)}
    assert set(kept_tags(sm)) == {f"config:{E}-cfg-v12", f"config:{rollout_config}", f"model:{model_name(E, 12)}"}
    late = one_pass(sm, target, finished + HOUR)
    assert sorted(late.tidied) == sorted([f"config/{E}-cfg-v12", f"config/{rollout_config}",
                                          f"model/{model_name(E, 12)}"])
    assert configs(sm) == {target.final_config} and models(sm) == {target.model}
    assert kept_tags(sm) == {} and status_tags(sm, E)["phase"] == "finished"
    endpoint = sm.describe_endpoint(EndpointName=E)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == target.final_config
    assert one_pass(sm, target, finished + 2 * HOUR).tidied == ()


def test_the_next_finished_rollout_deletes_what_the_previous_one_kept_at_once(sm):
    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock, keep=24 * HOUR)
    first_rollout = {c for c in configs(sm) if "-rollout-v13-" in c}
    v14 = new_version(sm, 14)
    last = roll_out(sm, v14, clock, keep=24 * HOUR)
    assert status_tags(sm, E)["phase"] == "finished" and status_tags(sm, E)["revision"] == "14"
    deleted = set(last.tidied)  # the settled pass after the finish
    assert deleted == {f"config/{E}-cfg-v12", *(f"config/{c}" for c in first_rollout), f"model/{model_name(E, 12)}"}
    [second_rollout] = [c for c in configs(sm) if "-rollout-v14-" in c]
    assert configs(sm) == {f"{E}-cfg-v13", second_rollout, v14.final_config}  # 14's window: 13 kept
    assert models(sm) == {model_name(E, 13), model_name(E, 14)}
    assert set(kept_tags(sm).values()) == {"14"}


def assert_14_settled_on_13(sm, v14: EndpointTarget, clock: Clock) -> None:
    """After version 14 was brought back (rolled back or aborted) and its tidy ran: the endpoint serves
    13 on 14's rollout config, only 14's own entry is kept, and a pass 30 days later deletes nothing."""
    endpoint = sm.describe_endpoint(EndpointName=E)
    [rollout_14] = [c for c in configs(sm) if "-rollout-v14-" in c]
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == rollout_14
    variants = sm.describe_endpoint_config(EndpointConfigName=rollout_14)["ProductionVariants"]
    assert {v["VariantName"]: v["ModelName"] for v in variants} == {"primary": model_name(E, 13),
                                                                   "canary": model_name(E, 14)}
    assert canary_percent(sm, E) == 0  # all traffic on the stable version, 13
    assert configs(sm) == {f"{E}-cfg-v13", rollout_14, v14.final_config}
    assert models(sm) == {model_name(E, 13), model_name(E, 14)}
    assert kept_tags(sm) == {f"config:{E}-cfg-v13": "14"}  # 14's own: the config it started from
    later = one_pass(sm, v14, clock.now + 30 * 24 * HOUR, keep=0)
    assert later.decision.action == "none" and later.tidied == ()
    assert configs(sm) == {f"{E}-cfg-v13", rollout_14, v14.final_config} and kept_tags(sm) == {f"config:{E}-cfg-v13": "14"}


def test_a_settled_rollback_deletes_what_earlier_versions_kept_never_what_serves(sm):
    """Nothing goes while a rollout is in flight; once its rollback has settled, what earlier versions
    kept goes, and never the endpoint's current config, its models, nor the rolled-back version's own
    entries (kept for inspection until a later version, whatever ``keep_seconds``)."""
    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock, keep=24 * HOUR)  # 13 finished: 12's config and model, 13's rollout config kept
    [rollout_13] = [c for c in configs(sm) if "-rollout-v13-" in c]
    v14 = new_version(sm, 14)
    driver = SageMakerDriver(sm, v14, keep_seconds=0)  # 13's leftovers would be due at once when 14 finished
    gates = ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok", percent=lambda: canary_percent(sm, E))
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    planted = False
    for _ in range(30):
        result = reconcile_once(spec("aws", gates=("tidy-latency",)), driver, gates, clock.now)
        if result.decision.action == "none":
            break
        assert result.tidied == ()
        if status_tags(sm, E)["phase"] == "rolled_back" and canary_percent(sm, E) == 0:
            # settled: plant stale earlier-version entries naming what the endpoint serves now
            serving = sm.describe_endpoint(EndpointName=E)["EndpointConfigName"]
            sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"{KEPT_PREFIX}config:{serving}", "Value": "13"},
                                               {"Key": f"{KEPT_PREFIX}model:{model_name(E, 13)}", "Value": "13"}])
            planted = True
        clock.sleep(BAKE)
    assert planted and status_tags(sm, E)["phase"] == "rolled_back" and result.decision.action == "none"
    assert sorted(result.tidied) == sorted([f"config/{E}-cfg-v12", f"config/{rollout_13}", f"model/{model_name(E, 12)}"])
    assert_14_settled_on_13(sm, v14, clock)


class Recording:
    """A SageMaker client that records the name of each call it passes on."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)
        return call


def abort_at(sm, target: EndpointTarget, clock: Clock, percent: int = 10, keep: float = HOUR):
    """Passes until the canary has ``percent`` of the traffic, then ``--abort`` (command ``abort``), then
    passes until the endpoint settles (decision ``none``); returns the last pass."""
    driver = SageMakerDriver(sm, target, keep_seconds=keep)
    rollout = spec("aws", gates=())
    for _ in range(30):
        if canary_percent(sm, E) == percent and status_tags(sm, E).get("phase") == "progressing":
            break
        reconcile_once(rollout, driver, NoGates(), clock.now)
        clock.sleep(BAKE)
    else:
        raise AssertionError(f"the canary never reached {percent}%")
    aborted = reconcile_once(rollout, driver, NoGates(), clock.now, command="abort")
    assert aborted.decision.action == "rollback" and aborted.tidied == ()
    for _ in range(10):
        clock.sleep(BAKE)
        last = reconcile_once(rollout, driver, NoGates(), clock.now)
        if last.decision.action == "none":
            return last
    raise AssertionError("the abort never settled")


def test_a_settled_abort_deletes_what_earlier_versions_kept_never_what_serves(sm):
    """Once an abort has settled, what earlier versions kept goes; never the endpoint's current config,
    its models, nor the aborted version's own entries (kept for inspection until a later version,
    whatever ``keep_seconds``)."""
    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock, keep=24 * HOUR)  # 13 finished: 12's config and model, 13's rollout config kept
    [rollout_13] = [c for c in configs(sm) if "-rollout-v13-" in c]
    v14 = new_version(sm, 14)
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    # stale earlier-version entries naming what the endpoint will serve once 14 has started
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"{KEPT_PREFIX}model:{model_name(E, 13)}", "Value": "13"},
                                       {"Key": f"{KEPT_PREFIX}config:{v14.final_config}", "Value": "13"}])
    settled = abort_at(sm, v14, clock, keep=0)  # 13's leftovers would be due at once were 14 finished
    assert status_tags(sm, E)["phase"] == "aborted" and settled.decision.action == "none"
    assert sorted(settled.tidied) == sorted([f"config/{E}-cfg-v12", f"config/{rollout_13}", f"model/{model_name(E, 12)}"])
    assert_14_settled_on_13(sm, v14, clock)


def bring_back(sm, target: EndpointTarget, clock: Clock, ending: str, keep: float = HOUR):
    """Start ``target``'s rollout and bring it back at 10%: a rollback (its gate fires there) or an
    abort (``--abort`` there); returns the pass that found it settled."""
    if ending == "rolled_back":
        return roll_out(sm, target, clock, gates=ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok"),
                        keep=keep)
    return abort_at(sm, target, clock, keep=keep)


@pytest.mark.parametrize("ending", ["rolled_back", "aborted"])
def test_versions_brought_back_one_after_another_do_not_fill_the_endpoint_tags(sm, ending):
    """Issue 8: each start tags what it leaves; with only rollbacks (or aborts, which settle as a rollback
    does: all weight back to ``primary``, the canary kept, InService), nothing was ever deleted, and the
    endpoint reached SageMaker's 50 tags (the moto server refuses past 50, as AWS does): no rollout
    could start again. Now every version starts, and the tags stay few."""
    target = deploy(sm, E)
    clock = Clock()
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    counts = []
    for version in range(13, 38):  # 25 versions, each brought back at 10%
        if version > 13:
            target = new_version(sm, version)
        bring_back(sm, target, clock, ending)
        status = status_tags(sm, E)
        assert (status["phase"], status["revision"]) == (ending, str(version)), status
        assert "10%" in status["reason"]  # it started and reached its third step before it was brought back
        counts.append(len(sm.list_tags(ResourceArn=arn)["Tags"]))
    assert max(counts) <= 12, counts  # 6 status tags, the last version's entries and its predecessor's
    assert set(kept_tags(sm).values()) == {"37"}
    endpoint = sm.describe_endpoint(EndpointName=E)
    variants = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"]
    assert {v["VariantName"]: v["ModelName"] for v in variants} == {"primary": model_name(E, 12),
                                                                   "canary": model_name(E, 37)}
    assert endpoint["EndpointStatus"] == "InService" and canary_percent(sm, E) == 0
    assert models(sm) == {model_name(E, 12), model_name(E, 36), model_name(E, 37)}


@pytest.mark.parametrize("ending", ["rolled_back", "aborted"])
def test_a_version_brought_back_with_nothing_due_calls_nothing_more(sm, ending):
    """Only the rolled-back (or aborted) version's own entries are kept: a settled pass reads the
    endpoint, and calls nothing else (no describe, no delete, no untag), alone or in a fleet pass (one
    Search)."""
    from mlops_infra.rollout.fleet import Member, reconcile_fleet

    target = deploy(sm, E)
    clock = Clock()
    bring_back(sm, target, clock, ending)
    assert status_tags(sm, E)["phase"] == ending and kept_tags(sm) == {f"config:{E}-cfg-v12": "13"}
    recording = Recording(sm)
    alone = reconcile_once(spec("aws", gates=()), SageMakerDriver(recording, target, keep_seconds=0), NoGates(),
                           clock.now + 30 * 24 * HOUR)
    assert alone.decision.action == "none" and alone.tidied == ()
    assert recording.calls == ["describe_endpoint", "list_tags"]
    recording.calls.clear()
    [fleet] = reconcile_fleet([Member(spec("aws", gates=()), SageMakerDriver(recording, target, keep_seconds=0),
                                      NoGates())], clock.now + 30 * 24 * HOUR)
    assert fleet.result is not None and fleet.result.decision.action == "none" and fleet.result.tidied == ()
    assert recording.calls == ["search"]
    assert kept_tags(sm) == {f"config:{E}-cfg-v12": "13"} and f"{E}-cfg-v12" in configs(sm)


def test_a_version_after_a_rolled_back_one_gets_a_canary_of_its_own(sm):
    """The rolled-back version's canary variant keeps its instances for inspection; the next version must
    not inherit it (or its traffic): its start builds a rollout config whose canary serves the new model."""
    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock, gates=ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok"))
    assert status_tags(sm, E)["phase"] == "rolled_back" and canary_percent(sm, E) == 0
    v14 = new_version(sm, 14)
    started = one_pass(sm, v14, clock.now)
    assert started.decision.action == "set_traffic" and started.acted
    endpoint = sm.describe_endpoint(EndpointName=E)
    variants = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"]
    assert {v["VariantName"]: v["ModelName"] for v in variants} == {"primary": model_name(E, 12),
                                                                   "canary": model_name(E, 14)}
    assert canary_percent(sm, E) == 0
    clock.sleep(1)
    one_pass(sm, v14, clock.now)
    assert canary_percent(sm, E) == 2
    assert kept_tags(sm)[f"model:{model_name(E, 13)}"] == "14"  # the rolled-back canary's model, now unused


def test_a_tidy_resumes_after_a_kill_and_a_changed_endpoint_stops_it(sm):
    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock)  # finished, within its window: nothing deleted yet
    assert f"model:{model_name(E, 12)}" in kept_tags(sm)
    # a tidy killed after deleting the old model and before untagging left its tag: the next one goes on
    sm.delete_model(ModelName=model_name(E, 12))
    stale_driver = SageMakerDriver(sm, target, keep_seconds=0)
    stale = stale_driver.observe()
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "mlops-infra:rollout:reason", "Value": "changed by someone"}])
    moved = decide_and_act(spec("aws", gates=()), stale_driver, stale, [], clock.now + 1)
    assert moved.decision.action == "none" and moved.tidied == ()  # the endpoint changed since observed
    assert f"{E}-cfg-v12" in configs(sm)
    resumed = one_pass(sm, target, clock.now + 2, keep=0)
    assert f"model/{model_name(E, 12)}" in resumed.tidied and f"config/{E}-cfg-v12" in resumed.tidied
    assert configs(sm) == {target.final_config} and models(sm) == {target.model} and kept_tags(sm) == {}


def test_the_scheduled_pass_logs_what_it_deleted(sm, capsys):
    import json

    from mlops_infra.rollout.fleet import Member
    from mlops_infra.rollout.scheduled import run_pass

    target = deploy(sm, E)
    clock = Clock()
    roll_out(sm, target, clock)
    finished = float(status_tags(sm, E)["since"])
    capsys.readouterr()
    [result] = run_pass([Member(spec("aws", gates=()), SageMakerDriver(sm, target, keep_seconds=HOUR), NoGates())],
                        finished + HOUR)
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["action"] == "none" and sorted(line["deleted"]) == sorted(result.result.tidied)
    assert f"model/{model_name(E, 12)}" in line["deleted"] and not result.error
