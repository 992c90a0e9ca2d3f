"""A Ctrl-C while the command's module is imported (most of a short command's time) prints "interrupted"
and ends the process by SIGINT, with no Python traceback (audit robust-9; mlops_infra.cli.main's contract:
"wherever it stops the command")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

# The console script, with the import of the validate command's module held for up to 30 s (a marker file says
# when it starts) and SIGINT at Python's default (a test runner's child may inherit it ignored).
SCRIPT = """
import importlib.abc, os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)

class Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "mlops_infra.cli.commands.validate":
            open(os.environ["IMPORT_MARKER"], "w").close()
            time.sleep(30)
        return None

sys.meta_path.insert(0, Slow())
from mlops_infra.cli.main import main
sys.argv[0] = "mlops-infra"
main()
"""


def test_ctrl_c_during_the_command_import_says_interrupted(tmp_path: Path) -> None:
    marker = tmp_path / "importing"
    env = {**os.environ, "IMPORT_MARKER": str(marker), "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, "validate", str(FRAUD)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the command module's import never started"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGINT, (process.returncode, stderr)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip() == "interrupted"
    assert stdout == ""
