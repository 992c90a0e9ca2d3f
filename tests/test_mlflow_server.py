"""The MLflow server harness (tests/support/mlflow_server.py): it serves on 127.0.0.1 only, its stop ends
the whole process group (``mlflow server`` runs its uvicorn worker as a child process), and a server that
cannot start is an error that shows the server's log after every attempt."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import mlflow_server as harness


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the server's processes")
def test_the_server_listens_on_loopback_and_its_stop_ends_every_process(tmp_path):
    with harness.running_mlflow_server(tmp_path) as url:
        port = url.rsplit(":", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        running = processes_mentioning(f"--port {port}")
        assert len(running) >= 2, running  # mlflow server and its uvicorn worker
        rest = harness.MlflowRest(url)
        rest.create_model("m")
        assert rest.create_version("m", "s3://bucket/m/1/", {"k": "v"}) == 1
        assert [(v["version"], v["tags"]) for v in rest.versions("m")] == [("1", [{"key": "k", "value": "v"}])]
    assert processes_mentioning(f"--port {port}") == []
    assert (tmp_path / "mlflow.db").is_file()


def test_a_server_that_cannot_start_is_an_error_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "server_argv",
                        lambda folder, port: [sys.executable, "-c", f"print('refusing port {port}'); raise SystemExit(3)"])
    with pytest.raises(RuntimeError) as caught, harness.running_mlflow_server(tmp_path, timeout=20):
        pass
    message = str(caught.value)
    assert message.startswith("the MLflow server did not start (port ")
    assert message.count("exited with 3") == harness.START_ATTEMPTS
    assert message.count("refusing port") == harness.START_ATTEMPTS  # the log tail
