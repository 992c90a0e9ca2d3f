"""A step whose canary served no request is no evidence (audit rolloutaws-3).

The CloudWatch gates judge the canary variant's own series, and a minute without requests has no
datapoint (``gates/cloudwatch.py``, "A period without requests is no evidence"). The reader read that
as ``ok`` and the reconciler ended every bake on it, so a version nobody called "passed all 6 steps".
Now the reader counts the canary variant's ``Invocations`` (Sum) over the step in the same
``GetMetricData`` call (``GateReading.requests``), and a baked step under the plan's
``minRequestsPerStep`` (default 1) waits at its share for at most ``gate_timeout_seconds``, then rolls
back saying how many requests it served (``rollout/reconcile.py`` rule 10). The first test is the
audit's repro turned into assertions; it fails on the code before (the rollout finished).
"""

from __future__ import annotations

import time

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates
from mlops_infra.rollout.model import GateReading, Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import E, deploy, status_tags
from tests.support.moto_server import client

STEPS = (2, 5, 10, 25, 75, 100)
EXTRA = (("canaryVariant", "canary"), ("variant", "primary"))


def error_rate_alarm(cw, name: str) -> None:
    """An error-rate alarm on the stable variant shaped like the compiled one (``errors / invocations``)."""
    dims = [{"Name": "EndpointName", "Value": E}, {"Name": "VariantName", "Value": "primary"}]
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=5, Threshold=0.01, TreatMissingData="notBreaching",
                        ComparisonOperator="GreaterThanThreshold", Metrics=[
        {"Id": "errors", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker",
         "MetricName": "Invocation5XXErrors", "Dimensions": dims}, "Period": 60, "Stat": "Sum"}},
        {"Id": "invocations", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker",
         "MetricName": "Invocations", "Dimensions": dims}, "Period": 60, "Stat": "Sum"}},
        {"Id": "rate", "Expression": "errors / invocations", "ReturnData": True}])


