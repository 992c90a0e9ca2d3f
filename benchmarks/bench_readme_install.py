"""Benchmark: the README's first set-up command, word for word, in a fresh copy of the repository.

For each run, the checkout's committed tree (``git archive HEAD``) is unpacked into a new temporary
directory and the README's first ``sh`` block is run there with ``bash -c`` (``python3 -m venv .venv
&& .venv/bin/pip install -e . && .venv/bin/mlops-infra plan --env prod``): whole process, wall
clock, exit code checked. With ``--baseline DIR`` the same is done for another checkout (its own
README command) in turn, A B A B ..., and the per-pair ratio is printed. The first pair is a warm-up
(pip's wheel cache filled), not counted. Also prints the machine load (``os.getloadavg``) and the
size of the venv.

    python benchmarks/bench_readme_install.py [--runs 3] [--baseline /work/baseline]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def readme_first_command(repo: Path) -> str:
    blocks = re.findall(r"```sh\n(.*?)\n```", (repo / "README.md").read_text(encoding="utf-8"), re.S)
    return blocks[0].strip()


def fresh_copy(repo: Path, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(repo), "archive", "HEAD"], check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_once(repo: Path) -> tuple[float, int]:
    """Seconds for the README's first command in a fresh copy of ``repo``, and the venv's size in MB."""
    with tempfile.TemporaryDirectory(prefix="readme-bench-") as tmp:
        copy = fresh_copy(repo, Path(tmp) / "repo")
        command = readme_first_command(copy)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PIP_CONSTRAINT"))}
        start = time.monotonic()
        proc = subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True,
                              timeout=1800, check=False)
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"{repo}: the README command failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        size = sum(f.stat().st_size for f in (copy / ".venv").rglob("*") if f.is_file()) // (1 << 20)
        shutil.rmtree(copy, ignore_errors=True)
        return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    repo = HERE.parent
    print(f"load average before: {os.getloadavg()}")
    print(f"command: {readme_first_command(repo)}")
    run_once(repo)  # warm-up: pip's wheel cache
    if args.baseline:
        run_once(args.baseline)
    ours, theirs, sizes = [], [], []
    for _ in range(args.runs):
        seconds, size = run_once(repo)
        ours.append(seconds)
        sizes.append(size)
        if args.baseline:
            theirs.append(run_once(args.baseline)[0])
    print(f"this checkout: median {statistics.median(ours):.1f} s (runs: {', '.join(f'{s:.1f}' for s in ours)}), "
          f"venv {sizes[-1]} MB")
    if theirs:
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"baseline:      median {statistics.median(theirs):.1f} s (runs: {', '.join(f'{s:.1f}' for s in theirs)})")
        print(f"ratio this/baseline: median {statistics.median(ratios):.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
