"""Benchmark: the YAML parsers a document could take (a script, not a test): the decision in spec/loader.py.

On the 1,000-endpoint document of bench_validate.py (block style, about 38,000 lines), medians of:

- ``yaml_rs.loads``: the data path (YAML 1.2, no positions);
- PyYAML ``load`` with ``CSafeLoader`` (libyaml): what a PyYAML-only data path would cost (YAML 1.1);
- ``loader._compose_positions``: the position index, built only when a diagnostic needs a line;
- ``load_system``: the whole validation of the document (positions stay unbuilt: it is valid),

in one process, one after the other, with the load average. The data path's share of validation and
the ratio PyYAML / yaml-rs are printed: a PyYAML-only path would add the difference to every
``validate`` and ``plan``.

    python benchmarks/bench_yaml_parsers.py [--endpoints 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_validate import generate


def _median(run: Callable[[], object], runs: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    import yaml
    import yaml_rs

    from mlops_infra.spec import load_system
    from mlops_infra.spec.loader import _compose_positions

    text = generate(args.endpoints)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    print(f"document: {args.endpoints} endpoints, {text.count(chr(10)):,} lines, {len(text):,} bytes; "
          f"PyYAML loader {loader.__name__}; load average before {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlsystem.yaml"
        path.write_text(text)
        figures = {
            "yaml_rs.loads (data path)": _median(lambda: yaml_rs.loads(text, parse_datetime=False), args.runs),
            f"PyYAML load, {loader.__name__}": _median(lambda: yaml.load(text, Loader=loader), args.runs),
            "position index (lazy)": _median(lambda: _compose_positions(text), args.runs),
            "load_system (whole validation)": _median(lambda: load_system(path), args.runs),
        }
    for name, seconds in figures.items():
        print(f"{name:34} median {seconds * 1000:9.1f} ms over {args.runs} runs")
    rs, py, whole = (figures["yaml_rs.loads (data path)"], figures[f"PyYAML load, {loader.__name__}"],
                     figures["load_system (whole validation)"])
    print(f"PyYAML / yaml-rs: {py / rs:.1f}x; yaml-rs is {rs / whole:.0%} of validation; a PyYAML data path "
          f"would add {(py - rs) / whole:.0%}; load average after {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
