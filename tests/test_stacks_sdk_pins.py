"""The stacks install the Pulumi SDKs at the versions the plan's rules follow, from one table (audit pin44-1).

The ``pulumi`` extra allows any pulumi-aws 7.51-7.x and pulumi-kubernetes 4.18-4.x, but the provider ``pulumi up``
loads is the SDK's own version (``mlops_infra/plan/provider_versions.py`` cites the SDK and engine code), and the
plan's rules are written and tested against the versions CI installs (constraints.txt). Pulumi fills a stack's new
virtualenv with ``pip install -r requirements.txt`` run in the stack directory (pulumi/pulumi
``sdk/python/toolchain/pip.go`` ``InstallDependencies``: ``pipCmd.Dir = cwd``). These tests read each stack's
requirements with pip's own parser, from the stack directory as Pulumi runs it, so a ``-c`` path is resolved as pip
resolves it (relative to the requirements file: pip ``src/pip/_internal/req/req_file.py`` ``_parse_and_recurse``).

- :data:`mlops_infra.sdk_pins.SDK_PINS` names every package of the ``pulumi`` extra, at the version constraints.txt
  pins: a bump of one without the other fails here;
- every stack directory of this repository installs this checkout with ``[pulumi]`` and pins each SDK to it;
- what ``mlops-infra init`` writes pins each SDK to it;
- the SDKs the tests run with are the pinned ones, so the plan's version warning and rule tables (checked against the
  installed SDK, e.g. tests/plan/test_provider_versions.py) describe the pins;
- ``plan`` in a stack directory pinning another provider version says so.
"""

from __future__ import annotations

import json
import os
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from mlops_infra import stacks
from mlops_infra.sdk_pins import PROVIDER_SDKS, SDK_PINS, differing, pin_lines
from mlops_infra.stacks import InstalledFrom, pinned_version_warning, scaffold_files
from tests.test_dependencies import constraints

pytestmark = pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:DeprecationWarning")  # pip's parser
REPO = Path(__file__).resolve().parents[1]
STACK_DIRS = sorted(p for p in (REPO / "stacks").iterdir() if p.is_dir() and not p.name.startswith("."))


def pip_reads(stack_dir: Path) -> tuple[list[Requirement], dict[str, str], list[str]]:
    """(requirements, {normalised name: exact version} of every ``==`` requirement or constraint, editable
    paths) of ``stack_dir/requirements.txt``, parsed by pip from that directory, as ``pulumi up`` runs it."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    here = os.getcwd()
    os.chdir(stack_dir)
    try:
        parsed = list(parse_requirements("requirements.txt", session=PipSession()))
    finally:
        os.chdir(here)
    requirements, exact, editables = [], {}, []
    for line in parsed:
        if line.is_editable:
            editables.append(line.requirement)
            continue
        requirement = Requirement(line.requirement)
        if not line.constraint:
            requirements.append(requirement)
        pinned = [s.version for s in requirement.specifier if s.operator == "=="]
        if pinned:
            exact.setdefault(canonicalize_name(requirement.name), pinned[0])
    return requirements, exact, editables


def test_the_table_names_every_package_of_the_pulumi_extra():
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {canonicalize_name(Requirement(r).name) for r in extra["pulumi"]}
    assert set(SDK_PINS) == names and set(PROVIDER_SDKS) <= names
    assert all(canonicalize_name(name) == name for name in SDK_PINS)


def test_the_table_is_what_ci_installs():
    """constraints.txt is what CI installs and tests the plan's rules with (.ci/run: PIP_CONSTRAINT)."""
    pins = constraints()
    assert {name: pins.get(name) for name in SDK_PINS} == dict(SDK_PINS), \
        "mlops_infra/sdk_pins.py and constraints.txt disagree: follow docs/pulumi.md, 'Provider versions'"


def test_the_tests_run_with_the_pinned_sdks():
    """The plan's rule tables are checked against the installed SDK; that SDK is the pinned one."""
    from mlops_infra.plan.provider_versions import engine_version, installed_sdk_versions

    assert {name: version(name) for name in SDK_PINS} == dict(SDK_PINS)
    assert installed_sdk_versions() == {"aws": engine_version(SDK_PINS["pulumi-aws"]),
                                        "kubernetes": engine_version(SDK_PINS["pulumi-kubernetes"])}


@pytest.mark.parametrize("stack_dir", STACK_DIRS, ids=lambda p: p.name)
def test_each_stack_installs_this_checkout_with_the_pinned_sdks(stack_dir: Path):
    """Fails before: ``-e ../..[pulumi]`` alone, any pulumi-aws 7.x."""
    _, exact, editables = pip_reads(stack_dir)
    assert editables == ["../..[pulumi]"] and (stack_dir / "../../pyproject.toml").resolve() == REPO / "pyproject.toml"
    assert {name: exact.get(name) for name in SDK_PINS} == dict(SDK_PINS)
    assert {name: pin[0] for name, pin in stacks.pinned_sdk_versions(stack_dir).items()} == dict(SDK_PINS)
    assert pinned_version_warning(stack_dir, running="0.0.0") is None


