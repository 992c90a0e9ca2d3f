"""Benchmark: whole-process ``mlops-infra promote`` of a 1,000-endpoint system, staging -> prod (a script).

The offline part of a promotion: read the file, validate it, map every endpoint's version by
digest between two saved registry reads (``--registry ENV=FILE``), compute the edit of prod's
overrides, evaluate the gates that need no cloud (``model_approved`` from the saved read,
``alerts_routed``; ``no_drift`` is skipped with a reason: it reads the cloud) and make and render
prod's plan. Paired with the yardstick ``mlops-infra plan FILE --env prod`` (the plan alone, same
install, same file) in the same run, A B A B..., so the machine's drift moves both alike.

1. Generates the 1,000-endpoint document of ``benchmarks/bench_validate.py`` (staging promotes
   from dev, prod from staging with gates) and the two registry reads: staging holds every model's
   versions 1..12 with digests, prod holds the artifacts staging serves under other numbers
   (approved), so every endpoint's pin changes number across registries.
2. Runs each command once uncounted (it fails fast, saying why, and writes the bytecode caches, in
   a temporary ``PYTHONPYCACHEPREFIX``, as an installed package has its ``.pyc`` files;
   ``--no-bytecode`` compiles the source in every run instead), then both ``--runs`` times as child
   processes (each whole process: start-up, imports, output in ``--format``, JSON by default: the
   format whose figures the target was set on), and prints per command the median
   and range of wall time, the median CPU time (user + system, ``wait4``: what the process itself
   used, which a loaded machine's wall time hides) and peak RSS, the median ratios promote/plan of
   wall and CPU time, the load average before and after, and the median CPU time per planned
   resource of each.

The two commands do not plan the same amount: prod's registry read holds every promoted artifact,
approved, so prod's plan after the promotion creates each endpoint's model, endpoint
configuration, endpoint and autoscaling target and policy (5,000 resources more at 1,000 endpoints,
and the 7 of the rollout runner that steps them: its function, schedule, log group, roles and role
policies), while the plan alone (offline, no registry) shows the endpoints
waiting for versions it cannot see registered. Both are prod's graph; the difference is the
registry view, as it should be. The script prints both plans' resource counts and the CPU time per
planned resource, whose ratio is what promote costs beyond its larger plan.

Target: promote at most 3 s wall and 600 MB peak here.

Last runs (2026-12-04, ``--runs 7``, ``--format json``, bytecode cached, 2 cores, load average 1.0
before and after each), paired by running the script twice in a row, first with ``PYTHONPATH`` set
to the same tree without the CPU cuts of issues 7 and 14, then as installed (the outputs are
byte-identical): without the cuts, promote (20,399 resources planned) wall median 2.91 s (min 2.86,
max 2.98), CPU median 2.91 s, peak RSS 341 MB; the plan alone (15,392 resources) 2.20 s, 2.20 s CPU,
302 MB; CPU per planned resource 142 us against 143 us. With them, promote wall median 2.57 s (min
2.54, max 2.60), CPU median 2.57 s, peak RSS 337 MB; the plan alone 1.93 s, 1.93 s CPU, 295 MB;
promote/plan median of pairs: wall 1.34, CPU 1.34; CPU per planned resource 126 us against 125 us
(ratio 1.01). Target: within at that load (wall and CPU time alike: the machine was nearly idle).
An earlier run of that day, before the cuts, with
``--runs 5 --format text`` (load 8.2 before, 7.9 after): promote wall median 11.95 s, CPU median
4.89 s, peak RSS 365 MB; the plan alone 8.55 s, 4.01 s, 328 MB.

    python benchmarks/bench_promote.py [--endpoints 1000] [--runs 5] [--format json|text|markdown] [--cli PATH]
        [--no-bytecode]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_validate import generate  # noqa: E402  (the shared generator, next to this script)

TARGET_SECONDS, TARGET_MB = 3.0, 600


def digest(model: str, version: int) -> str:
    return "sha256:" + hashlib.sha256(f"{model}/{version}".encode()).hexdigest()


def registry_reads(text: str, folder: Path) -> list[str]:
    """Saved reads for staging and prod (see the module docstring); ``--registry`` arguments."""
    import yaml

    data = yaml.safe_load(text)
    models = [m["name"] for m in data["models"]]
    staging_where = "group bench-platform-staging-{} (111111111111/us-east-1)"
    prod_where = "group bench-platform-prod-{} (222222222222/eu-west-1)"
    staging = {"models": {m: {"model": m, "where": staging_where.format(m), "basis": "registry", "complete": True,
                              "versions": [{"version": v, "approval": "Approved", "status": "Completed",
                                            "digest": digest(m, v)} for v in range(1, 13)]} for m in models}}
    prod = {"models": {m: {"model": m, "where": prod_where.format(m), "basis": "registry", "complete": True,
                           "versions": [{"version": 100 + v, "approval": "Approved", "status": "Completed",
                                         "digest": digest(m, v)} for v in range(1, 13)]} for m in models}}
    args = []
    for env, view in (("staging", staging), ("prod", prod)):
        path = folder / f"registry-{env}.json"
        path.write_text(json.dumps(view))
        args += ["--registry", f"{env}={path}"]
    return args


def run_once(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB, exit code) of one whole child process."""
    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def resources(plan_json: str) -> int:
    """How many resources a plan JSON lists."""
    return len(json.loads(plan_json)["resourceChanges"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli", default=str(Path(sys.executable).with_name("mlops-infra")))
    parser.add_argument("--format", choices=("json", "text", "markdown"), default="json",
                        help="the output format both commands are timed in")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile the package's source in every run (no bytecode cache)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "MLOPS_INFRA_"))}
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as caches:
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:  # written by the first (uncounted) run of each command, as an installed package has them
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = caches
        folder = Path(tmp)
        text = generate(args.endpoints)
        file = folder / "mlsystem.yaml"
        file.write_text(text)
        registries = registry_reads(text, folder)
        promote = [args.cli, "promote", str(file), "--to", "prod", *registries, "--skip-gate", "no_drift",
                   "--reason", "benchmark: offline", "--format", args.format]
        plan = [args.cli, "plan", str(file), "--env", "prod", "--format", args.format]
        for name, command in (("promote", promote), ("plan", plan)):  # fail fast, saying why
            check = subprocess.run(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, timeout=600, check=False)
            if check.returncode != 0:
                raise SystemExit(f"{name} failed ({check.returncode}): {check.stderr[-2000:]}")
        results: dict[str, list[tuple[float, float, float]]] = {"promote": [], "plan": []}
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):
            for name, command in (("promote", promote), ("plan", plan)):
                wall, cpu, rss, code = run_once(command, folder, env)
                if code != 0:
                    raise SystemExit(f"{name} exited {code}")
                results[name].append((wall, cpu, rss))
        # Read the outputs only now: a parent holding them would be counted in its children's peak RSS
        # (a forked child starts as a copy of this process).
        promote, plan = [*promote[:-1], "json"], [*plan[:-1], "json"]  # counted in the plans' JSON
        output = json.loads(subprocess.run(promote, cwd=folder, env=env, capture_output=True, text=True, timeout=600,
                                           check=True).stdout)
        alone = subprocess.run(plan, cwd=folder, env=env, capture_output=True, text=True, timeout=600,
                               check=True).stdout
        promotion = output["promotion"]
        planned = {"promote": len(output["plan"]["resourceChanges"]), "plan": resources(alone)}
        print(f"{args.endpoints} endpoints, {len(promotion['pins'])} pins, "
              f"gates: {', '.join(g['name'] + ' ' + g['status'] for g in promotion['gates'])}; prod's plan: "
              f"{planned['promote']} resources after the promotion, {planned['plan']} "
              "in the plan alone (its endpoints wait for versions it cannot see registered); bytecode "
              f"{'compiled in every run' if args.no_bytecode else 'cached'}; --format {args.format}")
    for name, runs in results.items():
        walls, cpus, peaks = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
        print(f"{name:8} wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
              f"CPU median {statistics.median(cpus):.2f} s; "
              f"peak RSS median {statistics.median(peaks):.0f} MB (max {max(peaks):.0f})")
    pairs = list(zip(results["promote"], results["plan"], strict=True))
    print(f"promote/plan ratio, median of pairs: wall {statistics.median(p[0] / b[0] for p, b in pairs):.2f}, "
          f"CPU {statistics.median(p[1] / b[1] for p, b in pairs):.2f}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")
    per = {name: statistics.median(r[1] for r in runs) / planned[name] * 1e6 for name, runs in results.items()}
    print(f"CPU per planned resource (median CPU / resources): promote {per['promote']:.0f} us, plan "
          f"{per['plan']:.0f} us, ratio {per['promote'] / per['plan']:.2f} (what promote costs beyond the larger plan)")
    wall = statistics.median(r[0] for r in results["promote"])
    peak = max(r[2] for r in results["promote"])
    verdict = "within" if wall <= TARGET_SECONDS and peak <= TARGET_MB else "OVER"
    print(f"target {TARGET_SECONDS:.0f} s / {TARGET_MB} MB: {verdict}")


if __name__ == "__main__":
    main()
