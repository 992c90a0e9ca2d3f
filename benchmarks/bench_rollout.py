"""Benchmark: one rollout reconcile pass over 1,000 SageMaker endpoints in flight, on a moto server.

A script, not a test. Starts the patched moto server of ``tests/support/moto_server.py`` on
127.0.0.1 in a process of its own (:func:`~tests.support.moto_server.moto_server_process`, forked),
in its ``keep_alive`` form: moto's application, routing and handlers on connections kept open
between requests, as botocore's connection pool keeps them to AWS (moto's own server closes each
connection after one response, so every call there also paid a TCP connect and a server thread).
The server's process is not this one: AWS does not run on our CPU nor under our interpreter lock,
so the client's CPU (this process: ours) and the server's (the stand-in's, measured in its process)
are printed apart. Before serving, the server's process seeds ``--endpoints`` endpoints mid-canary
(stable and new model, the final config, a rollout config with a ``canary`` variant at 2% and the
status tags) and one CloudWatch alarm per endpoint (its rollback gate), straight into its moto
backends (:func:`seed_one`). The clients pool a connection per worker (botocore
``max_pool_connections``). Then it times whole passes over all endpoints (observe, read gates,
decide, act) at two moments:

- ``wait``: mid-bake, so every endpoint only observes and reads its gate (fleet: SageMaker ``Search``
  pages of 100 endpoints with their status, config, weights and tags, no call per endpoint; the
  baseline: DescribeEndpoint and ListTags per endpoint);
- ``advance``: every bake is over, so every endpoint moves to its next step (also, per endpoint, the
  compare before acting, DescribeEndpoint and ListTags, then AddTags and
  UpdateEndpointWeightsAndCapacities). A step's bake starts when its share is in effect (the
  ``in-effect`` status field, ``rollout/reconcile.py`` rule 8): after each timed advance an untimed
  fleet pass records it (action ``record``), so the next timed pass advances again.

Two ways, in the same run, against the same server process:
- ``baseline``: :func:`mlops_infra.rollout.runner.reconcile_once` per endpoint, one after the other,
  each reading its own gate (DescribeAlarms + GetMetricData per endpoint): N separate
  ``mlops-infra rollout`` passes without the process start;
- ``fleet``: :func:`mlops_infra.rollout.fleet.reconcile_fleet` with ``--workers`` threads, the
  endpoints observed through ``Search`` and the gates read in batches (100 alarms per
  DescribeAlarms, 500 queries per GetMetricData).

Each is run ``--runs`` times, alternating (the baseline on the first ``--baseline-sample`` endpoints
when given, compared per endpoint); printed per way: median wall time, per endpoint, the ratio to
the baseline per endpoint, the median CPU time of the client (this process, every thread) and of the
server process during the pass, each run's wall time, and the machine load (``os.getloadavg``, 1 min)
before and after the runs. Target: at most 10 s per fleet pass over 1,000 endpoints.

Measured (2 cores shared with other jobs, ``--runs 3 --baseline-sample 50``, moto 5.2.5, the server
in its own process), two runs:

- every endpoint taking a step: at load 1.64 -> 4.30, the fleet took 7.19 s wall for 1,000
  endpoints (runs 6.26, 7.19, 8.53; 7.2 ms per endpoint, x2.40 vs the baseline's 17.3 ms), 4.24 s
  client CPU (4.2 ms per endpoint; baseline 7.9 ms) and 5.06 s server CPU; at load 4.27 -> 7.28,
  9.02 s wall (runs 9.02, 10.09, 8.68; x3.24 vs the baseline's 29.2 ms per endpoint), 3.90 s client
  CPU and 4.91 s server CPU;
- mid-bake: at load 1.69 -> 1.64, 1.16 s wall (1.2 ms per endpoint, x7.42 vs the baseline's
  8.6 ms), 0.35 s client CPU and 0.81 s server CPU; at load 4.32 -> 4.27, 1.66 s wall (x8.22 vs
  13.7 ms), 0.31 s client CPU and 0.79 s server CPU.

Acting costs 4 calls per endpoint (the compare reads both ``DescribeEndpoint`` and ``ListTags``, see
``drivers/sagemaker.py`` and docs/rollout.md); the client's CPU of a step is botocore's work per
call (signing, HTTP, parsing), the driver's own share of it is small.

    python benchmarks/bench_rollout.py [--endpoints 1000] [--workers 16] [--runs 3] [--baseline-sample N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops_infra.rollout.drivers.sagemaker import (
    TAG_PREFIX,
    EndpointTarget,
    SageMakerDriver,
    rollout_config_prefix,
)
from mlops_infra.rollout.fleet import Member, reconcile_fleet
from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates
from mlops_infra.rollout.model import RolloutSpec, RolloutStatus
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import IMAGE, ROLE, model_name
from tests.support.moto_server import DUMMY_CREDENTIALS, REGION, ServerProcess, client, moto_server_process

STEPS, BAKE = (2, 5, 10, 20, 30, 50, 75, 100), 600  # 3 runs: 6 steps taken, none a finish
ACCOUNT = "123456789012"  # moto's default account
def rollout(endpoint: str) -> RolloutSpec:
    return RolloutSpec(endpoint, "canary", STEPS, BAKE, (f"{endpoint}-latency",), 900, "aws")


def seed_one(i: int, started: float) -> EndpointTarget:
    """One endpoint at step 1 of its canary, written straight into moto's in-memory backends (the same
    objects the server answers from; run in the server's process): seeding is not what is measured,
    and 1,000 endpoints through the API take many minutes on a loaded machine. What it leaves is what
    two reconcile passes leave (``tests/rollout/test_sagemaker_driver.py`` walks those through the API)."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.sagemaker.models import sagemaker_backends

    sm, cw = sagemaker_backends[ACCOUNT][REGION], cloudwatch_backends[ACCOUNT][REGION]
    endpoint = f"bench-{i:04d}"
    stable, new = model_name(endpoint, 12), model_name(endpoint, 13)
    for model in (stable, new):
        sm.create_model(model, ROLE, {"Image": IMAGE}, None, None, None)

    def variant(name: str, model: str, count: int, weight: float) -> dict:
        return {"VariantName": name, "ModelName": model, "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": count, "InitialVariantWeight": weight}

    final = f"{endpoint}-cfg-v13"
    rollout_config = f"{rollout_config_prefix(endpoint)}13-{i:08x}"  # the driver's naming: <prefix><N>-<hash>
    sm.create_endpoint_config(final, [variant("primary", new, 2, 1.0)], None, None, [], None)
    sm.create_endpoint_config(rollout_config, [variant("primary", stable, 2, 1.0),
                                               variant("canary", new, 1, 0.0)], None, None, [], None)
    created = sm.create_endpoint(endpoint, rollout_config, [])
    sm.update_endpoint_weights_and_capacities(endpoint, desired_weights_and_capacities=[
        {"VariantName": "primary", "DesiredWeight": 98.0},  # one variant's capacity per call, as the driver
        {"VariantName": "canary", "DesiredWeight": 2.0, "DesiredInstanceCount": 1}])  # (moto_server.py patch 22)
    status = RolloutStatus("progressing", "13", "12", 0, started, in_effect=started)  # step 1 in effect: baking
    sm.add_tags(created.arn, [{"Key": TAG_PREFIX + k, "Value": v} for k, v in status.to_fields().items()])
    cw.put_metric_alarm(f"{endpoint}-latency", "AWS/SageMaker", "ModelLatency", "GreaterThanThreshold", 1, 60,
                        250000.0, "Average", "", [{"Name": "EndpointName", "Value": endpoint},
                                                   {"Name": "VariantName", "Value": "canary"}], [])
    return EndpointTarget(endpoint, "13", final, new)


