"""A symlink loop at ``--out`` is called a loop whatever the platform's ELOOP (audit portab45-7): Python 3.13's
``Path.resolve(strict=True)`` raises ``OSError(ELOOP)`` on a loop (3.12 and before: ``RuntimeError``), and ELOOP is
40 on Linux but 62 on macOS (xnu ``bsd/sys/errno.h``: ``#define ELOOP 62``). Modelled here: ``errno.ELOOP`` set to
the platform's number and ``Path.resolve`` raising what 3.13 raises there."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mlops_infra import fileio
from mlops_infra.errors import UserError


@pytest.mark.parametrize("eloop", [62, 40], ids=["macos", "linux"])
def test_a_loop_is_a_loop_on_python_313(tmp_path: Path, monkeypatch, eloop: int) -> None:
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    real = Path.resolve

    def resolve_313(self, strict=False):
        try:
            return real(self, strict=strict)
        except RuntimeError:  # 3.11's way; 3.13 raises OSError(ELOOP)
            raise OSError(eloop, os.strerror(errno.ELOOP), str(self)) from None

    monkeypatch.setattr(errno, "ELOOP", eloop)
    monkeypatch.setattr(Path, "resolve", resolve_313)
    with pytest.raises(UserError) as refused:
        fileio.output_file(str(tmp_path / "a.json"), what="plan file")
    assert refused.value.summary == "refusing to write through a symlink loop"


def test_a_dangling_link_is_still_a_link_to_nothing(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.json").symlink_to(tmp_path / "missing" / "b.json")
    monkeypatch.setattr(errno, "ELOOP", 62)
    with pytest.raises(UserError) as refused:
        fileio.output_file(str(tmp_path / "a.json"), what="plan file")
    assert refused.value.summary == "refusing to write through a symlink to nothing"
