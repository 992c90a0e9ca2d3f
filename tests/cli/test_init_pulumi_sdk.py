"""``init`` says when the virtualenv its stacks run in has no Pulumi SDK (audit docs-4).

Pulumi installs a project's requirements.txt only into a virtualenv it creates (pulumi/pulumi
sdk/python/toolchain/pip.go ``(*pip).EnsureVenv``: an existing virtualenv is returned as it is), and
``init`` points the stacks at the existing virtualenv it runs from. So after an install without the
``[pulumi]`` extra, ``pulumi up`` would fail on ``import pulumi``: init says so and how to install it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"


def _init(tmp_path: Path) -> tuple[int, str, str]:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(QUICKSTART.read_text())
    result = run_cli("init", str(spec))
    return result.code, result.stdout, result.stderr


def test_init_without_the_pulumi_sdk_says_what_is_missing_and_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pulumi", "pulumi_aws") else real(name, *a))
    code, stdout, stderr = _init(tmp_path)
    assert code == 0 and (tmp_path / "stacks" / "dev" / "Pulumi.yaml").is_file()
    assert "has no pulumi, pulumi_aws (the Pulumi SDK, the `[pulumi]` extra)" in stderr
    assert "only into a virtualenv it creates" in stderr
    # run in the stack directory: pip reads its `-e ../..[pulumi]` line against the directory it runs in
    assert f"Install it first: cd {tmp_path / 'stacks' / 'dev'} && {sys.executable} -m pip install -r requirements.txt" \
        in " ".join(stderr.split())
    assert "Next: cd" in stdout


def test_init_with_the_pulumi_sdk_installed_warns_of_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.cli.commands.init import PULUMI_MODULES

    real = importlib.util.find_spec  # only the SDK's modules: spec/regions.py finds botocore's data through it
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name in PULUMI_MODULES else real(name, *a))
    code, _, stderr = _init(tmp_path)
    assert code == 0
    assert "warning" not in stderr


def test_the_readme_installs_the_pulumi_extra_before_pulumi_up() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Provisioning with Pulumi", 1)[1].split("\n## ", 1)[0]
    install = re.search(r"pip install -e '\.\[pulumi\]'", section)
    up = section.find("pulumi up")
    assert install is not None and 0 <= install.start() < up
