"""``init``, ``policy-pack`` and ``test-alerts`` with a destination that cannot be written (a ``--dir``/``--out``
that is a file, a name of the set that is a directory already): exit 1 naming the path, no "internal error",
nothing written (audit robust-5)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import assert_clear_error, run_cli
from tests.support.guardrails import GUARDED

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_init_with_a_stack_folder_that_is_a_file_writes_nothing(tmp_path):
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(FRAUD.read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "prod").write_text("")
    result = run_cli("init", str(spec))
    assert_clear_error(result, "stacks/prod is a regular file, not a directory; nothing was written")
    assert _files(tmp_path) == ["mlsystem.yaml", "stacks/prod"]


def test_init_and_policy_pack_with_a_dir_that_is_a_file(tmp_path):
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(GUARDED)
    afile = tmp_path / "afile"
    afile.write_text("keep")
    for command in ("init", "policy-pack"):
        result = run_cli(command, str(spec), "--dir", str(afile))
        assert_clear_error(result, f"{afile} is a regular file, not a directory; nothing was written")
    assert afile.read_text() == "keep" and _files(tmp_path) == ["afile", "mlsystem.yaml"]


def test_test_alerts_with_a_name_that_is_a_directory_writes_none(tmp_path):
    out = tmp_path / "ta"
    (out / "alertmanager.yml").mkdir(parents=True)
    result = run_cli("test-alerts", str(FRAUD), "--env", "dev", "--out", str(out))
    assert_clear_error(result, "alertmanager.yml is a directory, not a regular file; nothing was written")
    assert _files(tmp_path) == [] and [p.name for p in out.iterdir()] == ["alertmanager.yml"]


def test_test_alerts_with_an_out_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep")
    result = run_cli("test-alerts", str(FRAUD), "--env", "dev", "--out", str(afile / "sub"))
    assert_clear_error(result, f"{afile} is a regular file, not a directory; nothing was written")
    assert afile.read_text() == "keep"
