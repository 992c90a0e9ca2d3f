"""The AWS compiler's per-compile memos give what computing every time gives: the graph compiled with
each memo emptied before every use equals the one compiled with it (every AWS case and the benchmark
system, whose endpoints share models). Memos: what a model's serving roles read
(``serving._model_reads``), registry decisions (``serving.registry_decision``: ``CompileContext.version_decision``'s memo)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import serving
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import CASES, system

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def memos_forgotten() -> Iterator[None]:
    """Every memo emptied before each use: each answer is computed again."""
    reads, decision = serving._model_reads, serving.registry_decision

    def fresh_reads(aws, model):
        aws.model_reads.clear()
        return reads(aws, model)

    def fresh_decision(aws, item):
        aws.ctx._decisions.clear()
        return decision(aws, item)

    serving._model_reads, serving.registry_decision = fresh_reads, fresh_decision
    try:
        yield
    finally:
        serving._model_reads, serving.registry_decision = reads, decision


def _same_both_ways(spec, env: str) -> None:
    remembered = compile_system(spec, env)
    with memos_forgotten():
        computed = compile_system(spec, env)
    assert remembered == computed and remembered.dumps_bytes() == computed.dumps_bytes()


@pytest.mark.parametrize(("path", "env"), [(p, e) for _, p, e in CASES], ids=[c[0] for c in CASES])
def test_memos_give_what_computing_every_time_gives(path: Path, env: str) -> None:
    _same_both_ways(system(path, env), env)


def test_memos_give_the_same_graph_for_the_benchmark_system() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    loaded = parse_system(generate(30), "bench.yaml", "prod")
    assert loaded.system is not None
    _same_both_ways(loaded.system, "prod")


def test_the_switch_computes_again() -> None:
    """Inside memos_forgotten the memos hold one entry at most (so the comparison above compares)."""
    _, path, env = CASES[0]
    seen = []
    real = serving._model_reads

    def spy(aws, model):
        seen.append(len(aws.model_reads))
        return real(aws, model)

    serving._model_reads = spy
    try:
        with memos_forgotten():
            compile_system(system(path, env), env)
    finally:
        serving._model_reads = real
    assert seen and set(seen) <= {0, 1}
