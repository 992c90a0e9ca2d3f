"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder (design notes, real fixtures) that sits beside the repository clone."""
    return Path(__file__).resolve().parents[1].parent / "shared"
