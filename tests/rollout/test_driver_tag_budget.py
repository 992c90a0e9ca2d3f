"""The SageMaker driver never holds more than ``DRIVER_MAX_TAGS`` tags on an endpoint (lead finding,
2026-12-04), on a moto server (tests/support/moto_server.py: ``AddTags`` overwrites and stops at 50).

``mlops_infra/endpoint_tags.py`` derives the budget (status fields + the scaling tag + the kept
entries' bound); validation leaves that room on a canary endpoint. Here the driver is driven through
sequences of versions, each finished, rolled back (a gate fires), aborted (``--abort``) or rolled
back then resumed, or superseded while in progress by the next version, with gates unreadable for a
while (``blind-since``), finishes that move autoscaling (the scaling tag), runners killed at each
crash point, new configs (and same-version models) of the serving version inside its rollback
window, and passes past the window or not: after every ``AddTags`` the driver's tags are counted.
Every tag it writes is one the AWS provider ignores (``ignoreTags``). The worst sequence found
reaches 16 of the 17.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_infra.compile.aws.provider import ignore_tags
from mlops_infra.endpoint_tags import DRIVER_MAX_TAGS, KEPT_MAX, KEPT_TAG_PREFIX, STATUS_FIELDS, STATUS_MAX
from mlops_infra.rollout.drivers.sagemaker import (
    SCALABLE_DIMENSION,
    Crash,
    DeclaredScaling,
    EndpointTarget,
    SageMakerDriver,
    primary_resource,
)
from mlops_infra.rollout.model import NOTICE_PENDING, NOTICE_SENT, Decision, RolloutStatus
from mlops_infra.rollout.runner import NoGates, reconcile_once
from mlops_infra.spec.labels import AWS_MAX_TAGS
from tests.rollout.aws_world import IMAGE, ROLE, all_tags, canary_percent, config, model_name, status_tags
from tests.rollout.sim import BAKE, STEPS, Clock, ScriptedGates, spec
from tests.support.moto_server import client, reset, running_moto_server

pytestmark = pytest.mark.moto

E = "budget-scorer"
DAY = 24 * 3600
SMALL, LARGE = "ml.g5.xlarge", "ml.g5.2xlarge"
IGNORED = ignore_tags()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """The module's moto server with kept connections (tests/support/moto_server.py: the same moto
    application and answers, tests/rollout/test_moto_keep_alive.py): the property tests here make
    thousands of calls, and moto's own server pays a TCP connect and a thread for each."""
    with running_moto_server(keep_alive=True) as url:
        yield url


def driver_keys(tags: list[dict[str, str]]) -> list[str]:
    return [t["Key"] for t in tags if t["Key"].startswith("mlops-infra:")]


class Counting:
    """A SageMaker client that counts the driver's tags on the endpoint after every ``AddTags``."""

    def __init__(self, inner: Any, world: World) -> None:
        self.inner, self.world = inner, world

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name != "add_tags":
            return method

        def add_tags(**kwargs: Any) -> Any:
            answer = method(**kwargs)
            self.world.count()
            return answer
        return add_tags


@dataclass
class World:
    sm: Any
    scaling: Any
    clock: Clock = field(default_factory=Clock)
    instance: str = SMALL
    peak: int = 0
    peak_kept: int = 0
    seen: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    arn: str = ""  # the endpoint's (created once, in new_world; an ARN names its resource, it never changes)

    def count(self) -> None:
        keys = driver_keys(all_tags(self.sm, self.arn))
        kept = [k for k in keys if k.startswith(KEPT_TAG_PREFIX)]
        self.seen.update(keys)
        self.peak, self.peak_kept = max(self.peak, len(keys)), max(self.peak_kept, len(kept))
        assert len(kept) <= KEPT_MAX, sorted(keys)
        assert len(keys) <= DRIVER_MAX_TAGS, sorted(keys)

    def target(self, version: int, instance: str, suffix: str = "", model: str | None = None) -> EndpointTarget:
        """Version ``version``'s model (``model``: a new one of the same version, else the usual name) and
        final config ``cfg-v<version><suffix>``, as an apply of it leaves them."""
        model = model or model_name(E, version)
        if model not in self.models:
            self.sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
            self.models.add(model)
        config(self.sm, f"{E}-cfg-v{version}{suffix}", model, instance=instance)
        return EndpointTarget(E, str(version), f"{E}-cfg-v{version}{suffix}", model, DeclaredScaling(3, 10))

    def one_pass(self, target: EndpointTarget, gates: Any, command: str | None = None, crash: str | None = None):
        driver = SageMakerDriver(Counting(self.sm, self), target, autoscaling=self.scaling, keep_seconds=DAY,
                                 crash_at=crash)
        try:
            result = reconcile_once(spec("aws", gates=("budget-latency",)), driver, gates, self.clock.now, command)
        except Crash:
            result = None
        self.count()
        return result