def test_the_root_project_installs_this_checkout_with_the_pinned_sdks():
    """The root ``Pulumi.yaml`` (virtualenv ``.venv``) installs the repository's ``requirements.txt`` the same way.
    Fails before: ``-e .[pulumi]`` alone."""
    _, exact, editables = pip_reads(REPO)
    assert editables == [".[pulumi]"] and {name: exact.get(name) for name in SDK_PINS} == dict(SDK_PINS)


@pytest.mark.parametrize("installed", [InstalledFrom("0.1.0", REPO, editable=True), InstalledFrom("0.1.0"),
                                       InstalledFrom("0.1.0", url="file:///w/mlops_infra-0.1.0-py3-none-any.whl")],
                         ids=["editable", "index", "wheel"])
def test_init_pins_the_sdks_in_every_stack(tmp_path: Path, installed: InstalledFrom):
    """Fails before: init wrote the mlops-infra line alone."""
    system = tmp_path / "mlsystem.yaml"
    files = scaffold_files("recsys", ["dev", "prod"], system, tmp_path, installed=installed)
    for env in ("dev", "prod"):
        stack = tmp_path / "stacks" / env
        stack.mkdir(parents=True)
        (stack / "requirements.txt").write_text(files[f"stacks/{env}/requirements.txt"], encoding="utf-8")
        requirements, exact, editables = pip_reads(stack)
        named = [canonicalize_name(r.name) for r in requirements] + ["mlops-infra"] * len(editables)
        assert sorted(named) == sorted(["mlops-infra", *SDK_PINS])
        assert {name: exact[name] for name in SDK_PINS} == dict(SDK_PINS)
        assert pinned_version_warning(stack, running="0.1.0") is None
    assert pin_lines() == [f"{name}=={pin}" for name, pin in SDK_PINS.items()]


def test_differing_names_each_other_or_missing_version():
    assert differing(dict(SDK_PINS)) == {}
    assert differing({**SDK_PINS, "pulumi-aws": "7.60.0", "pulumi-docker-build": None}) == {
        "pulumi-aws": "7.60.0", "pulumi-docker-build": None}


def test_a_stack_pinning_another_provider_warns_with_file_and_line(tmp_path: Path):
    """Fails before: the plan warned of an mlops-infra pin only. A -c file is read relative to the file naming it."""
    stack = tmp_path / "stacks" / "dev"
    stack.mkdir(parents=True)
    (tmp_path / "pins.txt").write_text("# pins\npulumi==3.300.0\nPulumi_AWS==7.60.0\n", encoding="utf-8")
    (stack / "requirements.txt").write_text("-e ../..[pulumi]\n-c ../../pins.txt\n", encoding="utf-8")
    warning = pinned_version_warning(stack, running="0.1.0")
    assert warning == (f"`pulumi up` in {stack} installs pulumi-aws 7.60.0 ({tmp_path / 'pins.txt'}:3), but this "
                       f"plan's rules follow pulumi-aws=={SDK_PINS['pulumi-aws']} (the versions this mlops-infra is "
                       "tested with): that provider may store, default or replace what this plan does not predict. "
                       f"Pin pulumi-aws=={SDK_PINS['pulumi-aws']} there, or move to newer providers as docs/pulumi.md "
                       "\"Provider versions\" says")
    # the Pulumi SDK itself selects no provider: a pin of it alone is no warning
    (tmp_path / "pins.txt").write_text("pulumi==3.300.0\n", encoding="utf-8")
    assert pinned_version_warning(stack, running="0.1.0") is None


def test_plan_in_a_stack_pinning_another_provider_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The CLI path: ``mlops-infra init`` then a hand-edited pin; the warning reaches the plan's JSON."""
    from tests.cli.test_init import RECSYS
    from tests.support.cli import run_cli

    (tmp_path / "mlsystem.yaml").write_text(RECSYS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    assert run_cli("init", "mlsystem.yaml").code == 0
    stack = tmp_path / "stacks" / "prod"
    requirements = stack / "requirements.txt"
    requirements.write_text(requirements.read_text().replace(f"pulumi-aws=={SDK_PINS['pulumi-aws']}",
                                                             "pulumi-aws==7.60.0"))
    monkeypatch.chdir(stack)
    result = run_cli("plan", "--format", "json")
    assert result.code == 0, result.stderr
    warned = [w for w in json.loads(result.stdout)["warnings"] if "installs pulumi-aws 7.60.0" in w]
    line = requirements.read_text().splitlines().index("pulumi-aws==7.60.0") + 1
    assert len(warned) == 1 and f"({requirements}:{line})" in warned[0]


def test_the_docs_table_is_the_pins_and_the_extra():
    """docs/pulumi.md, "Provider versions", says what is pinned and what the extra allows."""
    import re

    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    allows = {canonicalize_name(Requirement(r).name): Requirement(r).specifier for r in extra["pulumi"]}
    section = (REPO / "docs" / "pulumi.md").read_text(encoding="utf-8").split("### Provider versions", 1)[1]
    rows = re.findall(r"^\| `([a-z-]+)` \| ([^ |]+) \| `([^`]+)` \|$", section.split("\n### ", 1)[0], re.M)
    assert {name: (pin, SpecifierSet(spec)) for name, pin, spec in rows} == {
        name: (pin, allows[name]) for name, pin in SDK_PINS.items()}