def canary_requests(cw, at: float, count: int) -> None:
    """``count`` requests served by the canary variant in the minute of ``at`` (as SageMaker publishes them)."""
    dims = [{"Name": "EndpointName", "Value": E}, {"Name": "VariantName", "Value": "canary"}]
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": count, "Unit": "None"},
        {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": at, "Value": 0, "Unit": "None"}])


def walk(sm, cw, spec: RolloutSpec, now: float, passes: int, step: float = 60.0, requests: int = 0):
    """Passes every ``step`` seconds (``requests`` canary requests put in each minute); the decisions.
    ``now`` is a whole second: the status stores times to the millisecond, and a bound counted from a
    rounded time would end one pass later."""
    target, gates, decisions = deploy(sm), CloudWatchGates(cw), []
    for _ in range(passes):
        if requests:
            canary_requests(cw, now - 30, requests)
        result = reconcile_once(spec, SageMakerDriver(sm, target), gates, now)
        decisions.append(result.decision)
        if status_tags(sm, E).get("phase") in ("finished", "rolled_back"):
            break
        now += step
    return decisions


def test_a_canary_that_serves_no_request_never_leaves_its_first_step(sm, moto_url):
    cw = client("cloudwatch", moto_url)
    error_rate_alarm(cw, "mr-errors-none")
    spec = RolloutSpec("scorer", "canary", STEPS, 600, ("mr-errors-none",), 900, "aws", extra=EXTRA)
    decisions = walk(sm, cw, spec, float(int(time.time())), passes=40)
    assert {d.percent for d in decisions if d.action == "set_traffic"} == {2}  # the start, never step 2
    tags = status_tags(sm, E)
    assert tags["phase"] == "rolled_back" and tags["step"] == "0"
    assert "the canary served 0 requests in" in tags["reason"] and "at least 1 needed" in tags["reason"]
    assert "step 1 (2%)" in tags["reason"] and "held 15m00s after the bake of 10m00s" in tags["reason"]
    waits = [d.message for d in decisions if d.action == "wait" and "baked, waiting for requests" in d.message]
    assert waits and all("the canary served 0 requests" in m for m in waits)
    baking = [d.message for d in decisions if "baking," in d.message]
    assert baking and all(m.endswith("; 0 requests served so far") for m in baking)


def test_a_canary_that_serves_requests_moves_on_and_says_how_many(sm, moto_url):
    cw = client("cloudwatch", moto_url)
    error_rate_alarm(cw, "mr-errors-served")
    spec = RolloutSpec("scorer", "canary", (2, 100), 300, ("mr-errors-served",), 900, "aws", extra=EXTRA)
    decisions = walk(sm, cw, spec, float(int(time.time())), passes=30, requests=3)
    moved = [d for d in decisions if d.action == "set_traffic" and d.percent == 100]
    assert len(moved) == 1 and "(step 1 served " in moved[0].message and " requests)" in moved[0].message
    assert decisions[-1].action == "finish" and "(step 2 served " in decisions[-1].message
    assert status_tags(sm, E)["phase"] == "finished"
    assert status_tags(sm, E)["reason"].startswith("all steps passed; the last served ")


def test_zero_minimum_restores_the_walk_without_requests(sm, moto_url):
    cw = client("cloudwatch", moto_url)
    error_rate_alarm(cw, "mr-errors-zero")
    spec = RolloutSpec("scorer", "canary", STEPS, 600, ("mr-errors-zero",), 900, "aws",
                       extra=(*EXTRA, ("minRequestsPerStep", 0)))
    decisions = walk(sm, cw, spec, float(int(time.time())), passes=40, step=600.0)
    assert sorted({d.percent for d in decisions if d.action == "set_traffic"}) == list(STEPS)
    assert status_tags(sm, E)["phase"] == "finished"


T0 = 1_800_000_000.0
SPEC = RolloutSpec("scorer", "canary", (2, 100), 600, ("scorer-errors",), 900, "aws",
                   extra=(*EXTRA, ("minRequestsPerStep", 5)))


def baked(requests: float | None, pending_since: float | None = None) -> tuple[Observed, list[GateReading]]:
    status = RolloutStatus("progressing", "13", "12", 0, T0, in_effect=T0, pending_since=pending_since)
    return Observed("13", "12", 2, status=status), [GateReading("scorer-errors", "ok", requests=requests)]


def test_the_hold_is_bounded_from_its_first_pass_and_names_the_count():
    ends = T0 + 600
    first = reconcile(SPEC, *baked(4), ends)
    assert first.action == "wait" and first.status.pending_since == ends and first.next_check == ends + 900
    assert first.message == ("step 1 (2%): the canary served 4 requests in 10m00s; at least 5 needed: baked, "
                             "waiting for requests before step 2 (rolling back in 15m00s if too few come)")
    held = reconcile(SPEC, *baked(4, pending_since=ends), ends + 899)
    assert held.action == "wait" and held.status is None
    back = reconcile(SPEC, *baked(4, pending_since=ends), ends + 900)
    assert back.action == "rollback" and back.percent == 0 and back.status.phase == "rolled_back"
    assert back.status.reason == ("step 1 (2%): the canary served 4 requests in 25m00s; at least 5 needed (held "
                                  "15m00s after the bake of 10m00s on version 13: a step without requests is "
                                  "no evidence)")
    enough = reconcile(SPEC, *baked(5, pending_since=ends), ends + 300)
    assert enough.action == "set_traffic" and enough.percent == 100 and enough.status.pending_since is None
    assert enough.message == "step 2: 100% of traffic to version 13 (step 1 served 5 requests)"


def test_a_reader_that_does_not_count_holds_nothing():
    observed, gates = baked(None)
    decision = reconcile(SPEC, observed, gates, T0 + 600)
    assert decision.action == "set_traffic" and decision.message == "step 2: 100% of traffic to version 13"


def test_the_finish_waits_for_the_bakes_last_minute_when_the_reader_has_a_lag():
    status = RolloutStatus("progressing", "13", "12", 1, T0, in_effect=T0)
    observed = Observed("13", "12", 100, status=status)
    gates = [GateReading("scorer-errors", "ok", requests=40, lag=120)]  # as CloudWatchGates reads a 60 s alarm
    ends = T0 + 600
    wait = reconcile(SPEC, observed, gates, ends)
    assert wait.action == "wait" and wait.next_check == ends + 120
    assert wait.message == ("step 2 (100%): baked (step 2 served 40 requests); waiting 2m00s for the gates' "
                            "metrics to publish the bake's last minute before the finish")
    done = reconcile(SPEC, observed, gates, ends + 120)
    assert done.action == "finish" and done.status.reason == "all steps passed; the last served 40 requests"
    no_lag = [GateReading("scorer-errors", "ok", requests=40)]  # Prometheus alerts: no publication lag
    assert reconcile(SPEC, observed, no_lag, ends).action == "finish"


def test_cloudwatch_readings_carry_two_periods_of_lag(moto_url):
    cw = client("cloudwatch", moto_url)
    error_rate_alarm(cw, "mr-errors-lag")
    spec = RolloutSpec("scorer", "canary", STEPS, 600, ("mr-errors-lag",), 900, "aws", extra=EXTRA)
    now = time.time()
    [reading] = CloudWatchGates(cw).read(spec, now - 300, now)
    assert (reading.state, reading.lag, reading.requests) == ("ok", 120, 0)
