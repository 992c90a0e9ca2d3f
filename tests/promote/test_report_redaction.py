"""The promotion report passes the redaction layer in every format, its plan included."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from tests.support.cli import run_cli
from tests.support.promotion import (
    DIGEST_V12,
    DIGEST_V13,
    DIGEST_V14,
    copy_reference,
    staging_view,
    write_view,
)

LEAKY_URI = "https://user:hunter2pass@models.example.com/fraud/14"


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_a_secret_shape_in_the_promotion_refuses_the_whole_report(tmp_path: Path, output_format: str):
    file = copy_reference(tmp_path)
    before = file.read_bytes()
    versions = {v: VersionRecord(v, "Approved", "Completed", artifact_uri=LEAKY_URI if v == 14 else None, digest=d)
                for v, d in ((12, DIGEST_V12), (13, DIGEST_V13), (14, DIGEST_V14))}
    dev = RegistryView({"fraud-model": ModelRegistry("fraud-model", "MLflow registered model fraud-model at x",
                                                      "registry", True, versions)})
    registries = ["--registry", f"dev={write_view(tmp_path / 'dev.json', dev)}",
                  "--registry", f"staging={write_view(tmp_path / 'staging.json', staging_view())}"]
    preview = run_cli("promote", str(file), "--to", "staging", "--format", output_format, *registries)
    assert preview.code == 1 and preview.stdout == "", preview.output  # the artifact steps show the URI
    assert "refusing to print or save the promotion report" in preview.output
    assert "a password in a URL" in preview.output and "hunter2pass" not in preview.output
    written = run_cli("promote", str(file), "--to", "staging", "--format", output_format, "--write", *registries)
    assert written.code == 1 and written.stdout == "", written.output
    # v14 is not registered in staging: --write is refused before any report (test_promote_write_registered)
    assert "refusing to write the promotion into staging" in written.output and "hunter2pass" not in written.output
    assert file.read_bytes() == before
    assert not (tmp_path / "releases.jsonl").exists()
    # registered in staging (as v3): the write reaches the report and the release record, which hold the URI
    registries[-1] = f"staging={write_view(tmp_path / 'staging.json', staging_view(3))}"
    written = run_cli("promote", str(file), "--to", "staging", "--format", output_format, "--write", *registries)
    assert written.code == 1 and written.stdout == "", written.output
    assert "refusing to print or save the" in written.output and "hunter2pass" not in written.output
    assert file.read_bytes() == before  # refused before FILE was written
    assert not (tmp_path / "releases.jsonl").exists()


def test_a_release_record_refused_by_the_redaction_layer_leaves_file_unwritten(tmp_path: Path):
    """The record is checked before FILE is written: never a promoted FILE without its record."""
    file = copy_reference(tmp_path)
    before = file.read_bytes()
    leaky_image = "registry.example.com/AKIAIOSFODNN7EXAMPLE/fraud:1"
    versions = {v: VersionRecord(v, "Approved", "Completed", image=leaky_image if v == 14 else None, digest=d)
                for v, d in ((12, DIGEST_V12), (13, DIGEST_V13), (14, DIGEST_V14))}
    dev = RegistryView({"fraud-model": ModelRegistry("fraud-model", "MLflow registered model fraud-model at x",
                                                      "registry", True, versions)})
    registries = ["--registry", f"dev={write_view(tmp_path / 'dev.json', dev)}",
                  "--registry", f"staging={write_view(tmp_path / 'staging.json', staging_view(9))}"]
    preview = run_cli("promote", str(file), "--to", "staging", *registries)
    assert preview.code == 0 and "AKIA" not in preview.stdout, preview.output  # the text report holds no lineage
    written = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert written.code == 1 and written.stdout == "", written.output
    assert "refusing to print or save the release record" in written.output
    assert "an AWS access key id" in written.output and "AKIA" not in written.output
    assert file.read_bytes() == before
    assert not (tmp_path / "releases.jsonl").exists()
