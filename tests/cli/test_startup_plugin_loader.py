"""A batch command (validate, graph, plan) does not import pydantic's plugin loader, nor with it
``importlib.metadata`` (see :func:`mlops_infra.cli.main._no_plugin_loader`)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

PLUGIN_LOADER = "pydantic.plugin._loader"  # mlops_infra.cli.main.PLUGIN_LOADER

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FRAUD = EXAMPLES / "fraud-detection" / "mlsystem.yaml"
WATCHED = ("importlib.metadata", PLUGIN_LOADER)


def _imported(*args: str, switch: str | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``main(args)`` in a fresh interpreter (``PYDANTIC_DISABLE_PLUGINS`` unset, or ``switch``): which of
    :data:`WATCHED` it imported."""
    probe = ("import sys\nfrom mlops_infra.cli.main import main\ncode = 0\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             f"print('IMPORTED', sorted(m for m in sys.modules if m in {WATCHED!r}), file=sys.stderr)\n"
             "sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if switch is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = switch
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    return proc, ast.literal_eval(proc.stderr.rsplit("IMPORTED ", 1)[-1].strip())  # the names the probe printed


@pytest.mark.parametrize("command", [["validate"], ["graph", "--format", "json"], ["plan", "--format", "json"]])
def test_a_batch_command_imports_neither_the_plugin_loader_nor_importlib_metadata(command):
    proc, imported = _imported(command[0], str(FRAUD), "--env", "prod", *command[1:])

    assert proc.returncode == 0, proc.stderr
    assert imported == [], imported


def test_a_switch_the_user_set_keeps_pydantic_s_loader():
    """The control: with ``PYDANTIC_DISABLE_PLUGINS`` set in the environment (kept as it is, see
    :func:`mlops_infra.cli.main._without_pydantic_plugins`) pydantic imports its loader, and importlib.metadata."""
    proc, imported = _imported("validate", str(FRAUD), "--env", "prod", switch="some-plugin")

    assert proc.returncode == 0, proc.stderr
    assert imported == sorted(WATCHED), imported


def test_the_stand_in_is_taken_out_after_an_in_process_run():
    from mlops_infra.cli.main import main

    was = sys.modules.get(PLUGIN_LOADER)
    with pytest.raises(SystemExit) as stop:
        main(["validate", str(FRAUD), "--env", "prod"])
    assert stop.value.code == 0
    assert sys.modules.get(PLUGIN_LOADER) is was


def test_pydantic_asks_its_plugin_loader_for_get_plugins_only():
    """What the stand-in must offer: every import of the loader in the installed pydantic names ``get_plugins``
    alone (pydantic/plugin/_schema_validator.py: ``from ._loader import get_plugins``)."""
    root = Path(pydantic.__file__).parent
    uses = [(path.relative_to(root).as_posix(), line.strip()) for path in sorted(root.rglob("*.py"))
            for line in path.read_text(encoding="utf-8").splitlines() if re.search(r"\b_loader\b", line)
            and re.match(r"\s*(from|import)\b", line) and path.name != "_loader.py"]

    assert uses == [("plugin/_schema_validator.py", "from ._loader import get_plugins")], uses
