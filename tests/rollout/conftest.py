"""Fixtures of the rollout tests that drive SageMaker on a moto server (tests/support/moto_server.py):
one server per test module; ``sm`` empties its backends before the test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto_server import client, reset, running_moto_server


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with running_moto_server() as url:
        yield url


@pytest.fixture
def sm(moto_url: str):
    reset(moto_url)
    return client("sagemaker", moto_url)


@pytest.fixture
def scaling(moto_url: str):
    return client("application-autoscaling", moto_url)
