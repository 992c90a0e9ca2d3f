"""``init`` outside a virtualenv checks the Python ``pulumi up`` will run, not its own (audit closing-37b-4).

With no ``virtualenv`` option Pulumi runs the project with ``PULUMI_PYTHON_CMD``, else ``python3``, else ``python``
from PATH and installs nothing (pulumi/pulumi ``sdk/python/toolchain/pip.go`` ``(*pip).Command`` -> ``CommandPath``;
``EnsureVenv`` returns at once without the option). A stand-in ``python3`` on PATH answers the module probe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.test_init_pulumi_sdk import _init


def _outside_a_virtualenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    monkeypatch.delenv("PULUMI_PYTHON_CMD", raising=False)


def test_the_python3_on_path_without_the_sdk_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails before: init checked its own interpreter (which has the SDK) and said nothing."""
    _outside_a_virtualenv(monkeypatch)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    python3.write_text("#!/bin/sh\necho pulumi mlops_infra\n")  # what the probe prints for a bare Python
    python3.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    code, stdout, stderr = _init(tmp_path)
    text = " ".join(stderr.split())
    assert code == 0 and "Next: cd" in stdout
    assert f"warning: the Python `pulumi up` runs ({python3}," in text
    assert "has no pulumi, mlops_infra" in text
    assert f"Install it first: cd {tmp_path / 'stacks' / 'dev'} && {python3} -m pip install -r requirements.txt" in text


def test_no_python_on_path_says_it_cannot_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _outside_a_virtualenv(monkeypatch)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, stderr = _init(tmp_path)
    assert code == 0
    assert "mlops-infra cannot tell which Python `pulumi up` will run" in " ".join(stderr.split())
