"""Benchmark: one rollout reconcile pass over 1,000 SageMaker endpoints in flight, on a moto server.

A script, not a test. Starts the patched moto server of ``tests/support/moto_server.py`` on
127.0.0.1 in this process (a moto server in a process of its own answers each call in ~200 ms here
instead of ~60 ms, apparently a TCP delayed-ACK interplay with werkzeug, so it is not used), seeds ``--endpoints`` endpoints mid-canary (stable and new model, the stable config, the
final config, a rollout config with a ``canary`` variant at 2% and the status tags) and one CloudWatch
alarm per endpoint (its rollback gate). Then it times whole passes over all endpoints (observe, read
gates, decide, act) at two moments:

- ``wait``: mid-bake, so every endpoint only observes and reads its gate (DescribeEndpoint,
  ListTags, DescribeEndpointConfig per endpoint; the gates);
- ``advance``: every bake is over, so every endpoint moves to its next step (also DescribeEndpoint
  and ListTags again to compare, AddTags, UpdateEndpointWeightsAndCapacities).

Two ways, in the same run:
- ``baseline``: :func:`mlops_infra.rollout.runner.reconcile_once` per endpoint, one after the other,
  each reading its own gate (DescribeAlarms + GetMetricData per endpoint): N separate
  ``mlops-infra rollout`` passes without the process start;
- ``fleet``: :func:`mlops_infra.rollout.fleet.reconcile_fleet` with ``--workers`` threads and the
  gates read in batches (100 alarms per DescribeAlarms, 500 queries per GetMetricData).

Each is run ``--runs`` times; printed: median wall time, per endpoint, the ratio to the baseline, the
number of API calls the server answered, and the machine load (``os.getloadavg``, 1 min). Target: at
most 10 s per fleet pass over 1,000 endpoints.

    python benchmarks/bench_rollout.py [--endpoints 1000] [--workers 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
def rollout(endpoint: str) -> RolloutSpec:
    return RolloutSpec(endpoint, "canary", STEPS, BAKE, (f"{endpoint}-latency",), 900, "aws")


def seed_one(url: str, i: int, started: float):
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    target = deploy(sm, f"bench-{i:04d}", count=2)
    cw.put_metric_alarm(AlarmName=f"{target.endpoint}-latency", MetricName="ModelLatency", Namespace="AWS/SageMaker",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=250000,
                        ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "EndpointName", "Value": target.endpoint},
                                    {"Name": "VariantName", "Value": "canary"}])
    driver = SageMakerDriver(sm, target)
    for _ in range(2):  # start (deploys the canary variant), then 2% of traffic
        reconcile_once(rollout(target.endpoint), driver, CloudWatchGates(cw), started)
    return target


def timed_baseline(url: str, targets: list, now: float) -> tuple[float, dict[str, int]]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    begin = time.perf_counter()
    actions: dict[str, int] = {}
    for t in targets:  # one endpoint after the other, each with its own gate reads
        result = reconcile_once(rollout(t.endpoint), SageMakerDriver(sm, t), CloudWatchGates(cw), now)
        actions[result.decision.action] = actions.get(result.decision.action, 0) + 1
    return time.perf_counter() - begin, actions


def timed_fleet(url: str, targets: list, now: float, workers: int) -> tuple[float, dict[str, int]]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    gates = CloudWatchGates(cw)  # one reader for the fleet: its reads are batched
    members = [Member(rollout(t.endpoint), SageMakerDriver(sm, t), gates) for t in targets]
    begin = time.perf_counter()
    results = reconcile_fleet(members, now, max_workers=workers)
    elapsed = time.perf_counter() - begin
    actions: dict[str, int] = {}
    for r in results:
        key = r.result.decision.action if r.result else f"error {r.error[:60]}"
        actions[key] = actions.get(key, 0) + 1
    return elapsed, actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with running_moto_server() as url:
        t0 = time.perf_counter()
        started = time.time() - 5
        with ThreadPoolExecutor(8) as pool:
            targets = list(pool.map(lambda i: seed_one(url, i, started), range(args.endpoints)))
        print(f"seeded {args.endpoints} endpoints mid-canary in "
              f"{time.perf_counter() - t0:.0f}s; load {os.getloadavg()[0]:.2f}", flush=True)
        now = started
        for moment in ("wait", "advance"):
            times: dict[str, list[float]] = {"baseline": [], "fleet": []}
            seen: dict[str, dict[str, int]] = {}
            for _ in range(args.runs):  # alternate, so both see the same load
                for way in ("baseline", "fleet"):
                    # mid-bake: a second later; advance: past the bake (the endpoints move one step per pass)
                    now = now + BAKE + 1 if moment == "advance" else now + 1
                    elapsed, actions = (timed_baseline(url, targets, now) if way == "baseline"
                                        else timed_fleet(url, targets, now, args.workers))
                    times[way].append(elapsed)
                    seen[way] = actions
            base = statistics.median(times["baseline"])
            for way in ("baseline", "fleet"):
                median = statistics.median(times[way])
                label = "baseline (one by one)" if way == "baseline" else f"fleet (workers={args.workers})"
                print(f"{moment:8s} {label:22s} median {median:6.2f}s ({median / args.endpoints * 1000:5.1f} ms per "
                      f"endpoint)  x{base / median:4.2f} vs baseline  runs {[round(t, 2) for t in times[way]]}  "
                      f"actions {seen[way]}  load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