@dataclass(frozen=True)
class Version:
    """How one version's rollout goes: ``outcome`` at step ``at``, what else happens on the way."""

    outcome: str  # finish, rollback, abort, resume (rolled back, resumed, finished)
    at: int  # index into STEPS where the gate fires, the operator aborts, or the gate is unreadable
    move: bool  # the new config changes primary's instance type: the finish moves autoscaling
    blind: bool  # the gate is unreadable twice at that step (blind-since written, then cleared)
    crash: str | None  # the runner is killed right after this write, on pass ``crash_pass``
    crash_pass: int
    wait: bool  # after it settles, a pass past the rollback window
    superseded: int = 0  # > 0: only this many passes, then the next version is applied (still in progress)
    changes: tuple[str, ...] = ()  # once finished: new configs of it ("instance" or "model": a new one, same version)


VERSIONS = st.builds(Version, st.sampled_from(["finish", "rollback", "abort", "resume"]),
                     st.integers(0, len(STEPS) - 2), st.booleans(), st.booleans(),
                     st.sampled_from([None, "status", "traffic", "deregister", "update"]), st.integers(0, 12),
                     st.booleans(), st.sampled_from([0, 0, 1, 2, 4]),
                     st.lists(st.sampled_from(["instance", "model"]), max_size=3).map(tuple))


def roll(world: World, number: int, plan: Version) -> None:
    """Passes until version ``number`` settles as ``plan`` says (see :class:`Version`)."""
    instance = (LARGE if world.instance == SMALL else SMALL) if plan.move else world.instance
    target = world.target(number, instance)
    state = {"blind": 2 if plan.blind else 0, "aborted": False, "resumed": False}
    percent = STEPS[plan.at]

    def decide(p: int | None) -> str:
        if plan.outcome in ("rollback", "resume") and not state["resumed"] and p == percent:
            return "firing"
        if state["blind"] and p == percent:
            state["blind"] -= 1
            return "unreadable"
        return "ok"

    gates = ScriptedGates(decide=decide, percent=lambda: canary_percent(world.sm, E))
    for index in range(plan.superseded or 80):
        command = None
        if (plan.outcome == "abort" and not state["aborted"] and canary_percent(world.sm, E) == percent
                and status_tags(world.sm, E).get("phase") == "progressing"):
            command, state["aborted"] = "abort", True
        result = world.one_pass(target, gates, command, plan.crash if index == plan.crash_pass else None)
        if result is not None and result.decision.action == "none":
            if plan.outcome == "resume" and not state["resumed"]:
                state["resumed"] = True
                world.one_pass(target, gates, "resume")
            else:
                break
        world.clock.sleep(BAKE)
    else:
        if plan.superseded:
            return  # the next version is applied while this one is in progress
        raise AssertionError(f"version {number} never settled: {plan}")
    if status_tags(world.sm, E).get("phase") == "finished":
        world.instance = instance
        for index, change in enumerate(plan.changes):  # new configs of the serving version, inside the window
            if change == "instance":
                world.instance = LARGE if world.instance == SMALL else SMALL
            model = f"{E}-v{number}-m{index}" if change == "model" else target.model
            target = world.target(number, world.instance, suffix=f"-c{index}", model=model)
            settle(world, target)
    if plan.wait:
        world.clock.now += DAY + 1
        world.one_pass(target, NoGates())


def settle(world: World, target: EndpointTarget) -> None:
    for _ in range(10):
        result = world.one_pass(target, NoGates())
        if result is not None and result.decision.action == "none":
            return
        world.clock.sleep(1)
    raise AssertionError(f"{target} never settled")


