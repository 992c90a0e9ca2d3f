"""Golden scenarios: the ``--update-golden`` flag.

Regenerate the expected files (and the prior/live inputs built from ``applied.yaml``) only on
purpose, then review the diff::

    pytest tests/scenarios --update-golden
    MLOPS_INFRA_UPDATE_GOLDEN=1 pytest tests/scenarios     # same, from anywhere

(``--update-golden`` is defined here, so pass it with ``tests/scenarios`` on the command line; the
environment variable works in any invocation.)
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite the golden files of tests/scenarios from the current code (review the diff).")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the golden files should be rewritten instead of compared."""
    flag = False
    try:
        flag = bool(request.config.getoption("--update-golden"))
    except ValueError:  # the option is unknown when this conftest was not loaded at start-up
        flag = False
    return flag or os.environ.get("MLOPS_INFRA_UPDATE_GOLDEN", "") == "1"
