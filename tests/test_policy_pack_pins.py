"""The policy pack installs the Pulumi SDKs and pulumi-policy at the versions this mlops-infra is tested with
(audit pins45-2), as the stacks install the SDKs (tests/test_stacks_sdk_pins.py).

``mlops-infra policy-pack`` wrote ``mlops-infra[policy]`` alone: any pulumi-policy 1.x and any Pulumi SDK 3.x the
extra allows. It cannot constrain with constraints.txt as this repository's stacks do: pulumi-policy 1.21.0 requires
``protobuf~=5.29.5`` (pulumi/pulumi-policy ``sdk/python/lib/setup.py`` line 45 at v1.21.0) and constraints.txt pins
protobuf 6, so it pins the Pulumi packages by name and leaves protobuf to pip (:mod:`mlops_infra.sdk_pins`).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlops_infra.sdk_pins import POLICY_PINS, SDK_PINS, policy_pin_lines
from mlops_infra.stacks import InstalledFrom, policy_pack_files
from tests.test_dependencies import constraints
from tests.test_stacks_sdk_pins import pip_reads

pytestmark = pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:DeprecationWarning")  # pip's parser
REPO = Path(__file__).resolve().parents[1]
PACK_PINS = {**SDK_PINS, **POLICY_PINS}


def test_the_policy_table_names_the_policy_extra_at_the_version_ci_installs():
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {canonicalize_name(Requirement(r).name) for r in extra["policy"]} - {"mlops-infra"}
    assert set(POLICY_PINS) == names
    assert {name: constraints().get(name) for name in POLICY_PINS} == dict(POLICY_PINS)
    assert all(Requirement(r).specifier.contains(POLICY_PINS[canonicalize_name(Requirement(r).name)])
               for r in extra["policy"] if canonicalize_name(Requirement(r).name) in POLICY_PINS)
    assert policy_pin_lines() == [f"{name}=={pin}" for name, pin in PACK_PINS.items()]


@pytest.mark.parametrize("installed", [InstalledFrom("0.1.0", REPO, editable=True), InstalledFrom("0.1.0"),
                                       InstalledFrom("0.1.0", url="file:///w/mlops_infra-0.1.0-py3-none-any.whl")],
                         ids=["editable", "index", "wheel"])
def test_the_pack_pins_the_sdks_and_pulumi_policy(tmp_path: Path, installed: InstalledFrom):
    """Fails before: the pack's requirements.txt named ``mlops-infra[policy]`` alone. Read by pip's own parser from
    the pack directory, and by the plan's reader."""
    system = tmp_path / "mlsystem.yaml"
    pack = tmp_path / "policy"
    pack.mkdir()
    files = policy_pack_files("recsys", system, pack, installed=installed)
    (pack / "requirements.txt").write_text(files["requirements.txt"], encoding="utf-8")
    requirements, exact, editables = pip_reads(pack)
    named = [canonicalize_name(r.name) for r in requirements] + ["mlops-infra"] * len(editables)
    assert sorted(named) == sorted(["mlops-infra", *PACK_PINS])
    assert [r.extras for r in requirements if canonicalize_name(r.name) == "mlops-infra"] in ([{"policy"}], [])
    assert {name: exact.get(name) for name in PACK_PINS} == PACK_PINS
    from mlops_infra.stacks import requirement_pins

    assert {name: pin.version for name, pin in requirement_pins(pack).items() if name in PACK_PINS} == PACK_PINS
    assert "protobuf" not in exact and "-c" not in files["requirements.txt"].split()


def test_the_pinned_packages_accept_each_other_and_a_common_protobuf():
    """The pins can be installed together: each pinned distribution's declared requirement on another pinned one
    holds (pulumi-policy 1.21.0: ``pulumi>=3.204.0,<4.0.0``; pulumi-aws: ``pulumi>=3.231.0``), and some protobuf
    satisfies them all (pulumi-policy's ``~=5.29.5`` and pulumi's ``<7,>=3.20.3``), which constraints.txt's
    protobuf does not: the reason the pack pins by name instead of constraining with constraints.txt."""
    try:
        declared = {name: [Requirement(r) for r in requires(name) or []] for name in PACK_PINS
                    if version(name) == PACK_PINS[name]}
    except PackageNotFoundError:
        pytest.skip("the policy extra is not installed (CI installs pulumi-policy, .ci/run)")
    assert set(declared) == set(PACK_PINS), "the installed packages are not the pinned ones"
    on_each_other = [(name, str(r)) for name, reqs in declared.items() for r in reqs
                     if not r.marker and canonicalize_name(r.name) in PACK_PINS]
    assert ("pulumi-policy", "pulumi<4.0.0,>=3.204.0") in on_each_other
    assert all(Requirement(r).specifier.contains(PACK_PINS[canonicalize_name(Requirement(r).name)])
               for _, r in on_each_other)
    protobuf = [r.specifier for reqs in declared.values() for r in reqs if canonicalize_name(r.name) == "protobuf"]
    assert len(protobuf) >= 2 and all(spec.contains("5.29.5") for spec in protobuf)
    assert not all(spec.contains(constraints()["protobuf"]) for spec in protobuf)
