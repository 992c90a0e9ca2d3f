"""Benchmark: scan 1,000 live AWS resources on a local moto server (a script, not a test).

Starts the patched moto server of ``tests/support/moto_server.py`` on 127.0.0.1 (in a process of
its own by default, as AWS is not in the scanning process; ``--server thread`` runs it in this
process, where its work shares the interpreter lock with the scan's clients), seeds a
realistic mix of resources with boto3 (buckets with versioning, KMS encryption and public
access block; CloudWatch alarms; SageMaker models, endpoint configs and endpoints; SNS topics;
IAM roles and inline policies; KMS keys and aliases), builds the matching prior state by hand,
and times :func:`mlops_infra.state.aws_live.scan_aws` end to end (a fresh boto3 session each
run, so client creation is included) for several ``max_workers`` values. After each scan it
checks that every resource was read and that :func:`mlops_infra.plan.drift.find_drift` finds
no drift.

The runs are interleaved: ``--runs`` rounds, each scanning once with every worker count (in an
order rotated each round), so a change in the machine's load falls on every count alike. Prints,
per worker count, the best and median wall time, the median's ratio to the first count's, the
API calls per scan (botocore ``before-call`` events), the reads in flight the scan's limit chose
in each run (:mod:`mlops_infra.state.aws_live.concurrency`) and the 1-minute load average after
those runs; then the process peak RSS (``ru_maxrss``; with ``--server thread`` it includes the moto
server) with the growth during the scans, and the load average before and after.

Target (issue 14): at most 3 s for 1,000 resources, and more workers never slower: each count's
median within 1.1x of the best median of the smaller counts (the figures are what this script
prints; none is kept here). Both sides are CPU work against a local server (botocore builds,
signs and parses each call; moto, one Python process, answers it and closes the connection), so
here more reads in flight gain only the overlap of client and server; against AWS, where each call
waits on the network, throughput grows with ``max_workers`` until throttling.

    python benchmarks/bench_live_scan.py [--resources 1000] [--runs 5] [--workers 1,4,8,16,32]
                                         [--server process|thread]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, when run as a script

from mlops_infra.graph import make_urn
from mlops_infra.plan.drift import find_drift
from mlops_infra.progress import NullProgress
from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from mlops_infra.state.model import PriorState, StateResource
from tests.support.moto_server import REGION, client, running_moto_server, session

ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
INLINE = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
# Share of the resources per kind (a bucket counts 4: bucket, versioning, encryption, access block).
MIX = {"bucket": 0.05, "alarm": 0.30, "model": 0.09, "endpoint": 0.02, "topic": 0.08, "role": 0.10,
       "role_policy": 0.05, "key": 0.025}


class Seeder:
    """Creates resources in moto and records the Pulumi-shaped prior state for each."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.resources: dict[str, StateResource] = {}

    def add(self, type_: str, name: str, id_: str, inputs: dict[str, Any]) -> None:
        urn = make_urn("bench", "fraud", [type_], name)
        self.resources[urn] = StateResource(urn=urn, type=type_, id=id_, inputs={"__defaults": [], **inputs})

    def c(self, service: str) -> Any:
        return client(service, self.url)

    def bucket(self, i: int) -> None:
        name, s3 = f"bench-data-{i:04d}", self.c("s3")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        self.add("aws:s3/bucket:Bucket", name, name, {"bucket": name})
        self.add("aws:s3/bucketVersioning:BucketVersioning", f"{name}-v", name,
                 {"bucket": name, "versioningConfiguration": {"status": "Enabled"}})
        self.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                 f"{name}-sse", name, {"bucket": name, "rules": [{
                     "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}]})
        self.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-pab", name, {
            "bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
            "restrictPublicBuckets": True})

    def alarm(self, i: int) -> None:
        name = f"bench-ep-{i % 50:03d}-alarm-{i:04d}"
        fields = {"MetricName": "ModelLatency", "Namespace": "AWS/SageMaker", "Statistic": "Average",
                  "Period": 60, "EvaluationPeriods": 3, "Threshold": 250000.0,
                  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}
        self.c("cloudwatch").put_metric_alarm(AlarmName=name, Dimensions=[
            {"Name": "EndpointName", "Value": f"bench-ep-{i % 50:03d}"}], **fields)
        self.add("aws:cloudwatch/metricAlarm:MetricAlarm", name, name, {
            "name": name, "metricName": "ModelLatency", "namespace": "AWS/SageMaker", "statistic": "Average",
            "period": 60, "evaluationPeriods": 3, "threshold": 250000, "comparisonOperator": "GreaterThanThreshold",
            "treatMissingData": "notBreaching", "dimensions": {"EndpointName": f"bench-ep-{i % 50:03d}"}})

    def model(self, i: int) -> None:
        sm, name = self.c("sagemaker"), f"bench-model-{i:04d}"
        role = f"arn:aws:iam::{ACCOUNT}:role/bench-sagemaker"
        image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/bench:{i}"
        sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": image})
        self.add("aws:sagemaker/model:Model", name, name,
                 {"name": name, "executionRoleArn": role, "primaryContainer": {"image": image}})
        variant = {"VariantName": "primary", "ModelName": name, "InstanceType": "ml.g5.xlarge",
                   "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
        sm.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[variant])
        self.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"{name}-cfg", f"{name}-cfg", {
            "name": f"{name}-cfg", "productionVariants": [{
                "variantName": "primary", "modelName": name, "instanceType": "ml.g5.xlarge",
                "initialInstanceCount": 1, "initialVariantWeight": 1}]})

    def endpoint(self, i: int) -> None:
        name = f"bench-ep-{i:03d}"
        self.c("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=f"bench-model-{i:04d}-cfg")
        self.add("aws:sagemaker/endpoint:Endpoint", name, name,
                 {"name": name, "endpointConfigName": f"bench-model-{i:04d}-cfg"})

    def topic(self, i: int) -> None:
        arn = self.c("sns").create_topic(Name=f"bench-alerts-{i:04d}")["TopicArn"]
        self.add("aws:sns/topic:Topic", f"bench-alerts-{i:04d}", arn, {"name": f"bench-alerts-{i:04d}"})

    def role(self, i: int) -> None:
        name = f"bench-role-{i:04d}"
        self.c("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
        self.add("aws:iam/role:Role", name, name, {"name": name, "assumeRolePolicy": TRUST})

    def role_policy(self, i: int) -> None:
        role = f"bench-role-{i:04d}"
        self.c("iam").put_role_policy(RoleName=role, PolicyName="data", PolicyDocument=INLINE)
        self.add("aws:iam/rolePolicy:RolePolicy", f"{role}-data", f"{role}:data",
                 {"role": role, "name": "data", "policy": INLINE})

    def key(self, i: int) -> None:
        kms = self.c("kms")
        key_id = kms.create_key(Description=f"bench key {i}")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/bench-{i:04d}", TargetKeyId=key_id)
        self.add("aws:kms/key:Key", f"bench-key-{i:04d}", key_id, {"description": f"bench key {i}"})
        self.add("aws:kms/alias:Alias", f"bench-key-{i:04d}-alias", f"alias/bench-{i:04d}",
                 {"name": f"alias/bench-{i:04d}", "targetKeyId": key_id})


def seed(url: str, total: int) -> PriorState:
    """Seed about ``total`` resources in the proportions of :data:`MIX` (in parallel)."""
    seeder = Seeder(url)
    counts = {kind: max(1, round(total * share)) for kind, share in MIX.items()}
    counts["alarm"] += total - _resource_count(counts)  # absorb rounding
    ordered: list[tuple[Callable[[int], None], int]] = []
    for kind in ("role", "bucket", "alarm", "model", "topic", "key"):
        ordered += [(getattr(seeder, kind), i) for i in range(counts[kind])]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda job: job[0](job[1]), ordered))
        list(pool.map(seeder.role_policy, range(counts["role_policy"])))
        list(pool.map(seeder.endpoint, range(counts["endpoint"])))
    return PriorState("bench", 3, "0" * 64, "fraud", "bench", dict(sorted(seeder.resources.items())))


