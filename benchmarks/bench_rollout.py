"""Benchmark: one rollout reconcile pass over 1,000 SageMaker endpoints in flight, on a moto server.

A script, not a test. Starts the patched moto server of ``tests/support/moto_server.py`` on
127.0.0.1 in this process, in its ``keep_alive`` form: moto's application, routing and handlers on
connections kept open between requests, as botocore's connection pool keeps them to AWS (moto's own
server closes each connection after one response, so every call there also paid a TCP connect and a
server thread). Not a server in a process of its own: the seeding below writes into the backends the
server answers from, and the CPU column counts the server's work too. The clients pool a connection
per worker (botocore ``max_pool_connections``). Seeds
``--endpoints`` endpoints mid-canary (stable and new model, the final config, a rollout config with a
``canary`` variant at 2% and the status tags) and one CloudWatch alarm per endpoint (its rollback
gate), straight into moto's backends (:func:`seed_one`). Then it times whole passes over all
endpoints (observe, read gates, decide, act) at two moments:

- ``wait``: mid-bake, so every endpoint only observes and reads its gate (fleet: SageMaker ``Search``
  pages of 100 endpoints with their status, config, weights and tags, no call per endpoint; the
  baseline: DescribeEndpoint and ListTags per endpoint);
- ``advance``: every bake is over, so every endpoint moves to its next step (also, per endpoint, the
  compare before acting, DescribeEndpoint and ListTags, then AddTags and
  UpdateEndpointWeightsAndCapacities).

Two ways, in the same run:
- ``baseline``: :func:`mlops_infra.rollout.runner.reconcile_once` per endpoint, one after the other,
  each reading its own gate (DescribeAlarms + GetMetricData per endpoint): N separate
  ``mlops-infra rollout`` passes without the process start;
- ``fleet``: :func:`mlops_infra.rollout.fleet.reconcile_fleet` with ``--workers`` threads, the
  endpoints observed through ``Search`` and the gates read in batches (100 alarms per
  DescribeAlarms, 500 queries per GetMetricData).

Each is run ``--runs`` times (the baseline on the first ``--baseline-sample`` endpoints when given,
compared per endpoint); printed: median wall time, per endpoint, the ratio to the baseline, the
process CPU time of the pass (client and in-process server together: about the wall time the pass
would take on one idle core, since both share one interpreter lock) and the machine load
(``os.getloadavg``, 1 min). Target: at most 10 s per fleet pass over 1,000 endpoints.

Measured (2 cores shared with other jobs, ``--runs 2 --baseline-sample 50``, moto 5.2.5): mid-bake
(load 5.55), the fleet took 1.93 s wall and 1.04 s CPU for 1,000 endpoints (1.0 ms per endpoint;
the baseline 7.4 ms CPU per endpoint); every endpoint taking a step (load 8.46), 9.86 s wall (runs
11.15 and 8.58 s) and 8.24 s CPU (8.2 ms per endpoint; baseline 15.2 ms); a later run at load 14.36,
11.55 s wall and 7.40 s CPU (baseline 14.0 ms CPU per endpoint). Acting costs 4 calls per
endpoint (the compare reads both ``DescribeEndpoint`` and ``ListTags``, see ``drivers/sagemaker.py``
and docs/rollout.md), each costing client and moto CPU here: when all 1,000 bakes end in the same
tick, the pass meets the 10 s target on this machine at a load about 8, not at about 14.

    python benchmarks/bench_rollout.py [--endpoints 1000] [--workers 16] [--runs 2] [--baseline-sample N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
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
from tests.support.moto_server import DUMMY_CREDENTIALS, REGION, client, running_moto_server

STEPS, BAKE = (2, 5, 10, 25, 75, 100), 600
ACCOUNT = "123456789012"  # moto's default account
def rollout(endpoint: str) -> RolloutSpec:
    return RolloutSpec(endpoint, "canary", STEPS, BAKE, (f"{endpoint}-latency",), 900, "aws")


def seed_one(i: int, started: float) -> EndpointTarget:
    """One endpoint at step 1 of its canary, written straight into moto's in-memory backends (the same
    objects the server answers from): seeding is not what is measured, and 1,000 endpoints through
    the API take many minutes on a loaded machine. What it leaves is what two reconcile passes leave
    (``tests/rollout/test_sagemaker_driver.py`` walks those through the API)."""
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
        {"VariantName": "primary", "DesiredWeight": 98.0, "DesiredInstanceCount": 2},
        {"VariantName": "canary", "DesiredWeight": 2.0, "DesiredInstanceCount": 1}])
    status = RolloutStatus("progressing", "13", "12", 0, started)
    sm.add_tags(created.arn, [{"Key": TAG_PREFIX + k, "Value": v} for k, v in status.to_fields().items()])
    cw.put_metric_alarm(f"{endpoint}-latency", "AWS/SageMaker", "ModelLatency", "GreaterThanThreshold", 1, 60,
                        250000.0, "Average", "", [{"Name": "EndpointName", "Value": endpoint},
                                                   {"Name": "VariantName", "Value": "canary"}], [])
    return EndpointTarget(endpoint, "13", final, new)


def timed_baseline(url: str, targets: list, now: float) -> tuple[float, float, dict[str, int]]:
    sm, cw = client("sagemaker", url), client("cloudwatch", url)
    begin, cpu = time.perf_counter(), time.process_time()
    actions: dict[str, int] = {}
    for t in targets:  # one endpoint after the other, each with its own gate reads
        result = reconcile_once(rollout(t.endpoint), SageMakerDriver(sm, t), CloudWatchGates(cw), now)
        actions[result.decision.action] = actions.get(result.decision.action, 0) + 1
    return time.perf_counter() - begin, time.process_time() - cpu, actions


@functools.cache
def pooled_client(service: str, url: str, workers: int) -> Any:
    """A client whose connection pool holds a connection per worker (botocore ``max_pool_connections``,
    default 10: with more threads than that, the extra connections are dropped after each call)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, max_pool_connections=max(10, workers))
    return boto3.Session(region_name=REGION, **DUMMY_CREDENTIALS).client(service, endpoint_url=url, config=config)


