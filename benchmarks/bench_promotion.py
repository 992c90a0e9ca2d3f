"""Benchmark: whole-process ``mlops-infra validate`` of systems with many environments (a script).

The red-team review (H6) found the promotion checks superlinear: 320 environments in one
promote_from cycle took 93 s and 500 ran past 120 s. This prints the median wall and CPU time of
the whole process for the reference system with N environments in one cycle (the default 500), in
a chain, and with no promotion at all, next to validating the reference itself.

    python benchmarks/bench_promotion.py [--environments 500] [--runs 5] [--cli PATH]

Target: a 500-environment cycle validates in under a second of CPU time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"


def environments(count: int, shape: str) -> dict:
    """``count`` AWS environments promoting in a ``cycle``, a ``chain`` or ``none`` at all."""
    target = {"kind": "aws", "region": "us-east-1", "account": "111111111111"}
    envs: dict = {}
    for i in range(count):
        env: dict = {"target": target}
        if shape == "cycle" or (shape == "chain" and i < count - 1):
            env["promote_from"] = f"e{(i + 1) % count}"
        envs[f"e{i}"] = env
    return envs


def document(count: int, shape: str) -> str:
    data = yaml.safe_load(REFERENCE.read_text())
    data["environments"] = environments(count, shape)
    return yaml.safe_dump(data)


def run(cli: str, path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``cli validate path`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([cli, "validate", str(path)], capture_output=True, check=False, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli", default=shutil.which("mlops-infra") or str(Path(sys.executable).parent / "mlops-infra"))
    args = parser.parse_args(argv)
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cases = {"reference (3 environments)": REFERENCE.read_text()}
    for shape in ("cycle", "chain", "none"):
        cases[f"{args.environments} environments, {shape}"] = document(args.environments, shape)
    worst_cycle = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in cases.items():
            path = Path(tmp) / "mlsystem.yaml"
            path.write_text(text)
            run(args.cli, path)  # warm-up
            samples = [run(args.cli, path) for _ in range(args.runs)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            if "cycle" in name:
                worst_cycle = cpu
            print(f"{name:34s} median wall {wall:.3f} s, CPU {cpu:.3f} s over {args.runs} runs")
    ok = worst_cycle < 1.0
    print("target (cycle < 1.0 s CPU, whole process):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
