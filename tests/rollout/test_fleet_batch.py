"""A fleet pass observes SageMaker endpoints in batches (SageMaker Search) on a moto server (patched as
documented in tests/support/moto_server.py: Search pages, UpdateEndpoint, updates that take time),
without weakening the compare-before-act: what a batch observed is compared with consistent reads
before anything is written."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from mlops_infra.rollout.drivers import sagemaker as sagemaker_driver
from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.fleet import Member, _observe, reconcile_fleet
from mlops_infra.rollout.model import Observed
from mlops_infra.rollout.runner import NoGates, decide_and_act, reconcile_once
from tests.rollout.aws_world import canary_percent, deploy, status_tags
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, spec
from tests.support.moto_server import endpoint_updates_held

pytestmark = pytest.mark.moto


class Calls:
    """The SageMaker operations a client sends, counted (botocore ``before-call`` events)."""

    def __init__(self, sm) -> None:
        self.sm, self.seen = sm, Counter()

    def _count(self, model, **kwargs) -> None:
        self.seen[model.name] += 1

    def __enter__(self) -> Counter:
        self.sm.meta.events.register("before-call.sagemaker", self._count)
        return self.seen

    def __exit__(self, *exc) -> None:
        self.sm.meta.events.unregister("before-call.sagemaker", self._count)


def described(driver: SageMakerDriver) -> Observed:
    """The observation from DescribeEndpoint, ListTags and DescribeEndpointConfig, nothing inferred."""
    sm = driver.sm
    endpoint = sm.describe_endpoint(EndpointName=driver.target.endpoint)
    tags = sm.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    versions = {v["VariantName"]: sagemaker_driver.model_version(v["ModelName"]) for v in config["ProductionVariants"]}
    return driver._observed(endpoint, tags, versions)


def members_of(sm, targets, **options) -> list[Member]:
    return [Member(spec("aws", gates=()), SageMakerDriver(sm, t, **options), NoGates()) for t in targets]


def test_search_returns_each_endpoint_with_status_config_weights_and_tags_in_pages(sm, monkeypatch):
    """What the batch observation relies on (botocore SearchRecord.Endpoint, SearchRequest.MaxResults):
    Search with Resource=Endpoint pages at MaxResults with a NextToken and returns each endpoint's
    status, config, current weights and tags; a pass mid-bake then needs no per-endpoint call."""
    monkeypatch.setattr(sagemaker_driver, "SEARCH_PAGE", 2)
    targets = [deploy(sm, f"fleet-{i}", count=2) for i in range(5)] + [deploy(sm, "gamma-scorer", count=2)]
    deploy(sm, "fleet-not-a-member", count=2)  # matches the name filter: read, then left out
    members = members_of(sm, targets)
    clock = Clock()
    reconcile_fleet(members, clock.now, max_workers=2)  # start: the rollout configs
    clock.sleep(1)
    reconcile_fleet(members, clock.now, max_workers=2)  # step 1: 2%
    page = sm.search(Resource="Endpoint", MaxResults=2, SearchExpression={
        "Filters": [{"Name": "EndpointName", "Operator": "Contains", "Value": "fleet-"}]})
    assert len(page["Results"]) == 2 and page["NextToken"]
    record = page["Results"][0]["Endpoint"]
    assert {"EndpointArn", "EndpointConfigName", "EndpointStatus", "ProductionVariants", "Tags"} <= set(record)
    assert {v["VariantName"]: v["CurrentWeight"] for v in record["ProductionVariants"]} == {"primary": 98.0,
                                                                                           "canary": 2.0}
    clock.sleep(1)
    recorded = reconcile_fleet(members, clock.now, max_workers=2)  # InService at 2%: in effect, the bake starts
    assert [r.result.decision.action for r in recorded] == ["record"] * len(targets)
    clock.sleep(1)
    with Calls(sm) as calls:
        results = reconcile_fleet(members, clock.now, max_workers=2)
    assert [r.result.decision.action for r in results] == ["wait"] * len(targets)
    assert calls == {"Search": 3 + 1}, calls  # 6 "fleet-" endpoints in pages of 2, then "gamma-"


def test_a_batch_observation_is_what_describing_everything_sees_at_every_step(sm):
    """The variants' model versions are inferred on the final config and on the driver's own rollout
    config (no DescribeEndpointConfig): at every pass of a rollout, one driver killed after its status
    write on the way and one rolled back at step 3, the batch observation equals the one from
    DescribeEndpoint, ListTags and DescribeEndpointConfig."""
    healthy, killed, failing = (deploy(sm, f"walk-{name}", count=3) for name in ("healthy", "killed", "failing"))
    gates = ScriptedGates(decide=lambda p: "firing" if p == 10 else "ok")
    rollout = spec("aws", gates=("walk-failing-latency",))
    clock = Clock()
    compared = 0
    for number in range(40):
        drivers = [SageMakerDriver(sm, healthy), SageMakerDriver(sm, killed, crash_at="status" if number == 4 else None),
                   SageMakerDriver(sm, failing)]
        members = [Member(spec("aws", gates=()), drivers[0], NoGates()), Member(spec("aws", gates=()), drivers[1],
                                                                                  NoGates()),
                   Member(rollout, drivers[2], gates)]
        with Calls(sm) as calls:
            answers = drivers[0].observe_many(drivers)
        assert set(calls) == {"Search"}
        for driver, answer in zip(drivers, answers, strict=True):
            seen = answer() if callable(answer) else answer
            assert seen == described(driver), (number, driver.target.endpoint)
            compared += 1
        gates.percent = lambda: canary_percent(sm, "walk-failing")
        results = reconcile_fleet(members, clock.now, max_workers=3)
        if number == 4:
            assert "killed right after the status write" in results[1].error
        if all(status_tags(sm, t.endpoint).get("phase") in ("finished", "rolled_back")
               for t in (healthy, killed, failing)) and all(r.result and not r.result.acted for r in results):
            break
        clock.sleep(BAKE)
    assert status_tags(sm, "walk-healthy")["phase"] == status_tags(sm, "walk-killed")["phase"] == "finished"
    assert status_tags(sm, "walk-failing")["phase"] == "rolled_back" and compared >= 3 * len(STEPS)


def test_a_stale_batch_observation_writes_nothing(sm):
    """Search may answer from before another reconciler's step (no read-after-write promise): acting
    on that observation is refused by the compare (DescribeEndpoint + ListTags) before any write."""
    target = deploy(sm, "stale-scorer", count=2)
    clock = Clock()
    reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)
    clock.sleep(1)
    reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)  # 2%
    clock.sleep(1)
    reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)  # 2% in effect
    clock.sleep(BAKE)
    late = SageMakerDriver(sm, target)
    [stale] = late.observe_many([late])  # what Search said before the other reconciler's step
    other = reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)
    assert other.acted and canary_percent(sm, "stale-scorer") == STEPS[1]
    tags = status_tags(sm, "stale-scorer")
    clock.sleep(5)
    result = decide_and_act(spec("aws", gates=()), late, stale, [], clock.now)
    assert result.decision.action == "set_traffic" and result.lost and not result.acted
    assert status_tags(sm, "stale-scorer") == tags and canary_percent(sm, "stale-scorer") == STEPS[1]


def test_a_batch_observation_stale_only_in_its_status_writes_nothing(sm):
    """Why the compare reads the tags as well as DescribeEndpoint: a reconciler killed right after writing
    a rollback's status leaves config and traffic as they were, so only ListTags shows the change. A Search
    answer from before that write must not carry the canary on over the rollback."""
    target = deploy(sm, "tagged-scorer", count=2)
    clock = Clock()
    for _ in range(3):
        reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)  # start, 2%, in effect
        clock.sleep(1)
    clock.sleep(BAKE)
    late = SageMakerDriver(sm, target)
    [stale] = late.observe_many([late])
    firing = ScriptedGates(decide=lambda percent: "firing")
    with pytest.raises(sagemaker_driver.Crash):
        reconcile_once(spec("aws"), SageMakerDriver(sm, target, crash_at="status"), firing, clock.now)
    assert status_tags(sm, "tagged-scorer")["phase"] == "rolled_back" and canary_percent(sm, "tagged-scorer") == STEPS[0]
    endpoint = sm.describe_endpoint(EndpointName="tagged-scorer")
    assert endpoint["EndpointStatus"] == "InService" and stale.token.startswith(endpoint["EndpointConfigName"] + "|")
    result = decide_and_act(spec("aws", gates=()), late, stale, [], clock.now)
    assert result.decision.action == "set_traffic" and result.lost and not result.acted
    assert status_tags(sm, "tagged-scorer")["phase"] == "rolled_back" and canary_percent(sm, "tagged-scorer") == STEPS[0]
    finished = reconcile_once(spec("aws", gates=()), SageMakerDriver(sm, target), NoGates(), clock.now)
    assert finished.decision.action == "rollback" and canary_percent(sm, "tagged-scorer") == 0


class NoSearch:
    """A SageMaker client whose caller may not Search (AccessDenied), everything else passed through."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def search(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized: sagemaker:Search"}},
                          "Search")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_batch_read_that_fails_falls_back_to_observing_each_endpoint(sm):
    targets = [deploy(sm, f"denied-{i}", count=2) for i in range(3)]
    members = members_of(NoSearch(sm), targets)
    clock = Clock()
    reconcile_fleet(members, clock.now, max_workers=2)
    clock.sleep(1)
    results = reconcile_fleet(members, clock.now, max_workers=2)
    assert all(r.result and r.result.acted and not r.error for r in results)
    assert {canary_percent(sm, t.endpoint) for t in targets} == {STEPS[0]}


