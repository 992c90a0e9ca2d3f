"""``tests/shared`` is the shared folder's reference spec and fixtures, byte for byte
(``tests/support/shared_files.py``): a clone alone runs every test, and the copy cannot drift from
its source wherever that source sits beside the clone (as in the project's own CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shared_files import SHARED, UPSTREAM

PARTS = ("spec", "fixtures")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for part in PARTS for p in sorted((root / part).rglob("*")) if p.is_file()}


def test_the_copy_holds_the_reference_and_the_fixtures_the_tests_read() -> None:
    files = _files(SHARED)
    assert "spec/reference-mlsystem.yaml" in files and "fixtures/README.md" in files
    assert {name.split("/")[1] for name in files if name.startswith("fixtures/") and name.count("/") == 2} == {
        "aws", "crds", "pulumi"}


@pytest.mark.skipif(not (UPSTREAM / "spec").is_dir(), reason=f"no shared folder beside the clone ({UPSTREAM}): "
                    "nothing to compare the copy with")
def test_the_copy_is_the_shared_folder_byte_for_byte() -> None:
    assert _files(SHARED) == _files(UPSTREAM), (
        "tests/shared differs from the shared folder: copy it again with "
        f"`cp -r {UPSTREAM}/spec {UPSTREAM}/fixtures tests/shared/`")
