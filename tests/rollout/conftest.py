"""Fixtures of the rollout tests.

- SageMaker on a moto server (tests/support/moto_server.py): one server per test module; ``sm`` empties
  its backends before the test that asks for it.
- KServe on the Kubernetes API stand-in (tests/support/kube_api.py) with the KServe stand-in
  (tests/support/kserve.py): ``crds`` (the InferenceService CRD), ``api`` (a stand-in serving it),
  ``clock`` (the simulated time, tests/rollout/sim.py) and ``kserve`` (revisions made on that clock). A
  module that needs another API (other tokens, the compiled runner) defines its own ``api``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.rollout.sim import Clock
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn, load_crds
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


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return load_crds("serving.kserve.io_inferenceservices.minimal.yaml")


@pytest.fixture
def api(crds) -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn(crds=crds) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kserve(api, clock) -> KServeRevisions:
    return KServeRevisions(api, clock=clock)