def new_world(moto_url: str, labels: int = 0) -> World:
    reset(moto_url)
    world = World(client("sagemaker", moto_url), client("application-autoscaling", moto_url))
    world.target(12, SMALL)  # version 12 serves, autoscaled (min 3, max 10), as an apply leaves it
    world.arn = world.sm.create_endpoint(EndpointName=E, EndpointConfigName=f"{E}-cfg-v12")["EndpointArn"]
    world.scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=primary_resource(E),
                                           ScalableDimension=SCALABLE_DIMENSION, MinCapacity=3, MaxCapacity=10)
    if labels:
        world.sm.add_tags(ResourceArn=world.arn, Tags=[{"Key": f"label-{i}", "Value": "v"} for i in range(labels)])
    return world


def test_the_status_fields_are_every_field_the_status_writes() -> None:
    """Every field ``to_fields`` can write, and never more than ``STATUS_MAX`` at once, in every phase: a
    rolled-back status with its notice drops ``blind-since`` (a gate unreadable until the timeout rolled
    it back); ``in-effect`` is written only while progressing and ``reason`` only in the other phases;
    ``pending-since`` only while progressing and never beside ``blind-since``."""
    held = RolloutStatus("progressing", "13", "12", 2, 1.0, blind_since=2.0, in_effect=1.5)
    told = held.evolve(phase="rolled_back", notice=NOTICE_PENDING, reason="r")
    waiting = held.evolve(blind_since=None, pending_since=2.5)  # a baked step held by a pending gate
    assert set(held.to_fields()) | set(told.to_fields()) | set(waiting.to_fields()) == set(STATUS_FIELDS)
    assert len(STATUS_FIELDS) == len(set(STATUS_FIELDS))
    assert len(held.to_fields()) == len(told.to_fields()) == len(waiting.to_fields()) == STATUS_MAX == 7
    for phase in ("progressing", "finished", "rolled_back", "aborted"):
        for notice in ("", NOTICE_PENDING, NOTICE_SENT):
            for in_effect in (None, 1.5):
                for pending_since in (None, 2.5):
                    fields = held.evolve(phase=phase, notice=notice, in_effect=in_effect, reason="r",
                                         pending_since=pending_since).to_fields()
                    assert len(fields) <= STATUS_MAX and set(fields) <= set(STATUS_FIELDS), (phase, notice, fields)
                    assert ("in-effect" in fields) == (phase == "progressing") != ("reason" in fields), fields
                    assert "pending-since" not in fields  # never beside blind-since
    assert "blind-since" not in told.to_fields() and "notice" not in held.evolve(notice=NOTICE_SENT).to_fields()
    assert RolloutStatus.from_fields(told.to_fields()) == told.evolve(blind_since=None, since=1.0, in_effect=None)
    assert RolloutStatus.from_fields(held.to_fields()) == held
    assert RolloutStatus.from_fields(waiting.to_fields()) == waiting
    assert DRIVER_MAX_TAGS == STATUS_MAX + 1 + KEPT_MAX == 17


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VERSIONS, min_size=2, max_size=3), st.lists(st.booleans(), min_size=3, max_size=3))
def test_recording_rollback_notices_stays_within_the_budget(moto_url, versions, told) -> None:
    """The scheduled runner records a rolled-back version's notice sent (a status-only write) before the
    next version: the notice replaces ``blind-since``, so the sequences stay within the budget."""
    world = new_world(moto_url)
    for number, (plan, record) in enumerate(zip(versions, told, strict=False), start=13):
        roll(world, number, plan)
        fields = status_tags(world.sm, E)
        if record and fields.get("notice") == NOTICE_PENDING:
            driver = SageMakerDriver(Counting(world.sm, world), world.target(number, world.instance),
                                     autoscaling=world.scaling)
            seen = driver.observe()
            assert seen.status is not None
            driver.act(Decision("record", "rollback notice sent", None, seen.status.evolve(notice=NOTICE_SENT)),
                       seen, world.clock.now)
            assert status_tags(world.sm, E)["notice"] == NOTICE_SENT
    assert world.peak <= DRIVER_MAX_TAGS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VERSIONS, min_size=2, max_size=4))
def test_any_sequence_of_settled_rollouts_stays_within_the_budget(moto_url, versions) -> None:
    world = new_world(moto_url)
    for number, plan in enumerate(versions, start=13):
        roll(world, number, plan)
    assert world.peak <= DRIVER_MAX_TAGS
    ignored = lambda key: key in IGNORED["keys"] or key.startswith(tuple(IGNORED["keyPrefixes"]))  # noqa: E731
    assert all(map(ignored, world.seen)), sorted(world.seen)


