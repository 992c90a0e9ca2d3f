"""Dependencies (issue 11 item 9): upper bounds on every major, boto3 only where the cloud is read
(the ``aws`` extra, with a one-line hint when a command needs it), and the constraints file CI
installs with (constraints.txt, through PIP_CONSTRAINT in .ci/run) agreeing with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.user_venv import USER_VENV_TIMEOUT

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CI_EXTRAS = ("test", "policy")  # policy: its own package, installed without dependencies (.ci/run)


def requirements(extras: tuple[str, ...] | None = None) -> list[Requirement]:
    """Core requirements plus those of ``extras`` (all extras when None), self-references expanded."""
    names = list(PYPROJECT["optional-dependencies"]) if extras is None else list(extras)
    out = [Requirement(r) for r in PYPROJECT["dependencies"]]
    seen: set[str] = set()
    while names:
        extra = names.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PYPROJECT["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "mlops-infra":
                names.extend(sorted(req.extras))
            else:
                out.append(req)
    unique = {str(r): r for r in out}  # deterministic order: pytest-xdist workers must collect the same ids
    return [unique[key] for key in sorted(unique)]


def constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize("req", requirements(), ids=str)
def test_every_dependency_has_an_upper_bound(req: Requirement):
    assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req}: no upper bound"


def test_boto3_is_not_a_core_dependency():
    core = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert "boto3" not in core and "botocore" not in core
    assert any(canonicalize_name(Requirement(r).name) == "boto3" for r in PYPROJECT["optional-dependencies"]["aws"])


@pytest.mark.parametrize("req", requirements(CI_EXTRAS), ids=str)
def test_constraints_pin_what_ci_installs_within_pyproject(req: Requirement):
    pins = constraints()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} is not in constraints.txt: run .ci/update-constraints"
    assert req.specifier.contains(pins[name], prereleases=True), \
        f"constraints.txt pins {req.name}=={pins[name]}, outside {req.specifier}: run .ci/update-constraints"


def test_ci_installs_with_the_constraints():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^export PIP_CONSTRAINT=.*constraints\.txt", ci, re.M)


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_the_readme_install_plans_without_boto3_and_refresh_says_what_to_install(user_venv, tmp_path: Path):
    assert not user_venv.has_module("boto3"), "validate and plan must not need boto3"
    planned = user_venv.run("plan", "--env", "prod", cwd=tmp_path, env={"PULUMI_HOME": str(tmp_path / "ph")})
    assert planned.returncode == 0, planned.stderr
    refresh = user_venv.run("plan", "--env", "prod", "--refresh", cwd=tmp_path,
                            env={"PULUMI_HOME": str(tmp_path / "ph")})
    assert refresh.returncode == 1
    assert "pip install 'mlops-infra[aws]'" in refresh.stderr and "Traceback" not in refresh.stderr
    assert len([line for line in refresh.stderr.splitlines() if "error" in line]) == 1


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_the_readme_install_prints_a_rollout_schedule_and_says_what_a_rollout_needs(user_venv, tmp_path: Path):
    schedule = user_venv.run("rollout", "churn-api", "--env", "prod", "--dry-run", cwd=tmp_path)
    assert schedule.returncode == 0, schedule.stderr
    assert schedule.stdout.startswith("Rollout of churn-api in prod (SageMaker): canary, 2 steps")
    assert "worst case 35m00s" in schedule.stdout  # the quickstart: 10% then 100%, bake 10m, gate timeout 15m
    rollout = user_venv.run("rollout", "churn-api", "--env", "prod", cwd=tmp_path)
    assert rollout.returncode == 1 and "Traceback" not in rollout.stderr
    assert "pip install 'mlops-infra[aws]'" in rollout.stderr


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_the_readme_install_says_what_reading_a_sagemaker_registry_needs(user_venv, tmp_path: Path):
    """promote into an AWS environment reads its SageMaker registry (boto3, the aws extra) unless a
    saved read is given: one line naming the extra and --registry, exit 1, FILE untouched."""
    from tests.support.promotion import copy_reference, staging_view, write_view

    file = copy_reference(tmp_path)
    before = file.read_bytes()
    staging = write_view(tmp_path / "staging.json", staging_view())
    promoted = user_venv.run("promote", str(file), "--from", "staging", "--to", "prod",
                             "--registry", f"staging={staging}", "--write", cwd=tmp_path)
    assert promoted.returncode == 1 and "Traceback" not in promoted.stderr, promoted.stderr
    assert ("reading prod's SageMaker model registry (or --registry prod=FILE) needs boto3, which is not "
            "installed: pip install 'mlops-infra[aws]'") in promoted.stderr
    assert file.read_bytes() == before


USED_WITHOUT_IMPORT = {
    "numpy": "safetensors loads checkpoint tensors into numpy arrays (ml/checkpoints.py, framework='numpy')",
}
"""Core dependencies the package needs without an ``import`` statement naming them, and why."""


def _imported_distributions() -> set[str]:
    """The distributions whose top-level modules some module of ``mlops_infra`` imports (static imports)."""
    import ast
    from importlib.metadata import packages_distributions

    modules: set[str] = set()
    for path in (REPO / "mlops_infra").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    provided = packages_distributions()
    return {canonicalize_name(dist) for module in modules for dist in provided.get(module, [])}


def test_every_core_dependency_is_used():
    """A declared dependency nothing imports (ruamel.yaml was one) costs every install and every audit."""
    imported = _imported_distributions()
    unused = [Requirement(r).name for r in PYPROJECT["dependencies"]
              if canonicalize_name(Requirement(r).name) not in imported
              and canonicalize_name(Requirement(r).name) not in USED_WITHOUT_IMPORT]
    assert unused == [], f"declared in pyproject.toml but never imported by mlops_infra: {unused}"
    for name in USED_WITHOUT_IMPORT:  # an exception stays justified only while it is declared
        assert any(canonicalize_name(Requirement(r).name) == name for r in PYPROJECT["dependencies"]), name
