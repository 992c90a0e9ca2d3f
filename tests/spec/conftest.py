"""Fixtures for spec tests: the reference document's text."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def reference_text(shared_dir: Path) -> str:
    """The reference MLSystem document, exactly as written."""
    return (shared_dir / "spec" / "reference-mlsystem.yaml").read_text()