def _resource_count(counts: dict[str, int]) -> int:
    weights = {"bucket": 4, "model": 2, "key": 2}
    return sum(n * weights.get(kind, 1) for kind, n in counts.items())


ROOT = Path(__file__).resolve().parents[1]
_SERVE = ("import sys\nfrom tests.support.moto_server import running_moto_server\n"
          "with running_moto_server() as url:\n    print(url, flush=True)\n    sys.stdin.read()\n")


@contextlib.contextmanager
def moto_in_its_own_process() -> Iterator[str]:
    """The patched moto server of ``tests/support/moto_server.py`` in a child process; its URL.
    The child serves until its stdin closes, and is killed if it does not stop then."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVE], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = (proc.stdout.readline() if proc.stdout else "").strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the moto server did not start (exit code {proc.poll()})")
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class InFlight(NullProgress):
    """A progress reporter that keeps the scan's last "<n> reads in flight" status."""

    def __init__(self) -> None:
        self.reads = 0

    def status(self, text: str) -> None:
        if text.endswith(" reads in flight"):
            self.reads = int(text.split()[0])


Run = tuple[float, float, int, int]
"""(wall seconds, 1-minute load average after the scan, API calls, reads in flight at the end)."""


class Scan:
    """One timed scan: a fresh boto3 session (client creation included) whose calls are counted
    (botocore ``before-call`` event); checks every resource read and no drift."""

    def __init__(self, prior: PriorState, url: str) -> None:
        self.prior, self.url = prior, url

    def __call__(self, workers: int) -> Run:
        calls = [0]
        fresh = session()
        fresh.events.register("before-call", lambda **_: calls.__setitem__(0, calls[0] + 1))
        in_flight = InFlight()
        gc.collect()  # each scan starts with no garbage of the one before
        start = time.perf_counter()
        live = scan_aws(self.prior.resources.values(), region=REGION, session_factory=lambda: fresh,
                        endpoint_url=self.url, max_workers=workers, retry=RetryPolicy(botocore_max_attempts=1),
                        progress=in_flight)
        wall = time.perf_counter() - start
        assert not live.errors and not live.missing, (dict(list(live.errors.items())[:3]), live.missing)
        assert len(live.resources) == len(self.prior.resources)
        assert find_drift(self.prior, live) == []
        return wall, os.getloadavg()[0], calls[0], in_flight.reads


