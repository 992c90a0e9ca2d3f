"""Benchmark: what the price catalog costs a plan (a script).

1. Loading the price catalog (``catalog.price_catalog()``: the shipped ``prices.json``) in a fresh
   interpreter, after importing the package: median of ``--runs``.
2. The whole command a user runs on the 1,000-endpoint system of ``benchmarks/bench_validate.py``
   (``mlops-infra plan FILE --env prod --state prior.json``, the prior state built as in
   ``benchmarks/bench_plan.py``), in fresh processes; with ``--baseline-python PY`` the same command
   run by another installation's interpreter (for example the frozen copy before this work) in
   alternation, A B A B, with the A/B wall ratio taken pair by pair (median). Both run in an empty
   temporary directory so that each imports its own installed package. The machine load
   (``os.getloadavg``) is printed before and after.

    python benchmarks/bench_prices.py [--endpoints 1000] [--runs 3] [--baseline-python /path/to/python]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

LOAD = ("import time; from mlops_infra import catalog; t = time.perf_counter(); c = catalog.price_catalog(); "
        "print(time.perf_counter() - t, len(c.prices))")


def catalog_load(runs: int) -> None:
    seconds, rows = [], 0
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, check=True,
                             cwd=tempfile.gettempdir()).stdout.split()
        seconds.append(float(out[0]))
        rows = int(out[1])
    print(f"catalog load ({rows} prices): median {statistics.median(seconds) * 1000:.1f} ms over {runs} fresh processes")


def plan_pairs(endpoints: int, runs: int, baseline: str | None) -> None:
    from bench_plan import build
    from bench_validate import generate

    _, _, _, _, state_text = build(endpoints, "prod")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "mlsystem.yaml").write_text(generate(endpoints))
        Path(tmp, "prior.json").write_text(state_text)
        args = ["-m", "mlops_infra.cli.main", "plan", "mlsystem.yaml", "--env", "prod", "--state", "prior.json",
                "--no-color"]
        pythons = [("A", sys.executable)] + ([("B", baseline)] if baseline else [])
        walls: dict[str, list[float]] = {name: [] for name, _ in pythons}
        for _ in range(runs):
            for name, python in pythons:
                start = time.perf_counter()
                done = subprocess.run([python, *args], capture_output=True, text=True, check=False, cwd=tmp)
                walls[name].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{name} plan failed ({done.returncode}): {done.stderr[-2000:]}")
    for name, python in pythons:
        print(f"{name} ({python}): plan of {endpoints} endpoints, whole process: median "
              f"{statistics.median(walls[name]):.2f} s (min {min(walls[name]):.2f}, max {max(walls[name]):.2f}) over {runs} runs")
    if baseline:
        ratios = [a / b for a, b in zip(walls["A"], walls["B"], strict=True)]
        print(f"A/B wall, paired: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-python", help="another installation's python to run the same plan (B)")
    args = parser.parse_args(argv)
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    catalog_load(max(args.runs, 5))
    plan_pairs(args.endpoints, args.runs, args.baseline_python)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
