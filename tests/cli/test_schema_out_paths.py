"""``schema --out/--check`` and ``--out DIR/`` (schema and plan) on paths that cannot be the file: a parent that is
a file, an impossible parent, a non-UTF-8 schema file, a directory, a trailing slash. Each exits 1 naming the path,
no "internal error", nothing created (audit robust-6)."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.spec.schema import render_schema
from tests.support.cli import assert_clear_error, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_out_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("keep")
    result = run_cli("schema", "--out", str(tmp_path / "afile" / "x.json"))
    assert_clear_error(result, f"cannot write the schema file: {tmp_path / 'afile'} is not a directory")
    assert _tree(tmp_path) == ["afile"]


def test_out_with_an_impossible_parent(tmp_path):
    result = run_cli("schema", "--out", "/proc/robustb-none/y.json")
    assert_clear_error(result, "cannot create the directory of the schema file", "/proc/robustb-none/y.json")


def test_out_that_is_a_directory_leaves_no_new_directories(tmp_path):
    (tmp_path / "a" / "b" / "x.json").mkdir(parents=True)
    result = run_cli("schema", "--out", str(tmp_path / "a" / "b" / "x.json"))
    assert_clear_error(result, "refusing to write the schema file to a directory")
    assert _tree(tmp_path) == ["a", "a/b", "a/b/x.json"]


def test_out_with_a_trailing_slash_creates_nothing(tmp_path):
    out = f"{tmp_path}/new1/new2/dir/"
    result = run_cli("schema", "--out", out)
    assert_clear_error(result, f"refusing to write the schema file to {out}: a path ending in / names a directory",
                 f"such as {out}mlsystem-v1.schema.json")
    assert _tree(tmp_path) == []


def test_plan_out_with_a_trailing_slash_writes_no_file(tmp_path):
    out = f"{tmp_path}/plansdir/"
    result = run_cli("plan", str(EXAMPLE), "--env", "prod", "--out", out)
    assert_clear_error(result, f"refusing to write the plan file to {out}: a path ending in / names a directory",
                 f"such as {out}plan.json")
    assert _tree(tmp_path) == []


def test_check_of_a_non_utf8_file_says_stale(tmp_path):
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes(render_schema().encode("utf-16"))
    result = run_cli("schema", "--check", "--out", str(utf16))
    assert_clear_error(result, "The schema file is stale", f"mlops-infra schema --out {utf16}")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_clear_error(run_cli("schema", "--check", "--out", str(binary)), "The schema file is stale")


def test_check_of_a_directory_says_so(tmp_path):
    result = run_cli("schema", "--check", "--out", str(tmp_path))
    assert_clear_error(result, "The schema path is a directory, not the schema file")
    assert "does not exist" not in result.output


def test_check_of_a_longer_file_is_stale_and_of_the_schema_ok(tmp_path):
    longer = tmp_path / "longer.json"
    longer.write_text(render_schema() + "\n", encoding="utf-8")
    assert_clear_error(run_cli("schema", "--check", "--out", str(longer)), "The schema file is stale")
    written = run_cli("schema", "--out", str(tmp_path / "new" / "s.json"))
    assert written.code == 0, written.output
    ok = run_cli("schema", "--check", "--out", str(tmp_path / "new" / "s.json"))
    assert ok.code == 0 and "is up to date" in ok.output
