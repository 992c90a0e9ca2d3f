"""A stack's requirements.txt is read as pip reads it (audit pins45-1): one reader,
:func:`mlops_infra.stacks.requirement_pins`, behind the mlops-infra pin warning
(:func:`~mlops_infra.stacks.pinned_version`) and the provider SDK pin warning
(:func:`~mlops_infra.stacks.pinned_sdk_versions`).

Before, two regular expressions read the file line by line: a pin followed by ``--hash=...`` (what ``pip-compile
--generate-hashes`` and ``uv export`` write, continued with a backslash), a ``-cFILE`` include, a pin in a ``-r`` file
(for mlops-infra) or a ``\\``-continued line were not seen, and a pin whose environment marker pip finds false was
warned of. The oracle here is pip's own parser (``pip._internal.req.req_file.parse_requirements``), run from the
stack directory as Pulumi runs ``pip install -r requirements.txt`` (pulumi/pulumi ``sdk/python/toolchain/pip.go``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mlops_infra.sdk_pins import SDK_PINS

pytestmark = pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:DeprecationWarning")  # pip's parser
AWS = SDK_PINS["pulumi-aws"]

CASES = {
    "hashes": {"requirements.txt": "-e ../..[pulumi]\npulumi-aws==7.60.0 \\\n    --hash=sha256:aaa \\\n"
                                   "    --hash=sha256:bbb\nMLOps_Infra==0.0.1 --hash=sha256:ccc  # pinned\n"},
    "attached -c": {"requirements.txt": "-e ../..[pulumi]\n-c../pins.txt\n",
                    "../pins.txt": "# pins\npulumi==3.300.0\nPulumi_AWS==7.60.0\n"},
    "--constraint=": {"requirements.txt": "--constraint=../pins.txt\n", "../pins.txt": "pulumi-aws==7.60.0\n"},
    "option prefix": {"requirements.txt": "--constr ../pins.txt\n", "../pins.txt": "pulumi-aws==7.60.0\n"},
    "nested -r then -c": {"requirements.txt": "# base\n-r sub/base.txt\npulumi==3.1.0\n",
                          "sub/base.txt": "mlops-infra[pulumi]==0.0.2\n-c pins.txt\n",
                          "sub/pins.txt": "pulumi-kubernetes==4.1.0\n"},
    "markers": {"requirements.txt": 'pulumi-aws==7.60.0; python_version < "3"\n'
                                    'pulumi-aws==7.61.0 ; python_version >= "3"\n'},
    "continued version": {"requirements.txt": "pulumi-kubernetes==\\\n4.1.0\n# a note \\\npulumi==3.1.0\n"},
    "environment variable": {"requirements.txt": "pulumi-aws==${PINS45_AWS}\npulumi==${PINS45_UNSET}\n"},
    "no exact pin": {"requirements.txt": "pulumi==3.*\npulumi-aws===7.60.0\npulumi-kubernetes>=4,<5\n"
                                         "pulumi-docker-build==0.0.9#x\n"},
    "paths and URLs": {"requirements.txt": "./vendor/pulumi_aws-7.60.0-py3-none-any.whl\n"
                                           "pulumi-kubernetes @ https://example.com/pulumi_kubernetes-4.1.0.tar.gz\n"
                                           "-e ../..[pulumi]\n"},
}


def write(root: Path, files: dict[str, str]) -> Path:
    stack = root / "stacks" / "dev"
    for name, text in files.items():
        path = Path(os.path.normpath(stack / name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return stack


def pip_pins(stack: Path) -> dict[str, tuple[str, Path, int, bool]]:
    """name -> (version, file, line, constraint) of the first exact pin pip's parser reads, markers evaluated as pip
    evaluates them (``InstallRequirement.match_markers`` with no extra)."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    here = os.getcwd()
    os.chdir(stack)
    try:
        parsed = list(parse_requirements("requirements.txt", session=PipSession()))
    finally:
        os.chdir(here)
    found: dict[str, tuple[str, Path, int, bool]] = {}
    for line in parsed:
        if line.is_editable:
            continue
        try:
            requirement = Requirement(line.requirement)
        except InvalidRequirement:
            continue
        if requirement.url or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        exact = [s.version for s in requirement.specifier if s.operator == "==" and "*" not in s.version]
        number, file = re.fullmatch(r"line (\d+) of (.+)", line.line_source).groups()
        if exact:
            found.setdefault(canonicalize_name(requirement.name), (
                exact[0], Path(os.path.normpath(stack / file)), int(number), line.constraint))
    return found


@pytest.mark.parametrize("files", CASES.values(), ids=CASES.keys())
def test_the_pins_are_the_ones_pip_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]):
    from mlops_infra.stacks import requirement_pins

    monkeypatch.setenv("PINS45_AWS", "7.62.0")
    monkeypatch.delenv("PINS45_UNSET", raising=False)
    stack = write(tmp_path, files)
    mine = {name: (pin.version, pin.path, pin.line, pin.constraint) for name, pin in requirement_pins(stack).items()}
    assert mine == pip_pins(stack)


