"""``benchmarks/bench_cli.py`` judges kept inputs (``--keep DIR``) by what they hold.

Issue 14's note of stop 40: with ``--keep`` the report's header said "1000 endpoints" whatever the
directory held, and the targets were those of 1,000 endpoints (250 MB for ``plan --state``, not the
1,500 MB of 10,000 endpoints).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    sys.path[:0] = [str(REPO / "benchmarks")]
    try:
        import bench_cli
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return bench_cli, generate


def _kept(where: Path, generate, endpoints: int) -> Path:
    where.mkdir()
    (where / "mlsystem.yaml").write_text(generate(endpoints))
    (where / "prior.json").write_text("{}")  # not read before the count is checked
    return where


def test_kept_inputs_count_their_own_endpoints(bench, tmp_path):
    bench_cli, generate = bench
    for endpoints in (3, 12):
        spec = _kept(tmp_path / f"in{endpoints}", generate, endpoints) / "mlsystem.yaml"
        assert bench_cli.endpoints_in(spec) == endpoints
        header = bench_cli.header(endpoints, spec, spec.with_name("prior.json"), spec.parent)
        assert header.startswith(f"inputs: {endpoints} endpoints (kept in {spec.parent}), spec ")


def test_kept_inputs_of_another_size_are_refused(bench, tmp_path):
    bench_cli, generate = bench
    where = _kept(tmp_path / "in3", generate, 3)
    with pytest.raises(SystemExit, match=r"holds inputs of 3 endpoints, not --endpoints 1000"):
        bench_cli.main(["--keep", str(where), "--endpoints", "1000", "--runs", "1", "--warmup", "0"])


def test_a_spec_the_generator_did_not_write_is_refused(bench, tmp_path):
    bench_cli, _ = bench
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text("apiVersion: mlops-infra/v1\nkind: MLSystem\nmetadata:\n  name: x\n")
    with pytest.raises(SystemExit, match="no endpoints: section"):
        bench_cli.endpoints_in(spec)
