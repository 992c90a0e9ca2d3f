"""What issue 12's preflight checks add to ``validate`` of the 1,000-endpoint benchmark system.

Runs ``load_system`` (what ``validate`` does after start-up) on the system ``bench_validate.py``
generates, alternating runs with all checks and with the four preflight checks left out
(``check_model_artifacts``, ``check_serving_fit``, ``check_training_fit``, ``check_containers``), and
prints both medians and their ratio (target: at most 1.2x when no artifacts are named). Same process,
same commit, paired runs: the ratio survives a noisy machine; whole-process figures of ``validate``
are ``bench_validate.py``'s and ``bench_cli.py``'s.

    python benchmarks/bench_preflight.py [--endpoints 1000] [--runs 7] [--env staging]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_validate

from mlops_infra.spec import checks, load_system

PREFLIGHT = {"check_model_artifacts", "check_serving_fit", "check_training_fit", "check_containers"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--env", default="staging")
    args = parser.parse_args(argv)
    full = (checks.SYSTEM_CHECKS, checks.ENVIRONMENT_CHECKS)
    without = tuple(tuple(c for c in group if c.__name__ not in PREFLIGHT) for group in full)
    assert len(without[0]) + len(without[1]) == len(full[0]) + len(full[1]) - len(PREFLIGHT), "a check was renamed"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlsystem.yaml"
        path.write_text(bench_validate.generate(args.endpoints))
        times: dict[str, list[float]] = {"with": [], "without": []}
        variants = [("with", full), ("without", without)]
        for run in range(-1, args.runs):  # run -1 warms both up (imports, caches) and is not counted
            for label, (system_checks, env_checks) in variants if run % 2 else variants[::-1]:
                checks.SYSTEM_CHECKS, checks.ENVIRONMENT_CHECKS = system_checks, env_checks
                gc.collect()  # each run starts with no garbage of the one before
                start = time.perf_counter()
                load_system(path, args.env)
                if run >= 0:
                    times[label].append(time.perf_counter() - start)
        checks.SYSTEM_CHECKS, checks.ENVIRONMENT_CHECKS = full
    with_, without_ = statistics.median(times["with"]), statistics.median(times["without"])
    ratios = sorted(a / b for a, b in zip(times["with"], times["without"], strict=True))
    print(f"validate (load_system), {args.endpoints} endpoints, environment {args.env}, median of {args.runs} "
          f"paired runs, load {os.getloadavg()[0]:.1f}:")
    print(f"  with the preflight checks     {with_:.3f} s")
    print(f"  without them                  {without_:.3f} s")
    print(f"  ratio, pair by pair           median {statistics.median(ratios):.3f}x (min {ratios[0]:.3f}, "
          f"max {ratios[-1]:.3f}; target <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
