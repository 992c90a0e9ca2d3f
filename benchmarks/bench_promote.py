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
2. Runs both commands ``--runs`` times as child processes (each whole process: start-up, imports,
   output) and prints per command the median and range of wall time and peak RSS (``wait4``), the
   median ratio promote/plan, and the load average.

Target: promote at most 3 s wall and 600 MB peak here.

    python benchmarks/bench_promote.py [--endpoints 1000] [--runs 5] [--cli PATH]
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


def run_once(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one whole child process."""
    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli", default=str(Path(sys.executable).with_name("mlops-infra")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = generate(args.endpoints)
        file = folder / "mlsystem.yaml"
        file.write_text(text)
        registries = registry_reads(text, folder)
        promote = [args.cli, "promote", str(file), "--to", "prod", *registries, "--skip-gate", "no_drift",
                   "--reason", "benchmark: offline", "--format", "json"]
        plan = [args.cli, "plan", str(file), "--env", "prod", "--format", "json"]
        check = subprocess.run(promote, cwd=folder, capture_output=True, text=True, timeout=600, check=False)
        if check.returncode != 0:
            raise SystemExit(f"promote failed ({check.returncode}): {check.stderr[-2000:]}")
        promotion = json.loads(check.stdout)["promotion"]
        print(f"{args.endpoints} endpoints, {len(promotion['pins'])} pins, "
              f"gates: {', '.join(g['name'] + ' ' + g['status'] for g in promotion['gates'])}")
        results: dict[str, list[tuple[float, float]]] = {"promote": [], "plan": []}
        for _ in range(args.runs):
            for name, command in (("promote", promote), ("plan", plan)):
                wall, rss, code = run_once(command, folder)
                if code != 0:
                    raise SystemExit(f"{name} exited {code}")
                results[name].append((wall, rss))
    for name, runs in results.items():
        walls, peaks = [w for w, _ in runs], [r for _, r in runs]
        print(f"{name:8} wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
              f"peak RSS median {statistics.median(peaks):.0f} MB (max {max(peaks):.0f})")
    ratios = [p[0] / b[0] for p, b in zip(results["promote"], results["plan"], strict=True)]
    print(f"promote/plan wall ratio, median of pairs: {statistics.median(ratios):.2f}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    wall = statistics.median(w for w, _ in results["promote"])
    peak = max(r for _, r in results["promote"])
    verdict = "within" if wall <= TARGET_SECONDS and peak <= TARGET_MB else "OVER"
    print(f"target {TARGET_SECONDS:.0f} s / {TARGET_MB} MB: {verdict}")


if __name__ == "__main__":
    main()
