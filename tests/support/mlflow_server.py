"""A real MLflow tracking server on 127.0.0.1 for tests (the Kubernetes side of promotion).

Contract:
- :func:`running_mlflow_server` starts ``python -m mlflow server`` (the ``mlflow`` package of the test
  extra, the version of the image the cluster runs) on ``127.0.0.1`` and a port the OS just handed
  out, with the cluster's storage layout (:func:`mlops_infra.compile.kubernetes.registry.server_args`):
  a SQLite backend store and proxied artifact storage, both in a temporary folder. One worker: a
  test server needs no more, and each uvicorn worker costs a whole MLflow import; no job runner
  either (:data:`SERVER_ENV`).
- It is ready when ``GET /health`` answers 200 ``OK`` (the server's liveness route), waited for at
  most :data:`START_TIMEOUT` seconds; a server that exits or does not answer in time is retried on a
  fresh port (:data:`START_ATTEMPTS` in all), then the start fails with the server's log.
- The server runs in its own session (process group): stopping it sends SIGTERM to the group, then
  SIGKILL after :data:`STOP_TIMEOUT`, so no uvicorn worker outlives it. Only that group is signalled.
- ``mlflow`` not installed is the one reason to skip (:func:`require_mlflow`), saying how to install
  it; a server that is installed but cannot start is an error, not a skip.
- The fixtures: ``mlflow_server`` (session scope, one server per pytest process: registered once, in
  tests/conftest.py; a module that imports it gets a fixture, and a server, of its own) and ``mlflow_url``
  (function scope: every registered model deleted first, so a test starts from an empty registry).
- :class:`MlflowRest` registers models and versions through MLflow's REST API 2.0 (the calls the
  training runtime makes, examples/runtime/mlops_entry/objects.py): ``registered-models/create``,
  ``model-versions/create`` (with tags), ``model-versions/set-tag``, ``registered-models/alias``,
  ``model-versions/search``, ``registered-models/search`` and ``registered-models/delete``
  (https://mlflow.org/docs/latest/api_reference/rest-api.html).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 120.0
"""Seconds the server may take to answer ``/health``: it creates and migrates a new SQLite database,
then its uvicorn worker imports MLflow again (well over half a minute on a loaded 2-core machine)."""
START_ATTEMPTS = 2
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


SERVER_ENV = {"MLFLOW_TRACKING_URI": "", "PYTHONUNBUFFERED": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
"""Set for the server process. ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION`` (default true,
``mlflow/environment_variables.py``) makes MLflow 3's ``mlflow server`` also launch a job runner
(``mlflow/server/__init__.py``: ``_launch_job_runner`` when ``job_execution_enabled``), which starts
huey consumer processes that each import MLflow, and outlive a killed server; no test submits an MLflow
job, so the test servers run without it (the tracking and registry routes are the same)."""


def require_mlflow() -> None:
    """Skip the calling test when the ``mlflow`` package (with its server) is not installed."""
    if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("mlflow.server") is None:
        pytest.skip("the MLflow tracking server is not installed (mlflow-skinny has none): "
                    "pip install -e '.[test]' installs the mlflow package")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_argv(folder: Path, port: int) -> list[str]:
    """``mlflow server`` as the cluster runs it (SQLite store, proxied artifacts), on 127.0.0.1."""
    return [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2.0) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL to it after STOP_TIMEOUT."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a parent that exited
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        text = []
    return f"--- mlflow server log ({log}) ---\n" + "\n".join(text)


@contextlib.contextmanager
def running_mlflow_server(folder: Path | None = None, *, timeout: float = START_TIMEOUT) -> Iterator[str]:
    """Start an MLflow tracking server (see the module contract), yield its URL, stop it."""
    require_mlflow()
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlflow-server-")))
        log = folder / "server.log"
        failures = []
        for _ in range(START_ATTEMPTS):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with log.open("ab") as out:
                process = subprocess.Popen(server_argv(folder, port), stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True, cwd=folder,
                                           env={**os.environ, **SERVER_ENV})
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline and not _healthy(url):
                time.sleep(0.2)
            if process.poll() is None and _healthy(url):
                break
            failures.append(f"port {port}: " + (f"exited with {process.returncode}" if process.poll() is not None
                                                 else f"no answer on /health after {timeout:g}s"))
            _stop(process)
        else:
            raise RuntimeError(f"the MLflow server did not start ({'; '.join(failures)})\n{_tail(log)}")
        try:
            yield url
        finally:
            _stop(process)


class MlflowRest:
    """The MLflow REST API 2.0 at ``url``, for setting up a registry in tests."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
             query: Mapping[str, str] | None = None) -> dict[str, Any]:
        target = f"{self.url}/api/2.0/mlflow/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(target, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise AssertionError(f"MLflow {method} {path}: HTTP {err.code} {err.read()[:500]!r}") from None

    def create_model(self, name: str) -> None:
        self.call("POST", "registered-models/create", {"name": name})

    def create_version(self, name: str, source: str, tags: Mapping[str, str] | None = None) -> int:
        """A new version of ``name`` (MLflow numbers it: one more than the highest); its number."""
        body = {"name": name, "source": source, "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        return int(self.call("POST", "model-versions/create", body)["model_version"]["version"])

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self.call("POST", "model-versions/set-tag", {"name": name, "version": str(version), "key": key, "value": value})

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": str(version)})

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name`` as ``model-versions/search`` returns it (one page: tests hold few)."""
        found = self.call("GET", "model-versions/search", query={"filter": f"name='{name}'", "max_results": "1000"})
        return sorted(found.get("model_versions") or (), key=lambda v: int(v["version"]))

    def delete_all_models(self) -> None:
        while True:
            found = self.call("GET", "registered-models/search", query={"max_results": "1000"})
            models = [m["name"] for m in found.get("registered_models") or ()]
            if not models:
                return
            for name in models:
                self.call("DELETE", "registered-models/delete", {"name": name})


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[str]:
    """The URL of a real MLflow tracking server, shared by the tests of this pytest process."""
    with running_mlflow_server() as url:
        yield url


@pytest.fixture()
def mlflow_url(mlflow_server: str) -> str:
    """The session's MLflow server with an empty registry."""
    MlflowRest(mlflow_server).delete_all_models()
    return mlflow_server
