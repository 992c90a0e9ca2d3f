"""validate's ok line shows the derived production set (audit envs-5): a DR environment promoting from
prod moved it to prod-dr, and nothing showed it."""

from __future__ import annotations

from pathlib import Path

from tests.spec.test_production_derived import _t15
from tests.support.cli import run_cli


def test_the_ok_line_names_the_production_environments(tmp_path: Path, shared_dir: Path) -> None:
    file = tmp_path / "t15.yaml"
    file.write_text(_t15((shared_dir / "spec" / "reference-mlsystem.yaml").read_text()))
    everything = run_cli("validate", str(file))
    assert everything.code == 0
    assert everything.stdout.endswith("; environments dev, staging, prod, prod-dr (production: prod-dr)\n")
    assert "production-derived-away" not in everything.stdout and "is not production" in everything.stderr
    prod = run_cli("validate", str(file), "--env", "prod")
    assert prod.stdout.endswith("; environment prod (not production)\n")
