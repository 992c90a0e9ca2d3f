"""Resume-able training state in the contract's checkpoint folder (SageMaker syncs it with S3 on spot)."""

from __future__ import annotations

from pathlib import Path

import torch

LAST = "last.pt"


def save(folder: Path, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{LAST}.tmp"
    torch.save(state, tmp)
    tmp.replace(folder / LAST)  # atomic: an interrupted save never leaves a half checkpoint


def load(folder: Path) -> dict | None:
    path = folder / LAST
    return torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None
