"""A step's last minute, published after the pass that moved on, is judged (audit rolloutaws-8).

SageMaker publishes its invocation metrics at a 1-minute frequency, so the datapoint of a step's last
minute appears after the pass that ended the bake and set the next step. The next step's window
started at its own traffic change, so that minute was in no window: a breach in it was never read.
Now the canary variant's series is read from one period before the step's start (``gates/cloudwatch.py``,
"The canary's window reaches back one period"), and after the last step the finish waits for the bake's
last minute (``rollout/reconcile.py`` rule 10, tested in ``test_canary_min_requests.py``). The test is
the audit's repro turned into assertions; it fails on the code before (every read was ``ok``).
"""

from __future__ import annotations

import time

from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates
from mlops_infra.rollout.model import RolloutSpec
from tests.support.moto_server import client

E = "e-boundary-rollgate"


def latency_alarm(cw, name: str) -> None:
    """A latency alarm on the stable variant (``Maximum``: moto answers a ``p99`` query on data with HTTP 500)."""
    dims = [{"Name": "EndpointName", "Value": E}, {"Name": "VariantName", "Value": "primary"}]
    cw.put_metric_alarm(AlarmName=name, MetricName="ModelLatency", Namespace="AWS/SageMaker",
                        Statistic="Maximum", Period=60, EvaluationPeriods=5, Threshold=250000,
                        ComparisonOperator="GreaterThanThreshold", Dimensions=dims)


def put(cw, variant: str, at: float, value: float) -> None:
    dims = [{"Name": "EndpointName", "Value": E}, {"Name": "VariantName", "Value": variant}]
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{"MetricName": "ModelLatency", "Dimensions": dims,
                       "Timestamp": at, "Value": value, "Unit": "Microseconds"}])


def test_the_previous_steps_last_minute_is_judged_in_the_next_steps_window(moto_url):
    cw = client("cloudwatch", moto_url)
    latency_alarm(cw, "b-latency-last-minute")
    spec = RolloutSpec("scorer", "canary", (2, 5, 100), 600, ("b-latency-last-minute",), 900, "aws",
                       extra=(("canaryVariant", "canary"), ("variant", "primary"), ("minRequestsPerStep", 0)))
    minute = (int(time.time()) // 60) * 60
    t_advance = minute - 120 + 5          # the pass that ended step 1's bake, 5 s into a minute
    last = t_advance - 5 - 60             # step 1's last complete minute [last, last + 60)
    put(cw, "canary", last + 30, 900000)  # published after that pass
    gates = CloudWatchGates(cw)
    for offset in (60, 120, 600):
        reading = gates.read(spec, t_advance, t_advance + offset)[0]
        assert (reading.state, reading.value) == ("firing", 900000.0), offset
        assert reading.detail == "canary variant breached 250000.0 in this step"


def test_the_reach_back_is_one_period_and_on_the_canary_variant_only(moto_url):
    cw = client("cloudwatch", moto_url)
    latency_alarm(cw, "b-latency-one-period")
    spec = RolloutSpec("scorer", "canary", (2, 5, 100), 600, ("b-latency-one-period",), 900, "aws",
                       extra=(("canaryVariant", "canary"), ("variant", "primary"), ("minRequestsPerStep", 0)))
    since = (int(time.time()) // 60) * 60 - 600 + 5
    put(cw, "canary", since - 5 - 120 + 30, 900000)  # two minutes back: the step before's, judged there
    put(cw, "primary", since - 5 - 60 + 30, 900000)  # the stable variant's minute before the step
    reading = CloudWatchGates(cw).read(spec, since, since + 300)[0]
    assert reading.state == "ok" and reading.stable == ""
