"""Every Pulumi project in the repository is consistent with the system it deploys.

- the root ``Pulumi.yaml`` and ``stacks/<env>/Pulumi.yaml`` name the bundled example's project and
  use the Python runtime with an entry point that exists;
- there is one stack directory per environment of the bundled example, and nothing else;
- each ``Pulumi.<env>.yaml`` names an existing system file (relative to the stack directory, as
  Pulumi runs the program there) and an environment of that system, equal to the directory name;
- ``__main__.py`` calls ``mlops_infra.program.run()``; ``requirements.txt`` installs this checkout,
  constrained to the versions CI installs (constraints.txt).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.program.entry import BUNDLED_EXAMPLE
from mlops_infra.spec import load_system

REPO = Path(__file__).resolve().parents[2]
STACK_DIRS = sorted(p for p in (REPO / "stacks").iterdir() if p.is_dir() and not p.name.startswith("."))


def bundled_project() -> str:
    loaded = load_system(BUNDLED_EXAMPLE)
    assert loaded.ok, loaded.diagnostics
    return loaded.system.metadata.name


def test_root_project_runs_the_program():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == bundled_project() == "fraud-detection"
    assert project["runtime"]["name"] == "python"
    main = REPO / project["main"]
    assert main.is_dir(), "main is a directory, the documented form for Python programs"
    assert "run()" in (main / "__main__.py").read_text()


def test_one_stack_directory_per_environment_of_the_bundled_example():
    environments = sorted(load_system(BUNDLED_EXAMPLE).system.environments)
    assert [p.name for p in STACK_DIRS] == sorted(environments)


@pytest.mark.parametrize("stack_dir", STACK_DIRS, ids=lambda p: p.name)
def test_stack_directory_is_consistent(stack_dir: Path):
    env = stack_dir.name
    project = yaml.safe_load((stack_dir / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert (stack_dir / project.get("main", "__main__.py")).is_file()
    config = yaml.safe_load((stack_dir / f"Pulumi.{env}.yaml").read_text())["config"]
    system_file = (stack_dir / config["mlops:systemFile"]).resolve()
    assert system_file.is_file(), f"{stack_dir.name}: mlops:systemFile {config['mlops:systemFile']} does not exist"
    assert config["mlops:environment"] == env
    loaded = load_system(system_file, env)
    assert loaded.ok, loaded.diagnostics
    assert project["name"] == loaded.system.metadata.name
    assert compile_system(loaded.system, env).project == project["name"]


@pytest.mark.parametrize("stack_dir", STACK_DIRS, ids=lambda p: p.name)
def test_stack_entry_point_and_requirements(stack_dir: Path):
    tree = ast.parse((stack_dir / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "run"]
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "mlops_infra.program"]
    assert calls and imports
    lines = [line.split() for line in (stack_dir / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    # this checkout, with the Pulumi SDKs at the versions CI installs (tests/test_stacks_sdk_pins.py reads them as pip)
    assert lines == [["-e", "../..[pulumi]"], ["-c", "../../constraints.txt"]]
