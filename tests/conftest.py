"""Shared pytest fixtures and options.

``mlflow_server`` and ``mlflow_url`` (tests/support/mlflow_server.py) are registered here, once: a
session fixture imported into a test module is a separate fixture of that module, so each such module
started its own "session" MLflow server. A module needing another server (other options) starts its own.

``--update-golden`` rewrites the golden files of tests/scenarios from the current code (review the
diff before committing); ``MLOPS_INFRA_UPDATE_GOLDEN=1`` does the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.mlflow_server import mlflow_server, mlflow_url  # noqa: F401  (fixtures, defined once here)
from tests.support.shared_files import SHARED


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite the golden files of tests/scenarios from the current code (review the diff).")


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's credential chain must never try the EC2 instance metadata address (169.254.169.254)
    from a test: only loopback traffic is allowed here."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def no_pulumi_login(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the Pulumi login of whoever runs the suite: ``PULUMI_HOME`` is an empty directory of
    the test's own (subprocesses inherit it). Without it, Pulumi, and so mlops-infra, read the login from
    the passwd home's ``.pulumi`` (``mlops_infra/state/user_home.py``, audit stateformats-6), which setting
    ``HOME`` does not move (closing-42a-1): a developer's ``pulumi login`` (and its token) would choose the
    backend a test plans against. A test about the login sets or deletes ``PULUMI_HOME`` itself (and fakes
    the passwd home: ``tests/state/test_backends.passwd_home``)."""
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path_factory.mktemp("no-pulumi-login")))
    monkeypatch.delenv("PULUMI_CREDENTIALS_PATH", raising=False)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared reference files (the reference spec, real fixtures): the copy in ``tests/shared``
    (``tests/support/shared_files.py`` says why)."""
    return SHARED


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when golden files should be rewritten instead of compared."""
    return bool(request.config.getoption("--update-golden")) or os.environ.get("MLOPS_INFRA_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def user_venv():
    """A virtualenv made with the README's exact install, shared by user-path tests (built once per
    pyproject.toml content; see tests/support/user_venv.py). Mark its tests
    ``pytest.mark.timeout(USER_VENV_TIMEOUT)``."""
    from tests.support.user_venv import UserVenv, user_venv_dir

    return UserVenv(user_venv_dir())
