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

