"""Benchmark: compile a large system, and compare compiling with running the Pulumi program (a script).

1. Generates the 1,000-endpoint system of ``benchmarks/bench_validate.py`` (each endpoint with two
   monitors and two alerts, plus clusters, training jobs, models, channels), loads its AWS
   environment (not timed) and times :func:`mlops_infra.compile.compile_system` over several runs:
   wall time (best, median), peak Python allocation (tracemalloc, separate run) and max RSS.
   Target: at most 1.5 s and 500 MB, more than 10,000 resources.
2. At 100 endpoints, in the same process: compile time versus running the Pulumi program
   (:func:`mlops_infra.program.register_graph` of the same graph) under Pulumi's mocks with the
   capturing monitor of ``tests/support/pulumi_capture.py`` (compile excluded from that time). The
   capture is checked against the graph (same URNs, types, parents, inputs). Target: compile at
   least 50x faster.

Measured 2026-12-04 (``--runs 5``, 2 CPUs, load average 0.9 from ``uptime``): 20,399 resources,
compile best 0.484 s, median 0.489 s; peak 61.9 MiB traced, 263.8 MiB max RSS; at 100 endpoints
(2,219 resources) compile 47.7 ms, the program under mocks 8.57 s: 180x. Paired (``--baseline``) with
83df4c1, before the issue-14 compile cuts, 2026-12-04 (``--runs 5``, load average 5 to 7 on 2 CPUs):
compile CPU median 0.594 s against 0.693 s (0.86x), wall median 0.945 s against 1.080 s (0.88x).

    python benchmarks/bench_compile.py [--endpoints 1000] [--small 100] [--runs 5] [--env prod]

With ``--baseline DIR`` (another source tree) it only times compiling, paired: ``--runs`` rounds, each
running three timed compiles in a fresh process of this tree and then of ``DIR``, the same spec and
interpreter; it prints each tree's median wall and CPU time and the ratios.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_validate import load_generated  # noqa: E402  (the shared generator, next to this script)


def time_compile(system, env: str, runs: int) -> tuple[list[float], object]:
    from mlops_infra.compile import compile_system

    graph = compile_system(system, env)  # warm-up: lazy imports, catalog caches
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        graph = compile_system(system, env)
        times.append(time.perf_counter() - start)
    return times, graph


def peak_compile_memory(system, env: str) -> int:
    from mlops_infra.compile import compile_system

    gc.collect()
    tracemalloc.start()
    compile_system(system, env)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def time_program_under_mocks(graph) -> float:
    """Seconds to register ``graph`` with the Pulumi program under capturing mocks; checks the capture."""
    from mlops_infra.program import register_graph
    from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

    referenced = referenced_outputs(graph)
    start = time.perf_counter()
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced)
    elapsed = time.perf_counter() - start
    problems = differences(graph, capture)
    if problems:
        raise SystemExit("the program did not register the compiled graph:\n" + "\n".join(problems[:5]))
    return elapsed


_CHILD = """
import gc, json, sys, time
from pathlib import Path
from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
system = load_system(Path(sys.argv[1]), sys.argv[2]).system
compile_system(system, sys.argv[2])  # warm-up: lazy imports, catalog caches
times = []
for _ in range(int(sys.argv[3])):
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    compile_system(system, sys.argv[2])
    times.append([time.perf_counter() - wall, time.process_time() - cpu])
print(json.dumps(times))
"""
"""Times ``compile_system`` of one spec in a fresh process of one source tree (``sys.argv``: spec, env, runs)."""


def paired(baseline: Path, endpoints: int, env: str, rounds: int) -> None:
    """Compile time of this tree and of ``baseline`` (another source tree, same interpreter), in
    alternating fresh processes (three compiles each after a warm-up), so load changes hit both."""
    import json
    import os
    import subprocess

    from bench_validate import generate

    trees = {"this tree": HERE.parent, "baseline": baseline.resolve()}
    samples: dict[str, list[list[float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "mlsystem.yaml"
        spec.write_text(generate(endpoints))
        for _ in range(rounds):
            for name, tree in trees.items():
                env_vars = {**os.environ, "PYTHONPATH": str(tree)}
                out = subprocess.run([sys.executable, "-c", _CHILD, str(spec), env, "3"], env=env_vars, cwd=tmp,
                                     capture_output=True, text=True, check=True).stdout
                samples[name] += json.loads(out)
    print(f"paired compile, {endpoints} endpoints ({env}), {rounds} rounds of 3 runs per tree (fresh processes):")
    medians = {name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
               for name, runs in samples.items()}
    for name, (wall, cpu) in medians.items():
        print(f"  {name:9} wall median {wall:.3f} s, cpu median {cpu:.3f} s")
    print(f"  ratio to baseline: wall {medians['this tree'][0] / medians['baseline'][0]:.2f}, "
          f"cpu {medians['this tree'][1] / medians['baseline'][1]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100, help="endpoints for the compile vs Pulumi comparison")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--env", default="prod", help="an AWS environment of the generated system")
    parser.add_argument("--baseline", type=Path,
                        help="another mlops-infra source tree: only time compiling against it, paired (see paired())")
    args = parser.parse_args(argv)
    if args.baseline:
        paired(args.baseline, args.endpoints, args.env, args.runs)
        return 0

    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws warns about deprecated classes on import
    with tempfile.TemporaryDirectory() as tmp:
        big = load_generated(args.endpoints, args.env, Path(tmp))
        small = load_generated(args.small, args.env, Path(tmp))
    times, graph = time_compile(big, args.env, args.runs)
    peak = peak_compile_memory(big, args.env)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = min(times)
    print(f"compile {args.endpoints} endpoints ({args.env}): {len(graph.resources):,} resources")
    print(f"  wall: best {best:.3f} s, median {statistics.median(times):.3f} s over {args.runs} runs "
          f"({best / len(graph.resources) * 1e6:.1f} us/resource)")
    print(f"  peak memory: {peak / 2**20:.1f} MiB traced (tracemalloc), {rss_mib:.1f} MiB max RSS (before Pulumi)")
    big_ok = best <= 1.5 and rss_mib <= 500 and len(graph.resources) > 10_000

    small_times, small_graph = time_compile(small, args.env, args.runs)
    program = time_program_under_mocks(small_graph)
    ratio = program / min(small_times)
    n = len(small_graph.resources)
    print(f"compile vs Pulumi program under mocks, {args.small} endpoints ({n:,} resources):")
    print(f"  compile: {min(small_times) * 1000:.1f} ms; program under mocks: {program:.2f} s "
          f"({program / n * 1000:.2f} ms/resource); compile is {ratio:,.0f}x faster")
    print("targets (<= 1.5 s, <= 500 MB, > 10,000 resources; >= 50x):",
          "met" if big_ok and ratio >= 50 else "NOT met")
    return 0 if big_ok and ratio >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
