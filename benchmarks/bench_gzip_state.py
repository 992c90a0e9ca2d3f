"""Benchmark: ``plan --state`` of one prior state in the layouts Pulumi writes, plain, gzipped and zstd (a script).

Runs ``mlops-infra plan SPEC --env prod --state STATE --no-color`` for six files holding the same
state: ``prior.json`` as ``bench_cli.py --write-inputs`` writes it, indented (``json.MarshalIndent``:
the file backend up to Pulumi 3.237, ``pulumi stack export``), ``prior.compact.json`` (the file
backend from Pulumi 3.238, ``compactJSONMarshaler``: no whitespace, UTF-8 kept, written here with
``orjson.dumps``, as Go's ``json.Encoder`` with ``SetEscapeHTML(false)`` writes this data), and both
gzipped (``.gz``: one gzip member, the default level, as ``PULUMI_DIY_BACKEND_GZIP=true`` writes
them) and both zstd-compressed (``.zst``: one frame with the content size and a checksum, level 3 and
an 8 MiB window, as ``PULUMI_DIY_BACKEND_ZSTD=true`` writes them with klauspost/compress
``Encoder.EncodeAll``). Each run is a fresh process, the order reversed in odd rounds; for each it prints the median
wall time, CPU time and peak RSS of the whole process (``ru_maxrss`` from ``wait4``), and whether
all wrote the same plan (stdout, the state's path, which the plan names, read as the first one's).
It also times one ``zlib`` pass over the gzipped file and one zstd pass over the zstd file
(decompressed and dropped, in a child process): a compressed state is decompressed twice
(``pulumi_state._read_compressed_by_resource``). Children get the tree, then this process's
``PYTHONPATH`` (where ``zstandard`` may be).

Inputs: those of ``bench_cli.py`` (``--keep DIR``: ``mlsystem.yaml`` and ``prior.json``, written by
``bench_cli.py --write-inputs`` when missing); the other five are read from DIR, or written to
``--work-dir`` (default DIR) when DIR has none. The target (issue 14): at most 1,500 MB at 10,000
endpoints, for every layout.

Figures of 2026-12-06 (the machine was shared, load 8-14, so wall times say little: compare CPU
time and peak RSS), the baseline main at 71bbe6d, before gzipped and compact states were streamed:

- 10,000 endpoints (``--keep /tmp/in43k``, 1 round: indented 1,058.3 MiB, gzipped 61.2 MiB; compact
  707.4 MiB, gzipped 15.1 MiB): one zlib pass over the indented gzip 1.19 s CPU. Indented 19.91 s
  CPU, 1,354 MB; indented.gz 21.84 s, 1,356 MB; compact 22.49 s, 1,342 MB; compact.gz 22.49 s,
  1,345 MB: the 1,500 MB target met by all four, the same plan from all four. The baseline: indented.gz
  23.14 s, 2,488 MB (an earlier round); compact 25.24 s, 3,517 MB (read whole).
- 10,000 endpoints with zstd (2026-12-06, f808c63, 1 round, load 9-11; indented.zst 8.8 MiB, compact.zst
  8.3 MiB, 120:1 and 85:1): one zstd pass 0.37 s CPU (zlib 1.34 s). Indented 25.34 s CPU, 1,397 MB;
  indented.gz 28.31 s, 1,398 MB; indented.zst 25.63 s, 1,396 MB; compact.zst 27.60 s, 1,396 MB: the
  same plan from all four, the 1,500 MB target met. Before f808c63 a ``.json.zst`` was refused.
- 1,000 endpoints (2 rounds: indented 107.1 MiB, gzipped 3.3 MiB; compact 71.5 MiB, gzipped 1.7 MiB):
  one zlib pass 0.11 s CPU. Indented 2.13 s CPU, 196 MB; indented.gz 2.29 s, 198 MB; compact 2.16 s,
  191 MB; compact.gz 2.26 s, 200 MB. The baseline: indented 2.16 s, 196 MB; indented.gz 2.35 s,
  313 MB; compact 2.51 s, 401 MB; compact.gz 2.79 s, 403 MB (over the 250 MB target).

    python benchmarks/bench_gzip_state.py --keep /tmp/in43k --endpoints 10000 [--runs 1] [--work-dir DIR]
                                          [--only indented,compact.gz,indented.zst] [--baseline TREE]
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
GZIP_LEVEL = 6
"""klauspost/compress's ``gzip.DefaultCompression`` as Pulumi's ``gzip.NewWriter`` uses it (level 6, as zlib's)."""
ZSTD_LEVEL, ZSTD_WINDOW_LOG = 3, 23
"""klauspost/compress ``zstd.SpeedDefault`` ("roughly equivalent to the default Zstandard mode (level 3)",
``zstd/encoder_options.go``) and its default 8 MiB window (``setDefault``), as Pulumi's encoder uses them."""
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
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, os.environ.get("PYTHONPATH")]))
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