def test_the_cases_pin_what_they_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The oracle itself reads the cases as written here (so the comparison above is not of two empty readings)."""
    monkeypatch.setenv("PINS45_AWS", "7.62.0")
    read = {case: {n: v[0] for n, v in pip_pins(write(tmp_path / str(i), files)).items()}
            for i, (case, files) in enumerate(CASES.items())}
    assert read == {
        "hashes": {"pulumi-aws": "7.60.0", "mlops-infra": "0.0.1"},
        "attached -c": {"pulumi": "3.300.0", "pulumi-aws": "7.60.0"},
        "--constraint=": {"pulumi-aws": "7.60.0"}, "option prefix": {"pulumi-aws": "7.60.0"},
        "nested -r then -c": {"mlops-infra": "0.0.2", "pulumi-kubernetes": "4.1.0", "pulumi": "3.1.0"},
        "markers": {"pulumi-aws": "7.61.0"}, "continued version": {"pulumi-kubernetes": "4.1.0", "pulumi": "3.1.0"},
        "environment variable": {"pulumi-aws": "7.62.0"}, "no exact pin": {}, "paths and URLs": {}}


def warning(stack: Path) -> str | None:
    from mlops_infra.stacks import pinned_version_warning

    return pinned_version_warning(stack, running="0.1.0")


def test_a_hash_pinned_provider_warns(tmp_path: Path):
    """Fails before: ``pulumi-aws==7.60.0 \\`` (continued with ``--hash`` options) was no pin, so no warning."""
    stack = write(tmp_path, {"requirements.txt": "-e ../..[pulumi]\npulumi-aws==7.60.0 \\\n    --hash=sha256:aaa\n"})
    assert f"installs pulumi-aws 7.60.0 ({stack / 'requirements.txt'}:2), but this plan's rules follow " \
           f"pulumi-aws=={AWS}" in (warning(stack) or "")


def test_an_attached_constraint_option_is_followed(tmp_path: Path):
    """Fails before: ``-c../pins.txt`` (optparse's attached value, which pip accepts) was not followed."""
    stack = write(tmp_path, {"requirements.txt": "-e ../..[pulumi]\n-c../pins.txt\n",
                             "../pins.txt": "pulumi-aws==7.60.0\n"})
    assert f"installs pulumi-aws 7.60.0 ({stack.parent / 'pins.txt'}:1)" in (warning(stack) or "")


def test_an_mlops_infra_pin_in_a_nested_file_warns_naming_that_file(tmp_path: Path):
    """Fails before: only the lines of requirements.txt itself were read for the mlops-infra pin."""
    stack = write(tmp_path, {"requirements.txt": "# stack\n-r ../common.txt\n",
                             "../common.txt": "# shared\nmlops-infra[pulumi]==0.0.1\n"})
    assert warning(stack) == (f"this plan was made by mlops-infra 0.1.0; `pulumi up` in {stack} installs 0.0.1 "
                              f"({stack.parent / 'common.txt'}:2): plan with 0.0.1 (`pip install "
                              "'mlops-infra==0.0.1'`), or change the pin to 0.1.0")


def test_a_pin_pip_skips_for_its_marker_is_no_warning(tmp_path: Path):
    """Fails before: a pin whose environment marker is false here was warned of, though pip does not install it."""
    stack = write(tmp_path, {"requirements.txt": f'-e ../..[pulumi]\npulumi-aws==7.60.0; python_version < "3"\n'
                                                 f"pulumi-aws=={AWS}\n"})
    assert warning(stack) is None


def test_unreadable_cyclic_and_url_includes_are_skipped(tmp_path: Path):
    """pip would fetch a URL (not read here), fail on a missing file at ``up`` and recurse for ever on a cycle; the
    plan's reading of the pins it can see still stands."""
    from mlops_infra.stacks import requirement_pins

    stack = write(tmp_path, {"requirements.txt": "-r https://example.com/r.txt\n-c missing.txt\n-r a.txt\n"
                                                 "--unknown-option x\n",
                             "a.txt": "-r requirements.txt\npulumi-aws==7.60.0\n"})
    (stack / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    (stack / "requirements.txt").write_text((stack / "requirements.txt").read_text() + "-r bad.txt\n")
    assert {n: (p.version, p.path.name, p.line) for n, p in requirement_pins(stack).items()} == {
        "pulumi-aws": ("7.60.0", "a.txt", 2)}


def test_a_pin_equal_to_the_table_under_pep_440_is_no_warning(tmp_path: Path):
    """Fails before: the SDK pins were compared as text, so ``==7.51.1.0`` (the same release to pip: PEP 440 pads
    the release segment with zeros) warned that ``up`` installs another provider."""
    stack = write(tmp_path, {"requirements.txt": f"-e ../..[pulumi]\npulumi-aws=={AWS}.0\n"})
    assert warning(stack) is None
    write(tmp_path, {"requirements.txt": f"-e ../..[pulumi]\npulumi-aws=={AWS}.1\n"})
    assert f"installs pulumi-aws {AWS}.1" in (warning(stack) or "")