@dataclass(frozen=True)
class Timing:
    """One timed pass: wall time, this process's CPU (the client: ours), the server process's CPU
    (the stand-in's) and what the pass decided, by action."""

    wall: float
    client_cpu: float
    server_cpu: float
    actions: dict[str, int]


def timed(server: ServerProcess, work: Callable[[], list[str]]) -> Timing:
    server_before = server.cpu_seconds()
    begin, cpu = time.perf_counter(), time.process_time()
    actions = work()
    wall, cpu = time.perf_counter() - begin, time.process_time() - cpu
    counted: dict[str, int] = {}
    for action in actions:
        counted[action] = counted.get(action, 0) + 1
    return Timing(wall, cpu, server.cpu_seconds() - server_before, counted)


def baseline_pass(url: str, targets: list, now: float) -> list[str]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    return [reconcile_once(rollout(t.endpoint), SageMakerDriver(sm, t), CloudWatchGates(cw), now).decision.action
            for t in targets]  # one endpoint after the other, each with its own gate reads


@functools.cache
def pooled_client(service: str, url: str, workers: int) -> Any:
    """A client whose connection pool holds a connection per worker (botocore ``max_pool_connections``,
    default 10: with more threads than that, the extra connections are dropped after each call)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, max_pool_connections=max(10, workers))
    return boto3.Session(region_name=REGION, **DUMMY_CREDENTIALS).client(service, endpoint_url=url, config=config)


def fleet_pass(url: str, targets: list, now: float, workers: int) -> list[str]:
    sm, cw = pooled_client("sagemaker", url, workers), pooled_client("cloudwatch", url, workers)
    gates = CloudWatchGates(cw)  # one reader for the fleet: its reads are batched
    members = [Member(rollout(t.endpoint), SageMakerDriver(sm, t), gates) for t in targets]
    return [r.result.decision.action if r.result else f"error {r.error[:60]}"
            for r in reconcile_fleet(members, now, max_workers=workers)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="each advance run moves the baseline's endpoints two steps: "
                        "at most 3, so every pass timed takes a step (more runs finish the canaries)")
    parser.add_argument("--baseline-sample", type=int, default=0,
                        help="time the one-by-one baseline on the first N endpoints only (0: all)")
    args = parser.parse_args()
    t0, started = time.perf_counter(), time.time() - 5
    with moto_server_process(lambda: [seed_one(i, started) for i in range(args.endpoints)], timeout=1800) as server:
        targets, url = server.seeded, server.url
        check = Counter(fleet_pass(url, targets[:3], started + 1, 1))
        assert check == {"wait": 3}, f"the seeded endpoints are not mid-bake at step 1: {check}"
        print(f"seeded {args.endpoints} endpoints mid-canary in a moto server process of its own in "
              f"{time.perf_counter() - t0:.0f}s; load {os.getloadavg()[0]:.2f}", flush=True)
        now = started
        sample = targets[:args.baseline_sample or len(targets)]
        for moment in ("wait", "advance"):
            times: dict[str, list[Timing]] = {"baseline": [], "fleet": []}
            loads = [os.getloadavg()[0]]
            for _ in range(args.runs):  # alternate, so both see the same load
                for way in ("fleet", "baseline"):
                    # mid-bake: a second later; advance: past the bake (every endpoint moves one step per pass)
                    now = now + BAKE + 1 if moment == "advance" else now + 1
                    times[way].append(timed(server, functools.partial(baseline_pass, url, sample, now)
                                            if way == "baseline" else
                                            functools.partial(fleet_pass, url, targets, now, args.workers)))
                    if moment == "advance":  # untimed: the step just set is in effect, its bake starts (a
                        now += 1  # "record" pass, reconcile rule 8), so the next timed pass moves on again
                        fleet_pass(url, targets, now, args.workers)
            loads.append(os.getloadavg()[0])
            report(moment, times, {"baseline": len(sample), "fleet": len(targets)}, args.workers, loads)


def report(moment: str, times: dict[str, list[Timing]], counts: dict[str, int], workers: int,
           loads: list[float]) -> None:
    """One line per way: medians of wall, client CPU and server CPU, per endpoint, the ratio to the
    baseline per endpoint, every run's wall time, the actions of the last run, load before and after."""
    def per(way: str, field: str) -> float:
        return statistics.median(getattr(t, field) for t in times[way]) / counts[way]

    for way in ("baseline", "fleet"):
        count, runs = counts[way], times[way]
        label = "baseline (one by one)" if way == "baseline" else f"fleet (workers={workers})"
        ratio = per("baseline", "wall") / per(way, "wall")
        print(f"{moment:8s} {label:22s} {count:5d} endpoints  wall {per(way, 'wall') * count:6.2f}s "
              f"({per(way, 'wall') * 1000:5.1f} ms/endpoint, x{ratio:4.2f} vs baseline)  "
              f"client cpu {per(way, 'client_cpu') * count:6.2f}s ({per(way, 'client_cpu') * 1000:5.1f} ms/endpoint)  "
              f"server cpu {per(way, 'server_cpu') * count:6.2f}s ({per(way, 'server_cpu') * 1000:5.1f} ms/endpoint)  "
              f"runs {[round(t.wall, 2) for t in runs]}  actions {runs[-1].actions}  "
              f"load {loads[0]:.2f}->{loads[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
