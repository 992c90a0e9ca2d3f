"""Benchmark: plan a 1,000-endpoint system against a prior state of the same size (a script).

1. Generates the 1,000-endpoint document of ``benchmarks/bench_validate.py``, loads its AWS
   environment and compiles it (not timed): the "applied" graph.
2. Builds the prior state as if that graph had been applied, with the checkpoint builder of
   ``tests/support/applied_state.py`` (refs resolved to outputs, ids and ARNs, ``__defaults``,
   explicit provider references ``<urn>::<id>``, secret outputs as ciphertext, what pulumi-aws 7 fills in:
   ``region`` in the inputs and outputs of every region-aware AWS resource, not listed in ``__defaults``,
   and the provider inputs its SDK sends), and reads the checkpoint back with
   :func:`mlops_infra.state.pulumi_state.parse_state` (timed separately).
   Every ``inputs`` and ``outputs`` object is written with its keys sorted at every level, as
   Pulumi writes them (:func:`engine_order`).
3. The desired graph changes about 1% of the resources: every 100th endpoint gets a new model
   version (on AWS: models and endpoint configs replaced, endpoints and alarms updated, scaling
   targets replaced; on Kubernetes: InferenceServices updated) and more resources get an
   out-of-band tag (label) edit in the prior state until 1% of the custom resources differ.
4. Times :func:`mlops_infra.plan.planner.make_plan` (with the ML summary and the cost estimate)
   over several runs: wall best and median, peak Python allocation (tracemalloc, separate run)
   and the process's peak RSS. Target: at most 2.0 s and 600 MB.

    python benchmarks/bench_plan.py [--endpoints 1000] [--runs 5] [--env prod] [--profile]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_validate import generate, load_generated  # noqa: E402  (the shared generator, next to this script)

TARGET_SECONDS, TARGET_MB = 2.0, 600


def bump_versions(system, every: int):
    """The system with every ``every``-th endpoint pinned to the next model version."""
    endpoints = [e.model_copy(update={"model": e.model.model_copy(update={"version": e.model.version + 1})})
                 if i % every == 0 else e for i, e in enumerate(system.endpoints)]
    return system.model_copy(update={"endpoints": endpoints})


def applied_checkpoint(graph) -> dict:
    """The checkpoint of ``graph`` as applied by pulumi-aws 7: :func:`tests.support.applied_state.applied_state`,
    which writes each region-aware AWS resource's provider-filled ``region`` as the provider does (in its
    inputs and outputs, not in ``__defaults``: pulumi-aws provider/region.go ``applyRegion`` runs before
    ``Check``; audit provvers-1) and the explicit provider's inputs as its SDK class sends them."""
    from tests.support.applied_state import applied_state

    return applied_state(graph)


def engine_order(checkpoint: dict) -> dict:
    """``checkpoint`` with the keys of every resource's ``inputs`` and ``outputs`` sorted at every
    level, in place: Pulumi keeps them as Go maps, which ``encoding/json`` writes "with the map keys
    sorted" (pkg.go.dev/encoding/json, ``Marshal``; every such object of the states in
    ../shared/fixtures/pulumi is sorted), while a record's own fields keep their struct order. A
    state in the compiler's key order flatters the planner (``normalize.unchanged`` proves a
    resource from text: found by comparing the two, the sorted layout took its second path)."""

    def ordered(value):
        if isinstance(value, dict):
            return {key: ordered(value[key]) for key in sorted(value)}
        if isinstance(value, list):
            return [ordered(item) for item in value]
        return value

    for record in checkpoint["checkpoint"]["latest"]["resources"]:
        for side in ("inputs", "outputs"):
            if isinstance(record.get(side), dict):
                record[side] = ordered(record[side])
    return checkpoint


def _tags(record: dict) -> dict | None:
    """The tag map of a state record: AWS ``tags`` or Kubernetes ``metadata.labels``."""
    inputs = record.get("inputs") or {}
    tags = inputs.get("tags")
    if not isinstance(tags, dict):
        tags = (inputs.get("metadata") or {}).get("labels") if isinstance(inputs.get("metadata"), dict) else None
    return tags if isinstance(tags, dict) and tags else None


