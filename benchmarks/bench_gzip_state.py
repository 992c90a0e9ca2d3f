"""Benchmark: ``plan --state`` of a gzipped prior state beside the same state plain (a script).

Runs ``mlops-infra plan SPEC --env prod --state prior.json --no-color`` and the same with
``prior.json.gz`` (the same bytes gzipped, as the file backend writes them with
``PULUMI_DIY_BACKEND_GZIP=true``: one gzip member, the default level), each a fresh process, in
turns (the gzipped one first in odd rounds), and prints for each the median wall time, CPU time and
peak RSS of the whole process (``ru_maxrss`` from ``wait4``), and whether both wrote the same plan
(stdout, with the state's path, which the plan names, read as the plain one's). It also times the
floor the gzipped read adds: one ``zlib`` pass over the file (decompressed and dropped, in a child
process), since a gzipped state is decompressed twice (``pulumi_state._read_gzip_by_resource``).

Inputs: those of ``bench_cli.py`` (``--keep DIR``: ``mlsystem.yaml`` and ``prior.json``, written by
``bench_cli.py --write-inputs`` when missing); ``prior.json.gz`` is read from DIR, or written to
``--gzip-dir`` (default DIR) when DIR has none. The target (issue 14): at most 1,500 MB at 10,000
endpoints, for the gzipped state as for the plain one.

Figures of 2026-12-06 (one round each; the machine was shared, load 9-14, so wall times say little:
compare CPU time and peak RSS), the baseline main at 71bbe6d, before gzipped states were streamed:

- 10,000 endpoints (``--keep /tmp/in43k``: state 1,058.3 MiB, gzipped 61.2 MiB): one zlib pass
  1.16 s CPU. Plain 18.95 s CPU, 1,355 MB; gzipped 21.52 s CPU, 1,355 MB (target met); the
  baseline's gzipped 23.14 s CPU, 2,488 MB. The same plan from both.
- 1,000 endpoints (state 107.1 MiB, gzipped 3.3 MiB), 2 rounds: one zlib pass 0.12 s CPU. Plain
  2.30 s CPU, 193 MB; gzipped 2.42 s CPU, 199 MB; the baseline's gzipped 2.47 s CPU, 313 MB.

    python benchmarks/bench_gzip_state.py --keep /tmp/in43k --endpoints 10000 [--runs 1] [--baseline TREE]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GZIP_LEVEL = 6
"""klauspost/compress's ``gzip.DefaultCompression`` as Pulumi's ``gzip.NewWriter`` uses it (level 6, as zlib's)."""
TARGET_MB = {10_000: 1500, 1000: 250}


@dataclasses.dataclass
class Run:
    name: str
    state: Path
    tree: str
    walls: list[float] = dataclasses.field(default_factory=list)
    cpus: list[float] = dataclasses.field(default_factory=list)
    rss_mb: list[float] = dataclasses.field(default_factory=list)
    outputs: set[bytes] = dataclasses.field(default_factory=set)
    codes: set[int] = dataclasses.field(default_factory=set)


def child_env(tree: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "MLOPS_INFRA_"))}
    env["PYTHONPATH"] = tree
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def measure(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, bytes, int]:
    """(wall s, user + system s, peak RSS MB, stdout, exit code) of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out, os.waitstatus_to_exitcode(status)


def zlib_pass(zipped: Path) -> float:
    """Seconds (CPU) of one zlib decompression of ``zipped``, output dropped, in a child process."""
    code = ("import sys, zlib\nd = zlib.decompressobj(wbits=31)\nwith open(sys.argv[1], 'rb') as f:\n"
            "    while b := f.read(1 << 20):\n        while b:\n            d.decompress(b, 4 << 20)\n"
            "            b = d.unconsumed_tail\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(zipped)])
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit("the zlib pass failed")
    return usage.ru_utime + usage.ru_stime


def gzipped_copy(state: Path, where: Path) -> Path:
    zipped = state.with_name(state.name + ".gz")
    if zipped.exists():
        return zipped
    target = where / zipped.name
    if not target.exists():
        where.mkdir(parents=True, exist_ok=True)
        with open(state, "rb") as src, gzip.open(target, "wb", compresslevel=GZIP_LEVEL) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="the inputs of bench_cli.py (written when missing)")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--gzip-dir", type=Path, help="where to write prior.json.gz when --keep has none")
    parser.add_argument("--baseline", help="another mlops-infra source tree: its run of the gzipped state too")
    args = parser.parse_args(argv)

    spec, state = args.keep / "mlsystem.yaml", args.keep / "prior.json"
    if not (spec.exists() and state.exists()):
        args.keep.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "bench_cli.py"), "--write-inputs", str(args.keep),
                        "--endpoints", str(args.endpoints), "--env", args.env], check=True)
    zipped = gzipped_copy(state, args.gzip_dir or args.keep)
    run_dir = args.gzip_dir or args.keep
    (run_dir / "cwd").mkdir(parents=True, exist_ok=True)
    tree = str(HERE.parent)
    runs = [Run("plain", state, tree), Run("gzip", zipped, tree)]
    if args.baseline:
        runs.append(Run("gzip@baseline", zipped, args.baseline))
    floor = zlib_pass(zipped)
    load_before = os.getloadavg()
    for round_ in range(args.runs):
        for run in runs if round_ % 2 == 0 else runs[::-1]:
            argv_ = [sys.executable, "-m", "mlops_infra.cli.main", "plan", str(spec), "--env", args.env,
                     "--state", str(run.state), "--no-color"]
            wall, cpu, rss, out, code = measure(argv_, run_dir / "cwd", child_env(run.tree))
            run.walls.append(wall)
            run.cpus.append(cpu)
            run.rss_mb.append(rss)
            run.outputs.add(out.replace(str(run.state).encode(), str(state).encode()))
            run.codes.add(code)
    load_after = os.getloadavg()

    print(f"inputs: {args.endpoints} endpoints, state {state.stat().st_size / 2**20:,.1f} MiB, gzipped "
          f"{zipped.stat().st_size / 2**20:,.1f} MiB; {args.runs} rounds; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after")
    print(f"one zlib pass over the gzipped state: {floor:.2f} s CPU")
    print(f"{'state':<14} {'median s':>9} {'cpu s':>7} {'peak MB':>8}")
    for run in runs:
        print(f"{run.name:<14} {statistics.median(run.walls):>9.3f} {statistics.median(run.cpus):>7.3f} "
              f"{statistics.median(run.rss_mb):>8.0f}")
    plain, zipped_run = runs[0], runs[1]
    same = len(plain.outputs) == 1 and plain.outputs == zipped_run.outputs
    print(f"same plan from both: {'yes' if same else 'NO'}")
    failed = not same or any(run.codes != {0} for run in runs[:2])
    for run in runs:
        if run.codes != {0}:
            print(f"  {run.name}: exit codes {sorted(run.codes)}")
    mb = TARGET_MB.get(args.endpoints)
    if mb is not None:
        rss = statistics.median(zipped_run.rss_mb)
        print(f"target gzip peak (<= {mb} MB): {rss:.0f} MB: {'met' if rss <= mb else 'NOT met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