def zstd_pass(compressed: Path) -> float:
    """Seconds (CPU) of one zstd decompression of ``compressed``, output dropped, in a child process."""
    code = ("import sys, zstandard\nwith open(sys.argv[1], 'rb') as f:\n"
            "    r = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)\n"
            "    while r.read(4 << 20):\n        pass\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(compressed)], env=child_env(str(HERE.parent)))
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit("the zstd pass failed")
    return usage.ru_utime + usage.ru_stime


def derived(source: Path, name: str, where: Path, write: Callable[[Path, Path], None]) -> Path:
    """``name`` beside ``source`` when it is there, else in ``where``, written from ``source`` when missing."""
    if (source.parent / name).exists():
        return source.parent / name
    target = where / name
    if not target.exists():
        where.mkdir(parents=True, exist_ok=True)
        write(source, target)
    return target


def write_gzip(source: Path, target: Path) -> None:
    with open(source, "rb") as src, gzip.open(target, "wb", compresslevel=GZIP_LEVEL) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def write_zstd(source: Path, target: Path) -> None:
    """One frame, the content size and a checksum in its header, as Pulumi's ``zstdMarshaller`` writes it."""
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, window_log=ZSTD_WINDOW_LOG,
                                                            write_checksum=1, write_content_size=1)
    with open(source, "rb") as src, open(target, "wb") as dst:
        writer = zstandard.ZstdCompressor(compression_params=params).stream_writer(
            dst, size=os.fstat(src.fileno()).st_size, closefd=False)
        shutil.copyfileobj(src, writer, 1 << 20)
        writer.flush(zstandard.FLUSH_FRAME)


def write_compact(source: Path, target: Path) -> None:
    """In a child process: the parse of a 10,000-endpoint state takes a few GB, not to be counted here."""
    code = ("import sys, orjson\nwith open(sys.argv[1], 'rb') as f:\n    doc = orjson.loads(f.read())\n"
            "with open(sys.argv[2], 'wb') as f:\n    f.write(orjson.dumps(doc))\n")
    subprocess.run([sys.executable, "-c", code, str(source), str(target)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="the inputs of bench_cli.py (written when missing)")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, help="where to write the other layouts when --keep has none")
    parser.add_argument("--only", help="comma-separated: indented, indented.gz, indented.zst, compact, compact.gz, "
                                       "compact.zst (default: all)")
    parser.add_argument("--baseline", help="another mlops-infra source tree: its runs of the same files too")
    args = parser.parse_args(argv)

    spec, state = args.keep / "mlsystem.yaml", args.keep / "prior.json"
    if not (spec.exists() and state.exists()):
        args.keep.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "bench_cli.py"), "--write-inputs", str(args.keep),
                        "--endpoints", str(args.endpoints), "--env", args.env], check=True)
    where = args.work_dir or args.keep
    compact = derived(state, "prior.compact.json", where, write_compact)
    files = {"indented": state, "indented.gz": derived(state, "prior.json.gz", where, write_gzip),
             "indented.zst": derived(state, "prior.json.zst", where, write_zstd),
             "compact": compact, "compact.gz": derived(compact, "prior.compact.json.gz", where, write_gzip),
             "compact.zst": derived(compact, "prior.compact.json.zst", where, write_zstd)}
    chosen = args.only.split(",") if args.only else list(files)
    (where / "cwd").mkdir(parents=True, exist_ok=True)
    run_dir = where
    tree = str(HERE.parent)
    runs = [Run(name, files[name], tree) for name in chosen]
    if args.baseline:
        runs += [Run(f"{name}@baseline", files[name], args.baseline) for name in chosen]
    floor, zstd_floor = zlib_pass(files["indented.gz"]), zstd_pass(files["indented.zst"])
    load_before = os.getloadavg()
    for round_ in range(args.runs):
        for run in runs if round_ % 2 == 0 else runs[::-1]:
            argv_ = [sys.executable, "-m", "mlops_infra.cli.main", "plan", str(spec), "--env", args.env,
                     "--state", str(run.state), "--no-color"]
            wall, cpu, rss, out, code = measure(argv_, run_dir / "cwd", child_env(run.tree))
            run.walls.append(wall)
            run.cpus.append(cpu)
            run.rss_mb.append(rss)
            run.outputs.add(out.replace(str(run.state).encode(), b"STATE"))
            run.codes.add(code)
    load_after = os.getloadavg()

    sizes = ", ".join(f"{name} {path.stat().st_size / 2**20:,.1f} MiB" for name, path in files.items())
    print(f"inputs: {args.endpoints} endpoints, state {sizes}; {args.runs} rounds; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"one zlib pass over the gzipped state: {floor:.2f} s CPU; one zstd pass over the zstd state: "
          f"{zstd_floor:.2f} s CPU")
    print(f"{'state':<14} {'median s':>9} {'cpu s':>7} {'peak MB':>8}")
    for run in runs:
        print(f"{run.name:<14} {statistics.median(run.walls):>9.3f} {statistics.median(run.cpus):>7.3f} "
              f"{statistics.median(run.rss_mb):>8.0f}")
    ours = [run for run in runs if "@" not in run.name]
    same = len({out for run in ours for out in run.outputs}) == 1
    print(f"same plan from every layout: {'yes' if same else 'NO'}")
    failed = not same or any(run.codes != {0} for run in ours)
    for run in runs:
        if run.codes != {0}:
            print(f"  {run.name}: exit codes {sorted(run.codes)}")
    mb = TARGET_MB.get(args.endpoints)
    if mb is not None:
        for run in ours:
            rss = statistics.median(run.rss_mb)
            print(f"target {run.name} peak (<= {mb} MB): {rss:.0f} MB: {'met' if rss <= mb else 'NOT met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