def test_two_fleet_passes_at_once_one_wins_each_step_of_each_endpoint(sm):
    """Two runners (say, overlapping scheduled ticks) observe the same endpoints in batches, then act at
    once: for each endpoint and step one acts and the other loses, and the rollouts finish."""
    targets = [deploy(sm, f"race-{i}", count=2) for i in range(2)]
    clock = Clock()
    outcomes: list[list[str]] = []
    with endpoint_updates_held() as settle:  # Updating until settled: the slower pass meets it however late
        for _ in range(30):
            fleets = [members_of(sm, targets), members_of(sm, targets)]
            observed = [_observe(f, _Pool(), lambda i, work: work()) for f in fleets]
            results: list[list] = [[None] * len(targets) for _ in fleets]
            threads = [threading.Thread(target=_act, args=(fleets[w][i], observed[w][i], clock.now, results[w], i))
                       for w in range(2) for i in range(len(targets))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            for index in range(len(targets)):
                outcomes.append(({r[index].decision.action for r in results},
                                 sorted("acted" if r[index].acted else "lost" if r[index].lost else "idle"
                                        for r in results)))
            if all(r.decision.action == "none" for row in results for r in row):
                break
            settle()  # let the updates "complete"
            clock.sleep(BAKE)
    acting = [(actions, o) for actions, o in outcomes if o != ["idle", "idle"]]
    assert all(len(actions) == 1 for actions, _ in acting), outcomes  # one observation: one decision
    moves = [o for actions, o in acting if actions != {"record"}]
    assert len(moves) >= len(STEPS) * len(targets) and all(o == ["acted", "lost"] for o in moves), outcomes
    # Recording a step in effect writes tags only, which SageMaker takes without a condition (botocore
    # AddTags): both passes may record it, the same step a few milliseconds apart.
    assert all(o in (["acted", "acted"], ["acted", "lost"]) for actions, o in acting if actions == {"record"}), outcomes
    assert {status_tags(sm, t.endpoint)["phase"] for t in targets} == {"finished"}
    assert {sm.describe_endpoint(EndpointName=t.endpoint)["EndpointConfigName"] for t in targets} == \
        {t.final_config for t in targets}


def _act(member: Member, seen: Observed, now: float, into: list, index: int) -> None:
    into[index] = decide_and_act(member.spec, member.driver, seen, [], now)


class _Pool:
    """An executor that runs mapped work in the calling thread (the batch answers most observations)."""

    def map(self, work, items):
        return [work(item) for item in items]
