"""A virtualenv made exactly as the README's first set-up command makes it, for user-path tests.

The guide asks to test "the console script, after the README's exact install". Building a venv costs
tens of seconds, so it is built once and shared:

- :data:`README_INSTALL` is the install part of the README's first ``sh`` block (everything before the
  first ``mlops-infra`` run), with ``.venv`` replaced by the cache directory. Nothing else is
  installed: a test that needs a package the README's install lacks sees it missing, like a user.
- :func:`user_venv_dir` builds it at most once per pyproject.toml content, README command and Python
  version (the cache key), under ``<repo>/.pytest_cache/user-venv/<key>``. The install is editable
  (``pip install -e .``), so the venv always runs the checkout's current code. An exclusive
  ``fcntl`` file lock makes concurrent pytest-xdist workers (and concurrent sessions) wait for one
  build instead of racing; a ``.complete`` marker is written last, so a half-built venv is rebuilt.
- :class:`UserVenv` runs the venv's console scripts in a directory the test chooses (a temporary
  one), with a bounded time and ``MLOPS_INFRA_DEBUG`` unset.

Tests that use the ``user_venv`` fixture (``tests/conftest.py``) should carry
``pytest.mark.timeout(USER_VENV_TIMEOUT)``: the first one pays for the build.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER_VENV_TIMEOUT = 900
"""Seconds a test using the fixture may take (the build under load included)."""
BUILD_TIMEOUT = 840


def readme_commands() -> list[str]:
    """The README's ``sh`` set-up blocks, in order."""
    return re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)


def readme_install_command() -> str:
    """The install part of the README's first command (the steps before the first ``mlops-infra`` run)."""
    steps = [s.strip() for s in readme_commands()[0].split("&&")]
    install = []
    for step in steps:
        if re.search(r"(^|/)mlops-infra(\s|$)", step):
            break
        install.append(step)
    if not install:
        raise AssertionError(f"the README's first command has no install step: {readme_commands()[0]!r}")
    return " && ".join(install)


README_INSTALL = readme_install_command()


def _cache_key() -> str:
    digest = hashlib.sha256()
    for part in ((REPO / "pyproject.toml").read_bytes(), README_INSTALL.encode(), sys.version.encode(),
                 str(REPO).encode()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def user_venv_dir() -> Path:
    """The README-installed venv for the current pyproject.toml, built once (see the module contract)."""
    root = REPO / ".pytest_cache" / "user-venv"
    root.mkdir(parents=True, exist_ok=True)
    key = _cache_key()
    venv = root / key
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = venv / ".complete"
        if not marker.is_file():
            _build(venv)
            marker.write_text(key, encoding="utf-8")
    return venv


def _build(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    command = re.sub(r"(?<![\w./-])\.venv(?=/|\s|$)", str(venv), README_INSTALL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the README's install failed (exit {proc.returncode}) after "
                           f"{time.monotonic() - started:.0f} s: {command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (venv / ".build-seconds").write_text(f"{time.monotonic() - started:.1f}\n", encoding="utf-8")


@dataclass(frozen=True)
class UserVenv:
    """The README-installed virtualenv."""

    path: Path

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def run(self, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
            script: str = "mlops-infra", stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the venv's ``script`` (default ``mlops-infra``) with ``args`` in ``cwd``."""
        base = {k: v for k, v in os.environ.items()
                if k not in ("MLOPS_INFRA_DEBUG", "VIRTUAL_ENV", "PYTHONPATH")}
        return subprocess.run([str(self.bin(script)), *args], cwd=cwd, env={**base, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False, input=stdin)

    def has_module(self, module: str) -> bool:
        """Whether ``module`` imports in the venv's interpreter."""
        proc = subprocess.run([str(self.bin("python")), "-c", f"import {module}"], capture_output=True,
                              timeout=60, check=False)
        return proc.returncode == 0