def timed_fleet(url: str, targets: list, now: float, workers: int) -> tuple[float, float, dict[str, int]]:
    sm, cw = pooled_client("sagemaker", url, workers), pooled_client("cloudwatch", url, workers)
    gates = CloudWatchGates(cw)  # one reader for the fleet: its reads are batched
    members = [Member(rollout(t.endpoint), SageMakerDriver(sm, t), gates) for t in targets]
    begin, cpu = time.perf_counter(), time.process_time()
    results = reconcile_fleet(members, now, max_workers=workers)
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
    actions: dict[str, int] = {}
    for r in results:
        key = r.result.decision.action if r.result else f"error {r.error[:60]}"
        actions[key] = actions.get(key, 0) + 1
    return elapsed, cpu, actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2, help="at most 2: each advance run moves every endpoint two steps")
    parser.add_argument("--baseline-sample", type=int, default=0,
                        help="time the one-by-one baseline on the first N endpoints only (0: all)")
    args = parser.parse_args()
    with running_moto_server(keep_alive=True) as url:
        t0 = time.perf_counter()
        started = time.time() - 5
        targets = [seed_one(i, started) for i in range(args.endpoints)]
        check = timed_fleet(url, targets[:3], started + 1, 1)[2]
        assert check == {"wait": 3}, f"the seeded endpoints are not mid-bake at step 1: {check}"
        print(f"seeded {args.endpoints} endpoints mid-canary in "
              f"{time.perf_counter() - t0:.0f}s; load {os.getloadavg()[0]:.2f}", flush=True)
        now = started
        sample = targets[:args.baseline_sample or len(targets)]
        for moment in ("wait", "advance"):
            times: dict[str, list[tuple[float, float]]] = {"baseline": [], "fleet": []}
            seen: dict[str, dict[str, int]] = {}
            for _ in range(args.runs):  # alternate, so both see the same load
                for way in ("fleet", "baseline"):
                    # mid-bake: a second later; advance: past the bake (every endpoint moves one step per pass)
                    now = now + BAKE + 1 if moment == "advance" else now + 1
                    wall, cpu, actions = (timed_baseline(url, sample, now) if way == "baseline"
                                          else timed_fleet(url, targets, now, args.workers))
                    times[way].append((wall, cpu))
                    seen[way] = actions
            per = {way: statistics.median(w for w, _ in runs) / (len(sample) if way == "baseline" else len(targets))
                   for way, runs in times.items()}
            for way in ("baseline", "fleet"):
                count = len(sample) if way == "baseline" else len(targets)
                wall = statistics.median(w for w, _ in times[way])
                cpu = statistics.median(c for _, c in times[way])
                label = "baseline (one by one)" if way == "baseline" else f"fleet (workers={args.workers})"
                print(f"{moment:8s} {label:22s} {count:5d} endpoints  wall {wall:7.2f}s ({per[way] * 1000:6.1f} ms per "
                      f"endpoint, x{per['baseline'] / per[way]:4.2f} vs baseline)  cpu {cpu:7.2f}s "
                      f"({cpu / count * 1000:5.1f} ms per endpoint)  runs {[round(w, 2) for w, _ in times[way]]}  "
                      f"actions {seen[way]}  load {os.getloadavg()[0]:.2f}", flush=True)

if __name__ == "__main__":
    main()
