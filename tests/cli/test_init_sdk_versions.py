"""``init`` says when the virtualenv its stacks run in has a Pulumi SDK at another version than the stacks pin
(audit pin44-1), and gives the install command in a form pip runs correctly (audit pin44-2).

``init`` points the stacks at the virtualenv it runs from, into which Pulumi installs nothing (pulumi/pulumi
``sdk/python/toolchain/pip.go`` ``(*pip).EnsureVenv``), so the SDK found there is the provider ``up`` loads.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from mlops_infra.sdk_pins import SDK_PINS
from tests.cli.test_init import RECSYS
from tests.support.cli import run_cli


def test_init_in_a_virtualenv_with_another_provider_says_which_and_how_to_install_the_pins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``init`` points the stacks at the virtualenv it runs from, into which Pulumi installs nothing (pulumi/pulumi
    ``sdk/python/toolchain/pip.go`` ``(*pip).EnsureVenv``): a pulumi-aws 7.60.0 there is what ``up`` runs. The
    command it gives runs pip in the stack directory, where ``-e <relative path>`` means the checkout. Fails
    before: no word of the version."""
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "7.60.0" if name == "pulumi-aws" else real(name))
    (tmp_path / "mlsystem.yaml").write_text(RECSYS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "mlsystem.yaml")
    text = " ".join(result.stderr.split())
    assert result.code == 0 and (tmp_path / "stacks" / "dev" / "requirements.txt").is_file()
    assert f"has pulumi-aws 7.60.0 (pinned {SDK_PINS['pulumi-aws']}), not what the stacks pin" in text
    assert f"install the pins: cd stacks/dev && {sys.executable} -m pip install -r requirements.txt" in text
    monkeypatch.setattr(importlib.metadata, "version", real)
    assert "not what the stacks pin" not in run_cli("init", "mlsystem.yaml", "--force").stderr



def test_init_outside_a_virtualenv_asks_the_python_pulumi_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """No ``virtualenv`` option: Pulumi runs ``python3`` from PATH (pulumi.go ``CommandPath``) and installs nothing
    into it; a stand-in ``python3`` answers the probe with every module present and pulumi-aws 7.60.0. Fails
    before: the probe asked for modules only."""
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    monkeypatch.delenv("PULUMI_PYTHON_CMD", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    versions = " ".join(f"{name}={'7.60.0' if name == 'pulumi-aws' else pin}" for name, pin in SDK_PINS.items())
    python3.write_text(f"#!/bin/sh\necho\necho '{versions}'\n")
    python3.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    (tmp_path / "mlsystem.yaml").write_text(RECSYS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "mlsystem.yaml")
    text = " ".join(result.stderr.split())
    assert result.code == 0, result.stderr
    assert f"warning: the Python `pulumi up` runs ({python3}," in text
    assert f"has pulumi-aws 7.60.0 (pinned {SDK_PINS['pulumi-aws']}), not what the stacks pin" in text
    assert f"install the pins: cd stacks/dev && {python3} -m pip install -r requirements.txt" in text
    python3.write_text("#!/bin/sh\necho\necho '" + " ".join(f"{n}={v}" for n, v in SDK_PINS.items()) + "'\n")
    assert "not what the stacks pin" not in run_cli("init", "mlsystem.yaml", "--force").stderr