def edit_tags(checkpoint: dict, desired_changes: int, target: int) -> int:
    """Change a tag (or label) in the prior state of evenly spread resources until ``target``
    resources differ; return the number of edits."""
    records = [r for r in checkpoint["checkpoint"]["latest"]["resources"] if r.get("custom") and _tags(r)]
    wanted = max(0, target - desired_changes)
    step = max(1, len(records) // max(1, wanted))
    edited = 0
    for record in records[::step][:wanted]:
        tags = _tags(record)
        key = sorted(tags)[0]
        tags[key] = tags[key] + "-edited"
        edited += 1
    return edited


def build(endpoints: int, env: str, indent: int | None = None):
    """(desired graph, parsed prior, parse seconds, tag edits, state text); ``indent`` 4 writes the
    state as the file backend does."""
    from mlops_infra.compile import compile_system
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.state.pulumi_state import parse_state

    with tempfile.TemporaryDirectory() as tmp:
        system = load_generated(endpoints, env, Path(tmp))
    applied = compile_system(system, env)
    desired = compile_system(bump_versions(system, 100), env)
    checkpoint = applied_checkpoint(applied)
    baseline = make_plan(desired, parse_state(json.dumps(checkpoint), "bench"),
                         options=PlanOptions(summarize_ml=False, estimate_cost=False))
    custom = sum(1 for r in desired.resources if r.custom)
    edits = edit_tags(checkpoint, baseline.counts.total, custom // 100)
    text = json.dumps(engine_order(checkpoint), indent=indent) + ("\n" if indent else "")
    start = time.perf_counter()
    prior = parse_state(text, "bench")
    parse_seconds = time.perf_counter() - start
    return desired, prior, parse_seconds, edits, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--profile", action="store_true", help="profile one run with cProfile (top 25)")
    parser.add_argument("--sort", default="cumulative", help="profile sort key (cumulative, tottime)")
    args = parser.parse_args(argv)

    from mlops_infra.plan.planner import make_plan

    graph, prior, parse_seconds, edits, state_text = build(args.endpoints, args.env)
    state_bytes = len(state_text)
    plan = make_plan(graph, prior)  # warm-up: lazy imports, caches
    times = []
    for _ in range(args.runs):
        gc.collect()
        start = time.perf_counter()
        plan = make_plan(graph, prior)
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    make_plan(graph, prior)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(make_plan, graph, prior)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(25)

    custom = sum(1 for r in graph.resources if r.custom)
    counts = plan.counts
    print(f"graph: {len(graph.resources):,} resources ({custom:,} custom), env {args.env}; "
          f"prior: {len(prior.resources):,} resources, {state_bytes / 2**20:.1f} MiB JSON, parsed in {parse_seconds:.3f} s")
    print(f"changes: {counts.sentence()} ({counts.total / custom:.1%} of custom resources; "
          f"{edits} of them out-of-band tag edits); {len(plan.ml)} ML changes; "
          f"cost after ${plan.cost.after.min_usd:,.0f}-${plan.cost.after.max_usd:,.0f}/month")
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"make_plan wall: best {min(times):.3f} s, median {statistics.median(times):.3f} s over {args.runs} runs")
    print(f"peak memory: {peak / 2**20:.1f} MiB traced (tracemalloc, make_plan only), {rss_mib:.1f} MiB max RSS")
    end_to_end(args.endpoints, args.env, state_text, max(2, args.runs // 2))
    ok = min(times) <= TARGET_SECONDS and rss_mib <= TARGET_MB
    print(f"target (<= {TARGET_SECONDS} s, <= {TARGET_MB} MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


def end_to_end(endpoints: int, env: str, state_text: str, runs: int) -> None:
    """The whole command a user runs, in a fresh process: ``mlops-infra plan FILE --env ENV --state PRIOR``.

    Includes interpreter start-up and imports, validation, compile, reading the state file,
    planning and rendering the text plan; reported for information next to ``make_plan`` alone.
    """
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        spec, state = Path(tmp) / "mlsystem.yaml", Path(tmp) / "prior.json"
        spec.write_text(generate(endpoints))
        state.write_text(state_text)
        command = [sys.executable, "-m", "mlops_infra.cli.main", "plan", str(spec), "--env", env,
                   "--state", str(state), "--no-color"]
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"plan failed ({done.returncode}): {done.stderr[-2000:]}")
    print(f"end to end (`mlops-infra plan FILE --env {env} --state prior.json`, fresh process): "
          f"best {min(walls):.2f} s, median {statistics.median(walls):.2f} s over {runs} runs")


if __name__ == "__main__":
    sys.exit(main())
