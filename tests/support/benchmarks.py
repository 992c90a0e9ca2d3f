"""The benchmark scripts under ``benchmarks/`` as modules, for tests that use their generators
(``bench_validate.generate``): ``benchmarks/`` is not a package, so it is put on ``sys.path`` only for the import."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported (once per process, as any module)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))