def interleaved(scan: Callable[[int], Run], counts: list[int], runs: int) -> dict[int, list[Run]]:
    """``runs`` rounds; each round scans once with every worker count, in an order rotated by one
    each round, so a change in the machine's load falls on every count alike."""
    results: dict[int, list[Run]] = {n: [] for n in counts}
    for round_ in range(runs):
        for workers in counts[round_ % len(counts):] + counts[:round_ % len(counts)]:
            results[workers].append(scan(workers))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", default="1,4,8,16,32")
    parser.add_argument("--server", choices=("process", "thread"), default="process",
                        help="run moto in a process of its own (default) or in this one")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    serving = moto_in_its_own_process() if args.server == "process" else running_moto_server()
    load_before = os.getloadavg()[0]
    with serving as url:
        start = time.perf_counter()
        prior = seed(url, args.resources)
        print(f"seeded {len(prior.resources)} resources in {time.perf_counter() - start:.1f} s "
              f"(types: {len({r.type for r in prior.resources.values()})}); moto in "
              f"{'its own process' if args.server == 'process' else 'this process'}; "
              f"{args.runs} interleaved rounds over max_workers {counts}")
        rss_before = peak_rss_mb()
        results = interleaved(Scan(prior, url), counts, args.runs)
        medians = {n: statistics.median(run[0] for run in runs) for n, runs in results.items()}
        best_overall = min(run[0] for runs in results.values() for run in runs)
        slower = []
        for index, workers in enumerate(counts):
            walls = [run[0] for run in results[workers]]
            fewer = [medians[n] for n in counts[:index]]
            if fewer and medians[workers] > 1.1 * min(fewer):
                slower.append(workers)
            loads = [run[1] for run in results[workers]]
            reads = ",".join(str(run[3]) for run in results[workers])
            print(f"max_workers={workers:>3}: best {min(walls):.2f} s, median {medians[workers]:.2f} s "
                  f"({len(prior.resources) / min(walls):.0f} resources/s), median x {counts[0]} worker(s) "
                  f"{medians[workers] / medians[counts[0]]:.2f}, {results[workers][0][2]} calls per scan, "
                  f"reads in flight chosen {reads}, load {min(loads):.1f}-{max(loads):.1f}")
        print(f"peak RSS {peak_rss_mb():.0f} MB (this process{', moto included' if args.server == 'thread' else ''}; "
              f"+{peak_rss_mb() - rss_before:.0f} MB during scans)")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs")
    verdict = "OK" if best_overall <= 3.0 else "SLOWER THAN TARGET"
    print(f"target <= 3.0 s for {args.resources} resources: best {best_overall:.2f} s {verdict}; more workers "
          + (f"slower (median over 1.1x the best median of fewer workers) at {slower}" if slower
             else "never slower (each median within 1.1x of the best median of fewer workers)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
