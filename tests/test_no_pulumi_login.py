"""The suite never reads the Pulumi login of whoever runs it (tests/conftest.py ``no_pulumi_login``).

Pulumi reads the login from the passwd home's ``.pulumi`` (``mlops_infra/state/user_home.py``), which a
test setting only ``HOME`` does not move (closing-42a-1). Here a login is put in a fake passwd home, as a
developer's ``pulumi login`` would be: in-process and in a subprocess, the backend a plan reads is still
the stack directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_infra.state.backends import choose_backend
from tests.state.test_backends import passwd_home


@pytest.fixture
def developer_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A passwd home holding a login to another file backend; returns that backend's URL."""
    home = tmp_path / "passwd-home"
    (home / ".pulumi").mkdir(parents=True)
    url = f"file://{tmp_path / 'the-developers-backend'}"
    (home / ".pulumi" / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {}}))
    passwd_home(monkeypatch, home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    return url


def test_a_developers_login_is_not_read_in_process(developer_login: str, tmp_path: Path) -> None:
    backend = choose_backend(tmp_path, os.environ)
    assert backend.url != developer_login
    assert "stack directory" in backend.chosen_by


def test_a_developers_login_is_not_read_by_a_subprocess(developer_login: str, tmp_path: Path) -> None:
    """A CLI subprocess inherits ``PULUMI_HOME``; its passwd home is the real one, so the fake login is
    put where ``PULUMI_HOME`` would otherwise be looked for: the check is that ``PULUMI_HOME`` is set to
    an empty directory."""
    home = Path(os.environ["PULUMI_HOME"])
    assert home.is_dir() and not any(home.iterdir())
    probe = ("import os, sys\nfrom pathlib import Path\nfrom mlops_infra.state.backends import choose_backend\n"
             "print(choose_backend(Path(sys.argv[1]), os.environ).chosen_by)")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=60,
                          check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert "stack directory" in done.stdout
