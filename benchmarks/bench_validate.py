"""Benchmark: validate a large MLSystem document (a script, not a test).

Generates a realistic system with ``--endpoints`` endpoints (default 1,000), each with two monitors
and two alerts, plus clusters, training jobs, models, channels and three environments with
overrides (about 30,000 YAML lines in block style), writes it to a temporary file and times
:func:`mlops_infra.spec.load_system` over several runs: the whole pipeline, every environment.

Prints the wall time (best and median), the peak Python allocation (tracemalloc, in a separate
run so tracing does not slow the timed runs) and the process peak RSS (ru_maxrss).

Target on a 2-core machine: at most 1.0 s wall and 300 MB peak for 1,000 endpoints.

With ``--baseline TREE`` (a source tree of mlops-infra, e.g. an older checkout) it times the whole
command instead, paired: each run a fresh process of ``mlops-infra validate SPEC`` (and, with
``--commands validate,plan``, ``plan SPEC --env prod``), from this tree and from TREE in turn (A B A
B: each pair shares the machine's load), with the same interpreter and libraries (``PYTHONPATH``
selects the tree). For each command it prints the medians of the wall and CPU time (user + system,
from ``wait4``) of both trees and the medians of the per-pair ratios new/baseline, whether both
wrote the same bytes on stdout and exited alike, and the load average before and after. Issue 13's
budget: at most 1.10x the baseline. Both trees run with bytecode caches (``PYTHONPYCACHEPREFIX``, a
temporary folder filled in the warm-up rounds, as an installed package has its ``.pyc`` files);
``--no-bytecode`` compiles every module from source in every run instead.

Measured 2026-12-04 (paired mode, 1,000 endpoints, 2 CPUs, medians; the load averages are what the
script printed before and after):

- ``--runs 21``, load 2.3 / 2.0: validate 0.335 s CPU, baseline bf4f1c1 0.313 s: ratio 1.06 (wall 1.06).
- ``--runs 9 --commands validate,plan``, load 1.3 / 1.1: validate 0.330 s vs 0.315 s: 1.04 (wall 1.04);
  plan 3.739 s vs 6.325 s: 0.59 (wall 0.60).
- ``--runs 11 --no-bytecode``, load 2.0 / 1.9 (``uptime``): validate 0.388 s vs 0.346 s: 1.13 (wall 1.12).

    python benchmarks/bench_validate.py [--endpoints 1000] [--runs 5] [--profile]
    python benchmarks/bench_validate.py --baseline TREE [--runs 9] [--warmup 1] [--commands validate,plan]
                                        [--no-bytecode] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent

GPU_SHAPES = [("A10G", 1), ("L4", 1), ("T4", 1), ("A10G", 4)]
STRATEGIES = ["canary", "blue_green", "rolling"]
"""No ``all_at_once``: prod ends the promotion chain, where the progressive_rollout guardrail is mandatory
(spec/guardrails.py), and 250 errors would make every benchmark time the error path."""


def _endpoint(i: int, models: int) -> list[str]:
    gpu, count = GPU_SHAPES[i % len(GPU_SHAPES)]
    strategy = STRATEGIES[i % len(STRATEGIES)]
    lines = [
        f"  - name: ep-{i:04d}",
        f"    model: {{name: model-{i % models:03d}, version: {1 + i % 7}}}",
        "    accelerator:",
        f"      type: {gpu}",
        f"      count: {count}",
        "    replicas:",
        f"      min: {1 + i % 2}",
        f"      max: {4 + i % 5}",
        "    autoscaling:",
        "      metric: invocations_per_replica",
        f"      target: {40 + i % 20}",
        "    rollout:",
        f"      strategy: {strategy}",
    ]
    if strategy == "canary":
        lines += ["      steps: [5, 25, 100]", "      bake: 10m"]
    elif strategy == "blue_green":
        lines.append("      bake: 10m")
    if strategy in ("canary", "blue_green"):  # dev is Kubernetes, where only these roll back (rollout-ignored-on-kubernetes)
        lines += [f"      rollback_on: [ep-{i:04d}-latency-page]"]
    lines += ["    capture:", f"      sample_percent: {10 + i % 30}"]
    return lines


def _monitors(i: int, sources: int) -> list[str]:
    return [
        f"  - name: ep-{i:04d}-drift",
        f"    endpoint: ep-{i:04d}",
        "    metric: feature_drift",
        f"    baseline: source-{i % sources:02d}",
        "    threshold: 0.2",
        "    schedule: 1h",
        f"  - name: ep-{i:04d}-latency",
        f"    endpoint: ep-{i:04d}",
        "    metric: latency_p99",
        f"    threshold: {(200, 250, 300, 350, 400)[i % 5]}ms",
    ]


def _alerts(i: int) -> list[str]:
    return [
        f"  - name: ep-{i:04d}-drift-warn",
        f"    monitor: ep-{i:04d}-drift",
        "    for: 2h",
        "    severity: warning",
        "    notify: [ml-team]",
        f"  - name: ep-{i:04d}-latency-page",
        f"    monitor: ep-{i:04d}-latency",
        "    for: 5m",
        "    severity: critical",
        "    notify: [oncall, pager]",
    ]


def generate(endpoints: int = 1000) -> str:
    """A valid MLSystem document with ``endpoints`` endpoints, in block style (every environment, guardrails
    included), whose only warnings are one ``image-in-other-account`` per AWS environment: its training images are
    in a shared registry account (tests/spec/test_benchmark_input.py)."""
    models = max(1, endpoints // 10)
    sources = 20
    clusters = 10
    out = [
        "# Generated by benchmarks/bench_validate.py",
        "apiVersion: mlops-infra/v1",
        "kind: MLSystem",
        "metadata:",
        "  name: bench-platform",
        "  owner: ml-platform@example.com",
        "  labels:",
        "    cost-center: cc-0001",
        "    team: platform",
        "data_sources:",
    ]
    for s in range(sources):
        out += [f"  - name: source-{s:02d}", "    kind: object_store", "    encryption: kms", "    retention: 400d",
                "    contract:", "      columns:", "        amount: float", "        label: bool",
                "      freshness: 24h"]
    out.append("clusters:")
    for c in range(clusters):
        out += [f"  - name: cluster-{c:02d}", "    accelerator:", "      type: A10G", "      count: 1",
                "    nodes:", "      min: 0", "      max: 4", "    spot: true", "    max_hourly_cost_usd: 100"]
    out.append("training_jobs:")
    for m in range(models):
        out += [f"  - name: train-{m:03d}", f"    cluster: cluster-{m % clusters:02d}",
                f"    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/train-{m:03d}:1.0.0",
                "    command: [python, -m, train]", f"    inputs: [source-{m % sources:02d}]",
                "    hyperparameters:", "      epochs: 10", "      learning_rate: 0.001",
                "    nodes: 2", "    max_runtime: 6h", f"    registers: model-{m:03d}",
                "    triggers:", '      schedule: "0 3 * * 1"', "    notify: [ml-team]"]
    out.append("models:")
    for m in range(models):
        out += [f"  - name: model-{m:03d}", "    framework: pytorch", "    approval: manual"]
    out.append("endpoints:")
    for i in range(endpoints):
        out += _endpoint(i, models)
    out.append("monitors:")
    for i in range(endpoints):
        out += _monitors(i, sources)
    out.append("alerts:")
    for i in range(endpoints):
        out += _alerts(i)
    out += [
        "channels:",
        "  - name: oncall", "    kind: slack", "    webhook_url: {secret: slack-oncall-webhook}",
        "  - name: pager", "    kind: pagerduty", "    routing_key: {secret: pagerduty-routing-key}",
        "  - name: ml-team", "    kind: email", "    address: ml-team@example.com",
        "environments:",
        "  dev:",
        "    target: {kind: kubernetes, context: kind-mlops, namespace: bench-dev}",
        "    overrides:",
        "      clusters.cluster-00.nodes: {min: 0, max: 2}",
    ]
    out += [f"      endpoints.ep-{i:04d}.replicas: {{min: 1, max: 2}}" for i in range(0, endpoints, 50)]
    out += [
        "  staging:",
        '    target: {kind: aws, region: eu-west-1, account: "111111111111"}',
        "    promote_from: dev",
        "    overrides:",
    ]
    out += [f"      endpoints.ep-{i:04d}.model.version: {9 + i % 3}" for i in range(0, endpoints, 100)]
    out += [
        "  prod:",
        '    target: {kind: aws, region: eu-west-1, account: "222222222222"}',
        "    promote_from: staging",
        "    gates: [model_approved, no_drift, alerts_routed]",
        "    overrides:",
    ]
    out += [f"      endpoints.ep-{i:04d}.replicas: {{min: 2, max: 12}}" for i in range(0, endpoints, 25)]
    return "\n".join(out) + "\n"


def load_generated(endpoints: int, env: str, tmp: Path):
    """The effective system of ``env`` for a generated document (for the compile and plan benchmarks)."""
    from mlops_infra.spec import load_system

    path = tmp / f"mlsystem-{endpoints}.yaml"
    path.write_text(generate(endpoints))
    loaded = load_system(path, env)
    if not loaded.ok:
        raise SystemExit(f"generated document is not valid: {loaded.diagnostics[:3]}")
    return loaded.system


def _run(path: Path) -> float:
    from mlops_infra.spec import load_system

    start = time.perf_counter()
    result = load_system(path)
    elapsed = time.perf_counter() - start
    if not result.ok or result.diagnostics:
        raise SystemExit(f"benchmark document is not clean: {result.diagnostics[:3]}")
    if result.document is not None and result.document._positions is not None:
        raise SystemExit("positions were computed for a valid document (they must stay lazy)")
    return elapsed


PAIRED_BUDGET = 1.10
"""Issue 13: nothing slows validate or plan of the 1,000-endpoint system by more than 10 %."""

PAIRED_COMMANDS = {"validate": ["validate", "{spec}"], "plan": ["plan", "{spec}", "--env", "prod", "--no-color"]}
"""Commands of the paired mode (``--commands``), as typed after ``mlops-infra``."""


@dataclasses.dataclass
class Timed:
    """One command from one tree and what its runs took."""

    name: str
    argv: list[str]
    tree: str
    walls: list[float] = dataclasses.field(default_factory=list)
    cpus: list[float] = dataclasses.field(default_factory=list)
    digests: set[str] = dataclasses.field(default_factory=set)
    codes: set[int] = dataclasses.field(default_factory=set)


def _run_process(timed: Timed, cwd: Path, env: dict[str, str], keep: bool) -> None:
    """Run ``timed`` once in a fresh process; with ``keep`` record its wall and CPU time."""
    env = {**env, "PYTHONPATH": timed.tree}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(timed.argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        timed.digests.add(hashlib.sha256(out.read()).hexdigest())
    timed.codes.add(os.waitstatus_to_exitcode(status))
    if keep:
        timed.walls.append(wall)
        timed.cpus.append(usage.ru_utime + usage.ru_stime)


def _pair_ratio(new: list[float], old: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(new, old, strict=True))


def paired(args: argparse.Namespace) -> int:
    """The ``--baseline`` mode (see the module docstring)."""
    holder = None
    if args.keep:
        where = args.keep
        where.mkdir(parents=True, exist_ok=True)
    else:
        holder = tempfile.TemporaryDirectory()
        where = Path(holder.name)
    spec = where / f"mlsystem-{args.endpoints}.yaml"
    if not spec.exists():
        spec.write_text(generate(args.endpoints))
    run_dir = where / "cwd"
    run_dir.mkdir(exist_ok=True)  # no stacks/: plan finds no state
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "MLOPS_INFRA_"))}
    caches = None
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        caches = tempfile.TemporaryDirectory()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = caches.name
    cli = [sys.executable, "-m", "mlops_infra.cli.main"]
    pairs = []
    for name in args.commands.split(","):
        argv = cli + [a.format(spec=spec) for a in PAIRED_COMMANDS[name]]
        pairs.append((Timed(name, argv, str(HERE.parent)), Timed(f"{name}@baseline", argv, str(args.baseline))))
    load_before = os.getloadavg()
    for round_ in range(args.warmup + args.runs):
        for new, old in pairs:
            _run_process(new, run_dir, env, round_ >= args.warmup)
            _run_process(old, run_dir, env, round_ >= args.warmup)
    load_after = os.getloadavg()
    for holding in (holder, caches):
        if holding is not None:
            holding.cleanup()
    print(f"document: {args.endpoints} endpoints; baseline {args.baseline}; {args.runs} counted pairs after "
          f"{args.warmup} warm-up; bytecode {'compiled in every run' if args.no_bytecode else 'cached'}; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"{'command':<20} {'wall s':>8} {'cpu s':>8} {'x wall':>8} {'x cpu':>8}")
    failed = False
    for new, old in pairs:
        for timed in (new, old):
            print(f"{timed.name:<20} {statistics.median(timed.walls):>8.3f} {statistics.median(timed.cpus):>8.3f}")
        wall, cpu = _pair_ratio(new.walls, old.walls), _pair_ratio(new.cpus, old.cpus)
        print(f"{'ratio new/baseline':<20} {'':>8} {'':>8} {wall:>8.2f} {cpu:>8.2f}")
        if new.codes != {0} or old.codes != {0}:
            print(f"  exit codes {sorted(new.codes)} / {sorted(old.codes)}: a command failed")
            failed = True
        same = new.digests == old.digests and len(new.digests) == 1
        print(f"  stdout {'identical' if same else 'differs'}; budget (<= {PAIRED_BUDGET:.2f}x): wall "
              f"{'met' if wall <= PAIRED_BUDGET else 'NOT met'}, cpu {'met' if cpu <= PAIRED_BUDGET else 'NOT met'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile one run with cProfile (top 25)")
    parser.add_argument("--baseline", type=Path, help="another mlops-infra source tree: paired whole-process mode")
    parser.add_argument("--warmup", type=int, default=1, help="paired mode: uncounted rounds first")
    parser.add_argument("--commands", default="validate", help="paired mode: comma-separated: validate, plan")
    parser.add_argument("--no-bytecode", action="store_true", help="paired mode: no bytecode caches")
    parser.add_argument("--keep", type=Path, help="paired mode: write the document here and keep it")
    args = parser.parse_args(argv)
    if args.baseline:
        return paired(args)

    text = generate(args.endpoints)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlsystem.yaml"
        path.write_text(text)
        print(f"document: {args.endpoints} endpoints, {text.count(chr(10)):,} lines, {len(text):,} bytes")
        import mlops_infra.spec  # noqa: F401  (import time is not validation time)

        _run(path)  # warm-up: lazy imports, catalog caches
        times = []
        for _ in range(args.runs):
            gc.collect()
            times.append(_run(path))
        gc.collect()
        tracemalloc.start()
        _run(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(_run, path)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"wall: best {min(times):.3f} s, median {statistics.median(times):.3f} s over {args.runs} runs")
    print(f"peak memory: {peak / 2**20:.1f} MiB traced (tracemalloc), {rss_kib / 1024:.1f} MiB max RSS")
    ok = min(times) <= 1.0 and rss_kib / 1024 <= 300
    print("target (<= 1.0 s, <= 300 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
