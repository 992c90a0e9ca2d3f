"""Benchmark: one rollout reconcile pass over 1,000 SageMaker endpoints in flight, on a moto server.

A script, not a test. Starts the patched moto server of ``tests/support/moto_server.py`` on
127.0.0.1, seeds ``--endpoints`` endpoints mid-canary (stable and new model, the stable config, the
final config, a rollout config with a ``canary`` variant at 2% and the status tags), and one
CloudWatch alarm every rollout reads as its gate. Then it times
:func:`mlops_infra.rollout.fleet.reconcile_fleet` (whole pass: observe, read gates, decide, act)
at two moments:

- ``advance``: every bake is over, so every endpoint moves to its next step (reads and writes:
  DescribeEndpoint twice, ListTags twice, DescribeEndpointConfig once per driver, DescribeAlarms,
  GetMetricData, AddTags, UpdateEndpointWeightsAndCapacities);
- ``wait``: mid-bake, so every endpoint only observes and reads its gate.

for each ``--workers`` value (bounded thread pool), ``--runs`` times each, and prints the median wall
time, the median per endpoint, and the ratio to ``workers=1`` as the baseline in the same run,
with the machine load (``os.getloadavg``). Target: at most 10 s per pass for 1,000 endpoints.

    python benchmarks/bench_rollout.py [--endpoints 1000] [--workers 1,16] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.fleet import Member, reconcile_fleet
from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import deploy
from tests.support.moto_server import client, running_moto_server

STEPS, BAKE = (2, 5, 10, 25, 75, 100), 600
ALARM = "bench-scorer-latency"


def seed(url: str, count: int) -> tuple[list, float]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    cw.put_metric_alarm(AlarmName=ALARM, MetricName="ModelLatency", Namespace="AWS/SageMaker", Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=250000, ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "EndpointName", "Value": "any"}, {"Name": "VariantName", "Value": "primary"}])
    spec = RolloutSpec("bench", "canary", STEPS, BAKE, (ALARM,), 900, "aws")
    started = time.time() - 5
    targets = []
    for i in range(count):
        target = deploy(sm, f"bench-{i:04d}", count=2)
        driver = SageMakerDriver(sm, target)
        for _ in range(2):  # start (deploys the canary variant), then 2% of traffic
            reconcile_once(spec, driver, CloudWatchGates(cw), started)
        targets.append(target)
    return targets, started


def members(url: str, targets: list) -> list[Member]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    return [Member(RolloutSpec(t.endpoint, "canary", STEPS, BAKE, (ALARM,), 900, "aws"), SageMakerDriver(sm, t),
                   CloudWatchGates(cw)) for t in targets]


def timed(url: str, targets: list, now: float, workers: int) -> tuple[float, dict[str, int]]:
    fleet = members(url, targets)
    begin = time.perf_counter()
    results = reconcile_fleet(fleet, now, max_workers=workers)
    elapsed = time.perf_counter() - begin
    actions: dict[str, int] = {}
    for r in results:
        key = r.result.decision.action if r.result else f"error {r.error[:60]}"
        actions[key] = actions.get(key, 0) + 1
    return elapsed, actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--workers", default="1,16")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    with running_moto_server() as url:
        t0 = time.perf_counter()
        targets, started = seed(url, args.endpoints)
        print(f"seeded {args.endpoints} endpoints mid-canary in {time.perf_counter() - t0:.1f}s; "
              f"load {os.getloadavg()[0]:.2f}")
        baseline: dict[str, float] = {}
        now = started
        for moment in ("wait", "advance"):
            for w in workers:
                times = []
                for _ in range(args.runs):
                    now = now + BAKE + 1 if moment == "advance" else now + 1
                    elapsed, actions = timed(url, targets, now, w)
                    times.append(elapsed)
                median = statistics.median(times)
                baseline.setdefault(moment, median)
                print(f"{moment:8s} workers={w:<3d} median {median:6.2f}s  ({median / args.endpoints * 1000:5.1f} ms per "
                      f"endpoint)  x{baseline[moment] / median:4.2f} vs workers={workers[0]}  runs={args.runs}  "
                      f"actions {actions}  load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