WORST = [Version("rollback", 2, False, True, None, 0, False),  # 13: rolled back, its rollout config serves
         Version("finish", 0, False, True, None, 0, False, changes=("model", "model")),  # 14: 2 + 2 + 2 kept
         Version("finish", 0, True, False, None, 0, False)]  # 15 inside 14's window, moving autoscaling


def test_the_worst_sequence_found_reaches_16_tags_and_fits_beside_the_labels_that_validate(moto_url) -> None:
    """With as many labels as validation allows (and mlops-infra's own tags) on the endpoint, the worst
    sequence completes: 14's six entries (its start off 13's canary, its finish, its last move to a new
    config and model of 14), 15's three and the scaling tag beside a finished status."""
    world = new_world(moto_url, labels=AWS_MAX_TAGS - DRIVER_MAX_TAGS)  # labels + own tags: 33
    for number, plan in enumerate(WORST, start=13):
        roll(world, number, plan)
    assert status_tags(world.sm, E)["revision"] == "15" and status_tags(world.sm, E)["phase"] == "finished"
    assert (world.peak, world.peak_kept) == (DRIVER_MAX_TAGS - 1, KEPT_MAX)


def test_without_the_room_the_first_add_tags_of_a_rollout_fails(moto_url) -> None:
    """The lead's reproduction: 46 labels and 4 own tags leave no room; the start's status write is
    refused before any traffic moves (what validation now prevents)."""
    world = new_world(moto_url, labels=AWS_MAX_TAGS)  # 46 labels + 4 of mlops-infra's own
    target = world.target(13, SMALL)
    driver = SageMakerDriver(world.sm, target, autoscaling=world.scaling)
    with pytest.raises(Exception, match="at most 50 tags"):
        reconcile_once(spec("aws", gates=()), driver, NoGates(), world.clock.now)
    assert canary_percent(world.sm, E) is None


def test_versions_superseding_rollouts_in_progress_stay_within_the_budget(moto_url) -> None:
    """Each start used to add the superseded canary's config and model (2 tags), and no pass deleted them
    until a later version settled: 13..22 superseding each other reached 25 driver tags. A start now
    deletes the entries of versions other than itself and the one it replaces."""
    world = new_world(moto_url)
    for number in range(13, 23):
        target = world.target(number, SMALL)
        for _ in range(3):
            world.one_pass(target, ScriptedGates())
            world.clock.sleep(1)
    kept = {key: value for key, value in status_kept(world).items()}
    assert set(kept.values()) == {"21", "22"} and len(kept) == 4, kept
    assert world.peak_kept == 4
    assert {c["EndpointConfigName"] for c in world.sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
            if "-rollout-v" in c["EndpointConfigName"]} == {name.split(":", 1)[1] for name in kept
                                                           if name.startswith("config:")} | {
        world.sm.describe_endpoint(EndpointName=E)["EndpointConfigName"]}


def test_config_changes_of_the_serving_version_stay_within_the_budget(moto_url) -> None:
    """Each new config of the serving version inside the rollback window used to add an entry not due
    before the window ended: 10 changes, 10 more tags. A move of the serving version now replaces what
    its earlier such move recorded."""
    world = new_world(moto_url)
    roll(world, 13, Version("finish", 0, False, False, None, 0, False))
    own = dict(status_kept(world))
    for change in range(10):
        model = f"{E}-v13-m{change}" if change % 3 == 2 else None
        target = world.target(13, LARGE if change % 2 == 0 else SMALL, suffix=f"-c{change}", model=model)
        settle(world, target)
    kept = status_kept(world)
    assert {k: v for k, v in kept.items() if k in own} == own  # the rollout's own entries stay for the window
    assert len(kept) - len(own) <= 2 and world.peak_kept <= len(own) + 2, kept
    assert f"config:{E}-cfg-v13-c8" in kept  # the config it moved off last, to move back to


def status_kept(world: World) -> dict[str, str]:
    arn = world.sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    return {t["Key"][len(KEPT_TAG_PREFIX):]: t["Value"] for t in all_tags(world.sm, arn)
            if t["Key"].startswith(KEPT_TAG_PREFIX)}
